/**
 * A sorted set of strings kept as a list of sorted blocks (at most 512 each): adding costs a
 * binary search and a short splice even at 100k members, and listing after a cursor starts at a
 * binary search instead of sorting. Order is JavaScript's string order, which is Redis's byte
 * order for ASCII (device ids are digits).
 */
const blockMax = 512;

export class SortedStrings {
  readonly #blocks: string[][] = [];
  #size = 0;

  get size(): number {
    return this.#size;
  }

  /** Adds `value`; false when it was there. */
  add(value: string): boolean {
    const blocks = this.#blocks;
    if (blocks.length === 0) {
      blocks.push([value]);
      this.#size = 1;
      return true;
    }
    // The first block whose last member is ≥ value, else the last block.
    const b = Math.min(this.#blockFor(value), blocks.length - 1);
    const block = blocks[b];
    const i = lowerBound(block, value);
    if (block[i] === value) return false;
    block.splice(i, 0, value);
    this.#size++;
    if (block.length > blockMax) blocks.splice(b + 1, 0, block.splice(blockMax >> 1));
    return true;
  }

  /** Up to `limit` members strictly after `after` (from the first when undefined), in order. */
  after(after: string | undefined, limit: number): string[] {
    const out: string[] = [];
    const blocks = this.#blocks;
    let b = after === undefined ? 0 : this.#blockFor(after);
    let i = after === undefined || b >= blocks.length ? 0 : upperBound(blocks[b], after);
    for (; b < blocks.length && out.length < limit; b++, i = 0) {
      const block = blocks[b];
      for (; i < block.length && out.length < limit; i++) out.push(block[i]);
    }
    return out;
  }

  /** Index of the first block whose last member is ≥ value (blocks.length when none). */
  #blockFor(value: string): number {
    const blocks = this.#blocks;
    let lo = 0;
    let hi = blocks.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const block = blocks[mid];
      if (block[block.length - 1] < value) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** First index whose member is ≥ value. */
function lowerBound(a: string[], value: string): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index whose member is > value. */
function upperBound(a: string[], value: string): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid] <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
