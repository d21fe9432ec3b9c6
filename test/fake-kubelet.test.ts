/**
 * The fake kubelet (test/support/fake-kubelet.ts) with hand-written Pods on the fake API server and
 * a real redis-server: the pods become `gbcast streamer` processes that report in Redis and go
 * Ready; deleting one stops its process with SIGTERM; a killed one is restarted; the scheduler
 * honours nodeSelector and hostPort conflicts. Needs the built dist/ (npm run build).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import dgram from 'node:dgram';
import net from 'node:net';
import { silentLogger } from '../common/logger.ts';
import { openRedisBackend, type StoreBackend } from '../common/store/backend.ts';
import { KubeClient, resources } from '../operator/kube/client.ts';
import type { Pod } from '../operator/kube/types.ts';
import { startFakeKube, type FakeKube } from './support/fake-kube/index.ts';
import { expandVars, startFakeKubelet, type FakeKubelet } from './support/fake-kubelet.ts';
import { freePort } from './support/ports.ts';
import { startRedisServer, type RedisServer } from './support/redis-server.ts';
import { waitFor } from './support/wait.ts';

/** A streamer pod much as the operator writes one (hostPort media, the Redis URL from a Secret). */
function streamerPod(name: string, mediaPort: number, extra: { nodeSelector?: Record<string, string>; grace?: number } = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels: { app: 'streamer' } },
    spec: {
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: extra.grace ?? 10,
      ...(extra.nodeSelector ? { nodeSelector: extra.nodeSelector } : {}),
      containers: [
        {
          name: 'streamer',
          image: 'registry.example.com/gbcast:test',
          args: ['streamer'],
          env: [
            { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
            { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
            { name: 'HOST_IP', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } },
            { name: 'GBCAST_STREAMER_ID', value: '$(POD_NAME)' },
            { name: 'GBCAST_POOL', value: 'edge' },
            { name: 'GBCAST_RTP_PORT', value: String(mediaPort) },
            { name: 'GBCAST_PUBLIC_ADDRESS', value: '$(HOST_IP)' },
            { name: 'GBCAST_HTTP_PORT', value: '8081' },
            { name: 'GBCAST_INTERNAL_URL', value: 'http://$(POD_IP):8081' },
            { name: 'GBCAST_REDIS_URL', valueFrom: { secretKeyRef: { name: 'redis', key: 'url' } } },
            { name: 'GBCAST_REPORT_INTERVAL_MS', value: '500' },
            { name: 'GBCAST_SHUTDOWN_GRACE_MS', value: '1000' },
            { name: 'GBCAST_UDP_RECEIVE', value: 'dgram' },
          ],
          ports: [
            { name: 'rtp-udp', containerPort: mediaPort, hostPort: mediaPort, protocol: 'UDP' },
            { name: 'rtp-tcp', containerPort: mediaPort, hostPort: mediaPort, protocol: 'TCP' },
            { name: 'http', containerPort: 8081, protocol: 'TCP' },
          ],
          readinessProbe: { httpGet: { path: '/readyz', port: 'http' }, periodSeconds: 1, failureThreshold: 2 },
          livenessProbe: { httpGet: { path: '/healthz', port: 8081 }, periodSeconds: 5, failureThreshold: 3 },
        },
      ],
    },
  };
}

const isReady = (pod: Pod | undefined) => pod?.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';

describe('fake kubelet', () => {
  let kube: FakeKube;
  let redis: RedisServer;
  let backend: StoreBackend;
  let kubelet: FakeKubelet;
  let client: KubeClient;

  before(async () => {
    [kube, redis] = await Promise.all([startFakeKube(), startRedisServer()]);
    backend = await openRedisBackend({ url: redis.url, prefix: 'gbcast:', logger: silentLogger(), name: 'test', waitMs: 5000 });
    client = KubeClient.fromKubeConfig(kube.kubeConfig());
    await client.create(resources.secrets, { metadata: { name: 'redis', namespace: 'default' }, stringData: { url: redis.url } });
    kubelet = await startFakeKubelet(kube, {
      nodes: [
        { name: 'node-a', internalIP: '127.0.0.2', externalIP: '127.0.0.3', labels: { 'gbcast.io/media': 'true' } },
        { name: 'node-b', internalIP: '127.0.0.4' },
      ],
    });
  });
  after(async () => {
    await kubelet?.stop();
    client?.close();
    await backend?.close();
    await Promise.all([kube?.stop(), redis?.stop()]);
  });

  const pod = (name: string) => client.tryGet(resources.pods, name, 'default');

  it('registers its nodes with addresses, labels and Ready', async () => {
    const nodes = (await client.list(resources.nodes)).items;
    assert.deepEqual(nodes.map((n) => n.metadata.name).sort(), ['node-a', 'node-b']);
    const a = nodes.find((n) => n.metadata.name === 'node-a')!;
    assert.deepEqual(a.status?.addresses?.slice(0, 2), [{ type: 'InternalIP', address: '127.0.0.2' }, { type: 'ExternalIP', address: '127.0.0.3' }]);
    assert.equal(a.metadata.labels?.['gbcast.io/media'], 'true');
    assert.equal(a.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'True');
    assert.deepEqual(kubelet.nodes.map((n) => n.internalIP), ['127.0.0.2', '127.0.0.4']);
  });

  it('runs a pod as a streamer: Running, Ready, reporting in Redis, media port on the node address', async () => {
    const mediaPort = await freePort();
    await client.create(resources.pods, streamerPod('s1', mediaPort, { nodeSelector: { 'gbcast.io/media': 'true' } }));
    const ready = await waitFor('s1 Ready', async () => {
      const p = await pod('s1');
      return isReady(p) && p;
    }, 30_000);
    assert.equal(ready.spec.nodeName, 'node-a', 'the node matching the selector');
    assert.equal(ready.status?.phase, 'Running');
    assert.equal(ready.status?.hostIP, '127.0.0.2');
    assert.match(ready.status?.podIP ?? '', /^127\.\d+\.\d+\.\d+$/);
    assert.notEqual(ready.status?.podIP, '127.0.0.2', 'the pod has its own address');
    const cs = ready.status!.containerStatuses![0];
    assert.equal(cs.ready, true);
    assert.equal(cs.restartCount, 0);
    assert.ok(cs.state?.running?.startedAt);
    for (const type of ['PodScheduled', 'Initialized', 'ContainersReady', 'Ready']) {
      assert.equal(ready.status?.conditions?.find((c) => c.type === type)?.status, 'True', type);
    }

    const record = await waitFor('s1 in Redis', async () => (await backend.streamers.listPool('edge')).find((s) => s.id === 's1'), 10_000);
    assert.equal(record.url, `http://${ready.status?.podIP}:8081`, '$(POD_IP) expanded');
    assert.equal(record.port, mediaPort);
    assert.equal(record.address, '127.0.0.2', 'status.hostIP through $(HOST_IP)');
    assert.equal((await fetch(`http://${ready.status?.podIP}:8081/healthz`)).status, 200);
    // The hostPort: media reaches the streamer at the node's address.
    await new Promise<void>((resolve, reject) => {
      const s = net.connect(mediaPort, '127.0.0.2', () => {
        s.destroy();
        resolve();
      });
      s.once('error', reject);
    });
    assert.ok(kubelet.running().includes('default/s1'));
    assert.ok(kubelet.logs('s1').some((l) => l.includes('streamer started')));
  });

  it('restarts a killed process: restartCount, lastState, Ready again', async () => {
    const before = kubelet.pid('s1');
    assert.ok(before);
    assert.equal(kubelet.kill('s1', 'SIGKILL'), true);
    const restarted = await waitFor('s1 restarted and Ready', async () => {
      const p = await pod('s1');
      return p?.status?.containerStatuses?.[0].restartCount === 1 && isReady(p) && p;
    }, 30_000);
    const cs = restarted.status!.containerStatuses![0];
    assert.equal(cs.lastState?.terminated?.exitCode, 137);
    assert.equal(cs.lastState?.terminated?.reason, 'Error');
    assert.notEqual(kubelet.pid('s1'), before);
    assert.equal(kubelet.restarts('s1'), 1);
  });

  it('a second pod wanting the same hostPort on the only matching node is Unschedulable until the first is gone', async () => {
    const s1 = (await pod('s1'))!;
    const port = s1.spec.containers[0].ports![0].hostPort!;
    await client.create(resources.pods, streamerPod('s2', port, { nodeSelector: { 'gbcast.io/media': 'true' } }));
    const unschedulable = await waitFor('s2 unschedulable', async () => {
      const c = (await pod('s2'))?.status?.conditions?.find((x) => x.type === 'PodScheduled');
      return c?.status === 'False' && c;
    });
    assert.equal(unschedulable.reason, 'Unschedulable');
    assert.match(unschedulable.message ?? '', /0\/2 nodes are available: 1 node\(s\) didn't have free ports for the requested pod ports, 1 node\(s\) didn't match Pod's node affinity\/selector\./);
    assert.equal((await pod('s2'))?.spec.nodeName, undefined);

    // Deleting s1: its process gets SIGTERM and drains; s2 gets the port once s1 has exited.
    const pid = kubelet.pid('s1')!;
    await client.delete(resources.pods, 's1', { namespace: 'default' });
    await waitFor('s1 SIGTERM', () => kubelet.logs('s1').some((l) => /"signal":"SIGTERM"/.test(l) && /shutting down/.test(l)), 10_000);
    await waitFor('s1 process gone', () => !isAlive(pid), 15_000);
    await waitFor('s1 gone from the API', async () => !(await pod('s1')));
    assert.ok(!kubelet.running().includes('default/s1'));
    const s2 = await waitFor('s2 Ready on node-a', async () => {
      const p = await pod('s2');
      return isReady(p) && p;
    }, 30_000);
    assert.equal(s2.spec.nodeName, 'node-a');
  });

  it('a pod whose Secret is missing waits (CreateContainerConfigError) and starts once it exists', async () => {
    const p = streamerPod('s3', await freePort());
    p.spec.containers[0].env!.find((e) => e.name === 'GBCAST_REDIS_URL')!.valueFrom!.secretKeyRef!.name = 'redis-later';
    await client.create(resources.pods, p);
    await waitFor('config error', async () => (await pod('s3'))?.status?.containerStatuses?.[0].state?.waiting?.reason === 'CreateContainerConfigError', 10_000);
    await client.create(resources.secrets, { metadata: { name: 'redis-later', namespace: 'default' }, stringData: { url: redis.url } });
    await waitFor('s3 Ready', async () => isReady(await pod('s3')), 30_000);
    assert.equal((await pod('s3'))?.spec.nodeName, 'node-b', 'the emptier node');
    await client.delete(resources.pods, 's3', { namespace: 'default' });
    await waitFor('s3 gone', async () => !(await pod('s3')) && !kubelet.running().includes('default/s3'), 15_000);
  });

  it('graceful deletion as the real API server does it (deletionTimestamp): SIGTERM, then the kubelet deletes with grace 0', async () => {
    await client.create(resources.pods, streamerPod('g1', await freePort()));
    await waitFor('g1 Ready', async () => isReady(await pod('g1')), 30_000);
    const pid = kubelet.pid('g1')!;
    // The fake API server removes pods at once; the real one marks a bound pod and waits for its
    // kubelet. A finalizer keeps the marked pod in the fake's store the way the real server keeps it.
    const current = kube.get({ apiVersion: 'v1', kind: 'Pod', namespace: 'default', name: 'g1' })!;
    kube.put({ ...current, metadata: { ...(current.metadata as object), finalizers: ['test.gbcast.io/hold'], deletionTimestamp: new Date().toISOString(), deletionGracePeriodSeconds: 20 } });
    await waitFor('g1 SIGTERM', () => kubelet.logs('g1').some((l) => /"signal":"SIGTERM"/.test(l)), 10_000);
    const deleted = () => kube.requests.filter((r) => r.method === 'DELETE' && r.path.endsWith('/pods/g1'));
    await waitFor('the kubelet deletes it', () => deleted().length === 1, 15_000);
    assert.ok(!isAlive(pid), 'after the process exited');
    assert.ok(kubelet.logs('g1').includes('kubelet: process exited (code 0)'), 'it exited by itself within its grace period');
    assert.ok(!kubelet.running().includes('default/g1'));
    await client.patchMerge(resources.pods, 'g1', { metadata: { finalizers: null } }, { namespace: 'default' });
    await waitFor('g1 gone from the API', async () => !(await pod('g1')));
  });

  it('forwards a NodePort Service to its Ready pod (TCP and UDP)', async () => {
    const p = streamerPod('np', 10000);
    const c = p.spec.containers[0];
    c.ports = [
      { name: 'rtp-udp', containerPort: 10000, protocol: 'UDP' },
      { name: 'rtp-tcp', containerPort: 10000, protocol: 'TCP' },
      { name: 'http', containerPort: 8081, protocol: 'TCP' },
    ];
    p.metadata.labels = { 'gbcast.io/pod': 'np' };
    await client.create(resources.pods, p);
    const ready = await waitFor('np Ready', async () => {
      const x = await pod('np');
      return isReady(x) && x;
    }, 30_000);
    const nodePort = 30000 + Math.floor(Math.random() * 2700);
    await client.create(resources.services, {
      metadata: { name: 'np', namespace: 'default' },
      spec: {
        type: 'NodePort',
        externalTrafficPolicy: 'Local',
        selector: { 'gbcast.io/pod': 'np' },
        ports: [
          { name: 'rtp-udp', protocol: 'UDP', port: 10000, targetPort: 10000, nodePort },
          { name: 'rtp-tcp', protocol: 'TCP', port: 10000, targetPort: 10000, nodePort },
        ],
      },
    });
    const nodeIP = kubelet.nodes.find((n) => n.name === ready.spec.nodeName)!.internalIP;
    await waitFor('TCP through the node port', () =>
      new Promise<boolean>((resolve) => {
        const s = net.connect(nodePort, nodeIP, () => {
          s.destroy();
          resolve(true);
        });
        s.once('error', () => resolve(false));
      }),
    );
    const udpPackets = async () => {
      const text = await (await fetch(`http://${ready.status!.podIP}:8081/metrics`)).text();
      return Number(/gbcast_streamer_rtp_packets_total\{[^}]*transport="udp"[^}]*\} (\d+)/.exec(text)?.[1] ?? 0);
    };
    const before = await udpPackets();
    const sender = dgram.createSocket('udp4');
    const rtp = Buffer.alloc(20);
    rtp[0] = 0x80;
    rtp[1] = 96;
    rtp.writeUInt32BE(0x1234, 8);
    try {
      await waitFor('UDP through the node port', async () => {
        await new Promise<void>((r) => sender.send(rtp, nodePort, nodeIP, () => r()));
        return (await udpPackets()) > before;
      });
    } finally {
      sender.close();
    }
    // On another node with externalTrafficPolicy Local: no endpoint there, nothing answers.
    const other = kubelet.nodes.find((n) => n.name !== ready.spec.nodeName)!.internalIP;
    const refused = await new Promise<boolean>((resolve) => {
      const s = net.connect(nodePort, other, () => s.once('close', () => resolve(true)));
      s.once('error', () => resolve(true));
      s.setTimeout(2000, () => resolve(false));
    });
    assert.ok(refused, 'closed at once');
  });
});

describe('env expansion', () => {
  it('expands $(VAR) as Kubernetes does', () => {
    const vars: Record<string, string> = { A: 'a', EMPTY: '' };
    const lookup = (n: string) => vars[n];
    assert.equal(expandVars('http://$(A):8081', lookup), 'http://a:8081');
    assert.equal(expandVars('$(MISSING)', lookup), '$(MISSING)', 'undefined references stay');
    assert.equal(expandVars('$$(A)', lookup), '$(A)', '$$ escapes');
    assert.equal(expandVars('x$(EMPTY)y', lookup), 'xy');
    assert.equal(expandVars('cost: $5 $', lookup), 'cost: $5 $');
    assert.equal(expandVars('$(A', lookup), '$(A', 'unterminated');
    assert.equal(expandVars('$(A)$(A)', lookup), 'aa');
  });
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
