import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { startFakeKube, type FakeKube } from '../../test/support/fake-kube/index.ts';
import { waitFor } from '../../test/support/wait.ts';
import { KubeClient, resources } from './client.ts';
import { Informer, keyOf, splitKey, type InformerOptions } from './informer.ts';
import type { Secret } from './types.ts';

type Seen = [string, string, ...unknown[]];

/** An informer on Secrets of `default` that records what its handlers are told. */
function recording(client: KubeClient, options: InformerOptions = {}) {
  const informer = new Informer(client, resources.secrets, { namespace: 'default', backoff: { initialMs: 20, maxMs: 200 }, ...options });
  const seen: Seen[] = [];
  informer.addHandlers({
    add: (o) => seen.push(['add', o.metadata.name]),
    update: (old, o) => seen.push(['update', o.metadata.name, old === o]),
    delete: (o, unknown) => seen.push(['delete', o.metadata.name, unknown]),
  });
  return { informer, seen };
}

const secretRef = (name: string) => ({ apiVersion: 'v1', kind: 'Secret', namespace: 'default', name });

describe('Informer', () => {
  let kube: FakeKube;
  let client: KubeClient;
  const informers: Informer<Secret>[] = [];

  beforeEach(async () => {
    kube = await startFakeKube({ bookmarkIntervalMs: 100 });
    client = KubeClient.fromKubeConfig(kube.kubeConfig());
  });
  afterEach(async () => {
    await Promise.all(informers.splice(0).map((i) => i.stop()));
    client.close();
    await kube.stop();
  });

  const make = (options: InformerOptions = {}) => {
    const r = recording(client, options);
    informers.push(r.informer);
    return r;
  };
  const create = (name: string, labels?: Record<string, string>) => client.create(resources.secrets, { metadata: { name, namespace: 'default', labels } });

  it('lists, then watches: adds, updates and deletes reach the handlers and the cache', async () => {
    await create('a');
    const { informer, seen } = make();
    informer.start();
    await informer.synced;
    assert.ok(informer.hasSynced);
    assert.deepEqual(seen, [['add', 'a']]);
    await create('b');
    await client.patchMerge(resources.secrets, 'a', { metadata: { labels: { x: '1' } } }, { namespace: 'default' });
    await client.delete(resources.secrets, 'b', { namespace: 'default' });
    await waitFor('three watch events', () => seen.length === 4);
    assert.deepEqual(seen.slice(1), [['add', 'b'], ['update', 'a', false], ['delete', 'b', false]]);
    assert.equal(informer.get('default/a')?.metadata.labels?.x, '1');
    assert.equal(informer.getByName('a', 'default')?.metadata.name, 'a');
    assert.deepEqual(informer.keys(), ['default/a']);
    assert.equal(informer.list().length, 1);
    assert.deepEqual(informer.counts, { lists: 1, watches: 1, expired: 0, failures: 0 });
  });

  it('with a label selector: an object that stops matching is deleted, one that starts matching is added', async () => {
    await create('in', { app: 'x' });
    await create('out', { app: 'y' });
    const { informer, seen } = make({ labelSelector: 'app=x' });
    informer.start();
    await informer.synced;
    assert.deepEqual(informer.keys(), ['default/in']);
    await client.patchMerge(resources.secrets, 'in', { metadata: { labels: { app: 'z' } } }, { namespace: 'default' });
    await client.patchMerge(resources.secrets, 'out', { metadata: { labels: { app: 'x' } } }, { namespace: 'default' });
    await waitFor('both changes', () => seen.length === 3);
    assert.deepEqual(seen, [['add', 'in'], ['delete', 'in', false], ['add', 'out']]);
    assert.deepEqual(informer.keys(), ['default/out']);
  });

  it('a cut watch is started again from the last resourceVersion: nothing lost, no re-list', async () => {
    const { informer, seen } = make();
    informer.start();
    await informer.synced;
    await create('a');
    await waitFor('a', () => informer.get('default/a'));
    const opened = kube.openWatches();
    kube.breakWatches();
    // Changes while no watch is open are replayed by the next watch.
    await create('b');
    await client.delete(resources.secrets, 'a', { namespace: 'default' });
    await waitFor('b added and a deleted', () => seen.length === 3);
    assert.deepEqual(seen, [['add', 'a'], ['add', 'b'], ['delete', 'a', false]]);
    assert.equal(informer.counts.lists, 1, 'no re-list needed');
    assert.ok(informer.counts.watches >= 2);
    assert.equal(opened, 1);
    await waitFor('a watch open again', () => kube.openWatches() === 1);
  });

  it('410 Expired after a gap: lists again and hands over the difference, deletes included', async () => {
    await create('stays');
    await create('changes');
    await create('goes');
    const { informer, seen } = make();
    informer.start();
    await informer.synced;
    seen.length = 0;
    // All at once (no await in between): the watch is cut, the gap's changes happen, the history
    // that would replay them is forgotten.
    kube.breakWatches();
    kube.remove(secretRef('goes'));
    kube.put({ ...kube.get(secretRef('changes'))!, data: { k: Buffer.from('v').toString('base64') } });
    kube.put({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'new', namespace: 'default' } });
    kube.expireHistory();
    await waitFor('the difference', () => seen.length === 3);
    assert.deepEqual(
      seen.sort((a, b) => a[1].localeCompare(b[1])),
      [['update', 'changes', false], ['delete', 'goes', true], ['add', 'new']],
    );
    assert.deepEqual(informer.keys().sort(), ['default/changes', 'default/new', 'default/stays']);
    assert.equal(informer.counts.lists, 2);
    assert.equal(informer.counts.expired, 1);
    // And it watches on from the new list.
    await create('after');
    await waitFor('after', () => informer.get('default/after'));
  });

  it('410 as the HTTP answer to a watch, and failing watches and lists, are retried', async () => {
    const { informer, seen } = make();
    kube.failNext({ method: 'GET', pathPattern: /\/secrets\?(?!.*watch)/, status: 500, times: 2 });
    informer.start();
    await informer.synced;
    assert.equal(informer.counts.lists, 3, 'two failed lists, then one that worked');
    kube.failNext({ method: 'GET', pathPattern: /watch=true/, status: 410, reason: 'Expired' });
    kube.breakWatches();
    await waitFor('listed again after the 410', () => informer.counts.lists === 4);
    kube.failNext({ method: 'GET', pathPattern: /watch=true/, status: 503, times: 3 });
    kube.breakWatches();
    await create('x');
    await waitFor('x after three failed watches', () => informer.get('default/x'));
    assert.ok(informer.counts.failures >= 5);
    assert.deepEqual(seen, [['add', 'x']]);
  });

  it('bookmarks keep the resourceVersion current while nothing selected changes', async () => {
    const { informer } = make({ labelSelector: 'none=here' });
    informer.start();
    await informer.synced;
    const rv = Number(informer.resourceVersion);
    await create('unselected');
    await waitFor('a bookmark at the current version', () => Number(informer.resourceVersion) > rv && informer.resourceVersion === kube.resourceVersion());
    // With the history gone, the watch still goes on from the bookmark's version: no 410, no re-list
    // (from the list's version it would be too old).
    kube.expireHistory();
    kube.breakWatches();
    await waitFor('watching again', () => kube.openWatches() === 1 && informer.counts.watches === 2);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(informer.counts.expired, 0);
    assert.equal(informer.counts.lists, 1);
  });

  it('resync hands every cached object to update again; relist() lists now', async () => {
    await create('a');
    await create('b');
    const { informer, seen } = make({ resyncMs: 50 });
    informer.start();
    await informer.synced;
    await waitFor('a resync', () => seen.filter((s) => s[0] === 'update').length >= 2);
    const resynced = seen.filter((s) => s[0] === 'update');
    assert.ok(resynced.every((s) => s[2] === true), 'old === new on a resync');
    const before = seen.length;
    informer.relist();
    await waitFor('a second list', () => informer.counts.lists === 2);
    assert.ok(!seen.slice(before).some((s) => s[0] !== 'update'), 'nothing new: the re-list adds and deletes nothing');
  });

  it('late handlers start from the cache; a throwing handler does not stop the others', async () => {
    await create('a');
    const { informer } = make();
    informer.addHandlers({
      add: () => {
        throw new Error('broken handler');
      },
    });
    informer.start();
    await informer.synced;
    const late: string[] = [];
    const remove = informer.addHandlers({ add: (o) => late.push(o.metadata.name) });
    assert.deepEqual(late, ['a']);
    remove();
    await create('b');
    await waitFor('b', () => informer.get('default/b'));
    assert.deepEqual(late, ['a'], 'removed handlers hear nothing');
  });

  it('stop ends the watch', async () => {
    const { informer } = make();
    informer.start();
    await informer.synced;
    await waitFor('a watch', () => kube.openWatches() === 1);
    await informer.stop();
    await waitFor('no watch', () => kube.openWatches() === 0);
  });
});

describe('Informer against a server whose watches end at once', () => {
  it('backs off instead of spinning', async () => {
    let watches = 0;
    const server = http.createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      if (req.url?.includes('watch=true')) {
        watches++;
        res.end();
      } else {
        res.end(JSON.stringify({ kind: 'SecretList', apiVersion: 'v1', metadata: { resourceVersion: '5' }, items: [] }));
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true }],
      users: [{ name: 'u', token: 't' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    const client = KubeClient.fromKubeConfig(kc);
    const informer = new Informer(client, resources.secrets, { backoff: { initialMs: 20, maxMs: 100 } });
    informer.start();
    await informer.synced;
    await new Promise((r) => setTimeout(r, 500));
    await informer.stop();
    client.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    assert.ok(watches >= 2, 'it does watch again');
    assert.ok(watches < 30, `${watches} watches in half a second`);
    assert.ok(informer.counts.failures >= watches - 1, 'each counted as a failure');
  });
});

describe('keys', () => {
  it('namespace/name, or name for cluster-scoped objects', () => {
    assert.equal(keyOf({ metadata: { name: 'a', namespace: 'ns' } }), 'ns/a');
    assert.equal(keyOf({ metadata: { name: 'node-1' } }), 'node-1');
    assert.deepEqual(splitKey('ns/a'), { namespace: 'ns', name: 'a' });
    assert.deepEqual(splitKey('node-1'), { name: 'node-1' });
  });
});
