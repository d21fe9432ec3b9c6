import { test } from 'node:test';
import assert from 'node:assert/strict';
import { channelIdsOf, checkDeviceRange, deviceIdAt, parseServerTarget, realmOf } from './ids.ts';
import { parseQuirkList, psQuirksOf } from './quirks.ts';

test('server targets: with and without scheme or port, IPv6, and what is refused', () => {
  assert.deepEqual(parseServerTarget('sip:34020000002000000001@127.0.0.1:5060'), { id: '34020000002000000001', host: '127.0.0.1', port: 5060 });
  assert.deepEqual(parseServerTarget('34020000002000000001@gb.example.com'), { id: '34020000002000000001', host: 'gb.example.com', port: 5060 });
  assert.deepEqual(parseServerTarget('SIP:34020000002000000001@[::1]:15060'), { id: '34020000002000000001', host: '::1', port: 15060 });
  for (const bad of ['', 'sip:127.0.0.1:5060', 'sip:123@127.0.0.1', 'sip:34020000002000000001@127.0.0.1:70000', 'sip:34020000002000000001@[zz]:1']) {
    assert.equal(typeof parseServerTarget(bad), 'string', bad);
  }
  assert.equal(realmOf('34020000002000000001'), '3402000000');
});

test('device IDs count the serial up; channel IDs are type 131 and never collide between devices', () => {
  assert.equal(deviceIdAt('34020000001320000001', 0), '34020000001320000001');
  assert.equal(deviceIdAt('34020000001320000001', 41), '34020000001320000042');
  assert.throws(() => deviceIdAt('34020000001329999999', 1), RangeError);
  assert.equal(checkDeviceRange('34020000001329999990', 10), undefined);
  assert.match(checkDeviceRange('34020000001329999990', 11) ?? '', /past serial/);
  assert.deepEqual(channelIdsOf('34020000001320000001', 1), ['34020000001310000001']);
  const all = new Set<string>();
  for (let i = 0; i < 50; i++) for (const id of channelIdsOf(deviceIdAt('34020000001320000001', i), 7)) all.add(id);
  assert.equal(all.size, 350);
  for (const id of all) assert.match(id, /^3402000000131\d{7}$/);
});

test('quirk lists: commas or spaces, case-insensitive, unknown names reported; PS switches', () => {
  const { quirks, unknown } = parseQuirkList('ssrc0, No-PSM private-stream,,bogus');
  assert.deepEqual([...quirks], ['ssrc0', 'no-psm', 'private-stream']);
  assert.deepEqual(unknown, ['bogus']);
  const ps = psQuirksOf(quirks);
  assert.equal(ps.noPsm, true);
  assert.equal(ps.privateStream, true);
  assert.equal(ps.lyingPsm, false);
});
