/**
 * `gbcast all` in this process: with the in-process store it needs nothing else (demo cameras
 * register, a channel plays to HTTP-FLV, stop sends BYE and unregisters); with --redis-url it is one
 * node of a cluster (a streamer started elsewhere joins its pool).
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { parseConfig } from '../common/config.ts';
import { silentLogger } from '../common/logger.ts';
import { AllInOne, type AllConfig } from '../all/all.ts';
import { allOptions } from '../all/config.ts';
import { loopbackAllFlags } from './support/gbcast-process.ts';
import { startRedisServer, type RedisServer } from './support/redis-server.ts';
import { startTestStreamer } from './support/streamer.ts';
import { waitFor } from './support/wait.ts';

const quiet = { signaling: silentLogger(), streamer: silentLogger(), demo: silentLogger(), all: silentLogger() };

function allConfig(extra: string[]): AllConfig {
  return parseConfig(allOptions, [
    ...loopbackAllFlags,
    `--streamer-id=all-${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
    ...extra,
  ], {});
}

/** The first `n` bytes (or all, if the body ends first) of a streaming response; then it is cancelled. */
async function readAtLeast(res: Response, n: number): Promise<Buffer> {
  const reader = res.body!.getReader();
  let got = Buffer.alloc(0);
  while (got.length < n) {
    const { value, done } = await reader.read();
    if (done) break;
    got = Buffer.concat([got, value]);
  }
  await reader.cancel();
  return got;
}

async function json<T>(url: string, init?: RequestInit): Promise<T> {
  const res = await fetch(url, init);
  assert.ok(res.ok, `${init?.method ?? 'GET'} ${url}: ${res.status} ${await res.clone().text()}`);
  return (await res.json()) as T;
}

interface DeviceList {
  devices: { id: string; online: boolean; channelCount?: number }[];
}

let redis: RedisServer | undefined;
after(async () => {
  await redis?.stop();
});

test('without Redis: demo cameras register, a channel plays over HTTP-FLV, stop ends it all', async () => {
  const all = new AllInOne(allConfig(['--demo', '--demo-cameras=2', '--demo-channels=2']), quiet);
  await all.start();
  try {
    assert.equal(all.backend.kind, 'memory');
    assert.equal(all.generatedPassword, true);
    const api = `${all.signaling.httpUrl}/api/v1`;
    const devices = await waitFor('both demo cameras online with their catalog', async () => {
      const list = await json<DeviceList>(`${api}/devices`);
      const ready = list.devices.filter((d) => d.online && d.channelCount === 2);
      return ready.length === 2 ? ready : undefined;
    }, 20_000, 200);
    const deviceId = devices[0].id;
    const { channels } = await json<{ channels: { id: string }[] }>(`${api}/devices/${deviceId}/channels`);
    const play = await json<{ streamId: string; flvUrl: string }>(`${api}/devices/${deviceId}/channels/${channels[0].id}/play`, { method: 'POST' });
    assert.match(play.flvUrl, /^http:\/\/127\.0\.0\.1:\d+\/live\//);

    // The first FLV bytes: header, then tags with the demo's H.264 (codec id 7).
    const res = await fetch(play.flvUrl);
    assert.equal(res.status, 200);
    const got = await readAtLeast(res, 64 * 1024);
    assert.equal(got.subarray(0, 3).toString('latin1'), 'FLV');
    assert.ok(got.includes(Buffer.from([0x17, 0x00])), 'an AVC sequence header (keyframe, codec 7)');

    // The same stream relayed by signaling (what the console plays), and a 404 for an unknown one.
    const relayed = await fetch(`${api}/streams/${play.streamId}/live.flv`);
    assert.equal(relayed.status, 200);
    assert.equal(relayed.headers.get('content-type'), 'video/x-flv');
    const relayedBytes = await readAtLeast(relayed, 16 * 1024);
    assert.equal(relayedBytes.subarray(0, 3).toString('latin1'), 'FLV');
    assert.equal((await fetch(`${api}/streams/no-such-stream/live.flv`)).status, 404);

    const { streams } = await json<{ streams: { streamId: string; state: string }[] }>(`${api}/streams`);
    assert.deepEqual(streams.map((s) => [s.streamId, s.state]), [[play.streamId, 'live']]);
  } finally {
    await all.stop();
  }
  assert.equal(await all.backend.streams.list().then((l) => l.length), 0, 'stop ended the stream');
  assert.equal(await all.backend.devices.countOnline(), 0, 'stop unregistered the demo cameras');
});

test('with --redis-url: one node of a cluster, whose pool takes a streamer started elsewhere', async () => {
  redis = await startRedisServer();
  const all = new AllInOne(allConfig([`--redis-url=${redis.url}`, '--password=cluster-pw', '--redis-prefix=alltest:']), quiet);
  await all.start();
  const other = await startTestStreamer({ redisUrl: redis.url, redisPrefix: 'alltest:', reportIntervalMs: 200 });
  try {
    assert.equal(all.backend.kind, 'redis');
    assert.equal(all.generatedPassword, false);
    const ids = await waitFor('both streamers in the pool', async () => {
      const { streamers } = await json<{ streamers: { id: string }[] }>(`${all.signaling.httpUrl}/api/v1/streamers`);
      return streamers.length === 2 ? streamers.map((s) => s.id).sort() : undefined;
    }, 10_000, 100);
    assert.deepEqual(ids, [all.streamer.config.streamerId, other.config.streamerId].sort());
  } finally {
    await other.stop();
    await all.stop();
  }
});
