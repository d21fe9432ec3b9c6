/**
 * Annex-B byte streams: NAL units separated by 00 00 01 or 00 00 00 01 start codes.
 * Scanning works on offsets into the caller's buffer; nothing is copied.
 */

/**
 * Offset of the next start code at or after `from`, or -1. The returned offset points at the first
 * zero of the start code; `startCodeLength` tells whether it is 3 or 4 bytes long.
 */
export function findStartCode(buf: Uint8Array, from: number, end: number = buf.length): number {
  let i = from;
  const last = end - 3;
  while (i <= last) {
    const b2 = buf[i + 2];
    if (b2 > 1) {
      i += 3;
    } else if (b2 === 1) {
      if (buf[i] === 0 && buf[i + 1] === 0) return i > from && buf[i - 1] === 0 ? i - 1 : i;
      i += 3;
    } else {
      i += 1;
    }
  }
  return -1;
}

/** 3 or 4: the length of the start code that begins at `at` (as returned by findStartCode). */
export function startCodeLength(buf: Uint8Array, at: number): 3 | 4 {
  return buf[at + 2] === 1 ? 3 : 4;
}

/**
 * Calls `visit(start, end)` for every NAL unit in buf[from, end): `start` is the first byte of the
 * NAL header, `end` is exclusive, trailing zero bytes before the next start code excluded.
 * Bytes before the first start code are ignored.
 */
export function forEachNal(
  buf: Uint8Array,
  visit: (start: number, end: number) => void,
  from = 0,
  end: number = buf.length,
): void {
  let sc = findStartCode(buf, from, end);
  while (sc >= 0) {
    const start = sc + startCodeLength(buf, sc);
    const next = findStartCode(buf, start, end);
    let nalEnd = next < 0 ? end : next;
    while (nalEnd > start && buf[nalEnd - 1] === 0) nalEnd--;
    if (nalEnd > start) visit(start, nalEnd);
    sc = next;
  }
}

/** NAL units of an Annex-B buffer as zero-copy views. */
export function splitNals(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  forEachNal(buf, (s, e) => out.push(buf.subarray(s, e)));
  return out;
}
