/**
 * FrameScheduler: one timer for all real-time streams of a process. Each stream asks to be woken at
 * a wall-clock time (performance.now() milliseconds); the scheduler keeps the requests in a binary
 * min-heap and arms a single setTimeout for the earliest. When it fires, every request due within
 * `coalesceMs` runs in the same callback, so 200 streams at 25 fps cost a few hundred timer
 * firings per second rather than 5,000 timer objects.
 *
 * A task is an object with a `tick(now)` method, so scheduling allocates nothing; a task may be in
 * the heap at most once (scheduling it again moves it). Cancelling removes it.
 */
import { performance } from 'node:perf_hooks';

export interface ScheduledTask {
  tick(now: number): void;
}

interface Entry {
  due: number;
  task: ScheduledTask;
}

export class FrameScheduler {
  private readonly heap: Entry[] = [];
  private readonly index = new Map<ScheduledTask, Entry>();
  private timer: NodeJS.Timeout | undefined;
  private armedFor = Infinity;
  private firing = false;
  /** Requests due within this many ms of a firing run in it. */
  readonly coalesceMs: number;
  /** Timer callbacks so far (for benchmarks). */
  firings = 0;

  private readonly onError: (err: unknown) => void;

  /**
   * `onError` receives what a tick() throws (the other tasks still run); by default it is rethrown
   * from a microtask, so a bug is not swallowed.
   */
  constructor(coalesceMs = 2, onError?: (err: unknown) => void) {
    this.coalesceMs = coalesceMs;
    this.onError =
      onError ??
      ((err) =>
        queueMicrotask(() => {
          throw err;
        }));
  }

  get size(): number {
    return this.heap.length;
  }

  /** Wake `task` at `due` (performance.now() ms). Replaces an earlier request of the same task. */
  schedule(task: ScheduledTask, due: number): void {
    const existing = this.index.get(task);
    if (existing) this.remove(existing);
    const entry = { due, task };
    this.index.set(task, entry);
    this.push(entry);
    this.arm();
  }

  cancel(task: ScheduledTask): void {
    const entry = this.index.get(task);
    if (entry) {
      this.remove(entry);
      this.index.delete(task);
    }
    if (this.heap.length === 0) this.disarm();
  }

  private arm(): void {
    const top = this.heap[0];
    if (this.firing || !top || top.due >= this.armedFor) return;
    this.disarm();
    this.armedFor = top.due;
    // Whole milliseconds: Node keeps one timer list per distinct duration, and an early firing is
    // absorbed by the coalescing window anyway.
    this.timer = setTimeout(this.fire, Math.max(1, Math.round(top.due - performance.now())));
  }

  private disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.armedFor = Infinity;
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    this.armedFor = Infinity;
    this.firings++;
    const now = performance.now();
    const limit = now + this.coalesceMs;
    this.firing = true;
    // Tasks usually reschedule themselves from tick(); those land later than `limit` and wait.
    while (this.heap.length > 0 && this.heap[0].due <= limit) {
      const entry = this.popTop();
      this.index.delete(entry.task);
      try {
        entry.task.tick(now);
      } catch (err) {
        // A failing stream must not stop the others.
        this.onError(err);
      }
    }
    this.firing = false;
    this.arm();
  };

  // Binary heap on `due`, with positions found by identity (removal is rare: stop or reschedule).
  private push(e: Entry): void {
    const h = this.heap;
    h.push(e);
    this.up(h.length - 1);
  }

  private popTop(): Entry {
    const h = this.heap;
    const top = h[0];
    const last = h.pop() as Entry;
    if (h.length > 0) {
      h[0] = last;
      this.down(0);
    }
    return top;
  }

  private remove(e: Entry): void {
    const h = this.heap;
    const i = h.indexOf(e);
    if (i < 0) return;
    const last = h.pop() as Entry;
    if (i < h.length) {
      h[i] = last;
      this.down(i);
      this.up(i);
    }
  }

  private up(i: number): void {
    const h = this.heap;
    const e = h[i];
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p].due <= e.due) break;
      h[i] = h[p];
      i = p;
    }
    h[i] = e;
  }

  private down(i: number): void {
    const h = this.heap;
    const n = h.length;
    const e = h[i];
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && h[c + 1].due < h[c].due) c++;
      if (h[c].due >= e.due) break;
      h[i] = h[c];
      i = c;
    }
    h[i] = e;
  }
}

/** The process-wide scheduler real-time streams use unless given another. */
export const sharedScheduler = new FrameScheduler();
