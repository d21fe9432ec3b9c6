import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { FlvBroadcaster } from './flv-broadcaster.ts';
import type { FlvBroadcasterOptions } from './flv-broadcaster.ts';
import { makeTag } from '../flv/flv-tag.ts';
import type { FlvTag } from '../flv/flv-tag.ts';

class FakeSink extends EventEmitter {
  readonly chunks: Buffer[] = [];
  writableLength = 0;
  ended = false;
  destroyed = false;
  write(chunk: Buffer): boolean {
    this.chunks.push(chunk);
    return true;
  }
  end(): void {
    this.ended = true;
  }
  destroy(): void {
    this.destroyed = true;
    this.emit('close');
  }
}

let clock = 0;
const meta = makeTag(18, 0, Buffer.from('meta'), false, true);
const vseq = makeTag(9, 0, Buffer.from([0x17, 0, 0, 0, 0]), true, true);
const aseq = makeTag(8, 0, Buffer.from([0xaf, 0, 0x12, 0x10]), false, true);
const key = (ts: number, size = 100) => makeTag(9, ts, Buffer.alloc(size, 0x17), true, false);
const inter = (ts: number, size = 50) => makeTag(9, ts, Buffer.alloc(size, 0x27), false, false);
const audio = (ts: number) => makeTag(8, ts, Buffer.alloc(20, 0xaf), false, false);

function setup(opts: FlvBroadcasterOptions = {}): FlvBroadcaster {
  clock = 0;
  const b = new FlvBroadcaster({ maxPendingBytes: 1000, now: () => clock, ...opts });
  for (const h of [meta, vseq, aseq]) b.publish(h);
  return b;
}

/** Which published tags a sink received, by identity (the file header is reported as 'FLV'). */
function received(sink: FakeSink, known: FlvTag[]): (string | number)[] {
  return sink.chunks.map((c) => {
    if (c.toString('latin1', 0, 3) === 'FLV') return 'FLV';
    const i = known.findIndex((t) => t.data === c);
    assert.ok(i >= 0, 'a chunk that is not one of the published buffers (a copy?)');
    return i;
  });
}

test('a viewer joining mid-GOP gets file header, headers, the GOP from its keyframe, then live tags; same buffers for all', () => {
  const b = setup();
  const tags = [key(0), audio(0), inter(40), key(80), audio(80), inter(120)];
  const early = new FakeSink();
  b.addViewer(early);
  assert.equal(early.chunks.length, 0); // nothing cached yet: waits for a keyframe
  for (const t of tags.slice(0, 5)) b.publish(t);
  const late = new FakeSink();
  b.addViewer(late);
  b.publish(tags[5]);
  const all = [meta, vseq, aseq, ...tags];
  assert.deepEqual(received(early, all), ['FLV', 0, 1, 2, 3, 4, 5, 6, 7, 8]);
  assert.deepEqual(received(late, all), ['FLV', 0, 1, 2, 6, 7, 8]);
  assert.equal(late.chunks[0][4], 5); // audio + video flags
  assert.equal(b.viewerCount, 2);
  assert.equal(b.gopBytes, tags[3].data.length + tags[4].data.length + tags[5].data.length);
});

test('a slow viewer is skipped to the next keyframe (audio of the skipped GOP too) and resumes there', () => {
  const b = setup();
  const tags = [key(0), inter(40), audio(40), inter(80), key(120), audio(120), inter(160)];
  const slow = new FakeSink();
  const fast = new FakeSink();
  b.addViewer(slow);
  b.addViewer(fast);
  b.publish(tags[0]);
  slow.writableLength = 5000;
  b.publish(tags[1]);
  b.publish(tags[2]);
  slow.writableLength = 0; // drained
  b.publish(tags[3]); // still inside the skipped GOP: not written
  b.publish(tags[4]);
  b.publish(tags[5]);
  b.publish(tags[6]);
  const all = [meta, vseq, aseq, ...tags];
  assert.deepEqual(received(slow, all), ['FLV', 0, 1, 2, 3, 7, 8, 9]);
  assert.deepEqual(received(fast, all), ['FLV', 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.equal(b.stats.skips, 1);
  assert.equal(b.stats.drops, 0);
});

test('headers that changed while a viewer was skipped are sent again before its keyframe', () => {
  const b = setup();
  const slow = new FakeSink();
  b.addViewer(slow);
  const k0 = key(0);
  const i1 = inter(40);
  b.publish(k0);
  slow.writableLength = 5000;
  b.publish(i1);
  const vseq2 = makeTag(9, 80, Buffer.from([0x17, 0, 0, 0, 1]), true, true);
  b.publish(vseq2);
  slow.writableLength = 0;
  const k1 = key(80);
  b.publish(k1);
  // first GOP with the old headers; then, at the new keyframe, the current headers again
  assert.deepEqual(received(slow, [meta, vseq, aseq, vseq2, k0, i1, k1]), ['FLV', 0, 1, 2, 4, 0, 3, 2, 6]);
});

test('a viewer still behind at 3 keyframes in a row is dropped; memory stays bounded', () => {
  const b = setup({ maxSkipsInRow: 3 });
  const stuck = new FakeSink();
  b.addViewer(stuck);
  b.publish(key(0));
  stuck.writableLength = 5000;
  const written = stuck.chunks.length;
  for (let g = 1; g <= 5; g++) {
    b.publish(inter(g * 100));
    b.publish(key(g * 100 + 40));
  }
  assert.equal(stuck.chunks.length, written); // nothing more was written once behind
  assert.equal(b.stats.skips, 3);
  assert.equal(b.stats.drops, 1);
  assert.equal(stuck.destroyed, true);
  assert.equal(b.viewerCount, 0);
});

test('a viewer behind for longer than maxBehindMs is dropped even between keyframes', () => {
  const b = setup({ maxBehindMs: 10_000 });
  const stuck = new FakeSink();
  b.addViewer(stuck);
  b.publish(key(0));
  stuck.writableLength = 5000;
  b.publish(inter(40));
  clock = 5000;
  b.publish(inter(80));
  assert.equal(b.stats.drops, 0);
  clock = 10_001;
  b.publish(inter(120));
  assert.equal(b.stats.drops, 1);
  assert.equal(b.stats.skips, 1);
});

test('the burst of a joining viewer does not count as falling behind until its next keyframe', () => {
  const b = setup();
  b.publish(key(0, 3000)); // a GOP bigger than maxPendingBytes
  const v = new FakeSink();
  b.addViewer(v);
  v.writableLength = 3000 + 13 + 50; // unflushed burst
  b.publish(inter(40));
  assert.equal(b.stats.skips, 0);
  b.publish(key(80));
  v.writableLength = 2000; // the allowance ends at its next keyframe
  b.publish(inter(120));
  assert.equal(b.stats.skips, 1);
});

test('GOP cache bounded: an oversized GOP is dropped and new viewers wait for the next keyframe', () => {
  const b = setup({ maxGopBytes: 1000, gopCache: 'always' });
  b.publish(key(0, 400));
  b.publish(inter(40, 400));
  b.publish(inter(80, 400));
  assert.equal(b.gopBytes, 0);
  assert.equal(b.stats.gopOverflows, 1);
  const v = new FakeSink();
  b.addViewer(v);
  b.publish(inter(120));
  assert.equal(v.chunks.length, 0);
  const k = key(160);
  b.publish(k);
  assert.deepEqual(received(v, [meta, vseq, aseq, k]), ['FLV', 0, 1, 2, 3]);
});

test('GOP cache on demand: none without viewers; from the next keyframe once watched; kept gopCacheIdleMs after the last viewer', () => {
  const b = setup({ gopCacheIdleMs: 60_000 });
  b.publish(key(0));
  b.publish(inter(40));
  assert.equal(b.gopTags().length, 0, 'an unwatched stream keeps no GOP');
  const first = new FakeSink();
  b.addViewer(first);
  assert.equal(first.chunks.length, 0, 'the first viewer waits for a keyframe');
  b.publish(inter(80));
  assert.equal(b.gopTags().length, 0);
  const k = key(120);
  b.publish(k);
  assert.equal(b.gopTags().length, 1);
  const i = inter(160);
  b.publish(i);
  const second = new FakeSink();
  b.addViewer(second);
  assert.deepEqual(received(second, [meta, vseq, aseq, k, i]), ['FLV', 0, 1, 2, 3, 4], 'the second viewer starts at once');
  clock = 30_000;
  first.destroy();
  second.destroy();
  b.publish(key(200));
  assert.equal(b.gopTags().length, 1, 'still cached within the idle time');
  clock = 61_000;
  b.publish(key(240));
  assert.equal(b.gopTags().length, 1, 'the idle time counts from the last viewer leaving (at 30 s)');
  clock = 91_000;
  b.publish(key(280));
  assert.equal(b.gopTags().length, 0, 'released after the idle time');
  assert.equal(b.gopBytes, 0);
});

test('GOP cache on demand: gopDemand keeps it without viewers; off never caches; always always does', () => {
  let demand = true;
  const d = setup({ gopDemand: () => demand });
  d.publish(key(0));
  d.publish(inter(40));
  assert.equal(d.gopTags().length, 2);
  demand = false;
  d.publish(key(80));
  assert.equal(d.gopTags().length, 0);

  const off = setup({ gopCache: 'off', gopDemand: () => true });
  const v = new FakeSink();
  off.addViewer(v);
  const k = key(0);
  off.publish(k);
  assert.equal(off.gopTags().length, 0);
  assert.deepEqual(received(v, [meta, vseq, aseq, k]), ['FLV', 0, 1, 2, 3], 'viewers still play, from a keyframe');

  const always = setup({ gopCache: 'always' });
  always.publish(key(0));
  always.publish(inter(40));
  assert.equal(always.gopTags().length, 2);
});

test('audio-only stream: every audio tag is a start point; file header says audio only', () => {
  clock = 0;
  const b = new FlvBroadcaster({ now: () => clock });
  const m = makeTag(18, 0, Buffer.from('m'), false, true);
  b.publish(m);
  const a0 = audio(0);
  b.publish(a0);
  const v = new FakeSink();
  b.addViewer(v);
  const a1 = audio(20);
  b.publish(a1);
  assert.deepEqual(received(v, [m, a0, a1]), ['FLV', 0, 2]);
  assert.equal(v.chunks[0][4], 4);
});

test('declared tracks: audio before the first keyframe does not start a viewer of an A/V stream', () => {
  const b = new FlvBroadcaster({ tracks: { video: true, audio: true } });
  const v = new FakeSink();
  b.addViewer(v);
  b.publish(audio(0));
  assert.equal(v.chunks.length, 0);
  const k = key(0);
  b.publish(k);
  assert.equal(v.chunks[0][4], 5);
  assert.equal(v.chunks.at(-1), k.data);
});

test('close ends healthy viewers, destroys backed-up ones, and refuses new viewers; closed viewers detach', () => {
  const b = setup();
  const a = new FakeSink();
  const c = new FakeSink();
  const gone = new FakeSink();
  b.addViewer(a);
  b.addViewer(c);
  b.addViewer(gone);
  b.publish(key(0));
  gone.emit('close');
  assert.equal(b.viewerCount, 2);
  c.writableLength = 1_000_000;
  b.close();
  assert.deepEqual([a.ended, a.destroyed, c.destroyed], [true, false, true]);
  const after = new FakeSink();
  b.addViewer(after);
  assert.equal(after.ended, true);
  assert.equal(b.viewerCount, 0);
  b.publish(key(40)); // ignored
});
