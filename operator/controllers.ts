/**
 * The running controllers of a leading replica: informers on pools, their pods, nodes and cameras;
 * one work queue per kind; device events from the store (a camera's status follows its device at
 * once). Started when the Lease is won, stopped when it is lost.
 */
import type { Registry } from 'prom-client';
import { Counter, Histogram } from 'prom-client';
import type { GbcastEvent } from '../common/contracts.ts';
import type { Logger } from '../common/logger.ts';
import type { StoreBackend } from '../common/store/backend.ts';
import { labels, type GbCamera, type GbStreamServer } from './api/types.ts';
import { CameraController } from './camera/controller.ts';
import type { KubeClient } from './kube/client.ts';
import { resources } from './kube/client.ts';
import { EventRecorder } from './kube/events.ts';
import { Informer } from './kube/informer.ts';
import type { Node, Pod } from './kube/types.ts';
import { WorkQueue } from './kube/work-queue.ts';
import { keyOf } from './reconcile.ts';
import { StreamServerController, poolKeyOfPod } from './stream-server/controller.ts';
import type { PodOptions } from './stream-server/manifests.ts';

export interface ControllersOptions {
  client: KubeClient;
  backend: StoreBackend;
  registry: Registry;
  logger: Logger;
  namespace?: string;
  workers: number;
  resyncMs: number;
  identity: string;
  pod: PodOptions;
  camera: { keepaliveStatusIntervalMs: number; statusWritesPerSecond: number };
}

type Reconcile = (key: string) => Promise<{ requeueAfterMs?: number } | void>;

interface ReconcileMetrics {
  total: Counter<'controller' | 'result'>;
  errors: Counter<'controller'>;
  duration: Histogram<'controller'>;
}

const metricsByRegistry = new WeakMap<Registry, ReconcileMetrics>();

function reconcileMetrics(registry: Registry): ReconcileMetrics {
  let m = metricsByRegistry.get(registry);
  if (!m) {
    m = {
      total: new Counter({ name: 'gbcast_operator_reconciles_total', help: 'Reconciles, by controller and result (ok, requeue, error).', labelNames: ['controller', 'result'], registers: [registry] }),
      errors: new Counter({ name: 'gbcast_operator_reconcile_errors_total', help: 'Reconciles that failed (retried with backoff), by controller.', labelNames: ['controller'], registers: [registry] }),
      duration: new Histogram({
        name: 'gbcast_operator_reconcile_duration_seconds',
        help: 'Time one reconcile takes, by controller.',
        labelNames: ['controller'],
        buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
        registers: [registry],
      }),
    };
    metricsByRegistry.set(registry, m);
  }
  return m;
}

export class Controllers {
  readonly pools: Informer<GbStreamServer>;
  readonly pods: Informer<Pod>;
  readonly nodes: Informer<Node>;
  readonly cameras: Informer<GbCamera>;
  readonly poolQueue: WorkQueue<string>;
  readonly cameraQueue: WorkQueue<string>;
  readonly streamServers: StreamServerController;
  readonly cameraController: CameraController;
  readonly #o: ControllersOptions;
  readonly #metrics: ReconcileMetrics;
  #unsubscribe: (() => void) | undefined;
  #running: Promise<unknown>[] = [];

  constructor(o: ControllersOptions) {
    this.#o = o;
    this.#metrics = reconcileMetrics(o.registry);
    const common = { namespace: o.namespace, resyncMs: o.resyncMs, logger: o.logger };
    this.pools = new Informer(o.client, resources.gbStreamServers, common);
    this.pods = new Informer(o.client, resources.pods, { ...common, labelSelector: `${labels.component}=streamer,${labels.managedBy}=gbcast-operator` });
    this.nodes = new Informer(o.client, resources.nodes, { resyncMs: o.resyncMs, logger: o.logger });
    this.cameras = new Informer(o.client, resources.gbCameras, common);
    this.poolQueue = new WorkQueue<string>({ name: 'gbstreamserver', registry: o.registry, logger: o.logger });
    this.cameraQueue = new WorkQueue<string>({ name: 'gbcamera', registry: o.registry, logger: o.logger });
    const events = new EventRecorder(o.client, { controller: 'gbcast.io/operator', instance: o.identity, logger: o.logger });
    this.streamServers = new StreamServerController({ client: o.client, backend: o.backend, pools: this.pools, pods: this.pods, nodes: this.nodes, events, pod: o.pod, logger: o.logger });
    this.cameraController = new CameraController({ client: o.client, backend: o.backend, cameras: this.cameras, events, logger: o.logger, ...o.camera });

    const enqueuePool = (obj: GbStreamServer) => this.poolQueue.add(keyOf(obj));
    this.pools.addHandlers({ add: enqueuePool, update: (_old, obj) => enqueuePool(obj) });
    const enqueuePoolOfPod = (pod: Pod) => {
      const key = poolKeyOfPod(pod);
      if (key) this.poolQueue.add(key);
    };
    this.pods.addHandlers({
      add: enqueuePoolOfPod,
      update: (_old, pod) => enqueuePoolOfPod(pod),
      delete: (pod) => {
        enqueuePoolOfPod(pod);
        this.streamServers.podGone(pod).catch((err: unknown) => o.logger.warn({ err, pod: pod.metadata.name }, 'could not clear the streamer\'s directives'));
      },
    });
    // A node's addresses are the pods' public addresses: every pool looks again.
    const allPools = () => {
      for (const p of this.pools.list()) enqueuePool(p);
    };
    this.nodes.addHandlers({
      add: allPools,
      update: (old, node) => {
        if (old !== node && JSON.stringify([old.status?.addresses, old.metadata.annotations]) !== JSON.stringify([node.status?.addresses, node.metadata.annotations])) allPools();
      },
    });
    const enqueueCamera = (obj: GbCamera) => this.cameraQueue.add(keyOf(obj));
    this.cameras.addHandlers({ add: enqueueCamera, update: (_old, obj) => enqueueCamera(obj) });
  }

  async start(): Promise<void> {
    const o = this.#o;
    this.#unsubscribe = await o.backend.subscribe((event: GbcastEvent) => this.#onStoreEvent(event));
    this.pools.start();
    this.pods.start();
    this.nodes.start();
    this.cameras.start();
    // Decisions need the whole picture: no reconcile before every cache is filled.
    await Promise.all([this.pools.synced, this.pods.synced, this.nodes.synced, this.cameras.synced]);
    this.#running = [
      this.poolQueue.run(o.workers, (key) => this.#process('gbstreamserver', this.poolQueue, key, (k) => this.streamServers.reconcile(k))),
      this.cameraQueue.run(o.workers, (key) => this.#process('gbcamera', this.cameraQueue, key, (k) => this.cameraController.reconcile(k))),
    ];
  }

  #onStoreEvent(event: GbcastEvent): void {
    if (event.type === 'device.online' || event.type === 'device.offline') {
      for (const key of this.cameraController.keysOfDevice(event.deviceId)) this.cameraQueue.add(key);
    } else if (event.type === 'streamer.draining') {
      // A drained streamer empties: its pool decides sooner than the next drain check.
      for (const p of this.pools.list()) if (p.metadata.name === event.pool) this.poolQueue.add(keyOf(p));
    }
  }

  async #process(controller: string, queue: WorkQueue<string>, key: string, reconcile: Reconcile): Promise<void> {
    const m = this.#metrics;
    const end = m.duration.startTimer({ controller });
    try {
      const result = await reconcile(key);
      queue.forget(key);
      if (result?.requeueAfterMs !== undefined) {
        queue.addAfter(key, result.requeueAfterMs);
        m.total.inc({ controller, result: 'requeue' });
      } else {
        m.total.inc({ controller, result: 'ok' });
      }
    } catch (err) {
      m.total.inc({ controller, result: 'error' });
      m.errors.inc({ controller });
      this.#o.logger.warn({ err: (err as Error).message, controller, key }, 'reconcile failed; retrying with backoff');
      queue.addRateLimited(key);
    } finally {
      end();
    }
  }

  async stop(): Promise<void> {
    this.#unsubscribe?.();
    await Promise.all([this.pools.stop(), this.pods.stop(), this.nodes.stop(), this.cameras.stop(), this.poolQueue.shutDown(), this.cameraQueue.shutDown()]);
    await Promise.allSettled(this.#running);
  }
}
