/**
 * The client side of the RTMP simple handshake (Adobe RTMP 1.0, section 5.2).
 *
 * C0 (version 3) and C1 (time, zero, 1528 random bytes) go out together; once S0 and S1 are in, C2
 * echoes S1; the handshake is done when S2 is in. Bytes after S2 already belong to the chunk stream
 * and are handed back. Servers that only speak the "complex" (digest) handshake to Flash Player
 * fall back to this one when C1's version field is zero, as nginx-rtmp, SRS and ZLMediaKit do.
 */
import { randomFillSync } from 'node:crypto';

export const RTMP_VERSION = 3;
export const HANDSHAKE_SIZE = 1536;

export class HandshakeError extends Error {}

export interface HandshakeStep {
  /** C2, to send now (once, after S1 arrives). */
  c2?: Buffer;
  /** True once S2 has been read. */
  done: boolean;
  /** Bytes received after S2: the start of the chunk stream. */
  rest?: Buffer;
}

export class ClientHandshake {
  /** C0 + C1, to send first. */
  readonly c0c1: Buffer;
  private readonly received = Buffer.alloc(1 + 2 * HANDSHAKE_SIZE);
  private have = 0;
  private c2Sent = false;

  constructor(epochMs: number = 0) {
    this.c0c1 = Buffer.alloc(1 + HANDSHAKE_SIZE);
    this.c0c1[0] = RTMP_VERSION;
    this.c0c1.writeUInt32BE(epochMs >>> 0, 1);
    // bytes 5..8 stay zero: the simple handshake
    randomFillSync(this.c0c1, 9);
  }

  /** Bytes of S0+S1+S2 still expected. */
  get remaining(): number {
    return this.received.length - this.have;
  }

  push(data: Buffer): HandshakeStep {
    if (this.have === this.received.length) return { done: true, rest: data };
    const take = Math.min(data.length, this.received.length - this.have);
    if (this.have === 0 && take > 0 && data[0] !== RTMP_VERSION) {
      throw new HandshakeError(`server answered with RTMP version ${data[0]}, expected ${RTMP_VERSION}`);
    }
    data.copy(this.received, this.have, 0, take);
    this.have += take;
    const step: HandshakeStep = { done: false };
    if (!this.c2Sent && this.have >= 1 + HANDSHAKE_SIZE) {
      this.c2Sent = true;
      // C2 echoes S1: its time, then our receive time (left as S1's second field), then S1's random.
      step.c2 = Buffer.from(this.received.subarray(1, 1 + HANDSHAKE_SIZE));
    }
    if (this.have === this.received.length) {
      step.done = true;
      if (take < data.length) step.rest = data.subarray(take);
    }
    return step;
  }
}
