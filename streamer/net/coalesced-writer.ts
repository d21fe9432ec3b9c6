/**
 * Fewer, larger socket writes.
 *
 * Every socket write costs a trip through Node's stream machinery and a system call, which for
 * small RTMP messages (a 20 ms G.711 frame is 160 bytes) costs far more than the bytes. A
 * CoalescedWriter gathers what one connection sends and writes it as one buffer per flush; a
 * FlushScheduler flushes all of its writers together after a short delay (or at the end of the
 * current turn of the event loop with a delay of 0), with a single timer.
 */

export interface WriteTarget {
  write(chunk: Buffer): boolean;
  cork(): void;
  uncork(): void;
}

/**
 * Above this many bytes a flush is written as the gathered pieces (one writev) instead of being
 * copied into one new buffer: copying a keyframe into fresh memory costs more than the write saves.
 */
const COPY_LIMIT = 64 * 1024;

export class FlushScheduler {
  readonly delayMs: number;
  #due = new Set<CoalescedWriter>();
  #armed = false;
  readonly #run = () => {
    this.#armed = false;
    const due = this.#due;
    this.#due = new Set();
    for (const w of due) w.flush();
  };

  constructor(delayMs: number) {
    this.delayMs = delayMs;
  }

  schedule(writer: CoalescedWriter): void {
    this.#due.add(writer);
    if (this.#armed) return;
    this.#armed = true;
    if (this.delayMs > 0) setTimeout(this.#run, this.delayMs).unref();
    else setImmediate(this.#run).unref();
  }

  cancel(writer: CoalescedWriter): void {
    this.#due.delete(writer);
  }
}

const schedulers = new Map<number, FlushScheduler>();

/** The process-wide scheduler for a delay, so every connection with that delay shares one timer. */
export function flushSchedulerFor(delayMs: number): FlushScheduler {
  let s = schedulers.get(delayMs);
  if (!s) {
    s = new FlushScheduler(delayMs);
    schedulers.set(delayMs, s);
  }
  return s;
}

export class CoalescedWriter {
  readonly #target: WriteTarget;
  readonly #scheduler: FlushScheduler;
  #parts: Buffer[] = [];
  #bytes = 0;

  constructor(target: WriteTarget, scheduler: FlushScheduler) {
    this.#target = target;
    this.#scheduler = scheduler;
  }

  /** Bytes gathered and not yet handed to the socket. */
  get pendingBytes(): number {
    return this.#bytes;
  }

  /** Queues `chunk` (kept by reference: do not change it afterwards) for the next flush. */
  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    if (this.#bytes === 0) this.#scheduler.schedule(this);
    this.#parts.push(chunk);
    this.#bytes += chunk.length;
  }

  /** Writes everything gathered now: one buffer, or one writev of the pieces when they are large. */
  flush(): void {
    const bytes = this.#bytes;
    if (bytes === 0) return;
    const parts = this.#parts;
    this.#parts = [];
    this.#bytes = 0;
    this.#scheduler.cancel(this);
    const target = this.#target;
    if (parts.length === 1) {
      target.write(parts[0]);
    } else if (bytes <= COPY_LIMIT) {
      target.write(Buffer.concat(parts, bytes));
    } else {
      target.cork();
      for (const p of parts) target.write(p);
      target.uncork();
    }
  }

  /** Drops what was gathered (the connection is going away). */
  discard(): void {
    this.#parts = [];
    this.#bytes = 0;
    this.#scheduler.cancel(this);
  }
}
