/**
 * The unconsumed input of the demuxer: a short queue of views into the buffers it was given
 * (normally one or two RTP payloads). Nothing is copied, except a header that straddles two views,
 * which is gathered into a small scratch buffer so that header parsers always see contiguous bytes.
 */
const EMPTY = Buffer.alloc(0);

export class ByteQueue {
  // Parallel arrays used up to `tail`, reused rather than truncated: emptying a JS array by setting
  // its length frees its backing store, and this queue empties once per packet.
  private bufs: Buffer[] = [];
  private starts: number[] = [];
  private ends: number[] = [];
  private head = 0;
  private tail = 0;
  /** Unconsumed bytes in the queue. */
  length = 0;
  private scratch: Buffer = Buffer.alloc(256);

  /** Set by contiguous(): where the requested bytes are. */
  cbuf: Buffer = this.scratch;
  coff = 0;

  push(buf: Buffer, start: number, end: number): void {
    if (end <= start) return;
    if (this.head === this.tail) this.clear();
    const t = this.tail++;
    if (t === this.bufs.length) {
      this.bufs.push(buf);
      this.starts.push(start);
      this.ends.push(end);
    } else {
      this.bufs[t] = buf;
      this.starts[t] = start;
      this.ends[t] = end;
    }
    this.length += end - start;
  }

  clear(): void {
    // Drop the references so consumed input buffers can be collected.
    for (let k = 0; k < this.tail; k++) this.bufs[k] = EMPTY;
    this.head = 0;
    this.tail = 0;
    this.length = 0;
  }

  /** The first view with bytes left (only when length > 0). */
  get headBuf(): Buffer {
    return this.bufs[this.head];
  }
  get headStart(): number {
    return this.starts[this.head];
  }
  get headEnd(): number {
    return this.ends[this.head];
  }

  /** Consumes n bytes (at most length). */
  skip(n: number): void {
    if (n >= this.length) {
      this.clear();
      return;
    }
    this.length -= n;
    while (n > 0) {
      const left = this.ends[this.head] - this.starts[this.head];
      if (n < left) {
        this.starts[this.head] += n;
        return;
      }
      n -= left;
      this.head++;
    }
    if (this.head === this.tail) this.clear();
    else if (this.head > 32) this.compact();
  }

  private compact(): void {
    const n = this.tail - this.head;
    for (let k = 0; k < n; k++) {
      this.bufs[k] = this.bufs[this.head + k];
      this.starts[k] = this.starts[this.head + k];
      this.ends[k] = this.ends[this.head + k];
    }
    for (let k = n; k < this.tail; k++) this.bufs[k] = EMPTY;
    this.head = 0;
    this.tail = n;
  }

  /** The byte at logical offset i (i < length). */
  byteAt(i: number): number {
    for (let k = this.head; k < this.tail; k++) {
      const left = this.ends[k] - this.starts[k];
      if (i < left) return this.bufs[k][this.starts[k] + i];
      i -= left;
    }
    return -1;
  }

  /**
   * Makes the first n bytes (n <= length) addressable as cbuf[coff .. coff + n): a view of the first
   * buffer when they lie in it, otherwise a copy in the scratch buffer.
   */
  contiguous(n: number): void {
    const s = this.starts[this.head];
    if (this.ends[this.head] - s >= n) {
      this.cbuf = this.bufs[this.head];
      this.coff = s;
      return;
    }
    if (this.scratch.length < n) this.scratch = Buffer.alloc(Math.max(n, this.scratch.length * 2));
    let filled = 0;
    for (let k = this.head; filled < n; k++) {
      const take = Math.min(n - filled, this.ends[k] - this.starts[k]);
      this.bufs[k].copy(this.scratch, filled, this.starts[k], this.starts[k] + take);
      filled += take;
    }
    this.cbuf = this.scratch;
    this.coff = 0;
  }

  /**
   * Like contiguous(), for the n bytes at logical offset `at` (at + n <= length). Does not consume.
   */
  contiguousAt(at: number, n: number): void {
    let k = this.head;
    while (at >= this.ends[k] - this.starts[k]) {
      at -= this.ends[k] - this.starts[k];
      k++;
    }
    const s = this.starts[k] + at;
    if (this.ends[k] - s >= n) {
      this.cbuf = this.bufs[k];
      this.coff = s;
      return;
    }
    if (this.scratch.length < n) this.scratch = Buffer.alloc(Math.max(n, this.scratch.length * 2));
    let filled = 0;
    let from = s;
    for (; filled < n; k++) {
      const take = Math.min(n - filled, this.ends[k] - from);
      this.bufs[k].copy(this.scratch, filled, from, from + take);
      filled += take;
      from = this.starts[k + 1];
    }
    this.cbuf = this.scratch;
    this.coff = 0;
  }

  /** Number of views in the queue. */
  get views(): number {
    return this.tail - this.head;
  }

  /** The i-th view (0 = head) as buffer and range, for scanning without consuming. */
  viewBuf(i: number): Buffer {
    return this.bufs[this.head + i];
  }
  viewStart(i: number): number {
    return this.starts[this.head + i];
  }
  viewEnd(i: number): number {
    return this.ends[this.head + i];
  }

  /** Visits the views of the first n bytes without consuming them. */
  forEachView(n: number, visit: (buf: Buffer, start: number, end: number) => void): void {
    for (let k = this.head; n > 0 && k < this.tail; k++) {
      const take = Math.min(n, this.ends[k] - this.starts[k]);
      visit(this.bufs[k], this.starts[k], this.starts[k] + take);
      n -= take;
    }
  }
}
