import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import type { GbStreamServer } from '../api/types.ts';
import { startFakeKube, type FakeKube, type JsonObject } from '../../test/support/fake-kube/index.ts';
import { repoRoot } from '../../test/support/fixtures.ts';
import {
  fieldManager,
  isAlreadyExists,
  isConflict,
  isGone,
  isKubeError,
  isNotFound,
  KubeClient,
  KubeError,
  resources,
} from './client.ts';
import type { KubeObject, Secret, WatchEvent } from './types.ts';

function loadYaml(file: string): JsonObject {
  return parseYaml(readFileSync(new URL(file, `file://${repoRoot}`), 'utf8')) as JsonObject;
}

function pool(name: string): GbStreamServer {
  const example = loadYaml('examples/pool.yaml') as unknown as GbStreamServer;
  return { ...example, metadata: { name, namespace: 'default' } };
}

describe('KubeClient', () => {
  let kube: FakeKube;
  let client: KubeClient;

  before(async () => {
    kube = await startFakeKube();
    kube.create(loadYaml('crds/gbcast.io_gbstreamservers.yaml'));
    client = KubeClient.fromKubeConfig(kube.kubeConfig(), { requestTimeoutMs: 5000 });
  });
  after(async () => {
    client.close();
    await kube.stop();
  });

  it('creates, gets, lists (every page) and deletes, with typed errors', async () => {
    for (let i = 0; i < 5; i++) await client.create(resources.secrets, { metadata: { name: `s${i}`, namespace: 'default', labels: { set: 'crud', n: String(i) } }, stringData: { k: `v${i}` } });
    const s0 = await client.get(resources.secrets, 's0', 'default');
    assert.equal(s0.data?.k, Buffer.from('v0').toString('base64'));
    assert.ok(s0.metadata.uid && s0.metadata.resourceVersion);

    const list = await client.list(resources.secrets, { namespace: 'default', labelSelector: 'set=crud', limit: 2 });
    assert.deepEqual(list.items.map((s) => s.metadata.name).sort(), ['s0', 's1', 's2', 's3', 's4']);
    assert.ok(list.metadata.resourceVersion);
    assert.ok(list.items.every((s) => s.kind === 'Secret' && s.apiVersion === 'v1'), 'list items carry kind and apiVersion');
    const pages = kube.requests.filter((r) => r.method === 'GET' && r.path === '/api/v1/namespaces/default/secrets' && r.query.includes('set%3Dcrud'));
    assert.equal(pages.length, 3, 'five objects in pages of two');
    assert.equal((await client.list(resources.secrets, { namespace: 'default', labelSelector: 'set=crud,n in (1,3)' })).items.length, 2);

    await assert.rejects(client.create(resources.secrets, { metadata: { name: 's0', namespace: 'default' } }), (err) => isAlreadyExists(err) && isKubeError(err, 409));
    await assert.rejects(client.get(resources.secrets, 'nope', 'default'), (err) => isNotFound(err) && err instanceof KubeError && err.reason === 'NotFound');
    assert.equal(await client.tryGet(resources.secrets, 'nope', 'default'), undefined);
    await assert.rejects(
      client.create(resources.secrets, { metadata: { name: 'Not_Valid', namespace: 'default' } }),
      (err) => isKubeError(err, 422) && (err as KubeError).reason === 'Invalid' && !isConflict(err),
      'a validation error is no conflict',
    );

    await client.delete(resources.secrets, 's0', { namespace: 'default' });
    await assert.rejects(client.delete(resources.secrets, 's0', { namespace: 'default' }), isNotFound);
    assert.throws(() => client.path(resources.secrets, 'default', ''), /empty name/);
    await assert.rejects(client.get(resources.secrets, 's1'), /namespaced/);
  });

  it('server-side apply: creates, is a no-op when nothing changed, owns what it names', async () => {
    const secret = (data: Record<string, string>): Secret => ({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'applied', namespace: 'default', labels: { a: '1' } },
      stringData: data,
    });
    const first = await client.apply(resources.secrets, secret({ x: '1' }), { force: true });
    assert.equal(first.data?.x, Buffer.from('1').toString('base64'));
    assert.ok(first.metadata.managedFields?.some((f) => f.manager === fieldManager && f.operation === 'Apply'), 'fields owned by gbcast-operator');
    assert.equal(kube.requests.at(-1)?.contentType, 'application/apply-patch+yaml');
    assert.match(kube.requests.at(-1)?.query ?? '', /fieldManager=gbcast-operator/);
    assert.match(kube.requests.at(-1)?.query ?? '', /force=true/);

    // The same intent again: the API server writes nothing (no new resourceVersion), as the real one does.
    const again = await client.apply(resources.secrets, secret({ x: '1' }), { force: true });
    assert.equal(again.metadata.resourceVersion, first.metadata.resourceVersion);
    // An object read back (resourceVersion, managedFields) can be applied as it is.
    const readBack = await client.apply(resources.secrets, { ...again, stringData: { x: '1' } }, { force: true });
    assert.equal(readBack.metadata.resourceVersion, first.metadata.resourceVersion);

    const changed = await client.apply(resources.secrets, secret({ x: '2' }), { force: true });
    assert.notEqual(changed.metadata.resourceVersion, first.metadata.resourceVersion);

    // Another manager's label stays when we apply without it; ours goes when we stop naming it.
    await client.patchMerge(resources.secrets, 'applied', { metadata: { labels: { theirs: 'yes' } } }, { namespace: 'default', fieldManager: 'someone-else' });
    const dropped = await client.apply(resources.secrets, { ...secret({ x: '2' }), metadata: { name: 'applied', namespace: 'default' } }, { force: true });
    assert.deepEqual(dropped.metadata.labels, { theirs: 'yes' });
  });

  it('patches: merge, JSON with a failing test (a conflict), replace with a stale resourceVersion (a conflict)', async () => {
    const created = await client.create(resources.secrets, { metadata: { name: 'patched', namespace: 'default' }, stringData: { a: '1' } });
    const merged = await client.patchMerge(resources.secrets, 'patched', { metadata: { annotations: { x: 'y' } } }, { namespace: 'default' });
    assert.equal(merged.metadata.annotations?.x, 'y');
    await assert.rejects(
      client.patchJson(resources.secrets, 'patched', [
        { op: 'test', path: '/metadata/resourceVersion', value: created.metadata.resourceVersion },
        { op: 'add', path: '/metadata/labels', value: { b: '2' } },
      ], { namespace: 'default' }),
      (err) => isConflict(err) && isKubeError(err, 422),
    );
    const ok = await client.patchJson(resources.secrets, 'patched', [
      { op: 'test', path: '/metadata/resourceVersion', value: merged.metadata.resourceVersion },
      { op: 'add', path: '/metadata/labels', value: { b: '2' } },
    ], { namespace: 'default' });
    assert.equal(ok.metadata.labels?.b, '2');
    await assert.rejects(client.replace(resources.secrets, { ...merged, stringData: { a: '3' } }), (err) => isConflict(err) && isKubeError(err, 409));
    const replaced = await client.replace(resources.secrets, { ...ok, data: { a: Buffer.from('3').toString('base64') } });
    assert.equal(replaced.data?.a, Buffer.from('3').toString('base64'));
  });

  it('status and scale subresources of a custom resource', async () => {
    const created = await client.create(resources.gbStreamServers, pool('p1'));
    assert.equal(created.metadata.generation, 1);
    const withStatus = await client.patchStatus(resources.gbStreamServers, 'p1', { status: { replicas: 2, readyReplicas: 1, selector: 'gbcast.io/pool=p1' } }, { namespace: 'default' });
    assert.equal(withStatus.status?.replicas, 2);
    assert.equal(withStatus.metadata.generation, 1, 'a status write leaves the generation');
    const applied = await client.applyStatus(
      resources.gbStreamServers,
      { apiVersion: 'gbcast.io/v1alpha1', kind: 'GbStreamServer', metadata: { name: 'p1', namespace: 'default' }, status: { replicas: 3, readyReplicas: 3, selector: 'gbcast.io/pool=p1', observedGeneration: 1 } } as unknown as GbStreamServer,
      { force: true },
    );
    assert.equal(applied.status?.replicas, 3);
    // A spec change through the status endpoint is ignored, as the status subresource does.
    const sneaky = await client.patchStatus(resources.gbStreamServers, 'p1', { spec: { replicas: 99 } }, { namespace: 'default' });
    assert.notEqual(sneaky.spec.replicas, 99);

    const scale = await client.getScale(resources.gbStreamServers, 'p1', 'default');
    assert.equal(scale.status?.replicas, 3);
    assert.equal(scale.status?.selector, 'gbcast.io/pool=p1');
    const scaled = await client.patchScale(resources.gbStreamServers, 'p1', 5, { namespace: 'default' });
    assert.equal(scaled.spec.replicas, 5);
    assert.equal((await client.get(resources.gbStreamServers, 'p1', 'default')).spec.replicas, 5);
  });

  it('watches from a resourceVersion: events in order, abort ends it, 410 for a forgotten version', async () => {
    const start = (await client.list(resources.secrets, { namespace: 'default' })).metadata.resourceVersion!;
    const events: WatchEvent<KubeObject>[] = [];
    const handle = client.watch(resources.secrets, { namespace: 'default', resourceVersion: start, labelSelector: 'w=1' }, (e) => events.push(e));
    await client.create(resources.secrets, { metadata: { name: 'w1', namespace: 'default', labels: { w: '1' } } });
    await client.create(resources.secrets, { metadata: { name: 'w2', namespace: 'default', labels: { w: '2' } } });
    await client.patchMerge(resources.secrets, 'w1', { metadata: { annotations: { n: '1' } } }, { namespace: 'default' });
    await client.delete(resources.secrets, 'w1', { namespace: 'default' });
    while (events.length < 3) await new Promise((r) => setTimeout(r, 10));
    handle.abort();
    await handle.done;
    assert.deepEqual(events.map((e) => [e.type, e.object.metadata.name]), [['ADDED', 'w1'], ['MODIFIED', 'w1'], ['DELETED', 'w1']]);
    assert.equal(events[0].object.kind, 'Secret');

    kube.expireHistory();
    const expired: WatchEvent<KubeObject>[] = [];
    const old = client.watch(resources.secrets, { namespace: 'default', resourceVersion: start }, (e) => expired.push(e));
    await old.done;
    assert.equal(expired.length, 1);
    assert.equal(expired[0].type, 'ERROR');
    assert.equal((expired[0].object as unknown as { code: number }).code, 410);
  });

  it('a watch that cannot start or whose handler throws rejects with the error', async () => {
    kube.failNext({ method: 'GET', pathPattern: /watch=true/, status: 410, reason: 'Expired' });
    await assert.rejects(client.watch(resources.secrets, { namespace: 'default', resourceVersion: '1' }, () => {}).done, isGone);
    kube.failNext({ method: 'GET', pathPattern: /watch=true/, status: 500 });
    await assert.rejects(client.watch(resources.secrets, { namespace: 'default' }, () => {}).done, (err) => isKubeError(err, 500));
    await assert.rejects(
      client.watch(resources.secrets, { namespace: 'default' }, () => {
        throw new Error('handler broke');
      }).done,
      /handler broke/,
    );
  });

  it('a server that is not there is a KubeError with code 0; a hung request times out', async () => {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: 'http://127.0.0.1:1', skipTLSVerify: true }],
      users: [{ name: 'u', token: 't' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    const dead = KubeClient.fromKubeConfig(kc);
    await assert.rejects(dead.get(resources.nodes, 'n1'), (err) => isKubeError(err, 0) && (err as KubeError).reason === 'Transport');
    await assert.rejects(dead.watch(resources.nodes, {}, () => {}).done, (err) => isKubeError(err, 0));

    const slow = KubeClient.fromKubeConfig(kube.kubeConfig(), { requestTimeoutMs: 100 });
    kube.latency(1000);
    try {
      await assert.rejects(slow.get(resources.nodes, 'n1'), (err) => isKubeError(err, 0) && (err as KubeError).reason === 'Aborted');
      const abort = new AbortController();
      const pending = client.get(resources.nodes, 'n1', undefined, { signal: abort.signal });
      abort.abort();
      await assert.rejects(pending, (err) => isKubeError(err, 0));
    } finally {
      kube.latency(0);
    }
  });

  it('authenticates with the kubeconfig: a wrong token is 401', async () => {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: kube.url, skipTLSVerify: true }],
      users: [{ name: 'u', token: 'wrong' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    await assert.rejects(KubeClient.fromKubeConfig(kc).list(resources.nodes), (err) => isKubeError(err, 401));
  });
});

describe('KubeClient over TLS', () => {
  it('verifies the server against the kubeconfig CA, sends the token, and reuses connections', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gbcast-tls-'));
    try {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')], { stdio: 'ignore' });
      const cert = readFileSync(path.join(dir, 'cert.pem'));
      const seen: { auth?: string; socket: unknown }[] = [];
      const server = https.createServer({ key: readFileSync(path.join(dir, 'key.pem')), cert }, (req, res) => {
        seen.push({ auth: req.headers.authorization, socket: req.socket });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' } }));
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
      const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const config = (caData?: string) => {
        const kc = new KubeConfig();
        kc.loadFromOptions({
          clusters: [{ name: 'c', server: url, ...(caData ? { caData } : {}) }],
          users: [{ name: 'u', token: 'secret-token' }],
          contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
          currentContext: 'x',
        });
        return kc;
      };
      const client = KubeClient.fromKubeConfig(config(cert.toString('base64')));
      assert.equal((await client.get(resources.nodes, 'n1')).metadata.name, 'n1');
      await client.get(resources.nodes, 'n1');
      assert.equal(seen[0].auth, 'Bearer secret-token');
      assert.equal(seen[0].socket, seen[1].socket, 'one kept-alive connection');
      client.close();
      // Without the CA the server's certificate is not trusted.
      await assert.rejects(KubeClient.fromKubeConfig(config()).get(resources.nodes, 'n1'), (err) => isKubeError(err, 0));
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
