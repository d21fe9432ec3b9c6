/**
 * A binary min-heap of (time, key) pairs in two parallel arrays (no object per entry), ordered by
 * time, then key, as Redis orders a sorted set by score, then member. Entries are never updated or
 * removed in place: owners push a new entry and skip stale ones when they pop (lazy deletion),
 * and rebuild the heap when stale entries outnumber live ones.
 */
export class DeadlineHeap {
  #times: number[] = [];
  #keys: string[] = [];

  get size(): number {
    return this.#times.length;
  }

  /** Time of the earliest entry (Infinity when empty). */
  peekTime(): number {
    return this.#times.length > 0 ? this.#times[0] : Infinity;
  }

  peekKey(): string | undefined {
    return this.#keys[0];
  }

  push(time: number, key: string): void {
    const times = this.#times;
    const keys = this.#keys;
    let i = times.length;
    times.push(time);
    keys.push(key);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(time, key, times[parent], keys[parent])) break;
      times[i] = times[parent];
      keys[i] = keys[parent];
      i = parent;
    }
    times[i] = time;
    keys[i] = key;
  }

  /** Removes the earliest entry (call peekTime/peekKey first to read it). */
  pop(): void {
    const times = this.#times;
    const keys = this.#keys;
    const lastTime = times.pop();
    const lastKey = keys.pop();
    const n = times.length;
    if (n === 0 || lastTime === undefined || lastKey === undefined) return;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && before(times[right], keys[right], times[left], keys[left]) ? right : left;
      if (!before(times[child], keys[child], lastTime, lastKey)) break;
      times[i] = times[child];
      keys[i] = keys[child];
      i = child;
    }
    times[i] = lastTime;
    keys[i] = lastKey;
  }

  /** Replaces the content with `entries` (used to drop stale entries). */
  rebuild(entries: Iterable<[key: string, time: number]>): void {
    this.#times = [];
    this.#keys = [];
    for (const [key, time] of entries) this.push(time, key);
  }

  clear(): void {
    this.#times = [];
    this.#keys = [];
  }
}

function before(timeA: number, keyA: string, timeB: number, keyB: string): boolean {
  return timeA < timeB || (timeA === timeB && keyA < keyB);
}
