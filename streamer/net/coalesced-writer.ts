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
}

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

  /** Writes everything gathered now, as one buffer. */
  flush(): void {
    if (this.#bytes === 0) return;
    const parts = this.#parts;
    const buf = parts.length === 1 ? parts[0] : Buffer.concat(parts, this.#bytes);
    this.#parts = [];
    this.#bytes = 0;
    this.#scheduler.cancel(this);
    this.#target.write(buf);
  }

  /** Drops what was gathered (the connection is going away). */
  discard(): void {
    this.#parts = [];
    this.#bytes = 0;
    this.#scheduler.cancel(this);
  }
}
