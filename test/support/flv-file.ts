/**
 * A small FLV file reader for tests: splits a file into tags in the FlvTag shape the muxer emits
 * (`data` = 11-byte tag header + body + 4-byte PreviousTagSize, as a view of the file buffer), and
 * describes what a tag holds (codec, sequence header, keyframe) for assertions.
 *
 * Strict about structure (it reads test files, so a malformed one should fail the test loudly): the
 * splitting is flv-reader.ts's readFlv.
 */
import { readFileSync } from 'node:fs';
import { FLV_TAG_OVERHEAD } from '../../streamer/flv/flv-tag.ts';
import type { FlvTag } from '../../streamer/flv/flv-tag.ts';
import { readFlv } from './flv-reader.ts';

/** A tag read from a file, in the muxer's FlvTag shape. */
export type FlvFileTag = FlvTag;

export interface FlvFile {
  readonly hasAudio: boolean;
  readonly hasVideo: boolean;
  readonly tags: FlvFileTag[];
}

export function readFlvFile(file: string): FlvFile {
  return parseFlv(readFileSync(file));
}

/** Audio, video and script tags (others are skipped); a truncated last tag (a recording cut by a kill) is ignored. */
export function parseFlv(buf: Buffer): FlvFile {
  const { info, tags } = readFlv(buf);
  const out: FlvFileTag[] = [];
  for (const { type, timestamp, offset, body } of tags) {
    if (type !== 8 && type !== 9 && type !== 18) continue;
    const { keyframe, isHeader } = describeTag(type, body);
    const data = buf.subarray(offset, offset + FLV_TAG_OVERHEAD + body.length);
    out.push({ type, timestamp, keyframe, isHeader, data });
  }
  return { hasAudio: info.hasAudio, hasVideo: info.hasVideo, tags: out };
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
