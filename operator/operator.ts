/**
 * The operator process: health and metrics at once; the controllers only while this replica holds
 * the Lease. Losing the Lease stops them (informers, queues) and goes back to waiting for it, so two
 * replicas never act at the same time and a replica that lost it never acts on a stale view.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Registry } from 'prom-client';
import type { ConfigOf } from '../common/config.ts';
import { registerHealthRoutes } from '../common/http/health.ts';
import type { Logger } from '../common/logger.ts';
import { createMetricsRegistry } from '../common/metrics.ts';
import { openRedisBackend, type StoreBackend } from '../common/store/backend.ts';
import { gbcastVersion } from '../common/version.ts';
import type { operatorOptions } from './config.ts';
import { Controllers } from './controllers.ts';
import { KubeClient } from './kube/client.ts';
import { LeaderElector } from './kube/leader-election.ts';
import type { RedisSource } from './stream-server/manifests.ts';

export type OperatorConfig = ConfigOf<typeof operatorOptions>;

export interface OperatorOptions {
  kubeConfig: KubeConfig;
  /** A store backend to use instead of opening Redis from the config (tests). */
  backend?: StoreBackend;
}

export class Operator {
  readonly config: OperatorConfig;
  readonly logger: Logger;
  readonly registry: Registry;
  readonly client: KubeClient;
  readonly #options: OperatorOptions;
  #backend: StoreBackend | undefined;
  #ownBackend = false;
  #elector: LeaderElector | undefined;
  #controllers: Controllers | undefined;
  #http: FastifyInstance | undefined;
  #httpUrl = '';
  #leading = false;
  #stopping = false;

  constructor(config: OperatorConfig, logger: Logger, options: OperatorOptions) {
    this.config = config;
    this.logger = logger;
    this.#options = options;
    this.registry = createMetricsRegistry({ part: 'operator' });
    this.client = KubeClient.fromKubeConfig(options.kubeConfig);
  }

  get leading(): boolean {
    return this.#leading;
  }

  get httpUrl(): string {
    return this.#httpUrl;
  }

  /** The controllers while leading (tests). */
  get controllers(): Controllers | undefined {
    return this.#controllers;
  }

  async start(): Promise<void> {
    const c = this.config;
    this.#backend = this.#options.backend;
    if (!this.#backend) {
      this.#backend = await openRedisBackend({ url: c.redisUrl, prefix: c.redisPrefix, logger: this.logger, name: 'gbcast-operator', waitMs: 10_000 });
      this.#ownBackend = true;
    }
    const app = Fastify({ logger: false, forceCloseConnections: true });
    registerHealthRoutes(app, this.registry, () => this.#readiness(), { identity: c.identity });
    const address = await app.listen({ host: c.httpHost, port: c.httpPort });
    this.#http = app;
    this.#httpUrl = `http://${c.httpHost === '0.0.0.0' || c.httpHost === '::' ? '127.0.0.1' : c.httpHost}:${new URL(address).port}`;

    if (!c.leaderElection) {
      await this.#lead(new AbortController().signal);
    } else {
      this.#elector = new LeaderElector(this.client, {
        name: c.leaseName,
        namespace: c.leaseNamespace ?? process.env.POD_NAMESPACE ?? 'default',
        identity: c.identity,
        leaseDurationMs: c.leaseDurationS * 1000,
        renewDeadlineMs: c.leaseRenewDeadlineS * 1000,
        retryPeriodMs: c.leaseRetryS * 1000,
        logger: this.logger,
        registry: this.registry,
        onStartedLeading: (signal) => this.#lead(signal),
        onStoppedLeading: () => this.#follow(),
      });
      this.#elector.start();
    }
    this.logger.info({ http: this.#httpUrl, identity: c.identity, namespace: c.namespace ?? '(all)', version: gbcastVersion }, 'operator started');
  }

  async #lead(signal: AbortSignal): Promise<void> {
    if (this.#stopping) return;
    this.#leading = true;
    this.logger.info({ identity: this.config.identity }, 'leading: starting the controllers');
    const c = this.config;
    const redis: RedisSource = c.podRedisSecret
      ? { secretName: c.podRedisSecret.split(':')[0], secretKey: c.podRedisSecret.split(':')[1] }
      : { url: c.redisUrl };
    this.#controllers = new Controllers({
      client: this.client,
      backend: this.#backend!,
      registry: this.registry,
      logger: this.logger,
      namespace: c.namespace,
      workers: c.workers,
      resyncMs: c.resyncS * 1000,
      identity: c.identity,
      pod: { redis, redisPrefix: c.redisPrefix },
      camera: { keepaliveStatusIntervalMs: c.cameraKeepaliveStatusS * 1000, statusWritesPerSecond: c.statusWritesPerSecond },
    });
    signal.addEventListener('abort', () => void this.#follow(), { once: true });
    await this.#controllers.start();
  }

  async #follow(): Promise<void> {
    if (!this.#leading) return;
    this.#leading = false;
    const controllers = this.#controllers;
    this.#controllers = undefined;
    this.logger.warn({ identity: this.config.identity }, 'not leading any more: controllers stopped');
    await controllers?.stop();
  }

  #readiness(): { ready: boolean; reason?: string } {
    if (this.#stopping) return { ready: false, reason: 'shutting down' };
    const store = this.#backend?.readiness();
    if (store && !store.ready) return { ready: false, reason: store.reason };
    return { ready: true };
  }

  /** Stops the controllers and gives the Lease up, so a successor takes over at once. */
  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    await this.#follow();
    await this.#elector?.stop();
    await this.#http?.close();
    if (this.#ownBackend) await this.#backend?.close();
    this.logger.info('operator stopped');
  }
}

