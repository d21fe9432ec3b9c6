/**
 * Sequence-number handling for RTP (16-bit numbers that wrap).
 *
 * ReorderBuffer (UDP): packets in order pass straight through; a packet that arrives early is held
 * in a small window until the gap before it fills, the window overflows, or it has been held for
 * maxHoldMs; then the gap is declared lost (`loss(count)`) and delivery resumes in order.
 * Duplicates and packets older than the delivery point are dropped and counted. A jump of more
 * than `resetDistance` (a restarted sender) resets the sequence state instead of declaring
 * thousands of packets lost; it takes two consecutive packets of the new sequence to confirm it,
 * so a single stray packet cannot derail the stream.
 *
 * SequenceGapDetector (TCP, which needs no reordering): the same gap, duplicate and reset logic
 * without a window.
 */

export interface ReorderSink<T> {
  /** Called in sequence order. */
  deliver(item: T, sequence: number): void;
  /** `count` packets before the next delivered one are missing and will not be delivered. */
  loss(count: number): void;
  /** The sender restarted its sequence: what follows is not continuous with what came before. */
  reset?(): void;
}

export interface ReorderOptions {
  /** Packets that can be held behind a gap. Default 64. */
  window?: number;
  /** Longest time a packet waits for an earlier one, in ms of `now()`. Default 100. */
  maxHoldMs?: number;
  /** A sequence jump larger than this is a restart, not a loss. Default 3000. */
  resetDistance?: number;
  /** Clock in milliseconds. Default performance.now. */
  now?: () => number;
}

export interface SequenceStats {
  /** Packets handed on. */
  delivered: number;
  /** Packets that arrived after one with a higher sequence number and were still delivered. */
  reordered: number;
  /** Packets declared missing. */
  lost: number;
  /** Packets received twice. */
  duplicates: number;
  /** Packets that arrived after their place was declared lost (and strays from another sequence). */
  late: number;
  /** Sequence restarts. */
  resets: number;
}

function newStats(): SequenceStats {
  return { delivered: 0, reordered: 0, lost: 0, duplicates: 0, late: 0, resets: 0 };
}

/** a - b as a signed 16-bit distance. */
function seqDistance(a: number, b: number): number {
  return ((a - b + 0x8000) & 0xffff) - 0x8000;
}

const RECENT = 1024;

export class ReorderBuffer<T> {
  readonly stats: SequenceStats = newStats();

  private readonly sink: ReorderSink<T>;
  private readonly window: number;
  private readonly mask: number;
  private readonly maxHoldMs: number;
  private readonly resetDistance: number;
  private readonly now: () => number;

  private started = false;
  /** Next sequence number to deliver. */
  private expected = 0;
  private held = 0;
  /** 1 + the largest distance from `expected` among held packets. */
  private span = 0;
  private readonly items: (T | undefined)[];
  private readonly present: Uint8Array;
  private readonly arrival: Float64Array;
  /** Arrival time of the longest-waiting held packet. */
  private waitSince = 0;
  /** Sequence numbers recently delivered, to tell a duplicate from a late packet. */
  private readonly recent = new Int32Array(RECENT).fill(-1);
  /** A far-away packet waiting for a second one to confirm a restart. */
  private jumpSeq = -1;
  private jumpItem: T | undefined = undefined;

  constructor(sink: ReorderSink<T>, opts: ReorderOptions = {}) {
    this.sink = sink;
    const window = Math.max(1, Math.min(opts.window ?? 64, 0x4000));
    let size = 1;
    while (size < window + 1) size <<= 1;
    this.window = window;
    this.mask = size - 1;
    this.maxHoldMs = opts.maxHoldMs ?? 100;
    this.resetDistance = opts.resetDistance ?? 3000;
    this.now = opts.now ?? (() => performance.now());
    this.items = new Array<T | undefined>(size).fill(undefined);
    this.present = new Uint8Array(size);
    this.arrival = new Float64Array(size);
  }

  /** Packets currently held. */
  get heldCount(): number {
    return this.held;
  }

  /** Next sequence number the buffer waits for (meaningful after the first packet). */
  get nextSequence(): number {
    return this.expected;
  }

  /**
   * The common case without an item: when `sequence` is the next one and nothing is held, it is
   * counted as delivered and true is returned; the caller handles the packet itself (the sink is
   * not called). Otherwise nothing changes and the caller pushes it. Lets a caller avoid making a
   * holdable item for the packets that are never held.
   */
  acceptInOrder(sequence: number): boolean {
    const seq = sequence & 0xffff;
    if (this.held !== 0 || (this.started && seq !== this.expected)) return false;
    this.started = true;
    if (this.jumpSeq >= 0) this.dropJump();
    this.recent[seq & (RECENT - 1)] = seq;
    this.stats.delivered++;
    this.expected = (seq + 1) & 0xffff;
    return true;
  }

  push(sequence: number, item: T): void {
    const seq = sequence & 0xffff;
    if (this.acceptInOrder(seq)) {
      this.sink.deliver(item, seq);
      return;
    }
    let d = seqDistance(seq, this.expected);
    if (d > this.resetDistance || d < -this.resetDistance) {
      this.farJump(seq, item);
      return;
    }
    if (this.jumpSeq >= 0) this.dropJump();
    if (d < 0) {
      if (-d <= RECENT && this.recent[seq & (RECENT - 1)] === seq) this.stats.duplicates++;
      else this.stats.late++;
      return;
    }
    if (d > this.window) {
      this.skipTo((seq - this.window) & 0xffff);
      d = seqDistance(seq, this.expected);
    }
    if (d === 0) {
      if (this.held > 0) this.stats.reordered++;
      this.deliver(seq, item);
      this.expected = (seq + 1) & 0xffff;
      if (this.span > 0) this.span--;
      this.drain();
      if (this.held > 0) this.checkTimeouts();
      return;
    }
    const idx = seq & this.mask;
    if (this.present[idx]) {
      this.stats.duplicates++;
      return;
    }
    const t = this.now();
    if (this.held === 0) this.waitSince = t;
    this.items[idx] = item;
    this.present[idx] = 1;
    this.arrival[idx] = t;
    this.held++;
    if (d >= this.span) this.span = d + 1;
    else this.stats.reordered++;
    this.checkTimeouts(t);
  }

  /** Releases packets held longer than maxHoldMs; call it from a timer while heldCount > 0. */
  poll(): void {
    if (this.held > 0) this.checkTimeouts();
  }

  /** Milliseconds until poll() would release something, or -1 when nothing is held. */
  msUntilTimeout(): number {
    if (this.held === 0) return -1;
    return Math.max(0, this.waitSince + this.maxHoldMs - this.now());
  }

  /** Delivers everything held, declaring the gaps lost (end of stream). */
  flush(): void {
    if (this.held > 0) this.skipTo((this.expected + this.span) & 0xffff);
  }

  private deliver(seq: number, item: T): void {
    this.recent[seq & (RECENT - 1)] = seq;
    this.stats.delivered++;
    this.sink.deliver(item, seq);
  }

  /** Delivers the contiguous run of held packets starting at `expected`. */
  private drain(): void {
    while (this.held > 0) {
      const idx = this.expected & this.mask;
      if (!this.present[idx]) return;
      const item = this.items[idx] as T;
      this.items[idx] = undefined;
      this.present[idx] = 0;
      this.held--;
      const seq = this.expected;
      this.expected = (seq + 1) & 0xffff;
      this.span--;
      this.deliver(seq, item);
    }
    if (this.held === 0) this.span = 0;
  }

  /** Moves the delivery point to `target`: held packets before it are delivered, gaps declared lost. */
  private skipTo(target: number): void {
    let missing = 0;
    while (this.expected !== target) {
      const idx = this.expected & this.mask;
      const seq = this.expected;
      this.expected = (seq + 1) & 0xffff;
      if (this.span > 0) this.span--;
      if (this.present[idx]) {
        if (missing > 0) this.declareLost(missing);
        missing = 0;
        const item = this.items[idx] as T;
        this.items[idx] = undefined;
        this.present[idx] = 0;
        this.held--;
        this.deliver(seq, item);
      } else {
        missing++;
      }
    }
    if (this.held === 0) this.span = 0;
    if (missing > 0) this.declareLost(missing);
    this.drain();
    if (this.held > 0) this.waitSince = this.oldestArrival();
  }

  private declareLost(count: number): void {
    this.stats.lost += count;
    this.sink.loss(count);
  }

  private checkTimeouts(now: number = this.now()): void {
    while (this.held > 0 && now - this.waitSince >= this.maxHoldMs) {
      // Skip the gap in front of the first held packet.
      let d = 1;
      while (d < this.span && !this.present[(this.expected + d) & this.mask]) d++;
      this.skipTo((this.expected + d) & 0xffff);
    }
  }

  private oldestArrival(): number {
    let t = Infinity;
    for (let d = 0; d < this.span; d++) {
      const idx = (this.expected + d) & this.mask;
      if (this.present[idx] && this.arrival[idx] < t) t = this.arrival[idx];
    }
    return t;
  }

  /** The far-away packet was a stray: the stream went on where it was. */
  private dropJump(): void {
    this.jumpSeq = -1;
    this.jumpItem = undefined;
    this.stats.late++;
  }

  private farJump(seq: number, item: T): void {
    if (this.jumpSeq >= 0) {
      const d = seqDistance(seq, this.jumpSeq);
      if (d > 0 && d <= this.window) {
        // Two packets agree on the new sequence: the sender restarted.
        const first = this.jumpSeq;
        const firstItem = this.jumpItem as T;
        this.jumpSeq = -1;
        this.jumpItem = undefined;
        this.flush();
        this.stats.resets++;
        this.sink.reset?.();
        this.expected = first;
        this.push(first, firstItem);
        this.push(seq, item);
        return;
      }
      this.stats.late++;
    }
    this.jumpSeq = seq;
    this.jumpItem = item;
  }
}

/**
 * Gap detection without reordering, for TCP: `check()` tells, for each packet in arrival order,
 * how many packets are missing before it, or -1 when it must be dropped (duplicate or old).
 */
export class SequenceGapDetector {
  readonly stats: SequenceStats = newStats();
  private readonly resetDistance: number;
  private started = false;
  private expected = 0;

  constructor(opts: { resetDistance?: number } = {}) {
    this.resetDistance = opts.resetDistance ?? 3000;
  }

  /** Returns 0 in order, n > 0 when n packets are missing before this one, -1 to drop it. */
  check(sequence: number): number {
    const seq = sequence & 0xffff;
    if (!this.started) {
      this.started = true;
      this.expected = (seq + 1) & 0xffff;
      this.stats.delivered++;
      return 0;
    }
    const d = seqDistance(seq, this.expected);
    if (d === 0) {
      this.expected = (seq + 1) & 0xffff;
      this.stats.delivered++;
      return 0;
    }
    if (d > this.resetDistance || d < -this.resetDistance) {
      this.stats.resets++;
      this.expected = (seq + 1) & 0xffff;
      this.stats.delivered++;
      return 0;
    }
    if (d < 0) {
      if (d === -1) this.stats.duplicates++;
      else this.stats.late++;
      return -1;
    }
    this.stats.lost += d;
    this.expected = (seq + 1) & 0xffff;
    this.stats.delivered++;
    return d;
  }
}
