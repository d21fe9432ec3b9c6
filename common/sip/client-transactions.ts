/**
 * Client transactions for requests other than INVITE (RFC 3261 §17.1.2), kept light: the request's
 * bytes, where it goes, and the callback. Over UDP the request is resent after T1, 2·T1, … capped at
 * T2 until a final response; after 64·T1 (Timer F) the caller gets a locally made 408. Resends are
 * driven by one timer wheel for all transactions (no timer per transaction), and a completed
 * transaction's key is remembered for T4 so late copies of its response are not counted as strays.
 * The `sip` package's client transactions keep a state machine and several timers each, which in a
 * burst of queries to new devices was most of the process's garbage.
 */
import type { SipMessage } from 'sip';

export const T1 = 500;
export const T2 = 4000;
export const T4 = 5000;
const TIMER_F = 64 * T1;
const SLOT_MS = 100;

interface Pending {
  bytes: Buffer;
  reliable: boolean;
  send(bytes: Buffer): void;
  onResponse(response: SipMessage): void;
  onTimeout(): void;
  interval: number;
  deadline: number;
  provisional: boolean;
}

export class ClientTransactions {
  readonly #pending = new Map<string, Pending>();
  /** Due slot (time / SLOT_MS) → keys to look at then. */
  readonly #wheel = new Map<number, string[]>();
  #completed = new Set<string>();
  #completedOld = new Set<string>();
  #completedRotatedAt: number;
  readonly #timer: NodeJS.Timeout;
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
    this.#completedRotatedAt = now();
    this.#timer = setInterval(() => this.tick(), SLOT_MS);
    this.#timer.unref();
  }

  get size(): number {
    return this.#pending.size;
  }

  /** Starts a transaction: sends now, resends over UDP, gives up at Timer F. */
  start(key: string, t: Omit<Pending, 'interval' | 'deadline' | 'provisional'>): void {
    const now = this.#now();
    const pending: Pending = { ...t, interval: T1, deadline: now + TIMER_F, provisional: false };
    this.#pending.set(key, pending);
    t.send(t.bytes);
    this.#schedule(key, now + (t.reliable ? TIMER_F : T1));
  }

  /** A response for `key`: true when it belonged to a transaction (live or just completed). */
  onResponse(key: string, response: SipMessage): boolean {
    const p = this.#pending.get(key);
    if (!p) return this.#completed.has(key) || this.#completedOld.has(key);
    const status = response.status ?? 0;
    if (status < 200) {
      p.provisional = true; // keep resending, at T2 (RFC 3261 §17.1.2.2)
      p.onResponse(response);
      return true;
    }
    this.#pending.delete(key);
    this.#rememberCompleted(key);
    p.onResponse(response);
    return true;
  }

  /** Resends and timeouts that are due; exposed for tests. */
  tick(): void {
    const now = this.#now();
    const slotNow = Math.floor(now / SLOT_MS);
    for (const [slot, keys] of this.#wheel) {
      if (slot > slotNow) continue;
      this.#wheel.delete(slot);
      for (const key of keys) {
        const p = this.#pending.get(key);
        if (!p) continue;
        if (now >= p.deadline) {
          this.#pending.delete(key);
          p.onTimeout();
          continue;
        }
        if (!p.reliable) {
          p.send(p.bytes);
          p.interval = p.provisional ? T2 : Math.min(p.interval * 2, T2);
        }
        this.#schedule(key, Math.min(now + (p.reliable ? TIMER_F : p.interval), p.deadline));
      }
    }
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#pending.clear();
    this.#wheel.clear();
  }

  #schedule(key: string, at: number): void {
    const slot = Math.ceil(at / SLOT_MS);
    const list = this.#wheel.get(slot);
    if (list) list.push(key);
    else this.#wheel.set(slot, [key]);
  }

  #rememberCompleted(key: string): void {
    const now = this.#now();
    if (now - this.#completedRotatedAt >= T4) {
      this.#completedOld = this.#completed;
      this.#completed = new Set();
      this.#completedRotatedAt = now;
    }
    this.#completed.add(key);
  }
}

/** Client transaction key: the branch we put in our Via, and the CSeq method (RFC 3261 §17.1.3). */
export function clientTransactionKey(m: SipMessage): string {
  const branch = m.headers.via?.[0]?.params?.branch;
  return `${typeof branch === 'string' ? branch : ''}|${m.headers.cseq?.method ?? ''}`;
}
