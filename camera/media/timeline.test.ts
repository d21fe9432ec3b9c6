import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { MediaFrame } from '../../common/codec/frame.ts';
import { fixturePath } from '../../test/support/fixtures.ts';
import { g711ToneSource, loadAacSource, parseAdts } from './audio-source.ts';
import { FrameTimeline } from './timeline.ts';
import type { TimelineOptions } from './timeline.ts';
import { loadVideoSource, parseAnnexB } from './video-source.ts';
import type { VideoSource } from './video-source.ts';

const avatar264 = parseAnnexB(readFileSync(fixturePath('avatar.h264')));
const avatar265 = parseAnnexB(readFileSync(fixturePath('avatar.h265')));
const aac = parseAdts(readFileSync(fixturePath('avatar.aac')));

function drain(t: FrameTimeline, limit = 1e6): MediaFrame[] {
  const out: MediaFrame[] = [];
  for (let f = t.next(); f && out.length < limit; f = t.next()) out.push(f);
  return out;
}

function video(frames: MediaFrame[]) {
  return frames.filter((f) => f.kind === 'video');
}

test('ADTS: avatar.aac splits into the 1,102 frames ffprobe counts, 44.1 kHz', () => {
  assert.equal(aac.codec, 'aac');
  assert.equal(aac.sampleRate, 44100);
  assert.equal(aac.frames.length, 1102);
  assert.equal(aac.startSample[aac.frames.length], 1102 * 1024);
  for (const f of aac.frames) {
    assert.equal(f[0], 0xff);
    assert.equal(f[1] & 0xf0, 0xf0);
    assert.equal(((f[3] & 3) << 11) | (f[4] << 3) | (f[5] >> 5), f.length);
  }
  // Garbage before and between frames is skipped.
  const two = Buffer.concat([Buffer.from([1, 2, 3]), aac.frames[0], Buffer.from([0xff, 0x00]), aac.frames[1]]);
  assert.equal(parseAdts(two).frames.length, 2);
  assert.throws(() => parseAdts(Buffer.alloc(100)));
});

test('video at 25 fps: DTS steps 3600, PTS = DTS without B-frames, keyframes flagged', () => {
  const frames = drain(new FrameTimeline(avatar264, undefined));
  assert.equal(frames.length, 308);
  frames.forEach((f, i) => {
    assert.equal(f.kind, 'video');
    if (f.kind !== 'video') return;
    assert.equal(f.dts, i * 3600);
    assert.equal(f.pts, f.dts);
    assert.equal(f.keyframe, avatar264.units[i].keyframe);
    assert.equal(f.data, avatar264.units[i].data);
  });
});

test('B-frames: PTS from the POC, ≥ DTS, and every frame presents exactly one frame apart', () => {
  const frames = video(drain(new FrameTimeline(avatar265, undefined, { startPts: 1000 })));
  assert.equal(frames.length, 308);
  const delay = avatar265.reorderDelay * 3600;
  assert.equal(frames[0].pts, 1000 + delay);
  const ptss = frames.map((f) => f.pts).sort((a, b) => a - b);
  ptss.forEach((p, i) => assert.equal(p, 1000 + delay + i * 3600));
  for (const f of frames) assert.ok(f.kind === 'video' && f.pts >= f.dts);
  assert.ok(frames.some((f) => f.kind === 'video' && f.pts !== f.dts));
  // ptsEqualsDts: camera style.
  const flat = video(drain(new FrameTimeline(avatar265, undefined, { ptsEqualsDts: true })));
  for (const f of flat) assert.ok(f.kind === 'video' && f.pts === f.dts);
});

test('looping: the file starts over and timestamps keep increasing', () => {
  const n = avatar265.units.length;
  const frames = video(drain(new FrameTimeline(avatar265, undefined, { loop: true, maxVideoFrames: 3 * n + 5 })));
  assert.equal(frames.length, 3 * n + 5);
  frames.forEach((f, i) => assert.ok(f.kind === 'video' && f.dts === i * 3600));
  assert.equal(frames[n].data, avatar265.units[0].data);
  const ptss = frames.slice(0, 3 * n).map((f) => f.pts).sort((a, b) => a - b);
  ptss.forEach((p, i) => assert.equal(p, (i + avatar265.reorderDelay) * 3600), 'no PTS repeats across loops');
});

test('limits: maxVideoFrames, durationMs, and a frame rate other than 25', () => {
  assert.equal(video(drain(new FrameTimeline(avatar264, undefined, { maxVideoFrames: 10 }))).length, 10);
  assert.equal(video(drain(new FrameTimeline(avatar264, undefined, { durationMs: 1000 }))).length, 25);
  const f30 = video(drain(new FrameTimeline(avatar264, undefined, { fps: 30000 / 1001, maxVideoFrames: 100 })));
  assert.equal(f30[99].dts, Math.round((99 * 90000 * 1001) / 30000));
  assert.equal(new FrameTimeline(avatar264, undefined, { maxVideoFrames: 0 }).next(), undefined);
  assert.throws(() => new FrameTimeline(avatar264, undefined, { fps: 0 }));
});

test('audio and video interleave in time order; audio stops where the video stops', () => {
  const check = (v: VideoSource, options: TimelineOptions, audioCodec: 'pcma' | 'aac') => {
    const audio = audioCodec === 'aac' ? aac : g711ToneSource('pcma', 40);
    const frames = drain(new FrameTimeline(v, audio, options));
    const sendTime = (f: MediaFrame) => (f.kind === 'video' ? f.dts : f.pts);
    for (let i = 1; i < frames.length; i++) assert.ok(sendTime(frames[i]) >= sendTime(frames[i - 1]), `order at ${i}`);
    const vids = video(frames);
    const lastVideo = vids[vids.length - 1];
    const end = lastVideo.kind === 'video' ? lastVideo.dts + 3600 : 0;
    const auds = frames.filter((f) => f.kind === 'audio');
    assert.ok(auds.every((a) => a.pts < end));
    return auds;
  };
  const g711 = check(avatar264, { maxVideoFrames: 50 }, 'pcma');
  assert.equal(g711.length, 50); // 2 s of 40 ms frames
  g711.forEach((a, i) => assert.equal(a.pts, i * 3600));
  const adts = check(avatar264, { maxVideoFrames: 50 }, 'aac');
  adts.forEach((a, i) => assert.equal(a.pts, Math.round((i * 1024 * 90000) / 44100)));
  assert.equal(adts.length, Math.ceil((2 * 44100) / 1024));
});

test('AAC loops with the video, its timestamps continuing', () => {
  const n = aac.frames.length;
  const frames = drain(new FrameTimeline(avatar264, aac, { loop: true, durationMs: 60_000 }));
  const auds = frames.filter((f) => f.kind === 'audio');
  assert.ok(auds.length > n);
  assert.equal(auds[n].data, aac.frames[0]);
  assert.equal(auds[n].pts, Math.round((n * 1024 * 90000) / 44100));
  // Without loop, audio longer than the video is cut at the video's end; shorter audio just ends.
  const once = drain(new FrameTimeline(avatar264, aac));
  assert.equal(video(once).length, 308);
});

test('loaders share one parsed source per file', async () => {
  const [a, b] = await Promise.all([loadVideoSource(fixturePath('avatar.h264')), loadVideoSource(fixturePath('avatar.h264'))]);
  assert.equal(a, b);
  assert.equal(a.units.length, 308);
  assert.equal(await loadAacSource(fixturePath('avatar.aac')), await loadAacSource(fixturePath('avatar.aac')));
  await assert.rejects(loadVideoSource(fixturePath('no-such-file.h264')));
});
