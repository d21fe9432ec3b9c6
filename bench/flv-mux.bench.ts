/**
 * FLV muxing benchmark: what does turning one camera's frames into FLV tags cost?
 *
 *   node bench/flv-mux.bench.ts [--seconds 30] [--rounds 10] [--no-ffmpeg]
 *
 * Media: H.264 at 2 Mbit/s, 25 fps, GOP 50, no B-frames (encoded with ffmpeg from the stress-tmp.h264
 * fixture, 852x480; --no-ffmpeg uses the fixture as it is, about 0.7 Mbit/s), with G.711A audio in
 * 40 ms frames, interleaved by time as the PS demuxer delivers them.
 *
 * Measured as the best of --rounds passes over the whole stream (after a warm-up pass), with a sink
 * that only counts bytes: frames per second, MB/s of input, µs per frame, and how many 2 Mbit/s
 * streams one core could mux at that speed. Allocations: Buffer allocations per frame and their bytes
 * (counted by wrapping the Buffer factories during one pass), and the garbage collections seen.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import type { MediaFrame } from '../common/codec/frame.ts';
import { FlvMuxer } from '../streamer/flv/flv-muxer.ts';
import { g711Tone, interleave, videoFramesFromAnnexB } from '../streamer/flv/testing/fixture-frames.ts';
import { arg } from './lib/args.ts';
import { h264At2Mbps } from './lib/camera-clip.ts';

const SECONDS = Number(arg('seconds', '30'));
const ROUNDS = Number(arg('rounds', '10'));
const USE_FFMPEG = !process.argv.includes('--no-ffmpeg');

const es = h264At2Mbps(SECONDS, USE_FFMPEG);
const video = videoFramesFromAnnexB('h264', es, 25);
const duration = video.length / 25;
const audio = g711Tone('pcma', duration, { frameMs: 40 });
const frames: MediaFrame[] = interleave<MediaFrame>(video, audio);
const inputBytes = frames.reduce((n, f) => n + f.data.length, 0);
const mbps = (es.length * 8) / duration / 1e6;

let outBytes = 0;
let tags = 0;
function pass(): number {
  const muxer = new FlvMuxer({ hevc: 'enhanced' }, (tag) => {
    outBytes += tag.data.length;
    tags++;
  });
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < frames.length; i++) muxer.push(frames[i]);
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

// Allocation count: wrap the Buffer factories for one pass.
function countAllocations(): { calls: number; bytes: number } {
  const saved = { allocUnsafe: Buffer.allocUnsafe, alloc: Buffer.alloc, from: Buffer.from, concat: Buffer.concat, allocUnsafeSlow: Buffer.allocUnsafeSlow };
  let calls = 0;
  let bytes = 0;
  const wrap = <T extends (...a: never[]) => Buffer>(f: T): T =>
    ((...a: never[]) => {
      const b = f.apply(Buffer, a);
      calls++;
      bytes += b.length;
      return b;
    }) as T;
  Buffer.allocUnsafe = wrap(saved.allocUnsafe);
  Buffer.alloc = wrap(saved.alloc);
  Buffer.from = wrap(saved.from as (...a: never[]) => Buffer) as typeof Buffer.from;
  Buffer.concat = wrap(saved.concat);
  Buffer.allocUnsafeSlow = wrap(saved.allocUnsafeSlow);
  try {
    pass();
  } finally {
    Object.assign(Buffer, saved);
  }
  return { calls, bytes };
}

pass(); // warm-up
const alloc = countAllocations();
let gcCount = 0;
let gcMs = 0;
const obs = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gcCount++;
    gcMs += e.duration;
  }
});
obs.observe({ entryTypes: ['gc'] });
let best = Infinity;
outBytes = 0;
tags = 0;
for (let r = 0; r < ROUNDS; r++) best = Math.min(best, pass());
await new Promise((r) => setImmediate(r));
obs.disconnect();

const fps = frames.length / best;
console.log(`stream: ${video.length} video frames (${mbps.toFixed(2)} Mbit/s H.264, ${duration.toFixed(1)} s) + ${audio.length} G.711A frames`);
console.log(`mux:    ${fps.toFixed(0)} frames/s (video + audio), ${(inputBytes / best / 1e6).toFixed(1)} MB/s in, ${((best / frames.length) * 1e6).toFixed(2)} µs/frame (best of ${ROUNDS})`);
console.log(`        ≈ ${(duration / best).toFixed(0)} real-time streams of this kind per core (muxing only)`);
console.log(`alloc:  ${(alloc.calls / frames.length).toFixed(2)} Buffer allocations/frame, ${(alloc.bytes / inputBytes).toFixed(3)} bytes allocated per input byte`);
console.log(`gc:     ${gcCount} collections, ${gcMs.toFixed(1)} ms over ${ROUNDS} passes (${tags / ROUNDS} tags/pass, ${(outBytes / ROUNDS / 1e6).toFixed(1)} MB out/pass)`);
