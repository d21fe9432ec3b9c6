import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SsrcAllocator, parseSsrcText, ssrcKind, ssrcText } from './ssrc.ts';

test('live and playback SSRCs: kind digit, domain digits 4–8, sequence', () => {
  const a = new SsrcAllocator({ domain: '3402000000' });
  assert.equal(a.prefix, '20000');
  assert.equal(a.allocate('live'), '0200000001');
  assert.equal(a.allocate('live'), '0200000002');
  assert.equal(a.allocate('playback'), '1200000001', 'each kind has its own sequence');
  const b = new SsrcAllocator({ domain: '44010200492000000001', startSequence: 9998 });
  assert.equal(b.prefix, '10200');
  assert.equal(b.allocate('live'), '0102009998');
  assert.equal(b.allocate('live'), '0102009999');
  assert.equal(b.allocate('live'), '0102000001', 'wraps past 9999 to 0001, never 0000');
  for (const s of ['0102009998', '1102000001']) {
    assert.equal(parseSsrcText(s), Number(s));
  }
});

test('taken SSRCs are skipped, by predicate or set', () => {
  const used = new Set(['0200000001', '0200000002', '0200000004']);
  const a = new SsrcAllocator({ domain: '3402000000', isTaken: used });
  assert.equal(a.allocate('live'), '0200000003');
  assert.equal(a.allocate('live'), '0200000005');
  const sessions = new Map<string, string>([['1200000001', 'call-1']]);
  const b = new SsrcAllocator({ domain: '3402000000', isTaken: (s) => sessions.has(s) });
  const first = b.allocate('playback');
  assert.equal(first, '1200000002');
  sessions.set(first, 'call-2');
  sessions.delete('1200000001');
  assert.equal(b.allocate('playback'), '1200000003', 'round robin: a released SSRC is not reused at once');
});

test('exhaustion: undefined when all 9,999 of a kind are taken, then recovery', () => {
  const used = new Set<string>();
  const a = new SsrcAllocator({ domain: '3402000000', isTaken: used, startSequence: 5000 });
  for (let i = 0; i < 9999; i++) {
    const s = a.allocate('live');
    assert.ok(s !== undefined && !used.has(s), `allocation ${i}`);
    used.add(s);
  }
  assert.equal(used.size, 9999);
  assert.equal(a.allocate('live'), undefined);
  assert.equal(a.allocate('playback'), '1200005000', 'the other kind is unaffected');
  used.delete('0200001234');
  assert.equal(a.allocate('live'), '0200001234');
  assert.equal(a.allocate('live'), '0200001234', 'still free: the allocator marks nothing itself');
  used.add('0200001234');
  assert.equal(a.allocate('live'), undefined);
});

test('candidates(): each free SSRC at most once per call, cursor advanced past what was taken', () => {
  const a = new SsrcAllocator({ domain: '3402000000', isTaken: new Set(['0200000002']) });
  const it = a.candidates('live');
  assert.equal(it.next().value, '0200000001');
  assert.equal(it.next().value, '0200000003');
  it.return();
  assert.equal(a.allocate('live'), '0200000004');
  const all = [...a.candidates('live')];
  assert.equal(all.length, 9998);
  assert.equal(new Set(all).size, 9998);
  assert.equal(all[0], '0200000005');
});

test('bad configuration is refused', () => {
  assert.throws(() => new SsrcAllocator({ domain: '340200000' }), RangeError);
  assert.throws(() => new SsrcAllocator({ domain: '340200000a' }), RangeError);
  assert.throws(() => new SsrcAllocator({ domain: '3402000000', startSequence: 0 }), RangeError);
  assert.throws(() => new SsrcAllocator({ domain: '3402000000', startSequence: 10_000 }), RangeError);
});

test('parseSsrcText and ssrcText', () => {
  assert.equal(parseSsrcText('0000630886'), 630886);
  assert.equal(parseSsrcText('630886'), 630886);
  assert.equal(parseSsrcText('0'), 0);
  assert.equal(parseSsrcText('4294967295'), 0xffffffff);
  assert.equal(parseSsrcText('4294967296'), undefined);
  assert.equal(parseSsrcText('9999999999'), undefined);
  assert.equal(parseSsrcText('00000000001'), undefined, 'more than 10 digits');
  for (const bad of ['', ' 123', '123 ', '12a', '-1', '+1', '1e3', '0x10', '１２３']) assert.equal(parseSsrcText(bad), undefined, bad);
  assert.equal(ssrcText(630886), '0000630886');
  assert.equal(ssrcText(0), '0000000000');
  assert.equal(ssrcText(0xffffffff), '4294967295');
  for (const bad of [-1, 1.5, 2 ** 32, Number.NaN]) assert.throws(() => ssrcText(bad), RangeError);
  assert.equal(ssrcKind('0200000001'), 'live');
  assert.equal(ssrcKind('1200000001'), 'playback');
  assert.equal(ssrcKind('2200000001'), undefined);
  assert.equal(ssrcKind('630886'), undefined);
});
