import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildCatalogPages,
  buildCatalogQuery,
  buildCatalogResponse,
  buildDeviceInfoQuery,
  buildDeviceInfoResponse,
  buildDeviceStatusQuery,
  buildDeviceStatusResponse,
  buildKeepalive,
  buildPtzControl,
  escapeXml,
} from './build.ts';
import type { CatalogItemInput } from './build.ts';
import { readBody } from './body.ts';
import { encodeGb2312 } from './decode.ts';
import type { ManscdpMessage } from './messages.ts';
import { ptzCommand } from './ptz.ts';

const DEVICE = '34020000001320000001';
const CHANNEL = '34020000001310000001';

function readGb(body: string): ManscdpMessage {
  const r = readBody(encodeGb2312(body));
  assert.ok(r.ok, r.ok ? '' : `${r.error}: ${r.detail}`);
  assert.equal(r.repairs, 0, 'what we build is well-formed');
  return r.message;
}

test('catalog query, exactly', () => {
  assert.equal(
    buildCatalogQuery({ sn: 17, deviceId: DEVICE }),
    '<?xml version="1.0" encoding="GB2312"?>\r\n<Query>\r\n  <CmdType>Catalog</CmdType>\r\n  <SN>17</SN>\r\n' +
      `  <DeviceID>${DEVICE}</DeviceID>\r\n</Query>\r\n`,
  );
});

test('queries and PTZ control read back as what they say', () => {
  for (const [build, cmdType] of [
    [buildCatalogQuery, 'Catalog'],
    [buildDeviceInfoQuery, 'DeviceInfo'],
    [buildDeviceStatusQuery, 'DeviceStatus'],
  ] as const) {
    assert.deepEqual(readGb(build({ sn: 5, deviceId: DEVICE })), { kind: 'query', root: 'Query', cmdType, sn: 5, deviceId: DEVICE });
  }
  const ptz = buildPtzControl({ sn: 6, channelId: CHANNEL, ptzCmd: ptzCommand({ pan: 'right', speed: 0x80 }) });
  assert.ok(ptz.includes('<PTZCmd>A50F010180000036</PTZCmd>'));
  assert.ok(ptz.includes('<Info>\r\n    <ControlPriority>5</ControlPriority>\r\n  </Info>'));
  assert.deepEqual(readGb(ptz), {
    kind: 'deviceControl',
    root: 'Control',
    cmdType: 'DeviceControl',
    sn: 6,
    deviceId: CHANNEL,
    ptzCmd: 'A50F010180000036',
    commands: ['PTZCmd'],
  });
});

test('what the platform sends is ASCII whatever the input', () => {
  const body = buildDeviceInfoQuery({ sn: 0, deviceId: '设备<&>"\'𠀀' });
  assert.match(body, /^[\x20-\x7e\r\n]*$/);
  assert.ok(body.includes('<DeviceID>&#35774;&#22791;&lt;&amp;&gt;&quot;&apos;&#131072;</DeviceID>'));
  const m = readGb(body);
  assert.equal(m.deviceId, '设备<&>"\'𠀀');
});

test('escapeXml', () => {
  assert.equal(escapeXml('a&b<c>d"e\'f'), 'a&amp;b&lt;c&gt;d&quot;e&apos;f');
  assert.equal(escapeXml('t\tn\nr\r\x00\x01\x1f\x7f'), 't\tn\nr\r\x7f');
  assert.equal(escapeXml('大𠀀\ud800x\udc00\uffff'), '大𠀀x');
  assert.equal(escapeXml('大𠀀\x7f', true), '&#22823;&#131072;&#127;');
});

test('builders reject values we would never send', () => {
  assert.throws(() => buildCatalogQuery({ sn: -1, deviceId: DEVICE }), RangeError);
  assert.throws(() => buildCatalogQuery({ sn: 1.5, deviceId: DEVICE }), RangeError);
  assert.throws(() => buildCatalogQuery({ sn: 1, deviceId: ' ' }), RangeError);
  assert.throws(() => buildPtzControl({ sn: 1, channelId: CHANNEL, ptzCmd: 'A50F' }), RangeError);
  assert.throws(() => buildPtzControl({ sn: 1, channelId: CHANNEL, ptzCmd: 'A50F0100000000B5', priority: 100 }), RangeError);
  assert.throws(() => buildKeepalive({ sn: 1, deviceId: DEVICE, encoding: 'GB2312"?><x' }), RangeError);
  assert.throws(() => buildCatalogResponse({ sn: 1, deviceId: DEVICE, sumNum: -1, items: [] }), RangeError);
  assert.throws(() => buildCatalogPages({ sn: 1, deviceId: DEVICE, channels: [], pageSize: 0 }), RangeError);
  assert.throws(() => buildCatalogResponse({ sn: 1, deviceId: DEVICE, sumNum: 1, items: [{ deviceId: '' }] }), RangeError);
});

test('keepalive round trip', () => {
  assert.deepEqual(readGb(buildKeepalive({ sn: 9, deviceId: DEVICE })), {
    kind: 'keepalive',
    root: 'Notify',
    cmdType: 'Keepalive',
    sn: 9,
    deviceId: DEVICE,
    status: 'OK',
  });
});

test('catalog pages: SumNum on every page, Num per page, every field round-trips', () => {
  const channels: CatalogItemInput[] = [
    {
      deviceId: CHANNEL,
      name: '大门口摄像机',
      manufacturer: '海康威视',
      model: 'DS-2CD',
      owner: 'O',
      civilCode: '340200',
      block: 'B',
      address: '东门 A&B <1号> 路',
      parental: 0,
      parentId: DEVICE,
      businessGroupId: '34020000002150000001',
      safetyWay: 0,
      registerWay: 1,
      certNum: 'C',
      certifiable: 0,
      errCode: 400,
      endTime: '2030-01-02T03:04:05.000',
      secrecy: 0,
      ipAddress: '10.0.0.2',
      port: 5060,
      status: 'ON',
      longitude: 120.25,
      latitude: -30.5,
      ptzType: 1,
      event: undefined,
    },
    { deviceId: '34020000001310000002', name: '东门 1号通道', status: 'OFF' },
    { deviceId: '34020000001310000003' },
  ];
  const pages = buildCatalogPages({ sn: 3, deviceId: DEVICE, channels, pageSize: 2 });
  assert.equal(pages.length, 2);
  const read = pages.map(readGb);
  for (const m of read) assert.ok(m.kind === 'catalog' && m.sumNum === 3 && m.sn === 3 && m.deviceId === DEVICE);
  assert.deepEqual(
    read.map((m) => (m.kind === 'catalog' ? m.listNum : -1)),
    [2, 1],
  );
  const items = read.flatMap((m) => (m.kind === 'catalog' ? m.items : []));
  assert.deepEqual(items[0], channels[0]);
  assert.equal(items[1].name, '东门 1号通道');
  assert.equal(items[1].status, 'OFF');
  assert.equal(items[2].deviceId, '34020000001310000003');
  assert.equal(items[2].name, undefined);
  assert.deepEqual(
    buildCatalogPages({ sn: 1, deviceId: DEVICE, channels: [], pageSize: 5 }).map(readGb),
    [{ kind: 'catalog', root: 'Response', cmdType: 'Catalog', sn: 1, deviceId: DEVICE, sumNum: 0, listNum: 0, items: [], skipped: 0 }],
  );
});

test('a UTF-8 declared catalog page encoded as UTF-8 reads back', () => {
  const [page] = buildCatalogPages({ sn: 1, deviceId: DEVICE, channels: [{ deviceId: CHANNEL, name: '喆𠀀' }], pageSize: 10, encoding: 'UTF-8' });
  assert.ok(page.startsWith('<?xml version="1.0" encoding="UTF-8"?>'));
  const r = readBody(Buffer.from(page, 'utf8'));
  assert.ok(r.ok && r.encoding === 'utf-8' && r.message.kind === 'catalog');
  assert.equal(r.message.items[0].name, '喆𠀀');
});

test('device info and device status responses round-trip', () => {
  assert.deepEqual(
    readGb(buildDeviceInfoResponse({ sn: 4, deviceId: DEVICE, deviceName: '模拟设备', manufacturer: 'gbcast', model: 'sim', firmware: '1.0', channel: 8 })),
    {
      kind: 'deviceInfo',
      root: 'Response',
      cmdType: 'DeviceInfo',
      sn: 4,
      deviceId: DEVICE,
      result: 'OK',
      deviceName: '模拟设备',
      manufacturer: 'gbcast',
      model: 'sim',
      firmware: '1.0',
      channel: 8,
    },
  );
  assert.deepEqual(
    readGb(
      buildDeviceStatusResponse({
        sn: 5,
        deviceId: DEVICE,
        online: 'OFF',
        encode: 'ON',
        record: 'OFF',
        deviceTime: '2024-01-05T08:03:09',
        alarms: [{ deviceId: CHANNEL, dutyStatus: 'ONDUTY' }],
      }),
    ),
    {
      kind: 'deviceStatus',
      root: 'Response',
      cmdType: 'DeviceStatus',
      sn: 5,
      deviceId: DEVICE,
      result: 'OK',
      online: 'OFF',
      status: 'OK',
      encode: 'ON',
      record: 'OFF',
      deviceTime: '2024-01-05T08:03:09.000',
      alarms: [{ deviceId: CHANNEL, dutyStatus: 'ONDUTY' }],
    },
  );
});
