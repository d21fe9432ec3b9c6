/**
 * Loss, reordering and duplication on UDP, injected by a seeded relay between our camera source and
 * a real streamer. What comes out (HTTP-FLV and RTMP into nginx-rtmp) must decode in FFmpeg without
 * a single error: damaged frames are dropped, never forwarded, and video resumes at a keyframe.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { startMediaStream } from '../camera/media/stream.ts';
import type { Streamer } from '../streamer/streamer.ts';
import { readFlv, readVideoTagHeader } from './support/flv-reader.ts';
import { startLossyRelay } from './support/lossy-udp-relay.ts';
import { decodeFlv } from './support/media-check.ts';
import { downloadFlv } from './support/http-flv-download.ts';
import { startNginxRtmp, type NginxRtmp } from './support/nginx-rtmp.ts';
import { api, startTestStreamer } from './support/streamer.ts';

const run = promisify(execFile);
const SEED = Number(process.env.GBCAST_LOSS_SEED ?? 20261126);
const FRAMES = 200;

let dir: string;
let clip: string;
let nginx: NginxRtmp;
let streamer: Streamer;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'gbcast-loss-'));
  clip = path.join(dir, 'gop25.h264');
  // A camera-like clip: 25 fps, a keyframe every second, no B-frames, big enough frames to span
  // several RTP packets each.
  await run('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25', '-t', String(FRAMES / 25),
    '-c:v', 'libx264', '-preset', 'ultrafast', '-bf', '0', '-g', '25', '-b:v', '1500k', '-f', 'h264', clip]);
  nginx = await startNginxRtmp({ record: true });
  streamer = await startTestStreamer({ noMediaTimeoutMs: 20_000 });
});

after(async () => {
  await streamer?.stop();
  await nginx?.stop();
  await rm(dir, { recursive: true, force: true });
});

test(`lossy, reordering UDP never yields a corrupt frame and resumes at keyframes (seed ${SEED})`, async () => {
  const relay = await startLossyRelay({
    seed: SEED,
    targetHost: '127.0.0.1',
    targetPort: streamer.rtpPort,
    loss: 0.01,
    reorder: 0.05,
    maxDisplacement: 8,
    duplicate: 0.01,
    cleanStart: 100,
  });
  const streamId = 'lossy';
  const open = await api(streamer, 'POST', '/api/v1/receivers', {
    streamId,
    ssrc: '0100000009',
    transport: 'udp',
    rtmpUrl: nginx.url('live', streamId),
  });
  assert.equal(open.status, 200);
  const flvFile = path.join(dir, 'lossy.flv');
  const download = downloadFlv(`${streamer.httpUrl}/live/${streamId}.flv`, flvFile);
  const camera = await startMediaStream({
    video: clip,
    audio: 'pcma',
    transport: 'udp',
    host: '127.0.0.1',
    port: relay.port,
    ssrc: 100000009,
    pacing: 'realtime',
    maxFrames: FRAMES,
  });
  assert.equal(await camera.done, 'end');
  await camera.stop();
  await relay.close();
  await new Promise((r) => setTimeout(r, 300));
  const info = await api<{ lost: number; packets: number; framesOut: number }>(streamer, 'GET', `/api/v1/receivers/${streamId}`);
  await api(streamer, 'DELETE', `/api/v1/receivers/${streamId}`);
  await download;

  const s = relay.stats;
  assert.ok(s.dropped > 10 && s.reordered > 50 && s.duplicated > 10, `relay damaged too little: ${JSON.stringify(s)}`);
  assert.ok(info.body.lost > 0, 'the streamer noticed the loss');
  const metrics = await fetch(`${streamer.httpUrl}/metrics`).then((r) => r.text());
  const reordered = Number(/gbcast_streamer_rtp_reordered_packets_total\{[^}]*\} (\d+)/.exec(metrics)?.[1]);
  assert.ok(reordered > 0, 'reordered packets were put back in order');

  // HTTP-FLV: FFmpeg decodes it without an error; some frames were dropped, most arrived.
  const report = await decodeFlv(flvFile);
  assert.equal(report.errors, '', 'FFmpeg found corrupt data in the HTTP-FLV output');
  assert.ok(report.videoFrames < FRAMES, 'damaged frames were dropped');
  assert.ok(report.videoFrames > FRAMES / 3, `too few frames survived: ${report.videoFrames}`);

  // After every gap in the video, the next frame is a keyframe.
  const tags = readFlv(await readFile(flvFile)).tags.filter((t) => t.type === 9);
  let prev = -1;
  let gaps = 0;
  for (const t of tags) {
    const h = readVideoTagHeader(t.body);
    if (h.packetType !== 1) continue;
    if (prev >= 0 && t.timestamp - prev > 45) {
      gaps++;
      assert.equal(h.frameType, 1, `video resumed at ${t.timestamp} ms without a keyframe`);
    }
    prev = t.timestamp;
  }
  assert.ok(gaps > 0, 'the loss produced gaps in the video');

  // What nginx-rtmp received decodes cleanly too.
  const recording = (await nginx.recordings()).find((f) => path.basename(f).startsWith(`${streamId}-`));
  assert.ok(recording, 'nginx recorded the stream');
  assert.equal((await decodeFlv(recording)).errors, '', 'FFmpeg found corrupt data in what nginx-rtmp received');
});
