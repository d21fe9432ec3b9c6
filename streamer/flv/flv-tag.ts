/**
 * FLV tags (Adobe FLV 10.1 §E.4.1) as single Buffers: 11-byte tag header, body, 4-byte PreviousTagSize.
 *
 * Keeping the whole tag in one buffer lets HTTP-FLV write `data` to every viewer as is, and lets the
 * RTMP publisher send the body (`flvTagBody`) as a zero-copy view.
 */

export const FlvTagType = {
  Audio: 8,
  Video: 9,
  Script: 18,
} as const;
export type FlvTagTypeValue = (typeof FlvTagType)[keyof typeof FlvTagType];

export interface FlvTag {
  readonly type: FlvTagTypeValue;
  /** Milliseconds from the start of the stream (audio and video share the timeline). */
  readonly timestamp: number;
  /** A video tag of a random-access picture (or a video sequence header). False for audio and script. */
  readonly keyframe: boolean;
  /** onMetaData, or a video/audio sequence header: decoder configuration rather than media. */
  readonly isHeader: boolean;
  /** The complete tag: header + body + PreviousTagSize. */
  readonly data: Buffer;
}

export const FLV_TAG_HEADER_SIZE = 11;
export const FLV_PREVIOUS_TAG_SIZE = 4;
/** Header + PreviousTagSize: what a tag costs on top of its body. */
export const FLV_TAG_OVERHEAD = FLV_TAG_HEADER_SIZE + FLV_PREVIOUS_TAG_SIZE;
/** DataSize is a 24-bit field. */
export const FLV_MAX_BODY_SIZE = 0xffffff;

/** The tag body as a view of `tag.data` (no copy): what an RTMP message carries. */
export function flvTagBody(tag: FlvTag): Buffer {
  return tag.data.subarray(FLV_TAG_HEADER_SIZE, tag.data.length - FLV_PREVIOUS_TAG_SIZE);
}

/**
 * The 9-byte FLV file header followed by PreviousTagSize0 (13 bytes), which an HTTP-FLV response
 * starts with.
 */
export function flvFileHeader(hasVideo: boolean, hasAudio: boolean): Buffer {
  const b = Buffer.alloc(13);
  b.write('FLV', 0, 'latin1');
  b[3] = 1;
  b[4] = (hasAudio ? 0x04 : 0) | (hasVideo ? 0x01 : 0);
  b.writeUInt32BE(9, 5);
  // bytes 9..12: PreviousTagSize0 = 0
  return b;
}

/**
 * Allocates a tag buffer for a body of `bodySize` bytes and writes the tag header and the trailing
 * PreviousTagSize; the caller fills the body at offset FLV_TAG_HEADER_SIZE.
 * The timestamp is written as 24 bits + 8 extension bits (wraps after 2^32 ms, about 49.7 days).
 */
export function allocTag(type: FlvTagTypeValue, timestamp: number, bodySize: number): Buffer {
  if (bodySize > FLV_MAX_BODY_SIZE) throw new RangeError(`FLV tag body of ${bodySize} bytes exceeds 16 MiB`);
  const buf = Buffer.allocUnsafe(FLV_TAG_OVERHEAD + bodySize);
  const ts = timestamp % 0x100000000;
  buf[0] = type;
  buf[1] = bodySize >>> 16;
  buf[2] = (bodySize >>> 8) & 0xff;
  buf[3] = bodySize & 0xff;
  buf[4] = (ts >>> 16) & 0xff;
  buf[5] = (ts >>> 8) & 0xff;
  buf[6] = ts & 0xff;
  buf[7] = ts >>> 24;
  buf[8] = 0;
  buf[9] = 0;
  buf[10] = 0;
  buf.writeUInt32BE(FLV_TAG_HEADER_SIZE + bodySize, FLV_TAG_HEADER_SIZE + bodySize);
  return buf;
}

/** A tag whose body is a copy of `body` (for small, rare tags: metadata and sequence headers). */
export function makeTag(
  type: FlvTagTypeValue,
  timestamp: number,
  body: Uint8Array,
  keyframe: boolean,
  isHeader: boolean,
): FlvTag {
  const data = allocTag(type, timestamp, body.length);
  data.set(body, FLV_TAG_HEADER_SIZE);
  return { type, timestamp, keyframe, isHeader, data };
}
