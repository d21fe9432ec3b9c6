/**
 * MPEG timestamps are 33-bit counts of a 90 kHz clock: they wrap every 26.5 hours. The frames we
 * emit carry them unwrapped, as numbers that keep growing (a double holds 2^53 exactly).
 */

export const TS_WRAP = 2 ** 33;
const HALF = 2 ** 32;

/**
 * Unwraps 33-bit values seen in stream order: each value is placed at the signed distance (modulo
 * 2^33) from the previous one, so a wrap adds 2^33 while a backward step (B-frame PTS, a small clock
 * correction) stays a backward step.
 */
export class TimestampUnwrapper {
  private lastRaw = -1;
  private last = 0;

  unwrap(raw: number): number {
    if (this.lastRaw < 0) {
      this.lastRaw = raw;
      this.last = raw;
      return raw;
    }
    let d = raw - this.lastRaw;
    if (d >= HALF) d -= TS_WRAP;
    else if (d < -HALF) d += TS_WRAP;
    this.lastRaw = raw;
    this.last += d;
    return this.last;
  }

  reset(): void {
    this.lastRaw = -1;
  }
}

export interface TimelineOptions {
  /** A forward DTS step larger than this (ticks) is a discontinuity. */
  maxForwardJump: number;
  /** A backward DTS step larger than this (ticks) is a discontinuity. */
  maxBackwardJump: number;
  /** Frame duration assumed before one is measured (ticks). */
  defaultDuration: number;
}

/**
 * The output time line of one track. It passes timestamps through, except across a discontinuity
 * (the device's clock jumped, or one PES carried a stray time stamp): there it shifts the track so
 * that the next frame follows the previous one by one frame duration, and keeps that shift for the
 * frames after it. Without this, one bad time stamp would put a jump of hours into the RTMP output.
 */
export class TrackTimeline {
  private readonly opts: TimelineOptions;
  private offset = 0;
  private lastDts = Number.NaN;
  /** Measured or given duration of a frame. */
  duration: number;
  /** Discontinuities corrected so far. */
  jumps = 0;
  /** Results of map(). */
  pts = 0;
  dts = 0;

  constructor(opts: TimelineOptions) {
    this.opts = opts;
    this.duration = opts.defaultDuration;
  }

  get started(): boolean {
    return !Number.isNaN(this.lastDts);
  }

  /** Expected DTS of the next frame. */
  get next(): number {
    return this.lastDts + this.duration;
  }

  /**
   * Maps an unwrapped PTS/DTS pair (dts may equal pts) to the output time line; read the result
   * from `pts` and `dts`. `measure` lets the step from the previous frame become the duration guess.
   */
  map(pts: number, dts: number, measure: boolean): void {
    let o = dts + this.offset;
    if (this.started) {
      const delta = o - this.lastDts;
      if (delta > this.opts.maxForwardJump || delta < -this.opts.maxBackwardJump) {
        const target = this.lastDts + this.duration;
        this.offset += target - o;
        o = target;
        this.jumps++;
      } else if (measure && delta > 0 && delta <= 90000) {
        this.duration = delta;
      }
    }
    this.dts = o;
    this.pts = pts + this.offset;
    this.lastDts = o;
  }

  /** Records the last frame actually emitted (several audio frames may follow one mapped PES). */
  setLast(dts: number, duration: number): void {
    this.lastDts = dts;
    if (duration > 0) this.duration = duration;
  }

  /** A frame without time stamps: it follows the previous one (or starts at 0). */
  synthesize(): void {
    const t = this.started ? this.next : 0;
    this.pts = t;
    this.dts = t;
    this.lastDts = t;
  }
}
