import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReorderBuffer, SequenceGapDetector } from './reorder-buffer.ts';
import type { ReorderOptions } from './reorder-buffer.ts';
import { mulberry32 } from '../../common/testing/prng.ts';

type Event = number | `loss ${number}` | 'reset';

function harness(opts: ReorderOptions = {}) {
  const clock = { t: 0 };
  const events: Event[] = [];
  const rb = new ReorderBuffer<number>(
    {
      deliver: (item, seq) => {
        assert.equal(item, seq, 'the item delivered is the one pushed with that sequence');
        events.push(seq);
      },
      loss: (n) => events.push(`loss ${n}`),
      reset: () => events.push('reset'),
    },
    { now: () => clock.t, ...opts },
  );
  const push = (...seqs: number[]) => seqs.forEach((s) => rb.push(s, s & 0xffff));
  return { rb, events, clock, push };
}

test('packets in order pass straight through, across the 16-bit wrap', () => {
  const { rb, events, push } = harness();
  push(65533, 65534, 65535, 0, 1, 2);
  assert.deepEqual(events, [65533, 65534, 65535, 0, 1, 2]);
  assert.equal(rb.heldCount, 0);
  assert.deepEqual(rb.stats, { delivered: 6, reordered: 0, lost: 0, duplicates: 0, late: 0, resets: 0 });
});

test('a swapped pair is delivered in order', () => {
  const { rb, events, push } = harness();
  push(1, 3, 2, 4);
  assert.deepEqual(events, [1, 2, 3, 4]);
  assert.equal(rb.stats.reordered, 1);
  push(65535 & 5, 7, 6, 9, 8);
  assert.deepEqual(events.slice(4), [5, 6, 7, 8, 9]);
});

test('reordering across the wrap', () => {
  const { events, push } = harness();
  push(65534, 0, 65535, 2, 1);
  assert.deepEqual(events, [65534, 65535, 0, 1, 2]);
});

test('a window overflow declares the gap lost and resumes delivery', () => {
  const { rb, events, push } = harness({ window: 4 });
  push(1, 3, 4, 5, 6);
  assert.deepEqual(events, [1]);
  push(7);
  assert.deepEqual(events, [1, 'loss 1', 3, 4, 5, 6, 7]);
  assert.equal(rb.stats.lost, 1);
  assert.equal(rb.heldCount, 0);
});

test('the hold time limit declares the gap lost, from poll() or the next push', () => {
  const { rb, events, clock, push } = harness({ maxHoldMs: 100 });
  push(1, 3);
  clock.t = 99;
  rb.poll();
  assert.deepEqual(events, [1]);
  assert.equal(rb.msUntilTimeout(), 1);
  clock.t = 100;
  rb.poll();
  assert.deepEqual(events, [1, 'loss 1', 3]);
  push(5);
  clock.t = 250;
  push(7);
  assert.deepEqual(events, [1, 'loss 1', 3, 'loss 1', 5]);
  assert.equal(rb.heldCount, 1);
  clock.t = 350;
  rb.poll();
  assert.deepEqual(events, [1, 'loss 1', 3, 'loss 1', 5, 'loss 1', 7]);
  assert.equal(rb.msUntilTimeout(), -1);
});

test('duplicates and late packets are dropped and counted', () => {
  const { rb, events, clock, push } = harness();
  push(1, 2, 2, 4, 4);
  assert.equal(rb.stats.duplicates, 2);
  clock.t = 1000;
  rb.poll();
  push(3);
  assert.deepEqual(events, [1, 2, 'loss 1', 4]);
  assert.equal(rb.stats.late, 1);
  push(1);
  assert.equal(rb.stats.duplicates, 3);
});

test('a large jump confirmed by a second packet resets instead of declaring thousands lost', () => {
  const { rb, events, push } = harness();
  push(100, 101, 103);
  push(40000);
  assert.deepEqual(events, [100, 101]);
  push(40001, 40002);
  assert.deepEqual(events, [100, 101, 'loss 1', 103, 'reset', 40000, 40001, 40002]);
  assert.equal(rb.stats.resets, 1);
  assert.equal(rb.stats.lost, 1);
  // A restart to a lower number works the same way.
  push(7, 8, 9);
  assert.deepEqual(events.slice(-4), ['reset', 7, 8, 9]);
});

test('a single stray packet far away does not reset the stream', () => {
  const { rb, events, push } = harness();
  push(100, 101, 30000, 102, 103);
  assert.deepEqual(events, [100, 101, 102, 103]);
  assert.equal(rb.stats.resets, 0);
  assert.equal(rb.stats.late, 1);
});

test('flush() delivers what is held and declares the gaps', () => {
  const { rb, events, push } = harness();
  push(10, 12, 15);
  rb.flush();
  assert.deepEqual(events, [10, 'loss 1', 12, 'loss 2', 15]);
  push(16);
  assert.deepEqual(events.at(-1), 16);
});

test('random reordering, loss and duplication: delivery stays in order and every gap is reported', () => {
  const seed = 0x5eed;
  const rnd = mulberry32(seed);
  const { rb, events, clock } = harness({ window: 64, maxHoldMs: 50 });
  const n = 20000;
  const start = 60000;
  const sent: number[] = [];
  let dropped = 0;
  for (let i = 0; i < n; i++) {
    if (i > 0 && i < n - 1 && rnd() < 0.03) dropped++;
    else sent.push((start + i) & 0xffff);
  }
  // Displace packets locally (at most 8 places) and duplicate a few.
  const order = sent.map((s, i) => ({ s, k: i + rnd() * 8 }));
  order.sort((a, b) => a.k - b.k);
  for (const { s } of order) {
    clock.t += 1;
    rb.push(s, s);
    if (rnd() < 0.01) rb.push(s, s);
  }
  rb.flush();
  const delivered = events.filter((e): e is number => typeof e === 'number');
  assert.deepEqual(delivered, sent, `seed ${seed}`);
  const lost = events.filter((e) => typeof e === 'string').reduce((a, e) => a + Number(String(e).slice(5)), 0);
  assert.equal(lost, dropped);
  assert.equal(rb.stats.lost, dropped);
  assert.ok(rb.stats.reordered > 0);
  assert.ok(rb.stats.duplicates > 0);
});

test('SequenceGapDetector reports gaps, drops duplicates and resets on restarts', () => {
  const g = new SequenceGapDetector();
  assert.deepEqual(
    [65534, 65535, 0, 3, 3, 1, 4, 20000, 20001].map((s) => g.check(s)),
    [0, 0, 0, 2, -1, -1, 0, 0, 0],
  );
  assert.deepEqual(g.stats, { delivered: 7, reordered: 0, lost: 2, duplicates: 1, late: 1, resets: 1 });
});

test('acceptInOrder takes only the next packet with nothing held, without calling the sink; otherwise changes nothing', () => {
  const { rb, events, push } = harness();
  assert.equal(rb.acceptInOrder(100), true, 'the first packet starts the sequence');
  assert.equal(rb.acceptInOrder(101), true);
  assert.deepEqual(events, [], 'the caller handles accepted packets itself');
  assert.equal(rb.nextSequence, 102);
  assert.equal(rb.acceptInOrder(103), false, 'early: must be pushed');
  assert.equal(rb.acceptInOrder(100), false, 'late: must be pushed');
  assert.equal(rb.nextSequence, 102, 'a refusal changes nothing');
  push(103);
  assert.equal(rb.acceptInOrder(102), false, 'with a packet held, order is restored by push');
  push(102);
  assert.deepEqual(events, [102, 103]);
  assert.equal(rb.acceptInOrder(104), true);
  assert.deepEqual(rb.stats, { delivered: 5, reordered: 1, lost: 0, duplicates: 0, late: 0, resets: 0 });
});
