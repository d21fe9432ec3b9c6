/**
 * SIP Digest authentication (RFC 2617 / RFC 7616, MD5 only) as GB28181 devices use it for REGISTER.
 *
 * Server side, in the order a REGISTER handler uses it:
 *   1. no Authorization → `401` with `challengeHeader({ realm, nonce: issuer.issue(sourceIp), qop })`;
 *   2. `parseAuthorization(header)`: undefined → a fresh 401;
 *   3. `issuer.verify(auth.nonce, sourceIp)`: 'invalid' → a fresh 401, 'stale' → 401 with stale=TRUE
 *      (the device retries with the same credentials, no operator involved);
 *   4. `verifyDigest({ auth, method: 'REGISTER', password, realm })`: false → `403` (GB28181: wrong
 *      credentials are a 403, not a second 401);
 *   5. replay protection, by the caller: store `nonceId(auth.nonce)` with SET NX and a TTL ending at
 *      `issuer.expiresAt(auth.nonce)`; a nonce seen before gets a fresh 401 (stale=TRUE), not a 403,
 *      because some devices legitimately reuse the last nonce for their refresh REGISTER.
 *
 * Nonces are stateless: `base64url(timestamp ms (8 bytes BE) | random (8) | HMAC-SHA256(secret,
 * timestamp | random | clientKey)[0..16))`, 43 characters. Any replica sharing the secret verifies them.
 *
 * Realm policy: the realm in the device's Authorization must equal ours (case-insensitive, as
 * GB realms are digits anyway) or the digest fails; the hash uses the realm text exactly as the device
 * sent it, since that is what it hashed.
 */
import { createHmac, createSecretKey, hash, randomFillSync, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';

/** Longest Authorization / WWW-Authenticate value accepted (characters). */
export const MAX_AUTH_HEADER_LENGTH = 4096;

export type NonceStatus = 'ok' | 'stale' | 'invalid';

export interface NonceIssuerOptions {
  /** HMAC key shared by every replica; at least 16 bytes. */
  secret: string | Uint8Array;
  /** How long a nonce is good for, default 5 minutes. */
  lifetimeMs?: number;
  /** Nonces stamped up to this far in the future (clock skew between replicas) still verify; default 30 s. */
  maxClockSkewMs?: number;
  /** Clock, for tests. */
  now?: () => number;
}

const NONCE_BYTES = 32;
const NONCE_CHARS = 43; // base64url of 32 bytes, unpadded
const MAC_OFFSET = 16;
const MAC_BYTES = 16;
const NONCE_RE = /^[A-Za-z0-9_-]{43}$/;
// The 43rd character carries the last 4 bits of the final byte and 2 bits of padding that must be 0:
// only these characters are canonical there, so each nonce has exactly one spelling.
const CANONICAL_LAST = 'AEIMQUYcgkosw048';
const TWO32 = 0x1_0000_0000;
const RANDOM_POOL_BYTES = 4096;

/** Issues and verifies stateless, client-bound, expiring nonces. */
export class NonceIssuer {
  readonly lifetimeMs: number;
  readonly maxClockSkewMs: number;
  /** A KeyObject, made once: HMAC with a raw Buffer key re-imports the key on every call (5x slower). */
  readonly #secret: KeyObject;
  readonly #now: () => number;
  readonly #pool = Buffer.allocUnsafe(RANDOM_POOL_BYTES);
  #poolOffset = RANDOM_POOL_BYTES;
  readonly #scratch = Buffer.alloc(NONCE_BYTES);

  constructor(options: NonceIssuerOptions) {
    const secret = typeof options.secret === 'string' ? Buffer.from(options.secret, 'utf8') : Buffer.from(options.secret);
    if (secret.length < 16) throw new RangeError('nonce secret must be at least 16 bytes');
    const lifetimeMs = options.lifetimeMs ?? 5 * 60_000;
    if (!Number.isFinite(lifetimeMs) || lifetimeMs <= 0) throw new RangeError(`bad nonce lifetime ${lifetimeMs}`);
    const skew = options.maxClockSkewMs ?? 30_000;
    if (!Number.isFinite(skew) || skew < 0) throw new RangeError(`bad nonce clock skew ${skew}`);
    this.#secret = createSecretKey(secret);
    this.lifetimeMs = lifetimeMs;
    this.maxClockSkewMs = skew;
    this.#now = options.now ?? Date.now;
  }

  /** A new nonce bound to `clientKey` (e.g. the source IP address of the REGISTER). */
  issue(clientKey: string, now: number = this.#now()): string {
    const buf = this.#scratch;
    const t = Math.max(0, Math.floor(now));
    buf.writeUInt32BE(Math.floor(t / TWO32) >>> 0, 0);
    buf.writeUInt32BE(t >>> 0, 4);
    if (this.#poolOffset + 8 > RANDOM_POOL_BYTES) {
      randomFillSync(this.#pool);
      this.#poolOffset = 0;
    }
    this.#pool.copy(buf, 8, this.#poolOffset, this.#poolOffset + 8);
    this.#poolOffset += 8;
    this.#mac(buf, clientKey).copy(buf, MAC_OFFSET, 0, MAC_BYTES);
    return buf.toString('base64url');
  }

  /** 'ok', 'stale' (genuine but older than the lifetime) or 'invalid' (forged, garbled, other client). */
  verify(nonce: string, clientKey: string, now: number = this.#now()): NonceStatus {
    const buf = decodeNonce(nonce);
    if (buf === undefined) return 'invalid';
    const mac = this.#mac(buf, clientKey);
    if (!timingSafeEqual(mac.subarray(0, MAC_BYTES), buf.subarray(MAC_OFFSET))) return 'invalid';
    const issued = nonceTime(buf);
    if (issued > now + this.maxClockSkewMs) return 'invalid';
    return now - issued > this.lifetimeMs ? 'stale' : 'ok';
  }

  /** When the nonce stops verifying as 'ok' (epoch ms), for the TTL of the used-nonce record; undefined if garbled. */
  expiresAt(nonce: string): number | undefined {
    const buf = decodeNonce(nonce);
    return buf === undefined ? undefined : nonceTime(buf) + this.lifetimeMs;
  }

  #mac(buf: Buffer, clientKey: string): Buffer {
    return createHmac('sha256', this.#secret).update(buf.subarray(0, MAC_OFFSET)).update(clientKey, 'utf8').digest();
  }
}

function decodeNonce(nonce: string): Buffer | undefined {
  if (nonce.length !== NONCE_CHARS || !NONCE_RE.test(nonce)) return undefined;
  if (!CANONICAL_LAST.includes(nonce[NONCE_CHARS - 1])) return undefined;
  return Buffer.from(nonce, 'base64url');
}

function nonceTime(buf: Buffer): number {
  return buf.readUInt32BE(0) * TWO32 + buf.readUInt32BE(4);
}

/**
 * A short stable identifier of a nonce for the used-nonce store: the base64url of its timestamp and
 * random part (22 characters). Text that is not one of our nonces gets a hash of it instead (never throws).
 */
export function nonceId(nonce: string): string {
  const buf = decodeNonce(nonce);
  if (buf !== undefined) return buf.subarray(0, MAC_OFFSET).toString('base64url');
  return 'x' + hash('sha256', nonce, 'base64url').slice(0, 22);
}

export interface ChallengeOptions {
  realm: string;
  nonce: string;
  /** Offer qop="auth" (never auth-int). Most GB devices answer without qop either way. */
  qop: boolean;
  /** The previous nonce was genuine but expired: the device may retry without asking anyone. */
  stale?: boolean;
  opaque?: string;
}

/** The WWW-Authenticate value of a 401. */
export function challengeHeader(o: ChallengeOptions): string {
  let s = `Digest realm=${quote(o.realm)}, nonce=${quote(o.nonce)}`;
  if (o.opaque !== undefined) s += `, opaque=${quote(o.opaque)}`;
  s += ', algorithm=MD5';
  if (o.qop) s += ', qop="auth"';
  if (o.stale) s += ', stale=TRUE';
  return s;
}

/** The fields of a Digest Authorization header; names are lower case, values as sent (unquoted). */
export interface DigestAuthorization {
  username: string;
  realm: string;
  nonce: string;
  uri: string;
  response: string;
  algorithm?: string;
  qop?: string;
  nc?: string;
  cnonce?: string;
  opaque?: string;
}

/** The fields of a Digest WWW-Authenticate challenge (client side). */
export interface DigestChallenge {
  realm: string;
  nonce: string;
  algorithm?: string;
  /** The qop options as listed, e.g. "auth" or "auth,auth-int". */
  qop?: string;
  opaque?: string;
  stale: boolean;
}

const AUTH_FIELDS = ['username', 'realm', 'nonce', 'uri', 'response', 'algorithm', 'qop', 'nc', 'cnonce', 'opaque'] as const;
type AuthField = (typeof AUTH_FIELDS)[number];
const AUTH_FIELD_SET: ReadonlySet<string> = new Set(AUTH_FIELDS);
const CHALLENGE_FIELD_SET: ReadonlySet<string> = new Set(['realm', 'nonce', 'algorithm', 'qop', 'opaque', 'stale', 'domain']);

/**
 * Parses `Digest username="…", realm="…", …`. Tolerant of quoted or bare values, any order, extra
 * spaces and empty list elements, case of the scheme and parameter names, commas and escaped quotes
 * inside quoted strings; unknown parameters are ignored. Undefined for another scheme, input longer
 * than 4 KiB, an unterminated quoted string, two different values for one parameter, or a missing or
 * empty username, realm, nonce, uri or response.
 */
export function parseAuthorization(headerValue: string): DigestAuthorization | undefined {
  const p = parseDigestParams(headerValue, AUTH_FIELD_SET);
  if (p === undefined) return undefined;
  const username = p.get('username');
  const realm = p.get('realm');
  const nonce = p.get('nonce');
  const uri = p.get('uri');
  const response = p.get('response');
  if (!username || !realm || !nonce || !uri || !response) return undefined;
  const auth: DigestAuthorization = { username, realm, nonce, uri, response };
  for (const f of ['algorithm', 'qop', 'nc', 'cnonce', 'opaque'] as const satisfies readonly AuthField[]) {
    const v = p.get(f);
    if (v !== undefined) auth[f] = v;
  }
  return auth;
}

/** Parses a `WWW-Authenticate: Digest …` challenge, with the same tolerance as parseAuthorization. */
export function parseChallenge(headerValue: string): DigestChallenge | undefined {
  const p = parseDigestParams(headerValue, CHALLENGE_FIELD_SET);
  if (p === undefined) return undefined;
  const realm = p.get('realm');
  const nonce = p.get('nonce');
  if (realm === undefined || !nonce) return undefined;
  const c: DigestChallenge = { realm, nonce, stale: p.get('stale')?.toLowerCase() === 'true' };
  for (const f of ['algorithm', 'qop', 'opaque'] as const) {
    const v = p.get(f);
    if (v !== undefined) c[f] = v;
  }
  return c;
}

const CH = {
  SPACE: 0x20,
  TAB: 0x09,
  COMMA: 0x2c,
  EQUALS: 0x3d,
  QUOTE: 0x22,
  BACKSLASH: 0x5c,
} as const;

function isWs(c: number): boolean {
  return c === CH.SPACE || c === CH.TAB || c === 0x0d || c === 0x0a;
}

/**
 * The auth-params after the `Digest` scheme, keeping only the names in `wanted` (lower-cased).
 * Undefined when the scheme is not Digest or the list is malformed as described above.
 */
function parseDigestParams(value: string, wanted: ReadonlySet<string>): Map<string, string> | undefined {
  if (typeof value !== 'string' || value.length > MAX_AUTH_HEADER_LENGTH) return undefined;
  const n = value.length;
  let i = 0;
  while (i < n && isWs(value.charCodeAt(i))) i++;
  if (n - i < 6 || value.slice(i, i + 6).toLowerCase() !== 'digest') return undefined;
  i += 6;
  if (i < n && !isWs(value.charCodeAt(i))) return undefined; // e.g. "Digestx"
  const out = new Map<string, string>();
  while (i < n) {
    // Skip separators: whitespace and empty list elements.
    let c = value.charCodeAt(i);
    if (isWs(c) || c === CH.COMMA) {
      i++;
      continue;
    }
    // Parameter name: up to '=', whitespace or ','.
    const nameStart = i;
    while (i < n) {
      c = value.charCodeAt(i);
      if (c === CH.EQUALS || c === CH.COMMA || isWs(c)) break;
      i++;
    }
    const name = value.slice(nameStart, i).toLowerCase();
    while (i < n && isWs(value.charCodeAt(i))) i++;
    if (i >= n || value.charCodeAt(i) !== CH.EQUALS) {
      // A bare word with no value (or a stray token): ignore it up to the next comma.
      while (i < n && value.charCodeAt(i) !== CH.COMMA) i++;
      continue;
    }
    i++; // '='
    while (i < n && isWs(value.charCodeAt(i))) i++;
    let v: string;
    if (i < n && value.charCodeAt(i) === CH.QUOTE) {
      i++;
      let text = '';
      let runStart = i;
      let closed = false;
      while (i < n) {
        c = value.charCodeAt(i);
        if (c === CH.QUOTE) {
          text += value.slice(runStart, i);
          i++;
          closed = true;
          break;
        }
        if (c === CH.BACKSLASH && i + 1 < n) {
          text += value.slice(runStart, i);
          runStart = i + 1; // the escaped character starts the next run
          i += 2;
          continue;
        }
        i++;
      }
      if (!closed) return undefined;
      v = text;
      // Anything glued to the closing quote up to the next comma is junk: ignore it.
      while (i < n && value.charCodeAt(i) !== CH.COMMA) i++;
    } else {
      const start = i;
      while (i < n) {
        c = value.charCodeAt(i);
        if (c === CH.COMMA || isWs(c)) break;
        i++;
      }
      v = value.slice(start, i);
      while (i < n && value.charCodeAt(i) !== CH.COMMA) i++;
    }
    if (!wanted.has(name)) continue;
    const prev = out.get(name);
    if (prev !== undefined && prev !== v) return undefined; // ambiguous: refuse rather than guess
    out.set(name, v);
  }
  return out;
}

function quote(s: string): string {
  return `"${s.replace(/["\\]/g, '\\$&')}"`;
}

/** HA1 = MD5(username:realm:password), lower-case hex: what a credential store may keep instead of passwords. */
export function digestHa1(username: string, realm: string, password: string): string {
  return md5(`${username}:${realm}:${password}`);
}

function md5(s: string): string {
  return hash('md5', s, 'hex');
}

const HEX32_RE = /^[0-9a-fA-F]{32}$/;

export interface VerifyDigestOptions {
  auth: DigestAuthorization;
  /** The SIP method of the request, e.g. 'REGISTER'. */
  method: string;
  /** Our realm: the header's realm must equal it (case-insensitive). */
  realm: string;
  /** The device's password; or give `ha1` instead. */
  password?: string;
  /** Precomputed HA1 (hex) for `auth.username` and `realm`, instead of the password. */
  ha1?: string;
}

/**
 * Checks the response of a parsed Authorization against the password (or HA1): MD5 without qop, or
 * with qop=auth (nc and cnonce required). Any other algorithm or qop, a foreign realm, or a malformed
 * response is false. The comparison is constant-time. Nonce freshness is checked separately (NonceIssuer).
 */
export function verifyDigest(o: VerifyDigestOptions): boolean {
  const a = o.auth;
  if (a.realm.toLowerCase() !== o.realm.toLowerCase()) return false;
  if (a.algorithm !== undefined && a.algorithm.toLowerCase() !== 'md5') return false;
  if (!HEX32_RE.test(a.response)) return false;
  let ha1: string;
  if (o.ha1 !== undefined) {
    if (!HEX32_RE.test(o.ha1)) return false;
    ha1 = o.ha1.toLowerCase();
  } else if (o.password !== undefined) {
    ha1 = digestHa1(a.username, a.realm, o.password);
  } else {
    return false;
  }
  const ha2 = md5(`${o.method}:${a.uri}`);
  let expected: string;
  if (a.qop === undefined) {
    expected = hash('md5', `${ha1}:${a.nonce}:${ha2}`, 'hex');
  } else {
    if (a.qop.toLowerCase() !== 'auth' || !a.nc || !a.cnonce) return false;
    expected = hash('md5', `${ha1}:${a.nonce}:${a.nc}:${a.cnonce}:${a.qop}:${ha2}`, 'hex');
  }
  return timingSafeEqual(Buffer.from(expected, 'hex'), Buffer.from(a.response, 'hex'));
}

export interface ClientAuthorizationOptions {
  username: string;
  password: string;
  realm: string;
  nonce: string;
  /** The Request-URI of the request being authorised. */
  uri: string;
  method: string;
  /** The challenge's qop options (e.g. "auth" or "auth,auth-int"); undefined when the challenge offered none. */
  qop?: string;
  /** Nonce count, default 1; a number is written as 8 hex digits. */
  nc?: number | string;
  /** Client nonce, default 16 random hex digits (used only with qop). */
  cnonce?: string;
  opaque?: string;
}

/**
 * The Authorization value a device sends in answer to a challenge (device simulator). Picks qop=auth
 * when the challenge lists it; a challenge offering only qops other than auth cannot be answered (throws).
 */
export function clientAuthorization(o: ClientAuthorizationOptions): string {
  const ha1 = digestHa1(o.username, o.realm, o.password);
  const ha2 = md5(`${o.method}:${o.uri}`);
  let s = `Digest username=${quote(o.username)}, realm=${quote(o.realm)}, nonce=${quote(o.nonce)}, uri=${quote(o.uri)}`;
  let useQop = false;
  if (o.qop !== undefined && o.qop.trim() !== '') {
    useQop = o.qop.split(',').some((q) => q.trim().toLowerCase() === 'auth');
    if (!useQop) throw new Error(`cannot answer a digest challenge offering qop "${o.qop}" (only auth is supported)`);
  }
  if (useQop) {
    const nc = typeof o.nc === 'string' ? o.nc : (o.nc ?? 1).toString(16).padStart(8, '0');
    const cnonce = o.cnonce ?? randomBytes(8).toString('hex');
    const response = md5(`${ha1}:${o.nonce}:${nc}:${cnonce}:auth:${ha2}`);
    s += `, response="${response}", algorithm=MD5, cnonce=${quote(cnonce)}, qop=auth, nc=${nc}`;
  } else {
    s += `, response="${md5(`${ha1}:${o.nonce}:${ha2}`)}", algorithm=MD5`;
  }
  if (o.opaque !== undefined) s += `, opaque=${quote(o.opaque)}`;
  return s;
}
