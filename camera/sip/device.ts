/**
 * SimulatedDevice: the signalling of one GB28181 camera (or NVR with several channels).
 *
 * - Registers with digest auth and keeps the registration: refresh at 80 % of the granted time,
 *   retry with exponential backoff (5 s doubling to 60 s, ±20 % jitter) after a refusal (403) or a
 *   timeout, register again at once when a keepalive is answered 403/404 or three keepalives in a
 *   row go unanswered. stop() unregisters (Expires: 0).
 * - Sends a Keepalive MESSAGE every interval while registered (one in flight at most).
 * - Answers queries: 200 to the MESSAGE, then the answer as MESSAGE requests of its own (Catalog in
 *   pages, DeviceInfo, DeviceStatus, an empty RecordInfo), one at a time, at most 16 queued.
 * - Takes DeviceControl (PTZ decoded, logged and kept for tests), answers INVITEs for its channels
 *   (call.ts), BYE, CANCEL, INFO and OPTIONS. Anything malformed gets a 4xx, never a throw.
 *
 * It does not own its SIP stack: many devices share one (the fleet dispatches incoming requests by
 * the user part of the request URI, which is the device or channel ID).
 */
import { EventEmitter } from 'node:events';
import type { SipMessage } from 'sip';
import type { Logger } from '../../common/logger.ts';
import { readBody } from '../../common/manscdp/body.ts';
import type { DeviceControlMessage, QueryMessage } from '../../common/manscdp/messages.ts';
import { parsePtzCommand, type PtzDecoded } from '../../common/manscdp/ptz.ts';
import { uriUser } from '../../common/sip/parse.ts';
import { sipRequest } from '../../common/sip/request.ts';
import type { IncomingRequest, SipRemote, SipStack } from '../../common/sip/stack.ts';
import { Call, type CallEndReason, type CallInfo, type DeviceMedia } from './call.ts';
import { catalogPageBody, catalogPageCount, deviceInfoBody, deviceStatusBody, emptyRecordInfoBody, keepaliveBody, simulatedChannel } from './catalog.ts';
import { channelIdsOf } from './ids.ts';
import { isGbId, realmOf, type ServerTarget } from './ids.ts';
import type { Quirk } from './quirks.ts';
import { registerOnce, type RegisterResult } from './registration.ts';
import { MANSCDP_CONTENT_TYPE, headerString, newCallId, randomTag, sendRequest, withTimeout } from './requests.ts';
import { readOffer } from './sdp-answer.ts';

export interface SimulatedDeviceOptions {
  deviceId: string;
  password: string;
  /** The platform; `host` must be an IP address (resolve names first). */
  server: ServerTarget;
  /** SIP domain, default the first 10 digits of the server ID. */
  realm?: string;
  /** How SIP reaches the platform, default udp. */
  sipTransport?: 'udp' | 'tcp';
  /** Channels (catalog items, INVITE targets), default 1. */
  channels?: number;
  /** Registration time asked for, seconds (default 3600). */
  expiresS?: number;
  /** Keepalive interval (default 60 s). */
  keepaliveIntervalMs?: number;
  /** Unanswered keepalives in a row after which the device registers again (default 3). */
  keepaliveMaxFailures?: number;
  /** Catalog items per MESSAGE (default 20). */
  catalogPageSize?: number;
  quirks?: Iterable<Quirk>;
  media: DeviceMedia;
  /** Our address in SDP answers, default the stack's public address. */
  mediaIp?: string;
  /** Address media sockets bind to, default any. */
  bindAddress?: string;
  /** First retry delay after a failed registration (default 5 s), doubling up to registerRetryMaxMs (60 s). */
  registerRetryMs?: number;
  registerRetryMaxMs?: number;
  /** Concurrent calls, at most (default 32); more INVITEs get 486. */
  maxCalls?: number;
  /** DeviceInfo DeviceName (default "模拟摄像机 {serial}"). */
  deviceName?: string;
}

export type DeviceState = 'idle' | 'registering' | 'registered' | 'stopping' | 'stopped';

/** A DeviceControl as received (kept for tests: the last 100). */
export interface ReceivedControl {
  at: number;
  /** The DeviceID of the control (a channel for PTZ). */
  targetId: string;
  sn: number | undefined;
  /** The control elements present (PTZCmd, TeleBoot, …). */
  commands: string[];
  ptzCmd: string | undefined;
  /** The decoded PTZCmd; undefined when absent or invalid. */
  ptz: PtzDecoded | undefined;
}

export interface DeviceStats {
  registrations: number;
  registerFailures: number;
  keepalivesSent: number;
  keepalivesFailed: number;
  queriesAnswered: number;
  messagesSent: number;
  controls: number;
  callsStarted: number;
  callsEnded: number;
  /** Requests answered 4xx because they were malformed or not for us. */
  badRequests: number;
}

export interface DeviceEvents {
  registered: [{ expiresS: number; serverDate: Date | undefined }];
  'register-failed': [{ status: number; reason: string; problem: string | undefined; retryInMs: number }];
  unregistered: [];
  keepalive: [{ status: number }];
  query: [{ cmdType: string; sn: number; targetId: string }];
  control: [ReceivedControl];
  'call-started': [CallInfo];
  'call-ended': [CallInfo, CallEndReason];
}

const MAX_CONTROLS_KEPT = 100;
const MAX_QUEUED_ANSWERS = 16;
const UNREGISTER_TIMEOUT_MS = 5000;
const ALLOW = 'INVITE, ACK, BYE, CANCEL, MESSAGE, INFO, OPTIONS';
/** setTimeout fires at once past 2^31-1 ms; a refresh is never scheduled further out than a week. */
const MAX_TIMER_MS = 7 * 24 * 3600_000;

/** An answer to one query: `messages` MESSAGEs, each body made when it is sent. */
interface AnswerJob {
  what: string;
  messages: number;
  body(index: number): Buffer;
}

export class SimulatedDevice extends EventEmitter<DeviceEvents> {
  readonly deviceId: string;
  /** Channel IDs in catalog order (items are made when a catalog is asked for, not kept). */
  readonly channelIds: readonly string[];
  readonly stats: DeviceStats = {
    registrations: 0,
    registerFailures: 0,
    keepalivesSent: 0,
    keepalivesFailed: 0,
    queriesAnswered: 0,
    messagesSent: 0,
    controls: 0,
    callsStarted: 0,
    callsEnded: 0,
    badRequests: 0,
  };
  /** The last DeviceControls received, oldest first. */
  readonly controls: ReceivedControl[] = [];
  readonly #o: Required<Omit<SimulatedDeviceOptions, 'quirks' | 'mediaIp' | 'bindAddress' | 'realm' | 'deviceName'>>;
  readonly #stack: SipStack;
  readonly #log: Logger;
  readonly #realm: string;
  readonly #server: SipRemote;
  readonly #quirks: ReadonlySet<Quirk>;
  readonly #channelSet: ReadonlySet<string>;
  readonly #deviceName: string;
  readonly #mediaIp: string | undefined;
  readonly #bindAddress: string | undefined;
  readonly #registerCallId: string;
  readonly #registerTag = randomTag();
  readonly #registerCseq = { next: 1 };
  readonly #calls = new Map<string, Call>();
  readonly #answers: AnswerJob[] = [];
  #answering = false;
  #state: DeviceState = 'idle';
  #registering = false;
  #generation = 0;
  #retryMs: number;
  #registerTimer: NodeJS.Timeout | undefined;
  #keepaliveTimer: NodeJS.Timeout | undefined;
  #keepaliveInFlight = false;
  #keepaliveFailures = 0;
  #sn = Math.floor(Math.random() * 10_000);
  #cseq = Math.floor(Math.random() * 10_000) + 1;
  #stopping: Promise<void> | undefined;

  constructor(options: SimulatedDeviceOptions, stack: SipStack, logger: Logger) {
    super();
    if (!isGbId(options.deviceId)) throw new RangeError(`device ID must be 20 digits, got ${JSON.stringify(options.deviceId)}`);
    this.#o = {
      deviceId: options.deviceId,
      password: options.password,
      server: options.server,
      sipTransport: options.sipTransport ?? 'udp',
      channels: options.channels ?? 1,
      expiresS: options.expiresS ?? 3600,
      keepaliveIntervalMs: options.keepaliveIntervalMs ?? 60_000,
      keepaliveMaxFailures: options.keepaliveMaxFailures ?? 3,
      catalogPageSize: options.catalogPageSize ?? 20,
      media: options.media,
      registerRetryMs: options.registerRetryMs ?? 5000,
      registerRetryMaxMs: options.registerRetryMaxMs ?? 60_000,
      maxCalls: options.maxCalls ?? 32,
    };
    this.deviceId = options.deviceId;
    this.channelIds = channelIdsOf(this.deviceId, this.#o.channels);
    this.#channelSet = new Set(this.channelIds);
    this.#stack = stack;
    this.#log = logger.child({ deviceId: this.deviceId });
    this.#realm = options.realm ?? realmOf(options.server.id);
    this.#server = { protocol: this.#o.sipTransport === 'tcp' ? 'TCP' : 'UDP', address: options.server.host, port: options.server.port };
    this.#quirks = new Set(options.quirks ?? []);
    this.#deviceName = options.deviceName ?? `模拟摄像机 ${this.deviceId.slice(-7)}`;
    this.#mediaIp = options.mediaIp;
    this.#bindAddress = options.bindAddress;
    this.#registerCallId = newCallId(stack.publicAddress);
    this.#retryMs = this.#o.registerRetryMs;
  }

  get state(): DeviceState {
    return this.#state;
  }

  get registered(): boolean {
    return this.#state === 'registered';
  }

  /** Every ID requests may be addressed to: the device and its channels. */
  get addresses(): string[] {
    return [this.deviceId, ...this.channelIds];
  }

  calls(): CallInfo[] {
    return [...this.#calls.values()].map((c) => c.info());
  }

  /** Hangs up one call with a BYE, as a camera whose stream ends; false when there is no such call. */
  async hangUp(callId: string): Promise<boolean> {
    const call = this.#calls.get(callId);
    if (!call) return false;
    await call.end('hung-up', true);
    return true;
  }

  /** Starts registering (and everything that follows). */
  start(): void {
    if (this.#state !== 'idle') return;
    this.#state = 'registering';
    this.#scheduleRegister(0);
  }

  /**
   * Hangs up every call (BYE), stops the media and unregisters (`Expires: 0`, waited for ≤ 5 s)
   * unless `unregister` is false. Idempotent.
   */
  stop(options: { unregister?: boolean } = {}): Promise<void> {
    if (this.#stopping) return this.#stopping;
    const wasRegistered = this.#state === 'registered' || this.#registering;
    this.#state = 'stopping';
    this.#generation++;
    clearTimeout(this.#registerTimer);
    clearTimeout(this.#keepaliveTimer);
    this.#answers.length = 0;
    this.#stopping = (async () => {
      await Promise.all([...this.#calls.values()].map((c) => c.end('device-stopped', true)));
      if (wasRegistered && options.unregister !== false) {
        const r = await withTimeout(this.#registerOnce(0), UNREGISTER_TIMEOUT_MS, undefined);
        if (r && r.status >= 200 && r.status < 300) {
          this.#log.info('unregistered');
          this.#notify('unregistered');
        } else {
          this.#log.warn({ status: r?.status }, 'unregister not confirmed');
        }
      }
      this.#state = 'stopped';
    })();
    return this.#stopping;
  }

  /** A request addressed to this device or one of its channels. Never throws. */
  handleRequest(request: IncomingRequest): void {
    try {
      this.#handle(request);
    } catch (err) {
      this.#log.error({ err, method: request.message.method }, 'request handling failed');
      if (request.message.method !== 'ACK') this.#reply(request.message, 500, 'Server Internal Error');
    }
  }

  // ------------------------------------------------------------------------------------------
  // Registration and keepalive

  #registerOnce(expiresS: number): Promise<RegisterResult> {
    return registerOnce({
      stack: this.#stack,
      remote: this.#server,
      deviceId: this.deviceId,
      password: this.#o.password,
      serverId: this.#o.server.id,
      realm: this.#realm,
      expiresS,
      callId: this.#registerCallId,
      fromTag: this.#registerTag,
      cseq: this.#registerCseq,
    });
  }

  #scheduleRegister(delayMs: number): void {
    clearTimeout(this.#registerTimer);
    this.#registerTimer = setTimeout(() => void this.#register(), delayMs);
    this.#registerTimer.unref();
  }

  async #register(): Promise<void> {
    if (this.#registering || this.#stopped()) return;
    this.#registering = true;
    const generation = this.#generation;
    let r: RegisterResult;
    try {
      r = await this.#registerOnce(this.#o.expiresS);
    } catch (err) {
      r = { status: 0, reason: String(err), expiresS: 0, serverDate: undefined, problem: 'REGISTER could not be sent' };
    } finally {
      this.#registering = false;
    }
    if (generation !== this.#generation || this.#stopped()) return;
    if (r.status >= 200 && r.status < 300 && r.expiresS > 0) {
      const first = this.#state !== 'registered';
      this.#state = 'registered';
      this.#retryMs = this.#o.registerRetryMs;
      this.stats.registrations++;
      this.#scheduleRegister(Math.min(MAX_TIMER_MS, Math.max(500, r.expiresS * 800)));
      if (first) {
        this.#log.info({ expiresS: r.expiresS, serverDate: r.serverDate }, 'registered');
        this.#keepaliveFailures = 0;
        this.#scheduleKeepalive();
      } else {
        this.#log.debug({ expiresS: r.expiresS }, 'registration refreshed');
      }
      this.#notify('registered', { expiresS: r.expiresS, serverDate: r.serverDate });
      return;
    }
    this.#state = 'registering';
    clearTimeout(this.#keepaliveTimer);
    this.stats.registerFailures++;
    const retryInMs = Math.round(this.#retryMs * (0.8 + Math.random() * 0.4));
    this.#retryMs = Math.min(this.#retryMs * 2, this.#o.registerRetryMaxMs);
    const why = r.status === 403 ? 'the platform refused our credentials (403)' : r.status === 408 || r.status === 0 ? 'no answer from the platform' : 'registration refused';
    this.#log.warn({ status: r.status, reason: r.reason, problem: r.problem, retryInMs }, why);
    this.#notify('register-failed', { status: r.status, reason: r.reason, problem: r.problem, retryInMs });
    this.#scheduleRegister(retryInMs);
  }

  /** The platform forgot us (keepalive refused): register again now. */
  #registerAgain(why: string): void {
    if (this.#state !== 'registered') return;
    this.#log.info(why);
    this.#state = 'registering';
    clearTimeout(this.#keepaliveTimer);
    this.#scheduleRegister(0);
  }

  #scheduleKeepalive(): void {
    clearTimeout(this.#keepaliveTimer);
    this.#keepaliveTimer = setTimeout(() => {
      if (this.#state !== 'registered') return;
      this.#scheduleKeepalive();
      void this.#keepalive();
    }, this.#o.keepaliveIntervalMs);
    this.#keepaliveTimer.unref();
  }

  async #keepalive(): Promise<void> {
    if (this.#keepaliveInFlight) return;
    this.#keepaliveInFlight = true;
    const generation = this.#generation;
    this.stats.keepalivesSent++;
    let status: number;
    try {
      status = await this.#sendMessage(keepaliveBody(this.#nextSn(), this.deviceId));
    } finally {
      this.#keepaliveInFlight = false;
    }
    if (generation !== this.#generation || this.#stopped()) return;
    this.#notify('keepalive', { status });
    if (status >= 200 && status < 300) {
      this.#keepaliveFailures = 0;
      return;
    }
    this.stats.keepalivesFailed++;
    if (status === 403 || status === 404) {
      this.#registerAgain(`keepalive answered ${status}: registering again`);
      return;
    }
    if (++this.#keepaliveFailures >= this.#o.keepaliveMaxFailures) {
      this.#keepaliveFailures = 0;
      this.#registerAgain(`${this.#o.keepaliveMaxFailures} keepalives failed (last ${status}): registering again`);
    }
  }

  /** Emits an event; a listener that throws is logged, never allowed to break the device. */
  #notify<K extends keyof DeviceEvents>(event: K, ...args: DeviceEvents[K]): void {
    try {
      (this.emit as (e: K, ...a: DeviceEvents[K]) => boolean)(event, ...args);
    } catch (err) {
      this.#log.error({ err, event }, 'a device event listener threw');
    }
  }

  #stopped(): boolean {
    return this.#state === 'stopping' || this.#state === 'stopped';
  }

  // ------------------------------------------------------------------------------------------
  // Outgoing MESSAGEs

  /** Sends a MANSCDP body to the platform; resolves with the final status (0 when stopped). */
  #sendMessage(body: Buffer): Promise<number> {
    if (this.#state === 'stopped') return Promise.resolve(0);
    const address = (user: string): string => `sip:${user}@${this.#realm}`;
    const message = sipRequest({
      method: 'MESSAGE',
      uri: address(this.#o.server.id),
      from: { uri: address(this.deviceId), params: { tag: randomTag() } },
      to: { uri: address(this.#o.server.id), params: {} },
      callId: newCallId(this.#stack.publicAddress),
      cseq: this.#nextCseq(),
      headers: { 'user-agent': 'gbcast-camera' },
      body: { contentType: MANSCDP_CONTENT_TYPE, bytes: body },
    });
    this.stats.messagesSent++;
    return sendRequest(this.#stack, this.#server, message).then((r) => r.status);
  }

  /** Queues an answer: its MESSAGEs go out one after the other, each made when it is sent. */
  #queueAnswer(job: AnswerJob): void {
    this.#answers.push(job);
    if (!this.#answering) void this.#pumpAnswers();
  }

  async #pumpAnswers(): Promise<void> {
    this.#answering = true;
    try {
      for (let job = this.#answers.shift(); job; job = this.#answers.shift()) {
        for (let i = 0; i < job.messages && !this.#stopped(); i++) {
          let status: number;
          try {
            status = await this.#sendMessage(job.body(i));
          } catch (err) {
            this.#log.warn({ err, what: job.what }, 'sending an answer failed');
            break;
          }
          if (status < 200 || status >= 300) this.#log.info({ what: job.what, status }, 'the platform did not accept an answer');
        }
      }
    } finally {
      this.#answering = false;
    }
  }

  #nextSn(): number {
    this.#sn = (this.#sn + 1) % 1_000_000_000;
    return this.#sn;
  }

  #nextCseq(): number {
    this.#cseq = this.#cseq >= 2_000_000_000 ? 1 : this.#cseq + 1;
    return this.#cseq;
  }

  // ------------------------------------------------------------------------------------------
  // Incoming requests

  #reply(m: SipMessage, status: number, reason: string, headers?: Record<string, unknown>): void {
    if (status >= 400 && status !== 481 && status !== 487) this.stats.badRequests++;
    this.#stack.reply(m, status, reason, headers ? { headers } : {});
  }

  #handle(request: IncomingRequest): void {
    const m = request.message;
    switch ((m.method ?? '').toUpperCase()) {
      case 'MESSAGE':
        this.#onMessage(request);
        return;
      case 'INVITE':
        this.#onInvite(request);
        return;
      case 'ACK': {
        const call = this.#calls.get(m.headers['call-id']);
        if (!call) return;
        call.onAck();
        if (call.state === 'active') {
          this.stats.callsStarted++;
          this.#notify('call-started', call.info());
        }
        return;
      }
      case 'BYE': {
        const call = this.#calls.get(m.headers['call-id']);
        if (!call) {
          this.#reply(m, 481, 'Call/Transaction Does Not Exist');
          return;
        }
        this.#reply(m, 200, 'OK');
        this.#log.info({ callId: call.callId, channelId: call.channelId }, 'BYE from the platform');
        void call.end('remote-bye', false);
        return;
      }
      case 'CANCEL': {
        const call = this.#calls.get(m.headers['call-id']);
        this.#reply(m, call ? 200 : 481, call ? 'OK' : 'Call/Transaction Does Not Exist');
        call?.cancel();
        return;
      }
      case 'INFO':
        // MANSRTSP playback control: accepted, nothing to do for a live file.
        this.#reply(m, this.#calls.has(m.headers['call-id']) ? 200 : 481, this.#calls.has(m.headers['call-id']) ? 'OK' : 'Call/Transaction Does Not Exist');
        return;
      case 'OPTIONS':
        this.#stack.reply(m, 200, 'OK', { headers: { allow: ALLOW } });
        return;
      default:
        this.#reply(m, 405, 'Method Not Allowed', { allow: ALLOW });
    }
  }

  #onMessage(request: IncomingRequest): void {
    const m = request.message;
    if (this.#stopped()) {
      this.#reply(m, 480, 'Temporarily Unavailable');
      return;
    }
    const body = readBody(request.body, { maxLength: 64 * 1024 });
    if (!body.ok) {
      this.#log.debug({ error: body.error, detail: body.detail }, 'unreadable MESSAGE body');
      this.#reply(m, 400, 'Bad Request');
      return;
    }
    const message = body.message;
    const target = message.deviceId ?? uriUser(m.uri) ?? '';
    if (target !== this.deviceId && !this.#channelSet.has(target)) {
      this.#reply(m, 404, 'Not Found');
      return;
    }
    if (message.kind === 'query') {
      this.#onQuery(m, message, target);
      return;
    }
    if (message.kind === 'deviceControl') {
      this.#stack.reply(m, 200, 'OK');
      this.#onControl(message, target);
      return;
    }
    // Notifications or answers sent to a device: accepted and ignored.
    this.#log.debug({ cmdType: message.cmdType, root: message.root }, 'MESSAGE ignored');
    this.#stack.reply(m, 200, 'OK');
  }

  #onQuery(m: SipMessage, q: QueryMessage, target: string): void {
    if (q.sn === undefined) {
      this.#reply(m, 400, 'Bad Request');
      return;
    }
    if (this.#answers.length >= MAX_QUEUED_ANSWERS) {
      this.#reply(m, 503, 'Service Unavailable', { 'retry-after': '5' });
      return;
    }
    const sn = q.sn;
    const cmd = q.cmdType.toLowerCase();
    const single = (body: () => Buffer): AnswerJob => ({ what: q.cmdType, messages: 1, body });
    let job: AnswerJob | undefined;
    if (cmd === 'catalog') {
      // The device answers with its channels; a channel (a leaf) has none.
      const ids = target === this.deviceId ? this.channelIds : [];
      const size = this.#o.catalogPageSize;
      const unescapedAmp = this.#quirks.has('unescaped-amp');
      job = {
        what: 'Catalog',
        messages: catalogPageCount(ids.length, size),
        body: (page) => {
          const items = ids.slice(page * size, (page + 1) * size).map((id, j) => simulatedChannel(this.deviceId, id, page * size + j));
          return catalogPageBody(sn, target, items, ids.length, { unescapedAmp, brokenFirstItem: page === 0 && this.#quirks.has('broken-catalog-item') });
        },
      };
    } else if (cmd === 'deviceinfo') {
      job = single(() => deviceInfoBody(sn, target, { deviceName: this.#deviceName, channels: this.channelIds.length }));
    } else if (cmd === 'devicestatus') {
      job = single(() => deviceStatusBody(sn, target));
    } else if (cmd === 'recordinfo') {
      job = single(() => emptyRecordInfoBody(sn, target, this.#deviceName));
    }
    this.#stack.reply(m, 200, 'OK');
    if (!job) {
      this.#log.info({ cmdType: q.cmdType, sn }, 'query not supported by the simulator: answered 200 only');
      return;
    }
    this.stats.queriesAnswered++;
    this.#log.debug({ cmdType: q.cmdType, sn, messages: job.messages }, 'answering a query');
    this.#notify('query', { cmdType: q.cmdType, sn, targetId: target });
    this.#queueAnswer(job);
  }

  #onControl(c: DeviceControlMessage, target: string): void {
    const ptz = c.ptzCmd === undefined ? undefined : parsePtzCommand(c.ptzCmd);
    const control: ReceivedControl = { at: Date.now(), targetId: target, sn: c.sn, commands: c.commands, ptzCmd: c.ptzCmd, ptz };
    if (this.controls.length >= MAX_CONTROLS_KEPT) this.controls.shift();
    this.controls.push(control);
    this.stats.controls++;
    if (c.ptzCmd !== undefined) {
      if (ptz) this.#log.info({ channelId: target, pan: ptz.pan, tilt: ptz.tilt, zoom: ptz.zoom, stop: ptz.stop, panSpeed: ptz.panSpeed, tiltSpeed: ptz.tiltSpeed, zoomSpeed: ptz.zoomSpeed }, 'PTZ command');
      else this.#log.warn({ channelId: target, ptzCmd: c.ptzCmd.slice(0, 32) }, 'invalid PTZCmd');
    } else {
      this.#log.info({ targetId: target, commands: c.commands.slice(0, 8) }, 'device control');
    }
    this.#notify('control', control);
  }

  #onInvite(request: IncomingRequest): void {
    const m = request.message;
    const callId = m.headers['call-id'];
    if (this.#stopped()) {
      this.#reply(m, 480, 'Temporarily Unavailable');
      return;
    }
    if (m.headers.to?.params?.tag) {
      // A re-INVITE: the simulator does not renegotiate.
      this.#reply(m, this.#calls.has(callId) ? 488 : 481, this.#calls.has(callId) ? 'Not Acceptable Here' : 'Call/Transaction Does Not Exist');
      return;
    }
    if (this.#calls.has(callId)) {
      this.#reply(m, 491, 'Request Pending');
      return;
    }
    const target = uriUser(m.uri) ?? uriUser(m.headers.to?.uri);
    if (target === undefined || !this.#channelSet.has(target)) {
      this.#reply(m, 404, 'Not Found');
      return;
    }
    if (this.#calls.size >= this.#o.maxCalls) {
      this.#reply(m, 486, 'Busy Here');
      return;
    }
    const offer = readOffer(request.body.toString('latin1'), headerString(m, 'subject'));
    if (!offer.ok) {
      this.#log.info({ callId, reason: offer.reason }, 'INVITE refused: unusable SDP offer');
      this.#reply(m, 488, 'Not Acceptable Here', { warning: `399 gbcast-camera "${warningText(offer.reason)}"` });
      return;
    }
    if (offer.plan.problems.length > 0) this.#log.debug({ callId, problems: offer.plan.problems.slice(0, 8) }, 'odd SDP offer');
    this.#stack.reply(m, 100, 'Trying');
    const call = new Call(
      {
        stack: this.#stack,
        log: this.#log,
        deviceId: this.deviceId,
        mediaIp: this.#mediaIp ?? this.#stack.publicAddress,
        bindAddress: this.#bindAddress,
        media: this.#o.media,
        quirks: this.#quirks,
        onEnded: (c, reason) => this.#onCallEnded(c, reason),
      },
      request,
      target,
      offer.plan,
    );
    this.#calls.set(callId, call);
    void call.answer();
  }

  #onCallEnded(call: Call, reason: CallEndReason): void {
    if (this.#calls.get(call.callId) === call) this.#calls.delete(call.callId);
    this.stats.callsEnded++;
    this.#log.info({ callId: call.callId, channelId: call.channelId, reason, packets: call.info().stats.packets }, 'call ended');
    this.#notify('call-ended', call.info(), reason);
  }
}

/** Text safe inside a quoted Warning header value. */
function warningText(s: string): string {
  return s.replace(/[^\x20-\x7e]|["\\]/g, '?').slice(0, 120);
}
