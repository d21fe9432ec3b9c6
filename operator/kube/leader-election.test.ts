import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { startFakeKube, type FakeKube } from '../../test/support/fake-kube/index.ts';
import { startTcpProxy, type TcpProxy } from '../../test/support/tcp-proxy.ts';
import { waitFor } from '../../test/support/wait.ts';
import { KubeClient, resources } from './client.ts';
import { LeaderElector, type LeaderElectionOptions } from './leader-election.ts';
import type { Lease } from './types.ts';

/** Short periods so tests take well under a second per hand-over. */
const fast = { leaseDurationMs: 1500, renewDeadlineMs: 1000, retryPeriodMs: 100 };

interface Candidate {
  elector: LeaderElector;
  /** What happened to this candidate, in order (started/stopped), with a global sequence number. */
  log: [string, number][];
  /** The signal of the current term. */
  signal?: AbortSignal;
  client: KubeClient;
  proxy?: TcpProxy;
}

let sequence = 0;

describe('LeaderElector', () => {
  let kube: FakeKube;
  const cleanup: (() => Promise<void> | void)[] = [];

  beforeEach(async () => {
    kube = await startFakeKube();
  });
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
    await kube.stop();
  });

  /** A candidate; `viaProxy` routes its API traffic through a TCP proxy the test can partition. */
  async function candidate(identity: string, options: Partial<LeaderElectionOptions> = {}, viaProxy = false): Promise<Candidate> {
    let kc = kube.kubeConfig();
    let proxy: TcpProxy | undefined;
    if (viaProxy) {
      proxy = await startTcpProxy(Number(new URL(kube.url).port));
      kc = new KubeConfig();
      kc.loadFromOptions({
        clusters: [{ name: 'c', server: proxy.url, skipTLSVerify: true }],
        users: [{ name: 'u', token: kube.token }],
        contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
        currentContext: 'x',
      });
      const p = proxy;
      cleanup.push(() => p.stop());
    }
    const client = KubeClient.fromKubeConfig(kc, { requestTimeoutMs: 500 });
    cleanup.push(() => client.close());
    const c: Candidate = { log: [], client, proxy, elector: undefined as unknown as LeaderElector };
    c.elector = new LeaderElector(client, {
      namespace: 'default',
      name: 'gbcast-operator',
      identity,
      ...fast,
      onStartedLeading: (signal) => {
        c.signal = signal;
        c.log.push(['started', ++sequence]);
      },
      onStoppedLeading: () => c.log.push(['stopped', ++sequence]),
      ...options,
    });
    cleanup.push(() => c.elector.stop());
    return c;
  }

  const lease = () => kube.get({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace: 'default', name: 'gbcast-operator' }) as unknown as Lease | undefined;

  it('takes an absent Lease and renews it', async () => {
    const registry = new Registry();
    const a = await candidate('a', { registry });
    a.elector.start();
    await waitFor('a leads', () => a.elector.isLeader);
    const first = lease()!;
    assert.equal(first.spec?.holderIdentity, 'a');
    assert.equal(first.spec?.leaseDurationSeconds, 2, '1.5 s written as whole seconds, rounded up');
    assert.equal(first.spec?.leaseTransitions, 0);
    assert.match(first.spec!.renewTime!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/, 'MicroTime');
    assert.equal(a.elector.leader, 'a');
    await waitFor('a renewal', () => lease()!.spec?.renewTime !== first.spec?.renewTime);
    const renewed = lease()!;
    assert.equal(renewed.spec?.acquireTime, first.spec?.acquireTime, 'a renewal keeps acquireTime');
    assert.equal(renewed.spec?.leaseTransitions, 0);
    assert.match(await registry.metrics(), /gbcast_operator_leader\{lease="default\/gbcast-operator",identity="a"\} 1/);
    assert.deepEqual(a.log.map((l) => l[0]), ['started']);
  });

  it('of two candidates one leads; the other waits while the Lease is renewed', async () => {
    const a = await candidate('a');
    const b = await candidate('b');
    a.elector.start();
    await waitFor('a leads', () => a.elector.isLeader);
    b.elector.start();
    await waitFor('b sees a', () => b.elector.leader === 'a');
    // Longer than a lease duration: b must not take a Lease that a keeps renewing.
    await new Promise((r) => setTimeout(r, fast.leaseDurationMs * 1.5));
    assert.equal(b.elector.isLeader, false);
    assert.equal(lease()!.spec?.holderIdentity, 'a');
    assert.deepEqual(b.log, []);
  });

  it('candidates starting together on an absent Lease: exactly one leads', async () => {
    const all = await Promise.all(['a', 'b', 'c', 'd'].map((id) => candidate(id)));
    for (const c of all) c.elector.start();
    await waitFor('a leader', () => all.some((c) => c.elector.isLeader));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(all.filter((c) => c.elector.isLeader).length, 1);
    assert.equal(lease()!.spec?.holderIdentity, all.find((c) => c.elector.isLeader)!.elector.identity);
  });

  it('a leader cut off from the API stops leading before another takes over', async () => {
    const a = await candidate('a', {}, true);
    const b = await candidate('b');
    a.elector.start();
    await waitFor('a leads', () => a.elector.isLeader);
    b.elector.start();
    await waitFor('b sees a', () => b.elector.leader === 'a');
    const aSignal = a.signal!;
    a.proxy!.partition();
    await waitFor('a gives up', () => !a.elector.isLeader, 5000);
    assert.ok(aSignal.aborted, "the old term's signal is aborted");
    await waitFor('b takes over', () => b.elector.isLeader, 5000);
    const stoppedAt = a.log.find((l) => l[0] === 'stopped')![1];
    const startedAt = b.log.find((l) => l[0] === 'started')![1];
    assert.ok(stoppedAt < startedAt, 'never two leaders: a stopped before b started');
    const taken = lease()!;
    assert.equal(taken.spec?.holderIdentity, 'b');
    assert.equal(taken.spec?.leaseTransitions, 1);

    // a comes back: it campaigns again and sees b hold the Lease.
    a.proxy!.heal();
    await waitFor('a sees b', () => a.elector.leader === 'b', 5000);
    assert.equal(a.elector.isLeader, false);
  });

  it('a leader whose renewals fail (API errors) gives up after renewDeadline', async () => {
    const a = await candidate('a');
    a.elector.start();
    await waitFor('a leads', () => a.elector.isLeader);
    kube.failNext({ method: 'PUT', pathPattern: '/leases/gbcast-operator', status: 500, times: 1000 });
    await waitFor('a gives up', () => !a.elector.isLeader, 5000);
    assert.deepEqual(a.log.map((l) => l[0]), ['started', 'stopped']);
  });

  it('a leader that sees another holder (its renewals lost) stops at once', async () => {
    const a = await candidate('a');
    a.elector.start();
    await waitFor('a leads', () => a.elector.isLeader);
    const current = lease()!;
    kube.put({ ...current, spec: { ...current.spec, holderIdentity: 'intruder' } } as never);
    await waitFor('a stops', () => !a.elector.isLeader, 3000);
    assert.equal(a.elector.leader, 'intruder');
  });

  it('stop() releases the Lease: a successor takes over without waiting for it to expire', async () => {
    // A minute-long lease: had a not released it, b would wait that long.
    const long = { leaseDurationMs: 60_000, renewDeadlineMs: 1000, retryPeriodMs: 100 };
    const a = await candidate('a', long);
    const b = await candidate('b', long);
    a.elector.start();
    await waitFor('a leads', () => a.elector.isLeader);
    b.elector.start();
    await waitFor('b sees a', () => b.elector.leader === 'a');
    await a.elector.stop();
    assert.deepEqual(a.log.map((l) => l[0]), ['started', 'stopped']);
    assert.equal(lease()!.spec?.holderIdentity, '');
    await waitFor('b takes over', () => b.elector.isLeader, 3000);
    assert.equal(lease()!.spec?.leaseTransitions, 1);
  });

  it('run() is one term: it returns when leadership ends; onStartedLeading is awaited before the release', async () => {
    let finished = false;
    const a = await candidate('a', {
      onStartedLeading: async (signal) => {
        await new Promise((r) => signal.addEventListener('abort', r));
        await new Promise((r) => setTimeout(r, 50));
        finished = true;
      },
    });
    const stop = new AbortController();
    const term = a.elector.run(stop.signal);
    await waitFor('a leads', () => a.elector.isLeader);
    stop.abort();
    await term;
    assert.equal(finished, true);
    assert.equal(lease()!.spec?.holderIdentity, '');
  });

  it('rejects inconsistent periods', () => {
    const client = KubeClient.fromKubeConfig(kube.kubeConfig());
    const base = { namespace: 'default', name: 'l', identity: 'x', onStartedLeading: () => {} };
    assert.throws(() => new LeaderElector(client, { ...base, leaseDurationMs: 1000, renewDeadlineMs: 1000 }), /leaseDuration/);
    assert.throws(() => new LeaderElector(client, { ...base, renewDeadlineMs: 1000, retryPeriodMs: 900 }), /renewDeadline/);
    assert.throws(() => new LeaderElector(client, { ...base, identity: '' }), /identity/);
    void resources;
  });
});
