/**
 * What the publisher consumes: an FLV tag as the muxer makes it (one buffer: tag header, body,
 * PreviousTagSize); the RTMP message payload is the body, sent as a view.
 */
export type { FlvTag as RtmpMediaTag } from '../flv/flv-tag.ts';
export { flvTagBody as tagBody } from '../flv/flv-tag.ts';

/** Logger shape compatible with pino (`log.info(obj, msg)`). */
export interface RtmpLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export const silentLogger: RtmpLogger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};
