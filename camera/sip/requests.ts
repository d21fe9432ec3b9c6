/**
 * Small helpers for the requests a device sends, in the `sip` package's message model, and a
 * promise around SipStack.request that settles on the final response.
 */
import { randomBytes } from 'node:crypto';
import type { SipMessage } from 'sip';
import type { SipRemote, SipStack } from '../../common/sip/stack.ts';

export const MANSCDP_CONTENT_TYPE = 'Application/MANSCDP+xml';
export const SDP_CONTENT_TYPE = 'APPLICATION/SDP';

export function randomTag(): string {
  return randomBytes(6).toString('hex');
}

export function newCallId(host: string): string {
  return `${randomBytes(10).toString('hex')}@${host}`;
}

export interface FinalResponse {
  status: number;
  message: SipMessage;
  body: Buffer;
}

/**
 * Sends a request in a client transaction and resolves with its final response (a locally made 408
 * on timeout). Never rejects: a throw while sending resolves as status 0 (e.g. the stack closed).
 */
export function sendRequest(stack: SipStack, remote: SipRemote, message: SipMessage): Promise<FinalResponse> {
  return new Promise((resolve) => {
    try {
      stack.request(remote, message, (response, body) => {
        const status = response.status ?? 0;
        if (status >= 200) resolve({ status, message: response, body });
      });
    } catch {
      resolve({ status: 0, message, body: Buffer.alloc(0) });
    }
  });
}

/** A promise that settles with `fallback` after `ms` unless `p` settles first. */
export function withTimeout<T>(p: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(fallback), ms);
    timer.unref();
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** The value of a header the package keeps as text (first one when repeated as an array). */
export function headerString(m: SipMessage, name: string): string | undefined {
  const v = m.headers[name];
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  return undefined;
}
