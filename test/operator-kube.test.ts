/**
 * The controller machinery of operator/kube as a whole, against the fake API server: a small
 * operator built on it (each Secret labelled role=source gets an owned copy, applied server-side,
 * a finalizer that deletes the copy first, and an Event) run as two replicas with leader election.
 * It must survive cut watches, forgotten history (410), a partitioned leader and a released Lease
 * without losing a change or acting twice.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { KubeClient, isNotFound, resources } from '../operator/kube/client.ts';
import { Controller } from '../operator/kube/controller.ts';
import { EventRecorder } from '../operator/kube/events.ts';
import { Informer, splitKey } from '../operator/kube/informer.ts';
import { LeaderElector } from '../operator/kube/leader-election.ts';
import { addFinalizer, controllerKey, hasFinalizer, ownerRef, removeFinalizer } from '../operator/kube/objects.ts';
import type { KubeEvent, Secret } from '../operator/kube/types.ts';
import { startFakeKube, type FakeKube } from './support/fake-kube/index.ts';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy.ts';
import { waitFor } from './support/wait.ts';

const finalizer = 'test.gbcast.io/copy';

interface Replica {
  identity: string;
  client: KubeClient;
  proxy: TcpProxy;
  elector: LeaderElector;
  sources: Informer<Secret>;
  copies: Informer<Secret>;
  events: EventRecorder;
  registry: Registry;
  /** Keys this replica reconciled, in order. */
  reconciled: string[];
  /** Reconciles that ran while this replica was not leading (must stay 0). */
  outOfTerm: number;
  stop(): Promise<void>;
}

describe('operator/kube machinery end to end', () => {
  let kube: FakeKube;
  const replicas: Replica[] = [];

  beforeEach(async () => {
    kube = await startFakeKube({ bookmarkIntervalMs: 200, controllerDelayMs: 5 });
  });
  afterEach(async () => {
    for (const r of replicas.splice(0)) await r.stop();
    await kube.stop();
  });

  async function replica(identity: string, resyncMs = 0): Promise<Replica> {
    const proxy = await startTcpProxy(Number(new URL(kube.url).port));
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: proxy.url, skipTLSVerify: true }],
      users: [{ name: 'u', token: kube.token }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    const client = KubeClient.fromKubeConfig(kc, { requestTimeoutMs: 1000 });
    const backoff = { initialMs: 20, maxMs: 200 };
    const sources = new Informer(client, resources.secrets, { namespace: 'default', labelSelector: 'role=source', resyncMs, backoff });
    const copies = new Informer(client, resources.secrets, { namespace: 'default', labelSelector: 'role=copy', backoff });
    const events = new EventRecorder(client, { instance: identity });
    const registry = new Registry();
    const r: Replica = { identity, client, proxy, sources, copies, events, registry, reconciled: [], outOfTerm: 0 } as unknown as Replica;

    const reconcile = async (key: string, signal: AbortSignal) => {
      if (!r.elector.isLeader) r.outOfTerm++;
      r.reconciled.push(key);
      const { namespace, name } = splitKey(key);
      const source = sources.getByName(name, namespace);
      if (!source) return;
      if (source.metadata.deletionTimestamp) {
        if (!hasFinalizer(source, finalizer)) return;
        try {
          await client.delete(resources.secrets, `${name}-copy`, { namespace, signal });
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
        await removeFinalizer(client, resources.secrets, source, finalizer, { signal });
        return;
      }
      const owned = await addFinalizer(client, resources.secrets, source, finalizer, { signal });
      await client.apply(
        resources.secrets,
        {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: `${name}-copy`, namespace, labels: { role: 'copy' }, ownerReferences: [ownerRef(owned)] },
          data: source.data ?? {},
        },
        { force: true, signal },
      );
      events.normal(owned, 'Copied', `copied to ${name}-copy`);
    };
    const controller = new Controller({
      name: 'copier',
      watches: [{ informer: sources }, { informer: copies, keys: controllerKey(resources.secrets) }],
      reconcile,
      registry,
    });
    r.elector = new LeaderElector(client, {
      namespace: 'default',
      name: 'copier',
      identity,
      leaseDurationMs: 1500,
      renewDeadlineMs: 1000,
      retryPeriodMs: 100,
      registry,
      onStartedLeading: (signal) => controller.run(signal),
    });
    r.stop = async () => {
      await r.elector.stop();
      await sources.stop();
      await copies.stop();
      await events.flush();
      client.close();
      await proxy.stop();
    };
    replicas.push(r);
    return r;
  }

  /** Replicas a and b, both electing: a leads (it started first), b follows. */
  async function leaderAndFollower(): Promise<{ a: Replica; b: Replica }> {
    const a = await replica('a');
    const b = await replica('b');
    a.elector.start();
    await waitFor('a leads', () => a.elector.isLeader);
    b.elector.start();
    return { a, b };
  }

  const source = (name: string, value: string) =>
    kube.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: 'default', labels: { role: 'source' } }, data: { v: Buffer.from(value).toString('base64') } });
  const get = (name: string) => kube.get({ apiVersion: 'v1', kind: 'Secret', namespace: 'default', name }) as unknown as Secret | undefined;
  const copyOf = (name: string) => get(`${name}-copy`);
  const value = (s: Secret | undefined) => (s?.data?.v ? Buffer.from(s.data.v, 'base64').toString() : undefined);

  it('only the leader acts; a partitioned leader stops and the other replica carries on', async () => {
    source('one', '1');
    const { a, b } = await leaderAndFollower();
    await waitFor('the copy of one', () => value(copyOf('one')) === '1');
    assert.ok(hasFinalizer(get('one')!, finalizer));
    assert.equal(b.reconciled.length, 0, 'the follower does nothing');

    a.proxy.partition();
    await waitFor('b takes over', () => b.elector.isLeader, 5000);
    assert.equal(a.elector.isLeader, false);
    source('two', '2');
    await waitFor('b copies two', () => value(copyOf('two')) === '2');
    // b starts by reconciling everything it sees: one's copy is already right, nothing is written twice.
    assert.ok(b.reconciled.includes('default/one'));
    assert.deepEqual(
      kube.list('v1', 'Secret', 'default').map((s) => (s.metadata as { name: string }).name).filter((n) => n.endsWith('-copy')).sort(),
      ['one-copy', 'two-copy'],
    );
    a.proxy.heal();
    await waitFor('a sees b lead', () => a.elector.leader === 'b', 5000);
    for (const r of [a, b]) assert.equal(r.outOfTerm, 0, `${r.identity} never reconciled out of its term`);
  });

  it('a copy deleted while the watches were cut and the history forgotten is still noticed and made again', async () => {
    source('one', '1');
    source('two', '2');
    const a = await replica('a');
    a.elector.start();
    await waitFor('both copies', () => copyOf('one') && copyOf('two'));
    const lists = a.copies.counts.lists;
    // At once: watches cut, the copy removed and a source changed in the gap, history gone.
    kube.breakWatches();
    kube.remove({ apiVersion: 'v1', kind: 'Secret', namespace: 'default', name: 'one-copy' });
    kube.put({ ...get('two')!, data: { v: Buffer.from('2b').toString('base64') } } as never);
    kube.expireHistory();
    await waitFor('one-copy made again', () => copyOf('one'), 5000);
    await waitFor('two-copy follows the change', () => value(copyOf('two')) === '2b', 5000);
    assert.ok(a.copies.counts.lists > lists, 'the copies informer listed again (410)');
    assert.ok(a.copies.counts.expired >= 1);
  });

  it('deleting a source runs the finalizer: the copy goes first, then the source', async () => {
    source('one', '1');
    const a = await replica('a');
    a.elector.start();
    await waitFor('copy', () => copyOf('one'));
    await a.client.delete(resources.secrets, 'one', { namespace: 'default' });
    await waitFor('source gone', () => !get('one'));
    assert.equal(copyOf('one'), undefined);
  });

  it('reconciling unchanged objects writes nothing (server-side apply is idempotent) and repeats one Event', async () => {
    source('one', '1');
    const a = await replica('a', 100);
    a.elector.start();
    await waitFor('copy', () => copyOf('one'));
    const rv = copyOf('one')!.metadata.resourceVersion;
    const sourceRv = get('one')!.metadata.resourceVersion;
    const before = a.reconciled.length;
    await waitFor('several resyncs', () => a.reconciled.length >= before + 3);
    assert.equal(copyOf('one')!.metadata.resourceVersion, rv, 'the copy was not rewritten');
    assert.equal(get('one')!.metadata.resourceVersion, sourceRv, 'nor the source');
    const copied = () => (kube.list('events.k8s.io/v1', 'Event', 'default') as unknown as KubeEvent[]).filter((e) => e.reason === 'Copied' && e.regarding.name === 'one');
    await waitFor('the Event counts the repeats', () => (copied()[0]?.series?.count ?? 1) >= 3);
    assert.equal(copied().length, 1, 'one Event');
    assert.match(await a.registry.metrics(), /gbcast_operator_reconciles_total\{controller="copier",result="success"\} \d+/);
  });

  it('stopping the leader hands over at once (released Lease), and the successor keeps the state', async () => {
    source('one', '1');
    const { a, b } = await leaderAndFollower();
    await waitFor('copy', () => copyOf('one'));
    await a.stop();
    replicas.splice(replicas.indexOf(a), 1);
    await waitFor('b leads', () => b.elector.isLeader, 1000);
    source('two', '2');
    await waitFor('b copies two', () => copyOf('two'));
    assert.equal(b.outOfTerm, 0);
  });
});
