/**
 * The operator against the fake API server (our CRDs installed), a real redis-server and a real
 * signaling: GbCamera credentials let the camera register and its status turns online; a pool gets
 * its pods with ports and owner references; the scale subresource sizes a pool without autoscaling;
 * a second operator waits for the Lease and takes over when the first stops.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CameraFleet } from '../camera/sip/fleet.ts';
import { silentLogger } from '../common/logger.ts';
import type { GbCamera, GbStreamServer } from '../operator/api/types.ts';
import { resources, type KubeClient } from '../operator/kube/client.ts';
import type { Operator } from '../operator/operator.ts';
import type { Signaling } from '../signaling/signaling.ts';
import type { FakeKube } from './support/fake-kube/index.ts';
import { startKubeWithCrds, startTestOperator, testNamespace } from './support/operator.ts';
import { startRedisServer, type RedisServer } from './support/redis-server.ts';
import { startTestSignaling, TEST_SERVER_ID } from './support/signaling.ts';
import { waitFor } from './support/wait.ts';

let redis: RedisServer;
let kube: FakeKube;
let client: KubeClient;
let signaling: Signaling;
let operator: Operator;
const prefix = `op${process.pid}:`;

before(async () => {
  redis = await startRedisServer();
  ({ kube, client } = await startKubeWithCrds());
  // Only devices with their own credential (from a GbCamera) may register.
  signaling = await startTestSignaling(redis.url, { unknownDevices: 'refuse', password: undefined, redisPrefix: prefix, keepaliveIntervalS: 1 });
  operator = await startTestOperator(kube, redis.url, [`--redis-prefix=${prefix}`, '--camera-keepalive-status-s=10']);
});

after(async () => {
  await operator?.stop();
  await signaling?.stop();
  await kube?.stop();
  await redis?.stop();
});

function pods(pool: string) {
  return kube.list('v1', 'Pod', testNamespace).filter((p) => (p.metadata as { labels?: Record<string, string> }).labels?.['gbcast.io/pool'] === pool);
}

/** Creates a hostPort pool of `replicas` pods with the ten media ports from `firstPort`. */
async function createPool(name: string, replicas: number, firstPort: number): Promise<void> {
  const pool: GbStreamServer = {
    apiVersion: 'gbcast.io/v1alpha1',
    kind: 'GbStreamServer',
    metadata: { name, namespace: testNamespace },
    spec: { replicas, media: { exposure: 'hostPort', portRange: { min: firstPort, max: firstPort + 9 } }, image: 'gbcast:test', drainTimeoutSeconds: 30 },
  };
  await client.create(resources.gbStreamServers, pool as never);
}

test('a GbCamera with a Secret lets its camera register, and its status follows the device', async () => {
  const deviceId = '34020000001320000042';
  await client.create(resources.secrets, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'cams', namespace: testNamespace }, stringData: { gate: 's3cret-gate' } } as never);
  const camera: GbCamera = {
    apiVersion: 'gbcast.io/v1alpha1',
    kind: 'GbCamera',
    metadata: { name: 'gate', namespace: testNamespace },
    spec: { deviceId, passwordSecretRef: { name: 'cams', key: 'gate' }, displayName: 'Front gate', pool: 'edge', alwaysOn: [] },
  };
  await client.create(resources.gbCameras, camera as never);
  await waitFor('the credential in the store', async () => (await signaling.store.authPrepare(deviceId, '127.0.0.9', `n${Math.random()}`, 1000)).credential === 's3cret-gate', 10_000, 100);
  assert.deepEqual(await signaling.store.getConfig(deviceId), { pool: 'edge', name: 'Front gate', transport: 'udp', alwaysOn: [] });
  const withFinalizer = await client.get(resources.gbCameras, 'gate', testNamespace);
  assert.deepEqual(withFinalizer.metadata.finalizers, ['gbcast.io/camera-cleanup']);

  const fleet = await CameraFleet.start({
    server: { id: TEST_SERVER_ID, host: '127.0.0.1', port: signaling.sipPort },
    password: 's3cret-gate',
    firstDeviceId: deviceId,
    count: 1,
    channels: 1,
    localAddress: '127.0.0.1',
    keepaliveIntervalMs: 1000,
    media: { audio: 'pcma' },
    logger: silentLogger(),
  });
  try {
    const online = await waitFor('the camera online in its status', async () => {
      const c = await client.get(resources.gbCameras, 'gate', testNamespace);
      return c.status?.online === true && c.status.manufacturer ? c : undefined;
    }, 15_000, 100);
    assert.equal(online.status?.address?.startsWith('UDP 127.0.0.1:'), true);
    assert.equal(online.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'True');
    assert.equal(online.status?.observedGeneration, 1);
  } finally {
    await fleet.stop();
  }
  await waitFor('offline in its status after it unregistered', async () => (await client.get(resources.gbCameras, 'gate', testNamespace)).status?.online === false, 10_000, 100);

  await client.delete(resources.gbCameras, 'gate', { namespace: testNamespace });
  await waitFor('the camera gone after its finalizer ran', async () => (await client.tryGet(resources.gbCameras, 'gate', testNamespace)) === undefined, 10_000, 100);
  assert.equal((await signaling.store.authPrepare(deviceId, '127.0.0.9', `n${Math.random()}`, 1000)).credential, undefined, 'the credential is removed');
  assert.equal(await signaling.store.getConfig(deviceId), undefined);
});

test('a pool gets its pods, each with its own port, owned by the pool; status and the scale subresource', async () => {
  await createPool('fixed', 2, 32000);
  await waitFor('two pods', () => pods('fixed').length === 2, 10_000, 50);
  const created = pods('fixed') as unknown as { metadata: { annotations: Record<string, string>; ownerReferences: { kind: string; name: string; controller: boolean }[] } }[];
  assert.deepEqual(created.map((p) => p.metadata.annotations['gbcast.io/media-port']).sort(), ['32000', '32001']);
  assert.deepEqual(created[0].metadata.ownerReferences.map((r) => [r.kind, r.name, r.controller]), [['GbStreamServer', 'fixed', true]]);

  const status = await waitFor('the status', async () => {
    const p = await client.get(resources.gbStreamServers, 'fixed', testNamespace);
    return p.status?.replicas === 2 ? p.status : undefined;
  }, 10_000, 50);
  assert.equal(status.selector, 'gbcast.io/pool=fixed');
  assert.equal(status.readyReplicas, 0, 'no kubelet here: nothing is ready');

  // `kubectl scale gbss fixed --replicas 3`
  await client.patchScale(resources.gbStreamServers, 'fixed', 3, { namespace: testNamespace });
  await waitFor('a third pod', () => pods('fixed').length === 3, 10_000, 50);
  const scale = await client.getScale(resources.gbStreamServers, 'fixed', testNamespace);
  assert.equal(scale.spec?.replicas, 3);
  // Idle pods (never ready, no streams) go at once when scaled down.
  await client.patchScale(resources.gbStreamServers, 'fixed', 1, { namespace: testNamespace });
  await waitFor('back to one pod', () => pods('fixed').filter((p) => !(p.metadata as { deletionTimestamp?: string }).deletionTimestamp).length === 1, 10_000, 50);
  await waitFor('no duplicate pods afterwards', async () => {
    await new Promise((r) => setTimeout(r, 500));
    return pods('fixed').length === 1;
  }, 10_000, 50);
});

test('a second operator waits for the Lease and takes over when the first stops', async () => {
  const second = await startTestOperator(kube, redis.url, [`--redis-prefix=${prefix}`]);
  try {
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(operator.leading, true);
    assert.equal(second.leading, false);
    await operator.stop();
    await waitFor('the second one leading', () => second.leading, 10_000, 50);
    // It acts: a new pool gets its pod from the new leader.
    await createPool('after', 1, 32100);
    await waitFor('a pod from the new leader', () => pods('after').length === 1, 10_000, 50);
  } finally {
    operator = second;
  }
});

test('watch errors, 410s, a restart and a lost Lease: never a duplicate pod, never a lost change', async () => {
  const live = () => pods('steady').filter((p) => !(p.metadata as { deletionTimestamp?: string }).deletionTimestamp);
  const settled = async (n: number, what: string) => {
    await waitFor(what, () => live().length === n, 10_000, 50);
    await new Promise((r) => setTimeout(r, 700));
    assert.equal(live().length, n, `${what}, and no more afterwards`);
    assert.equal(new Set(live().map((p) => (p.metadata as { annotations: Record<string, string> }).annotations['gbcast.io/media-port'])).size, n, 'every pod has its own port');
  };
  await createPool('steady', 3, 32200);
  await settled(3, 'three pods');

  // Watches cut while the spec changes.
  kube.breakWatches();
  await client.patchScale(resources.gbStreamServers, 'steady', 4, { namespace: testNamespace });
  await settled(4, 'four pods after broken watches');

  // A pod deleted while no watch can see it, and the history the watches would resume from gone: 410, re-list.
  kube.expireHistory();
  kube.breakWatches();
  const victim = live()[0].metadata as { name: string };
  kube.remove({ apiVersion: 'v1', kind: 'Pod', namespace: testNamespace, name: victim.name });
  kube.expireHistory();
  await waitFor('the lost pod replaced', () => live().length === 4 && !live().some((p) => (p.metadata as { name: string }).name === victim.name), 15_000, 50);
  await settled(4, 'four pods after a 410');

  // A restart: the new operator lists before it acts.
  await operator.stop();
  operator = await startTestOperator(kube, redis.url, [`--redis-prefix=${prefix}`]);
  await waitFor('leading again', () => operator.leading, 10_000, 50);
  await settled(4, 'four pods after a restart');

  // A lost Lease: the leader cannot renew, steps down, a standby takes over; the pool is untouched.
  const standby = await startTestOperator(kube, redis.url, [`--redis-prefix=${prefix}`]);
  try {
    kube.failNext({ pathPattern: /leases/, status: 500, times: 50 });
    await waitFor('the leader to step down', () => !operator.leading, 10_000, 50);
    await waitFor('someone leading again', () => operator.leading || standby.leading, 15_000, 50);
    await client.patchScale(resources.gbStreamServers, 'steady', 2, { namespace: testNamespace });
    await settled(2, 'two pods under the new leader');
  } finally {
    await standby.stop();
  }
});

test('an operator stopped while its caches cannot fill (the API refuses the lists) still stops', async () => {
  kube.failNext({ method: 'GET', pathPattern: /gbcameras/, status: 500, times: 1000 });
  const stuck = await startTestOperator(kube, redis.url, [`--redis-prefix=${prefix}`, '--lease-name=stuck-operator']);
  try {
    await waitFor('it leads', () => stuck.leading, 10_000, 50);
    await new Promise((r) => setTimeout(r, 300));
  } finally {
    const stopping = stuck.stop();
    const outcome = await Promise.race([stopping.then(() => 'stopped'), new Promise((r) => setTimeout(() => r('hung'), 10_000))]);
    kube.failNext({ method: 'GET', pathPattern: /gbcameras/, status: 500, times: 0 });
    assert.equal(outcome, 'stopped');
  }
});
