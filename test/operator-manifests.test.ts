/**
 * Every object the operator writes validates against the Kubernetes schemas (and the API server's
 * own checks), for each exposure and the pool options that change the manifests.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { GbStreamServer } from '../operator/api/types.ts';
import { buildMediaService, buildPod, newPodName } from '../operator/stream-server/manifests.ts';
import { validateKubeObject } from './support/kube-schemas.ts';

function pool(spec: Partial<GbStreamServer['spec']> = {}): GbStreamServer {
  return {
    apiVersion: 'gbcast.io/v1alpha1',
    kind: 'GbStreamServer',
    metadata: { name: 'edge', namespace: 'video', uid: '6b1c0b6e-3f1e-4a53-9a53-3b8c9d2e0f11', generation: 1 },
    spec: { replicas: 2, media: { exposure: 'hostPort', portRange: { min: 30000, max: 30099 } }, image: 'ghcr.io/gbcast/gbcast:0.1.0', drainTimeoutSeconds: 3600, ...spec },
  };
}

const redisUrl = { url: 'redis://redis.video:6379' };

test('pod names are valid DNS labels and fit the pool name', async () => {
  for (let i = 0; i < 50; i++) assert.match(newPodName('edge'), /^edge-[a-z0-9]{5}$/);
  assert.ok(newPodName('a'.repeat(57)).length <= 63);
});

test('hostPort pods validate, with the media port as hostPort on UDP and TCP', async () => {
  const podObj = buildPod(pool(), 'edge-abcde', 30007, { redis: redisUrl, redisPrefix: 'gbcast:' });
  assert.deepEqual(await validateKubeObject(podObj, { create: true }), []);
  const ports = (podObj as { spec: { containers: { ports: { hostPort?: number; protocol: string }[] }[] } }).spec.containers[0].ports;
  assert.deepEqual(ports.filter((p) => p.hostPort === 30007).map((p) => p.protocol), ['UDP', 'TCP']);
});

test('pods with every optional pool setting validate, the Redis URL from a Secret', async () => {
  const full = pool({
    imagePullPolicy: 'IfNotPresent',
    resources: { requests: { cpu: '500m', memory: '256Mi' }, limits: { memory: '1Gi' } },
    nodeSelector: { 'gbcast.io/media': 'true' },
    tolerations: [{ key: 'media', operator: 'Exists', effect: 'NoSchedule' }],
    affinity: { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 10, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { 'gbcast.io/pool': 'edge' } } } }] } },
    env: [{ name: 'GBCAST_LOG_LEVEL', value: 'debug' }, { name: 'GBCAST_HEVC_FLV', valueFrom: { configMapKeyRef: { name: 'gbcast', key: 'hevc' } } }],
  });
  const podObj = buildPod(full, 'edge-abcde', 30001, { redis: { secretName: 'gbcast-redis', secretKey: 'url' }, redisPrefix: 'gbcast:' });
  assert.deepEqual(await validateKubeObject(podObj, { create: true }), []);
});

test('NodePort pods and their Services validate; the Service maps its node port to the pod', async () => {
  const p = pool({ media: { exposure: 'NodePort', portRange: { min: 31000, max: 31099 } } });
  const podObj = buildPod(p, 'edge-abcde', 31005, { redis: redisUrl, redisPrefix: 'gbcast:' });
  assert.deepEqual(await validateKubeObject(podObj, { create: true }), []);
  const svc = buildMediaService(p, 'edge-abcde', '0a0b0c0d-0000-4000-8000-000000000001', 31005);
  assert.deepEqual(await validateKubeObject(svc, { create: true }), []);
  const ports = (svc as { spec: { ports: { nodePort: number }[]; externalTrafficPolicy: string } }).spec;
  assert.deepEqual(ports.ports.map((x) => x.nodePort), [31005, 31005]);
  assert.equal(ports.externalTrafficPolicy, 'Local');
});
