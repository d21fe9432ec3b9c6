/**
 * The streamer process: one public media port, the receivers behind it, the internal HTTP API,
 * HTTP-FLV, metrics and load reports. `gbcast streamer` and the tests both start it through here.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { ConfigOf } from '../common/config.ts';
import type {
  GbcastEvent,
  OpenReceiverRequest,
  OpenReceiverResponse,
  PeerAddress,
  ReceiverCloseReason,
} from '../common/contracts.ts';
import type { Logger } from '../common/logger.ts';
import { createMetricsRegistry } from '../common/metrics.ts';
import { registerHealthRoutes } from '../common/http/health.ts';
import { openRedisBackend, type StoreBackend } from '../common/store/backend.ts';
import type { StreamerStore } from '../common/store/streamer-store.ts';
import { gbcastVersion } from '../common/version.ts';
import { defaultPublicAddress } from '../common/network.ts';
import type { streamerOptions } from './config.ts';
import { RtpPort } from './ingest/rtp-port.ts';
import { trimNativeHeap } from './ingest/udp-batch-socket.ts';
import { Receiver } from './receiver/receiver.ts';
import { ReceiverTable } from './receiver/receiver-table.ts';
import { dialCamera } from './receiver/tcp-active.ts';
import { IngestTotals } from './stats.ts';
import { parseSsrc } from './ssrc.ts';
import { LoadMeter, LoadReporter } from './load-reporter.ts';
import { registerStreamerMetrics } from './metrics.ts';
import { receiverRoutes } from './api/receiver-routes.ts';
import { httpFlvRoutes } from './api/http-flv-routes.ts';

export type StreamerConfig = ConfigOf<typeof streamerOptions>;

export interface StreamerOptions {
  /**
   * The store for load reports, drain requests and events, owned by the caller (not closed by
   * stop()). Without it the streamer opens one on --redis-url, or runs standalone.
   */
  backend?: StoreBackend;
}

/** An API error with the HTTP status it maps to. */
export class StreamerApiError extends Error {
  readonly statusCode: number;
  constructor(statusCode: number, message: string) {
    super(message);
    this.statusCode = statusCode;
  }
}

export class Streamer {
  readonly config: StreamerConfig;
  readonly logger: Logger;
  readonly totals = new IngestTotals();
  /** In the load record and /healthz: signaling tells a restarted process from the one it picked. */
  readonly startedAt = Date.now();
  readonly registry: Registry;
  readonly table: ReceiverTable;
  #publicAddress: string | undefined;
  #rtpPort: RtpPort | undefined;
  #http: FastifyInstance | undefined;
  readonly #givenBackend: StoreBackend | undefined;
  #ownBackend: StoreBackend | undefined;
  #store: StreamerStore | undefined;
  #reporter: LoadReporter | undefined;
  #heapTrimTimer: NodeJS.Timeout | undefined;
  #draining = false;
  #stopping = false;
  #httpUrl = '';

  constructor(config: StreamerConfig, logger: Logger, options: StreamerOptions = {}) {
    this.config = config;
    this.#givenBackend = options.backend;
    this.logger = logger;
    // With --public-address-from-store the operator tells it (from the pod's node) through the store.
    this.#publicAddress = config.publicAddressFromStore ? undefined : (config.publicAddress ?? defaultPublicAddress());
    this.registry = createMetricsRegistry({ streamer: config.streamerId, pool: config.pool });
    this.table = new ReceiverTable({
      noMediaTimeoutMs: config.noMediaTimeoutMs,
      logger,
      totals: this.totals,
      onClosed: (r, reason, detail) => this.#onReceiverClosed(r, reason, detail),
    });
    registerStreamerMetrics(this.registry, this);
  }

  /** The address devices send media to ('' while it is awaited from the store). */
  get publicAddress(): string {
    return this.#publicAddress ?? '';
  }

  get draining(): boolean {
    return this.#draining;
  }

  /** The bound media port. */
  get rtpPort(): number {
    return this.#rtpPort?.port ?? 0;
  }

  /** The media port devices are told to use. */
  get publicPort(): number {
    return this.config.publicPort ?? this.rtpPort;
  }

  get httpUrl(): string {
    return this.#httpUrl;
  }

  /** How the media port reads UDP: 'batch' (native recvmmsg) or 'dgram'. */
  get udpReceiver(): 'batch' | 'dgram' {
    return this.#rtpPort?.udpReceiver ?? 'dgram';
  }

  get udpRecvBufferBytes(): number {
    return this.#rtpPort?.recvBufferBytes ?? 0;
  }

  async start(): Promise<void> {
    const c = this.config;
    this.#rtpPort = await RtpPort.open(
      {
        host: c.rtpHost,
        port: c.rtpPort,
        recvBufferBytes: c.udpRecvBufferBytes,
        udpReceive: c.udpReceive,
        udpBatchPauseMs: c.udpBatchPauseMs,
        logger: this.logger,
      },
      this.table,
    );
    const app = Fastify({
      logger: false,
      forceCloseConnections: true,
      bodyLimit: 64 * 1024,
      // Reject unknown fields instead of silently dropping them: a typo in a caller must be loud.
      ajv: { customOptions: { removeAdditional: false } },
    });
    app.decorate('streamer', this as Streamer);
    registerHealthRoutes(app, this.registry, () => this.readiness(), { startedAt: this.startedAt });
    await app.register(receiverRoutes, { prefix: '/api/v1' });
    await app.register(httpFlvRoutes);
    const address = await app.listen({ host: c.httpHost, port: c.httpPort });
    this.#http = app;
    const httpPort = Number(new URL(address).port);
    this.#httpUrl =
      c.internalUrl ?? `http://${c.httpHost === '0.0.0.0' || c.httpHost === '::' ? (this.#publicAddress ?? defaultPublicAddress()) : c.httpHost}:${httpPort}`;

    if (!this.#givenBackend && c.redisUrl) {
      // No wait for Redis: media flows without it, and reports start once it is there.
      this.#ownBackend = await openRedisBackend({ url: c.redisUrl, prefix: c.redisPrefix, logger: this.logger, name: `streamer:${c.streamerId}` });
    }
    const backend = this.#givenBackend ?? this.#ownBackend;
    if (backend) {
      this.#store = backend.streamers;
      const meter = new LoadMeter();
      this.#reporter = new LoadReporter({
        intervalMs: c.reportIntervalMs,
        store: this.#store,
        logger: this.logger,
        identity: {
          id: c.streamerId,
          pool: c.pool,
          port: this.publicPort,
          url: this.#httpUrl,
          version: gbcastVersion,
          startedAt: this.startedAt,
        },
        measure: () => {
          const bytes = this.totals.bytesSinceReport;
          this.totals.bytesSinceReport = 0;
          return { activeStreams: this.table.size, ...meter.sample(bytes) };
        },
        address: () => this.#publicAddress,
        onPublicAddress: (address) => {
          this.logger.info({ publicAddress: address, was: this.#publicAddress }, 'public address from the store');
          this.#publicAddress = address;
        },
        isDraining: () => this.#draining,
        onDrainRequested: () => this.drain(`requested through the ${backend.kind} store`),
      });
      this.#reporter.start();
    }
    if (c.heapTrimIntervalMs > 0) {
      this.#heapTrimTimer = setInterval(trimNativeHeap, c.heapTrimIntervalMs);
      this.#heapTrimTimer.unref();
    }
    this.logger.info(
      {
        rtpPort: this.rtpPort,
        publicAddress: this.publicAddress,
        publicPort: this.publicPort,
        http: this.#httpUrl,
        udpRecvBufferBytes: this.udpRecvBufferBytes,
        udpReceiver: this.#rtpPort.udpReceiver,
        store: backend?.kind ?? 'none',
      },
      'streamer started',
    );
  }

  readiness(): { ready: boolean; reason?: string } {
    if (this.#stopping) return { ready: false, reason: 'shutting down' };
    if (this.#draining) return { ready: false, reason: 'draining' };
    if (this.#publicAddress === undefined) return { ready: false, reason: 'waiting for the public address from the operator (--public-address-from-store)' };
    if (this.#reporter && !this.#reporter.lastReportOk) return { ready: false, reason: 'load reports to the store failing' };
    return { ready: true };
  }

  /** Opens (or, for an identical repeat, returns) a receiver. */
  openReceiver(req: OpenReceiverRequest): OpenReceiverResponse {
    if (this.#publicAddress === undefined) throw new StreamerApiError(503, 'no public address yet: the operator has not written it to the store');
    const ssrc = parseSsrc(req.ssrc);
    if (ssrc === undefined) throw new StreamerApiError(400, `ssrc must be 1 to 10 decimal digits below 2^32, got "${req.ssrc}"`);
    const response: OpenReceiverResponse = {
      streamId: req.streamId,
      ssrc: req.ssrc,
      transport: req.transport,
      address: this.publicAddress,
      port: this.publicPort,
    };
    const existing = this.table.get(req.streamId);
    if (existing) {
      if (existing.ssrc === ssrc && existing.transport === req.transport && existing.rtmpUrl === req.rtmpUrl) {
        if (req.peer) this.setPeer(req.streamId, req.peer);
        return response;
      }
      throw new StreamerApiError(409, `stream ${req.streamId} is already open with another ssrc, transport or rtmpUrl`);
    }
    if (this.#draining || this.#stopping) throw new StreamerApiError(503, 'streamer is draining: open the receiver elsewhere');
    if (this.table.size >= this.config.maxReceivers) {
      throw new StreamerApiError(503, `streamer is full (${this.config.maxReceivers} receivers)`);
    }
    const other = this.table.bySsrc(ssrc);
    if (other) throw new StreamerApiError(409, `ssrc ${req.ssrc} is in use by stream ${other.streamId}`);
    if (req.rtmpUrl !== undefined && !/^rtmps?:\/\/[^/]+\/.+/.test(req.rtmpUrl)) {
      throw new StreamerApiError(400, `rtmpUrl must look like rtmp://host[:port]/app/stream, got "${req.rtmpUrl}"`);
    }
    const receiver = new Receiver(
      {
        streamId: req.streamId,
        ssrc,
        ssrcText: req.ssrc,
        transport: req.transport,
        rtmpUrl: req.rtmpUrl,
        hevc: req.hevc ?? (this.config.hevcFlv as 'legacy' | 'enhanced'),
        peer: undefined,
        reorderWindow: this.config.reorderWindow,
        rtmpQueueBytes: this.config.rtmpQueueBytes,
        rtmpMergeWriteMs: this.config.rtmpMergeWriteMs,
        flvViewerMaxPendingBytes: this.config.flvViewerMaxPendingBytes,
        gopCache: this.config.gopCache,
        gopCacheIdleMs: this.config.gopCacheIdleMs,
      },
      {
        logger: this.logger,
        totals: this.totals,
        onClose: (r, reason, detail) => void this.table.remove(r, reason, detail),
      },
    );
    this.table.add(receiver);
    this.logger.info({ streamId: req.streamId, ssrc: req.ssrc, transport: req.transport, rtmpUrl: req.rtmpUrl }, 'receiver opened');
    if (req.peer) this.setPeer(req.streamId, req.peer);
    return response;
  }

  /** Tells a receiver where the camera sends from (or, for tcp-active, where to dial). */
  setPeer(streamId: string, peer: PeerAddress): void {
    const receiver = this.table.get(streamId);
    if (!receiver) throw new StreamerApiError(404, `no receiver for stream ${streamId}`);
    const samePeer = receiver.peer?.ip === peer.ip && receiver.peer?.port === peer.port;
    receiver.peer = peer;
    if (receiver.transport !== 'tcp-active' || samePeer || receiver.tcpSocket) return;
    if (peer.port === undefined) throw new StreamerApiError(400, 'tcp-active needs the camera port (peer.port)');
    void dialCamera({
      peer: { ip: peer.ip, port: peer.port },
      deadlineMs: this.config.noMediaTimeoutMs,
      logger: this.logger.child({ streamId }),
      cancelled: () => receiver.closed || receiver.tcpSocket !== undefined,
    }).then((socket) => {
      if (socket) {
        this.table.attachOutboundTcp(receiver, socket);
      } else if (!receiver.closed && !receiver.tcpSocket) {
        void this.table.remove(receiver, 'connect-failed', `could not connect to ${peer.ip}:${peer.port}`);
      }
    });
  }

  async closeReceiver(streamId: string): Promise<boolean> {
    const receiver = this.table.get(streamId);
    if (!receiver) return false;
    await this.table.remove(receiver, 'deleted');
    return true;
  }

  /** Refuse new receivers, keep running ones; tell Redis at once so signaling stops picking us. */
  drain(why: string): void {
    if (this.#draining) return;
    this.#draining = true;
    this.logger.info({ why, receivers: this.table.size }, 'draining');
    void this.#reporter?.reportNow();
    this.#publish({ type: 'streamer.draining', streamerId: this.config.streamerId, pool: this.config.pool, at: Date.now() });
  }

  #onReceiverClosed(receiver: Receiver, reason: ReceiverCloseReason, detail?: string): void {
    this.logger.info(
      { streamId: receiver.streamId, ssrc: receiver.ssrcText, reason, detail, packets: receiver.packets, lost: receiver.lost },
      'receiver closed',
    );
    this.#publish({
      type: 'receiver.closed',
      streamerId: this.config.streamerId,
      streamId: receiver.streamId,
      reason,
      detail,
      at: Date.now(),
    });
  }

  #publish(event: GbcastEvent): void {
    this.#store?.publishEvent(event).catch((err: unknown) => {
      this.logger.warn({ err: (err as Error).message, event: event.type }, 'could not publish event');
    });
  }

  /**
   * Graceful stop: drain, let running streams go on for up to `graceMs` (they end when signaling
   * sends BYE or media stops), then close what is left, flush RTMP, and release everything.
   */
  async stop(graceMs = 0): Promise<void> {
    if (this.#stopping) return;
    this.drain('stopping');
    const deadline = Date.now() + graceMs;
    while (this.table.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    this.#stopping = true;
    await Promise.allSettled([...this.table.all()].map((r) => this.table.remove(r, 'shutdown')));
    this.table.stop();
    clearInterval(this.#heapTrimTimer);
    await this.#rtpPort?.close();
    await this.#http?.close();
    await this.#reporter?.stop();
    if (this.#store) await this.#store.remove(this.config.streamerId, this.config.pool).catch(() => undefined);
    await this.#ownBackend?.close();
    this.logger.info('streamer stopped');
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    streamer: Streamer;
  }
}
