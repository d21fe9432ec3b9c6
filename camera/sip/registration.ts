/**
 * One REGISTER exchange as a GB28181 device does it: REGISTER without credentials, `401` with a
 * Digest challenge, REGISTER again with Authorization (qop=auth when offered, nc=00000001, a fresh
 * cnonce), then the final answer. A second challenge is answered only when it says stale=TRUE (the
 * platform refused our nonce as expired or reused, not our password). `Expires: 0` unregisters.
 */
import type { SipMessage } from 'sip';
import { clientAuthorization, parseChallenge, type DigestChallenge } from '../../common/sip/digest.ts';
import { parseGbDate } from '../../common/sip/gb-date.ts';
import { sipRequest } from '../../common/sip/request.ts';
import type { SipRemote, SipStack } from '../../common/sip/stack.ts';
import { headerString, sendRequest } from './requests.ts';

export interface RegisterParams {
  stack: SipStack;
  /** Where the platform is. */
  remote: SipRemote;
  deviceId: string;
  password: string;
  serverId: string;
  realm: string;
  /** Requested registration time in seconds; 0 unregisters. */
  expiresS: number;
  /** The registration's Call-ID and From tag (the same for every REGISTER of a device). */
  callId: string;
  fromTag: string;
  /** Next CSeq to use; advanced by every REGISTER sent. */
  cseq: { next: number };
}

export interface RegisterResult {
  /** Final status (408 on timeout, 0 when nothing could be sent). */
  status: number;
  reason: string;
  /** Granted seconds: the response's Expires, else the Contact's expires, else what we asked. */
  expiresS: number;
  /** The platform's Date header, when it sent a readable one. */
  serverDate: Date | undefined;
  /** Why the exchange stopped short of a 2xx on our side (unreadable challenge, unsupported qop…). */
  problem: string | undefined;
}

/** At most this many challenges are answered in one exchange (the first, then stale ones). */
const MAX_CHALLENGES = 3;

export async function registerOnce(p: RegisterParams): Promise<RegisterResult> {
  const requestUri = `sip:${p.serverId}@${p.realm}`;
  let authorization: { header: 'authorization' | 'proxy-authorization'; value: string } | undefined;
  let response = await sendRequest(p.stack, p.remote, registerMessage(p, requestUri, authorization));
  for (let round = 0; round < MAX_CHALLENGES && (response.status === 401 || response.status === 407); round++) {
    const proxy = response.status === 407;
    const challenge = readChallenge(response.message, proxy ? 'proxy-authenticate' : 'www-authenticate');
    if (!challenge) return result(response.status, response.message, p, 'unreadable digest challenge');
    // A plain second challenge after we answered one means the platform did not take our answer.
    if (round > 0 && !challenge.stale) break;
    let value: string;
    try {
      value = clientAuthorization({
        username: p.deviceId,
        password: p.password,
        realm: challenge.realm,
        nonce: challenge.nonce,
        uri: requestUri,
        method: 'REGISTER',
        qop: challenge.qop,
        nc: 1,
        opaque: challenge.opaque,
      });
    } catch (err) {
      return result(response.status, response.message, p, (err as Error).message);
    }
    authorization = { header: proxy ? 'proxy-authorization' : 'authorization', value };
    response = await sendRequest(p.stack, p.remote, registerMessage(p, requestUri, authorization));
  }
  return result(response.status, response.message, p, undefined);
}

function registerMessage(p: RegisterParams, uri: string, auth: { header: string; value: string } | undefined): SipMessage {
  const address = `sip:${p.deviceId}@${p.realm}`;
  const headers: Record<string, unknown> = {
    contact: [{ uri: `sip:${p.deviceId}@${hostForUri(p.stack.publicAddress)}:${p.stack.port}`, params: {} }],
    'user-agent': 'gbcast-camera',
    expires: String(p.expiresS),
  };
  // The package writes a string header as is (its authorization stringifier wants pre-split fields).
  if (auth) headers[auth.header] = auth.value;
  return sipRequest({
    method: 'REGISTER',
    uri,
    from: { uri: address, params: { tag: p.fromTag } },
    to: { uri: address, params: {} },
    callId: p.callId,
    cseq: p.cseq.next++,
    headers,
  });
}

/** An IPv6 address in brackets, as a SIP URI host needs it. */
export function hostForUri(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/**
 * The challenge of a 401/407. The package parses WWW-Authenticate into `{scheme, realm: '"…"', …}`
 * objects (quotes kept); the text is put back together and read by our own digest parser.
 */
export function readChallenge(m: SipMessage, header: 'www-authenticate' | 'proxy-authenticate'): DigestChallenge | undefined {
  const v = m.headers[header];
  const list = Array.isArray(v) ? v : [v];
  for (const entry of list) {
    let text: string | undefined;
    if (typeof entry === 'string') text = entry;
    else if (entry && typeof entry === 'object') {
      const fields = Object.entries(entry as Record<string, unknown>)
        .filter(([k, value]) => k !== 'scheme' && typeof value === 'string')
        .map(([k, value]) => `${k}=${value as string}`)
        .join(', ');
      const scheme = (entry as Record<string, unknown>).scheme;
      text = `${typeof scheme === 'string' ? scheme : ''} ${fields}`;
    }
    const challenge = text === undefined ? undefined : parseChallenge(text);
    if (challenge && (challenge.algorithm === undefined || challenge.algorithm.toLowerCase() === 'md5')) return challenge;
  }
  return undefined;
}

function result(status: number, m: SipMessage, p: RegisterParams, problem: string | undefined): RegisterResult {
  let expiresS = p.expiresS;
  const header = headerString(m, 'expires');
  if (header !== undefined && /^\s*\d{1,10}\s*$/.test(header)) expiresS = Number(header);
  else if (Array.isArray(m.headers.contact)) {
    const e = m.headers.contact[0]?.params?.expires;
    if (typeof e === 'string' && /^\d{1,10}$/.test(e)) expiresS = Number(e);
  }
  const date = headerString(m, 'date');
  return {
    status,
    reason: m.reason ?? '',
    expiresS,
    serverDate: date === undefined ? undefined : parseGbDate(date),
    problem,
  };
}
