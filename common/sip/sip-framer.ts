/**
 * Cuts a SIP-over-TCP byte stream into messages (RFC 3261 §18.3), with the field's leniency: a
 * message without Content-Length has no body (devices omit it on bodyless requests; the `sip`
 * package would wait forever), CRLF keep-alives between messages are skipped (RFC 5626), and the
 * buffered bytes are bounded: a header block or body beyond the limits is a protocol error that
 * ends the connection.
 */

export interface SipFramerLimits {
  /** Longest header block, in bytes. */
  maxHeaderBytes: number;
  /** Largest body. */
  maxBodyBytes: number;
}

export const defaultFramerLimits: SipFramerLimits = { maxHeaderBytes: 16 * 1024, maxBodyBytes: 512 * 1024 };

const CRLFCRLF = Buffer.from('\r\n\r\n');

/** Content-Length (or its compact form `l`) from a header block, -1 when absent, NaN when garbled. */
export function readContentLength(head: Buffer, end: number): number {
  let lineStart = head.indexOf('\r\n', 0, 'latin1');
  while (lineStart >= 0 && lineStart < end) {
    const s = lineStart + 2;
    const e = head.indexOf('\r\n', s, 'latin1');
    const lineEnd = e < 0 || e > end ? end : e;
    const colon = head.indexOf(0x3a, s);
    if (colon > s && colon < lineEnd) {
      const name = head.toString('latin1', s, colon).trim().toLowerCase();
      if (name === 'content-length' || name === 'l') {
        const value = head.toString('latin1', colon + 1, lineEnd).trim();
        return /^\d{1,9}$/.test(value) ? Number(value) : Number.NaN;
      }
    }
    lineStart = e;
  }
  return -1;
}

export class SipTcpFramer {
  readonly #limits: SipFramerLimits;
  readonly #onMessage: (message: Buffer) => void;
  #pending: Buffer = Buffer.alloc(0);
  /** Body bytes still expected for the message whose header block is at the start of #pending. */
  #need = -1;
  #headerEnd = 0;
  #failed = false;

  constructor(onMessage: (message: Buffer) => void, limits: SipFramerLimits = defaultFramerLimits) {
    this.#onMessage = onMessage;
    this.#limits = limits;
  }

  /** Feeds bytes; returns an error text when the stream can no longer be framed (close it). */
  push(chunk: Buffer): string | undefined {
    if (this.#failed) return 'framing failed earlier';
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    for (;;) {
      if (this.#need < 0) {
        // Skip keep-alive CRLFs (and stray whitespace) between messages.
        let start = 0;
        while (start < this.#pending.length && (this.#pending[start] === 0x0d || this.#pending[start] === 0x0a || this.#pending[start] === 0x20)) start++;
        if (start > 0) this.#pending = this.#pending.subarray(start);
        if (this.#pending.length === 0) return undefined;
        const end = this.#pending.indexOf(CRLFCRLF);
        if (end < 0) {
          if (this.#pending.length > this.#limits.maxHeaderBytes) return this.#fail('header block too long');
          return undefined;
        }
        if (end > this.#limits.maxHeaderBytes) return this.#fail('header block too long');
        const length = readContentLength(this.#pending, end);
        if (Number.isNaN(length)) return this.#fail('bad Content-Length');
        if (length > this.#limits.maxBodyBytes) return this.#fail('body too large');
        this.#headerEnd = end + 4;
        this.#need = Math.max(length, 0);
      }
      const total = this.#headerEnd + this.#need;
      if (this.#pending.length < total) return undefined;
      // A copy, so the message does not pin the (possibly large) connection buffer.
      const message = Buffer.from(this.#pending.subarray(0, total));
      this.#pending = this.#pending.subarray(total);
      this.#need = -1;
      this.#onMessage(message);
    }
  }

  /** Bytes buffered and not yet a whole message. */
  get bufferedBytes(): number {
    return this.#pending.length;
  }

  #fail(why: string): string {
    this.#failed = true;
    this.#pending = Buffer.alloc(0);
    return why;
  }
}
