import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TS_WRAP, TimestampUnwrapper, TrackTimeline } from './timestamps.ts';

test('unwrap: a wrap adds 2^33, small backward steps stay backward', () => {
  const u = new TimestampUnwrapper();
  const start = TS_WRAP - 7200;
  assert.equal(u.unwrap(start), start);
  assert.equal(u.unwrap(start + 3600), start + 3600);
  assert.equal(u.unwrap(0), TS_WRAP, 'wrapped');
  assert.equal(u.unwrap(TS_WRAP - 3600), TS_WRAP - 3600, 'a B-frame PTS before the wrap point');
  assert.equal(u.unwrap(3600), TS_WRAP + 3600);
  assert.equal(u.unwrap(100), TS_WRAP + 100, 'small backward step');
  // Many wraps in a row keep counting up.
  let raw = 3600;
  let expect = TS_WRAP + 3600;
  for (let i = 0; i < 10; i++) {
    raw = (raw + 2 ** 31) % TS_WRAP;
    expect += 2 ** 31;
    assert.equal(u.unwrap(raw), expect);
  }
});

test('timeline: passes time stamps through and measures the frame duration', () => {
  const t = new TrackTimeline({ maxForwardJump: 900000, maxBackwardJump: 90000, defaultDuration: 3600 });
  t.map(1000, 1000, true);
  assert.deepEqual([t.pts, t.dts], [1000, 1000]);
  t.map(4000, 4000, true);
  assert.equal(t.duration, 3000);
  t.map(15000, 7000, true);
  assert.deepEqual([t.pts, t.dts], [15000, 7000]);
  assert.equal(t.next, 10000);
  t.map(5000, 5000, true);
  assert.equal(t.dts, 5000, 'a small backward step is kept');
  assert.equal(t.jumps, 0);
});

test('timeline: a jump is smoothed over and the shift kept for later frames', () => {
  const t = new TrackTimeline({ maxForwardJump: 900000, maxBackwardJump: 90000, defaultDuration: 3600 });
  t.map(0, 0, true);
  t.map(3600, 3600, true);
  t.map(3600 + 10 ** 9, 3600 + 10 ** 9, true);
  assert.equal(t.dts, 7200);
  t.map(7200 + 10 ** 9, 3600 + 3600 + 10 ** 9, true);
  assert.deepEqual([t.pts, t.dts], [10800, 10800]);
  // Back to the old clock: another jump, smoothed again.
  t.map(10800, 10800, true);
  assert.equal(t.dts, 14400);
  assert.equal(t.jumps, 2);
});

test('timeline: synthesized times follow the previous frame', () => {
  const t = new TrackTimeline({ maxForwardJump: 900000, maxBackwardJump: 90000, defaultDuration: 3600 });
  t.synthesize();
  assert.equal(t.dts, 0);
  t.synthesize();
  assert.equal(t.dts, 3600);
  t.setLast(10000, 900);
  t.synthesize();
  assert.equal(t.pts, 10900);
});
