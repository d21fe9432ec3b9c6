/**
 * Test-only: a tiny GB28181 "platform" on common/sip (stack + digest), independent of signaling/,
 * to drive simulated devices in tests. It challenges REGISTERs (with or without qop), answers
 * keepalives (403 for devices it does not know), records every MESSAGE, and sends queries, PTZ,
 * INVITE/ACK and BYE.
 */
import { randomBytes } from 'node:crypto';
import type { SipMessage } from 'sip';
import { silentLogger } from '../../common/logger.ts';
import { readBody } from '../../common/manscdp/body.ts';
import { buildCatalogQuery, buildDeviceInfoQuery, buildDeviceStatusQuery, buildPtzControl } from '../../common/manscdp/build.ts';
import type { ManscdpMessage } from '../../common/manscdp/messages.ts';
import { NonceIssuer, challengeHeader, parseAuthorization, verifyDigest } from '../../common/sip/digest.ts';
import { formatGbDate } from '../../common/sip/gb-date.ts';
import { uriUser } from '../../common/sip/parse.ts';
import { buildPlayOffer, parseAnswer, subjectHeader, type MediaTransport, type SdpAnswer } from '../../common/sip/sdp.ts';
import { sipRequest } from '../../common/sip/request.ts';
import { SipStack, type IncomingRequest, type SipRemote } from '../../common/sip/stack.ts';

export const PLATFORM_ID = '34020000002000000001';
export const REALM = '3402000000';

export interface MiniPlatformOptions {
  password: string;
  /** Offer qop="auth" in challenges. */
  qop?: boolean;
  /** Expires granted (default: what the device asked). */
  grantExpiresS?: number;
}

export interface Registration {
  deviceId: string;
  expiresS: number;
  remote: SipRemote;
  /** qop the device answered with. */
  qop: string | undefined;
  nc: string | undefined;
  at: number;
}

export interface ReceivedMessage {
  from: string;
  message: ManscdpMessage;
  bytes: Buffer;
  remote: SipRemote;
}

export interface Dialog {
  callId: string;
  fromTag: string;
  toTag: string | undefined;
  remote: SipRemote;
  channelId: string;
  target: string;
  cseq: number;
}

export interface InviteResult {
  status: number;
  answer: SdpAnswer | undefined;
  sdp: string;
  dialog: Dialog;
  response: SipMessage;
}

export class MiniPlatform {
  readonly stack: SipStack;
  readonly registrations: Registration[] = [];
  /** Devices registered now, by ID. */
  readonly devices = new Map<string, Registration>();
  readonly messages: ReceivedMessage[] = [];
  readonly byes: { callId: string; from: string }[] = [];
  readonly rejectedRegisters: { deviceId: string; status: number }[] = [];
  /** Keepalive answer override (e.g. 404 to make devices register again). */
  keepaliveStatus: number | undefined;
  readonly #o: MiniPlatformOptions;
  readonly #nonces = new NonceIssuer({ secret: randomBytes(32) });
  readonly #tag = randomBytes(4).toString('hex');
  #sn = 100;

  private constructor(stack: SipStack, o: MiniPlatformOptions) {
    this.stack = stack;
    this.#o = o;
  }

  static async start(o: MiniPlatformOptions): Promise<MiniPlatform> {
    const holder: { platform?: MiniPlatform } = {};
    const stack = await SipStack.open({
      host: '127.0.0.1',
      port: 0,
      publicAddress: '127.0.0.1',
      logger: silentLogger(),
      onRequest: (r) => holder.platform?.onRequest(r),
    });
    holder.platform = new MiniPlatform(stack, o);
    return holder.platform;
  }

  get port(): number {
    return this.stack.port;
  }

  close(): Promise<void> {
    return this.stack.close();
  }

  onRequest(r: IncomingRequest): void {
    const m = r.message;
    switch (m.method) {
      case 'REGISTER':
        this.#onRegister(r);
        return;
      case 'MESSAGE': {
        const from = uriUser(m.headers.from?.uri) ?? '';
        const body = readBody(r.body);
        if (!body.ok) {
          this.stack.reply(m, 400, 'Bad Request');
          return;
        }
        this.messages.push({ from, message: body.message, bytes: r.body, remote: r.remote });
        if (body.message.kind === 'keepalive') {
          const status = this.keepaliveStatus ?? (this.devices.has(from) ? 200 : 403);
          this.stack.reply(m, status, status === 200 ? 'OK' : 'Refused');
          return;
        }
        this.stack.reply(m, 200, 'OK');
        return;
      }
      case 'BYE':
        this.byes.push({ callId: m.headers['call-id'], from: uriUser(m.headers.from?.uri) ?? '' });
        this.stack.reply(m, 200, 'OK');
        return;
      case 'ACK':
        return;
      default:
        this.stack.reply(m, 405, 'Method Not Allowed');
    }
  }

  #onRegister(r: IncomingRequest): void {
    const m = r.message;
    const deviceId = uriUser(m.headers.from?.uri) ?? '';
    const list = m.headers.authorization;
    const fields = Array.isArray(list) && list[0] ? list[0] : undefined;
    const auth = fields
      ? parseAuthorization(
          `${fields.scheme ?? ''} ${Object.entries(fields)
            .filter(([k]) => k !== 'scheme')
            .map(([k, v]) => `${k}=${v}`)
            .join(', ')}`,
        )
      : undefined;
    if (!auth || this.#nonces.verify(auth.nonce, r.remote.address) !== 'ok') {
      this.stack.reply(m, 401, 'Unauthorized', {
        headers: { 'www-authenticate': challengeHeader({ realm: REALM, nonce: this.#nonces.issue(r.remote.address), qop: this.#o.qop ?? false }) },
      });
      return;
    }
    if (auth.username !== deviceId || !verifyDigest({ auth, method: 'REGISTER', realm: REALM, password: this.#o.password })) {
      this.rejectedRegisters.push({ deviceId, status: 403 });
      this.stack.reply(m, 403, 'Forbidden');
      return;
    }
    const asked = Number(typeof m.headers.expires === 'string' ? m.headers.expires : 3600);
    const expiresS = asked === 0 ? 0 : (this.#o.grantExpiresS ?? asked);
    const reg: Registration = { deviceId, expiresS, remote: r.remote, qop: auth.qop, nc: auth.nc, at: Date.now() };
    this.registrations.push(reg);
    if (expiresS === 0) this.devices.delete(deviceId);
    else this.devices.set(deviceId, reg);
    this.stack.reply(m, 200, 'OK', { headers: { expires: String(expiresS), date: formatGbDate(new Date()), contact: m.headers.contact } });
  }

  #remoteOf(deviceId: string): SipRemote {
    const reg = this.devices.get(deviceId);
    if (!reg) throw new Error(`device ${deviceId} is not registered`);
    return reg.remote;
  }

  /** Sends a MESSAGE with `body` to a device (to `target`, default the device); resolves with the status. */
  sendMessage(deviceId: string, body: Buffer | string, target = deviceId): Promise<number> {
    const remote = this.#remoteOf(deviceId);
    const message = sipRequest({
      method: 'MESSAGE',
      uri: `sip:${target}@${remote.address}:${remote.port}`,
      from: { uri: `sip:${PLATFORM_ID}@${REALM}`, params: { tag: this.#tag } },
      to: { uri: `sip:${target}@${REALM}`, params: {} },
      callId: `${randomBytes(8).toString('hex')}@127.0.0.1`,
      cseq: 1,
      body: { contentType: 'Application/MANSCDP+xml', bytes: typeof body === 'string' ? Buffer.from(body, 'latin1') : body },
    });
    return this.#final(remote, message).then((r) => r.status ?? 0);
  }

  /** Sends a query; resolves with its SN and the MESSAGE status. */
  async query(deviceId: string, kind: 'Catalog' | 'DeviceInfo' | 'DeviceStatus', target = deviceId): Promise<{ sn: number; status: number }> {
    const sn = ++this.#sn;
    const build = kind === 'Catalog' ? buildCatalogQuery : kind === 'DeviceInfo' ? buildDeviceInfoQuery : buildDeviceStatusQuery;
    const status = await this.sendMessage(deviceId, build({ sn, deviceId: target }), target);
    return { sn, status };
  }

  async ptz(deviceId: string, channelId: string, ptzCmd: string): Promise<number> {
    return this.sendMessage(deviceId, buildPtzControl({ sn: ++this.#sn, channelId, ptzCmd }), channelId);
  }

  /** INVITE a channel; ACKs a 2xx at once unless `ack` is false. */
  async invite(
    deviceId: string,
    channelId: string,
    o: { transport: MediaTransport; mediaPort: number; ssrc: string; ack?: boolean; sdp?: string },
  ): Promise<InviteResult> {
    const remote = this.#remoteOf(deviceId);
    const dialog: Dialog = {
      callId: `${randomBytes(8).toString('hex')}@127.0.0.1`,
      fromTag: randomBytes(4).toString('hex'),
      toTag: undefined,
      remote,
      channelId,
      target: `sip:${channelId}@${remote.address}:${remote.port}`,
      cseq: 1,
    };
    const sdp = o.sdp ?? buildPlayOffer({ channelId, mediaIp: '127.0.0.1', mediaPort: o.mediaPort, ssrc: o.ssrc, transport: o.transport });
    const message = sipRequest({
      method: 'INVITE',
      uri: dialog.target,
      from: { uri: `sip:${PLATFORM_ID}@${REALM}`, params: { tag: dialog.fromTag } },
      to: { uri: `sip:${channelId}@${REALM}`, params: {} },
      callId: dialog.callId,
      cseq: dialog.cseq,
      headers: {
        contact: [{ uri: `sip:${PLATFORM_ID}@127.0.0.1:${this.stack.port}`, params: {} }],
        subject: subjectHeader(channelId, o.ssrc, PLATFORM_ID),
      },
      body: { contentType: 'APPLICATION/SDP', bytes: Buffer.from(sdp, 'latin1') },
    });
    const response = await this.#final(remote, message);
    const status = response.status ?? 0;
    const body = response.content ?? '';
    dialog.toTag = response.headers.to?.params?.tag ?? undefined;
    const contact = Array.isArray(response.headers.contact) ? response.headers.contact[0]?.uri : undefined;
    if (contact) dialog.target = contact;
    if (status >= 200 && status < 300 && o.ack !== false) this.ack(dialog);
    return { status, answer: body ? parseAnswer(body) : undefined, sdp: body, dialog, response };
  }

  ack(d: Dialog): void {
    this.stack.sendAck(d.remote, this.#inDialog(d, 'ACK', d.cseq));
  }

  async bye(d: Dialog): Promise<number> {
    const r = await this.#final(d.remote, this.#inDialog(d, 'BYE', ++d.cseq));
    return r.status ?? 0;
  }

  #inDialog(d: Dialog, method: string, cseq: number): SipMessage {
    return sipRequest({
      method,
      uri: d.target,
      from: { uri: `sip:${PLATFORM_ID}@${REALM}`, params: { tag: d.fromTag } },
      to: { uri: `sip:${d.channelId}@${REALM}`, params: d.toTag ? { tag: d.toTag } : {} },
      callId: d.callId,
      cseq,
    });
  }


  /** Sends any request and resolves with the final response. */
  request(remote: SipRemote, message: SipMessage): Promise<SipMessage> {
    return this.#final(remote, message);
  }

  #final(remote: SipRemote, message: SipMessage): Promise<SipMessage> {
    return new Promise((resolve) => {
      this.stack.request(remote, message, (response) => {
        if ((response.status ?? 0) >= 200) resolve(response);
      });
    });
  }
}

/** Polls until `probe` returns a truthy value (returned), or throws after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => T | undefined | false, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
