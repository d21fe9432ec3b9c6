import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameScheduler } from './scheduler.ts';
import type { ScheduledTask } from './scheduler.ts';

function waitIdle(s: FrameScheduler): Promise<void> {
  return new Promise((resolve) => {
    const check = (): void => (s.size === 0 ? resolve() : void setTimeout(check, 5));
    check();
  });
}

test('tasks run in due order, one timer for all, cancelled ones never', async () => {
  const s = new FrameScheduler(0);
  const log: string[] = [];
  const task = (name: string): ScheduledTask => ({ tick: () => log.push(name) });
  const now = performance.now();
  const [a, b, c, d] = ['a', 'b', 'c', 'd'].map(task);
  s.schedule(c, now + 30);
  s.schedule(a, now + 10);
  s.schedule(d, now + 40);
  s.schedule(b, now + 20);
  s.cancel(d);
  assert.equal(s.size, 3);
  await waitIdle(s);
  assert.deepEqual(log, ['a', 'b', 'c']);
});

test('scheduling a task again moves it; a task reschedules itself from tick()', async () => {
  const s = new FrameScheduler(1);
  const now = performance.now();
  const log: number[] = [];
  let n = 0;
  const self: ScheduledTask = {
    tick(t) {
      log.push(n);
      if (++n < 5) s.schedule(self, t + 3);
    },
  };
  const other: ScheduledTask = { tick: () => log.push(-1) };
  s.schedule(other, now + 1000);
  s.schedule(other, now + 2); // moved earlier
  s.schedule(self, now + 5);
  await waitIdle(s);
  assert.deepEqual(log, [-1, 0, 1, 2, 3, 4]);
});

test('requests due within the coalescing window run in one firing', async () => {
  const s = new FrameScheduler(50);
  const now = performance.now();
  let ran = 0;
  for (let i = 0; i < 100; i++) s.schedule({ tick: () => ran++ }, now + 5 + (i % 10));
  await waitIdle(s);
  assert.equal(ran, 100);
  assert.equal(s.firings, 1);
});

test('a throwing task does not stop the others', async () => {
  const errors: unknown[] = [];
  const s = new FrameScheduler(0, (e) => errors.push(e));
  const now = performance.now();
  let ran = false;
  s.schedule({ tick: () => { throw new Error('boom'); } }, now + 1);
  s.schedule({ tick: () => (ran = true) }, now + 2);
  await waitIdle(s);
  assert.equal(ran, true);
  assert.deepEqual(errors.map((e) => (e as Error).message), ['boom']);
});
