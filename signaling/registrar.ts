/**
 * REGISTER with digest authentication, as GB28181 devices do it.
 *
 * 1. No (usable) Authorization → 401 with a fresh stateless nonce (no Redis round trip).
 * 2. A genuine but expired nonce → 401 with `stale=TRUE`, so the device retries on its own.
 * 3. Locked out (too many failures for this device or from this address) → 403.
 * 4. The password: the device's own credential in Redis, else the global one when unknown devices
 *    are accepted, else 403.
 * 5. Wrong response → 403 (not another 401: devices would loop) and a failure counted.
 * 6. A nonce (with its nonce count, under qop=auth) used before → a replay: 401 with a new nonce.
 * 7. `Expires: 0` → unregistered; else registered until now + Expires (clamped), online at once.
 * 200 OK carries Contact, Expires and the GB `Date` header (devices set their clocks from it).
 */
import type { SipMessage } from 'sip';
import type { Logger } from '../common/logger.ts';
import type { DeviceStore } from '../common/store/device-store.ts';
import { challengeHeader, NonceIssuer, nonceId, parseAuthorization, verifyDigest, type DigestAuthorization } from '../common/sip/digest.ts';
import { formatGbDate } from '../common/sip/gb-date.ts';
import { headerText, uriUser } from '../common/sip/parse.ts';
import type { IncomingRequest, SipStack } from '../common/sip/stack.ts';

export interface RegistrarOptions {
  realm: string;
  globalPassword?: string;
  unknownDevices: 'accept' | 'refuse';
  nonceSecret: string;
  nonceLifetimeMs: number;
  offerQop: boolean;
  expiresMinS: number;
  expiresMaxS: number;
  /** Keepalive interval × missed keepalives: how long a device stays online without one. */
  keepaliveWindowMs: number;
  authMaxFailures: number;
  authLockoutMs: number;
  /** GB Date header zone, minutes east of UTC; undefined = the server's local zone. */
  dateUtcOffsetMinutes?: number;
}

export type RegisterOutcome = 'challenged' | 'stale' | 'registered' | 'unregistered' | 'wrong-password' | 'locked-out' | 'unknown-device' | 'replay' | 'bad-request' | 'error';

export interface RegistrarEvents {
  /** After a successful REGISTER (not an unregister): time to query the device. */
  onRegistered(deviceId: string, request: IncomingRequest, cameOnline: boolean): void;
  onOutcome(outcome: RegisterOutcome): void;
}

/** Device ids: GB ids are 20 digits; accept what devices really send, within reason. */
const DEVICE_ID = /^[0-9A-Za-z_.-]{1,64}$/;

export class Registrar {
  readonly #options: RegistrarOptions;
  readonly #stack: SipStack;
  readonly #store: DeviceStore;
  readonly #log: Logger;
  readonly #events: RegistrarEvents;
  readonly #nonces: NonceIssuer;

  constructor(options: RegistrarOptions, stack: SipStack, store: DeviceStore, log: Logger, events: RegistrarEvents) {
    this.#options = options;
    this.#stack = stack;
    this.#store = store;
    this.#log = log;
    this.#events = events;
    this.#nonces = new NonceIssuer({ secret: options.nonceSecret, lifetimeMs: options.nonceLifetimeMs });
  }

  handle(request: IncomingRequest): void {
    this.#handle(request).then(
      (outcome) => this.#events.onOutcome(outcome),
      (err: unknown) => {
        this.#log.error({ err, remote: request.remote }, 'REGISTER failed');
        this.#stack.reply(request.message, 500, 'Server Internal Error');
        this.#events.onOutcome('error');
      },
    );
  }

  async #handle(request: IncomingRequest): Promise<RegisterOutcome> {
    const m = request.message;
    const ip = request.remote.address;
    const deviceId = uriUser(m.headers.from?.uri) ?? uriUser(m.headers.to?.uri);
    if (!deviceId || !DEVICE_ID.test(deviceId)) {
      this.#stack.reply(m, 400, 'Bad Request');
      return 'bad-request';
    }
    const auth = authorizationOf(m);
    if (!auth) return this.#challenge(m, ip, false);
    const nonce = this.#nonces.verify(auth.nonce, ip);
    if (nonce === 'invalid') return this.#challenge(m, ip, false);
    if (nonce === 'stale') return this.#challenge(m, ip, true);

    const o = this.#options;
    const use = auth.qop ? `${nonceId(auth.nonce)}:${auth.nc ?? ''}` : nonceId(auth.nonce);
    const ttl = (this.#nonces.expiresAt(auth.nonce) ?? Date.now()) - Date.now() + 1000;
    const prepared = await this.#store.authPrepare(deviceId, ip, use, ttl);
    if (prepared.deviceFailures >= o.authMaxFailures || prepared.ipFailures >= o.authMaxFailures) {
      this.#stack.reply(m, 403, 'Forbidden');
      return 'locked-out';
    }
    const password = prepared.credential ?? (o.unknownDevices === 'accept' ? o.globalPassword : undefined);
    if (password === undefined) {
      this.#stack.reply(m, 403, 'Forbidden');
      return 'unknown-device';
    }
    // The username is the device id (some devices without a user field send it there too).
    if (auth.username !== deviceId || !verifyDigest({ auth, method: 'REGISTER', realm: o.realm, password })) {
      await this.#store.recordAuthFailure(deviceId, ip, o.authLockoutMs);
      this.#log.warn({ deviceId, ip }, 'REGISTER with wrong credentials');
      this.#stack.reply(m, 403, 'Forbidden');
      return 'wrong-password';
    }
    if (!prepared.nonceFresh) {
      this.#log.warn({ deviceId, ip }, 'REGISTER replayed a used nonce');
      // stale=TRUE: devices that reuse their last nonce for a refresh then simply retry.
      return this.#challenge(m, ip, true, 'replay');
    }
    if (prepared.deviceFailures > 0) void this.#store.clearAuthFailures(deviceId).catch(() => undefined);

    const now = Date.now();
    const requested = requestedExpires(m);
    if (requested === 0) {
      await this.#store.unregister(deviceId, now);
      this.#stack.reply(m, 200, 'OK', { headers: this.#okHeaders(m, 0) });
      this.#log.info({ deviceId, ip }, 'device unregistered');
      return 'unregistered';
    }
    const expiresS = Math.min(Math.max(requested ?? 3600, o.expiresMinS), o.expiresMaxS);
    const expiresAt = now + expiresS * 1000;
    const cameOnline = await this.#store.register({
      id: deviceId,
      transport: request.remote.protocol,
      ip,
      port: request.remote.port,
      now,
      expiresAt,
      deadline: Math.min(expiresAt, now + o.keepaliveWindowMs),
    });
    this.#stack.reply(m, 200, 'OK', { headers: this.#okHeaders(m, expiresS) });
    if (cameOnline) this.#log.info({ deviceId, ip, port: request.remote.port, transport: request.remote.protocol, expiresS }, 'device registered');
    this.#events.onRegistered(deviceId, request, cameOnline);
    return 'registered';
  }

  #challenge(m: SipMessage, ip: string, stale: boolean, outcome: RegisterOutcome = stale ? 'stale' : 'challenged'): RegisterOutcome {
    const nonce = this.#nonces.issue(ip);
    this.#stack.reply(m, 401, 'Unauthorized', {
      headers: { 'www-authenticate': challengeHeader({ realm: this.#options.realm, nonce, qop: this.#options.offerQop, stale }) },
    });
    return outcome;
  }

  #okHeaders(m: SipMessage, expiresS: number): Record<string, unknown> {
    const headers: Record<string, unknown> = { expires: String(expiresS), date: formatGbDate(new Date(), { utcOffsetMinutes: this.#options.dateUtcOffsetMinutes }) };
    if (m.headers.contact) headers.contact = m.headers.contact;
    return headers;
  }
}

/** The Authorization header as our digest parser reads it (the package pre-splits it into fields). */
function authorizationOf(m: SipMessage): DigestAuthorization | undefined {
  const list = m.headers.authorization;
  if (!Array.isArray(list) || list.length === 0) return undefined;
  const a = list[0];
  const fields = Object.entries(a)
    .filter(([k]) => k !== 'scheme')
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
  return parseAuthorization(`${a.scheme ?? ''} ${fields}`);
}

/** Expires from the header, else from the Contact's expires parameter; undefined when neither. */
function requestedExpires(m: SipMessage): number | undefined {
  const header = headerText(m, 'expires');
  if (header !== undefined && /^\s*\d{1,10}\s*$/.test(header)) return Number(header);
  const contact = m.headers.contact;
  if (Array.isArray(contact)) {
    const p = contact[0]?.params?.expires;
    if (typeof p === 'string' && /^\d{1,10}$/.test(p)) return Number(p);
  }
  return undefined;
}
