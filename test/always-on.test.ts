/**
 * Always-on channels end to end: simulated cameras (CameraFleet) register to a real signaling,
 * whose keeper plays their always-on channels onto real streamers, on Redis (a real redis-server)
 * and on the in-process store `gbcast all` uses. The streamer-death case kills `gbcast streamer`
 * child processes with SIGKILL.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { CameraFleet } from '../camera/sip/fleet.ts';
import { channelIdsOf } from '../camera/sip/ids.ts';
import { createMemoryBackend } from '../common/store/memory/backend.ts';
import type { StoreBackend } from '../common/store/backend.ts';
import type { StreamSession } from '../common/store/stream-store.ts';
import type { Signaling } from '../signaling/signaling.ts';
import type { Streamer } from '../streamer/streamer.ts';
import { startTestCameras } from './support/cameras.ts';
import { startGbcast, type GbcastProcess } from './support/gbcast-process.ts';
import { freePort } from './support/ports.ts';
import { startRedisServer, type RedisServer } from './support/redis-server.ts';
import { startTestSignaling, startTestSignalingOn, type SignalingOverrides } from './support/signaling.ts';
import { startTestStreamer, type StreamerOverrides } from './support/streamer.ts';
import { waitFor } from './support/wait.ts';

const TOKEN = 'always-on-token';
const signalingOverrides: SignalingOverrides = { apiToken: TOKEN, alwaysOnCheckMs: 500, presenceSweepMs: 200, inviteTimeoutMs: 5000 };

interface Env {
  readonly signaling: Signaling;
  readonly backend: StoreBackend;
  startStreamer(overrides: StreamerOverrides): Promise<Streamer>;
  close(): Promise<void>;
}

async function redisEnv(redis: RedisServer): Promise<Env> {
  const redisPrefix = `ao${process.pid}-${Math.random().toString(36).slice(2, 6)}:`;
  const signaling = await startTestSignaling(redis.url, { redisPrefix, ...signalingOverrides });
  return envAround(signaling, (o) => startTestStreamer({ redisUrl: redis.url, redisPrefix, reportIntervalMs: 500, ...o }), async () => {});
}

async function memoryEnv(): Promise<Env> {
  const backend = createMemoryBackend();
  const signaling = await startTestSignalingOn(backend, signalingOverrides);
  return envAround(signaling, (o) => startTestStreamer({ reportIntervalMs: 500, ...o }, { backend }), () => backend.close());
}

function envAround(signaling: Signaling, start: (o: StreamerOverrides) => Promise<Streamer>, closeStore: () => Promise<void>): Env {
  const streamers: Streamer[] = [];
  return {
    signaling,
    backend: signaling.backend,
    async startStreamer(overrides) {
      const s = await start(overrides);
      streamers.push(s);
      await waitFor('streamer in its pool', async () => (await signaling.streamStore.listStreamers()).some((r) => r.id === s.config.streamerId));
      return s;
    },
    async close() {
      await signaling.stop();
      await Promise.all(streamers.map((s) => s.stop()));
      await closeStore();
    },
  };
}

async function api(env: Env, method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${env.signaling.httpUrl}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

const cameras = (env: Env, firstDeviceId: string) => startTestCameras(env.signaling, firstDeviceId, { channels: 2 });

/** The channel's stream once it is live (and, with `not`, is not that stream). */
function liveStream(signaling: Signaling, deviceId: string, channelId: string, not?: string): () => Promise<StreamSession | undefined> {
  return async () => {
    const id = await signaling.streamStore.channelStreamId(deviceId, channelId);
    if (!id || id === not) return undefined;
    const s = await signaling.streamStore.get(id);
    return s?.state === 'live' ? s : undefined;
  };
}

/** Media of the stream reaches its streamer. */
async function mediaArrives(streamer: Streamer, streamId: string): Promise<void> {
  await waitFor(`media of ${streamId} on ${streamer.config.streamerId}`, () => (streamer.table.get(streamId)?.packets ?? 0) > 0);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let redis: RedisServer;
before(async () => {
  redis = await startRedisServer();
});
after(async () => {
  await redis?.stop();
});

for (const kind of ['redis', 'memory'] as const) {
  describe(`always-on channels (${kind} store)`, () => {
    let env: Env;
    before(async () => {
      env = kind === 'redis' ? await redisEnv(redis) : await memoryEnv();
    });
    after(() => env?.close());

    test('a device with an always-on channel streams it when it registers; the device\'s BYE ends it and it starts again', async () => {
      const streamer = await env.startStreamer({ pool: 'p-online' });
      const deviceId = kind === 'redis' ? '34020000001320000401' : '34020000001320000501';
      const [channelId, other] = channelIdsOf(deviceId, 2);
      assert.equal((await api(env, 'PUT', `/devices/${deviceId}/config`, { pool: 'p-online', alwaysOn: [{ channelId }] })).status, 204);
      const fleet = await cameras(env, deviceId);
      const camera = fleet.devices[0];
      try {
        const first = await waitFor('the always-on stream', liveStream(env.signaling, deviceId, channelId));
        assert.equal(first.streamerId, streamer.config.streamerId);
        await mediaArrives(streamer, first.streamId);
        assert.equal(await env.signaling.streamStore.channelStreamId(deviceId, other), undefined, 'only the always-on channel');

        const call = camera.calls().find((c) => c.channelId === channelId);
        assert.ok(call);
        assert.equal(await camera.hangUp(call.callId), true);
        const second = await waitFor('the stream started again', liveStream(env.signaling, deviceId, channelId, first.streamId));
        await mediaArrives(streamer, second.streamId);
        const restarts = env.signaling.stats.alwaysOnRestarts;
        assert.ok((restarts['device-online'] ?? 0) >= 1, JSON.stringify(restarts));
        assert.ok((restarts['device-bye'] ?? 0) >= 1, JSON.stringify(restarts));
        const metrics = await (await fetch(`${env.signaling.httpUrl}/metrics`)).text();
        assert.match(metrics, /gbcast_signaling_always_on_restarts_total\{reason="device-bye"[^}]*\} [1-9]/);
        assert.match(metrics, /gbcast_signaling_always_on_channels\{state="running"[^}]*\} [1-9]/);
      } finally {
        await fleet.stop();
      }
    });

    test('draining its streamer moves the always-on stream to another one; other streams stay on the draining streamer', async () => {
      const draining = await env.startStreamer({ pool: 'p-drain' });
      const deviceId = kind === 'redis' ? '34020000001320000402' : '34020000001320000502';
      const [alwaysOn, ordinary] = channelIdsOf(deviceId, 2);
      assert.equal((await api(env, 'PUT', `/devices/${deviceId}/config`, { pool: 'p-drain', alwaysOn: [{ channelId: alwaysOn }] })).status, 204);
      const fleet = await cameras(env, deviceId);
      try {
        const kept = await waitFor('the always-on stream', liveStream(env.signaling, deviceId, alwaysOn));
        const played = await api(env, 'POST', `/devices/${deviceId}/channels/${ordinary}/play`);
        assert.equal(played.status, 200, JSON.stringify(played.body));
        const plain = played.body as { streamId: string; streamer: { id: string } };
        assert.deepEqual([kept.streamerId, plain.streamer.id], [draining.config.streamerId, draining.config.streamerId]);

        const target = await env.startStreamer({ pool: 'p-drain' });
        await env.backend.streamers.requestDrain(draining.config.streamerId);
        const moved = await waitFor('the always-on stream on the other streamer', liveStream(env.signaling, deviceId, alwaysOn, kept.streamId));
        assert.equal(moved.streamerId, target.config.streamerId);
        await mediaArrives(target, moved.streamId);
        assert.ok(draining.draining);
        assert.equal((await env.signaling.streamStore.get(plain.streamId))?.streamerId, draining.config.streamerId, 'the ordinary stream runs on');
        assert.ok(draining.table.get(plain.streamId), 'its receiver too');
        assert.ok((env.signaling.stats.alwaysOnRestarts['streamer-draining'] ?? 0) >= 1);
      } finally {
        await fleet.stop();
      }
    });

    test('configuration changes: a channel added while the device is online starts; one removed is no longer kept (its stream runs on until it ends)', async () => {
      const streamer = await env.startStreamer({ pool: 'p-config' });
      const deviceId = kind === 'redis' ? '34020000001320000403' : '34020000001320000503';
      const fleet = await cameras(env, deviceId);
      const camera = fleet.devices[0];
      const [first, second] = camera.channelIds;
      try {
        await waitFor('device online', async () => (await env.signaling.store.get(deviceId))?.online);
        assert.equal((await api(env, 'PUT', `/devices/${deviceId}/config`, { pool: 'p-config', alwaysOn: [{ channelId: first }] })).status, 204);
        const stream = await waitFor('the channel added while online', liveStream(env.signaling, deviceId, first));
        assert.equal(stream.streamerId, streamer.config.streamerId);
        assert.ok((env.signaling.stats.alwaysOnRestarts.check ?? 0) >= 1, 'started by the check');

        assert.equal((await api(env, 'PUT', `/devices/${deviceId}/config`, { pool: 'p-config', alwaysOn: [{ channelId: second }] })).status, 204);
        await waitFor('the new channel', liveStream(env.signaling, deviceId, second));
        assert.equal(await env.signaling.streamStore.channelStreamId(deviceId, first), stream.streamId, 'the removed channel\'s stream runs on');
        const call = camera.calls().find((c) => c.channelId === first);
        await camera.hangUp(call!.callId);
        await waitFor('the removed channel\'s stream ended', async () => !(await env.signaling.streamStore.channelStreamId(deviceId, first)));
        // Longer than a restart after the BYE (1 s) and two checks (500 ms each) take.
        await sleep(2500);
        assert.equal(await env.signaling.streamStore.channelStreamId(deviceId, first), undefined, 'not started again');
      } finally {
        await fleet.stop();
      }
    });

    test('an API stop of an always-on stream is not a restart trigger; the next check starts the channel again', async () => {
      await env.startStreamer({ pool: 'p-stop' });
      const deviceId = kind === 'redis' ? '34020000001320000404' : '34020000001320000504';
      const fleet = await cameras(env, deviceId);
      const [channelId] = fleet.devices[0].channelIds;
      try {
        await api(env, 'PUT', `/devices/${deviceId}/config`, { pool: 'p-stop', alwaysOn: [{ channelId }] });
        const stream = await waitFor('the always-on stream', liveStream(env.signaling, deviceId, channelId));
        const checksBefore = env.signaling.stats.alwaysOnRestarts.check ?? 0;
        assert.equal((await api(env, 'DELETE', `/streams/${stream.streamId}`)).status, 204);
        await waitFor('started again', liveStream(env.signaling, deviceId, channelId, stream.streamId));
        assert.equal(env.signaling.stats.alwaysOnRestarts.api, undefined);
        assert.ok((env.signaling.stats.alwaysOnRestarts.check ?? 0) > checksBefore, 'by the check');
      } finally {
        await fleet.stop();
      }
    });

    test('the config API: bearer token, validation, GET/PUT/DELETE, OpenAPI', async () => {
      const id = kind === 'redis' ? '34020000001320000405' : '34020000001320000505';
      const unauthorized = await fetch(`${env.signaling.httpUrl}/api/v1/devices/${id}/config`);
      assert.equal(unauthorized.status, 401);
      assert.equal((await api(env, 'GET', `/devices/${id}/config`)).status, 404);
      const config = { pool: 'edge', name: '北门', transport: 'tcp-passive', alwaysOn: [{ channelId: 'c1', rtmpUrl: 'rtmp://easydss/live/c1' }, { channelId: 'c2' }] };
      assert.equal((await api(env, 'PUT', `/devices/${id}/config`, config)).status, 204);
      assert.deepEqual(await api(env, 'GET', `/devices/${id}/config`), { status: 200, body: config });
      assert.deepEqual(await env.signaling.store.getConfig(id), config, 'written to the store');
      assert.equal((await api(env, 'PUT', `/devices/${id}/config`, { pool: 'p2' })).status, 204);
      assert.deepEqual((await api(env, 'GET', `/devices/${id}/config`)).body, { pool: 'p2', alwaysOn: [] }, 'replaced; alwaysOn defaults to none');
      for (const bad of [
        { alwaysOn: [{ channelId: 'c1' }, { channelId: 'c1' }] },
        { alwaysOn: [{ channelId: 'c1', rtmpUrl: 'http://x' }] },
        { transport: 'sctp' },
        { pool: 'a b' },
        { alwaysOn: [{}] },
        { other: 1 },
      ]) {
        const res = await api(env, 'PUT', `/devices/${id}/config`, bad);
        assert.equal(res.status, 400, JSON.stringify(bad));
        assert.equal((res.body as { reason: string }).reason, 'invalid-request');
      }
      assert.equal((await api(env, 'DELETE', `/devices/${id}/config`)).status, 204);
      assert.equal((await api(env, 'GET', `/devices/${id}/config`)).status, 404);
      const spec = (await (await fetch(`${env.signaling.httpUrl}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
      assert.deepEqual(Object.keys(spec.paths['/api/v1/devices/{deviceId}/config']).sort(), ['delete', 'get', 'put']);
    });
  });
}

describe('always-on channels with two signaling replicas (Redis)', () => {
  test('one stream per channel whichever replica acts; a stopping streamer\'s stream is moved once', async () => {
    const redisPrefix = `aotwo${process.pid}:`;
    const options = { redisPrefix, alwaysOnCheckMs: 300, presenceSweepMs: 200, inviteTimeoutMs: 5000 };
    const replicas = [await startTestSignaling(redis.url, options), await startTestSignaling(redis.url, options)];
    const streamers = [
      await startTestStreamer({ redisUrl: redis.url, redisPrefix, reportIntervalMs: 500, pool: 'p-two' }),
      await startTestStreamer({ redisUrl: redis.url, redisPrefix, reportIntervalMs: 500, pool: 'p-two' }),
    ];
    const [a] = replicas;
    const deviceId = '34020000001320000701';
    const [channelId] = channelIdsOf(deviceId, 1);
    const total = (reason: string) => replicas.reduce((sum, r) => sum + (r.stats.alwaysOnRestarts[reason] ?? 0), 0);
    let fleet: CameraFleet | undefined;
    try {
      await waitFor('both streamers in the pool', async () => (await a.streamStore.listStreamers()).filter((r) => r.pool === 'p-two').length === 2);
      await a.store.setConfig(deviceId, { pool: 'p-two', alwaysOn: [{ channelId }] });
      fleet = await startTestCameras(a, deviceId);
      const camera = fleet.devices[0];
      const first = await waitFor('the always-on stream', liveStream(a, deviceId, channelId));
      // Both replicas' checks look at the device several times meanwhile.
      await sleep(1200);
      assert.equal(await a.streamStore.channelStreamId(deviceId, channelId), first.streamId);
      assert.equal(camera.calls().length, 1, 'one INVITE reached the camera');
      assert.deepEqual([total('device-online'), total('check')], [1, 0]);

      const carrying = streamers.find((s) => s.config.streamerId === first.streamerId)!;
      const other = streamers.find((s) => s !== carrying)!;
      await carrying.stop(0);
      const moved = await waitFor('the stream on the other streamer', liveStream(a, deviceId, channelId, first.streamId));
      assert.equal(moved.streamerId, other.config.streamerId);
      await waitFor('the camera has the new call only', () => camera.calls().length === 1 && camera.calls()[0].state === 'active');
      await sleep(1200);
      assert.equal(total('streamer-draining') + total('streamer-gone'), 1, 'moved once');
      assert.equal(await a.streamStore.channelStreamId(deviceId, channelId), moved.streamId);
    } finally {
      await fleet?.stop();
      for (const r of replicas) await r.stop();
      for (const s of streamers) await s.stop();
    }
  });
});

describe('always-on channels when their streamer process is killed (Redis, gbcast streamer processes)', () => {
  const redisPrefix = `aokill${process.pid}:`;
  let signaling: Signaling;
  const processes: GbcastProcess[] = [];

  async function streamerProcess(id: string, ports?: { http: number; rtp: number }): Promise<{ process: GbcastProcess; ports: { http: number; rtp: number } }> {
    const p = ports ?? { http: await freePort(), rtp: await freePort() };
    const child = startGbcast(['streamer'], {
      GBCAST_FROM_SOURCE: '1',
      GBCAST_STREAMER_ID: id,
      GBCAST_POOL: 'p-kill',
      GBCAST_REDIS_URL: redis.url,
      GBCAST_REDIS_PREFIX: redisPrefix,
      GBCAST_HTTP_PORT: String(p.http),
      GBCAST_RTP_PORT: String(p.rtp),
      GBCAST_HTTP_HOST: '127.0.0.1',
      GBCAST_RTP_HOST: '127.0.0.1',
      GBCAST_PUBLIC_ADDRESS: '127.0.0.1',
    });
    processes.push(child);
    await child.waitForLog('streamer started', (l) => l.msg === 'streamer started');
    await waitFor(`${id} in the pool`, async () => (await signaling.streamStore.listStreamers()).some((r) => r.id === id && !r.draining));
    return { process: child, ports: p };
  }

  async function receiving(url: string, streamId: string): Promise<boolean> {
    const res = await fetch(`${url}/api/v1/receivers/${streamId}`).catch(() => undefined);
    return res?.status === 200 && ((await res.json()) as { packets: number }).packets > 0;
  }

  before(async () => {
    // The probe settings are the defaults: what is measured is what a cluster gets.
    signaling = await startTestSignaling(redis.url, { redisPrefix, presenceSweepMs: 200, inviteTimeoutMs: 5000 });
  });
  after(async () => {
    await signaling?.stop();
    for (const p of processes) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  });

  test('SIGKILL of the streamer carrying it: live on another streamer within 5 s; a streamer restarted in place gets its lost stream back', async () => {
    const a = await streamerProcess('kill-a');
    const b = await streamerProcess('kill-b');
    const byId = new Map([
      ['kill-a', a],
      ['kill-b', b],
    ]);
    const deviceId = '34020000001320000601';
    const [channelId] = channelIdsOf(deviceId, 1);
    await signaling.store.setConfig(deviceId, { pool: 'p-kill', alwaysOn: [{ channelId }] });
    const fleet = await startTestCameras(signaling, deviceId);
    const live = (not?: string) => liveStream(signaling, deviceId, channelId, not);
    try {
      const first = await waitFor('the always-on stream', live(), 15_000);
      await waitFor('media on the first streamer', () => receiving(first.streamerUrl, first.streamId));
      const victim = byId.get(first.streamerId)!;
      const survivorId = first.streamerId === 'kill-a' ? 'kill-b' : 'kill-a';

      const killedAt = Date.now();
      victim.process.child.kill('SIGKILL');
      // The acceptance: within 5 s of the kill the channel is live on another streamer.
      const moved = await waitFor('the stream live on the other streamer', live(first.streamId), 5000, 20);
      const liveMs = Date.now() - killedAt;
      assert.equal(moved.streamerId, survivorId);
      await waitFor('media on the other streamer', () => receiving(moved.streamerUrl, moved.streamId), 5000, 20);
      const mediaMs = Date.now() - killedAt;
      console.log(`SIGKILL of ${victim.process.child.pid} (${first.streamerId}): stream live on ${survivorId} after ${liveMs} ms, its media arriving after ${mediaMs} ms`);
      assert.equal(signaling.stats.streamersGone.unreachable, 1);
      assert.equal(signaling.stats.alwaysOnRestarts['streamer-gone'], 1);

      // The survivor's process is killed and started again at once with the same id and ports (a
      // container restarted in its pod): the new process has no receiver for the stream.
      const survivor = byId.get(survivorId)!;
      survivor.process.child.kill('SIGKILL');
      const restartedAt = Date.now();
      await streamerProcess(survivorId, survivor.ports);
      const again = await waitFor('the stream live on the restarted streamer', live(moved.streamId), 20_000, 20);
      await waitFor('media on the restarted streamer', () => receiving(again.streamerUrl, again.streamId), 5000, 20);
      console.log(`restart in place of ${survivorId}: stream live again after ${Date.now() - restartedAt} ms (found ${JSON.stringify(signaling.stats.streamersGone)})`);
      assert.equal(again.streamerId, survivorId);
    } finally {
      await fleet.stop();
    }
  });
});
