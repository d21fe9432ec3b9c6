/**
 * The signaling process: SIP stack, registrar, device messages (keepalive, query answers), the
 * presence sweeper, and the public HTTP API. All device state lives in the store backend
 * (common/store): Redis, or the in-process store `gbcast all` may give it.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import Fastify, { type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import type { Registry } from 'prom-client';
import type { ConfigOf } from '../common/config.ts';
import { registerHealthRoutes } from '../common/http/health.ts';
import type { Logger } from '../common/logger.ts';
import { createMetricsRegistry } from '../common/metrics.ts';
import { defaultPublicAddress } from '../common/network.ts';
import { openRedisBackend, type StoreBackend } from '../common/store/backend.ts';
import type { DeviceStore } from '../common/store/device-store.ts';
import type { StreamStore } from '../common/store/stream-store.ts';
import type { GbcastEvent, MediaTransport } from '../common/contracts.ts';
import { gbcastVersion } from '../common/version.ts';
import { publicApi } from './api/api.ts';
import { Streams } from './streams.ts';
import { OnDemand } from './on-demand.ts';
import { AlwaysOnKeeper } from './always-on.ts';
import { StreamerWatch } from './streamer-watch.ts';
import { hookRoutes } from './api/hook-routes.ts';
import { consoleRoutes } from './console-routes.ts';
import type { signalingOptions } from './config.ts';
import { DeviceMessages } from './device-messages.ts';
import { DeviceQueries } from './device-queries.ts';
import { registerSignalingMetrics, SignalingStats } from './metrics.ts';
import { Registrar } from './registrar.ts';
import { SipStack, type IncomingRequest } from '../common/sip/stack.ts';

/**
 * `gbcast signaling` requires --redis-url; the class does not when it is given a store backend
 * (`gbcast all` without Redis).
 */
export type SignalingConfig = Omit<ConfigOf<typeof signalingOptions>, 'redisUrl'> & { readonly redisUrl?: string };

export interface SignalingOptions {
  /** The store to use, owned by the caller (not closed by stop()); else one on `config.redisUrl`. */
  backend?: StoreBackend;
}

export class Signaling {
  readonly config: SignalingConfig;
  readonly logger: Logger;
  readonly stats = new SignalingStats();
  readonly registry: Registry;
  readonly realm: string;
  readonly publicAddress: string;
  /** Every event of the installation (devices, receivers, streamers), as it arrives: for the API's event stream. */
  readonly events = new EventEmitter<{ event: [GbcastEvent] }>();
  readonly #givenBackend: StoreBackend | undefined;
  #backend: StoreBackend | undefined;
  #unsubscribe: (() => void) | undefined;
  #store: DeviceStore | undefined;
  #streamStore: StreamStore | undefined;
  #streams: Streams | undefined;
  #onDemand: OnDemand | undefined;
  #alwaysOn: AlwaysOnKeeper | undefined;
  #watch: StreamerWatch | undefined;
  #stack: SipStack | undefined;
  #registrar: Registrar | undefined;
  #messages: DeviceMessages | undefined;
  #queries: DeviceQueries | undefined;
  #http: FastifyInstance | undefined;
  #httpUrl = '';
  #sweeper: NodeJS.Timeout | undefined;
  #sweepFailing = false;
  #stopping = false;

  constructor(config: SignalingConfig, logger: Logger, options: SignalingOptions = {}) {
    this.config = config;
    this.#givenBackend = options.backend;
    this.logger = logger;
    this.realm = config.realm ?? config.serverId.slice(0, 10);
    this.publicAddress = config.publicAddress ?? defaultPublicAddress();
    this.registry = createMetricsRegistry({ part: 'signaling' });
  }

  get backend(): StoreBackend {
    if (!this.#backend) throw new Error('signaling not started');
    return this.#backend;
  }

  get store(): DeviceStore {
    if (!this.#store) throw new Error('signaling not started');
    return this.#store;
  }

  get queries(): DeviceQueries {
    if (!this.#queries) throw new Error('signaling not started');
    return this.#queries;
  }

  get streams(): Streams {
    if (!this.#streams) throw new Error('signaling not started');
    return this.#streams;
  }

  get onDemand(): OnDemand {
    if (!this.#onDemand) throw new Error('signaling not started');
    return this.#onDemand;
  }

  get alwaysOn(): AlwaysOnKeeper {
    if (!this.#alwaysOn) throw new Error('signaling not started');
    return this.#alwaysOn;
  }

  get streamerWatch(): StreamerWatch {
    if (!this.#watch) throw new Error('signaling not started');
    return this.#watch;
  }

  get streamStore(): StreamStore {
    if (!this.#streamStore) throw new Error('signaling not started');
    return this.#streamStore;
  }

  async streamCount(): Promise<number> {
    return (await this.streamStore.list()).length;
  }

  get sipPort(): number {
    return this.#stack?.port ?? 0;
  }

  get httpUrl(): string {
    return this.#httpUrl;
  }

  get stack(): SipStack {
    if (!this.#stack) throw new Error('signaling not started');
    return this.#stack;
  }

  async start(): Promise<void> {
    const c = this.config;
    const backend = this.#givenBackend ?? (await this.#openRedis());
    this.#backend = backend;
    const store = backend.devices;
    this.#store = store;

    const stack = await SipStack.open({
      host: c.sipHost,
      port: c.sipPort,
      publicAddress: this.publicAddress,
      logger: this.logger,
      onRequest: (request) => this.#onRequest(request),
    });
    this.#stack = stack;
    this.#queries = new DeviceQueries(
      { serverId: c.serverId, realm: this.realm, catalogTimeoutMs: 30_000, refreshMs: c.queryRefreshS * 1000 },
      stack,
      store,
      this.logger,
      this.stats,
    );
    this.#messages = new DeviceMessages(
      { keepaliveWindowMs: c.keepaliveIntervalS * c.keepaliveMissed * 1000, onBackOnline: (deviceId) => this.#alwaysOn?.deviceOnline(deviceId) },
      stack,
      store,
      this.#queries,
      this.logger,
      this.stats,
    );
    this.#registrar = new Registrar(
      {
        realm: this.realm,
        globalPassword: c.password,
        unknownDevices: c.unknownDevices as 'accept' | 'refuse',
        nonceSecret: c.nonceSecret ?? randomBytes(32).toString('base64url'),
        nonceLifetimeMs: c.nonceLifetimeMs,
        offerQop: c.offerQop,
        expiresMinS: c.registerExpiresMinS,
        expiresMaxS: c.registerExpiresMaxS,
        keepaliveWindowMs: c.keepaliveIntervalS * c.keepaliveMissed * 1000,
        authMaxFailures: c.authMaxFailures,
        authLockoutMs: c.authLockoutMs,
        dateUtcOffsetMinutes: c.dateUtcOffsetMinutes,
      },
      stack,
      store,
      this.logger,
      {
        onRegistered: (deviceId, request, cameOnline) => {
          if (!cameOnline) return;
          this.#queries?.afterRegistration(deviceId, request.remote);
          this.#alwaysOn?.deviceOnline(deviceId);
        },
        onOutcome: (outcome) => {
          this.stats.registerOutcomes[outcome] = (this.stats.registerOutcomes[outcome] ?? 0) + 1;
        },
      },
    );
    this.#streamStore = backend.streams;
    this.#streams = new Streams(
      {
        serverId: c.serverId,
        realm: this.realm,
        defaultPool: c.defaultPool,
        rtmpUrlTemplate: c.rtmpUrlTemplate,
        defaultTransport: c.defaultTransport as MediaTransport,
        inviteTimeoutMs: c.inviteTimeoutMs,
        streamerTimeoutMs: c.streamerTimeoutMs,
      },
      stack,
      store,
      this.#streamStore,
      this.logger,
      this.stats,
    );
    this.#onDemand = new OnDemand({ idleMs: c.onDemandIdleMs, rtmpBase: c.onDemandRtmpBase }, this.#streams, store, this.#streamStore, this.logger);
    const keeper = new AlwaysOnKeeper(
      { checkMs: c.alwaysOnCheckMs, retryBaseMs: 1000, retryMaxMs: c.alwaysOnRetryMaxMs, stableMs: 60_000, tickMs: 250, defaultPool: c.defaultPool },
      this.#streams,
      store,
      this.#streamStore,
      backend.streamers,
      this.logger,
      this.stats,
    );
    this.#alwaysOn = keeper;
    this.#watch = new StreamerWatch(
      { probeMs: c.streamerProbeMs, timeoutMs: c.streamerProbeTimeoutMs, retryMs: 100, tickMs: Math.min(250, c.streamerProbeMs) },
      backend.streamers,
      this.#streamStore,
      this.#streams,
      (streamerId) => void keeper.moveOff(streamerId),
      this.logger,
      this.stats,
    );
    // Events from streamers (a receiver without media) end their streams with a BYE; a draining
    // streamer has its always-on streams moved.
    this.#unsubscribe = await backend.subscribe((event) => {
      this.#streams?.onEvent(event);
      this.#alwaysOn?.onEvent(event);
      this.events.emit('event', event);
    });
    keeper.start();
    this.#watch.start();
    this.#sweeper = setInterval(() => void this.#sweep(), c.presenceSweepMs);
    this.#sweeper.unref();

    registerSignalingMetrics(this.registry, this);
    const app = Fastify({ logger: false, forceCloseConnections: true, bodyLimit: 256 * 1024, ajv: { customOptions: { removeAdditional: false } } });
    app.decorate('signaling', this as Signaling);
    await app.register(swagger, {
      openapi: {
        info: { title: 'gbcast signaling API', version: gbcastVersion, description: 'Devices, channels, streams, PTZ and the streamer pool of a gbcast installation.' },
        components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
        ...(c.apiToken ? { security: [{ bearer: [] }] } : {}),
      },
    });
    registerHealthRoutes(app, this.registry, () => this.#readiness());
    await app.register(publicApi, { prefix: '/api/v1' });
    await app.register(hookRoutes, { prefix: '/hooks' });
    await app.register(consoleRoutes);
    app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
    const address = await app.listen({ host: c.httpHost, port: c.httpPort });
    this.#http = app;
    this.#httpUrl = `http://${c.httpHost === '0.0.0.0' || c.httpHost === '::' ? '127.0.0.1' : c.httpHost}:${new URL(address).port}`;
    this.logger.info(
      { sipPort: stack.port, http: this.#httpUrl, serverId: c.serverId, realm: this.realm, publicAddress: this.publicAddress, version: gbcastVersion },
      'signaling started',
    );
  }

  async #openRedis(): Promise<StoreBackend> {
    const c = this.config;
    if (!c.redisUrl) throw new Error('signaling needs --redis-url or a store backend');
    // Many devices at once: let ioredis batch concurrent commands into one round trip.
    return openRedisBackend({ url: c.redisUrl, prefix: c.redisPrefix, logger: this.logger, name: 'gbcast-signaling', autoPipelining: true, waitMs: 10_000 });
  }

  #onRequest(request: IncomingRequest): void {
    if (this.#stopping) {
      if (request.message.method !== 'ACK') this.stack.reply(request.message, 503, 'Service Unavailable');
      return;
    }
    switch (request.message.method?.toUpperCase()) {
      case 'REGISTER':
        this.#registrar!.handle(request);
        return;
      case 'MESSAGE':
        this.#messages!.handle(request);
        return;
      case 'BYE':
        this.#streams!.onBye(request).catch((err: unknown) => this.logger.error({ err }, 'BYE handling failed'));
        return;
      case 'OPTIONS':
        this.stack.reply(request.message, 200, 'OK');
        return;
      case 'ACK':
        return;
      default:
        this.stack.reply(request.message, 405, 'Method Not Allowed', { headers: { allow: 'REGISTER, MESSAGE, BYE, OPTIONS, ACK' } });
    }
  }

  async #sweep(): Promise<void> {
    try {
      let swept = 0;
      do {
        swept = await this.store.sweep(Date.now(), 1000);
        this.stats.presenceExpired += swept;
      } while (swept === 1000);
      await this.#onDemand?.sweep(Date.now());
      await this.#queries?.refreshDue(Date.now());
      if (this.#sweepFailing) this.logger.info('presence sweep works again');
      this.#sweepFailing = false;
    } catch (err) {
      if (!this.#sweepFailing) this.logger.warn({ err }, 'presence sweep failed');
      this.#sweepFailing = true;
    }
  }

  #readiness(): { ready: boolean; reason?: string } {
    if (this.#stopping) return { ready: false, reason: 'shutting down' };
    return this.#backend?.readiness() ?? { ready: false, reason: 'not started' };
  }

  /**
   * Stops starting always-on streams and probing streamers (the first step of stop()); resolves
   * when their work in flight is done.
   */
  async stopKeeping(): Promise<void> {
    await Promise.all([this.#alwaysOn?.stop(), this.#watch?.stop()]);
  }

  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    await this.stopKeeping();
    clearInterval(this.#sweeper);
    this.#queries?.stop();
    await this.#http?.close();
    await this.#stack?.close();
    this.#unsubscribe?.();
    if (!this.#givenBackend) await this.#backend?.close();
    this.logger.info('signaling stopped');
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    signaling: Signaling;
  }
}
