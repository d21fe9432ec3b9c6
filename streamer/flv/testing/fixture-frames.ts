/**
 * Test support: MediaFrames made from raw elementary streams (the fixtures) and generated tones.
 *
 * Video: an Annex-B file is cut into access units, and each gets a DTS at a constant frame rate and a
 * PTS in display order, derived from the picture order count of its first slice (H.264 POC type 0 and
 * 2, H.265), so B-frames get real composition offsets. Used by tests and benchmarks, not by the
 * media path.
 */
import type { AudioFrame, VideoCodec, VideoFrame } from '../../../common/codec/frame.ts';
import { findStartCode, startCodeLength } from '../../../common/codec/annexb.ts';
import { BitReader, unescapeRbsp } from '../../../common/codec/bit-reader.ts';
import { parseH264Sps } from '../../../common/codec/h264-sps.ts';
import type { H264Sps } from '../../../common/codec/h264-sps.ts';
import { parseH265Pps, parseH265Sps } from '../../../common/codec/h265-params.ts';
import type { H265Pps, H265Sps } from '../../../common/codec/h265-params.ts';
import { readAdtsHeader, newAdtsHeader } from '../../../common/codec/aac-adts.ts';

export interface AccessUnit {
  /** View of the input: the access unit's NAL units with their start codes. */
  data: Buffer;
  keyframe: boolean;
}

interface Nal {
  sc: number;
  start: number;
  end: number;
}

function scanNals(buf: Buffer): Nal[] {
  const nals: Nal[] = [];
  let sc = findStartCode(buf, 0);
  while (sc >= 0) {
    const start = sc + startCodeLength(buf, sc);
    const next = findStartCode(buf, start);
    const end = next < 0 ? buf.length : next;
    if (end > start) nals.push({ sc, start, end });
    sc = next;
  }
  return nals;
}

function isVcl(codec: VideoCodec, b: number): boolean {
  return codec === 'h264' ? (b & 0x1f) >= 1 && (b & 0x1f) <= 5 : ((b >> 1) & 0x3f) < 32;
}

/** True for a non-VCL NAL type that can only begin an access unit (H.264 §7.4.1.2.3, H.265 §7.4.2.4.4). */
function startsAccessUnit(codec: VideoCodec, b: number): boolean {
  if (codec === 'h264') {
    const t = b & 0x1f;
    return t === 6 || t === 7 || t === 8 || t === 9 || (t >= 14 && t <= 18);
  }
  const t = (b >> 1) & 0x3f;
  return (t >= 32 && t <= 35) || t === 39 || (t >= 41 && t <= 44) || (t >= 48 && t <= 55);
}

/** The first slice of a picture: first_mb_in_slice == 0 / first_slice_segment_in_pic_flag == 1. */
function firstSliceOfPicture(codec: VideoCodec, buf: Buffer, nal: Nal): boolean {
  const at = nal.start + (codec === 'h264' ? 1 : 2);
  return at < nal.end && (buf[at] & 0x80) !== 0;
}

/** Splits an Annex-B elementary stream into access units (views of `buf`). */
export function splitAccessUnits(codec: VideoCodec, buf: Buffer): AccessUnit[] {
  const aus: AccessUnit[] = [];
  let auStart = -1;
  let sawVcl = false;
  let key = false;
  for (const nal of scanNals(buf)) {
    const b = buf[nal.start];
    const vcl = isVcl(codec, b);
    const boundary = sawVcl && ((vcl && firstSliceOfPicture(codec, buf, nal)) || (!vcl && startsAccessUnit(codec, b)));
    if (boundary) {
      aus.push({ data: buf.subarray(auStart, nal.sc), keyframe: key });
      auStart = -1;
      sawVcl = false;
      key = false;
    }
    if (auStart < 0) auStart = nal.sc;
    if (vcl) {
      sawVcl = true;
      if (codec === 'h264' ? (b & 0x1f) === 5 : ((b >> 1) & 0x3f) >= 16 && ((b >> 1) & 0x3f) <= 21) key = true;
    }
  }
  if (auStart >= 0 && sawVcl) aus.push({ data: buf.subarray(auStart), keyframe: key });
  return aus;
}

/**
 * Picture order count of each access unit, or null for an access unit whose slice header could not be
 * read. Resets (IDR) start a new "coded video sequence" index so that sorting by [cvs, poc] gives
 * display order.
 */
function pictureOrder(codec: VideoCodec, aus: AccessUnit[]): { cvs: number; poc: number }[] | null {
  const out: { cvs: number; poc: number }[] = [];
  let cvs = -1;
  let prevMsb = 0;
  let prevLsb = 0;
  let sps264: H264Sps | null = null;
  let sps265: H265Sps | null = null;
  const pps265 = new Map<number, H265Pps>();
  for (const au of aus) {
    let pocOut: number | null = null;
    for (const nal of scanNals(au.data)) {
      const d = au.data;
      const b = d[nal.start];
      if (codec === 'h264') {
        const t = b & 0x1f;
        if (t === 7) sps264 = parseH264Sps(d, nal.start, nal.end) ?? sps264;
        if (t !== 1 && t !== 5) continue;
        if (!sps264) return null;
        if (sps264.picOrderCntType === 1) return null;
        const r = new BitReader(unescapeRbsp(d, nal.start + 1, Math.min(nal.end, nal.start + 32)));
        r.readUe(); // first_mb_in_slice
        r.readUe(); // slice_type
        r.readUe(); // pic_parameter_set_id
        if (sps264.separateColourPlane) r.skipBits(2);
        const frameNum = r.readBits(sps264.log2MaxFrameNum);
        if (!sps264.frameMbsOnly && r.readFlag()) r.skipBits(1);
        if (t === 5) {
          cvs++;
          prevMsb = 0;
          prevLsb = 0;
          r.readUe(); // idr_pic_id
        }
        if (sps264.picOrderCntType === 2) {
          pocOut = out.length; // decode order is display order
        } else {
          const lsb = r.readBits(sps264.log2MaxPocLsb);
          const max = 2 ** sps264.log2MaxPocLsb;
          let msb = prevMsb;
          if (lsb < prevLsb && prevLsb - lsb >= max / 2) msb += max;
          else if (lsb > prevLsb && lsb - prevLsb > max / 2) msb -= max;
          pocOut = msb + lsb;
          if ((b & 0x60) !== 0) {
            prevMsb = msb;
            prevLsb = lsb;
          }
        }
        void frameNum;
        break;
      } else {
        const t = (b >> 1) & 0x3f;
        if (t === 33) sps265 = parseH265Sps(d, nal.start, nal.end) ?? sps265;
        if (t === 34) {
          const p = parseH265Pps(d, nal.start, nal.end);
          if (p) pps265.set(p.ppsId, p);
        }
        if (t >= 32) continue;
        if (!sps265) return null;
        const r = new BitReader(unescapeRbsp(d, nal.start + 2, Math.min(nal.end, nal.start + 32)));
        r.readBit(); // first_slice_segment_in_pic_flag (the unit starts with the first slice)
        if (t >= 16 && t <= 23) r.skipBits(1); // no_output_of_prior_pics_flag
        const pps = pps265.get(r.readUe());
        if (!pps) return null;
        r.skipBits(pps.numExtraSliceHeaderBits);
        r.readUe(); // slice_type
        if (pps.outputFlagPresent) r.skipBits(1);
        if (sps265.separateColourPlane) r.skipBits(2);
        const temporalId = (d[nal.start + 1] & 7) - 1;
        if (t === 19 || t === 20) {
          cvs++;
          prevMsb = 0;
          prevLsb = 0;
          pocOut = 0;
        } else {
          const lsb = r.readBits(sps265.log2MaxPocLsb);
          const max = 2 ** sps265.log2MaxPocLsb;
          let msb = prevMsb;
          if (t >= 16 && t <= 18) {
            cvs++; // BLA: POC msb resets
            msb = 0;
          } else if (lsb < prevLsb && prevLsb - lsb >= max / 2) msb += max;
          else if (lsb > prevLsb && lsb - prevLsb > max / 2) msb -= max;
          pocOut = msb + lsb;
          const subLayerNonRef = t <= 14 && t % 2 === 0;
          const radlOrRasl = t >= 6 && t <= 9;
          if (temporalId === 0 && !subLayerNonRef && !radlOrRasl) {
            prevMsb = msb;
            prevLsb = lsb;
          }
        }
        break;
      }
    }
    if (pocOut === null) return null;
    out.push({ cvs: Math.max(cvs, 0), poc: pocOut });
  }
  return out;
}

/**
 * Video frames from an Annex-B elementary stream at `fps`: DTS in decode order from `startTicks`,
 * PTS in display order (when the slice headers allow it), delayed so that PTS >= DTS.
 */
export function videoFramesFromAnnexB(codec: VideoCodec, buf: Buffer, fps = 25, startTicks = 0): VideoFrame[] {
  const aus = splitAccessUnits(codec, buf);
  const step = 90000 / fps;
  const order = pictureOrder(codec, aus);
  const display = new Array<number>(aus.length);
  if (order) {
    const idx = aus.map((_, i) => i);
    idx.sort((a, b) => order[a].cvs - order[b].cvs || order[a].poc - order[b].poc);
    idx.forEach((decodeIndex, displayIndex) => (display[decodeIndex] = displayIndex));
  } else {
    for (let i = 0; i < aus.length; i++) display[i] = i;
  }
  let delay = 0;
  for (let i = 0; i < aus.length; i++) delay = Math.max(delay, i - display[i]);
  return aus.map((au, i) => ({
    kind: 'video' as const,
    codec,
    dts: Math.round(startTicks + i * step),
    pts: Math.round(startTicks + (display[i] + delay) * step),
    keyframe: au.keyframe,
    data: au.data,
  }));
}

/** ITU-T G.711 A-law encoding of a 16-bit linear sample. */
export function linearToAlaw(sample: number): number {
  let mask: number;
  let v = sample >> 3; // 13-bit magnitude domain
  if (v >= 0) {
    mask = 0xd5;
  } else {
    mask = 0x55;
    v = -v - 1;
  }
  let seg = 0;
  while (seg < 8 && v > (0x20 << seg) - 1) seg++;
  if (seg >= 8) return 0x7f ^ mask;
  const mantissa = seg < 2 ? (v >> 1) & 0x0f : (v >> seg) & 0x0f;
  return ((seg << 4) | mantissa) ^ mask;
}

/** ITU-T G.711 µ-law encoding of a 16-bit linear sample. */
export function linearToUlaw(sample: number): number {
  const BIAS = 0x84;
  let v = sample >> 2; // 14-bit
  let mask: number;
  if (v < 0) {
    v = -v;
    mask = 0x7f;
  } else {
    mask = 0xff;
  }
  v = Math.min(v, 8159) + (BIAS >> 2);
  let seg = 0;
  while (seg < 8 && v > (0x40 << seg) - 1) seg++;
  if (seg >= 8) return 0x7f ^ mask;
  return ((seg << 4) | ((v >> (seg + 1)) & 0x0f)) ^ mask;
}

/** A sine tone as G.711 frames of `frameMs` at 8 kHz mono. */
export function g711Tone(
  codec: 'pcma' | 'pcmu',
  seconds: number,
  opts: { hz?: number; frameMs?: number; startTicks?: number } = {},
): AudioFrame[] {
  const hz = opts.hz ?? 440;
  const frameMs = opts.frameMs ?? 20;
  const perFrame = (8000 * frameMs) / 1000;
  const total = Math.round(seconds * 8000);
  const encode = codec === 'pcma' ? linearToAlaw : linearToUlaw;
  const frames: AudioFrame[] = [];
  for (let first = 0; first + perFrame <= total; first += perFrame) {
    const data = Buffer.allocUnsafe(perFrame);
    for (let i = 0; i < perFrame; i++) {
      data[i] = encode(Math.round(8000 * Math.sin((2 * Math.PI * hz * (first + i)) / 8000)));
    }
    frames.push({ kind: 'audio', codec, pts: (opts.startTicks ?? 0) + (first * 90000) / 8000, data });
  }
  return frames;
}

/** AAC frames from an ADTS stream, `perFrame` ADTS frames per AudioFrame. */
export function aacFramesFromAdts(buf: Buffer, perFrame = 1, startTicks = 0): AudioFrame[] {
  const h = newAdtsHeader();
  const frames: AudioFrame[] = [];
  let o = 0;
  let n = 0;
  while (o < buf.length) {
    const first = o;
    const firstIndex = n;
    let rate = 0;
    for (let k = 0; k < perFrame && o < buf.length; k++) {
      if (!readAdtsHeader(buf, o, h) || o + h.frameLength > buf.length) throw new Error(`bad ADTS frame at ${o}`);
      rate = h.sampleRate;
      o += h.frameLength;
      n++;
    }
    frames.push({ kind: 'audio', codec: 'aac', pts: startTicks + Math.round((firstIndex * 1024 * 90000) / rate), data: buf.subarray(first, o) });
  }
  return frames;
}

/** Frames of several tracks in one list ordered by decode time, as a demuxer would deliver them. */
export function interleave<T extends { kind: string; pts: number; dts?: number }>(...tracks: T[][]): T[] {
  const all = tracks.flat();
  const key = (f: T) => f.dts ?? f.pts;
  return all.map((f, i) => ({ f, i })).sort((a, b) => key(a.f) - key(b.f) || a.i - b.i).map((x) => x.f);
}
