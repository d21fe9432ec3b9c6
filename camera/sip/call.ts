/**
 * One media session of a simulated device: an INVITE answered with our SDP, media started on the
 * ACK (or, for TCP with the platform dialing us, as soon as it connects), ended by a BYE from either
 * side.
 *
 *   answering ──200 OK──► answered ──ACK──► active ──BYE / media over──► ended
 *        └── CANCEL, no ACK within 32 s, setup failure ──────────────────────┘
 *
 * Over UDP the 200 is retransmitted (500 ms doubling to 4 s) until the ACK arrives (RFC 3261 13.3.1.4).
 */
import type dgram from 'node:dgram';
import net from 'node:net';
import type { SipMessage } from 'sip';
import type { Logger } from '../../common/logger.ts';
import { sipRequest } from '../../common/sip/request.ts';
import type { IncomingRequest, SipRemote, SipStack } from '../../common/sip/stack.ts';
import type { AudioSource } from '../media/audio-source.ts';
import type { EndReason, MediaStats, Pacing } from '../media/media-sender.ts';
import { emptyStats } from '../media/media-sender.ts';
import { startMediaStream, type MediaStream, type MediaStreamOptions } from '../media/stream.ts';
import { createSharedUdpSocket, TcpListener } from '../media/transports.ts';
import type { VideoSource } from '../media/video-source.ts';
import { psQuirksOf, type Quirk } from './quirks.ts';
import { hostForUri } from './registration.ts';
import { SDP_CONTENT_TYPE, randomTag, sendRequest, withTimeout } from './requests.ts';
import { answerY, buildAnswer, type MediaPlan } from './sdp-answer.ts';

/** What a device streams (sources are loaded once per process and shared by every call). */
export interface DeviceMedia {
  video?: VideoSource;
  audio?: AudioSource;
  /** Video frame rate (default 25). */
  fps?: number;
  /** Loop the file forever (default); otherwise the device hangs up when it ends. */
  loop: boolean;
  pacing?: Pacing;
}

export interface CallContext {
  stack: SipStack;
  log: Logger;
  deviceId: string;
  /** Our address in the SDP answer. */
  mediaIp: string;
  /** Address the media sockets bind to (undefined: any). */
  bindAddress: string | undefined;
  media: DeviceMedia;
  quirks: ReadonlySet<Quirk>;
  /** Called once when the call ends, whatever ended it. */
  onEnded(call: Call, reason: CallEndReason): void;
}

export type CallState = 'answering' | 'answered' | 'active' | 'ended';

export type CallEndReason =
  | 'remote-bye'
  | 'media-end'
  | 'media-closed'
  | 'media-error'
  | 'no-ack'
  | 'cancelled'
  | 'setup-failed'
  | 'device-stopped'
  /** Hung up on purpose (SimulatedDevice.hangUp). */
  | 'hung-up';

/** What tests and logs see of a call. */
export interface CallInfo {
  callId: string;
  channelId: string;
  transport: MediaPlan['transport'];
  /** Where the media goes (udp, tcp-connect). */
  peer: string;
  /** Our media port as answered. */
  localPort: number;
  /** The SSRC on the wire. */
  rtpSsrc: number;
  state: CallState;
  stats: MediaStats;
}

const T1_MS = 500;
const T2_MS = 4000;
const ACK_TIMEOUT_MS = 64 * T1_MS;
/** tcp-listen: a platform that has not dialed us this long after its ACK is not coming. */
const CONNECT_TIMEOUT_MS = 30_000;
const BYE_TIMEOUT_MS = 5000;

export class Call {
  readonly callId: string;
  readonly channelId: string;
  readonly plan: MediaPlan;
  readonly remote: SipRemote;
  readonly #ctx: CallContext;
  readonly #invite: SipMessage;
  readonly #toTag = randomTag();
  /** The SSRC RTP is sent with (quirks may make it differ from the offer's). */
  readonly rtpSsrc: number;
  readonly #foreignSsrc: number | undefined;
  #state: CallState = 'answering';
  #localPort = 0;
  #localCseq = 1;
  #answerSdp = '';
  #udpSocket: dgram.Socket | undefined;
  #media: MediaStream | undefined;
  #silentListener: TcpListener | undefined;
  #silentSocket: net.Socket | undefined;
  #retransmit: NodeJS.Timeout | undefined;
  #ackTimer: NodeJS.Timeout | undefined;
  #ending: Promise<void> | undefined;
  #endReason: CallEndReason | undefined;
  readonly #stats: MediaStats = emptyStats();

  constructor(ctx: CallContext, request: IncomingRequest, channelId: string, plan: MediaPlan) {
    this.#ctx = ctx;
    this.#invite = request.message;
    this.remote = request.remote;
    this.callId = request.message.headers['call-id'];
    this.channelId = channelId;
    this.plan = plan;
    if (ctx.quirks.has('foreign-y')) {
      // A device-chosen SSRC: live kind, our channel's last digits, never the offered one.
      let own = Number(`0${channelId.slice(3, 8)}${channelId.slice(-4)}`);
      if (own === plan.ssrc) own = (own + 1) % 1e10;
      this.#foreignSsrc = own;
    }
    this.rtpSsrc = ctx.quirks.has('ssrc0') ? 0 : (this.#foreignSsrc ?? plan.ssrc);
  }

  get state(): CallState {
    return this.#state;
  }

  get endReason(): CallEndReason | undefined {
    return this.#endReason;
  }

  info(): CallInfo {
    return {
      callId: this.callId,
      channelId: this.channelId,
      transport: this.plan.transport,
      peer: `${this.plan.host}:${this.plan.port}`,
      localPort: this.#localPort,
      rtpSsrc: this.rtpSsrc,
      state: this.#state,
      stats: this.#media?.stats ?? this.#stats,
    };
  }

  /** Prepares the media side and sends the 200 OK (or an error response). Never rejects. */
  async answer(): Promise<void> {
    try {
      this.#localPort = await this.#prepare();
      if (this.#state !== 'answering') {
        await this.#release(); // cancelled or stopped while we were binding
        return;
      }
      this.#answer();
    } catch (err) {
      this.#ctx.log.warn({ err, callId: this.callId, channelId: this.channelId }, 'could not prepare the media of an INVITE');
      if (this.#state === 'answering') this.#ctx.stack.reply(this.#invite, 500, 'Server Internal Error');
      await this.end('setup-failed', false);
    }
  }

  #answer(): void {
    const q = this.#ctx.quirks;
    this.#answerSdp = buildAnswer({
      username: this.#ctx.deviceId,
      ip: this.#ctx.mediaIp,
      port: this.#localPort,
      transport: this.plan.transport,
      payloadType: this.plan.payloadType,
      sessionName: this.plan.sessionName,
      time: this.plan.time,
      y: answerY(this.plan, { noY: q.has('no-y'), padded: q.has('padded-y'), foreign: this.#foreignSsrc }),
    });
    this.#state = 'answered';
    this.#send200();
    if (this.remote.protocol === 'UDP') this.#scheduleRetransmit(T1_MS);
    this.#ackTimer = setTimeout(() => {
      this.#ctx.log.warn({ callId: this.callId, channelId: this.channelId }, 'no ACK for our 200 OK: hanging up');
      void this.end('no-ack', true);
    }, ACK_TIMEOUT_MS);
    this.#ackTimer.unref();
  }

  /** The 200 OK's SDP (for tests and logs). */
  get answerSdp(): string {
    return this.#answerSdp;
  }

  /** A CANCEL for our INVITE: only effective before the 200 went out. */
  cancel(): boolean {
    if (this.#state !== 'answering') return false;
    this.#ctx.stack.reply(this.#invite, 487, 'Request Terminated');
    void this.end('cancelled', false);
    return true;
  }

  onAck(): void {
    if (this.#state !== 'answered') return;
    this.#clearTimers();
    this.#state = 'active';
    this.#ctx.log.info({ callId: this.callId, channelId: this.channelId, transport: this.plan.transport, to: this.info().peer, ssrc: this.rtpSsrc }, 'call up');
    if (this.#ctx.quirks.has('no-media')) return;
    if (this.plan.transport === 'tcp-listen') {
      // Streaming starts when the platform dials the port of our answer.
      this.#ackTimer = setTimeout(() => {
        if (this.#state !== 'active' || (this.#media && this.#media.stats.packets > 0)) return;
        this.#ctx.log.warn({ callId: this.callId, port: this.#localPort }, 'the platform never connected for the media: hanging up');
        void this.end('media-error', true);
      }, CONNECT_TIMEOUT_MS);
      this.#ackTimer.unref();
      return;
    }
    this.#startSending().catch((err: unknown) => {
      this.#ctx.log.warn({ err, callId: this.callId, to: this.info().peer }, 'media could not start: hanging up');
      void this.end('media-error', true);
    });
  }

  /**
   * Ends the call once: stops the media, closes the sockets, and sends a BYE when `bye` is set and
   * the platform has our 200. Resolves when all that is done (the BYE's answer waited for ≤ 5 s).
   */
  end(reason: CallEndReason, bye: boolean): Promise<void> {
    if (this.#ending) return this.#ending;
    const wasUp = this.#state === 'answered' || this.#state === 'active';
    this.#state = 'ended';
    this.#endReason = reason;
    this.#clearTimers();
    this.#ending = (async () => {
      const sending = bye && wasUp ? this.#sendBye() : Promise.resolve();
      await this.#release();
      await sending;
      try {
        this.#ctx.onEnded(this, reason);
      } catch (err) {
        this.#ctx.log.error({ err, callId: this.callId }, 'call end handler threw');
      }
    })();
    return this.#ending;
  }

  /** Binds what the answer must name; returns our media port. */
  async #prepare(): Promise<number> {
    const { plan } = this;
    const bind = this.#ctx.bindAddress;
    if (plan.transport === 'udp') {
      const family = net.isIPv6(plan.host) ? 'udp6' : 'udp4';
      this.#udpSocket = await createSharedUdpSocket(family, bind);
      return this.#udpSocket.address().port;
    }
    if (plan.transport === 'tcp-connect') {
      // Our source port is only known once connected; name a port that was free a moment ago and
      // dial from it (or from any port should it be taken meanwhile).
      return freeTcpPort(bind);
    }
    if (this.#ctx.quirks.has('no-media')) {
      // Accept the platform's connection and never send a byte on it.
      this.#silentListener = await TcpListener.listen(0, bind);
      this.#silentListener.accept().then(
        (socket) => {
          socket.on('error', () => {});
          socket.on('data', () => {});
          if (this.#state === 'ended') socket.destroy();
          else this.#silentSocket = socket;
        },
        () => {},
      );
      return this.#silentListener.port;
    }
    this.#media = await startMediaStream({ ...this.#mediaOptions(), transport: 'tcp-listen', localPort: 0, localAddress: bind });
    this.#watch(this.#media);
    return this.#media.localPort ?? 0;
  }

  async #startSending(): Promise<void> {
    const { plan } = this;
    let media: MediaStream;
    if (plan.transport === 'udp') {
      media = await startMediaStream({ ...this.#mediaOptions(), transport: 'udp', host: plan.host, port: plan.port, udpSocket: this.#udpSocket });
    } else {
      const options = { ...this.#mediaOptions(), transport: 'tcp-connect' as const, host: plan.host, port: plan.port, localAddress: this.#ctx.bindAddress };
      try {
        media = await startMediaStream({ ...options, localPort: this.#localPort });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
        media = await startMediaStream(options);
      }
    }
    if (this.#state !== 'active') {
      await media.stop();
      return;
    }
    this.#media = media;
    this.#watch(media);
  }

  #mediaOptions(): Omit<MediaStreamOptions, 'transport'> {
    const m = this.#ctx.media;
    return {
      video: m.video,
      audio: m.audio ?? 'none',
      fps: m.fps,
      loop: m.loop,
      pacing: m.pacing,
      ssrc: this.rtpSsrc,
      payloadType: this.plan.payloadType,
      tcpFraming: this.#ctx.quirks.has('interleaved') ? 'interleaved' : 'rfc4571',
      quirks: psQuirksOf(this.#ctx.quirks),
    };
  }

  #watch(media: MediaStream): void {
    media.done.then((reason: EndReason) => {
      if (reason === 'stopped' || this.#state === 'ended') return;
      const why: CallEndReason = reason === 'end' ? 'media-end' : reason === 'closed' ? 'media-closed' : 'media-error';
      this.#ctx.log.info({ callId: this.callId, channelId: this.channelId, reason }, 'media ended: hanging up');
      void this.end(why, true);
    }, () => {});
  }

  #send200(): void {
    const to = this.#invite.headers.to;
    this.#ctx.stack.reply(this.#invite, 200, 'OK', {
      headers: {
        to: { ...to, params: { ...to.params, tag: this.#toTag } },
        contact: [{ uri: `sip:${this.channelId}@${hostForUri(this.#ctx.stack.publicAddress)}:${this.#ctx.stack.port}`, params: {} }],
        'user-agent': 'gbcast-camera',
      },
      body: Buffer.from(this.#answerSdp, 'latin1'),
      contentType: SDP_CONTENT_TYPE,
    });
  }

  #scheduleRetransmit(delay: number): void {
    this.#retransmit = setTimeout(() => {
      if (this.#state !== 'answered') return;
      this.#send200();
      this.#scheduleRetransmit(Math.min(delay * 2, T2_MS));
    }, delay);
    this.#retransmit.unref();
  }

  #clearTimers(): void {
    clearTimeout(this.#retransmit);
    clearTimeout(this.#ackTimer);
    this.#retransmit = undefined;
    this.#ackTimer = undefined;
  }

  async #sendBye(): Promise<void> {
    const h = this.#invite.headers;
    const contact = Array.isArray(h.contact) ? h.contact[0]?.uri : undefined;
    const message = sipRequest({
      method: 'BYE',
      uri: typeof contact === 'string' && contact !== '' ? contact : h.from.uri,
      from: { ...h.to, params: { ...h.to.params, tag: this.#toTag } },
      to: { ...h.from, params: { ...h.from.params } },
      callId: this.callId,
      cseq: this.#localCseq++,
    });
    const response = await withTimeout(sendRequest(this.#ctx.stack, this.remote, message), BYE_TIMEOUT_MS, undefined);
    this.#ctx.log.debug({ callId: this.callId, status: response?.status }, 'BYE answered');
  }

  async #release(): Promise<void> {
    const media = this.#media;
    this.#media = undefined;
    if (media) {
      const s = media.stats;
      Object.assign(this.#stats, s);
      await media.stop().catch(() => {});
    }
    if (this.#silentListener) {
      await this.#silentListener.close().catch(() => {});
      this.#silentListener = undefined;
    }
    this.#silentSocket?.destroy();
    this.#silentSocket = undefined;
    if (this.#udpSocket) {
      const socket = this.#udpSocket;
      this.#udpSocket = undefined;
      await new Promise<void>((resolve) => {
        try {
          socket.close(() => resolve());
        } catch {
          resolve();
        }
      });
    }
  }
}

/** A TCP port that is free right now on `host`. */
async function freeTcpPort(host: string | undefined): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
