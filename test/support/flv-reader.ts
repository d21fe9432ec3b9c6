/**
 * A small FLV reader for tests: splits a complete FLV byte sequence into tags and decodes the
 * audio/video tag headers this project writes. flv-file.ts builds on it.
 */
import { FLV_TAG_HEADER_SIZE } from '../../streamer/flv/flv-tag.ts';

export class FlvReadError extends Error {
  override readonly name = 'FlvReadError';
}

export interface FlvFileInfo {
  hasVideo: boolean;
  hasAudio: boolean;
}

export interface ReadFlvTag {
  type: number;
  timestamp: number;
  /** Offset of the tag header in the input. */
  offset: number;
  body: Buffer;
}

export interface VideoTagInfo {
  /** 1 key, 2 inter, ... */
  frameType: number;
  enhanced: boolean;
  /** Legacy CodecID (7, 12, ...), or 0 when enhanced. */
  codecId: number;
  /** Enhanced FourCC as a string ('hvc1'), or '' when legacy. */
  fourCc: string;
  /** AVCPacketType for legacy, VideoPacketType for enhanced. */
  packetType: number;
  compositionTime: number;
  /** Offset in the body where the configuration record or the NAL units begin. */
  dataOffset: number;
}

/** Parses the 9-byte header, PreviousTagSize0 and every complete tag. Trailing partial data is ignored. */
export function readFlv(buf: Buffer): { info: FlvFileInfo; tags: ReadFlvTag[]; trailingBytes: number } {
  if (buf.length < 13 || buf.toString('latin1', 0, 3) !== 'FLV') throw new FlvReadError('not an FLV file');
  const dataOffset = buf.readUInt32BE(5);
  const info = { hasVideo: (buf[4] & 1) !== 0, hasAudio: (buf[4] & 4) !== 0 };
  const { tags, consumed } = readFlvTags(buf, dataOffset + 4);
  return { info, tags, trailingBytes: buf.length - consumed };
}

/** Reads consecutive tags (each followed by its PreviousTagSize) from `offset`, checking sizes. */
export function readFlvTags(buf: Buffer, offset = 0): { tags: ReadFlvTag[]; consumed: number } {
  const tags: ReadFlvTag[] = [];
  let o = offset;
  while (o + FLV_TAG_HEADER_SIZE + 4 <= buf.length) {
    const size = buf.readUIntBE(o + 1, 3);
    const end = o + FLV_TAG_HEADER_SIZE + size;
    if (end + 4 > buf.length) break;
    const prev = buf.readUInt32BE(end);
    if (prev !== FLV_TAG_HEADER_SIZE + size) {
      throw new FlvReadError(`PreviousTagSize ${prev} after tag at ${o} should be ${FLV_TAG_HEADER_SIZE + size}`);
    }
    const timestamp = (buf.readUIntBE(o + 4, 3) | (buf[o + 7] << 24)) >>> 0;
    tags.push({ type: buf[o] & 0x1f, timestamp, offset: o, body: buf.subarray(o + FLV_TAG_HEADER_SIZE, end) });
    o = end + 4;
  }
  return { tags, consumed: o };
}

/** Decodes the legacy VideoTagHeader or the enhanced ExVideoTagHeader. */
export function readVideoTagHeader(body: Buffer): VideoTagInfo {
  if (body.length < 1) throw new FlvReadError('empty video tag');
  const b0 = body[0];
  if (b0 & 0x80) {
    if (body.length < 5) throw new FlvReadError('short enhanced video tag');
    const packetType = b0 & 0x0f;
    const withCts = packetType === 1;
    if (withCts && body.length < 8) throw new FlvReadError('short enhanced video tag');
    return {
      frameType: (b0 >> 4) & 0x07,
      enhanced: true,
      codecId: 0,
      fourCc: body.toString('latin1', 1, 5),
      packetType,
      compositionTime: withCts ? body.readIntBE(5, 3) : 0,
      dataOffset: withCts ? 8 : 5,
    };
  }
  if (body.length < 5) throw new FlvReadError('short video tag');
  return {
    frameType: b0 >> 4,
    enhanced: false,
    codecId: b0 & 0x0f,
    fourCc: '',
    packetType: body[1],
    compositionTime: body.readIntBE(2, 3),
    dataOffset: 5,
  };
}

/** The length-prefixed NAL units (4-byte lengths) of a coded-frame body from `dataOffset`. */
export function readLengthPrefixedNals(body: Buffer, dataOffset: number): Buffer[] {
  const nals: Buffer[] = [];
  let o = dataOffset;
  while (o + 4 <= body.length) {
    const n = body.readUInt32BE(o);
    if (o + 4 + n > body.length) throw new FlvReadError('NAL unit length past the end of the tag');
    nals.push(body.subarray(o + 4, o + 4 + n));
    o += 4 + n;
  }
  if (o !== body.length) throw new FlvReadError('trailing bytes after the last NAL unit');
  return nals;
}
