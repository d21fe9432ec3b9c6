import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { startFakeKube, type FakeKube } from '../../test/support/fake-kube/index.ts';
import { waitFor } from '../../test/support/wait.ts';
import { KubeClient, resources } from './client.ts';
import { Controller, type ControllerOptions } from './controller.ts';
import { Informer } from './informer.ts';
import { controllerKey, ownerRef } from './objects.ts';
import type { Secret } from './types.ts';
import { DefaultRateLimiter } from './work-queue.ts';

describe('Controller', () => {
  let kube: FakeKube;
  let client: KubeClient;
  let secrets: Informer<Secret>;
  const stops: (() => Promise<void>)[] = [];

  beforeEach(async () => {
    kube = await startFakeKube();
    client = KubeClient.fromKubeConfig(kube.kubeConfig());
    secrets = new Informer(client, resources.secrets, { namespace: 'default' });
  });
  afterEach(async () => {
    for (const s of stops.splice(0)) await s();
    await secrets.stop();
    client.close();
    await kube.stop();
  });

  /** Runs a controller until the test ends. */
  function run(options: Partial<ControllerOptions> & Pick<ControllerOptions, 'reconcile'>) {
    const controller = new Controller({ name: 'test', watches: [{ informer: secrets }], ...options });
    const abort = new AbortController();
    const done = controller.run(abort.signal);
    stops.push(async () => {
      abort.abort();
      await done;
    });
    return { controller, abort, done };
  }

  const create = (name: string, extra: Partial<Secret['metadata']> = {}) => client.create(resources.secrets, { metadata: { name, namespace: 'default', ...extra } });

  it('reconciles every object once synced, then on every change (collapsed per key)', async () => {
    await create('a');
    await create('b');
    const calls: string[] = [];
    run({
      reconcile: async (key) => {
        calls.push(key);
      },
    });
    await waitFor('both', () => calls.length === 2);
    assert.deepEqual(calls.sort(), ['default/a', 'default/b']);
    await client.patchMerge(resources.secrets, 'a', { metadata: { labels: { x: '1' } } }, { namespace: 'default' });
    await waitFor('a again', () => calls.length === 3);
    assert.equal(calls[2], 'default/a');
    await client.delete(resources.secrets, 'b', { namespace: 'default' });
    await waitFor('b deleted', () => calls.length === 4);
    assert.equal(calls[3], 'default/b');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(calls.length, 4, 'one reconcile per change');
  });

  it('never reconciles one key twice at once; changes during a reconcile bring one more', async () => {
    await create('a');
    let running = 0;
    let maxRunning = 0;
    let calls = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    run({
      concurrency: 4,
      reconcile: async () => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        calls++;
        if (calls === 1) await gate;
        running--;
      },
    });
    await waitFor('first reconcile', () => calls === 1);
    for (let i = 0; i < 5; i++) await client.patchMerge(resources.secrets, 'a', { metadata: { labels: { n: String(i) } } }, { namespace: 'default' });
    await waitFor('the changes are seen', () => secrets.get('default/a')?.metadata.labels?.n === '4');
    assert.equal(calls, 1, 'held while the first runs');
    release();
    await waitFor('one more', () => calls === 2);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(calls, 2, 'five changes, one reconcile');
    assert.equal(maxRunning, 1);
  });

  it('retries a failing key with growing backoff, forgets it after a success; requeueAfter calls again', async () => {
    await create('flaky');
    await create('periodic');
    const calls = new Map<string, number>();
    const { controller } = run({
      rateLimiter: () => new DefaultRateLimiter({ baseDelayMs: 10, maxDelayMs: 1000 }),
      reconcile: async (key) => {
        const n = (calls.get(key) ?? 0) + 1;
        calls.set(key, n);
        if (key === 'default/flaky' && n <= 3) throw new Error(`failure ${n}`);
        if (key === 'default/periodic' && n < 3) return { requeueAfterMs: 20 };
      },
    });
    await waitFor('flaky succeeds on the 4th try', () => calls.get('default/flaky') === 4);
    assert.equal(controller.queue!.numRequeues('default/flaky'), 0, 'forgotten after the success');
    await waitFor('periodic called three times without any change', () => calls.get('default/periodic') === 3);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(calls.get('default/periodic'), 3, 'no requeue asked the third time');
    assert.equal(calls.get('default/flaky'), 4);
  });

  it('maps dependents to their owner key', async () => {
    const owner = await create('owner');
    const calls: string[] = [];
    run({
      watches: [{ informer: secrets, keys: (s: Secret) => controllerKey(resources.secrets)(s) ?? (s.metadata.labels?.role === 'owner' ? `default/${s.metadata.name}` : undefined) }],
      reconcile: async (key) => {
        calls.push(key);
      },
    });
    await create('dependent', { ownerReferences: [ownerRef(owner)] });
    await waitFor('the owner for its dependent', () => calls.includes('default/owner'));
    assert.ok(!calls.includes('default/dependent'));
  });

  it('abort stops it: reconciles in flight see the signal, run resolves after them; it can run again', async () => {
    await create('a');
    let seenAbort = false;
    const controller = new Controller({
      name: 'again',
      watches: [{ informer: secrets }],
      reconcile: async (_key, signal) => {
        await new Promise((r) => signal.addEventListener('abort', r, { once: true }));
        seenAbort = true;
      },
    });
    const abort = new AbortController();
    const done = controller.run(abort.signal);
    await waitFor('running', () => controller.queue?.stats().processing === 1);
    abort.abort();
    await done;
    assert.ok(seenAbort);
    assert.equal(controller.queue, undefined);
    const calls: string[] = [];
    const second = new Controller({ name: 'again2', watches: [{ informer: secrets }], reconcile: async (k) => void calls.push(k) });
    const abort2 = new AbortController();
    const done2 = second.run(abort2.signal);
    await waitFor('second run reconciles', () => calls.length === 1);
    abort2.abort();
    await done2;
  });

  it('exports reconcile metrics', async () => {
    await create('ok');
    await create('bad');
    const registry = new Registry();
    let bad = 0;
    run({
      name: 'metrics',
      registry,
      rateLimiter: () => new DefaultRateLimiter({ baseDelayMs: 1000 }),
      reconcile: async (key) => {
        if (key === 'default/bad') {
          bad++;
          throw new Error('no');
        }
      },
    });
    await waitFor('one failure', () => bad === 1);
    await new Promise((r) => setTimeout(r, 20));
    const text = await registry.metrics();
    assert.match(text, /gbcast_operator_reconciles_total\{controller="metrics",result="success"\} 1/);
    assert.match(text, /gbcast_operator_reconciles_total\{controller="metrics",result="error"\} 1/);
    assert.match(text, /gbcast_operator_reconcile_errors_total\{controller="metrics"\} 1/);
    assert.match(text, /gbcast_operator_reconcile_duration_seconds_count\{controller="metrics"\} 2/);
    assert.match(text, /gbcast_operator_queue_depth\{controller="metrics"\} 0/);
    assert.match(text, /gbcast_operator_workqueue_retries_total\{name="metrics"\} 1/);
  });
});
