/**
 * A schedule (member → time) with Redis sorted-set semantics for what the stores need: set or move
 * a member, remove it, and take the due ones earliest first. A take pops the heap instead of
 * scanning every member, so sweeping 100k devices' presence costs only the due ones.
 */
import { DeadlineHeap } from './deadline-heap.ts';

export class Schedule {
  readonly #times = new Map<string, number>();
  readonly #heap = new DeadlineHeap();

  get size(): number {
    return this.#times.size;
  }

  /** Heap entries, live and stale (for the memory-bound checks). */
  get heapSize(): number {
    return this.#heap.size;
  }

  get(member: string): number | undefined {
    return this.#times.get(member);
  }

  set(member: string, time: number): void {
    if (this.#times.get(member) === time) return;
    this.#times.set(member, time);
    this.#heap.push(time, member);
    this.#compactIfStale();
  }

  delete(member: string): boolean {
    const had = this.#times.delete(member);
    if (had) this.#compactIfStale();
    return had;
  }

  /** Removes and returns up to `limit` members whose time is ≤ now, earliest first. */
  takeDue(now: number, limit: number): string[] {
    const out: string[] = [];
    const heap = this.#heap;
    while (out.length < limit && heap.size > 0 && heap.peekTime() <= now) {
      const time = heap.peekTime();
      const member = heap.peekKey()!;
      heap.pop();
      if (this.#times.get(member) !== time) continue; // moved or removed since this entry was pushed
      this.#times.delete(member);
      out.push(member);
    }
    return out;
  }

  /**
   * Returns up to `limit` members whose time is ≤ now, earliest first, and moves each to `nextAt`
   * (a lease: they stay scheduled).
   */
  claimDue(now: number, nextAt: number, limit: number): string[] {
    const due = this.takeDue(now, limit);
    for (const member of due) this.set(member, nextAt);
    return due;
  }

  members(): string[] {
    return [...this.#times.keys()];
  }

  #compactIfStale(): void {
    if (this.#heap.size > 2 * this.#times.size + 1024) this.#heap.rebuild(this.#times);
  }
}
