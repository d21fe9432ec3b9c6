/**
 * The GbStreamServer decision, as a pure function: from what is observed (the pool, its pods, the
 * nodes, the load its streamers report) to what to do (pods to create, drain, delete; addresses to
 * tell; the status). No I/O here: controller.ts observes and applies.
 *
 * Rules:
 * - desired pods: spec.replicas, or with autoscaling ceil(streams × (1 + headroom) / target),
 *   clamped to [min, max];
 * - up at once; down only after the load stayed low for scaleDownDelaySeconds (autoscaling), by
 *   draining: pods that are not serving (pending, not ready, no streams) go first and are deleted at
 *   once, then the least-loaded ready pods are marked draining;
 * - a draining pod is deleted when its streams reach zero or its drain timeout passes, never before;
 * - failed pods are deleted (and so replaced);
 * - each pod gets its own media port from the range (hostPort: on its node; NodePort: its Service's).
 */
import { labels, type Condition, type GbStreamServer, type GbStreamServerPodStatus, type GbStreamServerStatus } from '../api/types.ts';

export interface ObservedPod {
  name: string;
  phase: 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';
  ready: boolean;
  /** deletionTimestamp is set. */
  terminating: boolean;
  nodeName?: string;
  /** The media port the operator gave it (annotation), undefined when missing or garbled. */
  port?: number;
  /** When the operator marked it draining (ms), from its annotation. */
  drainingSince?: number;
  createdAt: number;
}

export interface ObservedNode {
  addresses: { type: string; address: string }[];
  annotations: Record<string, string>;
}

export interface ObservedLoad {
  activeStreams: number;
  draining: boolean;
}

export interface StreamServerObserved {
  pool: GbStreamServer;
  pods: readonly ObservedPod[];
  nodes: ReadonlyMap<string, ObservedNode>;
  /** Load records of the pool's streamers by pod name; undefined when the store cannot be read. */
  load: ReadonlyMap<string, ObservedLoad> | undefined;
  now: number;
}

export interface StreamServerActions {
  /** New pods, each with its media port. */
  create: { port: number }[];
  /** Pods to mark draining (store request + annotation). */
  drain: string[];
  delete: { name: string; reason: string }[];
  /** Where devices reach each scheduled pod, for the store. */
  publicAddresses: { pod: string; address: string }[];
  status: GbStreamServerStatus;
  /** Look again after this long (a delay or a drain running), even without a change. */
  requeueAfterMs?: number;
  events: { type: 'Normal' | 'Warning'; reason: string; note: string }[];
}

/** Streams a pod is counted for in capacity when autoscaling sets no target. */
export const defaultTargetStreamsPerPod = 100;
/** How often draining pods are looked at again. */
export const drainCheckMs = 2000;

export function poolSelector(poolName: string): string {
  return `${labels.pool}=${poolName}`;
}

function gone(p: ObservedPod): boolean {
  return p.terminating || p.phase === 'Failed' || p.phase === 'Succeeded';
}

/** The pod's public address from its node: the pool's override, the node's annotation, else its addresses in the preferred order. */
export function publicAddressOf(pool: GbStreamServer, node: ObservedNode | undefined): string | undefined {
  const override = pool.spec.publicAddress?.override;
  if (override) return override;
  if (!node) return undefined;
  const annotated = node.annotations['gbcast.io/public-address'];
  if (annotated) return annotated;
  const order = pool.spec.publicAddress?.addressType === 'InternalIP' ? ['InternalIP', 'ExternalIP'] : ['ExternalIP', 'InternalIP'];
  for (const type of order) {
    const found = node.addresses.find((a) => a.type === type && a.address);
    if (found) return found.address;
  }
  return undefined;
}

/** Pods wanted, from the spec and the load; `undefined` load keeps the current number (never scale on no data). */
export function desiredReplicas(pool: GbStreamServer, streams: number | undefined, current: number): number {
  const a = pool.spec.autoscaling;
  if (!a?.enabled) return pool.spec.replicas;
  if (streams === undefined) return Math.min(Math.max(current, a.minReplicas), a.maxReplicas);
  const wanted = Math.ceil((streams * (1 + a.headroomPercent / 100)) / Math.max(1, a.targetStreamsPerPod));
  return Math.min(Math.max(wanted, a.minReplicas), a.maxReplicas);
}

function freePorts(pool: GbStreamServer, pods: readonly ObservedPod[], count: number): number[] {
  const used = new Set(pods.map((p) => p.port).filter((p): p is number => p !== undefined));
  const out: number[] = [];
  const { min, max } = pool.spec.media.portRange;
  for (let port = min; port <= max && out.length < count; port++) if (!used.has(port)) out.push(port);
  return out;
}

function condition(previous: Condition[] | undefined, type: string, status: boolean, reason: string, message: string, generation: number, now: number): Condition {
  const s = status ? 'True' : 'False';
  const before = previous?.find((c) => c.type === type);
  const lastTransitionTime = before && before.status === s ? before.lastTransitionTime : new Date(now).toISOString();
  return { type, status: s, reason, message, observedGeneration: generation, lastTransitionTime };
}

export function decideStreamServer(o: StreamServerObserved): StreamServerActions {
  const { pool, now } = o;
  const spec = pool.spec;
  const generation = pool.metadata.generation ?? 0;
  const actions: StreamServerActions = { create: [], drain: [], delete: [], publicAddresses: [], events: [], status: undefined as unknown as GbStreamServerStatus };
  const requeue = (ms: number) => {
    actions.requeueAfterMs = actions.requeueAfterMs === undefined ? ms : Math.min(actions.requeueAfterMs, ms);
  };
  const loadOf = (name: string) => o.load?.get(name);
  const streamsOf = (name: string) => loadOf(name)?.activeStreams ?? 0;
  const deleting = new Set<string>();
  const del = (name: string, reason: string) => {
    if (deleting.has(name)) return;
    deleting.add(name);
    actions.delete.push({ name, reason });
  };

  // Failed pods are replaced; pods without a usable port cannot serve and are replaced too.
  for (const p of o.pods) {
    if (p.terminating) continue;
    if (p.phase === 'Failed' || p.phase === 'Succeeded') del(p.name, `pod ${p.phase.toLowerCase()}`);
    else if (p.port === undefined) del(p.name, 'pod has no media port');
  }

  // Draining pods leave when empty or when their time is up; until then they stay.
  const drainTimeoutMs = spec.drainTimeoutSeconds * 1000;
  for (const p of o.pods) {
    if (gone(p) || p.drainingSince === undefined || deleting.has(p.name)) continue;
    const load = loadOf(p.name);
    const elapsed = now - p.drainingSince;
    if (load && load.activeStreams === 0 && o.load !== undefined) del(p.name, 'drained: no streams left');
    else if (!load && o.load !== undefined && !p.ready) del(p.name, 'drained: not running');
    else if (elapsed >= drainTimeoutMs) del(p.name, `drain timeout (${spec.drainTimeoutSeconds} s) passed with ${load?.activeStreams ?? 'unknown'} streams`);
    else requeue(Math.min(drainCheckMs, drainTimeoutMs - elapsed));
  }

  const serving = o.pods.filter((p) => !gone(p) && !deleting.has(p.name) && p.drainingSince === undefined);
  const streams = o.load === undefined ? undefined : o.pods.filter((p) => !gone(p)).reduce((n, p) => n + streamsOf(p.name), 0);
  const desired = desiredReplicas(pool, streams, serving.length);
  let lowLoadSince = pool.status?.lowLoadSince ? Date.parse(pool.status.lowLoadSince) : undefined;
  let portsExhausted = false;

  if (desired > serving.length) {
    lowLoadSince = undefined;
    // Every pod still there holds its port (a terminating one until it is gone).
    const ports = freePorts(pool, o.pods, desired - serving.length);
    for (const port of ports) actions.create.push({ port });
    if (ports.length < desired - serving.length) {
      portsExhausted = true;
      actions.events.push({
        type: 'Warning',
        reason: 'PortsExhausted',
        note: `port range ${spec.media.portRange.min}-${spec.media.portRange.max} has no free port for ${desired - serving.length - ports.length} more pods`,
      });
    }
    if (actions.create.length > 0) actions.events.push({ type: 'Normal', reason: 'ScalingUp', note: `${serving.length} → ${desired} pods (${streams ?? 'unknown'} streams)` });
  } else if (desired < serving.length) {
    const autoscaled = spec.autoscaling?.enabled === true;
    const delayMs = autoscaled ? spec.autoscaling!.scaleDownDelaySeconds * 1000 : 0;
    lowLoadSince ??= now;
    if (now - lowLoadSince >= delayMs) {
      const excess = serving.length - desired;
      // Not serving first (pending, unready, no streams): nothing to drain. Then the least loaded, newest first.
      const idle = (p: ObservedPod) => (!p.ready || p.phase !== 'Running') && streamsOf(p.name) === 0;
      const order = [...serving].sort((a, b) => Number(idle(b)) - Number(idle(a)) || streamsOf(a.name) - streamsOf(b.name) || b.createdAt - a.createdAt);
      for (const p of order.slice(0, excess)) {
        if (idle(p) && o.load !== undefined) del(p.name, 'scale down: not serving');
        else actions.drain.push(p.name);
      }
      actions.events.push({ type: 'Normal', reason: 'ScalingDown', note: `${serving.length} → ${desired} pods (${streams ?? 'unknown'} streams): draining ${actions.drain.length}` });
      lowLoadSince = undefined;
    } else {
      requeue(lowLoadSince + delayMs - now);
    }
  } else {
    lowLoadSince = undefined;
  }

  for (const p of o.pods) {
    if (gone(p) || !p.nodeName) continue;
    const address = publicAddressOf(pool, o.nodes.get(p.nodeName));
    if (address) actions.publicAddresses.push({ pod: p.name, address });
  }

  // Status: what is there after these actions start.
  const draining = new Set([...o.pods.filter((p) => !gone(p) && p.drainingSince !== undefined && !deleting.has(p.name)).map((p) => p.name), ...actions.drain]);
  const alive = o.pods.filter((p) => !gone(p) && !deleting.has(p.name));
  const ready = alive.filter((p) => p.ready && !draining.has(p.name));
  const target = spec.autoscaling?.targetStreamsPerPod ?? defaultTargetStreamsPerPod;
  const podStatus: GbStreamServerPodStatus[] = alive
    .map((p) => {
      const address = p.nodeName ? publicAddressOf(pool, o.nodes.get(p.nodeName)) : undefined;
      const s: GbStreamServerPodStatus = { name: p.name, ready: p.ready, draining: draining.has(p.name), streams: streamsOf(p.name) };
      if (p.nodeName) s.node = p.nodeName;
      if (address) s.address = address;
      if (p.port !== undefined) s.port = p.port;
      return s;
    })
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const previous = pool.status?.conditions;
  const failed = o.pods.filter((p) => !p.terminating && p.phase === 'Failed').length;
  const scalingReason = actions.create.length > 0 ? 'ScalingUp' : draining.size > 0 ? 'Draining' : actions.requeueAfterMs !== undefined && lowLoadSince !== undefined ? 'ScaleDownDelay' : 'Stable';
  const degraded = portsExhausted ? 'PortsExhausted' : o.load === undefined ? 'StoreUnavailable' : failed > 0 ? 'PodsFailed' : undefined;
  const readyCount = ready.length;
  actions.status = {
    replicas: alive.length,
    readyReplicas: readyCount,
    drainingReplicas: draining.size,
    activeStreams: streams ?? pool.status?.activeStreams ?? 0,
    capacity: readyCount * target,
    selector: poolSelector(pool.metadata.name),
    pods: podStatus,
    ...(lowLoadSince !== undefined ? { lowLoadSince: new Date(lowLoadSince).toISOString() } : {}),
    conditions: [
      condition(previous, 'Ready', readyCount >= desired, readyCount >= desired ? 'PodsReady' : 'PodsNotReady', `${readyCount} of ${desired} pods ready`, generation, now),
      condition(
        previous,
        'Scaling',
        scalingReason !== 'Stable',
        scalingReason,
        scalingReason === 'Stable' ? `${desired} pods` : `${alive.length - draining.size + actions.create.length} serving, ${draining.size} draining, ${desired} wanted`,
        generation,
        now,
      ),
      condition(
        previous,
        'Degraded',
        degraded !== undefined,
        degraded ?? 'AsExpected',
        degraded === 'PortsExhausted'
          ? 'the media port range is too small for the pods wanted'
          : degraded === 'StoreUnavailable'
            ? 'the load table in the store cannot be read: not scaling down'
            : degraded === 'PodsFailed'
              ? `${failed} pods failed and are being replaced`
              : 'all pods are as expected',
        generation,
        now,
      ),
    ],
    observedGeneration: generation,
  };
  return actions;
}
