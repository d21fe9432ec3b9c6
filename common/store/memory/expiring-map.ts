/**
 * A map whose entries may expire, like Redis keys with a TTL: an expired entry is invisible at
 * once (lazy expiry) and its memory is freed by `purge()`, which the backend calls on a timer and
 * which pops only the expired entries off a deadline heap (no scan of the whole map).
 */
import { DeadlineHeap } from './deadline-heap.ts';

interface Entry<V> {
  value: V;
  /** ms timestamp; Infinity when the entry does not expire. */
  expiresAt: number;
}

export class ExpiringMap<V> {
  readonly #entries = new Map<string, Entry<V>>();
  readonly #heap = new DeadlineHeap();
  readonly #now: () => number;

  constructor(now: () => number) {
    this.#now = now;
  }

  /** Entries held, including expired ones not purged yet. */
  get size(): number {
    return this.#entries.size;
  }

  get heapSize(): number {
    return this.#heap.size;
  }

  get(key: string): V | undefined {
    return this.#live(key)?.value;
  }

  has(key: string): boolean {
    return this.#live(key) !== undefined;
  }

  /** Sets the value; `ttlMs` undefined means no expiry (like SET without EX, it drops an old TTL). */
  set(key: string, value: V, ttlMs?: number): void {
    const expiresAt = ttlMs === undefined ? Infinity : this.#now() + ttlMs;
    this.#entries.set(key, { value, expiresAt });
    if (expiresAt !== Infinity) this.#pushDeadline(expiresAt, key);
  }

  /** Sets the value only when the key is absent (SET NX); true when it did. */
  setIfAbsent(key: string, value: V, ttlMs?: number): boolean {
    if (this.#live(key)) return false;
    this.set(key, value, ttlMs);
    return true;
  }

  /** Gives an entry without expiry one of `ttlMs` (PEXPIRE NX); false when absent or already expiring. */
  expireIfPersistent(key: string, ttlMs: number): boolean {
    const entry = this.#live(key);
    if (!entry || entry.expiresAt !== Infinity) return false;
    entry.expiresAt = this.#now() + ttlMs;
    this.#pushDeadline(entry.expiresAt, key);
    return true;
  }

  /** Replaces the value and keeps the entry's expiry (as INCR does); a new entry does not expire. */
  update(key: string, value: V): void {
    const entry = this.#live(key);
    if (entry) entry.value = value;
    else this.#entries.set(key, { value, expiresAt: Infinity });
  }

  delete(key: string): boolean {
    return this.#live(key) !== undefined && this.#entries.delete(key);
  }

  /** Live entries (expired ones are skipped). */
  *entries(): IterableIterator<[string, V]> {
    const now = this.#now();
    for (const [key, entry] of this.#entries) if (entry.expiresAt > now) yield [key, entry.value];
  }

  /** Frees expired entries. */
  purge(): void {
    const now = this.#now();
    const heap = this.#heap;
    while (heap.size > 0 && heap.peekTime() <= now) {
      const time = heap.peekTime();
      const key = heap.peekKey()!;
      heap.pop();
      if (this.#entries.get(key)?.expiresAt === time) this.#entries.delete(key);
    }
  }

  #live(key: string): Entry<V> | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt > this.#now()) return entry;
    this.#entries.delete(key);
    return undefined;
  }

  #pushDeadline(expiresAt: number, key: string): void {
    this.#heap.push(expiresAt, key);
    if (this.#heap.size > 2 * this.#entries.size + 1024) {
      const live: [string, number][] = [];
      for (const [k, e] of this.#entries) if (e.expiresAt !== Infinity) live.push([k, e.expiresAt]);
      this.#heap.rebuild(live);
    }
  }
}
