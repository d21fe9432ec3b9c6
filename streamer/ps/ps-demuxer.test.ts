import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { AudioFrame, MediaFrame, VideoFrame } from '../../common/codec/frame.ts';
import { fixturePath } from '../../test/support/fixtures.ts';
import { parseRtpHeader } from '../rtp/rtp-packet.ts';
import { describePs } from './describe.ts';
import type { DescribedUnit } from './describe.ts';
import { PsDemuxer } from './ps-demuxer.ts';
import type { PsDemuxerOptions } from './ps-demuxer.ts';
import { TS_WRAP } from './timestamps.ts';
import { mulberry32, randInt } from '../../common/testing/prng.ts';
import { PsWriter, cut, pes, packHeader, psm } from './testing/ps-writer.ts';
import type { PsWriterOptions } from './testing/ps-writer.ts';
import { buildStream, byKind, diffFrames, fixtureAccessUnits, toneBytes } from './testing/streams.ts';

interface Chunk {
  payload: Buffer;
  marker?: boolean;
}

function demux(chunks: readonly (Chunk | Buffer)[], opts: PsDemuxerOptions = {}, end = true) {
  const frames: MediaFrame[] = [];
  const d = new PsDemuxer((f) => frames.push(f), opts);
  let maxQueued = 0;
  for (const c of chunks) {
    const ch = Buffer.isBuffer(c) ? { payload: c } : c;
    d.push(ch.payload);
    if (ch.marker) d.endOfFrame();
    maxQueued = Math.max(maxQueued, d.queuedBytes);
  }
  if (end) d.end(true);
  return { frames, stats: d.stats, demuxer: d, maxQueued, ...byKind(frames) };
}

/** RTP-sized payloads of each frame's PS bytes, the last one of each frame with the marker. */
function packets(frames: Buffer[], size: number): Chunk[] {
  const out: Chunk[] = [];
  for (const f of frames) {
    const pieces = cut(f, size);
    pieces.forEach((p, i) => out.push({ payload: p, marker: i === pieces.length - 1 }));
  }
  return out;
}

function oneByteAtATime(bytes: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < bytes.length; i++) out.push(bytes.subarray(i, i + 1));
  return out;
}

const avatar264 = () => fixtureAccessUnits('avatar.h264', 'h264');
const avatar265 = () => fixtureAccessUnits('avatar.h265', 'h265');
const bbb = () => fixtureAccessUnits('bbb-480x272.h264', 'h264');

// ---------------------------------------------------------------------------------------------
// Fixtures from real devices

test('Hikvision first RTP packet: pack, system header with 0xBD, PSM with HK descriptors, SPS/PPS/SEI PES, a cut IDR PES', () => {
  const rtp = parseRtpHeader(readFileSync(fixturePath('hikvision-first-rtp-packet.bin')));
  assert.ok(rtp);
  assert.equal(rtp.payloadType, 96);
  assert.equal(rtp.ssrc, 0x0bebdfa1);
  assert.equal(rtp.sequence, 0);
  const payload = rtp.payload();
  const d = describePs(payload);
  const kinds = d.units.map((u) => u.kind);
  assert.deepEqual(kinds, ['pack', 'system-header', 'psm', 'pes', 'pes', 'pes', 'pes']);
  const [pack, sys, map, sps, pps, sei, idr] = d.units as [
    Extract<DescribedUnit, { kind: 'pack' }>,
    Extract<DescribedUnit, { kind: 'system-header' }>,
    Extract<DescribedUnit, { kind: 'psm' }>,
    ...Extract<DescribedUnit, { kind: 'pes' }>[],
  ];
  assert.equal(pack.mpeg1, false);
  assert.equal(pack.stuffing, 6);
  assert.equal(pack.scr, 0x0686c992);
  assert.deepEqual(
    sys.streams.map((s) => s.streamId),
    [0xe0, 0xc0, 0xbd, 0xbf],
  );
  assert.ok(map.psm);
  assert.deepEqual(
    map.psm.descriptors.map((x) => [x.tag, Buffer.from(x.data.subarray(0, 2)).toString('latin1')]),
    [
      [0x40, 'HK'],
      [0x41, 'HK'],
    ],
  );
  assert.deepEqual(
    map.psm.entries.map((e) => [e.streamId, e.streamType]),
    [
      [0xe0, 0x1b],
      [0xc0, 0x0f],
    ],
  );
  // The audio entry's stream_type field says 0x0F (AAC); Hikvision's own descriptor 0x43 carries 0x90.
  const hkAudio = map.psm.entries[1].descriptors.find((x) => x.tag === 0x43);
  assert.ok(hkAudio);
  assert.deepEqual([hkAudio.data[0], hkAudio.data[1]], [0x00, 0x90]);
  // Three complete video PES (SPS, PPS, SEI), the first with the PTS, then the cut IDR PES.
  const nalType = (u: Extract<DescribedUnit, { kind: 'pes' }>) => u.payloadHead[4];
  assert.deepEqual(
    [sps, pps, sei, idr].map((u) => [u.streamId, nalType(u), u.complete]),
    [
      [0xe0, 0x67, true],
      [0xe0, 0x68, true],
      [0xe0, 0x06, true],
      [0xe0, 0x65, false],
    ],
  );
  assert.equal(sps.pts, 109496722);
  assert.deepEqual([pps.pts, sei.pts, idr.pts], [-1, -1, -1]);
  assert.equal(idr.pesLength, 13666);
  assert.equal(d.frames.length, 0, 'nothing emitted: the IDR is cut off');
  assert.equal(d.stats.malformed + d.stats.resyncs + d.stats.droppedFrames, 0);
  // With the stream closed after it, the cut frame is still not emitted.
  const closed = describePs(payload, { end: true });
  assert.equal(closed.frames.length, 0);
  assert.equal(closed.stats.droppedFrames, 1);
  // Byte by byte: the same units (payload heads aside), still no frame.
  const split = describePs(oneByteAtATime(payload));
  assert.deepEqual(
    split.units.map((u) => (u.kind === 'pes' ? [u.kind, u.streamId, u.pts, u.complete, u.payloadBytes] : [u.kind])),
    d.units.map((u) => (u.kind === 'pes' ? [u.kind, u.streamId, u.pts, u.complete, u.payloadBytes] : [u.kind])),
  );
  assert.equal(split.frames.length, 0);
});

test('G.711A audio-only PS file: pcma frames, count, time stamps and duration', () => {
  const file = readFileSync(fixturePath('g711a-audio-only.ps'));
  const { audio, video, stats } = demux(cut(file, 1400));
  assert.equal(video.length, 0);
  assert.equal(audio.length, 35353);
  assert.ok(audio.every((f) => f.codec === 'pcma'));
  assert.deepEqual(
    [stats.packs, stats.systemHeaders, stats.psms, stats.pesAudio],
    [7982, 320, 320, 35353],
  );
  assert.equal(stats.malformed + stats.resyncs + stats.droppedFrames, 0);
  // 80-byte PES (10 ms), except two stray 160-byte MPEG-1 PES near the start whose time stamps are
  // 39,000 s away: smoothed over as two discontinuities.
  const sizes = new Map<number, number>();
  for (const f of audio) sizes.set(f.data.length, (sizes.get(f.data.length) ?? 0) + 1);
  assert.deepEqual([...sizes], [
    [80, 35351],
    [160, 2],
  ]);
  assert.equal(stats.timestampJumps, 2);
  let bytes = 0;
  for (let i = 1; i < audio.length; i++) {
    const step = audio[i].pts - audio[i - 1].pts;
    assert.ok(step >= 0, `PTS never goes back (frame ${i})`);
    assert.ok(step <= 90000, `no gap over a second (frame ${i})`);
    bytes += audio[i - 1].data.length;
  }
  // At 8 kHz the bytes hold 353.6 s of samples; the device's PTS cover 319.3 s (5 min 19 s): it
  // stamps bursts of PES with one PTS. The demuxer passes the device's PTS on.
  const span = (audio.at(-1)!.pts - audio[0].pts) / 90000;
  assert.ok(span > 318 && span < 320.5, `span ${span}`);
  assert.ok(Math.abs((bytes + 80) / 8000 - 353.55) < 0.01);
  assert.equal(audio[0].pts, 11205360);
  assert.equal(audio[1].pts - audio[0].pts, 90);
});

test('G.711A file split one byte at a time gives the same frames', () => {
  const file = readFileSync(fixturePath('g711a-audio-only.ps')).subarray(0, 60000);
  const whole = demux([file]);
  const split = demux(oneByteAtATime(file));
  assert.ok(whole.audio.length > 500);
  assert.equal(diffFrames(split.frames, whole.frames), null);
});

// ---------------------------------------------------------------------------------------------
// Round trips: what goes in comes out, byte for byte, with its time stamps and keyframe flags

const variants: { name: string; writer: PsWriterOptions }[] = [
  { name: 'plain', writer: {} },
  { name: 'no PSM', writer: { psm: 'none' } },
  { name: 'PSM only once, HK descriptors, private stream 0xBD', writer: { psm: 'first', hkDescriptors: true, privateStream: true } },
  { name: 'unbounded video PES (length 0)', writer: { unboundedVideo: true, maxPesPayload: 1500 } },
  { name: 'small PES, a pack header before each, PTS repeated', writer: { packPerPes: true, ptsOnEveryPes: true, maxPesPayload: 700 } },
  { name: 'PSM every frame, pack stuffing 7, no system header', writer: { psm: 'every', packStuffing: 7, systemHeader: false } },
  { name: 'MPEG-1 pack headers', writer: { mpeg1Pack: true, maxPesPayload: 4000 } },
];

for (const [fixture, codec, units] of [
  ['avatar.h264', 'h264', avatar264],
  ['avatar.h265', 'h265', avatar265],
  ['bbb-480x272.h264', 'h264', bbb],
] as const) {
  for (const v of variants) {
    test(`round trip ${fixture}: ${v.name}, across RTP payload sizes, with and without markers`, () => {
      const s = buildStream({ codec, units: units(), writer: v.writer, audio: 'pcma' });
      for (const size of [188, 1400, 9000]) {
        for (const markers of [true, false]) {
          const chunks = packets(s.frames, size).map((c) => (markers ? c : { payload: c.payload }));
          const out = demux(chunks);
          assert.equal(diffFrames(out.video, s.video), null, `video, size ${size}, markers ${markers}`);
          assert.equal(diffFrames(out.audio, s.audio), null, `audio, size ${size}, markers ${markers}`);
          assert.equal(out.stats.droppedFrames + out.stats.malformed + out.stats.resyncs, 0);
          assert.ok(out.maxQueued < 9000 + 4200, `queued ${out.maxQueued}`);
        }
      }
    });
  }
}

test('a PSM that declares H.264 for H.265 data (and H.265 for H.264) is overruled by the NAL headers', () => {
  for (const [units, codec, declared] of [
    [avatar265(), 'h265', 0x1b],
    [avatar264(), 'h264', 0x24],
  ] as const) {
    const s = buildStream({ codec, units, writer: { videoStreamType: declared } });
    const out = demux(packets(s.frames, 1400));
    assert.equal(diffFrames(out.video, s.video), null);
    assert.equal(out.demuxer.videoCodec, codec);
  }
});

test('a PSM declaring an unsupported video type (MPEG-4) with H.264 inside: reported once, sniffed, emitted', () => {
  const s = buildStream({ codec: 'h264', units: avatar264().slice(0, 60), writer: { videoStreamType: 0x10 } });
  const reported: [number, number][] = [];
  const out = demux(packets(s.frames, 1400), { onUnsupported: (id, type) => reported.push([id, type]) });
  assert.deepEqual(reported, [[0xe0, 0x10]]);
  assert.equal(out.stats.unsupportedStreams, 1);
  assert.equal(diffFrames(out.video, s.video), null);
});

test('unsupported audio (G.722.1) is reported once and skipped', () => {
  const s = buildStream({ codec: 'h264', units: avatar264().slice(0, 30), audio: 'pcma', writer: { audioStreamType: 0x92 } });
  const reported: [number, number][] = [];
  const out = demux(packets(s.frames, 1400), { onUnsupported: (id, type) => reported.push([id, type]) });
  assert.deepEqual(reported, [[0xc0, 0x92]]);
  assert.equal(out.audio.length, 0);
  assert.equal(out.stats.pesSkipped, 30);
  assert.equal(diffFrames(out.video, s.video), null);
});

test('G.711U is told from the PSM', () => {
  const s = buildStream({ codec: 'h264', units: avatar264().slice(0, 20), audio: 'pcmu' });
  const out = demux(packets(s.frames, 1400));
  assert.equal(diffFrames(out.audio, s.audio), null);
});

test('every split of the input, one byte at a time, gives the same frames', () => {
  for (const v of variants.slice(0, 5)) {
    const s = buildStream({ codec: 'h264', units: avatar264().slice(0, 14), writer: v.writer, audio: 'pcma' });
    const out = demux(oneByteAtATime(s.bytes));
    assert.equal(diffFrames(out.video, s.video), null, v.name);
    assert.equal(diffFrames(out.audio, s.audio), null, v.name);
    assert.ok(out.maxQueued < 200, `${v.name}: queued ${out.maxQueued}`);
  }
});

test('every two-piece split of a small stream gives the same frames', () => {
  // Small synthetic access units so that the stream is short: SPS+PPS+IDR, then P frames.
  const idr = Buffer.from([0, 0, 0, 1, 0x67, 0x4d, 0, 0x1e, 0xab, 0, 0, 0, 1, 0x68, 0xee, 0x3c, 0x80, 0, 0, 1, 0x65, 0x88, 0x84, 0x21, 0x40]);
  const p = (i: number) => Buffer.from([0, 0, 0, 1, 0x41, 0x9a, i, 0x22, 0x33, 0x44]);
  const units = [
    { data: idr, keyframe: true },
    { data: p(1), keyframe: false },
    { data: p(2), keyframe: false },
  ];
  for (const writer of [{ maxPesPayload: 7 }, { unboundedVideo: true, maxPesPayload: 9 }, { packPerPes: true, maxPesPayload: 6, privateStream: true }]) {
    const s = buildStream({ codec: 'h264', units, writer, audio: 'pcma' });
    for (let k = 0; k <= s.bytes.length; k++) {
      const out = demux([s.bytes.subarray(0, k), s.bytes.subarray(k)]);
      assert.equal(diffFrames(out.video, s.video), null, `split at ${k}`);
      assert.equal(diffFrames(out.audio, s.audio), null, `split at ${k}`);
    }
  }
});

test('a frame larger than 65,535 bytes is split over PES packets of 65,000 and comes out whole', () => {
  const big = Buffer.concat([Buffer.from([0, 0, 0, 1, 0x65, 0x88]), Buffer.alloc(200000, 0x5a)]);
  const units = [
    { data: Buffer.concat([Buffer.from([0, 0, 0, 1, 0x67, 0x4d, 0, 0x1e]), big]), keyframe: true },
    { data: Buffer.from([0, 0, 0, 1, 0x41, 0x9a, 1]), keyframe: false },
  ];
  const s = buildStream({ codec: 'h264', units });
  const out = demux(packets(s.frames, 1400));
  assert.equal(diffFrames(out.video, s.video), null);
  assert.equal(out.stats.pesVideo, 5);
});

test('time stamps across the 33-bit wrap are unwrapped', () => {
  const base = TS_WRAP - 50 * 3600;
  const s = buildStream({ codec: 'h264', units: avatar264().slice(0, 120), base, audio: 'pcma' });
  const out = demux(packets(s.frames, 1400));
  assert.equal(diffFrames(out.video, s.video), null);
  assert.equal(diffFrames(out.audio, s.audio), null);
  assert.ok(out.video.at(-1)!.dts > TS_WRAP);
  assert.equal(out.stats.timestampJumps, 0);
});

test('a stream without any time stamps gets them made up at 25 fps', () => {
  const units = avatar264().slice(0, 40);
  const s = buildStream({ codec: 'h264', units, writer: { noTimestamps: true } });
  const out = demux(packets(s.frames, 1400));
  assert.equal(out.video.length, 40);
  out.video.forEach((f, i) => {
    assert.equal(f.pts, i * 3600);
    assert.ok(f.data.equals(units[i].data));
  });
});

test('parameter sets sent in a PES with a PTS of their own are joined to the picture that follows', () => {
  const w = new PsWriter();
  const sps = Buffer.from([0, 0, 0, 1, 0x67, 0x4d, 0, 0x1e, 0xab]);
  const idr = Buffer.from([0, 0, 0, 1, 0x65, 0x88, 0x84, 0x21]);
  const pf = Buffer.from([0, 0, 0, 1, 0x41, 0x9a, 0x21]);
  const bytes = Buffer.concat([
    w.frame({ kind: 'video', pts: 1000, keyframe: true, data: sps }),
    w.frame({ kind: 'video', pts: 4600, data: idr }),
    w.frame({ kind: 'video', pts: 8200, data: pf }),
  ]);
  const { video } = demux([bytes]);
  assert.equal(video.length, 2);
  assert.ok(video[0].data.equals(Buffer.concat([sps, idr])));
  assert.equal(video[0].pts, 4600);
  assert.equal(video[0].keyframe, true);
});

// ---------------------------------------------------------------------------------------------
// Loss, garbage, resynchronisation

test('after a loss the damaged frame and all video until the next keyframe are dropped; audio resumes', () => {
  const s = buildStream({ codec: 'h264', units: avatar264(), audio: 'pcma' });
  const chunks = packets(s.frames, 1400);
  // Lose packets in the middle of frame 30 (a P frame).
  const frameStart: number[] = [];
  let n = 0;
  for (const f of s.frames) {
    frameStart.push(n);
    n += Math.ceil(f.length / 1400);
  }
  const victim = frameStart[2 * 30] + 1;
  const frames: MediaFrame[] = [];
  const d = new PsDemuxer((f) => frames.push(f));
  chunks.forEach((c, i) => {
    if (i === victim) {
      d.signalLoss();
      return;
    }
    d.push(c.payload);
    if (c.marker) d.endOfFrame();
  });
  d.end(true);
  const { video, audio } = byKind(frames);
  const nextKey = s.video.findIndex((f, i) => i > 30 && f.keyframe);
  const want = [...s.video.slice(0, 30), ...s.video.slice(nextKey)];
  assert.equal(diffFrames(video, want), null);
  assert.equal(d.stats.losses, 1);
  assert.ok(d.stats.droppedFrames >= 1);
  // Audio: only the PES in the lost packet (if any) is missing.
  assert.ok(audio.length >= s.audio.length - 1);
  for (const a of audio) assert.ok(s.audio.some((w) => w.pts === a.pts && w.data.equals(a.data)));
});

test('random losses never produce a partial or corrupt frame, and video restarts on keyframes', () => {
  const seed = 20240611;
  const rnd = mulberry32(seed);
  const s = buildStream({ codec: 'h265', units: avatar265(), audio: 'pcma' });
  const chunks = packets(s.frames, 1000);
  const byPts = new Map(s.video.map((f) => [f.dts, f]));
  for (let trial = 0; trial < 20; trial++) {
    const frames: MediaFrame[] = [];
    const d = new PsDemuxer((f) => frames.push(f));
    let lostSince = false;
    const firstAfterLoss: VideoFrame[] = [];
    let pending = false;
    for (const c of chunks) {
      if (rnd() < 0.01) {
        d.signalLoss();
        pending = true;
        continue;
      }
      const before = frames.length;
      d.push(c.payload);
      if (c.marker) d.endOfFrame();
      for (const f of frames.slice(before)) {
        if (f.kind === 'video' && pending) {
          firstAfterLoss.push(f);
          pending = false;
        }
      }
      lostSince = lostSince || pending;
    }
    d.end(true);
    for (const f of byKind(frames).video) {
      const want = byPts.get(f.dts);
      assert.ok(want, `seed ${seed} trial ${trial}: unknown frame dts ${f.dts}`);
      assert.ok(f.data.equals(want.data), `seed ${seed} trial ${trial}: frame dts ${f.dts} corrupt`);
      assert.equal(f.pts, want.pts);
      assert.equal(f.keyframe, want.keyframe);
    }
    for (const f of firstAfterLoss) assert.ok(f.keyframe, `seed ${seed} trial ${trial}: restart on a keyframe`);
  }
});

test('garbage between packs (raw audio outside PES) is skipped and counted; no frame is lost', () => {
  const rnd = mulberry32(7);
  const s = buildStream({ codec: 'h264', units: avatar264().slice(0, 100), audio: 'pcma' });
  const withGarbage: Buffer[] = [];
  let inserted = 0;
  s.frames.forEach((f, i) => {
    withGarbage.push(f);
    if (i % 7 === 3) {
      withGarbage.push(toneBytes(1 + randInt(rnd, 400), i));
      inserted++;
    }
  });
  for (const size of [1, 500, 1400]) {
    const out = demux(packets([Buffer.concat(withGarbage)], size));
    assert.equal(diffFrames(out.video, s.video), null, `size ${size}`);
    assert.equal(diffFrames(out.audio, s.audio), null, `size ${size}`);
    assert.equal(out.stats.resyncs, inserted, `size ${size}`);
    assert.equal(out.stats.droppedFrames, 0);
  }
});

test('garbage that holds Annex-B start codes is taken for lost video: that frame is dropped, not emitted corrupt', () => {
  const s = buildStream({ codec: 'h264', units: avatar264().slice(0, 60) });
  const junk = Buffer.concat([toneBytes(50, 1), Buffer.from([0, 0, 1, 0x41, 0x9a]), toneBytes(50, 2)]);
  const bytes = Buffer.concat([...s.frames.slice(0, 20), junk, ...s.frames.slice(20)]);
  const out = demux(packets([bytes], 1400));
  const nextKey = s.video.findIndex((f, i) => i >= 20 && f.keyframe);
  assert.equal(diffFrames(out.video, [...s.video.slice(0, 19), ...s.video.slice(nextKey)]), null);
  assert.equal(out.stats.resyncs, 1);
  assert.equal(out.stats.droppedFrames, 1 + (nextKey - 20));
});

test('joining mid-stream: the first frame out is a keyframe, every frame after it exact', () => {
  const s = buildStream({ codec: 'h264', units: avatar264(), audio: 'pcma' });
  for (const skip of [1, 1000, 33333, 100001]) {
    const out = demux(packets([s.bytes.subarray(skip)], 1400));
    assert.ok(out.video.length > 0);
    assert.equal(out.video[0].keyframe, true);
    const first = s.video.findIndex((f) => f.dts === out.video[0].dts);
    assert.equal(diffFrames(out.video, s.video.slice(first)), null, `skip ${skip}`);
    assert.equal(out.stats.resyncs, 0, 'the first search is not a resync');
  }
});

test('a malformed PES header is counted; the frame it belonged to is dropped', () => {
  const s = buildStream({ codec: 'h264', units: avatar264().slice(0, 40) });
  const bytes = Buffer.from(s.bytes);
  // Break the PES header of frame 10: PTS_DTS_flags = 01 is forbidden.
  let off = 0;
  for (let i = 0; i < 10; i++) off += s.frames[i].length;
  const pesAt = bytes.indexOf(Buffer.from([0, 0, 1, 0xe0]), off);
  bytes[pesAt + 7] = 0x40;
  const out = demux([bytes]);
  assert.equal(out.stats.malformed, 1);
  const nextKey = s.video.findIndex((f, i) => i > 10 && f.keyframe);
  // Frame 9 was still open when the broken header came (it might have continued it): dropped too.
  assert.equal(diffFrames(out.video, [...s.video.slice(0, 9), ...s.video.slice(nextKey)]), null);
});

// ---------------------------------------------------------------------------------------------
// Marker bit, bounds

test('a reliable marker lets frames out as soon as their last packet arrives', () => {
  const s = buildStream({ codec: 'h264', units: avatar264().slice(0, 30) });
  const frames: MediaFrame[] = [];
  const d = new PsDemuxer((f) => frames.push(f));
  let frameIndex = 0;
  let early = 0;
  for (const c of packets(s.frames, 1400)) {
    d.push(c.payload);
    if (c.marker) {
      d.endOfFrame();
      if (frames.length === frameIndex + 1) early++;
      frameIndex++;
    }
  }
  assert.ok(early >= 25, `emitted at their marker: ${early}`);
  assert.equal(d.stats.markerFlushes, early);
  d.end(true);
  assert.equal(diffFrames(frames, s.video), null);
});

test('a marker on every packet, or at PES boundaries inside frames, loses the trust and corrupts nothing', () => {
  const s = buildStream({ codec: 'h264', units: avatar264().slice(0, 60), writer: { maxPesPayload: 1400 } });
  for (const size of [1400, 1414, 700]) {
    const chunks = packets(s.frames, size).map((c) => ({ payload: c.payload, marker: true }));
    const out = demux(chunks);
    assert.equal(diffFrames(out.video, s.video), null, `size ${size}`);
    assert.equal(out.demuxer.markerTrusted, false, `size ${size}`);
  }
  // A device that marks the end of every PES: with frames of several PES, never trusted at all.
  const large = avatar264().filter((u) => u.data.length > 3000);
  const big = buildStream({ codec: 'h264', units: large.slice(large.findIndex((u) => u.keyframe)), writer: { maxPesPayload: 1000 } });
  const perPes = big.frames.flatMap((f) => {
    const out: Chunk[] = [];
    let p = 0;
    for (;;) {
      const next = f.indexOf(Buffer.from([0, 0, 1, 0xe0]), p + 1);
      if (next < 0) break;
      out.push({ payload: f.subarray(p, next), marker: true });
      p = next;
    }
    out.push({ payload: f.subarray(p), marker: true });
    return out;
  });
  const out = demux(perPes);
  assert.equal(diffFrames(out.video, big.video), null);
  assert.equal(out.stats.markerFlushes, 0);
});

test('a frame over the size cap is dropped and counted; video resumes at the next keyframe', () => {
  const units = avatar264().slice(0, 120);
  const s = buildStream({ codec: 'h264', units });
  const cap = 8000;
  const out = demux(packets(s.frames, 1400), { maxFrameBytes: cap });
  const want: VideoFrame[] = [];
  let waiting = false;
  let oversized = 0;
  for (const f of s.video) {
    if (f.data.length > cap) {
      oversized++;
      waiting = true;
      continue;
    }
    if (waiting && !f.keyframe) continue;
    waiting = false;
    want.push(f);
  }
  assert.ok(oversized > 0);
  assert.equal(out.stats.oversizedFrames, oversized);
  assert.equal(diffFrames(out.video, want), null);
  assert.ok(out.demuxer.pendingFrameBytes <= cap);
});

test('an unbounded PES that never ends cannot grow without bound', () => {
  const d = new PsDemuxer(() => {}, { maxFrameBytes: 100000 });
  d.push(packHeader(0));
  d.push(psm([{ type: 0x1b, id: 0xe0 }]));
  d.push(pes(0xe0, Buffer.from([0, 0, 0, 1, 0x67, 0x4d, 0, 0x1e, 0, 0, 1, 0x65, 0x88]), 3600, null, true));
  const block = toneBytes(1400, 3);
  for (let i = 0; i < 2000; i++) {
    d.push(block);
    assert.ok(d.pendingFrameBytes <= 100000);
    assert.ok(d.queuedBytes < 8);
  }
  assert.equal(d.stats.oversizedFrames, 0, 'counted when the frame ends');
  d.push(packHeader(7200));
  d.push(pes(0xe0, Buffer.from([0, 0, 0, 1, 0x41, 0x9a]), 7200, null));
  assert.equal(d.stats.oversizedFrames, 1);
});

// ---------------------------------------------------------------------------------------------
// AAC

function adtsFrames(): Buffer[] {
  const aac = readFileSync(fixturePath('avatar.aac'));
  const out: Buffer[] = [];
  for (let p = 0; p + 7 <= aac.length; ) {
    const len = ((aac[p + 3] & 3) << 11) | (aac[p + 4] << 3) | (aac[p + 5] >> 5);
    out.push(aac.subarray(p, p + len));
    p += len;
  }
  return out;
}

test('AAC: several ADTS frames per PES, and ADTS frames cut across PES, come out one by one', () => {
  const frames = adtsFrames().slice(0, 300);
  const ticks = (1024 * 90000) / 44100;
  const want: AudioFrame[] = frames.map((data, i) => ({ kind: 'audio', codec: 'aac', pts: 5000 + Math.round(i * ticks), data }));
  const all = Buffer.concat(frames);
  for (const mode of ['3 per PES', 'cut every 500 bytes', 'no PSM']) {
    const parts: Buffer[] = [packHeader(0)];
    if (mode !== 'no PSM') parts.push(psm([{ type: 0x0f, id: 0xc0 }]));
    if (mode === 'cut every 500 bytes') {
      let frameAt = 0;
      let i = 0;
      for (let p = 0; p < all.length; p += 500) {
        // The PTS of a PES is that of the first ADTS frame starting in it.
        while (frameAt < p) frameAt += frames[i++].length;
        const startsFrame = frameAt < Math.min(p + 500, all.length);
        parts.push(pes(0xc0, all.subarray(p, Math.min(p + 500, all.length)), startsFrame ? want[i].pts : null, null));
      }
    } else {
      for (let i = 0; i < frames.length; i += 3) parts.push(pes(0xc0, Buffer.concat(frames.slice(i, i + 3)), want[i].pts, null));
    }
    const out = demux(packets([Buffer.concat(parts)], 1400));
    assert.equal(out.audio.length, frames.length, mode);
    out.audio.forEach((f, i) => {
      assert.equal(f.codec, 'aac');
      assert.ok(f.data.equals(frames[i]), `${mode}: frame ${i}`);
      assert.ok(Math.abs(f.pts - want[i].pts) <= 1, `${mode}: frame ${i} pts ${f.pts} vs ${want[i].pts}`);
    });
    assert.equal(out.stats.malformed, 0);
  }
});

// ---------------------------------------------------------------------------------------------
// Sloppy devices

test('wrong marker bits: pack headers still end unbounded PES; PES time stamps are used and counted', () => {
  const s = buildStream({ codec: 'h264', units: avatar264().slice(0, 40), writer: { unboundedVideo: true, maxPesPayload: 3000 } });
  const bytes = Buffer.from(s.bytes);
  // Clear the marker bits of every pack header (bytes 4, 6, 8 bit 2; byte 9 bit 0; byte 12 bits 0-1).
  let packs = 0;
  for (let p = bytes.indexOf(Buffer.from([0, 0, 1, 0xba])); p >= 0; p = bytes.indexOf(Buffer.from([0, 0, 1, 0xba]), p + 4)) {
    bytes[p + 4] &= ~0x04;
    bytes[p + 6] &= ~0x04;
    bytes[p + 8] &= ~0x04;
    bytes[p + 9] &= ~0x01;
    bytes[p + 12] &= ~0x03;
    packs++;
  }
  const out = demux(packets([bytes], 1400));
  assert.equal(diffFrames(out.video, s.video), null);
  assert.equal(out.stats.packs, packs);
  assert.equal(out.stats.malformed, 0);
  // A PES whose PTS marker bits are wrong: the PTS is still used, and the header counted.
  const s2 = buildStream({ codec: 'h264', units: avatar264().slice(0, 10) });
  const b2 = Buffer.from(s2.bytes);
  const at = b2.indexOf(Buffer.from([0, 0, 1, 0xe0]), s2.frames[0].length + s2.frames[1].length + s2.frames[2].length);
  b2[at + 9 + 4] &= 0xfe;
  const out2 = demux([b2]);
  assert.equal(diffFrames(out2.video, s2.video), null);
  assert.equal(out2.stats.malformed, 1);
});

test('end(): a live stream that stops emits its last frame only when the marker closed it', () => {
  const s = buildStream({ codec: 'h264', units: avatar264().slice(0, 10) });
  for (const [markers, complete, want] of [
    [true, false, 10],
    [false, false, 9],
    [false, true, 10],
  ] as const) {
    const chunks = packets(s.frames, 1400).map((c) => (markers ? c : { payload: c.payload }));
    const frames: MediaFrame[] = [];
    const d = new PsDemuxer((f) => frames.push(f));
    for (const c of chunks) {
      d.push(c.payload);
      if (c.marker) d.endOfFrame();
    }
    d.end(complete);
    assert.equal(frames.length, want, `markers ${markers}, complete ${complete}`);
  }
});

test('Hikvision first packet continued: the IDR frame comes out once the next frame starts; 0xBD skipped; AAC as declared', () => {
  const rtp = parseRtpHeader(readFileSync(fixturePath('hikvision-first-rtp-packet.bin')));
  assert.ok(rtp);
  const first = rtp.payload();
  // The payloads of the four video PES, from the fixture's own PES headers.
  const payloads: Buffer[] = [];
  for (let p = first.indexOf(Buffer.from([0, 0, 1, 0xe0])); p >= 0; p = first.indexOf(Buffer.from([0, 0, 1, 0xe0]), p + 4)) {
    const start = p + 9 + first[p + 8];
    const end = Math.min(first.length, p + 6 + first.readUInt16BE(p + 4));
    payloads.push(first.subarray(start, end));
  }
  assert.equal(payloads.length, 4);
  // Complete the cut IDR PES (13,666 bytes long) with slice-like bytes, as the next packets would.
  const idrPayloadLength = 13666 - 3 - 2;
  const filler = toneBytes(idrPayloadLength - payloads[3].length, 5);
  const adts = adtsFrames()[0];
  const continuation = Buffer.concat([
    filler,
    pes(0xbd, Buffer.from('Hikvision private data'), 109496722, null),
    pes(0xc0, adts, 109496722 + 3600, null),
    packHeader(109496722 + 3600),
    pes(0xe0, Buffer.from([0, 0, 0, 1, 0x41, 0x9a, 0x02, 0x31]), 109496722 + 3600, null),
  ]);
  const { video, audio, stats } = demux([first, ...cut(continuation, 1400)], {}, false);
  assert.equal(video.length, 1);
  assert.equal(video[0].codec, 'h264');
  assert.equal(video[0].keyframe, true);
  assert.equal(video[0].pts, 109496722);
  assert.ok(video[0].data.equals(Buffer.concat([...payloads, filler])));
  assert.equal(audio.length, 1);
  assert.equal(audio[0].codec, 'aac');
  assert.ok(audio[0].data.equals(adts));
  assert.equal(stats.pesSkipped, 1);
  assert.equal(stats.malformed + stats.resyncs + stats.droppedFrames, 0);
});

test('reuseFrameBuffer hands out the same bytes as fresh buffers, for consumers that copy', () => {
  const s = buildStream({ codec: 'h264', units: fixtureAccessUnits('bbb-480x272.h264', 'h264').slice(0, 80), audio: 'pcma' });
  const fresh: Buffer[] = [];
  const copied: Buffer[] = [];
  const views: Buffer[] = [];
  const a = new PsDemuxer((f) => f.kind === 'video' && fresh.push(f.data));
  const b = new PsDemuxer(
    (f) => {
      if (f.kind !== 'video') return;
      copied.push(Buffer.from(f.data));
      views.push(f.data);
    },
    { reuseFrameBuffer: true },
  );
  for (const d of [a, b]) {
    d.push(s.bytes);
    d.end(true);
  }
  assert.equal(fresh.length, 80);
  assert.equal(copied.length, fresh.length);
  for (let i = 0; i < fresh.length; i++) assert.ok(fresh[i].equals(copied[i]), `frame ${i}`);
  assert.equal(views[0].buffer, views[1].buffer, 'frames share one buffer');
});

test('onTracks reports the supported tracks a stream map declares, once per change', () => {
  const units = fixtureAccessUnits('bbb-480x272.h264', 'h264').slice(0, 30);
  const seen: { video: boolean; audio: boolean }[] = [];
  const d = new PsDemuxer(() => {}, { onTracks: (t) => seen.push(t) });
  d.push(buildStream({ codec: 'h264', units, audio: 'pcma' }).bytes);
  assert.deepEqual(seen, [{ video: true, audio: true }]);
  // G.722.1 (0x92) is declared but not supported: no audio track.
  const videoOnly: { video: boolean; audio: boolean }[] = [];
  const v = new PsDemuxer(() => {}, { onTracks: (t) => videoOnly.push(t) });
  v.push(buildStream({ codec: 'h264', units, writer: { audioStreamType: 0x92 } }).bytes);
  assert.deepEqual(videoOnly, [{ video: true, audio: false }]);
});
