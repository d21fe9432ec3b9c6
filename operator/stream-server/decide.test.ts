import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { GbStreamServer } from '../api/types.ts';
import { decideStreamServer, desiredReplicas, publicAddressOf, type ObservedLoad, type ObservedNode, type ObservedPod, type StreamServerObserved } from './decide.ts';

const NOW = Date.parse('2026-11-26T12:00:00Z');

function pool(spec: Partial<GbStreamServer['spec']> = {}, status: GbStreamServer['status'] = {}): GbStreamServer {
  return {
    apiVersion: 'gbcast.io/v1alpha1',
    kind: 'GbStreamServer',
    metadata: { name: 'edge', namespace: 'video', generation: 3 },
    spec: { replicas: 2, media: { exposure: 'hostPort', portRange: { min: 30000, max: 30009 } }, image: 'gbcast:test', drainTimeoutSeconds: 600, ...spec },
    status,
  };
}

const autoscaling = { enabled: true, minReplicas: 1, maxReplicas: 5, targetStreamsPerPod: 100, headroomPercent: 20, scaleDownDelaySeconds: 300 };

function pod(name: string, extra: Partial<ObservedPod> = {}): ObservedPod {
  return { name, phase: 'Running', ready: true, terminating: false, nodeName: 'n1', port: 30000 + Number(name.slice(-1)), createdAt: NOW - 3_600_000, ...extra };
}

const nodes = new Map<string, ObservedNode>([
  ['n1', { addresses: [{ type: 'InternalIP', address: '10.0.0.1' }, { type: 'ExternalIP', address: '203.0.113.1' }], annotations: {} }],
  ['n2', { addresses: [{ type: 'InternalIP', address: '10.0.0.2' }], annotations: { 'gbcast.io/public-address': '198.51.100.2' } }],
]);

function observe(p: GbStreamServer, pods: ObservedPod[], load: Record<string, number | ObservedLoad> | undefined, now = NOW): StreamServerObserved {
  return {
    pool: p,
    pods,
    nodes,
    load: load === undefined ? undefined : new Map(Object.entries(load).map(([k, v]) => [k, typeof v === 'number' ? { activeStreams: v, draining: false } : v])),
    now,
  };
}

function cond(a: ReturnType<typeof decideStreamServer>, type: string) {
  return a.status.conditions.find((c) => c.type === type)!;
}

test('desired pods: fixed replicas, or streams with headroom over the target, clamped', () => {
  assert.equal(desiredReplicas(pool({ replicas: 4 }), 10_000, 1), 4);
  const cases: [number | undefined, number, number][] = [
    [0, 3, 1], // min
    [250, 1, 3], // 250 × 1.2 / 100 = 3
    [251, 1, 4],
    [10_000, 1, 5], // max
    [undefined, 3, 3], // no data: keep what is there
    [undefined, 9, 5], // … within the bounds
  ];
  for (const [streams, current, want] of cases) assert.equal(desiredReplicas(pool({ autoscaling }), streams, current), want, `streams ${streams}, current ${current}`);
});

test('a new pool gets its pods, each with its own port from the range', () => {
  const a = decideStreamServer(observe(pool(), [], {}));
  assert.deepEqual(a.create, [{ port: 30000 }, { port: 30001 }]);
  assert.deepEqual(a.drain, []);
  assert.deepEqual(a.delete, []);
  assert.equal(cond(a, 'Scaling').reason, 'ScalingUp');
  assert.equal(cond(a, 'Ready').status, 'False');
  assert.equal(a.status.selector, 'gbcast.io/pool=edge');
  assert.equal(a.status.observedGeneration, 3);
});

test('ports in use by any pod, even a terminating one, are not handed out again', () => {
  const a = decideStreamServer(observe(pool({ replicas: 3 }), [pod('p0'), pod('p2'), pod('p1', { terminating: true })], { p0: 1, p2: 1 }));
  assert.deepEqual(a.create, [{ port: 30003 }]);
});

test('load scales up at once', () => {
  const a = decideStreamServer(observe(pool({ autoscaling }), [pod('p0')], { p0: 250 }));
  assert.deepEqual(a.create, [{ port: 30001 }, { port: 30002 }]);
  assert.equal(a.status.activeStreams, 250);
});

test('low load waits for the scale-down delay, and the wait survives a restart through status.lowLoadSince', () => {
  const pods = [pod('p0'), pod('p1'), pod('p2')];
  const first = decideStreamServer(observe(pool({ autoscaling }), pods, { p0: 10, p1: 0, p2: 5 }));
  assert.deepEqual([first.create, first.drain, first.delete], [[], [], []]);
  assert.equal(first.status.lowLoadSince, new Date(NOW).toISOString());
  assert.equal(first.requeueAfterMs, 300_000);
  assert.equal(cond(first, 'Scaling').reason, 'ScaleDownDelay');

  const later = decideStreamServer(observe(pool({ autoscaling }, first.status), pods, { p0: 10, p1: 0, p2: 5 }, NOW + 299_000));
  assert.deepEqual(later.drain, []);
  assert.equal(later.requeueAfterMs, 1000);

  const after = decideStreamServer(observe(pool({ autoscaling }, first.status), pods, { p0: 10, p1: 0, p2: 5 }, NOW + 300_000));
  assert.deepEqual(after.drain, ['p1', 'p2'], 'the least loaded are drained, never deleted outright');
  assert.deepEqual(after.delete, []);
  assert.equal(after.status.drainingReplicas, 2);
  assert.equal(after.status.lowLoadSince, undefined);
});

test('load coming back cancels a pending scale-down', () => {
  const low = decideStreamServer(observe(pool({ autoscaling }), [pod('p0'), pod('p1')], { p0: 10, p1: 0 }));
  assert.ok(low.status.lowLoadSince);
  const back = decideStreamServer(observe(pool({ autoscaling }, low.status), [pod('p0'), pod('p1')], { p0: 100, p1: 50 }, NOW + 1000));
  assert.equal(back.status.lowLoadSince, undefined);
  assert.deepEqual(back.drain, []);
});

test('fewer replicas by hand: drains at once, but pods that serve nothing go first and are deleted outright', () => {
  const pods = [pod('p0'), pod('p1'), pod('p2', { phase: 'Pending', ready: false, nodeName: undefined })];
  const a = decideStreamServer(observe(pool({ replicas: 1 }), pods, { p0: 3, p1: 7 }));
  assert.deepEqual(a.delete, [{ name: 'p2', reason: 'scale down: not serving' }]);
  assert.deepEqual(a.drain, ['p0']);
});

test('a draining pod leaves when its streams reach zero or its drain timeout passes, never before', () => {
  const draining = (since: number) => pod('p1', { drainingSince: since });
  const busy = decideStreamServer(observe(pool({ replicas: 1 }), [pod('p0'), draining(NOW - 1000)], { p0: 1, p1: { activeStreams: 4, draining: true } }));
  assert.deepEqual(busy.delete, []);
  assert.deepEqual(busy.create, [], 'a draining pod does not count, but p0 is enough');
  assert.equal(busy.requeueAfterMs, 2000);
  assert.equal(busy.status.drainingReplicas, 1);
  assert.equal(cond(busy, 'Scaling').reason, 'Draining');

  const empty = decideStreamServer(observe(pool({ replicas: 1 }), [pod('p0'), draining(NOW - 1000)], { p0: 1, p1: { activeStreams: 0, draining: true } }));
  assert.deepEqual(empty.delete, [{ name: 'p1', reason: 'drained: no streams left' }]);

  const late = decideStreamServer(observe(pool({ replicas: 1 }), [pod('p0'), draining(NOW - 600_000)], { p0: 1, p1: { activeStreams: 4, draining: true } }));
  assert.match(late.delete[0]?.reason ?? '', /drain timeout/);

  const blind = decideStreamServer(observe(pool({ replicas: 1 }), [pod('p0'), draining(NOW - 1000)], undefined));
  assert.deepEqual(blind.delete, [], 'without the load table a draining pod waits for its timeout');
  assert.equal(cond(blind, 'Degraded').reason, 'StoreUnavailable');
});

test('without the load table nothing is scaled down', () => {
  const a = decideStreamServer(observe(pool({ autoscaling }, { lowLoadSince: new Date(NOW - 10_000_000).toISOString() }), [pod('p0'), pod('p1')], undefined));
  assert.deepEqual([a.drain, a.delete, a.create], [[], [], []]);
});

test('failed pods and pods without a port are replaced', () => {
  const a = decideStreamServer(observe(pool({ replicas: 2 }), [pod('p0'), pod('p1', { phase: 'Failed', ready: false }), pod('p3', { port: undefined })], { p0: 0 }));
  assert.deepEqual(a.delete.map((d) => d.name).sort(), ['p1', 'p3']);
  assert.deepEqual(a.create, [{ port: 30002 }]);
  assert.equal(cond(a, 'Degraded').reason, 'PodsFailed');
});

test('a port range too small says so', () => {
  const a = decideStreamServer(observe(pool({ replicas: 3, media: { exposure: 'hostPort', portRange: { min: 30000, max: 30001 } } }), [], {}));
  assert.deepEqual(a.create, [{ port: 30000 }, { port: 30001 }]);
  assert.equal(a.events.find((e) => e.reason === 'PortsExhausted')?.type, 'Warning');
  assert.equal(cond(a, 'Degraded').reason, 'PortsExhausted');
});

test('public addresses: the pool override, else the node annotation, else ExternalIP then InternalIP (or the other way round)', () => {
  assert.equal(publicAddressOf(pool({ publicAddress: { override: '192.0.2.9' } }), nodes.get('n1')), '192.0.2.9');
  assert.equal(publicAddressOf(pool(), nodes.get('n2')), '198.51.100.2');
  assert.equal(publicAddressOf(pool(), nodes.get('n1')), '203.0.113.1');
  assert.equal(publicAddressOf(pool({ publicAddress: { addressType: 'InternalIP' } }), nodes.get('n1')), '10.0.0.1');
  assert.equal(publicAddressOf(pool(), undefined), undefined);
  const a = decideStreamServer(observe(pool({ replicas: 2 }), [pod('p0'), pod('p1', { nodeName: 'n2' }), pod('p2', { phase: 'Pending', nodeName: undefined })], {}));
  assert.deepEqual(a.publicAddresses, [
    { pod: 'p0', address: '203.0.113.1' },
    { pod: 'p1', address: '198.51.100.2' },
  ]);
});

test('conditions keep their transition time while they hold', () => {
  const first = decideStreamServer(observe(pool({ replicas: 1 }), [pod('p0')], { p0: 0 }));
  assert.equal(cond(first, 'Ready').status, 'True');
  const again = decideStreamServer(observe(pool({ replicas: 1 }, first.status), [pod('p0')], { p0: 0 }, NOW + 60_000));
  assert.equal(cond(again, 'Ready').lastTransitionTime, new Date(NOW).toISOString());
  const down = decideStreamServer(observe(pool({ replicas: 1 }, again.status), [pod('p0', { ready: false })], { p0: 0 }, NOW + 120_000));
  assert.equal(cond(down, 'Ready').status, 'False');
  assert.equal(cond(down, 'Ready').lastTransitionTime, new Date(NOW + 120_000).toISOString());
});
