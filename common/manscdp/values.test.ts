import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDeviceTime, parseDecimal, parseDeviceTime, parseInteger, parseOnOff, parseParental, textValue } from './values.ts';

test('textValue trims and treats blank as missing', () => {
  assert.equal(textValue(' \r\n a b \t'), 'a b');
  assert.equal(textValue('  '), undefined);
  assert.equal(textValue(undefined), undefined);
});

test('parseInteger reads trimmed decimal integers within bounds', () => {
  assert.equal(parseInteger(' 42\r\n'), 42);
  assert.equal(parseInteger('-7'), -7);
  assert.equal(parseInteger('+7'), 7);
  assert.equal(parseInteger('007'), 7);
  for (const bad of ['', ' ', '1.5', '0x10', '1e3', '12a', 'NaN', '1234567890123456', undefined]) assert.equal(parseInteger(bad), undefined, String(bad));
  assert.equal(parseInteger('65536', 0, 65535), undefined);
  assert.equal(parseInteger('-1', 0), undefined);
});

test('parseDecimal reads coordinates and rejects what Number() would accept wrongly', () => {
  assert.equal(parseDecimal('120.123456'), 120.123456);
  assert.equal(parseDecimal('-33.5'), -33.5);
  assert.equal(parseDecimal('.5'), 0.5);
  assert.equal(parseDecimal('7.'), 7);
  for (const bad of ['', '0x1A', '1e5', 'Infinity', '1,5', '--1', '.', undefined]) assert.equal(parseDecimal(bad), undefined, String(bad));
  assert.equal(parseDecimal('181', -180, 180), undefined);
});

test('parseOnOff normalises the status words devices use', () => {
  for (const on of ['ON', 'on', ' Online ', 'ONLINE', 'OK', '1']) assert.equal(parseOnOff(on), 'ON', on);
  for (const off of ['OFF', 'off', 'OFFLINE', 'Offline', '0']) assert.equal(parseOnOff(off), 'OFF', off);
  for (const other of ['', 'ERROR', '2', 'VLOST', undefined]) assert.equal(parseOnOff(other), undefined, String(other));
});

test('parseParental is 1 only for 1', () => {
  assert.equal(parseParental('1'), 1);
  assert.equal(parseParental(' 1 '), 1);
  for (const v of ['0', '65535', 'yes', '', '-1', undefined]) assert.equal(parseParental(v), 0, String(v));
});

test('parseDeviceTime reads lenient device times into ISO strings', () => {
  const cases: [string, string | undefined][] = [
    ['2024-1-5T8:3:9', '2024-01-05T08:03:09.000'],
    ['2024-01-05T08:03:09', '2024-01-05T08:03:09.000'],
    ['2024-01-05T08:03:09.5', '2024-01-05T08:03:09.500'],
    ['2024-01-05T08:03:09.123456', '2024-01-05T08:03:09.123'],
    ['2024-01-05 08:03:09', '2024-01-05T08:03:09.000'],
    ['2024/1/5 8:03', '2024-01-05T08:03:00.000'],
    ['2024-01-05', '2024-01-05T00:00:00.000'],
    ['2024-01-05T08:03:09Z', '2024-01-05T08:03:09.000Z'],
    ['2024-01-05T08:03:09.250+08:00', '2024-01-05T08:03:09.250+08:00'],
    ['2024-01-05T08:03:09+0800', '2024-01-05T08:03:09.000+08:00'],
    ['2024-01-05T08:03:09 -05', '2024-01-05T08:03:09.000-05:00'],
    [' 2024-02-29T23:59:59 ', '2024-02-29T23:59:59.000'],
    ['2023-02-29T00:00:00', undefined],
    ['2024-04-31T00:00:00', undefined],
    ['2024-13-01T00:00:00', undefined],
    ['2024-00-10T00:00:00', undefined],
    ['2024-01-01T24:00:00', undefined],
    ['2024-01-01T00:60:00', undefined],
    ['2024-01-01T00:00:00+15:00', undefined],
    ['24-01-01T00:00:00', undefined],
    ['2024-01-01T', undefined],
    ['yesterday', undefined],
    ['', undefined],
  ];
  for (const [input, want] of cases) assert.equal(parseDeviceTime(input), want, input);
  assert.equal(parseDeviceTime(undefined), undefined);
  assert.equal(parseDeviceTime('2024-01-01T00:00:00' + ' '.repeat(100) + 'x'), undefined);
});

test('formatDeviceTime writes local time without a zone, and parses back', () => {
  const d = new Date(2024, 0, 5, 8, 3, 9, 700);
  assert.equal(formatDeviceTime(d), '2024-01-05T08:03:09');
  assert.equal(parseDeviceTime(formatDeviceTime(d)), '2024-01-05T08:03:09.000');
});
