/**
 * A request in the `sip` package's message model, with what every request of ours carries:
 * Max-Forwards, an empty Via (the stack writes its own), CSeq, and the body as the package wants
 * it (a latin1 string, one character per byte, so Content-Length counts bytes).
 */
import type { SipAddress, SipMessage } from 'sip';

export interface RequestFields {
  method: string;
  uri: string;
  from: SipAddress;
  to: SipAddress;
  callId: string;
  cseq: number;
  /** Further headers by lower-case name (contact, expires, subject, user-agent, …). */
  headers?: Record<string, unknown>;
  body?: { contentType: string; bytes: Buffer };
}

export function sipRequest(f: RequestFields): SipMessage {
  return {
    method: f.method,
    uri: f.uri,
    version: '2.0',
    headers: {
      via: [],
      from: f.from,
      to: f.to,
      'call-id': f.callId,
      cseq: { seq: f.cseq, method: f.method },
      'max-forwards': '70',
      ...f.headers,
      ...(f.body ? { 'content-type': f.body.contentType } : {}),
    },
    ...(f.body ? { content: f.body.bytes.toString('latin1') } : {}),
  };
}
