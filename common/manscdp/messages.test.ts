import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Channel, ManscdpMessage, MessageResult } from './messages.ts';
import { readMessage } from './messages.ts';
import { parseXml } from './xml.ts';

function read(body: string): MessageResult {
  const xml = parseXml(body);
  assert.ok(xml.ok, 'xml parses');
  return readMessage(xml.root);
}

function message(body: string): ManscdpMessage {
  const r = read(body);
  assert.ok(r.ok, r.ok ? '' : `${r.error}: ${r.detail}`);
  return r.message;
}

const DECL = '<?xml version="1.0" encoding="GB2312"?>\r\n';

test('keepalive', () => {
  const m = message(
    `${DECL}<Notify>\r\n<CmdType>Keepalive</CmdType>\r\n<SN>43</SN>\r\n<DeviceID>34020000001320000001</DeviceID>\r\n<Status>OK</Status>\r\n</Notify>\r\n`,
  );
  assert.deepEqual(m, { kind: 'keepalive', root: 'Notify', cmdType: 'Keepalive', sn: 43, deviceId: '34020000001320000001', status: 'OK' });
});

test('tag names and CmdType are case-insensitive and text is trimmed', () => {
  const m = message('<NOTIFY><cmdtype> keepALIVE </cmdtype><sn>\n7\n</sn><deviceId> 3402 </deviceId></NOTIFY>');
  assert.equal(m.kind, 'keepalive');
  assert.equal(m.root, 'Notify');
  assert.equal(m.cmdType, 'keepALIVE');
  assert.equal(m.sn, 7);
  assert.equal(m.deviceId, '3402');
});

test('missing or unreadable SN and DeviceID are undefined, not an error', () => {
  const m = message('<Notify><CmdType>Keepalive</CmdType><SN>abc</SN><DeviceID> </DeviceID></Notify>');
  assert.equal(m.sn, undefined);
  assert.equal(m.deviceId, undefined);
  assert.equal(message('<Notify><CmdType>Keepalive</CmdType><SN>-1</SN></Notify>').sn, undefined);
});

test('errors: not MANSCDP, no CmdType', () => {
  const a = read('<html><body/></html>');
  assert.ok(!a.ok && a.error === 'not-manscdp');
  const b = read('<Notify><SN>1</SN></Notify>');
  assert.ok(!b.ok && b.error === 'no-cmdtype');
  const c = read('<Notify><CmdType>  </CmdType></Notify>');
  assert.ok(!c.ok && c.error === 'no-cmdtype');
  const proto = read('<__proto__><CmdType>x</CmdType></__proto__>');
  assert.ok(!proto.ok && proto.error === 'not-manscdp');
});

const FULL_ITEM =
  '<Item><DeviceID>34020000001310000001</DeviceID><Name>大门口摄像机</Name><Manufacturer>Hikvision</Manufacturer>' +
  '<Model>DS-2CD</Model><Owner>Owner</Owner><CivilCode>340200</CivilCode><Block>B1</Block><Address>A&B <x> road</Address>' +
  '<Parental>0</Parental><ParentID>34020000001320000001</ParentID><BusinessGroupID>34020000002150000001</BusinessGroupID>' +
  '<SafetyWay>0</SafetyWay><RegisterWay>1</RegisterWay><CertNum>C1</CertNum><Certifiable>0</Certifiable><ErrCode>400</ErrCode>' +
  '<EndTime>2030-1-2T3:4:5</EndTime><Secrecy>0</Secrecy><IPAddress>192.168.1.64</IPAddress><Port>5060</Port>' +
  '<Password>secret</Password><Status>ON</Status><Longitude>120.123</Longitude><Latitude>30.5</Latitude>' +
  '<Info><PTZType>1</PTZType><Resolution>6/4</Resolution></Info></Item>';

test('catalog response with every field', () => {
  const m = message(
    `${DECL}<Response><CmdType>Catalog</CmdType><SN>17</SN><DeviceID>34020000001320000001</DeviceID><SumNum>1</SumNum>` +
      `<DeviceList Num="1">${FULL_ITEM}</DeviceList></Response>`,
  );
  assert.ok(m.kind === 'catalog');
  assert.equal(m.sumNum, 1);
  assert.equal(m.listNum, 1);
  assert.equal(m.skipped, 0);
  const want: Channel = {
    deviceId: '34020000001310000001',
    name: '大门口摄像机',
    manufacturer: 'Hikvision',
    model: 'DS-2CD',
    owner: 'Owner',
    civilCode: '340200',
    block: 'B1',
    address: 'A&B <x> road',
    parental: 0,
    parentId: '34020000001320000001',
    businessGroupId: '34020000002150000001',
    safetyWay: 0,
    registerWay: 1,
    certNum: 'C1',
    certifiable: 0,
    errCode: 400,
    endTime: '2030-01-02T03:04:05.000',
    secrecy: 0,
    ipAddress: '192.168.1.64',
    port: 5060,
    status: 'ON',
    longitude: 120.123,
    latitude: 30.5,
    ptzType: 1,
    event: undefined,
  };
  assert.deepEqual(m.items, [want]);
});

test('catalog quirks: Parental 65535, status words, missing DeviceID skipped, Num not trusted', () => {
  const item = (id: string, extra: string): string => `<Item>${id ? `<DeviceID>${id}</DeviceID>` : ''}${extra}</Item>`;
  const m = message(
    '<Response><CmdType>CATALOG</CmdType><SN>1</SN><DeviceID>D</DeviceID><SumNum>12</SumNum><DeviceList Num="9">' +
      item('1', '<Parental>65535</Parental><Status>ONLINE</Status>') +
      item('2', '<Parental>1</Parental><Status>OFFLINE</Status>') +
      item('3', '<Parental>x</Parental><Status>OK</Status>') +
      item('4', '<Status>0</Status><Port>99999</Port><Longitude>200</Longitude>') +
      item('', '<Name>no id</Name>') +
      item(' ', '<Name>blank id</Name>') +
      item('5', '<Status>VLOST</Status><Info><PTZType>x</PTZType></Info>') +
      '</DeviceList></Response>',
  );
  assert.ok(m.kind === 'catalog');
  assert.equal(m.sumNum, 12);
  assert.equal(m.listNum, 9);
  assert.equal(m.skipped, 2);
  assert.deepEqual(
    m.items.map((c) => [c.deviceId, c.parental, c.status]),
    [
      ['1', 0, 'ON'],
      ['2', 1, 'OFF'],
      ['3', 0, 'ON'],
      ['4', 0, 'OFF'],
      ['5', 0, undefined],
    ],
  );
  assert.equal(m.items[3].port, undefined);
  assert.equal(m.items[3].longitude, undefined);
  assert.equal(m.items[4].ptzType, undefined);
});

test('catalog: Items without a DeviceList, an empty list, a catalog change notification', () => {
  const bare = message('<Response><CmdType>Catalog</CmdType><SumNum>1</SumNum><Item><DeviceID>1</DeviceID></Item></Response>');
  assert.ok(bare.kind === 'catalog' && bare.items.length === 1 && bare.listNum === undefined);
  const empty = message('<Response><CmdType>Catalog</CmdType><SumNum>0</SumNum><DeviceList Num="0"></DeviceList></Response>');
  assert.ok(empty.kind === 'catalog' && empty.items.length === 0 && empty.sumNum === 0 && empty.listNum === 0);
  const notify = message(
    '<Notify><CmdType>Catalog</CmdType><SN>3</SN><DeviceID>D</DeviceID><SumNum>1</SumNum><DeviceList Num="1">' +
      '<Item><DeviceID>1</DeviceID><Event>DEL</Event></Item></DeviceList></Notify>',
  );
  assert.ok(notify.kind === 'catalog' && notify.root === 'Notify');
  assert.equal(notify.items[0].event, 'DEL');
});

test('device info response', () => {
  const m = message(
    `${DECL}<Response><CmdType>DeviceInfo</CmdType><SN>2</SN><DeviceID>D</DeviceID><DeviceName>IP CAMERA</DeviceName>` +
      '<Result>OK</Result><DeviceType>IPC</DeviceType><Manufacturer>Dahua</Manufacturer><Model>IPC-HFW</Model>' +
      '<Firmware>V2.800</Firmware><Channel>4</Channel></Response>',
  );
  assert.deepEqual(m, {
    kind: 'deviceInfo',
    root: 'Response',
    cmdType: 'DeviceInfo',
    sn: 2,
    deviceId: 'D',
    result: 'OK',
    deviceName: 'IP CAMERA',
    manufacturer: 'Dahua',
    model: 'IPC-HFW',
    firmware: 'V2.800',
    channel: 4,
  });
});

test('device status response with alarm status', () => {
  const m = message(
    '<Response><CmdType>DeviceStatus</CmdType><SN>3</SN><DeviceID>D</DeviceID><Result>OK</Result><Online>ONLINE</Online>' +
      '<Status>OK</Status><Encode>ON</Encode><Record>OFF</Record><DeviceTime>2024-3-7T9:5:1</DeviceTime>' +
      '<Alarmstatus Num="2"><Item><DeviceID>A1</DeviceID><DutyStatus>OFFDUTY</DutyStatus></Item><Item><DutyStatus>ALARM</DutyStatus></Item>' +
      '</Alarmstatus></Response>',
  );
  assert.deepEqual(m, {
    kind: 'deviceStatus',
    root: 'Response',
    cmdType: 'DeviceStatus',
    sn: 3,
    deviceId: 'D',
    result: 'OK',
    online: 'ON',
    status: 'OK',
    encode: 'ON',
    record: 'OFF',
    deviceTime: '2024-03-07T09:05:01.000',
    alarms: [{ deviceId: 'A1', dutyStatus: 'OFFDUTY' }],
  });
  const off = message('<Response><CmdType>DeviceStatus</CmdType><Online>OFFLINE</Online><DeviceTime>bad</DeviceTime></Response>');
  assert.ok(off.kind === 'deviceStatus' && off.online === 'OFF' && off.deviceTime === undefined && off.alarms.length === 0);
});

test('media status and alarm notifications', () => {
  const ms = message('<Notify><CmdType>MediaStatus</CmdType><SN>9</SN><DeviceID>C</DeviceID><NotifyType>121</NotifyType></Notify>');
  assert.deepEqual(ms, { kind: 'mediaStatus', root: 'Notify', cmdType: 'MediaStatus', sn: 9, deviceId: 'C', notifyType: '121' });
  const alarm = message(
    '<Notify><CmdType>Alarm</CmdType><SN>5</SN><DeviceID>C</DeviceID><AlarmPriority>1</AlarmPriority><AlarmMethod>5</AlarmMethod>' +
      '<AlarmTime>2024-05-06T07:08:09</AlarmTime><AlarmDescription>移动侦测</AlarmDescription><Longitude>116.3</Longitude>' +
      '<Latitude>39.9</Latitude><Info><AlarmType>2</AlarmType></Info></Notify>',
  );
  assert.deepEqual(alarm, {
    kind: 'alarm',
    root: 'Notify',
    cmdType: 'Alarm',
    sn: 5,
    deviceId: 'C',
    alarmPriority: 1,
    alarmMethod: '5',
    alarmTime: '2024-05-06T07:08:09.000',
    alarmDescription: '移动侦测',
    longitude: 116.3,
    latitude: 39.9,
    alarmType: 2,
  });
});

test('queries and device control (what the simulator receives)', () => {
  const q = message('<Query><CmdType>Catalog</CmdType><SN>11</SN><DeviceID>D</DeviceID></Query>');
  assert.deepEqual(q, { kind: 'query', root: 'Query', cmdType: 'Catalog', sn: 11, deviceId: 'D' });
  const c = message(
    '<Control><CmdType>DeviceControl</CmdType><SN>12</SN><DeviceID>C</DeviceID><PTZCmd> a50f010180000036 </PTZCmd>' +
      '<Info><ControlPriority>5</ControlPriority></Info></Control>',
  );
  assert.deepEqual(c, { kind: 'deviceControl', root: 'Control', cmdType: 'DeviceControl', sn: 12, deviceId: 'C', ptzCmd: 'a50f010180000036', commands: ['PTZCmd'] });
  const boot = message('<Control><CmdType>DeviceControl</CmdType><SN>1</SN><DeviceID>D</DeviceID><TeleBoot>Boot</TeleBoot></Control>');
  assert.ok(boot.kind === 'deviceControl' && boot.ptzCmd === undefined);
  assert.deepEqual(boot.commands, ['TeleBoot']);
});

test('unknown CmdType (and known CmdType under another root) is kind unknown with the header', () => {
  assert.deepEqual(message('<Response><CmdType>DeviceControl</CmdType><SN>4</SN><DeviceID>D</DeviceID><Result>OK</Result></Response>'), {
    kind: 'unknown',
    root: 'Response',
    cmdType: 'DeviceControl',
    sn: 4,
    deviceId: 'D',
    result: 'OK',
  });
  const u = message('<Notify><CmdType>MobilePosition</CmdType></Notify>');
  assert.ok(u.kind === 'unknown' && u.cmdType === 'MobilePosition' && u.sn === undefined);
  assert.equal(message('<Control><CmdType>Keepalive</CmdType></Control>').kind, 'unknown');
});
