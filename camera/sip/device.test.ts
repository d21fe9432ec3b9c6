/**
 * The simulated device's signalling against a tiny in-test platform (camera/testing/mini-platform.ts,
 * built on common/sip only): digest registration, keepalives, re-registration, queries and their
 * GB2312 answers, PTZ, hostile MESSAGEs, unregistration.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../common/logger.ts';
import { ptzCommand } from '../../common/manscdp/ptz.ts';
import type { CatalogMessage, DeviceInfoMessage, DeviceStatusMessage } from '../../common/manscdp/messages.ts';
import { MiniPlatform, PLATFORM_ID, waitFor } from '../testing/mini-platform.ts';
import { CameraFleet, type CameraFleetOptions } from './fleet.ts';

const PASSWORD = 'secret-123';
const DEVICE = '34020000001320000001';

async function setup(
  platformOptions: { qop?: boolean; password?: string } = {},
  fleetOptions: Partial<CameraFleetOptions> = {},
): Promise<{ platform: MiniPlatform; fleet: CameraFleet; close(): Promise<void> }> {
  const platform = await MiniPlatform.start({ password: platformOptions.password ?? PASSWORD, qop: platformOptions.qop });
  let fleet: CameraFleet;
  try {
    fleet = await CameraFleet.start({
      server: { id: PLATFORM_ID, host: '127.0.0.1', port: platform.port },
      password: PASSWORD,
      firstDeviceId: DEVICE,
      localAddress: '127.0.0.1',
      media: { audio: 'pcma' },
      keepaliveIntervalMs: 60_000,
      registerRetryMs: 100,
      registerRetryMaxMs: 400,
      logger: silentLogger(),
      ...fleetOptions,
    });
  } catch (err) {
    await platform.close();
    throw err;
  }
  return {
    platform,
    fleet,
    async close() {
      await fleet.stop();
      await platform.close();
    },
  };
}

for (const transport of ['udp', 'tcp'] as const) {
  for (const qop of [false, true]) {
    test(`registers with digest over ${transport} ${qop ? 'with qop=auth' : 'without qop'}, then unregisters on stop`, async () => {
      const { platform, fleet, close } = await setup({ qop }, { sipTransport: transport, count: 2, expiresS: 600 });
      try {
        await waitFor('both devices registered', () => fleet.devices.every((d) => d.registered) || undefined);
        assert.deepEqual([...platform.devices.keys()].sort(), ['34020000001320000001', '34020000001320000002']);
        for (const r of platform.registrations) {
          assert.equal(r.expiresS, 600);
          assert.equal(r.remote.protocol, transport.toUpperCase());
          if (qop) {
            assert.equal(r.qop, 'auth');
            assert.equal(r.nc, '00000001');
          } else {
            assert.equal(r.qop, undefined);
          }
        }
        const unregistered = fleet.devices.map((d) => new Promise<void>((resolve) => d.once('unregistered', resolve)));
        await fleet.stop();
        await Promise.all(unregistered);
        assert.equal(platform.devices.size, 0, 'Expires: 0 removed both registrations');
        assert.deepEqual(platform.registrations.slice(-2).map((r) => r.expiresS), [0, 0]);
      } finally {
        await close();
      }
    });
  }
}

test('a wrong password is reported (403) and retried with backoff', async () => {
  const { platform, fleet, close } = await setup({ password: 'another' });
  try {
    const failures: number[] = [];
    fleet.devices[0].on('register-failed', (f) => failures.push(f.status));
    await waitFor('two refused registrations', () => platform.rejectedRegisters.length >= 2 || undefined);
    await waitFor('failures reported', () => failures.length >= 2 || undefined);
    assert.deepEqual(failures.slice(0, 2), [403, 403]);
    assert.equal(fleet.devices[0].registered, false);
    assert.ok(fleet.devices[0].stats.registerFailures >= 2);
  } finally {
    await close();
  }
});

test('keepalives arrive at the interval; a 404 answer makes the device register again; refresh before Expires', async () => {
  const { platform, fleet, close } = await setup({}, { keepaliveIntervalMs: 100, expiresS: 1 });
  try {
    await waitFor('registered', () => fleet.devices[0].registered || undefined);
    await waitFor('three keepalives', () => platform.messages.filter((m) => m.message.kind === 'keepalive').length >= 3 || undefined);
    const keepalive = platform.messages.find((m) => m.message.kind === 'keepalive')!;
    assert.equal(keepalive.from, DEVICE);
    assert.equal(keepalive.message.deviceId, DEVICE);
    const sns = platform.messages.filter((m) => m.message.kind === 'keepalive').map((m) => m.message.sn!);
    assert.ok(sns[1] > sns[0], 'SN counts up');
    // Expires 1 s: refreshed at 80 %, well before it runs out.
    await waitFor('a refresh', () => platform.registrations.length >= 2 || undefined, 3000);

    const before = platform.registrations.length;
    platform.keepaliveStatus = 404;
    await waitFor('a refused keepalive', () => fleet.devices[0].stats.keepalivesFailed >= 1 || undefined);
    platform.keepaliveStatus = undefined;
    await waitFor('registered again', () => platform.registrations.length > before || undefined);
    // The platform counts the REGISTER on arrival; the device is registered once the 200 is back.
    await waitFor('the device registered again', () => fleet.devices[0].registered || undefined);
  } finally {
    await close();
  }
});

test('catalog in pages of GB2312 Chinese names, DeviceInfo, DeviceStatus, catalog of a channel', async () => {
  const { platform, fleet, close } = await setup({}, { channels: 45, catalogPageSize: 20 });
  try {
    await waitFor('registered', () => fleet.devices[0].registered || undefined);
    const device = fleet.devices[0];
    const { sn, status } = await platform.query(DEVICE, 'Catalog');
    assert.equal(status, 200);
    const pages = await waitFor('3 catalog pages', () => {
      const p = platform.messages.filter((m) => m.message.kind === 'catalog' && m.message.sn === sn);
      return p.length === 3 ? p : undefined;
    });
    const items = pages.flatMap((p) => (p.message as CatalogMessage).items);
    assert.deepEqual(pages.map((p) => (p.message as CatalogMessage).items.length), [20, 20, 5]);
    for (const p of pages) {
      const c = p.message as CatalogMessage;
      assert.equal(c.sumNum, 45);
      assert.equal(c.deviceId, DEVICE);
      assert.match(p.bytes.toString('latin1'), /encoding="GB2312"/);
    }
    assert.deepEqual(items.map((i) => i.deviceId), device.channelIds);
    assert.equal(items[0].deviceId, '34020000001310000001');
    assert.equal(items[0].name, '通道1 大门');
    assert.equal(items[44].name, '通道45 北门');
    assert.equal(items[0].address, '科技园 A&B 座 大门');
    assert.equal(items[0].parentId, DEVICE);
    assert.equal(items[0].status, 'ON');
    // GB2312 bytes, not UTF-8: 通 is CD A8.
    assert.ok(pages[0].bytes.includes(Buffer.from([0xcd, 0xa8])));

    const info = await platform.query(DEVICE, 'DeviceInfo');
    const di = await waitFor('DeviceInfo', () => platform.messages.find((m) => m.message.kind === 'deviceInfo' && m.message.sn === info.sn));
    assert.equal((di.message as DeviceInfoMessage).channel, 45);
    assert.equal((di.message as DeviceInfoMessage).manufacturer, 'gbcast');
    assert.equal((di.message as DeviceInfoMessage).deviceName, '模拟摄像机 0000001');

    const st = await platform.query(DEVICE, 'DeviceStatus');
    const ds = await waitFor('DeviceStatus', () => platform.messages.find((m) => m.message.kind === 'deviceStatus' && m.message.sn === st.sn));
    assert.equal((ds.message as DeviceStatusMessage).online, 'ON');
    assert.equal((ds.message as DeviceStatusMessage).status, 'OK');

    const ch = await platform.query(DEVICE, 'Catalog', device.channelIds[3]);
    const chPage = await waitFor('channel catalog', () => platform.messages.find((m) => m.message.kind === 'catalog' && m.message.sn === ch.sn));
    assert.equal((chPage.message as CatalogMessage).deviceId, device.channelIds[3]);
    assert.equal((chPage.message as CatalogMessage).sumNum, 0);
  } finally {
    await close();
  }
});

test('quirk unescaped-amp: Address carries a raw & that the lenient reader still reads', async () => {
  const { platform, fleet, close } = await setup({}, { channels: 2, quirks: ['unescaped-amp'] });
  try {
    await waitFor('registered', () => fleet.devices[0].registered || undefined);
    const { sn } = await platform.query(DEVICE, 'Catalog');
    const page = await waitFor('catalog', () => platform.messages.find((m) => m.message.kind === 'catalog' && m.message.sn === sn));
    const text = page.bytes.toString('latin1');
    assert.ok(text.includes(' A&B '), 'raw ampersand on the wire');
    assert.ok(!text.includes('&amp;'));
    assert.equal((page.message as CatalogMessage).items[1].address, '科技园 A&B 座 停车场');
  } finally {
    await close();
  }
});

test('PTZ is answered 200, decoded and recorded; hostile MESSAGEs get 4xx', async () => {
  const { platform, fleet, close } = await setup({}, { channels: 2 });
  try {
    await waitFor('registered', () => fleet.devices[0].registered || undefined);
    const device = fleet.devices[0];
    const channel = device.channelIds[1];
    assert.equal(await platform.ptz(DEVICE, channel, ptzCommand({ pan: 'left', tilt: 'up', speed: 128 })), 200);
    const control = await waitFor('control recorded', () => device.controls[0]);
    assert.equal(control.targetId, channel);
    assert.equal(control.ptz?.pan, 'left');
    assert.equal(control.ptz?.tilt, 'up');
    assert.equal(control.ptz?.stop, false);

    assert.equal(await platform.sendMessage(DEVICE, 'not xml at all \x00\xff'), 400);
    assert.equal(await platform.sendMessage(DEVICE, '<?xml version="1.0"?><Query><SN>1</SN></Query>'), 400, 'no CmdType');
    assert.equal(await platform.sendMessage(DEVICE, '<Query><CmdType>Catalog</CmdType><DeviceID>' + DEVICE + '</DeviceID></Query>'), 400, 'no SN');
    assert.equal(
      await platform.sendMessage(DEVICE, '<Query><CmdType>Catalog</CmdType><SN>5</SN><DeviceID>34020000001329999999</DeviceID></Query>', '34020000001329999999'),
      404,
    );
    assert.equal(await platform.sendMessage(DEVICE, Buffer.alloc(30_000, 0x3c)), 400, 'a body of 30,000 "<"');
    assert.equal(
      await platform.sendMessage(DEVICE, `<?xml version="1.0"?><Query><CmdType>RecordInfo</CmdType><SN>77</SN><DeviceID>${channel}</DeviceID><Type>all</Type></Query>`, channel),
      200,
    );
    const records = await waitFor('RecordInfo', () => platform.messages.find((m) => m.message.cmdType === 'RecordInfo' && m.message.sn === 77));
    assert.match(records.bytes.toString('latin1'), /<SumNum>0<\/SumNum>/);

    const remote = platform.devices.get(DEVICE)!.remote;
    const request = (method: string) => ({
      method,
      uri: `sip:${DEVICE}@127.0.0.1:${fleet.sipPort}`,
      version: '2.0',
      headers: {
        via: [],
        from: { uri: `sip:${PLATFORM_ID}@3402000000`, params: { tag: 'x1' } },
        to: { uri: `sip:${DEVICE}@3402000000`, params: {} },
        'call-id': `${method}-1@127.0.0.1`,
        cseq: { seq: 1, method },
        'max-forwards': '70',
      },
    });
    assert.equal((await platform.request(remote, request('OPTIONS'))).status, 200);
    assert.equal((await platform.request(remote, request('SUBSCRIBE'))).status, 405);
    assert.equal(device.registered, true, 'still fine');
  } finally {
    await close();
  }
});
