/**
 * End to end: `gbcast camera` devices register to signaling, a play through the API (or an RTMP
 * viewer through nginx-rtmp's play hooks) INVITEs the camera onto a streamer, and ffprobe decodes
 * the video at nginx-rtmp. Real peers throughout: redis-server, the streamer, nginx-rtmp, ffprobe.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { CameraFleet } from '../camera/sip/fleet.ts';
import type { Signaling } from '../signaling/signaling.ts';
import type { Streamer } from '../streamer/streamer.ts';
import { startTestCameras } from './support/cameras.ts';
import { startNginxRtmp, type NginxRtmp } from './support/nginx-rtmp.ts';
import { startRedisServer, type RedisServer } from './support/redis-server.ts';
import { startTestSignaling } from './support/signaling.ts';
import { startTestStreamer } from './support/streamer.ts';
import { waitFor } from './support/wait.ts';

const run = promisify(execFile);
let redisServer: RedisServer;
let signaling: Signaling;
let streamer: Streamer;
let nginx: NginxRtmp;

before(async () => {
  redisServer = await startRedisServer();
  const redisPrefix = `e2e${process.pid}:`;
  signaling = await startTestSignaling(redisServer.url, { redisPrefix, onDemandIdleMs: 1000, presenceSweepMs: 200, inviteTimeoutMs: 5000 });
  streamer = await startTestStreamer({ redisUrl: redisServer.url, redisPrefix, reportIntervalMs: 500, noMediaTimeoutMs: 3000 });
  const hook = signaling.httpUrl;
  nginx = await startNginxRtmp({
    applicationConfig: `on_play ${hook}/hooks/nginx-rtmp/on_play; on_play_done ${hook}/hooks/nginx-rtmp/on_play_done;`,
  });
  // The streamer's first load report puts it in the pool.
  for (let i = 0; i < 50 && (await signaling.streamStore.listStreamers()).length === 0; i++) await new Promise((r) => setTimeout(r, 100));
});

after(async () => {
  await streamer?.stop();
  await signaling?.stop();
  await nginx?.stop();
  await redisServer?.stop();
});

async function fleet(firstDeviceId: string, quirks: string[] = []): Promise<CameraFleet> {
  const f = await startTestCameras(signaling, firstDeviceId, { channels: 2, quirks: quirks as never });
  // Registered and its catalog stored.
  for (let i = 0; i < 100; i++) {
    const res = await fetch(`${signaling.httpUrl}/api/v1/devices/${firstDeviceId}/channels`);
    if (res.status === 200 && ((await res.json()) as { channels: unknown[] }).channels.length === 2) return f;
    await new Promise((r) => setTimeout(r, 100));
  }
  await f.stop();
  throw new Error('camera did not register with its catalog');
}

async function channelsOf(deviceId: string): Promise<string[]> {
  const body = (await (await fetch(`${signaling.httpUrl}/api/v1/devices/${deviceId}/channels`)).json()) as { channels: { id: string }[] };
  return body.channels.map((c) => c.id);
}

function play(deviceId: string, channelId: string, body: object) {
  return fetch(`${signaling.httpUrl}/api/v1/devices/${deviceId}/channels/${channelId}/play`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

async function probeVideo(url: string): Promise<{ codec: string; width: number; ms: number }> {
  const t0 = Date.now();
  const { stdout } = await run('ffprobe', ['-v', 'error', '-rw_timeout', '8000000', '-analyzeduration', '1000000', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name,width', '-of', 'json', url], { timeout: 15_000 });
  const s = (JSON.parse(stdout) as { streams: { codec_name: string; width: number }[] }).streams[0];
  return { codec: s.codec_name, width: s.width, ms: Date.now() - t0 };
}


describe('signaling end to end with gbcast camera, the streamer and nginx-rtmp', () => {
  const transports = ['udp', 'tcp-passive', 'tcp-active'] as const;
  transports.forEach((transport, i) => {
    test(`play over ${transport}: ffprobe decodes the video at nginx-rtmp; a second play shares the stream; stop sends BYE and closes the receiver`, async () => {
      const deviceId = `3402000000132000010${i}`;
      const cameras = await fleet(deviceId);
      try {
        const [channelId] = await channelsOf(deviceId);
        const t0 = Date.now();
        // Published under the channel's id, as --rtmp-url-template rtmp://…/live/{channelId} does; the
        // viewer's on_play hook then finds the running stream.
        const res = await play(deviceId, channelId, { transport, rtmpUrl: nginx.url('live', channelId) });
        assert.equal(res.status, 200, await res.clone().text());
        const first = (await res.json()) as { streamId: string; reused: boolean; transport: string };
        const playMs = Date.now() - t0;
        assert.equal(first.transport, transport);
        const video = await probeVideo(nginx.url('live', channelId));
        assert.equal(video.codec, 'h264');
        assert.equal(video.width, 768);
        console.log(`${transport}: play answered in ${playMs} ms; ffprobe decoded video ${Date.now() - t0} ms after the play request (its own run ${video.ms} ms)`);
        const again = (await (await play(deviceId, channelId, { transport })).json()) as { streamId: string; reused: boolean };
        assert.deepEqual([again.streamId, again.reused], [first.streamId, true], 'two plays of one channel share one stream');
        assert.equal((await fetch(`${signaling.httpUrl}/api/v1/streams/${first.streamId}`, { method: 'DELETE' })).status, 204);
        await waitFor('receiver closed', async () => (streamer.table.get(first.streamId) ? undefined : true));
        await waitFor('camera call ended', async () => (cameras.devices[0].calls().length === 0 ? true : undefined));
      } finally {
        await cameras.stop();
      }
    });
  });

  test('a camera that never sends media is torn down with a reason: the streamer closes the receiver, signaling sends BYE', async () => {
    const deviceId = '34020000001320000200';
    const cameras = await fleet(deviceId, ['no-media']);
    try {
      const [channelId] = await channelsOf(deviceId);
      const res = await play(deviceId, channelId, {});
      assert.equal(res.status, 200, await res.clone().text());
      const { streamId } = (await res.json()) as { streamId: string };
      await waitFor('stream ended', async () => ((await signaling.streamStore.get(streamId)) ? undefined : true), 15_000);
      await waitFor('camera got the BYE', async () => (cameras.devices[0].calls().length === 0 ? true : undefined));
      assert.equal(signaling.stats.streamsEnded['no-media'] ?? 0, 1);
    } finally {
      await cameras.stop();
    }
  });

  test('on demand: a viewer pulling live/{channelId} from nginx-rtmp gets video with no API call; the stream stops after the last viewer leaves', async () => {
    const deviceId = '34020000001320000300';
    const cameras = await fleet(deviceId);
    try {
      const [, channelId] = await channelsOf(deviceId);
      const video = await probeVideo(nginx.url('live', channelId));
      assert.equal(video.codec, 'h264');
      const streams = (await (await fetch(`${signaling.httpUrl}/api/v1/streams`)).json()) as { streams: { channelId: string }[] };
      assert.ok(streams.streams.some((s) => s.channelId === channelId), 'the hook started the channel');
      await waitFor('stream stopped after the idle time', async () =>
        ((await (await fetch(`${signaling.httpUrl}/api/v1/streams`)).json()) as { streams: { channelId: string }[] }).streams.some((s) => s.channelId === channelId)
          ? undefined
          : true,
      );
      await waitFor('camera call ended', async () => (cameras.devices[0].calls().length === 0 ? true : undefined));
    } finally {
      await cameras.stop();
    }
  });
});
