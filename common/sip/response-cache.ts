/**
 * Server transactions for requests other than INVITE, kept as little as RFC 3261 §17.2.2 needs:
 * a retransmitted request gets the same final response again, for 64·T1 = 32 s over UDP (reliable
 * transports need nothing). One entry is the transaction's key and the response's bytes.
 *
 * Why not the `sip` package's server transactions: each keeps the parsed request, a state machine
 * of closures and a 32 s timer, which at a registration burst (two transactions per device) is
 * hundreds of MB of garbage promoted to V8's old generation before it dies. Here entries sit in two
 * generations of maps rotated every 32 s: O(1) per request, no timer per transaction.
 */
import type { SipMessage } from 'sip';

/**
 * RFC 3261 §17.2.3: branch + sent-by + method, plus the CSeq number and Call-ID: devices (and SIPp)
 * that reuse one branch for every request of a call, or across calls, would otherwise have each new
 * request taken for a retransmission of the first. RFC 2543 devices without the magic cookie: the dialog fields.
 */
export function serverTransactionKey(m: SipMessage): string {
  const via = m.headers.via[0];
  const branch = typeof via.params.branch === 'string' ? via.params.branch : '';
  const method = m.method === 'ACK' ? 'INVITE' : (m.method ?? '');
  if (branch.startsWith('z9hG4bK')) return `${branch}|${via.host}:${via.port ?? ''}|${method}|${m.headers.cseq.seq}|${m.headers['call-id']}`;
  return `${m.headers['call-id']}|${m.headers.cseq.seq}|${m.headers.from?.params?.tag ?? ''}|${via.host}:${via.port ?? ''}|${branch}|${method}`;
}

/**
 * Entries are the final response's bytes, or what the caller keeps while the request is being
 * handled (`P`, e.g. where to send the response).
 */
export class ResponseCache<P extends object> {
  readonly #lifetimeMs: number;
  readonly #now: () => number;
  #current = new Map<string, Buffer | P>();
  #previous = new Map<string, Buffer | P>();
  #rotatedAt: number;
  /** Most entries kept (both generations); beyond it new requests are not remembered. */
  readonly #maxEntries: number;

  constructor(options: { lifetimeMs?: number; maxEntries?: number; now?: () => number } = {}) {
    this.#lifetimeMs = options.lifetimeMs ?? 32_000;
    this.#maxEntries = options.maxEntries ?? 500_000;
    this.#now = options.now ?? Date.now;
    this.#rotatedAt = this.#now();
  }

  /** The entry of a transaction: its response bytes, its pending value, or undefined (a new request). */
  get(key: string): Buffer | P | undefined {
    this.#rotate();
    return this.#current.get(key) ?? this.#previous.get(key);
  }

  /** A new request is being handled; false when the cache is full (the request is not remembered). */
  begin(key: string, pending: P): boolean {
    this.#rotate();
    if (this.#current.size + this.#previous.size >= this.#maxEntries) return false;
    this.#current.set(key, pending);
    return true;
  }

  /** Its final response, for retransmissions of the request. */
  complete(key: string, response: Buffer): void {
    this.#rotate();
    if (this.#previous.has(key)) this.#previous.delete(key);
    if (this.#current.has(key) || this.#current.size + this.#previous.size < this.#maxEntries) this.#current.set(key, response);
  }

  /** Forgets a transaction (reliable transports need no memory of it). */
  forget(key: string): void {
    this.#current.delete(key);
    this.#previous.delete(key);
  }

  get size(): number {
    return this.#current.size + this.#previous.size;
  }

  clear(): void {
    this.#current.clear();
    this.#previous.clear();
  }

  #rotate(): void {
    const now = this.#now();
    if (now - this.#rotatedAt < this.#lifetimeMs) return;
    // Two lifetimes without traffic: both generations are stale.
    this.#previous = now - this.#rotatedAt >= this.#lifetimeMs * 2 ? new Map() : this.#current;
    this.#current = new Map();
    this.#rotatedAt = now;
  }
}
