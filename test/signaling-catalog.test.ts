/**
 * A big catalog through signaling: a `gbcast camera` with 500 channels answers the Catalog query in
 * 10 GB2312 pages (with the unescaped-& quirk in every Address); signaling stores all 500 channels
 * with their Chinese names. (The parser alone also proves 499/500 with a malformed item:
 * common/manscdp/messages tests.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../common/logger.ts';
import { simulatedChannels } from '../camera/sip/catalog.ts';
import { CameraFleet } from '../camera/sip/fleet.ts';
import { fixturePath } from './support/fixtures.ts';
import { startRedisServer } from './support/redis-server.ts';
import { startTestSignaling, TEST_PASSWORD, TEST_SERVER_ID } from './support/signaling.ts';

test('a 500-channel catalog in 10 GB2312 pages is stored whole with the right names', async () => {
  const redis = await startRedisServer();
  const signaling = await startTestSignaling(redis.url);
  const deviceId = '34020000001320000400';
  const cameras = await CameraFleet.start({
    server: { id: TEST_SERVER_ID, host: '127.0.0.1', port: signaling.sipPort },
    password: TEST_PASSWORD,
    firstDeviceId: deviceId,
    count: 1,
    channels: 500,
    catalogPageSize: 50,
    localAddress: '127.0.0.1',
    quirks: ['unescaped-amp'],
    media: { video: fixturePath('bbb-480x272.h264'), audio: 'none' },
    logger: silentLogger(),
  });
  try {
    const expected = simulatedChannels(deviceId, 500);
    let stored: { id: string; name?: string }[] = [];
    for (let i = 0; i < 100 && stored.length < 500; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const res = await fetch(`${signaling.httpUrl}/api/v1/devices/${deviceId}/channels`);
      if (res.status === 200) stored = ((await res.json()) as { channels: { id: string; name?: string }[] }).channels;
    }
    assert.equal(stored.length, 500);
    const byId = new Map(stored.map((c) => [c.id, c.name]));
    for (const c of expected) assert.equal(byId.get(c.deviceId), c.name, `name of ${c.deviceId}`);
    assert.ok(expected.some((c) => [...(c.name ?? '')].some((ch) => ch.charCodeAt(0) > 0x7f)), 'the names are not ASCII');
    assert.equal(signaling.stats.catalogsCompleted, 1);
    const device = (await (await fetch(`${signaling.httpUrl}/api/v1/devices/${deviceId}`)).json()) as { channelCount: number; manufacturer: string };
    assert.equal(device.channelCount, 500);
    assert.equal(device.manufacturer, 'gbcast');
  } finally {
    await cameras.stop();
    await signaling.stop();
    await redis.stop();
  }
});
