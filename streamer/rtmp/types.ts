/**
 * What the publisher consumes. A structural copy of the FLV muxer's FlvTag, declared here so the
 * RTMP layer does not import the muxer: any object of this shape can be published.
 */
export interface RtmpMediaTag {
  /** FLV tag type: 8 audio, 9 video, 18 script data (onMetaData). */
  readonly type: 8 | 9 | 18;
  /** Milliseconds (the FLV/RTMP timestamp, DTS for video). */
  readonly timestamp: number;
  /** Video only: the tag holds a keyframe (decoding can start here). */
  readonly keyframe: boolean;
  /** Metadata or a codec sequence header: resent after every reconnect, never dropped. */
  readonly isHeader: boolean;
  /**
   * A complete FLV tag: 11-byte tag header + body + 4-byte PreviousTagSize, in one buffer.
   * The RTMP message payload is the body, `data.subarray(11, data.length - 4)`.
   */
  readonly data: Buffer;
}

export const FLV_TAG_HEADER_SIZE = 11;
export const FLV_PREVIOUS_TAG_SIZE = 4;

/** The RTMP message payload of a tag: the tag body, as a view (no copy). */
export function tagBody(tag: RtmpMediaTag): Buffer {
  return tag.data.subarray(FLV_TAG_HEADER_SIZE, tag.data.length - FLV_PREVIOUS_TAG_SIZE);
}

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
