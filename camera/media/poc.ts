/**
 * Presentation order of a file's access units, from the picture order count (POC) in the slice
 * headers, so that a file with B-frames plays with its true PTS (PTS ≠ DTS) instead of PTS = DTS.
 *
 * Only what POC needs is read: for H.264 the SPS up to frame_mbs_only_flag and the slice header up
 * to pic_order_cnt_lsb (pic_order_cnt_type 0; type 2 means output order = decode order; type 1 is
 * treated the same, an approximation), for H.265 the SPS up to log2_max_pic_order_cnt_lsb, the PPS
 * up to num_extra_slice_header_bits and the slice header up to slice_pic_order_cnt_lsb. POC MSB
 * follows H.264 8.2.1.1 and H.265 8.3.1. Anything unreadable gives up: the caller then keeps
 * PTS = DTS.
 */
import type { VideoCodec } from '../../common/codec/frame.ts';

/** Reads bits from RBSP bytes (emulation prevention already removed). Past the end it reads zeros. */
export class BitReader {
  private readonly buf: Uint8Array;
  private bit = 0;
  constructor(buf: Uint8Array) {
    this.buf = buf;
  }

  get overrun(): boolean {
    return this.bit > this.buf.length * 8;
  }

  u(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) {
      const byte = this.buf[this.bit >> 3] ?? 0;
      v = v * 2 + ((byte >> (7 - (this.bit & 7))) & 1);
      this.bit++;
    }
    return v;
  }

  flag(): boolean {
    return this.u(1) === 1;
  }

  skip(n: number): void {
    this.bit += n;
  }

  ue(): number {
    let zeros = 0;
    while (this.u(1) === 0) {
      if (++zeros > 31 || this.overrun) throw new Error('bad exp-Golomb code');
    }
    return 2 ** zeros - 1 + this.u(zeros);
  }

  se(): number {
    const k = this.ue();
    return k & 1 ? (k + 1) / 2 : -(k / 2);
  }
}

/** Copies up to maxBytes of RBSP from a NAL unit, dropping emulation prevention bytes (00 00 03). */
export function nalToRbsp(buf: Uint8Array, start: number, end: number, maxBytes = Infinity): Uint8Array {
  const out = new Uint8Array(Math.min(end - start, maxBytes));
  let n = 0;
  let zeros = 0;
  for (let i = start; i < end && n < out.length; i++) {
    const b = buf[i];
    if (zeros >= 2 && b === 3) {
      zeros = 0;
      continue;
    }
    zeros = b === 0 ? zeros + 1 : 0;
    out[n++] = b;
  }
  return out.subarray(0, n);
}

interface H264Sps {
  log2MaxFrameNum: number;
  pocType: number;
  log2MaxPocLsb: number;
  frameMbsOnly: boolean;
  separateColourPlane: boolean;
}

function skipScalingList(r: BitReader, size: number): void {
  let last = 8;
  let next = 8;
  for (let j = 0; j < size; j++) {
    if (next !== 0) next = (last + r.se() + 256) % 256;
    last = next === 0 ? last : next;
  }
}

function parseH264Sps(rbsp: Uint8Array): { id: number; sps: H264Sps } {
  const r = new BitReader(rbsp);
  r.skip(8); // NAL header
  const profile = r.u(8);
  r.skip(16); // constraint flags, level_idc
  const id = r.ue();
  let separateColourPlane = false;
  if ([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135].includes(profile)) {
    const chroma = r.ue();
    if (chroma === 3) separateColourPlane = r.flag();
    r.ue(); // bit_depth_luma_minus8
    r.ue(); // bit_depth_chroma_minus8
    r.skip(1); // qpprime_y_zero_transform_bypass_flag
    if (r.flag()) {
      const lists = chroma === 3 ? 12 : 8;
      for (let i = 0; i < lists; i++) if (r.flag()) skipScalingList(r, i < 6 ? 16 : 64);
    }
  }
  const log2MaxFrameNum = r.ue() + 4;
  const pocType = r.ue();
  let log2MaxPocLsb = 0;
  if (pocType === 0) {
    log2MaxPocLsb = r.ue() + 4;
  } else if (pocType === 1) {
    r.skip(1);
    r.se();
    r.se();
    const n = r.ue();
    for (let i = 0; i < n; i++) r.se();
  }
  r.ue(); // max_num_ref_frames
  r.skip(1); // gaps_in_frame_num_value_allowed_flag
  r.ue(); // pic_width_in_mbs_minus1
  r.ue(); // pic_height_in_map_units_minus1
  const frameMbsOnly = r.flag();
  if (r.overrun) throw new Error('short SPS');
  return { id, sps: { log2MaxFrameNum, pocType, log2MaxPocLsb, frameMbsOnly, separateColourPlane } };
}

interface H265Sps {
  log2MaxPocLsb: number;
  separateColourPlane: boolean;
}

interface H265Pps {
  spsId: number;
  dependentSliceSegmentsEnabled: boolean;
  outputFlagPresent: boolean;
  numExtraSliceHeaderBits: number;
}

function skipProfileTierLevel(r: BitReader, maxSubLayersMinus1: number): void {
  r.skip(96); // general profile space..general_level_idc
  const profilePresent: boolean[] = [];
  const levelPresent: boolean[] = [];
  for (let i = 0; i < maxSubLayersMinus1; i++) {
    profilePresent.push(r.flag());
    levelPresent.push(r.flag());
  }
  if (maxSubLayersMinus1 > 0) for (let i = maxSubLayersMinus1; i < 8; i++) r.skip(2);
  for (let i = 0; i < maxSubLayersMinus1; i++) {
    if (profilePresent[i]) r.skip(88);
    if (levelPresent[i]) r.skip(8);
  }
}

function parseH265Sps(rbsp: Uint8Array): { id: number; sps: H265Sps } {
  const r = new BitReader(rbsp);
  r.skip(16); // NAL header
  r.skip(4); // sps_video_parameter_set_id
  const maxSubLayersMinus1 = r.u(3);
  r.skip(1);
  skipProfileTierLevel(r, maxSubLayersMinus1);
  const id = r.ue();
  const chroma = r.ue();
  const separateColourPlane = chroma === 3 ? r.flag() : false;
  r.ue(); // pic_width_in_luma_samples
  r.ue(); // pic_height_in_luma_samples
  if (r.flag()) for (let i = 0; i < 4; i++) r.ue(); // conformance window
  r.ue(); // bit_depth_luma_minus8
  r.ue(); // bit_depth_chroma_minus8
  const log2MaxPocLsb = r.ue() + 4;
  if (r.overrun || log2MaxPocLsb > 16) throw new Error('bad SPS');
  return { id, sps: { log2MaxPocLsb, separateColourPlane } };
}

function parseH265Pps(rbsp: Uint8Array): { id: number; pps: H265Pps } {
  const r = new BitReader(rbsp);
  r.skip(16);
  const id = r.ue();
  const spsId = r.ue();
  const dependentSliceSegmentsEnabled = r.flag();
  const outputFlagPresent = r.flag();
  const numExtraSliceHeaderBits = r.u(3);
  if (r.overrun) throw new Error('short PPS');
  return { id, pps: { spsId, dependentSliceSegmentsEnabled, outputFlagPresent, numExtraSliceHeaderBits } };
}

/** The POC of each access unit (decode order) and whether it starts a new POC period (IDR etc). */
interface PocInfo {
  poc: number;
  reset: boolean;
}

/** An access unit as the POC reader needs it: bytes plus NAL payload ranges. */
export interface PocUnit {
  readonly data: Uint8Array;
  readonly nalRanges: Int32Array;
}

function h264Pocs(units: readonly PocUnit[]): PocInfo[] {
  const spsById = new Map<number, H264Sps>();
  const ppsSps = new Map<number, number>();
  const out: PocInfo[] = [];
  let prevMsb = 0;
  let prevLsb = 0;
  for (const unit of units) {
    let info: PocInfo | undefined;
    const d = unit.data;
    for (let i = 0; i < unit.nalRanges.length && !info; i += 2) {
      const s = unit.nalRanges[i];
      const e = unit.nalRanges[i + 1];
      const type = d[s] & 0x1f;
      if (type === 7) {
        const { id, sps } = parseH264Sps(nalToRbsp(d, s, e));
        spsById.set(id, sps);
      } else if (type === 8) {
        const r = new BitReader(nalToRbsp(d, s, e, 16));
        r.skip(8);
        const ppsId = r.ue();
        ppsSps.set(ppsId, r.ue());
      } else if (type === 1 || type === 5) {
        const r = new BitReader(nalToRbsp(d, s, e, 48));
        r.skip(8);
        r.ue(); // first_mb_in_slice
        r.ue(); // slice_type
        const spsId = ppsSps.get(r.ue());
        const sps = spsId === undefined ? undefined : spsById.get(spsId);
        if (!sps) throw new Error('slice before its parameter sets');
        const idr = type === 5;
        if (sps.pocType !== 0) {
          // Type 2 (and, approximately, 1): output order is decode order.
          info = { poc: out.length, reset: false };
          break;
        }
        if (sps.separateColourPlane) r.skip(2);
        r.skip(sps.log2MaxFrameNum);
        if (!sps.frameMbsOnly && r.flag()) r.skip(1); // field_pic_flag, bottom_field_flag
        if (idr) r.ue(); // idr_pic_id
        const lsb = r.u(sps.log2MaxPocLsb);
        const max = 2 ** sps.log2MaxPocLsb;
        if (idr) {
          prevMsb = 0;
          prevLsb = 0;
        }
        let msb = prevMsb;
        if (lsb < prevLsb && prevLsb - lsb >= max / 2) msb = prevMsb + max;
        else if (lsb > prevLsb && lsb - prevLsb > max / 2) msb = prevMsb - max;
        const isReference = (d[s] & 0x60) !== 0;
        if (isReference) {
          prevMsb = msb;
          prevLsb = lsb;
        }
        info = { poc: msb + lsb, reset: idr };
      }
    }
    if (!info) throw new Error('access unit without a slice');
    out.push(info);
  }
  return out;
}

function h265Pocs(units: readonly PocUnit[]): PocInfo[] {
  const spsById = new Map<number, H265Sps>();
  const ppsById = new Map<number, H265Pps>();
  const out: PocInfo[] = [];
  let prevTid0Poc = 0;
  let first = true;
  for (const unit of units) {
    let info: PocInfo | undefined;
    const d = unit.data;
    for (let i = 0; i < unit.nalRanges.length && !info; i += 2) {
      const s = unit.nalRanges[i];
      const e = unit.nalRanges[i + 1];
      const type = (d[s] >> 1) & 0x3f;
      if (type === 33) {
        const { id, sps } = parseH265Sps(nalToRbsp(d, s, e));
        spsById.set(id, sps);
      } else if (type === 34) {
        const { id, pps } = parseH265Pps(nalToRbsp(d, s, e, 32));
        ppsById.set(id, pps);
      } else if (type < 32) {
        const r = new BitReader(nalToRbsp(d, s, e, 48));
        r.skip(16);
        if (!r.flag()) continue; // not the first slice segment of the picture
        const irap = type >= 16 && type <= 23;
        if (irap) r.skip(1); // no_output_of_prior_pics_flag
        const pps = ppsById.get(r.ue());
        const sps = pps && spsById.get(pps.spsId);
        if (!pps || !sps) throw new Error('slice before its parameter sets');
        r.skip(pps.numExtraSliceHeaderBits);
        r.ue(); // slice_type
        if (pps.outputFlagPresent) r.skip(1);
        if (sps.separateColourPlane) r.skip(2);
        const idr = type === 19 || type === 20;
        const lsb = idr ? 0 : r.u(sps.log2MaxPocLsb);
        const max = 2 ** sps.log2MaxPocLsb;
        // IDR, BLA, and a CRA that starts the stream have NoRaslOutputFlag = 1: POC MSB restarts.
        const noRaslOutput = idr || (type >= 16 && type <= 18) || (type === 21 && first);
        let msb: number;
        if (irap && noRaslOutput) {
          msb = 0;
        } else {
          const prevLsb = ((prevTid0Poc % max) + max) % max;
          const prevMsb = prevTid0Poc - prevLsb;
          if (lsb < prevLsb && prevLsb - lsb >= max / 2) msb = prevMsb + max;
          else if (lsb > prevLsb && lsb - prevLsb > max / 2) msb = prevMsb - max;
          else msb = prevMsb;
        }
        const poc = msb + lsb;
        const temporalId = (d[s + 1] & 0x07) - 1;
        const subLayerNonRef = type <= 14 && type % 2 === 0;
        const raslOrRadl = type >= 6 && type <= 9;
        if (temporalId === 0 && !subLayerNonRef && !raslOrRadl) prevTid0Poc = poc;
        first = false;
        info = { poc, reset: irap && noRaslOutput };
      }
    }
    if (!info) throw new Error('access unit without a first slice segment');
    out.push(info);
  }
  return out;
}

export interface PresentationOrder {
  /** displayIndex[i]: position of access unit i (decode order) in output order, 0..n-1. */
  displayIndex: Int32Array;
  /** Frames PTS must be shifted by so that PTS ≥ DTS everywhere: max(decode − display). */
  delay: number;
}

/**
 * Output order of the access units from their POC, or undefined when it cannot be read (the
 * caller keeps PTS = DTS). Units between two POC resets are sorted by POC.
 */
export function presentationOrder(codec: VideoCodec, units: readonly PocUnit[]): PresentationOrder | undefined {
  let pocs: PocInfo[];
  try {
    pocs = codec === 'h264' ? h264Pocs(units) : h265Pocs(units);
  } catch {
    return undefined;
  }
  const n = pocs.length;
  const displayIndex = new Int32Array(n);
  let start = 0;
  while (start < n) {
    let end = start + 1;
    while (end < n && !pocs[end].reset) end++;
    const order: number[] = [];
    for (let i = start; i < end; i++) order.push(i);
    order.sort((a, b) => pocs[a].poc - pocs[b].poc || a - b);
    for (let k = 0; k < order.length; k++) displayIndex[order[k]] = start + k;
    start = end;
  }
  let delay = 0;
  for (let i = 0; i < n; i++) delay = Math.max(delay, i - displayIndex[i]);
  return { displayIndex, delay };
}
