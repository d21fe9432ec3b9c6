/**
 * Assembly of one video access unit from PES payload pieces, and what can be learned from the NAL
 * headers inside it: the codec (H.264 or H.265, whatever the PSM says), whether the unit holds a
 * picture yet, and whether it is a keyframe.
 *
 * Pieces are kept as views and concatenated once when the unit is emitted. NAL headers are found by
 * a small state machine that survives start codes split across pieces; it only runs until the first
 * picture slice of the unit, which is near the start, so the bulk of the slice data is never read.
 */
import type { VideoCodec } from '../../common/codec/frame.ts';
import { H264Nal, H265Nal, isRandomAccessNal, isVclNal } from '../../common/codec/nal.ts';

/** NAL headers recorded per unit (parameter sets, SEI, AUD come before the first slice). */
const MAX_RECORDED_NALS = 32;

const H264_PROFILES = new Set([66, 77, 88, 100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

/** An H.264 SPS with a known profile_idc: impossible as an H.265 base-layer NAL header. */
export function isH264SpsHeader(b0: number, b1: number): boolean {
  return (b0 & 0x9f) === H264Nal.Sps && (b0 & 0x60) !== 0 && H264_PROFILES.has(b1);
}

/** An H.265 VPS/SPS/PPS of layer 0 (40 01, 42 01, 44 01): not valid as H.264 NAL headers. */
export function isH265ParameterSetHeader(b0: number, b1: number): boolean {
  return (b0 === H265Nal.Vps << 1 || b0 === H265Nal.Sps << 1 || b0 === H265Nal.Pps << 1) && b1 === 0x01;
}

/**
 * Does a NAL unit with these first three bytes begin a new access unit, once the current one holds
 * a picture? (H.264 §7.4.1.2.3, H.265 §7.4.2.4.4: AUD, parameter sets, prefix SEI, or the first
 * slice of a picture.)
 */
export function startsAccessUnit(codec: VideoCodec, b0: number, b1: number, b2: number): boolean {
  if (codec === 'h264') {
    const t = b0 & 0x1f;
    if (t === H264Nal.NonIdrSlice || t === H264Nal.IdrSlice) return (b1 & 0x80) !== 0; // first_mb_in_slice == 0
    return (t >= H264Nal.Sei && t <= H264Nal.Aud) || (t >= 14 && t <= 18);
  }
  const t = (b0 >> 1) & 0x3f;
  if (t < 32) return (b2 & 0x80) !== 0; // first_slice_segment_in_pic_flag
  return (t >= H265Nal.Vps && t <= H265Nal.Aud) || t === H265Nal.PrefixSei || (t >= 41 && t <= 44) || (t >= 48 && t <= 55);
}

export const FinishResult = {
  /** Nothing was being assembled. */
  None: 0,
  /** The unit is complete and may be emitted: see data/keyframe/codec. */
  Emit: 1,
  /** The unit was dropped (damaged, codec unknown, waiting for a keyframe, too large). */
  Drop: 2,
  /** The unit holds no picture (e.g. parameter sets sent with their own PTS): kept for the next. */
  Carry: 3,
} as const;

let scratch = Buffer.allocUnsafeSlow(256 * 1024);

export class VideoAccessUnit {
  /** Largest unit accepted, bytes. */
  readonly maxBytes: number;

  active = false;
  /** Unwrapped PTS/DTS of the unit, -1 when its PES carried none. */
  pts = -1;
  dts = -1;
  /** Counts units, so that a marker can be matched with the unit it was seen in. */
  serial = 0;
  size = 0;
  /** A piece is missing or the unit grew past maxBytes: it will be dropped. */
  damaged = false;
  /** Drop units until a keyframe. */
  needKeyframe = true;
  /** Discard PES payloads until one starts an access unit (after loss, or joining mid-stream). */
  waitAuStart = true;

  /** Codec from the PSM, or null. */
  declared: VideoCodec | null = null;
  /** Codec seen in parameter sets; wins over the PSM. Sticky until the other codec's appear. */
  sniffed: VideoCodec | null = null;

  private readonly parts: Buffer[] = [];
  // NAL header scanning state.
  private zeros = 0;
  private hdrNeed = 0;
  private hdrGot = 0;
  private readonly hdr = new Uint8Array(3);
  private readonly nals = new Uint8Array(3 * MAX_RECORDED_NALS);
  private nalCount = 0;
  private scanDone = false;
  private vclSeen = false;
  private evidence264 = false;
  private evidence265 = false;

  // Results of finish() === Emit.
  data: Buffer = Buffer.alloc(0);
  keyframe = false;
  codec: VideoCodec = 'h264';

  /** With reuse on, frames are assembled in the process-wide scratch buffer instead of a new one. */
  private readonly reuseBuffer: boolean;

  constructor(maxBytes: number, reuseBuffer = false) {
    this.maxBytes = maxBytes;
    this.reuseBuffer = reuseBuffer;
  }

  get codecGuess(): VideoCodec | null {
    return this.sniffed ?? this.declared;
  }

  /** True once a picture slice has been seen in the unit (under the current codec guess). */
  get hasPicture(): boolean {
    return this.vclSeen;
  }

  /** Starts a unit; keeps the pieces of a carried (picture-less) unit in front. */
  begin(pts: number, dts: number, carried: boolean): void {
    this.active = true;
    this.pts = pts;
    this.dts = dts;
    this.serial++;
    if (!carried) this.resetContent();
  }

  /** Sets the time stamps of a unit that started without them. */
  setTimes(pts: number, dts: number): void {
    this.pts = pts;
    this.dts = dts;
  }

  private resetContent(): void {
    this.parts.length = 0;
    this.size = 0;
    this.damaged = false;
    this.zeros = 0;
    this.hdrNeed = 0;
    this.hdrGot = 0;
    this.nalCount = 0;
    this.scanDone = false;
    this.vclSeen = false;
    this.evidence264 = false;
    this.evidence265 = false;
  }

  /** Adds a payload piece (a view; the bytes must not change until the unit is emitted). */
  append(buf: Buffer, start: number, end: number): void {
    if (this.damaged) return;
    const n = end - start;
    if (this.size + n > this.maxBytes) {
      // Too large: let the pieces go now, drop the unit when it ends.
      this.damaged = true;
      this.oversized = true;
      this.parts.length = 0;
      return;
    }
    this.parts.push(start === 0 && end === buf.length ? buf : buf.subarray(start, end));
    this.size += n;
    if (!this.scanDone) this.scan(buf, start, end);
  }

  /** Set when the unit was damaged by its size; the demuxer counts it. */
  oversized = false;

  /** Marks the unit damaged (a piece of it was lost). */
  damage(): void {
    if (this.active) {
      this.damaged = true;
      this.parts.length = 0;
    }
  }

  /** Forgets the unit without a verdict (the demuxer counts it as dropped if it had data). */
  abandon(): boolean {
    const had = this.active && (this.size > 0 || this.damaged);
    this.active = false;
    this.resetContent();
    this.oversized = false;
    return had;
  }

  /**
   * Does a PES payload beginning with these bytes start a new access unit? Looks for a start code
   * at the very beginning followed by an AU-starting NAL header.
   */
  payloadStartsAu(b: Uint8Array, o: number, n: number): boolean {
    let p: number;
    if (n >= 4 && b[o] === 0 && b[o + 1] === 0 && b[o + 2] === 1) p = o + 3;
    else if (n >= 5 && b[o] === 0 && b[o + 1] === 0 && b[o + 2] === 0 && b[o + 3] === 1) p = o + 4;
    else return false;
    const end = o + n;
    const b0 = b[p];
    const b1 = p + 1 < end ? b[p + 1] : 0;
    const b2 = p + 2 < end ? b[p + 2] : 0;
    if (b0 & 0x80) return false;
    const codec = this.guessWith(b0, b1);
    if (codec) return startsAccessUnit(codec, b0, b1, b2);
    return startsAccessUnit('h264', b0, b1, b2) || startsAccessUnit('h265', b0, b1, b2);
  }

  /** Codec guess, letting one NAL header of a parameter set decide when nothing else has. */
  private guessWith(b0: number, b1: number): VideoCodec | null {
    if (isH265ParameterSetHeader(b0, b1)) return 'h265';
    if (isH264SpsHeader(b0, b1)) return 'h264';
    return this.codecGuess;
  }

  /**
   * Ends the unit. On Emit, `data`, `keyframe` and `codec` describe it (data is the unit's one
   * allocation).
   */
  finish(allowCarry: boolean): number {
    if (!this.active) return FinishResult.None;
    this.active = false;
    if (this.damaged) {
      this.needKeyframe = true;
      this.resetContent();
      return FinishResult.Drop;
    }
    const codec = this.codecGuess;
    let firstVcl = -1;
    if (codec) {
      for (let i = 0; i < this.nalCount; i++) {
        if (isVclNal(codec, this.nals[i * 3])) {
          firstVcl = i;
          break;
        }
      }
    }
    if (firstVcl < 0 && allowCarry && this.size > 0 && this.nalCount > 0 && this.nalCount < MAX_RECORDED_NALS) {
      this.active = false;
      return FinishResult.Carry;
    }
    if (!codec || firstVcl < 0) {
      this.resetContent();
      return FinishResult.Drop;
    }
    const key = isRandomAccessNal(codec, this.nals[firstVcl * 3]);
    if (this.needKeyframe && !key) {
      this.resetContent();
      return FinishResult.Drop;
    }
    this.needKeyframe = false;
    this.keyframe = key;
    this.codec = codec;
    // Always a copy, even of a single piece: a view would keep the whole input buffer (a 64 KiB TCP
    // chunk, say) alive for as long as the frame is held, e.g. in a GOP cache.
    this.data = this.reuseBuffer ? this.assembleInScratch() : Buffer.concat(this.parts, this.size);
    this.resetContent();
    return FinishResult.Emit;
  }

  /**
   * Copies the pieces into the scratch buffer shared by every demuxer of the process (frames are
   * handed to synchronous sinks one at a time); the result is valid until the next frame anywhere.
   */
  private assembleInScratch(): Buffer {
    if (scratch.length < this.size) {
      let n = scratch.length;
      while (n < this.size) n *= 2;
      scratch = Buffer.allocUnsafeSlow(n);
    }
    let o = 0;
    for (const p of this.parts) o += p.copy(scratch, o);
    return scratch.subarray(0, o);
  }

  /** Incremental NAL header scan over one piece. */
  private scan(buf: Buffer, start: number, end: number): void {
    let i = start;
    while (i < end) {
      if (this.hdrNeed === 0 && this.zeros === 0) {
        const z = buf.indexOf(0, i);
        if (z < 0 || z >= end) return;
        i = z;
      }
      const b = buf[i++];
      if (this.hdrNeed > 0) {
        this.hdr[this.hdrGot++] = b;
        if (--this.hdrNeed === 0) {
          this.onNal();
          if (this.scanDone) return;
        }
      }
      if (b === 0) {
        this.zeros++;
      } else {
        if (b === 1 && this.zeros >= 2) {
          this.hdrNeed = 3;
          this.hdrGot = 0;
        }
        this.zeros = 0;
      }
    }
  }

  private onNal(): void {
    const b0 = this.hdr[0];
    const b1 = this.hdr[1];
    const n = this.nalCount++;
    this.nals[n * 3] = b0;
    this.nals[n * 3 + 1] = b1;
    this.nals[n * 3 + 2] = this.hdr[2];
    if (isH264SpsHeader(b0, b1)) this.evidence264 = true;
    else if (isH265ParameterSetHeader(b0, b1)) this.evidence265 = true;
    if (this.evidence264 !== this.evidence265) this.sniffed = this.evidence264 ? 'h264' : 'h265';
    const codec = this.codecGuess;
    if (codec && (b0 & 0x80) === 0 && isVclNal(codec, b0)) {
      this.vclSeen = true;
      this.scanDone = true;
    }
    if (this.nalCount >= MAX_RECORDED_NALS) this.scanDone = true;
  }
}
