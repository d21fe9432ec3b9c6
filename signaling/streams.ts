/**
 * Stream sessions: play a channel through the least-loaded streamer, and end it from any side.
 *
 * play(device, channel):
 *   1. the channel's running stream, if any, is the answer (one stream per channel);
 *   2. reserve the least-loaded live, non-draining streamer of the device's pool (atomic, Redis);
 *   3. claim a unique GB SSRC, open a receiver on the streamer for it;
 *   4. INVITE the device with the streamer's public address and port; read its SDP answer; ACK;
 *   5. tell the streamer where media comes from (tcp-active: where to dial);
 *   6. answer with the RTMP and HTTP-FLV URLs.
 * Any failure releases what was taken (claim, SSRC, reservation, receiver) and says why.
 *
 * end(stream): by the API, the device's BYE, or the streamer's receiver.closed event (no media).
 * Whichever replica removes the session from Redis first sends the BYE and closes the receiver.
 */
import { randomBytes } from 'node:crypto';
import type { SipMessage } from 'sip';
import type { GbcastEvent, MediaTransport, OpenReceiverResponse, StreamerRecord } from '../common/contracts.ts';
import type { Logger } from '../common/logger.ts';
import type { DeviceConfig, DeviceRecord, DeviceStore } from '../common/store/device-store.ts';
import type { StreamSession, StreamStore } from '../common/store/stream-store.ts';
import { buildPlayOffer, parseAnswer, subjectHeader } from '../common/sip/sdp.ts';
import { SsrcAllocator } from '../common/sip/ssrc.ts';
import { sipRequest } from '../common/sip/request.ts';
import type { IncomingRequest, SipRemote, SipStack } from '../common/sip/stack.ts';
import type { SignalingStats } from './metrics.ts';

export interface StreamsOptions {
  serverId: string;
  realm: string;
  /** The pool of devices without one of their own. */
  defaultPool: string;
  /** `{channelId}`, `{deviceId}` and `{streamId}` are replaced; undefined: no RTMP push unless asked. */
  rtmpUrlTemplate?: string;
  defaultTransport: MediaTransport;
  /** How long the device may take to answer the INVITE. */
  inviteTimeoutMs: number;
  /** Timeout of each call to a streamer's API. */
  streamerTimeoutMs: number;
}

export interface PlayRequest {
  rtmpUrl?: string;
  transport?: MediaTransport;
}

export interface PlayResult {
  streamId: string;
  ssrc: string;
  rtmpUrl?: string;
  flvUrl: string;
  transport: MediaTransport;
  reused: boolean;
  streamer: { id: string; address: string; port: number };
}

/** A failure with the HTTP status the API answers and a reason an operator can act on. */
export class PlayError extends Error {
  readonly status: number;
  readonly reason: string;
  constructor(status: number, reason: string, message: string) {
    super(message);
    this.status = status;
    this.reason = reason;
  }
}

export type StreamEndReason =
  | 'api'
  | 'device-bye'
  | 'no-media'
  | 'receiver-closed'
  | 'invite-failed'
  | 'no-viewers'
  | 'shutdown'
  /** Its streamer stopped answering its health probe, or restarted (and lost the receiver). */
  | 'streamer-gone'
  /** Moved off a draining streamer (always-on channels). */
  | 'streamer-draining';

/**
 * Called by the replica that ended a stream, right after it removed the stream from the store;
 * `done` resolves once the device answered the BYE (or was given up on) and the receiver is closed.
 */
export type StreamEndListener = (session: StreamSession, reason: StreamEndReason, done: Promise<void>) => void;

/** How long end() waits for the device's answer to the BYE (the transaction goes on without us). */
const BYE_WAIT_MS = 1000;

interface InviteAnswer {
  response: SipMessage;
  body: Buffer;
}

export class Streams {
  readonly #options: StreamsOptions;
  readonly #stack: SipStack;
  readonly #devices: DeviceStore;
  readonly #store: StreamStore;
  readonly #log: Logger;
  readonly #stats: SignalingStats;
  readonly #ssrcs: SsrcAllocator;
  readonly #localTag = randomBytes(4).toString('hex');
  readonly #endListeners = new Set<StreamEndListener>();

  constructor(options: StreamsOptions, stack: SipStack, devices: DeviceStore, store: StreamStore, log: Logger, stats: SignalingStats) {
    this.#options = options;
    this.#stack = stack;
    this.#devices = devices;
    this.#store = store;
    this.#log = log;
    this.#stats = stats;
    this.#ssrcs = new SsrcAllocator({ domain: options.realm, startSequence: 1 + Math.floor(Math.random() * 9000) });
  }

  /** Every stream this replica ends is reported to the listener; the returned function unsubscribes. */
  onEnded(listener: StreamEndListener): () => void {
    this.#endListeners.add(listener);
    return () => this.#endListeners.delete(listener);
  }

  async play(deviceId: string, channelId: string, request: PlayRequest): Promise<PlayResult> {
    const started = Date.now();
    const [device, config] = await Promise.all([this.#devices.get(deviceId), this.#devices.getConfig(deviceId)]);
    if (!device) throw new PlayError(404, 'unknown-device', `no device ${deviceId}`);
    if (!device.online) throw new PlayError(409, 'device-offline', `device ${deviceId} is offline`);
    const streamId = `${channelId}-${randomBytes(4).toString('hex')}`;
    const claim = await this.#store.claimChannel(deviceId, channelId, streamId);
    if (!claim.claimed) return this.#existing(claim.streamId, deviceId, channelId, request);
    try {
      const result = await this.#start(device, config, channelId, streamId, request);
      this.#stats.inviteOutcomes.ok++;
      if (this.#stats.inviteSetupMs.length < 10_000) this.#stats.inviteSetupMs.push(Date.now() - started);
      return result;
    } catch (err) {
      const reason = err instanceof PlayError ? err.reason : 'error';
      this.#stats.inviteOutcomes[reason] = (this.#stats.inviteOutcomes[reason] ?? 0) + 1;
      throw err;
    }
  }

  /** The channel already streams: that stream is the answer, once it is set up. */
  async #existing(streamId: string, deviceId: string, channelId: string, request: PlayRequest): Promise<PlayResult> {
    const deadline = Date.now() + this.#options.inviteTimeoutMs + this.#options.streamerTimeoutMs * 2;
    for (;;) {
      const s = await this.#store.get(streamId);
      if (s && s.state === 'live') {
        return {
          streamId: s.streamId,
          ssrc: s.ssrc,
          rtmpUrl: s.rtmpUrl,
          flvUrl: s.flvUrl,
          transport: s.transport,
          reused: true,
          streamer: { id: s.streamerId, address: s.streamerAddress, port: s.streamerPort },
        };
      }
      // A session stuck in 'inviting' (its replica died mid-INVITE): end it and start afresh.
      if (s && s.state === 'inviting' && Date.now() - s.createdAt > this.#options.inviteTimeoutMs + this.#options.streamerTimeoutMs * 2) {
        await this.end(s.streamId, 'invite-failed');
        return this.play(deviceId, channelId, request);
      }
      // The claim outlived a session that failed to start: take the channel over.
      if (!s && Date.now() > deadline - this.#options.inviteTimeoutMs) {
        await this.#store.remove({ streamId, deviceId, channelId, ssrc: '', callId: '' });
        return this.play(deviceId, channelId, request);
      }
      if (Date.now() > deadline) throw new PlayError(504, 'busy', `stream ${streamId} of channel ${channelId} is still being set up`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async #start(device: DeviceRecord, config: DeviceConfig | undefined, channelId: string, streamId: string, request: PlayRequest): Promise<PlayResult> {
    const o = this.#options;
    const transport = request.transport ?? config?.transport ?? o.defaultTransport;
    const pool = config?.pool ?? o.defaultPool;
    const rtmpUrl = request.rtmpUrl ?? (o.rtmpUrlTemplate ? fillTemplate(o.rtmpUrlTemplate, { channelId, deviceId: device.id, streamId }) : undefined);
    let streamer: StreamerRecord | undefined;
    let ssrc: string | undefined;
    let receiverOpen = false;
    const callId = `${randomBytes(10).toString('hex')}@${this.#stack.publicAddress}`;
    const release = async (why: string) => {
      if (receiverOpen && streamer) await this.#closeReceiver(streamer.url, streamId).catch(() => undefined);
      if (streamer) await this.#store.unreserveStreamer(pool, streamer.id).catch(() => undefined);
      await this.#store.remove({ streamId, deviceId: device.id, channelId, ssrc: ssrc ?? '', callId }).catch(() => undefined);
      this.#log.warn({ deviceId: device.id, channelId, streamId, why }, 'play failed');
    };
    try {
      streamer = await this.#store.pickStreamer(pool);
      if (!streamer) throw new PlayError(503, 'no-streamer', `no live, non-draining streamer in pool ${pool}`);
      ssrc = await this.#claimSsrc(streamId);
      // The device's media address: its SIP address until the answer says otherwise. tcp-active needs
      // the port from the answer, so its peer is handed over after the INVITE.
      const peer = transport === 'tcp-active' ? {} : { peer: { ip: device.ip } };
      const opened = await this.#openReceiver(streamer, { streamId, ssrc, transport, ...(rtmpUrl ? { rtmpUrl } : {}), ...peer });
      receiverOpen = true;
      const remote: SipRemote = { protocol: device.transport, address: device.ip, port: device.port };
      const session: StreamSession = {
        streamId,
        deviceId: device.id,
        channelId,
        ssrc,
        transport,
        streamerId: streamer.id,
        streamerUrl: streamer.url,
        streamerStartedAt: streamer.startedAt,
        streamerAddress: opened.address,
        streamerPort: opened.port,
        rtmpUrl,
        flvUrl: `${streamer.url}/live/${streamId}.flv`,
        state: 'inviting',
        createdAt: Date.now(),
        callId,
        fromTag: this.#localTag,
        cseq: 1,
        sipTransport: device.transport,
        sipIp: device.ip,
        sipPort: device.port,
        remoteTarget: `sip:${channelId}@${device.ip}:${device.port}`,
      };
      await this.#store.save(session);
      await this.#store.indexCallId(callId, streamId);
      const answer = await this.#invite(session, remote);
      const sdp = parseAnswer(answer.body.toString('latin1'));
      const toTag = answer.response.headers.to?.params?.tag ?? undefined;
      const contact = Array.isArray(answer.response.headers.contact) ? answer.response.headers.contact[0]?.uri : undefined;
      session.toTag = toTag ?? undefined;
      if (contact) session.remoteTarget = contact;
      this.#ack(session, remote);
      if (sdp.problems.length > 0) this.#log.info({ streamId, problems: sdp.problems }, 'SDP answer oddities');
      if (transport === 'tcp-active') {
        const ip = sdp.connectionIp ?? device.ip;
        if (!sdp.mediaPort) {
          await this.#bye(session);
          throw new PlayError(502, 'bad-answer', 'the device answered tcp-active without a media port to dial');
        }
        await this.#setPeer(streamer.url, streamId, { ip, port: sdp.mediaPort });
      } else if (sdp.connectionIp && sdp.connectionIp !== device.ip) {
        await this.#setPeer(streamer.url, streamId, { ip: sdp.connectionIp });
      }
      session.state = 'live';
      await this.#store.update(streamId, { state: 'live', toTag: session.toTag, remoteTarget: session.remoteTarget });
      this.#log.info({ deviceId: device.id, channelId, streamId, streamer: streamer.id, transport, ssrc }, 'stream started');
      return {
        streamId,
        ssrc,
        rtmpUrl,
        flvUrl: session.flvUrl,
        transport,
        reused: false,
        streamer: { id: streamer.id, address: opened.address, port: opened.port },
      };
    } catch (err) {
      await release(err instanceof Error ? err.message : String(err));
      if (err instanceof PlayError) throw err;
      throw new PlayError(500, 'error', err instanceof Error ? err.message : String(err));
    }
  }

  async #claimSsrc(streamId: string): Promise<string> {
    let tries = 0;
    for (const candidate of this.#ssrcs.candidates('live')) {
      if (await this.#store.claimSsrc(candidate, streamId)) return candidate;
      if (++tries >= 100) break;
    }
    throw new PlayError(503, 'no-ssrc', 'no free SSRC');
  }

  #invite(session: StreamSession, remote: SipRemote): Promise<InviteAnswer> {
    const o = this.#options;
    const sdp = buildPlayOffer({
      channelId: session.channelId,
      mediaIp: session.streamerAddress,
      mediaPort: session.streamerPort,
      ssrc: session.ssrc,
      transport: session.transport,
    });
    const message = sipRequest({
      method: 'INVITE',
      uri: session.remoteTarget,
      from: { uri: `sip:${o.serverId}@${o.realm}`, params: { tag: session.fromTag } },
      to: { uri: `sip:${session.channelId}@${o.realm}`, params: {} },
      callId: session.callId,
      cseq: session.cseq,
      headers: {
        contact: [{ uri: `sip:${o.serverId}@${this.#stack.publicAddress}:${this.#stack.port}`, params: {} }],
        subject: subjectHeader(session.channelId, session.ssrc, o.serverId),
      },
      body: { contentType: 'APPLICATION/SDP', bytes: Buffer.from(sdp, 'latin1') },
    });
    return new Promise<InviteAnswer>((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => {
        if (settled) return;
        settled = true;
        reject(new PlayError(504, 'invite-timeout', `device did not answer the INVITE within ${o.inviteTimeoutMs} ms`));
      }, o.inviteTimeoutMs);
      this.#stack.request(remote, message, (response, body) => {
        const status = response.status ?? 0;
        if (status < 200) return;
        if (settled) {
          // A late 200 after we gave up: accept and hang up at once so the device stops streaming.
          if (status < 300) {
            const late = { ...session, toTag: response.headers.to?.params?.tag ?? undefined };
            this.#ack(late, remote);
            void this.#bye(late);
          }
          return;
        }
        settled = true;
        clearTimeout(timer);
        if (status >= 300) {
          reject(new PlayError(502, `invite-${status}`, `device answered the INVITE with ${status} ${response.reason ?? ''}`.trim()));
          return;
        }
        resolve({ response, body });
      });
    });
  }

  #dialogRequest(session: StreamSession, method: 'ACK' | 'BYE', cseq: number): SipMessage {
    const o = this.#options;
    return sipRequest({
      method,
      uri: session.remoteTarget,
      from: { uri: `sip:${o.serverId}@${o.realm}`, params: { tag: session.fromTag } },
      to: { uri: `sip:${session.channelId}@${o.realm}`, params: session.toTag ? { tag: session.toTag } : {} },
      callId: session.callId,
      cseq,
    });
  }


  #ack(session: StreamSession, remote: SipRemote): void {
    this.#stack.sendAck(remote, this.#dialogRequest(session, 'ACK', session.cseq));
  }

  /** Sends the BYE; resolves with the device's final status, or 0 when it did not answer within `waitMs`. */
  #bye(session: StreamSession, waitMs = Infinity): Promise<number> {
    const remote: SipRemote = { protocol: session.sipTransport, address: session.sipIp, port: session.sipPort };
    return new Promise((resolve) => {
      const timer = Number.isFinite(waitMs) ? setTimeout(() => resolve(0), waitMs) : undefined;
      this.#stack.request(remote, this.#dialogRequest(session, 'BYE', session.cseq + 1), (response) => {
        if ((response.status ?? 0) < 200) return;
        clearTimeout(timer);
        resolve(response.status ?? 0);
      });
    });
  }

  /**
   * Ends a stream; false when it was not (or no longer) there. Resolves once the device answered
   * the BYE (at most BYE_WAIT_MS: a device that cannot take a new INVITE for the channel before
   * hanging up has by then) and the receiver is closed.
   */
  async end(streamId: string, reason: StreamEndReason, sendBye = true): Promise<boolean> {
    const session = await this.#store.get(streamId);
    if (!session) return false;
    if (!(await this.#store.remove(session))) return false;
    this.#stats.streamsEnded[reason] = (this.#stats.streamsEnded[reason] ?? 0) + 1;
    this.#log.info({ streamId, deviceId: session.deviceId, channelId: session.channelId, streamer: session.streamerId, reason }, 'stream ended');
    // The receiver is gone already, or its streamer is (a call to it would only wait for the timeout).
    const receiverGone = reason === 'receiver-closed' || reason === 'no-media' || reason === 'streamer-gone';
    const done = Promise.allSettled([
      sendBye && session.state === 'live' ? this.#bye(session, BYE_WAIT_MS) : Promise.resolve(0),
      receiverGone ? Promise.resolve() : this.#closeReceiver(session.streamerUrl, streamId),
    ]).then(() => undefined);
    for (const listener of this.#endListeners) {
      try {
        listener(session, reason, done);
      } catch (err) {
        this.#log.error({ err, streamId }, 'stream end listener failed');
      }
    }
    await done;
    return true;
  }

  /** A BYE from a device: answer it, then tear the stream down on the streamer. */
  async onBye(request: IncomingRequest): Promise<void> {
    const session = await this.#store.byCallId(request.message.headers['call-id']);
    if (!session) {
      this.#stack.reply(request.message, 481, 'Call/Transaction Does Not Exist');
      return;
    }
    this.#stack.reply(request.message, 200, 'OK');
    await this.end(session.streamId, 'device-bye', false);
  }

  /** Events from streamers: a receiver that closed (no media, connection lost) ends its stream. */
  onEvent(event: GbcastEvent): void {
    if (event.type !== 'receiver.closed' || event.reason === 'deleted' || event.reason === 'shutdown') return;
    const reason: StreamEndReason = event.reason === 'no-packets' || event.reason === 'wrong-ssrc' || event.reason === 'stopped' ? 'no-media' : 'receiver-closed';
    void this.end(event.streamId, reason).then((ended) => {
      if (ended) this.#log.warn({ streamId: event.streamId, why: event.reason, detail: event.detail }, 'streamer closed the receiver; BYE sent');
    });
  }

  async #openReceiver(streamer: StreamerRecord, body: object): Promise<OpenReceiverResponse> {
    const res = await this.#streamerCall(streamer.url, 'POST', '/api/v1/receivers', body);
    if (res.status !== 200) throw new PlayError(502, 'streamer-refused', `streamer ${streamer.id} refused the receiver: ${res.status} ${res.text}`);
    return JSON.parse(res.text) as OpenReceiverResponse;
  }

  async #setPeer(url: string, streamId: string, peer: { ip: string; port?: number }): Promise<void> {
    const res = await this.#streamerCall(url, 'PUT', `/api/v1/receivers/${encodeURIComponent(streamId)}/peer`, peer);
    if (res.status >= 300) throw new PlayError(502, 'streamer-refused', `streamer refused the peer address: ${res.status} ${res.text}`);
  }

  async #closeReceiver(url: string, streamId: string): Promise<void> {
    await this.#streamerCall(url, 'DELETE', `/api/v1/receivers/${encodeURIComponent(streamId)}`);
  }

  async #streamerCall(base: string, method: string, path: string, body?: object): Promise<{ status: number; text: string }> {
    try {
      const res = await fetch(`${base}${path}`, {
        method,
        headers: body ? { 'content-type': 'application/json' } : {},
        body: body ? JSON.stringify(body) : undefined,
        signal: AbortSignal.timeout(this.#options.streamerTimeoutMs),
      });
      return { status: res.status, text: await res.text() };
    } catch (err) {
      throw new PlayError(502, 'streamer-unreachable', `streamer at ${base} unreachable: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}

function fillTemplate(template: string, values: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => values[name] ?? whole);
}
