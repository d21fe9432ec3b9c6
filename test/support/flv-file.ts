/**
 * A small FLV file reader for tests: splits a file into tags in the FlvTag shape the muxer emits
 * (`data` = 11-byte tag header + body + 4-byte PreviousTagSize, as a view of the file buffer), and
 * describes what a tag holds (codec, sequence header, keyframe) for assertions.
 *
 * Strict about structure (it reads test files, so a malformed one should fail the test loudly).
 */
import { readFileSync } from 'node:fs';

export interface FlvFileTag {
  readonly type: 8 | 9 | 18;
  readonly timestamp: number;
  readonly keyframe: boolean;
  readonly isHeader: boolean;
  readonly data: Buffer;
}

export interface FlvFile {
  readonly hasAudio: boolean;
  readonly hasVideo: boolean;
  readonly tags: FlvFileTag[];
}

export function readFlvFile(file: string): FlvFile {
  return parseFlv(readFileSync(file));
}

export function parseFlv(buf: Buffer): FlvFile {
  if (buf.length < 13 || buf.toString('latin1', 0, 3) !== 'FLV') throw new Error('not an FLV file');
  const headerSize = buf.readUInt32BE(5);
  const flags = buf[4];
  const tags: FlvFileTag[] = [];
  let pos = headerSize + 4; // skip PreviousTagSize0
  while (pos + 11 <= buf.length) {
    const type = buf[pos] & 0x1f;
    const size = buf.readUIntBE(pos + 1, 3);
    const timestamp = (buf.readUIntBE(pos + 4, 3) | (buf[pos + 7] << 24)) >>> 0;
    const end = pos + 11 + size + 4;
    if (end > buf.length) break; // a truncated last tag (e.g. a recording cut by a kill)
    if (buf.readUInt32BE(end - 4) !== size + 11) throw new Error(`bad PreviousTagSize after the tag at ${pos}`);
    if (type === 8 || type === 9 || type === 18) {
      const body = buf.subarray(pos + 11, pos + 11 + size);
      const info = describeTag(type, body);
      tags.push({ type, timestamp, keyframe: info.keyframe, isHeader: info.isHeader, data: buf.subarray(pos, end) });
    }
    pos = end;
  }
  return { hasAudio: (flags & 4) !== 0, hasVideo: (flags & 1) !== 0, tags };
}

export interface TagInfo {
  /** 'avc' (7), 'hevc' (12), 'hvc1' (enhanced), 'aac', 'pcma', 'pcmu', 'meta', or `video-<id>`/`audio-<id>`. */
  codec: string;
  keyframe: boolean;
  isHeader: boolean;
}

export function describeTag(type: number, body: Buffer): TagInfo {
  if (type === 18) return { codec: 'meta', keyframe: false, isHeader: true };
  if (type === 9) {
    const b0 = body[0] ?? 0;
    if (b0 & 0x80) {
      // Enhanced RTMP: [IsExHeader:1][FrameType:3][PacketType:4][FourCC:4]
      const frameType = (b0 >> 4) & 0x07;
      const packetType = b0 & 0x0f;
      return { codec: body.toString('latin1', 1, 5), keyframe: frameType === 1, isHeader: packetType === 0 };
    }
    const codecId = b0 & 0x0f;
    const keyframe = b0 >> 4 === 1;
    const codec = codecId === 7 ? 'avc' : codecId === 12 ? 'hevc' : `video-${codecId}`;
    const isHeader = (codecId === 7 || codecId === 12) && body[1] === 0;
    return { codec, keyframe, isHeader };
  }
  const format = (body[0] ?? 0) >> 4;
  const codec = format === 10 ? 'aac' : format === 7 ? 'pcma' : format === 8 ? 'pcmu' : `audio-${format}`;
  return { codec, keyframe: false, isHeader: format === 10 && body[1] === 0 };
}

/** The header tags a muxer would hand out on (re)connect: the first metadata and sequence headers. */
export function headerTagsOf(tags: readonly FlvFileTag[]): FlvFileTag[] {
  const out: FlvFileTag[] = [];
  const seen = new Set<string>();
  for (const t of tags) {
    if (!t.isHeader) continue;
    const key = t.type === 18 ? 'meta' : t.type === 9 ? 'video' : 'audio';
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(t);
  }
  return out;
}
