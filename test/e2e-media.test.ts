/**
 * The media plane end to end with real peers: our camera source streams fixture files as PS over
 * RTP (UDP, TCP passive, TCP active) into a streamer, which publishes RTMP to a real nginx-rtmp and
 * serves HTTP-FLV; FFmpeg must decode every video frame that was sent, without a single error, both
 * from nginx's recording and from the HTTP-FLV download.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startMediaStream, type MediaStreamOptions } from '../camera/media/stream.ts';
import type { MediaTransport } from '../common/contracts.ts';
import type { Streamer } from '../streamer/streamer.ts';
import { fixturePath } from './support/fixtures.ts';
import { decodeFlv } from './support/media-check.ts';
import { downloadFlv } from './support/http-flv-download.ts';
import { startNginxRtmp, type NginxRtmp } from './support/nginx-rtmp.ts';
import { api, startTestStreamer } from './support/streamer.ts';

const FRAMES = 60;

interface MediaCase {
  name: string;
  source: Pick<MediaStreamOptions, 'video' | 'audio' | 'audioFile'>;
  videoCodec: string;
  width: number;
  height: number;
  audioCodec?: string;
  hevc?: 'legacy' | 'enhanced';
}

const mediaCases: MediaCase[] = [
  {
    name: 'H.264 + G.711A',
    source: { video: fixturePath('bbb-480x272.h264'), audio: 'pcma' },
    videoCodec: 'h264',
    width: 480,
    height: 272,
    audioCodec: 'pcm_alaw',
  },
  {
    name: 'H.264 + AAC',
    source: { video: fixturePath('avatar.h264'), audio: 'aac', audioFile: fixturePath('avatar.aac') },
    videoCodec: 'h264',
    width: 768,
    height: 320,
    audioCodec: 'aac',
  },
  { name: 'H.265', source: { video: fixturePath('avatar.h265') }, videoCodec: 'hevc', width: 768, height: 320 },
];

const transports: MediaTransport[] = ['udp', 'tcp-passive', 'tcp-active'];

let nginx: NginxRtmp;
let streamer: Streamer;
let dir: string;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'gbcast-e2e-'));
  nginx = await startNginxRtmp({ record: true });
  streamer = await startTestStreamer({ noMediaTimeoutMs: 20_000 });
});

after(async () => {
  await streamer?.stop();
  await nginx?.stop();
  await rm(dir, { recursive: true, force: true });
});

let ssrcSeq = 100;

async function runCase(transport: MediaTransport, mc: MediaCase, hevc: 'legacy' | 'enhanced' = 'legacy') {
  const streamId = `${transport}-${mc.name.replace(/[^A-Za-z0-9]+/g, '')}-${hevc}`;
  const ssrc = String(ssrcSeq++).padStart(10, '0');
  const open = await api<{ address: string; port: number }>(streamer, 'POST', '/api/v1/receivers', {
    streamId,
    ssrc,
    transport,
    rtmpUrl: nginx.url('live', streamId),
    hevc,
  });
  assert.equal(open.status, 200);
  const flvFile = path.join(dir, `${streamId}.http.flv`);
  const download = downloadFlv(`${streamer.httpUrl}/live/${streamId}.flv${hevc === 'enhanced' ? '?hevc=enhanced' : ''}`, flvFile);

  const camera = await startMediaStream({
    ...mc.source,
    transport: transport === 'udp' ? 'udp' : transport === 'tcp-passive' ? 'tcp-connect' : 'tcp-listen',
    host: open.body.address,
    port: open.body.port,
    ssrc: Number(ssrc),
    pacing: 'realtime',
    maxFrames: FRAMES,
  });
  if (transport === 'tcp-active') {
    const peer = await api(streamer, 'PUT', `/api/v1/receivers/${streamId}/peer`, { ip: '127.0.0.1', port: camera.localPort });
    assert.equal(peer.status, 204);
  }
  const ended = await camera.done;
  assert.equal(ended, 'end');
  // Let the last packets through the pipeline, then close: the publisher flushes, nginx finalises.
  await new Promise((r) => setTimeout(r, 300));
  const info = await api<{ framesOut: number; lost: number; packets: number }>(streamer, 'GET', `/api/v1/receivers/${streamId}`);
  assert.equal(info.status, 200);
  assert.equal(info.body.packets, camera.stats.packets);
  assert.equal(info.body.lost, 0);
  assert.equal((await api(streamer, 'DELETE', `/api/v1/receivers/${streamId}`)).status, 204);
  await camera.stop();
  await download;
  return { streamId, flvFile, camera };
}

async function recordingOf(streamId: string): Promise<string> {
  for (let i = 0; i < 50; i++) {
    const file = (await nginx.recordings()).find((f) => path.basename(f).startsWith(`${streamId}-`) || path.basename(f) === `${streamId}.flv`);
    if (file) return file;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nginx recorded nothing for ${streamId}`);
}

function checkDecode(report: Awaited<ReturnType<typeof decodeFlv>>, mc: MediaCase, where: string) {
  assert.equal(report.errors, '', `${where}: FFmpeg reported errors`);
  assert.equal(report.videoCodec, mc.videoCodec, where);
  assert.equal(report.width, mc.width, where);
  assert.equal(report.height, mc.height, where);
  assert.equal(report.videoFrames, FRAMES, `${where}: every video frame sent must decode`);
  if (mc.audioCodec) {
    assert.equal(report.audioCodec, mc.audioCodec, where);
    assert.ok(report.audioFrames > 0, `${where}: audio frames`);
  }
}

for (const transport of transports) {
  describe(`media over ${transport}`, { concurrency: true }, () => {
    for (const mc of mediaCases) {
      test(`${mc.name}: RTMP to nginx-rtmp and HTTP-FLV decode every frame`, async () => {
        const { streamId, flvFile } = await runCase(transport, mc);
        const recorded = await decodeFlv(await recordingOf(streamId));
        checkDecode(recorded, mc, 'nginx-rtmp recording');
        if (mc.videoCodec === 'hevc') assert.equal(recorded.carriage, 'hevc-legacy');
        checkDecode(await decodeFlv(flvFile), mc, 'HTTP-FLV');
      });
    }
  });
}

test('H.265 as enhanced RTMP (hvc1) over HTTP-FLV decodes every frame', async () => {
  const mc = mediaCases[2];
  const { flvFile } = await runCase('udp', mc, 'enhanced');
  const report = await decodeFlv(flvFile);
  assert.equal(report.carriage, 'hevc-enhanced');
  checkDecode(report, mc, 'HTTP-FLV hvc1');
});
