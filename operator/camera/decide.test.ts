import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DeviceRecord } from '../../common/store/device-store.ts';
import { cameraFinalizer, type GbCamera } from '../api/types.ts';
import { decideCamera, type CameraObserved } from './decide.ts';

const NOW = Date.parse('2026-11-26T12:00:00Z');

function camera(extra: Partial<GbCamera['metadata']> = {}, status?: GbCamera['status']): GbCamera {
  return {
    apiVersion: 'gbcast.io/v1alpha1',
    kind: 'GbCamera',
    metadata: { name: 'gate', namespace: 'video', generation: 2, finalizers: [cameraFinalizer], ...extra },
    spec: {
      deviceId: '34020000001320000001',
      passwordSecretRef: { name: 'cams', key: 'gate' },
      displayName: 'Front gate',
      pool: 'edge',
      alwaysOn: [{ channelId: '34020000001310000001', rtmpUrl: 'rtmp://dss/live/gate' }, { channelId: '34020000001310000002' }],
      transport: 'tcp-passive',
    },
    ...(status ? { status } : {}),
  };
}

const device: DeviceRecord = {
  id: '34020000001320000001',
  online: true,
  transport: 'UDP',
  ip: '198.51.100.4',
  port: 5060,
  registeredAt: NOW - 60_000,
  expiresAt: NOW + 3_540_000,
  lastKeepaliveAt: NOW - 5000,
  manufacturer: 'Hikvision',
  model: 'DS-2CD',
  firmware: 'V5.7',
  channelCount: 2,
};

function observe(c: GbCamera, extra: Partial<CameraObserved> = {}): CameraObserved {
  return { camera: c, secret: { password: 'pw' }, device, activeStreams: 1, storeOk: true, now: NOW, keepaliveStatusIntervalMs: 300_000, ...extra };
}

function sync(a: ReturnType<typeof decideCamera>) {
  assert.equal(a.kind, 'sync');
  return a as Extract<typeof a, { kind: 'sync' }>;
}

test('the Secret becomes the credential, the spec the configuration, the device the status', () => {
  const a = sync(decideCamera(observe(camera())));
  assert.equal(a.credential, 'pw');
  assert.deepEqual(a.config, {
    pool: 'edge',
    name: 'Front gate',
    transport: 'tcp-passive',
    alwaysOn: [{ channelId: '34020000001310000001', rtmpUrl: 'rtmp://dss/live/gate' }, { channelId: '34020000001310000002' }],
  });
  assert.equal(a.addFinalizer, false);
  assert.equal(a.statusWrite, 'now');
  assert.deepEqual({ ...a.status, conditions: undefined }, {
    online: true,
    lastKeepalive: new Date(NOW - 5000).toISOString(),
    address: 'UDP 198.51.100.4:5060',
    manufacturer: 'Hikvision',
    model: 'DS-2CD',
    firmware: 'V5.7',
    channelCount: 2,
    activeStreams: 1,
    observedGeneration: 2,
    conditions: undefined,
  });
  assert.deepEqual(a.status.conditions.map((c) => [c.type, c.status, c.reason]), [['Ready', 'True', 'Online'], ['Degraded', 'False', 'AsExpected']]);
});

test('the finalizer is added first, and a deleted camera is finalized', () => {
  assert.equal(sync(decideCamera(observe(camera({ finalizers: [] })))).addFinalizer, true);
  assert.deepEqual(decideCamera(observe(camera({ deletionTimestamp: new Date(NOW).toISOString() }))), { kind: 'finalize', deviceId: '34020000001320000001' });
});

test('status is written when something matters changed; a keepalive alone is written at most every interval', () => {
  const first = sync(decideCamera(observe(camera())));
  const written = camera({}, first.status);
  assert.equal(sync(decideCamera(observe(written))).statusWrite, 'none');
  const kept = { ...device, lastKeepaliveAt: NOW + 55_000 };
  assert.equal(sync(decideCamera(observe(written, { device: kept, now: NOW + 60_000 }))).statusWrite, 'later');
  assert.equal(sync(decideCamera(observe(written, { device: { ...device, lastKeepaliveAt: NOW + 300_000 }, now: NOW + 301_000 }))).statusWrite, 'now');
  const offline = sync(decideCamera(observe(written, { device: { ...device, online: false }, now: NOW + 10_000 })));
  assert.equal(offline.statusWrite, 'now');
  assert.deepEqual(offline.events.map((e) => e.reason), ['Offline']);
  assert.equal(offline.status.conditions[0].lastTransitionTime, new Date(NOW + 10_000).toISOString());
  assert.equal(sync(decideCamera(observe(written, { activeStreams: 2 }))).statusWrite, 'now');
});

test('an unusable Secret keeps the old credential and says why, once', () => {
  const a = sync(decideCamera(observe(camera(), { secret: { problem: 'Secret video/cams has no key "gate"' } })));
  assert.equal(a.credential, undefined);
  assert.deepEqual(a.status.conditions.map((c) => [c.type, c.status, c.reason]), [['Ready', 'False', 'SecretUnusable'], ['Degraded', 'True', 'SecretUnusable']]);
  assert.deepEqual(a.events.map((e) => e.reason), ['SecretUnusable']);
  const again = sync(decideCamera(observe(camera({}, a.status), { secret: { problem: 'Secret video/cams has no key "gate"' } })));
  assert.deepEqual(again.events, []);
});

test('a camera that never registered, and a store that cannot be read', () => {
  const never = sync(decideCamera(observe(camera(), { device: undefined, activeStreams: 0 })));
  assert.equal(never.status.online, false);
  assert.equal(never.status.conditions[0].reason, 'NeverRegistered');
  const first = sync(decideCamera(observe(camera())));
  const blind = sync(decideCamera(observe(camera({}, first.status), { device: undefined, storeOk: false })));
  assert.equal(blind.status.online, true, 'what was known is kept');
  assert.equal(blind.status.conditions[1].reason, 'StoreUnavailable');
});
