/**
 * Video elementary stream source: an Annex-B H.264/H.265 file cut into access units once, then
 * shared read-only by every stream that plays it (the load benchmark runs 200 streams from one
 * process; each of them only keeps a cursor).
 *
 * Access unit boundaries (H.264 7.4.1.2.3, H.265 7.4.2.4.4): an AU begins at an access unit
 * delimiter, or at the first VCL NAL unit of a new picture. Parameter sets and SEI that follow a
 * picture belong to the next one. "New picture" is read from the first slice header bit:
 * first_mb_in_slice == 0 for H.264, first_slice_segment_in_pic_flag for H.265.
 */
import { readFile } from 'node:fs/promises';
import type { VideoCodec, VideoFrame } from '../../common/codec/frame.ts';
import { findStartCode, startCodeLength } from '../../common/codec/annexb.ts';
import { H264Nal, H265Nal, isRandomAccessNal, isVclNal, nalType } from '../../common/codec/nal.ts';
import { presentationOrder } from './poc.ts';

/** One access unit of a loaded file, shared by every stream that plays it. */
export interface AccessUnit {
  /** Annex-B bytes from the first start code to the end of the last NAL unit (a view into the file). */
  readonly data: Buffer;
  readonly keyframe: boolean;
  /**
   * NAL unit payload ranges inside `data` (start code excluded): [start0, end0, start1, end1, ...].
   * Lets the PS muxer write one PES per NAL unit without rescanning the bytes for every stream.
   */
  readonly nalRanges: Int32Array;
}

export interface VideoSource {
  readonly codec: VideoCodec;
  readonly units: readonly AccessUnit[];
  /** Sum of the access unit sizes in bytes. */
  readonly totalBytes: number;
  /**
   * Output (presentation) position of each unit when it differs from decode order (B-frames),
   * read from the POC; undefined when output order = decode order or the POC could not be read.
   */
  readonly displayIndex: Int32Array | undefined;
  /** Frames the PTS run ahead of the DTS so that PTS ≥ DTS (0 without reordering). */
  readonly reorderDelay: number;
}

/** A VideoFrame that carries its NAL ranges along, so the muxer need not scan for start codes. */
export interface IndexedVideoFrame extends VideoFrame {
  readonly nalRanges?: Int32Array;
}

/**
 * Reads an unsigned exp-Golomb value (ue(v)) starting at bit 0 of buf[at]. Enough for the first
 * field of a slice header; emulation prevention bytes cannot occur that early in practice and are
 * not skipped. Returns -1 when the value runs past `end`.
 */
export function readUe(buf: Uint8Array, at: number, end: number = buf.length): number {
  let bit = at * 8;
  const limit = end * 8;
  let zeros = 0;
  while (bit < limit && ((buf[bit >> 3] >> (7 - (bit & 7))) & 1) === 0) {
    zeros++;
    bit++;
  }
  if (bit >= limit || zeros > 31) return -1;
  bit++; // the terminating 1
  if (bit + zeros > limit) return -1;
  let value = 0;
  for (let i = 0; i < zeros; i++, bit++) value = value * 2 + ((buf[bit >> 3] >> (7 - (bit & 7))) & 1);
  return 2 ** zeros - 1 + value;
}

/**
 * Guesses the codec from the NAL headers of the first few NAL units. H.265 headers are two bytes,
 * the second normally 0x01 (layer 0, temporal id 1), with the parameter set / AUD / SEI types
 * 32..35, 39 near the start; H.264 starts with SPS (7), AUD (9) or SEI (6) headers.
 */
export function detectVideoCodec(buf: Uint8Array): VideoCodec {
  let h264 = 0;
  let h265 = 0;
  let sc = findStartCode(buf, 0);
  for (let n = 0; sc >= 0 && n < 16; n++) {
    const at = sc + startCodeLength(buf, sc);
    if (at + 1 >= buf.length) break;
    const b0 = buf[at];
    const b1 = buf[at + 1];
    if ((b0 & 0x80) === 0) {
      const t5 = (b0 >> 1) & 0x3f;
      if (b1 === 0x01 && (b0 & 1) === 0 && (t5 === 32 || t5 === 33 || t5 === 34 || t5 === 35 || t5 === 39 || t5 === 19 || t5 === 20)) {
        h265++;
      }
      const t4 = b0 & 0x1f;
      if (t4 === 7 || t4 === 8 || t4 === 9 || t4 === 5 || (t4 === 6 && (b0 & 0x60) === 0)) h264++;
    }
    sc = findStartCode(buf, at);
  }
  if (h264 === 0 && h265 === 0) throw new Error('not an Annex-B H.264/H.265 stream (no recognisable NAL headers)');
  return h265 > h264 ? 'h265' : 'h264';
}

/** True when the NAL unit at buf[start] (header included) begins a new primary picture's slices. */
function firstSliceOfPicture(codec: VideoCodec, buf: Uint8Array, start: number, end: number): boolean {
  if (codec === 'h264') return readUe(buf, start + 1, end) === 0;
  return start + 2 < end && (buf[start + 2] & 0x80) !== 0;
}

/** True for non-VCL NAL units that, once the current AU has a picture, start the next AU. */
function leadsNextPicture(codec: VideoCodec, type: number): boolean {
  if (codec === 'h264') {
    return (
      type === H264Nal.Sei ||
      type === H264Nal.Sps ||
      type === H264Nal.Pps ||
      (type >= 14 && type <= 18) // prefix NAL, subset SPS, depth parameter set, reserved
    );
  }
  return (
    type === H265Nal.Vps ||
    type === H265Nal.Sps ||
    type === H265Nal.Pps ||
    type === H265Nal.PrefixSei ||
    (type >= 41 && type <= 44) ||
    (type >= 48 && type <= 55)
  );
}

/** Cuts an Annex-B buffer into access units. The units are views into `buf` (nothing is copied). */
export function parseAnnexB(buf: Buffer, codec: VideoCodec = detectVideoCodec(buf)): VideoSource {
  const aud = codec === 'h264' ? H264Nal.Aud : H265Nal.Aud;
  const units: AccessUnit[] = [];
  let ranges: number[] = [];
  let auStart = -1;
  let auEnd = -1;
  let hasVcl = false;
  let keyframe = false;
  let totalBytes = 0;

  const close = (): void => {
    if (auStart >= 0 && hasVcl) {
      const rel = new Int32Array(ranges.length);
      for (let i = 0; i < ranges.length; i++) rel[i] = ranges[i] - auStart;
      units.push({ data: buf.subarray(auStart, auEnd), keyframe, nalRanges: rel });
      totalBytes += auEnd - auStart;
    }
    ranges = [];
    auStart = -1;
    hasVcl = false;
    keyframe = false;
  };

  let sc = findStartCode(buf, 0);
  while (sc >= 0) {
    const start = sc + startCodeLength(buf, sc);
    const next = findStartCode(buf, start);
    let end = next < 0 ? buf.length : next;
    while (end > start && buf[end - 1] === 0) end--;
    if (end > start) {
      const first = buf[start];
      const type = nalType(codec, first);
      const vcl = isVclNal(codec, first);
      let startsNew = false;
      if (type === aud) startsNew = auStart >= 0;
      else if (hasVcl && vcl) startsNew = firstSliceOfPicture(codec, buf, start, end);
      else if (hasVcl) startsNew = leadsNextPicture(codec, type);
      if (startsNew) close();
      if (auStart < 0) auStart = sc;
      auEnd = end;
      ranges.push(start, end);
      if (vcl) hasVcl = true;
      if (isRandomAccessNal(codec, first)) keyframe = true;
    }
    sc = next;
  }
  close(); // a trailing unit without a picture (stray SEI or parameter sets) is dropped here
  const order = presentationOrder(codec, units);
  const reordered = order !== undefined && order.displayIndex.some((d, i) => d !== i);
  return {
    codec,
    units,
    totalBytes,
    displayIndex: reordered ? order.displayIndex : undefined,
    reorderDelay: reordered ? order.delay : 0,
  };
}

const cache = new Map<string, Promise<VideoSource>>();

/**
 * Loads and parses a file once per process (per path and codec); later calls share the result.
 * `codec` undefined means auto-detect.
 */
export function loadVideoSource(path: string, codec?: VideoCodec): Promise<VideoSource> {
  const key = `${codec ?? 'auto'}:${path}`;
  let p = cache.get(key);
  if (!p) {
    p = readFile(path).then((buf) => {
      const source = parseAnnexB(buf, codec ?? detectVideoCodec(buf));
      if (source.units.length === 0) throw new Error(`${path}: no access units found`);
      return source;
    });
    p.catch(() => cache.delete(key));
    cache.set(key, p);
  }
  return p;
}
