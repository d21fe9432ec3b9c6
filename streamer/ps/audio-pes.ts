/**
 * Audio PES payloads → audio frames.
 * G.711 (A-law/µ-law, 8 kHz mono, one byte per sample): each PES payload is one frame.
 * AAC: the PES holds ADTS frames; each becomes a frame, the PTS advancing 1024 samples per frame.
 * An ADTS frame cut by the end of a PES is completed from the next one.
 */
import { AAC_FRAME_SAMPLES, newAdtsHeader, readAdtsHeader } from '../../common/codec/aac-adts.ts';
import type { AdtsHeader } from '../../common/codec/aac-adts.ts';
import type { AudioCodec } from '../../common/codec/frame.ts';

/**
 * Length of the ADTS frame at b[p] (header included), with its header read into `h`; 0 when no
 * valid header, or one with no payload after it, is there.
 */
function adtsFrameLength(b: Uint8Array, p: number, end: number, h: AdtsHeader): number {
  return readAdtsHeader(b, p, h, end) && h.frameLength > h.headerLength ? h.frameLength : 0;
}

/** True when buf[s, e) is a whole number of ADTS frames (a confident AAC sniff). */
function looksLikeAdts(b: Uint8Array, s: number, e: number, h: AdtsHeader): boolean {
  let p = s;
  let frames = 0;
  while (p < e) {
    const len = adtsFrameLength(b, p, e, h);
    if (len === 0) return false;
    p += len;
    frames++;
  }
  return frames > 0 && p === e;
}

/** G.711 duration of n bytes in 90 kHz ticks (8000 samples/s). */
export function g711Ticks(bytes: number): number {
  return (bytes * 90000) / 8000;
}

export type AudioFrameSink = (codec: AudioCodec, pts: number, data: Buffer, duration: number) => void;

export class AudioPesAssembler {
  /** Largest audio PES accepted (a PES cannot exceed 64 KiB, but the MPEG-1 path and carries add a bit). */
  static readonly MAX_BYTES = 0x20000;

  active = false;
  /** Unwrapped PTS of the PES, or -1. */
  pts = -1;
  size = 0;
  private readonly parts: Buffer[] = [];
  private carry: Buffer | null = null;
  /** PTS of the carried (incomplete) ADTS frame. */
  private carryPts = -1;
  /** Frames whose ADTS structure was broken (counted as malformed by the demuxer). */
  badAdts = 0;
  /** The ADTS header last read, reused for every frame. */
  private readonly adts = newAdtsHeader();

  begin(pts: number): void {
    this.active = true;
    this.pts = pts;
    this.parts.length = 0;
    this.size = 0;
  }

  append(buf: Buffer, start: number, end: number): boolean {
    if (!this.active) return true;
    if (this.size + end - start > AudioPesAssembler.MAX_BYTES) {
      this.drop();
      return false;
    }
    this.parts.push(start === 0 && end === buf.length ? buf : buf.subarray(start, end));
    this.size += end - start;
    return true;
  }

  /** Forgets the PES in progress and any partial ADTS frame. Returns true when something was lost. */
  drop(): boolean {
    const had = this.active && this.size > 0;
    this.active = false;
    this.parts.length = 0;
    this.size = 0;
    this.carry = null;
    return had;
  }

  /** The payload as one buffer: the one allocation per PES (never a view of the input, see video-au). */
  private joined(): Buffer {
    if (this.carry) {
      const all = Buffer.concat([this.carry, ...this.parts], this.carry.length + this.size);
      this.carry = null;
      return all;
    }
    return Buffer.concat(this.parts, this.size);
  }

  /** Does the PES start with an ADTS header (or continue a cut ADTS frame)? */
  startsWithAdts(): boolean {
    if (this.carry) return true;
    const p = this.parts[0];
    return p !== undefined && adtsFrameLength(p, 0, p.length, this.adts) > 0;
  }

  /** Is this PES a whole number of ADTS frames (for sniffing a stream without PSM)? */
  isAdts(): boolean {
    if (this.carry || this.size === 0) return false;
    const data = this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts, this.size);
    return looksLikeAdts(data, 0, data.length, this.adts);
  }

  /**
   * Ends the PES and emits its frames. `pts` is the PES time on the output time line (or the
   * expected continuation when the PES had none). Returns the number of frames emitted.
   */
  finish(codec: AudioCodec, pts: number, sink: AudioFrameSink): number {
    if (!this.active) return 0;
    this.active = false;
    if (this.size === 0 && !this.carry) return 0;
    if (codec !== 'aac') {
      const data = this.joined();
      this.parts.length = 0;
      sink(codec, pts, data, g711Ticks(data.length));
      return 1;
    }
    const carried = this.carry ? this.carry.length : 0;
    const carryPts = this.carryPts;
    const data = this.joined();
    this.parts.length = 0;
    let p = 0;
    let n = 0;
    // Frames starting in this PES: the PES time stamp is the first one's; each adds 1024 samples.
    let k = 0;
    let ticks = 0;
    let resynced = false;
    while (p < data.length) {
      const len = adtsFrameLength(data, p, data.length, this.adts);
      if (len === 0) {
        if (p + 7 > data.length && data[p] === 0xff) break; // a header cut short: carry it
        // Not a header: look for the next syncword.
        if (!resynced) this.badAdts++;
        resynced = true;
        p++;
        while (p < data.length && !(data[p] === 0xff && (p + 1 >= data.length || (data[p + 1] & 0xf6) === 0xf0))) p++;
        continue;
      }
      if (p + len > data.length) break;
      ticks = (AAC_FRAME_SAMPLES * 90000) / this.adts.sampleRate;
      let t: number;
      if (p < carried) {
        t = carryPts;
      } else {
        t = pts + Math.round(k * ticks);
        k++;
      }
      sink('aac', t, data.subarray(p, p + len), ticks);
      n++;
      p += len;
    }
    const t = pts + Math.round(k * (ticks || 2089.8));
    if (p < data.length) {
      if (data.length - p <= 0x2000) {
        this.carry = Buffer.from(data.subarray(p));
        this.carryPts = carried > p ? carryPts : t;
      } else {
        this.badAdts++;
      }
    }
    return n;
  }
}
