/**
 * A big catalog through signaling: a `gbcast camera` with 500 channels answers the Catalog query in
 * 10 GB2312 pages, with a raw & in every Address and one item without a DeviceID; signaling stores
 * the other 499 with their Chinese names and finishes the catalog at SumNum.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { simulatedChannels } from '../camera/sip/catalog.ts';
import { startTestCameras } from './support/cameras.ts';
import { fixturePath } from './support/fixtures.ts';
import { startRedisServer } from './support/redis-server.ts';
import { startTestSignaling } from './support/signaling.ts';

test('a 500-channel catalog in 10 GB2312 pages with one malformed item: 499 channels stored with the right names', async () => {
  const redis = await startRedisServer();
  const signaling = await startTestSignaling(redis.url);
  const deviceId = '34020000001320000400';
  const cameras = await startTestCameras(signaling, deviceId, {
    channels: 500,
    catalogPageSize: 50,
    keepaliveIntervalMs: 60_000,
    quirks: ['unescaped-amp', 'broken-catalog-item'],
    media: { video: fixturePath('bbb-480x272.h264'), audio: 'none' },
  });
  try {
    const expected = simulatedChannels(deviceId, 500);
    let stored: { id: string; name?: string }[] = [];
    for (let i = 0; i < 100 && stored.length < 499; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const res = await fetch(`${signaling.httpUrl}/api/v1/devices/${deviceId}/channels`);
      if (res.status === 200) stored = ((await res.json()) as { channels: { id: string; name?: string }[] }).channels;
    }
    assert.equal(stored.length, 499, 'the item without a DeviceID is skipped, the other 499 stored');
    const byId = new Map(stored.map((c) => [c.id, c.name]));
    assert.equal(byId.has(expected[0].deviceId), false);
    for (const c of expected.slice(1)) assert.equal(byId.get(c.deviceId), c.name, `name of ${c.deviceId}`);
    assert.ok(expected.some((c) => [...(c.name ?? '')].some((ch) => ch.charCodeAt(0) > 0x7f)), 'the names are not ASCII');
    assert.equal(signaling.stats.catalogsCompleted, 1, 'complete at SumNum: the malformed item counts toward it');
    const device = (await (await fetch(`${signaling.httpUrl}/api/v1/devices/${deviceId}`)).json()) as { channelCount: number; manufacturer: string };
    assert.equal(device.channelCount, 499);
    assert.equal(device.manufacturer, 'gbcast');
  } finally {
    await cameras.stop();
    await signaling.stop();
    await redis.stop();
  }
});
