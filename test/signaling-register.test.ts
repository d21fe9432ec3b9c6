/**
 * Registration and presence against a real Redis, with SIPp as an independent camera.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import type { GbcastEvent } from '../common/contracts.ts';
import { startRedisServer, type RedisServer } from './support/redis-server.ts';
import { runSipp, sippDevices } from './support/sipp.ts';
import { startTestSignaling, TEST_PASSWORD } from './support/signaling.ts';
import { waitFor } from './support/wait.ts';

let redisServer: RedisServer;
before(async () => {
  redisServer = await startRedisServer();
});
after(async () => {
  await redisServer?.stop();
});


async function subscribe(prefix: string): Promise<{ events: GbcastEvent[]; close(): void }> {
  const sub = new Redis(redisServer.url);
  const events: GbcastEvent[] = [];
  await sub.subscribe(`${prefix}events`);
  sub.on('message', (_c, m: string) => events.push(JSON.parse(m) as GbcastEvent));
  return { events, close: () => sub.disconnect() };
}

describe('signaling: registration and presence with SIPp as the camera', () => {
  for (const transport of ['udp', 'tcp'] as const) {
    for (const qop of [false, true]) {
      test(`digest REGISTER over ${transport} ${qop ? 'with' : 'without'} qop: 200 with Date, device online in Redis and over the API`, async () => {
        const signaling = await startTestSignaling(redisServer.url, { offerQop: qop });
        const events = await subscribe(signaling.config.redisPrefix);
        try {
          const devices = sippDevices(3, { password: TEST_PASSWORD });
          const result = await runSipp({ scenario: 'register', remotePort: signaling.sipPort, transport, devices });
          assert.equal(result.outcome, 'all-succeeded', `${result.stderr}\n${result.errors}`);
          for (const d of devices) {
            const res = await fetch(`${signaling.httpUrl}/api/v1/devices/${d.id}`);
            assert.equal(res.status, 200);
            const device = (await res.json()) as { online: boolean; transport: string; ip: string };
            assert.equal(device.online, true);
            assert.equal(device.transport, transport.toUpperCase());
            assert.equal(device.ip, '127.0.0.1');
          }
          await waitFor('online events', () => events.events.filter((e) => e.type === 'device.online').length === 3 || undefined);
          const list = (await (await fetch(`${signaling.httpUrl}/api/v1/devices?limit=2`)).json()) as { devices: { id: string }[]; next?: string };
          assert.deepEqual(list.devices.map((d) => d.id), devices.slice(0, 2).map((d) => d.id));
          const rest = (await (await fetch(`${signaling.httpUrl}/api/v1/devices?after=${list.next}`)).json()) as { devices: { id: string }[] };
          assert.deepEqual(rest.devices.map((d) => d.id), [devices[2].id]);
        } finally {
          events.close();
          await signaling.stop();
        }
      });
    }
  }

  test('wrong password: 403, and the lockout refuses even the right password afterwards', async () => {
    const signaling = await startTestSignaling(redisServer.url, { authMaxFailures: 3 });
    try {
      const [device] = sippDevices(1, { password: 'not-the-password' });
      const wrong = await runSipp({ scenario: 'register-wrong-password', remotePort: signaling.sipPort, devices: [device], calls: 3 });
      assert.equal(wrong.outcome, 'all-succeeded', `${wrong.stderr}\n${wrong.errors}`);
      // Locked out now: the right password gets 403 too.
      const right = await runSipp({ scenario: 'register-wrong-password', remotePort: signaling.sipPort, devices: [{ id: device.id, password: TEST_PASSWORD }] });
      assert.equal(right.outcome, 'all-succeeded', 'a locked-out device gets 403 with the right password');
      const other = sippDevices(1, { password: TEST_PASSWORD, first: 500 });
      const fromSameAddress = await runSipp({ scenario: 'register', remotePort: signaling.sipPort, devices: other });
      assert.notEqual(fromSameAddress.outcome, 'all-succeeded', 'the source address is locked out too');
      const metrics = await (await fetch(`${signaling.httpUrl}/metrics`)).text();
      assert.match(metrics, /gbcast_signaling_registrations_total\{outcome="wrong-password"[^}]*\} 3/);
      assert.match(metrics, /gbcast_signaling_registrations_total\{outcome="locked-out"[^}]*\} [1-9]/);
    } finally {
      await signaling.stop();
    }
  });

  test('a replayed Authorization (same nonce and response) is refused', async () => {
    const signaling = await startTestSignaling(redisServer.url);
    try {
      const result = await runSipp({ scenario: 'replay', remotePort: signaling.sipPort, devices: sippDevices(1, { password: TEST_PASSWORD }) });
      assert.equal(result.outcome, 'all-succeeded', `${result.stderr}\n${result.errors}`);
      const metrics = await (await fetch(`${signaling.httpUrl}/metrics`)).text();
      assert.match(metrics, /gbcast_signaling_registrations_total\{outcome="replay"[^}]*\} 1/);
    } finally {
      await signaling.stop();
    }
  });

  test('keepalives keep a device online; silence takes it offline, the next keepalive brings it back; unknown devices get 403', async () => {
    const signaling = await startTestSignaling(redisServer.url, { keepaliveIntervalS: 1, keepaliveMissed: 2, presenceSweepMs: 100 });
    const events = await subscribe(signaling.config.redisPrefix);
    try {
      const devices = sippDevices(1, { password: TEST_PASSWORD });
      const id = devices[0].id;
      const reg = await runSipp({ scenario: 'register', remotePort: signaling.sipPort, devices });
      assert.equal(reg.outcome, 'all-succeeded', `${reg.stderr}\n${reg.errors}`);
      const alive = await runSipp({ scenario: 'keepalive', remotePort: signaling.sipPort, devices, calls: 3, rate: 2 });
      assert.equal(alive.outcome, 'all-succeeded', `${alive.stderr}\n${alive.errors}`);
      assert.equal((await signaling.store.get(id))?.online, true);
      const offline = await waitFor('offline event', () => events.events.find((e) => e.type === 'device.offline' && e.deviceId === id), 8000);
      assert.equal(offline.type === 'device.offline' && offline.reason, 'keepalive-timeout');
      assert.equal((await signaling.store.get(id))?.online, false);
      const back = await runSipp({ scenario: 'keepalive', remotePort: signaling.sipPort, devices });
      assert.equal(back.outcome, 'all-succeeded');
      assert.equal((await signaling.store.get(id))?.online, true);
      assert.equal(events.events.filter((e) => e.type === 'device.online' && e.deviceId === id).length, 2);
      const stranger = await runSipp({ scenario: 'keepalive-unknown', remotePort: signaling.sipPort, devices: sippDevices(1, { first: 900 }) });
      assert.equal(stranger.outcome, 'all-succeeded', 'an unknown device is told to register (403)');
      const unreg = await runSipp({ scenario: 'unregister', remotePort: signaling.sipPort, devices });
      assert.equal(unreg.outcome, 'all-succeeded', `${unreg.stderr}\n${unreg.errors}`);
      await waitFor('unregistered event', () => events.events.find((e) => e.type === 'device.offline' && e.deviceId === id && e.reason === 'unregistered'));
    } finally {
      events.close();
      await signaling.stop();
    }
  });
});
