/**
 * GB28181 SSRCs: 10 decimal digits, `0` (live) or `1` (playback / download), then digits 4–8 of the
 * 10-digit SIP domain, then a 4-digit sequence 0001–9999. The same number is the RTP SSRC, which is
 * why it must stay ≤ 0xFFFFFFFF (the largest GB SSRC, 1999999999, does).
 */

export type SsrcKind = 'live' | 'playback';

export const SSRC_SEQUENCE_MAX = 9999;

export interface SsrcAllocatorOptions {
  /** The 10-digit SIP domain, or a 20-digit server ID whose first 10 digits are the domain. */
  domain: string;
  /**
   * SSRCs in use, skipped by the allocator: a predicate (e.g. a lookup in the session table) or a set.
   * Default: none (the caller then owns uniqueness, e.g. by trying `candidates()` with Redis SET NX).
   */
  isTaken?: ((ssrc: string) => boolean) | ReadonlySet<string>;
  /** Sequence the first allocation of each kind starts from, 1–9999 (default 1). */
  startSequence?: number;
}

/**
 * Hands out SSRCs round robin per kind, so a just-released SSRC is not reused at once (late RTP of the
 * old session would be taken for the new one). The allocator marks nothing: an SSRC counts as taken
 * once `isTaken` says so, normally when the session using it is recorded.
 */
export class SsrcAllocator {
  /** Digits 4–8 of the domain. */
  readonly prefix: string;
  readonly #isTaken: (ssrc: string) => boolean;
  // Next sequence to try, per kind (index 0 live, 1 playback).
  readonly #next: [number, number];

  constructor(options: SsrcAllocatorOptions) {
    const { domain, isTaken, startSequence = 1 } = options;
    if (!/^\d{10}(\d{10})?$/.test(domain)) throw new RangeError(`SSRC domain must be 10 (or 20) digits, got "${domain}"`);
    if (!Number.isInteger(startSequence) || startSequence < 1 || startSequence > SSRC_SEQUENCE_MAX) {
      throw new RangeError(`SSRC start sequence must be 1–${SSRC_SEQUENCE_MAX}, got ${startSequence}`);
    }
    this.prefix = domain.slice(3, 8);
    if (isTaken === undefined) this.#isTaken = () => false;
    else if (typeof isTaken === 'function') this.#isTaken = isTaken;
    else this.#isTaken = (s) => isTaken.has(s);
    this.#next = [startSequence, startSequence];
  }

  /** The next free SSRC of this kind, or undefined when all 9,999 are taken. */
  allocate(kind: SsrcKind): string | undefined {
    for (const ssrc of this.candidates(kind)) return ssrc;
    return undefined;
  }

  /**
   * Free SSRCs of this kind in allocation order, each at most once per call, for callers that must
   * confirm a candidate elsewhere (e.g. Redis SET NX across replicas). Taking one advances the cursor
   * past it; stopping early leaves the rest for the next call.
   */
  *candidates(kind: SsrcKind): Generator<string, void, undefined> {
    const k = kind === 'live' ? 0 : 1;
    const lead = kind === 'live' ? '0' : '1';
    for (let tried = 0; tried < SSRC_SEQUENCE_MAX; tried++) {
      const seq = this.#next[k];
      this.#next[k] = seq === SSRC_SEQUENCE_MAX ? 1 : seq + 1;
      const ssrc = lead + this.prefix + String(seq).padStart(4, '0');
      if (!this.#isTaken(ssrc)) yield ssrc;
    }
  }
}

/** The kind of a GB SSRC from its first digit (10-digit text), undefined if it is not one of ours. */
export function ssrcKind(ssrc: string): SsrcKind | undefined {
  if (ssrc.length !== 10) return undefined;
  return ssrc[0] === '0' ? 'live' : ssrc[0] === '1' ? 'playback' : undefined;
}

/**
 * An SSRC as written in SDP `y=` or the Subject header: 1–10 decimal digits, zero padding allowed
 * (`0000630886` is 630886), at most 0xFFFFFFFF. Undefined for anything else.
 */
export function parseSsrcText(text: string): number | undefined {
  if (text.length === 0 || text.length > 10) return undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return undefined;
  }
  const n = Number(text);
  return n <= 0xffffffff ? n : undefined;
}

/** A 32-bit SSRC as GB text: 10 digits, zero-padded. */
export function ssrcText(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`not a 32-bit SSRC: ${n}`);
  return String(n).padStart(10, '0');
}
