/**
 * The public API around devices: bearer token, OpenAPI, credentials, PTZ to a live device (SIPp
 * registered and answering MESSAGEs), the catalog a device reports.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startRedisServer, type RedisServer } from './support/redis-server.ts';
import { runSipp, sippDevices, startSippBackground } from './support/sipp.ts';
import { startTestSignaling, TEST_PASSWORD } from './support/signaling.ts';
import { waitFor } from './support/wait.ts';

let redisServer: RedisServer;
before(async () => {
  redisServer = await startRedisServer();
});
after(async () => {
  await redisServer?.stop();
});


describe('signaling public API', () => {
  test('with --api-token every /api route needs the bearer token; health, metrics and OpenAPI stay open', async () => {
    const signaling = await startTestSignaling(redisServer.url, { apiToken: 'tok-123' });
    try {
      const base = signaling.httpUrl;
      assert.equal((await fetch(`${base}/api/v1/devices`)).status, 401);
      assert.equal((await fetch(`${base}/api/v1/devices`, { headers: { authorization: 'Bearer wrong' } })).status, 401);
      assert.equal((await fetch(`${base}/api/v1/streams`, { headers: { authorization: 'Bearer tok-123' } })).status, 200);
      assert.equal((await fetch(`${base}/healthz`)).status, 200);
      assert.equal((await fetch(`${base}/metrics`)).status, 200);
      const spec = (await (await fetch(`${base}/openapi.json`)).json()) as { openapi: string; paths: Record<string, unknown> };
      assert.match(spec.openapi, /^3\./);
      for (const path of ['/api/v1/devices', '/api/v1/devices/{deviceId}/channels', '/api/v1/devices/{deviceId}/channels/{channelId}/play', '/api/v1/devices/{deviceId}/channels/{channelId}/ptz', '/api/v1/streams/{streamId}', '/api/v1/streamers']) {
        assert.ok(spec.paths[path], `OpenAPI documents ${path}`);
      }
    } finally {
      await signaling.stop();
    }
  });

  test('a per-device credential from the API replaces the global password; unknown devices can be refused', async () => {
    const signaling = await startTestSignaling(redisServer.url, { unknownDevices: 'refuse' });
    try {
      const [device] = sippDevices(1, { password: 'own-password' });
      const refused = await runSipp({ scenario: 'register', remotePort: signaling.sipPort, devices: [device] });
      assert.notEqual(refused.outcome, 'all-succeeded', 'a device without a credential is refused');
      const put = await fetch(`${signaling.httpUrl}/api/v1/devices/${device.id}/credential`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ password: 'own-password' }),
      });
      assert.equal(put.status, 204);
      const accepted = await runSipp({ scenario: 'register', remotePort: signaling.sipPort, devices: [device] });
      assert.equal(accepted.outcome, 'all-succeeded', `${accepted.errors}`);
    } finally {
      await signaling.stop();
    }
  });

  test('PTZ reaches a live device as DeviceControl with the right PTZCmd; the catalog it answers is stored and refreshed', async () => {
    const signaling = await startTestSignaling(redisServer.url, { queryRefreshS: 1, presenceSweepMs: 200 });
    const devices = sippDevices(1, { password: TEST_PASSWORD });
    const sipp = await startSippBackground({
      scenario: 'device',
      remotePort: signaling.sipPort,
      devices,
      keys: { keepalives: -1, keepalive_interval: 1000 },
      oocScenario: 'uas-answer-message',
    });
    try {
      const id = devices[0].id;
      const channels = await waitFor('catalog stored', async () => {
        const res = await fetch(`${signaling.httpUrl}/api/v1/devices/${id}/channels`);
        if (res.status !== 200) return undefined;
        const body = (await res.json()) as { channels: { id: string }[] };
        return body.channels.length > 0 ? body.channels : undefined;
      });
      assert.equal(channels.length, 1);
      const ptz = await fetch(`${signaling.httpUrl}/api/v1/devices/${id}/channels/${channels[0].id}/ptz`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ action: 'right', speed: 128 }),
      });
      assert.equal(ptz.status, 200, await ptz.clone().text());
      assert.deepEqual(await ptz.json(), { status: 200, ptzCmd: 'A50F010180000036' });
      const bad = await fetch(`${signaling.httpUrl}/api/v1/devices/${id}/channels/${channels[0].id}/ptz`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ action: 'sideways' }),
      });
      assert.equal(bad.status, 400);
      const unknown = await fetch(`${signaling.httpUrl}/api/v1/devices/34020000001329999999/channels/x/ptz`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ action: 'stop' }),
      });
      assert.equal(unknown.status, 404);
      // --query-refresh-s: the online device is asked again.
      await waitFor('catalog asked and answered again', async () => (signaling.stats.catalogsCompleted >= 2 ? true : undefined)).catch((err: unknown) => {
        throw new Error(`${String(err)}: ${JSON.stringify(signaling.stats)}`);
      });
      assert.ok((signaling.stats.queriesSent.Catalog ?? 0) >= 2);
    } finally {
      await sipp.stop();
      await signaling.stop();
    }
  });

  test('RTMP play hooks: an unknown channel is refused in each server\'s dialect; the token guards them', async () => {
    const signaling = await startTestSignaling(redisServer.url, { apiToken: 'hook-tok' });
    try {
      const base = signaling.httpUrl;
      const form = { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' } };
      const nginxBody = new URLSearchParams({ call: 'play', app: 'live', name: '34020000001310099999', tcurl: 'rtmp://127.0.0.1:1935/live' }).toString();
      assert.equal((await fetch(`${base}/hooks/nginx-rtmp/on_play`, { ...form, body: nginxBody })).status, 401);
      const refused = await fetch(`${base}/hooks/nginx-rtmp/on_play?token=hook-tok`, { ...form, body: nginxBody });
      assert.equal(refused.status, 404);
      const srs = await fetch(`${base}/hooks/srs/on_play?token=hook-tok`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ action: 'on_play', app: 'live', stream: '34020000001310099999', tcUrl: 'rtmp://127.0.0.1/live' }),
      });
      assert.equal(srs.status, 200);
      assert.notEqual(((await srs.json()) as { code: number }).code, 0, 'SRS is told to refuse the play');
      const done = await fetch(`${base}/hooks/nginx-rtmp/on_play_done?token=hook-tok`, { ...form, body: nginxBody });
      assert.equal(done.status, 200);
      const bad = await fetch(`${base}/hooks/nginx-rtmp/on_play?token=hook-tok`, { ...form, body: 'name=../../etc' });
      assert.equal(bad.status, 400);
    } finally {
      await signaling.stop();
    }
  });

  test('play: an unknown device is 404, and no streamer in the pool is 503 with the reason', async () => {
    const signaling = await startTestSignaling(redisServer.url);
    try {
      const devices = sippDevices(1, { password: TEST_PASSWORD });
      const reg = await runSipp({ scenario: 'register', remotePort: signaling.sipPort, devices });
      assert.equal(reg.outcome, 'all-succeeded');
      const play = (deviceId: string) =>
        fetch(`${signaling.httpUrl}/api/v1/devices/${deviceId}/channels/34020000001310000001/play`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      assert.equal((await play('34020000001329999999')).status, 404);
      const res = await play(devices[0].id);
      assert.equal(res.status, 503);
      assert.equal(((await res.json()) as { reason: string }).reason, 'no-streamer');
      assert.deepEqual(((await (await fetch(`${signaling.httpUrl}/api/v1/streams`)).json()) as { streams: unknown[] }).streams, []);
    } finally {
      await signaling.stop();
    }
  });
});
