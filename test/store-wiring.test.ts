/**
 * Signaling and a streamer in one process on one in-process store, without Redis (the wiring
 * `gbcast all` uses): SIPp registers devices through the registrar into the store, the streamer's
 * load reports reach signaling's API, events reach `signaling.events`, a drain request reaches the
 * streamer, and neither part closes the store it was given.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { GbcastEvent } from '../common/contracts.ts';
import { createMemoryBackend } from '../common/store/backend.ts';
import { runSipp, sippDevices } from './support/sipp.ts';
import { startTestSignaling, startTestSignalingOn, TEST_PASSWORD } from './support/signaling.ts';
import { startTestStreamer } from './support/streamer.ts';
import { waitFor } from './support/wait.ts';

test('signaling and a streamer share one in-process store: registrations, load reports, events, drain; the owner closes it', async () => {
  const backend = createMemoryBackend();
  const streamer = await startTestStreamer({ reportIntervalMs: 200 }, { backend });
  const signaling = await startTestSignalingOn(backend);
  const events: GbcastEvent[] = [];
  signaling.events.on('event', (e) => events.push(e));
  try {
    assert.equal(signaling.backend, backend);
    assert.equal(signaling.store, backend.devices);
    assert.equal(signaling.streamStore, backend.streams);
    assert.equal(signaling.config.redisUrl, undefined);

    const devices = sippDevices(2, { password: TEST_PASSWORD });
    const result = await runSipp({ scenario: 'register', remotePort: signaling.sipPort, transport: 'udp', devices });
    assert.equal(result.outcome, 'all-succeeded', `${result.stderr}\n${result.errors}`);
    const listed = (await (await fetch(`${signaling.httpUrl}/api/v1/devices`)).json()) as { devices: { id: string; online: boolean }[] };
    assert.deepEqual(listed.devices.map((d) => [d.id, d.online]), devices.map((d) => [d.id, true]));
    await waitFor('device.online events', () => events.filter((e) => e.type === 'device.online').length === 2 || undefined);

    const streamers = await waitFor('the streamer in the API', async () => {
      const body = (await (await fetch(`${signaling.httpUrl}/api/v1/streamers`)).json()) as { streamers: { id: string; url: string }[] };
      return body.streamers.length > 0 ? body.streamers : undefined;
    });
    assert.deepEqual(streamers.map((s) => [s.id, s.url]), [[streamer.config.streamerId, streamer.httpUrl]]);
    assert.equal((await fetch(`${signaling.httpUrl}/readyz`)).status, 200);

    await backend.streamers.requestDrain(streamer.config.streamerId);
    await waitFor('the streamer draining', () => streamer.draining || undefined);
    await waitFor('streamer.draining on signaling.events', () =>
      events.some((e) => e.type === 'streamer.draining' && e.streamerId === streamer.config.streamerId) || undefined,
    );
    assert.equal(await backend.streams.pickStreamer(streamer.config.pool), undefined, 'a draining streamer is not picked');

    await signaling.stop();
    await streamer.stop();
    assert.deepEqual(backend.readiness(), { ready: true }, 'the parts leave the store open');
    assert.deepEqual(await backend.streamers.listPool(streamer.config.pool), [], 'the streamer removed its record');
    assert.equal((await backend.devices.get(devices[0].id))?.online, true, 'the store kept the devices');
  } finally {
    await signaling.stop();
    await streamer.stop();
    await backend.close();
  }
  assert.equal(backend.readiness().ready, false);
});

test('signaling without a store backend and without --redis-url refuses to start, saying why', async () => {
  await assert.rejects(startTestSignaling('redis://unused', { redisUrl: undefined }), /--redis-url or a store backend/);
});
