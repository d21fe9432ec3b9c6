/**
 * Bit-level reading of H.264/H.265 parameter sets (RBSP): fixed-width fields and exp-Golomb codes.
 *
 * Parameter sets are small and rare (once per keyframe at most), so the reader works on an unescaped
 * copy of the NAL payload made by `unescapeRbsp`; nothing here is on the per-packet path.
 * Reading past the end throws `BitReaderError`; parsers catch it and report the input as invalid.
 */

export class BitReaderError extends Error {
  override readonly name = 'BitReaderError';
}

/**
 * Copy of buf[start, end) with the emulation-prevention bytes removed: every 0x03 that follows two
 * zero bytes (00 00 03) is dropped, as H.264 §7.4.1 / H.265 §7.4.2 describe.
 */
export function unescapeRbsp(buf: Uint8Array, start = 0, end: number = buf.length): Uint8Array {
  const out = new Uint8Array(Math.max(0, end - start));
  let n = 0;
  let zeros = 0;
  for (let i = start; i < end; i++) {
    const b = buf[i];
    if (zeros >= 2 && b === 3) {
      zeros = 0;
      continue;
    }
    out[n++] = b;
    zeros = b === 0 ? zeros + 1 : 0;
  }
  return n === out.length ? out : out.subarray(0, n);
}

/** Exp-Golomb codes longer than this are treated as corrupt (no syntax element needs more). */
const MAX_LEADING_ZEROS = 31;

export class BitReader {
  private readonly data: Uint8Array;
  private readonly endBit: number;
  private pos: number;

  /** Reads data[start, end) from its first bit, most significant bit first. */
  constructor(data: Uint8Array, start = 0, end: number = data.length) {
    this.data = data;
    this.pos = start * 8;
    this.endBit = end * 8;
  }

  /** Bits not yet read. */
  get bitsLeft(): number {
    return this.endBit - this.pos;
  }

  /** Position in bits from the start of `data`. */
  get bitPosition(): number {
    return this.pos;
  }

  get byteAligned(): boolean {
    return (this.pos & 7) === 0;
  }

  readBit(): number {
    if (this.pos >= this.endBit) throw new BitReaderError('read past the end of the RBSP');
    const b = (this.data[this.pos >> 3] >> (7 - (this.pos & 7))) & 1;
    this.pos++;
    return b;
  }

  readFlag(): boolean {
    return this.readBit() === 1;
  }

  /** An unsigned n-bit field, 0 <= n <= 32. */
  readBits(n: number): number {
    if (n < 0 || n > 32) throw new BitReaderError(`cannot read ${n} bits at once`);
    if (this.pos + n > this.endBit) throw new BitReaderError('read past the end of the RBSP');
    let v = 0;
    for (let i = 0; i < n; i++) {
      v = v * 2 + ((this.data[this.pos >> 3] >> (7 - (this.pos & 7))) & 1);
      this.pos++;
    }
    return v;
  }

  skipBits(n: number): void {
    if (n < 0 || this.pos + n > this.endBit) throw new BitReaderError('skip past the end of the RBSP');
    this.pos += n;
  }

  /** ue(v): unsigned exp-Golomb. */
  readUe(): number {
    let zeros = 0;
    while (this.readBit() === 0) {
      if (++zeros > MAX_LEADING_ZEROS) throw new BitReaderError('exp-Golomb code too long');
    }
    return zeros === 0 ? 0 : 2 ** zeros - 1 + this.readBits(zeros);
  }

  /** se(v): signed exp-Golomb. */
  readSe(): number {
    const k = this.readUe();
    if (k === 0) return 0;
    return k & 1 ? (k + 1) / 2 : -(k / 2);
  }

  /** ue(v) that must not exceed `max`; a larger value means corrupt input. */
  readUeMax(max: number, what: string): number {
    const v = this.readUe();
    if (v > max) throw new BitReaderError(`${what} = ${v} exceeds ${max}`);
    return v;
  }

  /** se(v) within [min, max]. */
  readSeRange(min: number, max: number, what: string): number {
    const v = this.readSe();
    if (v < min || v > max) throw new BitReaderError(`${what} = ${v} outside [${min}, ${max}]`);
    return v;
  }
}
