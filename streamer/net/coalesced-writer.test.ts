import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CoalescedWriter, FlushScheduler } from './coalesced-writer.ts';

class Target {
  writes: Buffer[] = [];
  corked = 0;
  batches: number[] = [];
  write(b: Buffer): boolean {
    this.writes.push(b);
    return true;
  }
  cork(): void {
    this.corked++;
  }
  uncork(): void {
    this.batches.push(this.writes.length);
  }
}

test('gathers small pieces into one write at the end of the turn, in order', async () => {
  const t = new Target();
  const w = new CoalescedWriter(t, new FlushScheduler(0));
  w.push(Buffer.from('ab'));
  w.push(Buffer.from(''));
  w.push(Buffer.from('cd'));
  assert.equal(w.pendingBytes, 4);
  assert.equal(t.writes.length, 0);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(t.writes.map(String), ['abcd']);
  assert.equal(w.pendingBytes, 0);
});

test('one scheduler timer flushes every writer after the delay; flush() and discard() act at once', async () => {
  const scheduler = new FlushScheduler(20);
  const [a, b] = [new Target(), new Target()];
  const wa = new CoalescedWriter(a, scheduler);
  const wb = new CoalescedWriter(b, scheduler);
  wa.push(Buffer.from('1'));
  wb.push(Buffer.from('2'));
  wb.flush();
  assert.deepEqual(b.writes.map(String), ['2']);
  wb.push(Buffer.from('3'));
  wb.discard();
  await new Promise((r) => setTimeout(r, 60));
  assert.deepEqual(a.writes.map(String), ['1']);
  assert.deepEqual(b.writes.map(String), ['2']);
});

test('large flushes go out as the pieces themselves in one corked batch, not a copy', () => {
  const t = new Target();
  const w = new CoalescedWriter(t, new FlushScheduler(1000));
  const big = Buffer.alloc(100 * 1024, 1);
  const header = Buffer.from([9, 9]);
  w.push(header);
  w.push(big);
  w.flush();
  assert.equal(t.corked, 1);
  assert.equal(t.writes[0], header);
  assert.equal(t.writes[1], big);
  assert.deepEqual(t.batches, [2]);
});
