/**
 * Presentation order of a file's access units, from the picture order count (POC) in the slice
 * headers, so that a file with B-frames plays with its true PTS (PTS ≠ DTS) instead of PTS = DTS.
 *
 * The parameter sets are parsed by common/codec; here only the slice header is read, up to
 * pic_order_cnt_lsb for H.264 (pic_order_cnt_type 0; type 2 means output order = decode order; type 1
 * is treated the same, an approximation) and up to slice_pic_order_cnt_lsb for H.265. POC MSB
 * follows H.264 8.2.1.1 and H.265 8.3.1. Anything unreadable gives up: the caller then keeps
 * PTS = DTS.
 */
import { BitReader, unescapeRbsp } from '../../common/codec/bit-reader.ts';
import type { VideoCodec } from '../../common/codec/frame.ts';
import { parseH264Sps } from '../../common/codec/h264-sps.ts';
import type { H264Sps } from '../../common/codec/h264-sps.ts';
import { parseH265Pps, parseH265Sps } from '../../common/codec/h265-params.ts';
import type { H265Pps, H265Sps } from '../../common/codec/h265-params.ts';

/** Bytes read from the start of a PPS or slice NAL unit: far more than its ids or the POC need. */
const NAL_START_BYTES = 48;

/** Reads the unescaped start of the NAL unit in d[s, e), after its `headerBytes`-byte NAL header. */
function nalStartReader(d: Uint8Array, s: number, e: number, headerBytes: number): BitReader {
  return new BitReader(unescapeRbsp(d, s + headerBytes, Math.min(e, s + NAL_START_BYTES)));
}

/** PicOrderCntMsb from the previous reference LSB/MSB (H.264 8-3, H.265 8-1); max = MaxPicOrderCntLsb. */
function pocMsb(prevMsb: number, prevLsb: number, lsb: number, max: number): number {
  if (lsb < prevLsb && prevLsb - lsb >= max / 2) return prevMsb + max;
  if (lsb > prevLsb && lsb - prevLsb > max / 2) return prevMsb - max;
  return prevMsb;
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
        const sps = parseH264Sps(d, s, e);
        if (!sps) throw new Error('bad SPS');
        spsById.set(sps.spsId, sps);
      } else if (type === 8) {
        const r = nalStartReader(d, s, e, 1);
        const ppsId = r.readUe(); // pic_parameter_set_id
        ppsSps.set(ppsId, r.readUe()); // seq_parameter_set_id
      } else if (type === 1 || type === 5) {
        const r = nalStartReader(d, s, e, 1);
        r.readUe(); // first_mb_in_slice
        r.readUe(); // slice_type
        const spsId = ppsSps.get(r.readUe());
        const sps = spsId === undefined ? undefined : spsById.get(spsId);
        if (!sps) throw new Error('slice before its parameter sets');
        const idr = type === 5;
        if (sps.picOrderCntType !== 0) {
          // Type 2 (and, approximately, 1): output order is decode order.
          info = { poc: out.length, reset: false };
          break;
        }
        if (sps.separateColourPlane) r.skipBits(2); // colour_plane_id
        r.skipBits(sps.log2MaxFrameNum); // frame_num
        if (!sps.frameMbsOnly && r.readFlag()) r.skipBits(1); // field_pic_flag, bottom_field_flag
        if (idr) r.readUe(); // idr_pic_id
        const lsb = r.readBits(sps.log2MaxPocLsb);
        if (idr) {
          prevMsb = 0;
          prevLsb = 0;
        }
        const msb = pocMsb(prevMsb, prevLsb, lsb, 2 ** sps.log2MaxPocLsb);
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
        const sps = parseH265Sps(d, s, e);
        if (!sps) throw new Error('bad SPS');
        spsById.set(sps.spsId, sps);
      } else if (type === 34) {
        const pps = parseH265Pps(d, s, e);
        if (!pps) throw new Error('bad PPS');
        ppsById.set(pps.ppsId, pps);
      } else if (type < 32) {
        const r = nalStartReader(d, s, e, 2);
        if (!r.readFlag()) continue; // not the first slice segment of the picture
        const irap = type >= 16 && type <= 23;
        if (irap) r.skipBits(1); // no_output_of_prior_pics_flag
        const pps = ppsById.get(r.readUe());
        const sps = pps && spsById.get(pps.spsId);
        if (!pps || !sps) throw new Error('slice before its parameter sets');
        r.skipBits(pps.numExtraSliceHeaderBits);
        r.readUe(); // slice_type
        if (pps.outputFlagPresent) r.skipBits(1); // pic_output_flag
        if (sps.separateColourPlane) r.skipBits(2); // colour_plane_id
        const idr = type === 19 || type === 20;
        const lsb = idr ? 0 : r.readBits(sps.log2MaxPocLsb);
        const max = 2 ** sps.log2MaxPocLsb;
        // IDR, BLA, and a CRA that starts the stream have NoRaslOutputFlag = 1: POC MSB restarts.
        const noRaslOutput = idr || (type >= 16 && type <= 18) || (type === 21 && first);
        let msb: number;
        if (irap && noRaslOutput) {
          msb = 0;
        } else {
          const prevLsb = ((prevTid0Poc % max) + max) % max;
          msb = pocMsb(prevTid0Poc - prevLsb, prevLsb, lsb, max);
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
