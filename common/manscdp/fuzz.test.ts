/**
 * Seeded fuzzing of the read path (bytes → decode → xml → message) with mutations of real-looking
 * bodies: bit flips, random bytes, truncation, inserted `<` `&` and markup fragments, duplicated
 * and deleted segments. Checked on every case: nothing throws, the result is one of the documented
 * shapes, and every value a message holds respects its type's promises (trimmed strings, DeviceID
 * present on every item, ON/OFF states, ports in range, 0/1 Parental).
 *
 * Reproduce a failure with the printed seed: FUZZ_SEED=<seed> node --test <this file>
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mulberry32, randInt } from '../testing/prng.ts';
import type { BodyResult } from './body.ts';
import { readBody } from './body.ts';
import {
  buildCatalogPages,
  buildDeviceInfoResponse,
  buildDeviceStatusResponse,
  buildKeepalive,
  buildPtzControl,
  buildCatalogQuery,
} from './build.ts';
import { encodeGb2312 } from './decode.ts';
import type { ManscdpMessage } from './messages.ts';
import { ptzCommand } from './ptz.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 0x3a17c0de);
const CASES = 100_000;
const DEVICE = '34020000001320000001';

function corpus(): Buffer[] {
  const channels = ['大门口摄像机', '东门 1号通道', '停车场 A&B', '仓库<3>', '机房'].map((name, i) => ({
    deviceId: `3402000000131000000${i}`,
    name,
    manufacturer: '海康威视',
    parental: 0 as const,
    parentId: DEVICE,
    status: i % 2 ? ('OFF' as const) : ('ON' as const),
    longitude: 120.1,
    latitude: 30.2,
    port: 5060,
    ptzType: 1,
  }));
  const [catalog] = buildCatalogPages({ sn: 1, deviceId: DEVICE, channels, pageSize: 5 });
  const [catalogUtf8] = buildCatalogPages({ sn: 2, deviceId: DEVICE, channels: channels.slice(0, 2), pageSize: 5, encoding: 'UTF-8' });
  return [
    encodeGb2312(buildKeepalive({ sn: 3, deviceId: DEVICE })),
    encodeGb2312(catalog),
    Buffer.from(catalogUtf8, 'utf8'),
    encodeGb2312(buildDeviceInfoResponse({ sn: 4, deviceId: DEVICE, deviceName: '设备', manufacturer: 'Dahua', channel: 5 })),
    encodeGb2312(
      buildDeviceStatusResponse({ sn: 5, deviceId: DEVICE, encode: 'ON', deviceTime: '2024-1-5T8:3:9', alarms: [{ deviceId: 'A', dutyStatus: 'ONDUTY' }] }),
    ),
    encodeGb2312(buildPtzControl({ sn: 6, channelId: DEVICE, ptzCmd: ptzCommand({ zoom: 'in', speed: 200 }) })),
    encodeGb2312(buildCatalogQuery({ sn: 7, deviceId: DEVICE })),
    encodeGb2312(
      '\ufeffjunk<?xml version="1.0" encoding="GB2312"?><!-- c --><Notify><CmdType>Alarm</CmdType><SN>8</SN><DeviceID>D</DeviceID>' +
        '<AlarmPriority>1</AlarmPriority><AlarmTime>2024-01-05T08:03:09</AlarmTime><AlarmDescription><![CDATA[移动<侦测>]]></AlarmDescription>' +
        '<Info><AlarmType>2</AlarmType></Info></Notify>',
    ),
    Buffer.from('<Notify><CmdType>MediaStatus</CmdType><SN>9</SN><DeviceID>C</DeviceID><NotifyType>121</NotifyType></Notify>'),
  ];
}

const FRAGMENTS = ['<', '&', '>', '</', '/>', '<Item>', '</Item>', '<DeviceID>', '</DeviceList>', '<!--', '-->', '<![CDATA[', ']]>', '<?', '?>', '"', "'", '&amp;', '&#x', '&#', ';', '=', '\ufeff', '<x>'];

function mutate(rnd: () => number, src: Buffer): Buffer {
  let b = Buffer.from(src);
  const rounds = 1 + randInt(rnd, 4);
  for (let r = 0; r < rounds; r++) {
    const at = randInt(rnd, b.length + 1);
    switch (randInt(rnd, 9)) {
      case 0: // bit flips
        for (let k = 1 + randInt(rnd, 4); k > 0 && b.length > 0; k--) b[randInt(rnd, b.length)] ^= 1 << randInt(rnd, 8);
        break;
      case 1: // truncation
        b = b.subarray(0, at);
        break;
      case 2: // a stray < or &
        b = Buffer.concat([b.subarray(0, at), Buffer.from(rnd() < 0.5 ? '<' : '&'), b.subarray(at)]);
        break;
      case 3: {
        // random bytes
        const junk = Buffer.alloc(1 + randInt(rnd, 12));
        for (let k = 0; k < junk.length; k++) junk[k] = randInt(rnd, 256);
        b = Buffer.concat([b.subarray(0, at), junk, b.subarray(at)]);
        break;
      }
      case 4: {
        // duplicated segment
        const from = randInt(rnd, b.length + 1);
        const seg = b.subarray(from, from + 1 + randInt(rnd, 200));
        b = Buffer.concat([b.subarray(0, at), seg, b.subarray(at)]);
        break;
      }
      case 5: // deleted segment
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + randInt(rnd, 40))]);
        break;
      case 6: // markup fragment
        b = Buffer.concat([b.subarray(0, at), Buffer.from(FRAGMENTS[randInt(rnd, FRAGMENTS.length)]), b.subarray(at)]);
        break;
      case 7: // case change of a letter (tag names, CmdType)
        if (b.length > 0) {
          const i = randInt(rnd, b.length);
          if ((b[i] | 0x20) >= 0x61 && (b[i] | 0x20) <= 0x7a) b[i] ^= 0x20;
        }
        break;
      default: {
        // a non-ASCII byte pair (half characters, invalid UTF-8)
        const pair = Buffer.from([0x80 + randInt(rnd, 128), randInt(rnd, 256)]);
        b = Buffer.concat([b.subarray(0, at), pair, b.subarray(at)]);
      }
    }
  }
  return b;
}

const ERRORS = new Set(['body-too-large', 'too-long', 'too-deep', 'too-many-elements', 'no-root', 'not-manscdp', 'no-cmdtype']);
const KINDS = new Set(['keepalive', 'catalog', 'deviceInfo', 'deviceStatus', 'mediaStatus', 'alarm', 'query', 'deviceControl', 'unknown']);

function checkText(v: string | undefined, what: string): void {
  if (v === undefined) return;
  assert.equal(typeof v, 'string', what);
  assert.ok(v.length > 0 && v === v.trim(), `${what} is trimmed and not blank: ${JSON.stringify(v)}`);
}

function checkInt(v: number | undefined, what: string, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): void {
  if (v === undefined) return;
  assert.ok(Number.isSafeInteger(v) && v >= min && v <= max, `${what}: ${v}`);
}

function checkOnOff(v: string | undefined, what: string): void {
  assert.ok(v === undefined || v === 'ON' || v === 'OFF', `${what}: ${v}`);
}

function checkMessage(m: ManscdpMessage): void {
  assert.ok(KINDS.has(m.kind), m.kind);
  assert.ok(['Notify', 'Response', 'Query', 'Control'].includes(m.root));
  checkText(m.cmdType, 'cmdType');
  assert.ok(m.cmdType !== undefined);
  checkInt(m.sn, 'sn', 0);
  checkText(m.deviceId, 'deviceId');
  switch (m.kind) {
    case 'catalog':
      checkInt(m.sumNum, 'sumNum', 0);
      checkInt(m.listNum, 'listNum', 0);
      checkInt(m.skipped, 'skipped', 0);
      for (const c of m.items) {
        assert.ok(c.deviceId !== undefined);
        for (const key of ['deviceId', 'name', 'manufacturer', 'model', 'address', 'parentId', 'ipAddress', 'event'] as const) checkText(c[key], key);
        assert.ok(c.parental === 0 || c.parental === 1);
        checkOnOff(c.status, 'status');
        checkInt(c.port, 'port', 0, 65535);
        checkInt(c.ptzType, 'ptzType');
        if (c.longitude !== undefined) assert.ok(Math.abs(c.longitude) <= 180);
        if (c.latitude !== undefined) assert.ok(Math.abs(c.latitude) <= 90);
        if (c.endTime !== undefined) assert.match(c.endTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}/);
      }
      break;
    case 'deviceStatus':
      checkOnOff(m.online, 'online');
      checkOnOff(m.encode, 'encode');
      checkOnOff(m.record, 'record');
      for (const a of m.alarms) checkText(a.deviceId, 'alarm deviceId');
      if (m.deviceTime !== undefined) assert.match(m.deviceTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}/);
      break;
    case 'deviceInfo':
      checkInt(m.channel, 'channel', 0);
      break;
    case 'deviceControl':
      checkText(m.ptzCmd, 'ptzCmd');
      break;
    default:
      break;
  }
}

function check(r: BodyResult): void {
  if (r.ok) {
    assert.ok(r.encoding === 'utf-8' || r.encoding === 'gb18030');
    assert.ok(Number.isInteger(r.repairs) && r.repairs >= 0);
    assert.equal(typeof r.truncated, 'boolean');
    checkMessage(r.message);
  } else {
    assert.ok(ERRORS.has(r.error), r.error);
    assert.equal(typeof r.detail, 'string');
  }
}

test(`${CASES} mutated bodies: no throw, only documented results (seed ${SEED})`, () => {
  const seeds = corpus();
  // The unmutated corpus reads cleanly.
  for (const body of seeds) {
    const r = readBody(body);
    assert.ok(r.ok && r.repairs === 0 && !r.truncated, body.toString('latin1').slice(0, 80));
    check(r);
  }
  const rnd = mulberry32(SEED);
  const outcomes = new Map<string, number>();
  for (let i = 0; i < CASES; i++) {
    const body = mutate(rnd, seeds[randInt(rnd, seeds.length)]);
    let r: BodyResult;
    try {
      r = readBody(body);
      check(r);
    } catch (e) {
      assert.fail(`seed ${SEED} case ${i}: ${(e as Error).message}\nbody: ${body.toString('base64')}`);
    }
    const key = r.ok ? r.message.kind : r.error;
    outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
  }
  // Most damage is local: the bulk of cases still reads as a message.
  const okCount = [...outcomes].filter(([k]) => KINDS.has(k)).reduce((s, [, n]) => s + n, 0);
  assert.ok(okCount > CASES / 2, JSON.stringify([...outcomes]));
});
