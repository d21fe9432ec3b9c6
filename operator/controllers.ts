/**
 * The running controllers of a leading replica: informers on pools, their pods, nodes and cameras;
 * one work queue per kind; device events from the store (a camera's status follows its device at
 * once). Started when the Lease is won, stopped when it is lost.
 */
import type { Registry } from 'prom-client';
import type { GbcastEvent } from '../common/contracts.ts';
import type { Logger } from '../common/logger.ts';
import type { StoreBackend } from '../common/store/backend.ts';
import { labels, type GbCamera, type GbStreamServer } from './api/types.ts';
import { CameraController } from './camera/controller.ts';
import type { KubeClient } from './kube/client.ts';
import { resources } from './kube/client.ts';
import { Controller } from './kube/controller.ts';
import { EventRecorder } from './kube/events.ts';
import { Informer } from './kube/informer.ts';
import type { Node, Pod } from './kube/types.ts';
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

export class Controllers {
  readonly pools: Informer<GbStreamServer>;
  readonly pods: Informer<Pod>;
  readonly nodes: Informer<Node>;
  readonly cameras: Informer<GbCamera>;
  readonly streamServers: StreamServerController;
  readonly cameraController: CameraController;
  readonly #poolControl: Controller;
  readonly #cameraControl: Controller;
  readonly #o: ControllersOptions;
  readonly #stop = new AbortController();
  #unsubscribe: (() => void)[] = [];
  #running: Promise<unknown>[] = [];

  constructor(o: ControllersOptions) {
    this.#o = o;
    const common = { namespace: o.namespace, resyncMs: o.resyncMs, logger: o.logger };
    this.pools = new Informer(o.client, resources.gbStreamServers, common);
    this.pods = new Informer(o.client, resources.pods, { ...common, labelSelector: `${labels.component}=streamer,${labels.managedBy}=gbcast-operator` });
    this.nodes = new Informer(o.client, resources.nodes, { resyncMs: o.resyncMs, logger: o.logger });
    this.cameras = new Informer(o.client, resources.gbCameras, common);
    const events = new EventRecorder(o.client, { controller: 'gbcast.io/operator', instance: o.identity, logger: o.logger });
    this.streamServers = new StreamServerController({ client: o.client, backend: o.backend, pools: this.pools, pods: this.pods, nodes: this.nodes, events, pod: o.pod, logger: o.logger });
    this.cameraController = new CameraController({ client: o.client, backend: o.backend, cameras: this.cameras, events, logger: o.logger, ...o.camera });
    const controller = { concurrency: o.workers, registry: o.registry, logger: o.logger };
    this.#poolControl = new Controller({
      ...controller,
      name: 'gbstreamserver',
      reconcile: (key) => this.streamServers.reconcile(key),
      watches: [
        { informer: this.pools },
        { informer: this.pods, keys: poolKeyOfPod },
        // A node's addresses are its pods' public addresses: every pool looks again.
        { informer: this.nodes, keys: () => this.pools.keys() },
      ],
    });
    this.#cameraControl = new Controller({ ...controller, name: 'gbcamera', reconcile: (key) => this.cameraController.reconcile(key), watches: [{ informer: this.cameras }] });
  }

  async start(): Promise<void> {
    const o = this.#o;
    this.#unsubscribe.push(await o.backend.subscribe((event: GbcastEvent) => this.#onStoreEvent(event)));
    this.#unsubscribe.push(
      this.pods.addHandlers({
        delete: (pod) => {
          this.streamServers.podGone(pod).catch((err: unknown) => o.logger.warn({ err, pod: pod.metadata.name }, 'could not clear the streamer\'s directives'));
        },
      }),
    );
    // Each controller lists its informers and waits for them before its first reconcile.
    this.#running = [this.#poolControl.run(this.#stop.signal), this.#cameraControl.run(this.#stop.signal)];
    // Stopped before the first sync (leadership lost at once): the informers never sync, do not wait for them.
    const stopped = new Promise<void>((resolve) => this.#stop.signal.addEventListener('abort', () => resolve(), { once: true }));
    await Promise.race([Promise.all([this.pools.synced, this.pods.synced, this.nodes.synced, this.cameras.synced]), stopped]);
  }

  #onStoreEvent(event: GbcastEvent): void {
    if (event.type === 'device.online' || event.type === 'device.offline') {
      for (const key of this.cameraController.keysOfDevice(event.deviceId)) this.#cameraControl.enqueue(key);
    } else if (event.type === 'streamer.draining') {
      // A drained streamer empties: its pool decides sooner than the next drain check.
      for (const p of this.pools.list()) if (p.metadata.name === event.pool) this.#poolControl.enqueue(keyOf(p));
    }
  }

  async stop(): Promise<void> {
    for (const u of this.#unsubscribe) u();
    this.#stop.abort();
    await Promise.allSettled(this.#running);
    await Promise.all([this.pools.stop(), this.pods.stop(), this.nodes.stop(), this.cameras.stop()]);
  }
}
