import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SendQueue, wireCost } from './send-queue.ts';
import type { RtmpMediaTag } from './types.ts';

type Kind = 'meta' | 'vh' | 'ah' | 'K' | 'P' | 'a';
let serial = 0;
/** A tag costing `cost` bytes on the wire (one chunk), remembered by its kind for the assertions. */
const names = new WeakMap<RtmpMediaTag, string>();
function tag(kind: Kind, cost = 100): RtmpMediaTag {
  const type = kind === 'meta' ? 18 : kind === 'a' || kind === 'ah' ? 8 : 9;
  const t: RtmpMediaTag = {
    type,
    timestamp: serial++,
    keyframe: kind === 'K',
    isHeader: kind === 'meta' || kind === 'vh' || kind === 'ah',
    data: Buffer.alloc(cost - 3 - (type === 18 ? 16 : 0)),
  };
  assert.equal(wireCost(t, 65536), cost);
  names.set(t, kind);
  return t;
}
function drain(q: SendQueue): string[] {
  const out: string[] = [];
  for (let t = q.shift(); t; t = q.shift()) out.push(names.get(t)!);
  return out;
}

test('a publish starts with the headers, then waits for a video keyframe', () => {
  const q = new SendQueue(10_000, 65536);
  q.restart([tag('meta'), tag('vh'), tag('ah')]);
  const offered = ['a', 'P', 'a', 'K', 'a', 'P'] as const;
  const results = offered.map((k) => q.offer(tag(k), 0));
  assert.deepEqual(results, ['dropped', 'dropped', 'dropped', 'queued', 'queued', 'queued']);
  assert.deepEqual(drain(q), ['meta', 'vh', 'ah', 'K', 'a', 'P']);
  assert.equal(q.drops, 3);
  assert.equal(q.bytes, 0);
});

test('an audio-only stream is not held back; video appearing later starts at a keyframe', () => {
  const q = new SendQueue(10_000, 65536);
  q.restart([tag('meta'), tag('ah')]);
  for (const k of ['a', 'a', 'P', 'a', 'K', 'P'] as const) q.offer(tag(k), 0);
  assert.deepEqual(drain(q), ['meta', 'ah', 'a', 'a', 'K', 'P']);
  assert.equal(q.drops, 2, 'the P-frame before the keyframe and the audio between them once video is known');
});

test('overflow drops queued media, keeps headers, and resumes at the next keyframe', () => {
  // table: [offered sequence, bytes in flight, expected queue content, expected drops]
  const cases: Array<[string, Kind[], number, string[], number]> = [
    ['fits', ['K', 'P', 'P'], 0, ['K', 'P', 'P'], 0],
    ['queue full: media dropped, the next P waits for a keyframe', ['K', 'P', 'P', 'P', 'P', 'P', 'P'], 0, [], 7],
    ['the keyframe that overflows is taken after the drop', ['K', 'P', 'P', 'P', 'P', 'K', 'P'], 0, ['K', 'P'], 5],
    ['socket bytes count against the limit', ['K', 'P', 'P'], 300, [], 3],
    ['a keyframe that cannot fit beside the socket bytes is dropped too', ['K', 'P', 'K'], 450, [], 3],
    ['headers survive an overflow', ['K', 'vh', 'P', 'P', 'P', 'P', 'a', 'K'], 0, ['vh', 'K'], 6],
  ];
  for (const [what, seq, inFlight, expected, drops] of cases) {
    const q = new SendQueue(500, 65536);
    q.restart([]);
    for (const k of seq) q.offer(tag(k), inFlight);
    assert.deepEqual(drain(q), expected, what);
    assert.equal(q.drops, drops, `${what}: drops`);
  }
});

test('never holds more than maxBytes, whatever the input', () => {
  const q = new SendQueue(5000, 65536);
  q.restart([tag('meta'), tag('vh')]);
  let seed = 1;
  for (let i = 0; i < 20_000; i++) {
    seed = (seed * 48271) % 0x7fffffff;
    const r = seed % 100;
    const kind: Kind = r < 3 ? 'K' : r < 60 ? 'P' : r < 99 ? 'a' : 'vh';
    q.offer(tag(kind, 50 + (seed % 900)), seed % 2000);
    assert.ok(q.bytes <= 5000);
    if (r % 7 === 0) q.shift();
  }
  assert.ok(q.drops > 0);
});

test('the wire cost bounds what the chunk writer puts on the wire', () => {
  // body 1000 (+16 for @setDataFrame) in chunks of 128: 8 chunks, first header 18, 7 more of 7
  const meta: RtmpMediaTag = { type: 18, timestamp: 0, keyframe: false, isHeader: true, data: Buffer.alloc(1015) };
  assert.equal(wireCost(meta, 128), 1016 + 18 + 7 * 7);
  const video: RtmpMediaTag = { type: 9, timestamp: 0, keyframe: true, isHeader: false, data: Buffer.alloc(15 + 256) };
  assert.equal(wireCost(video, 128), 256 + 18 + 7);
});

test('a header too large for the queue is dropped, not queued', () => {
  const q = new SendQueue(500, 65536);
  q.restart([]);
  assert.equal(q.offer(tag('vh', 600), 0), 'dropped');
  assert.equal(q.length, 0);
});

test('clear and restart count the media they discard', () => {
  const q = new SendQueue(10_000, 65536);
  q.restart([tag('vh')]);
  q.offer(tag('K'), 0);
  q.offer(tag('P'), 0);
  assert.equal(q.clear(), 2);
  assert.equal(q.drops, 2);
  assert.equal(q.length, 0);
  assert.equal(q.bytes, 0);
});

test('a publish with a backlog (the current GOP) goes on from it without waiting for a keyframe', () => {
  const q = new SendQueue(10_000, 65536);
  q.restart([tag('meta'), tag('vh')], [tag('K'), tag('a'), tag('P')]);
  assert.equal(q.offer(tag('P'), 0), 'queued');
  assert.deepEqual(drain(q), ['meta', 'vh', 'K', 'a', 'P', 'P']);
  assert.equal(q.drops, 0);
});

test('a backlog larger than the bound is cut, and media resumes at the next keyframe', () => {
  const q = new SendQueue(450, 65536);
  q.restart([tag('vh')], [tag('K'), tag('P'), tag('P'), tag('P'), tag('P')]);
  assert.equal(q.offer(tag('P'), 0), 'dropped');
  assert.equal(q.offer(tag('K'), 0), 'queued');
  assert.deepEqual(drain(q), ['vh', 'K']);
  assert.ok(q.drops >= 4);
});
