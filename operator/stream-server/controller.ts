/**
 * The GbStreamServer shell: observe (the pool, its pods and the nodes from the informers' caches,
 * the pool's load from the store), call the pure decision, apply what it says. It keeps one kind
 * of memory of its own, "expectations": pods it created or deleted that the pod cache has not
 * shown yet, so a reconcile that runs before the cache catches up does not create them again.
 */
import type { Logger } from '../../common/logger.ts';
import type { StoreBackend } from '../../common/store/backend.ts';
import { annotations, labels, type GbStreamServer } from '../api/types.ts';
import type { KubeClient } from '../kube/client.ts';
import { fieldManager, isAlreadyExists, isNotFound, resources } from '../kube/client.ts';
import type { Node, Pod } from '../kube/types.ts';
import type { EventSink, ObjectCache } from '../reconcile.ts';
import { decideStreamServer, type ObservedNode, type ObservedPod } from './decide.ts';
import { buildMediaService, buildPod, newPodName, type PodOptions } from './manifests.ts';

/** How long a created or deleted pod may stay unseen in the cache before we stop waiting for it. */
const expectationTimeoutMs = 60_000;

export interface StreamServerControllerOptions {
  client: KubeClient;
  backend: StoreBackend;
  pools: ObjectCache<GbStreamServer>;
  pods: ObjectCache<Pod>;
  nodes: ObjectCache<Node>;
  events: EventSink;
  pod: PodOptions;
  logger: Logger;
  now?: () => number;
}

export function poolKeyOfPod(pod: Pod): string | undefined {
  const pool = pod.metadata.labels?.[labels.pool];
  return pool && pod.metadata.namespace ? `${pod.metadata.namespace}/${pool}` : undefined;
}

function observePod(pod: Pod): ObservedPod {
  const s = pod.status;
  const port = Number(pod.metadata.annotations?.[annotations.mediaPort]);
  const since = pod.metadata.annotations?.[annotations.drainingSince];
  const p: ObservedPod = {
    name: pod.metadata.name,
    phase: s?.phase ?? 'Pending',
    ready: s?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
    terminating: pod.metadata.deletionTimestamp !== undefined,
    createdAt: pod.metadata.creationTimestamp ? Date.parse(pod.metadata.creationTimestamp) : 0,
  };
  if (pod.spec.nodeName) p.nodeName = pod.spec.nodeName;
  if (Number.isInteger(port) && port > 0 && port < 65536) p.port = port;
  if (since && Number.isFinite(Date.parse(since))) p.drainingSince = Date.parse(since);
  return p;
}

function observeNode(node: Node): ObservedNode {
  return { addresses: node.status?.addresses ?? [], annotations: node.metadata.annotations ?? {} };
}

export class StreamServerController {
  readonly #o: StreamServerControllerOptions;
  readonly #now: () => number;
  /** Pool key → pods created and not yet in the cache (name → port, when). */
  readonly #pendingCreates = new Map<string, Map<string, { port: number; at: number }>>();
  /** Pods deleted and still in the cache without a deletionTimestamp. */
  readonly #pendingDeletes = new Map<string, number>();
  /** The public address last written per pod. */
  readonly #addresses = new Map<string, string>();

  constructor(options: StreamServerControllerOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  /** A pod went away: forget what we told its streamer through the store. */
  async podGone(pod: Pod): Promise<void> {
    this.#addresses.delete(pod.metadata.name);
    this.#pendingDeletes.delete(pod.metadata.name);
    await this.#o.backend.streamers.clearDirectives(pod.metadata.name);
  }

  async reconcile(key: string): Promise<{ requeueAfterMs?: number } | void> {
    const o = this.#o;
    const [namespace, name] = key.split('/');
    const pool = o.pools.getByName(name, namespace);
    if (!pool || pool.metadata.deletionTimestamp) {
      this.#pendingCreates.delete(key);
      return; // its pods go with it (owner references)
    }
    const now = this.#now();
    const cached = o.pods.list().filter((p) => p.metadata.namespace === namespace && p.metadata.labels?.[labels.pool] === name);
    const pods = cached.map((p) => {
      const observed = observePod(p);
      const deletedAt = this.#pendingDeletes.get(p.metadata.name);
      if (deletedAt !== undefined && !observed.terminating && now - deletedAt < expectationTimeoutMs) observed.terminating = true;
      return observed;
    });
    const pending = this.#pendingCreates.get(key);
    if (pending) {
      for (const [podName, { port, at }] of pending) {
        if (cached.some((p) => p.metadata.name === podName) || now - at >= expectationTimeoutMs) pending.delete(podName);
        else pods.push({ name: podName, phase: 'Pending', ready: false, terminating: false, port, createdAt: at });
      }
    }
    let load: Map<string, { activeStreams: number; draining: boolean }> | undefined;
    try {
      const records = await o.backend.streamers.listPool(name);
      load = new Map(records.map((r) => [r.id, { activeStreams: r.activeStreams, draining: r.draining }]));
    } catch (err) {
      o.logger.warn({ pool: key, err: (err as Error).message }, 'cannot read the pool\'s load');
    }
    const nodes = new Map(o.nodes.list().map((n) => [n.metadata.name, observeNode(n)]));
    const actions = decideStreamServer({ pool, pods, nodes, load, now });

    for (const d of actions.delete) await this.#deletePod(pool, d.name, d.reason);
    for (const podName of actions.drain) await this.#drain(pool, podName, now);
    for (const { port } of actions.create) await this.#create(pool, key, port, now);
    for (const { pod, address } of actions.publicAddresses) {
      if (this.#addresses.get(pod) === address) continue;
      await o.backend.streamers.setPublicAddress(pod, address);
      this.#addresses.set(pod, address);
    }
    for (const e of actions.events) o.events.emit(pool, e.type, e.reason, e.note);
    await o.client.applyStatus(
      resources.gbStreamServers,
      { apiVersion: pool.apiVersion, kind: pool.kind, metadata: { name, namespace }, status: actions.status } as GbStreamServer & { metadata: { name: string } },
      { fieldManager, force: true },
    );
    return actions.requeueAfterMs === undefined ? undefined : { requeueAfterMs: actions.requeueAfterMs };
  }

  async #create(pool: GbStreamServer, key: string, port: number, now: number): Promise<void> {
    const o = this.#o;
    for (let attempt = 0; ; attempt++) {
      const name = newPodName(pool.metadata.name);
      try {
        const created = await o.client.create(resources.pods, buildPod(pool, name, port, o.pod) as unknown as Pod);
        let pending = this.#pendingCreates.get(key);
        if (!pending) this.#pendingCreates.set(key, (pending = new Map()));
        pending.set(name, { port, at: now });
        if (pool.spec.media.exposure === 'NodePort') {
          await o.client.apply(resources.services, buildMediaService(pool, name, created.metadata.uid ?? '', port) as never, { fieldManager, force: true });
        }
        o.logger.info({ pool: key, pod: name, port }, 'pod created');
        return;
      } catch (err) {
        if (isAlreadyExists(err) && attempt < 3) continue; // a name clash: draw another
        throw err;
      }
    }
  }

  async #drain(pool: GbStreamServer, podName: string, now: number): Promise<void> {
    const o = this.#o;
    // The store first: the streamer stops taking streams at its next report, whatever happens to the annotation.
    await o.backend.streamers.requestDrain(podName);
    try {
      await o.client.patchMerge(resources.pods, podName, { metadata: { annotations: { [annotations.drainingSince]: new Date(now).toISOString() } } }, { namespace: pool.metadata.namespace });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    o.events.emit(pool, 'Normal', 'Draining', `pod ${podName} drains: it takes no new streams and is removed when its streams end`);
    o.logger.info({ pool: pool.metadata.name, pod: podName }, 'pod draining');
  }

  async #deletePod(pool: GbStreamServer, podName: string, reason: string): Promise<void> {
    const o = this.#o;
    try {
      await o.client.delete(resources.pods, podName, { namespace: pool.metadata.namespace });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    this.#pendingDeletes.set(podName, this.#now());
    o.events.emit(pool, 'Normal', 'PodDeleted', `pod ${podName}: ${reason}`);
    o.logger.info({ pool: pool.metadata.name, pod: podName, reason }, 'pod deleted');
  }
}
