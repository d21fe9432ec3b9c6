import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { DefaultRateLimiter, ItemExponentialBackoff, TokenBucket, WorkQueue } from './work-queue.ts';

const tick = () => new Promise((r) => setImmediate(r));

describe('WorkQueue', () => {
  it('hands keys out in order, each once however often it was added', async () => {
    const q = new WorkQueue<string>();
    for (const k of ['a', 'b', 'a', 'c', 'b']) q.add(k);
    assert.equal(q.length, 3);
    assert.equal(await q.get(), 'a');
    assert.equal(await q.get(), 'b');
    assert.equal(await q.get(), 'c');
    assert.equal(q.length, 0);
    assert.equal(q.stats().processing, 3);
  });

  it('never hands out a key being processed; re-added meanwhile, it comes back after done', async () => {
    const q = new WorkQueue<string>();
    q.add('a');
    assert.equal(await q.get(), 'a');
    q.add('a');
    q.add('a');
    q.add('b');
    // 'a' is dirty, not queued: 'b' is next, then nothing.
    assert.equal(q.length, 1);
    assert.equal(await q.get(), 'b');
    let next: string | undefined;
    void q.get().then((k) => (next = k));
    await tick();
    assert.equal(next, undefined, 'a waiting getter gets nothing while a is processed');
    q.done('a');
    await tick();
    assert.equal(next, 'a');
    q.done('a');
    q.done('b');
    assert.equal(q.length, 0);
  });

  it('runs workers concurrently but one key at a time, and processes every add made during processing', async () => {
    const q = new WorkQueue<string>();
    const running = new Map<string, number>();
    let maxSameKey = 0;
    let maxOverall = 0;
    const processed: string[] = [];
    const keys = ['a', 'b', 'c'];
    const run = q.run(4, async (key) => {
      running.set(key, (running.get(key) ?? 0) + 1);
      maxSameKey = Math.max(maxSameKey, running.get(key)!);
      maxOverall = Math.max(maxOverall, [...running.values()].reduce((a, b) => a + b, 0));
      // Re-added while processing: must wait for this run to finish.
      if (processed.filter((k) => k === key).length < 3) q.add(key);
      await new Promise((r) => setTimeout(r, 5));
      processed.push(key);
      running.set(key, running.get(key)! - 1);
    });
    for (let i = 0; i < 5; i++) for (const k of keys) q.add(k);
    while (processed.length < 9 || q.length > 0 || q.stats().processing > 0) await new Promise((r) => setTimeout(r, 5));
    await q.shutDown();
    await run;
    assert.equal(maxSameKey, 1, 'a key is never processed twice at once');
    assert.ok(maxOverall > 1, 'different keys run in parallel');
    for (const k of keys) assert.ok(processed.filter((p) => p === k).length >= 3, `${k} re-added during processing ran again`);
  });

  it('addAfter delays a key and keeps the earliest pending time', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
    const q = new WorkQueue<string>();
    q.addAfter('a', 1000);
    q.addAfter('a', 5000);
    q.addAfter('b', 500);
    assert.equal(q.length, 0);
    assert.equal(q.stats().delayed, 2);
    t.mock.timers.tick(499);
    assert.equal(q.length, 0);
    t.mock.timers.tick(1);
    assert.equal(q.length, 1);
    t.mock.timers.tick(500);
    assert.equal(q.length, 2);
    assert.equal(q.stats().delayed, 0);
    t.mock.timers.tick(10_000);
    assert.equal(q.length, 2, 'the later addAfter of a was dropped in favour of the earlier');
    q.addAfter('c', 0);
    assert.equal(q.length, 3, 'addAfter(0) adds at once');
  });

  it('addRateLimited backs off exponentially per key until forget', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
    const q = new WorkQueue<string>({ rateLimiter: new DefaultRateLimiter({ baseDelayMs: 10, maxDelayMs: 1000, now: Date.now }) });
    const delays: number[] = [];
    for (let i = 0; i < 9; i++) {
      q.addRateLimited('a');
      let waited = 0;
      while (q.length === 0) {
        t.mock.timers.tick(1);
        waited++;
      }
      delays.push(waited);
      assert.equal(await q.get(), 'a');
      q.done('a');
    }
    assert.deepEqual(delays, [10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
    assert.equal(q.numRequeues('a'), 9);
    q.forget('a');
    assert.equal(q.numRequeues('a'), 0);
    q.addRateLimited('a');
    t.mock.timers.tick(9);
    assert.equal(q.length, 0);
    t.mock.timers.tick(1);
    assert.equal(q.length, 1, 'after forget the backoff starts again at the base');
    assert.equal(q.stats().retries, 10);
  });

  it('shutDown stops handing out keys, wakes waiting workers and waits for the running ones', async () => {
    const q = new WorkQueue<string>();
    q.add('a');
    q.add('b');
    const a = await q.get();
    let finished = false;
    const idle = q.shutDown().then(() => (finished = true));
    assert.equal(await q.get(), undefined, 'queued keys are dropped without drain');
    q.add('c');
    assert.equal(q.length, 0, 'adds after shutDown are ignored');
    await tick();
    assert.equal(finished, false, 'still processing a');
    q.done(a!);
    await idle;
    assert.equal(finished, true);
  });

  it('shutDown with drain hands out what is queued first', async () => {
    const q = new WorkQueue<string>();
    q.add('a');
    q.add('b');
    const seen: string[] = [];
    const run = q.run(1, async (key) => {
      seen.push(key);
    });
    await q.shutDown({ drain: true });
    await run;
    assert.deepEqual(seen, ['a', 'b']);
  });

  it('exports its metrics', async () => {
    const registry = new Registry();
    const q = new WorkQueue<string>({ name: 'pods', registry });
    q.add('a');
    q.add('b');
    q.addRateLimited('c');
    const key = await q.get();
    const text = await registry.metrics();
    assert.match(text, /gbcast_operator_workqueue_depth\{name="pods"\} 1/);
    assert.match(text, /gbcast_operator_workqueue_adds_total\{name="pods"\} 2/);
    assert.match(text, /gbcast_operator_workqueue_retries_total\{name="pods"\} 1/);
    assert.match(text, /gbcast_operator_workqueue_queue_duration_seconds_count\{name="pods"\} 1/);
    assert.match(text, /gbcast_operator_workqueue_longest_running_processor_seconds\{name="pods"\}/);
    q.done(key!);
    await q.shutDown();
  });
});

describe('rate limiters', () => {
  it('ItemExponentialBackoff doubles from base to max, per key', () => {
    const b = new ItemExponentialBackoff<string>(5, 300_000);
    const seq = Array.from({ length: 20 }, () => b.when('x'));
    assert.deepEqual(seq.slice(0, 4), [5, 10, 20, 40]);
    assert.equal(seq.at(-1), 300_000);
    assert.equal(b.when('y'), 5, 'keys back off independently');
    for (let i = 0; i < 2000; i++) b.when('z');
    assert.equal(b.when('z'), 300_000, 'no overflow after many failures');
  });

  it('TokenBucket allows a burst, then qps', () => {
    let now = 0;
    const bucket = new TokenBucket(10, 3, () => now);
    assert.deepEqual([bucket.reserve(), bucket.reserve(), bucket.reserve()], [0, 0, 0]);
    assert.equal(bucket.reserve(), 100, 'the 4th waits one token (100 ms at 10 qps)');
    assert.equal(bucket.reserve(), 200, 'reservations queue up');
    now = 1000;
    // 1 s later: -2 + 10 tokens, capped at 3.
    assert.deepEqual([bucket.reserve(), bucket.reserve(), bucket.reserve(), bucket.reserve()], [0, 0, 0, 100]);
  });

  it('DefaultRateLimiter takes the larger of backoff and bucket', () => {
    let now = 0;
    const r = new DefaultRateLimiter<string>({ baseDelayMs: 5, qps: 1, burst: 1, now: () => now });
    assert.equal(r.when('a'), 5);
    assert.equal(r.when('b'), 1000, 'bucket empty: a second key waits for the bucket');
    now = 10_000;
    assert.equal(r.when('a'), 10);
  });
});
