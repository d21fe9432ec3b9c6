import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PtzMove } from './ptz.ts';
import { parsePtzCommand, ptzCommand, zoomSpeedOf } from './ptz.ts';

test('byte 1 is 0x0F: version 0 with the nibble check of 0xA5', () => {
  assert.equal(((0xa5 >> 4) + (0xa5 & 0x0f) + 0) % 16, 0x0f);
  assert.ok(ptzCommand({ stop: true }).startsWith('A50F01'));
});

test('known vectors', () => {
  assert.equal(ptzCommand({ stop: true }), 'A50F0100000000B5');
  assert.equal(ptzCommand({ pan: 'right', speed: 0x80 }), 'A50F010180000036'); // A5+0F+01+01+80 = 0x136
  assert.equal(ptzCommand({ pan: 'left', speed: 0x80 }), 'A50F010280000037');
  assert.equal(ptzCommand({ tilt: 'down', speed: 0x80 }), 'A50F010400800039');
  assert.equal(ptzCommand({ tilt: 'up', speed: 0xff }), 'A50F010800FF00BC');
  assert.equal(ptzCommand({ zoom: 'in', speed: 0xff }), 'A50F01100000F0B5'); // 0xB5 + 0x10 + 0xF0 = 0x1B5
  assert.equal(ptzCommand({ zoom: 'out', speed: 0x80 }), 'A50F012000008055'); // zoom speed 8 in the high nibble
  // Diagonal with zoom: bits combine (0x02 | 0x08 | 0x10), each speed goes to its byte (zoom 0x40 → 4).
  assert.equal(ptzCommand({ pan: 'left', tilt: 'up', zoom: 'in', speed: 0x40 }), 'A50F011A4040408F');
});

test('checksum is the sum of bytes 0–6 mod 256 for every direction and speed', () => {
  const pans = [undefined, 'left', 'right'] as const;
  const tilts = [undefined, 'up', 'down'] as const;
  const zooms = [undefined, 'in', 'out'] as const;
  for (const pan of pans)
    for (const tilt of tilts)
      for (const zoom of zooms) {
        if (!pan && !tilt && !zoom) continue;
        for (const speed of [0, 1, 15, 16, 127, 128, 254, 255]) {
          const hex = ptzCommand({ pan, tilt, zoom, speed });
          assert.match(hex, /^[0-9A-F]{16}$/);
          const b = Buffer.from(hex, 'hex');
          assert.equal(b[7], b.subarray(0, 7).reduce((s, x) => s + x, 0) & 0xff);
          const d = parsePtzCommand(hex);
          assert.ok(d);
          assert.deepEqual([d.pan, d.tilt, d.zoom, d.stop], [pan, tilt, zoom, false]);
          assert.equal(d.panSpeed, pan ? speed : 0);
          assert.equal(d.tiltSpeed, tilt ? speed : 0);
          assert.equal(d.zoomSpeed, zoom ? zoomSpeedOf(speed) : 0);
        }
      }
});

test('zoom speed scales 0–255 to 0–15 and never rounds a move to 0', () => {
  assert.equal(zoomSpeedOf(0), 0);
  assert.equal(zoomSpeedOf(1), 1);
  assert.equal(zoomSpeedOf(128), 8);
  assert.equal(zoomSpeedOf(255), 15);
});

test('address goes to byte 2 and the low nibble of byte 6', () => {
  const hex = ptzCommand({ zoom: 'in', speed: 255, address: 0x234 });
  assert.equal(hex.slice(4, 6), '34');
  assert.equal(hex.slice(12, 14), 'F2');
  assert.equal(parsePtzCommand(hex)?.address, 0x234);
});

test('invalid input throws RangeError', () => {
  const bad: unknown[] = [
    {},
    { speed: 10 },
    { stop: true, pan: 'left' },
    { pan: 'left' },
    { pan: 'left', speed: 256 },
    { pan: 'left', speed: -1 },
    { pan: 'left', speed: 1.5 },
    { pan: 'left', speed: Number.NaN },
    { pan: 'up', speed: 1 },
    { tilt: 'left', speed: 1 },
    { zoom: 'tele', speed: 1 },
    { stop: 'yes' },
    { stop: true, address: 4096 },
    { stop: true, address: -1 },
  ];
  for (const move of bad) assert.throws(() => ptzCommand(move as PtzMove), RangeError, JSON.stringify(move));
});

test('parsePtzCommand reads network input without throwing', () => {
  assert.deepEqual(parsePtzCommand(' a50f0100000000b5 '), {
    address: 1,
    code: 0,
    isMove: true,
    stop: true,
    pan: undefined,
    tilt: undefined,
    zoom: undefined,
    panSpeed: 0,
    tiltSpeed: 0,
    zoomSpeed: 0,
  });
  for (const bad of ['', 'A50F0100000000B6', 'A60F0100000000B6', 'A50E0100000000B4', 'A50F0100000000B5FF', 'zz0F0100000000B5']) {
    assert.equal(parsePtzCommand(bad), undefined, bad);
  }
  // Preset call (0x82) is valid but not a move; left+right together is no pan.
  const preset = parsePtzCommand('A50F01820003003A');
  assert.ok(preset && !preset.isMove && preset.code === 0x82 && preset.pan === undefined && !preset.stop);
  const both = parsePtzCommand('A50F010380000038');
  assert.ok(both && both.isMove && both.pan === undefined && both.stop);
});
