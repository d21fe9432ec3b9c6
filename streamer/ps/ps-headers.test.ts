import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MALFORMED,
  PesHeaderInfo,
  parsePackHeader,
  parsePesHeader,
  parsePsm,
  parseSystemHeaderStreams,
  psmSize,
  readTimestamp,
  systemHeaderPlausible,
} from './ps-headers.ts';
import type { PackHeaderInfo } from './ps-headers.ts';
import { encodeTimestamp, packHeader, pes, psm, systemHeader } from './testing/ps-writer.ts';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

test('pack header: SCR base of MPEG-2 headers (values checked against SRS unit tests)', () => {
  const cases: [string, number][] = [
    ['000001ba 44686e4c9401 013013f8', 0x00686c992],
    ['000001ba 64686e4c9401 013013f8', 0x10686c992],
    ['000001ba 74686e4c9401 013013f8', 0x18686c992],
    ['000001ba 74e86e4c9401 013013f8', 0x18e86c992],
    ['000001ba 74e9eedd9c01 013013f8', 0x18e9edbb3],
  ];
  for (const [h, scr] of cases) {
    const out: PackHeaderInfo = { mpeg1: true, scr: 0, stuffing: 9 };
    assert.equal(parsePackHeader(hex(h), 0, 14, true, out), 14);
    assert.deepEqual(out, { mpeg1: false, scr, stuffing: 0 });
  }
});

test('pack header: stuffing length in the low 3 bits of byte 13, MPEG-1 form, need-more and malformed', () => {
  const h = packHeader(123456789, 5);
  assert.equal(parsePackHeader(h, 0, h.length, true), 19);
  const out: PackHeaderInfo = { mpeg1: false, scr: 0, stuffing: 0 };
  assert.equal(parsePackHeader(h, 0, 5, true, out), -14);
  assert.equal(parsePackHeader(h, 0, 4, true, out), -5);
  parsePackHeader(h, 0, 14, true, out);
  assert.equal(out.scr, 123456789);
  const m1 = packHeader(2 ** 32 + 5, 0, true);
  assert.equal(parsePackHeader(m1, 0, m1.length, true, out), 12);
  assert.equal(out.mpeg1, true);
  assert.equal(out.scr, 2 ** 32 + 5);
  const bad = Buffer.from(h);
  bad[4] = 0x04;
  assert.equal(parsePackHeader(bad, 0, bad.length, false), MALFORMED);
  const badMarker = Buffer.from(h);
  badMarker[12] &= 0xfc;
  assert.equal(parsePackHeader(badMarker, 0, badMarker.length, true), MALFORMED, 'strict');
  assert.equal(parsePackHeader(badMarker, 0, badMarker.length, false), 19, 'lenient');
});

test('timestamps: 33-bit round trip', () => {
  const b = Buffer.alloc(5);
  for (const v of [0, 1, 90000, 2 ** 30 - 1, 2 ** 30, 2 ** 32 + 12345, 2 ** 33 - 1]) {
    encodeTimestamp(b, 0, 2, v);
    assert.equal(readTimestamp(b, 0), v);
  }
  encodeTimestamp(b, 0, 2, 2 ** 33 + 7);
  assert.equal(readTimestamp(b, 0), 7, 'written modulo 2^33');
});

test('PES header: MPEG-2 with PTS, PTS+DTS, none; unbounded video; malformed', () => {
  const h = new PesHeaderInfo();
  const a = pes(0xe0, Buffer.from([0, 0, 0, 1, 0x65]), 2 ** 33 - 10, null);
  assert.equal(parsePesHeader(a, 0, a.length, true, h), 14);
  assert.deepEqual(
    { ...h },
    { streamId: 0xe0, pesLength: 13, headerSize: 14, payloadLength: 5, pts: 2 ** 33 - 10, dts: -1, mpeg1: false, markersOk: true },
  );
  const b = pes(0xe0, Buffer.alloc(3), 9000, 5400);
  assert.equal(parsePesHeader(b, 0, b.length, true, h), 19);
  assert.equal(h.pts, 9000);
  assert.equal(h.dts, 5400);
  const c = pes(0xc0, Buffer.alloc(80), null, null);
  assert.equal(parsePesHeader(c, 0, c.length, true, h), 9);
  assert.equal(h.pts, -1);
  assert.equal(h.payloadLength, 80);
  const u = pes(0xe0, Buffer.alloc(10), 1, null, true);
  assert.equal(parsePesHeader(u, 0, u.length, true, h), 14);
  assert.equal(h.payloadLength, -1);
  const ua = pes(0xc0, Buffer.alloc(10), 1, null, true);
  assert.equal(parsePesHeader(ua, 0, ua.length, true, h), MALFORMED, 'unbounded audio');
  assert.equal(parsePesHeader(a, 0, 9, true, h), -14, 'asks for the header data');
  const forbidden = Buffer.from(a);
  forbidden[7] = 0x40;
  assert.equal(parsePesHeader(forbidden, 0, forbidden.length, true, h), MALFORMED, 'PTS_DTS_flags 01');
  const tooLong = Buffer.from(a);
  tooLong[8] = 200;
  assert.equal(parsePesHeader(tooLong, 0, tooLong.length, false, h), MALFORMED, 'header longer than the PES');
  const badMarker = Buffer.from(a);
  badMarker[11] &= 0xfe;
  assert.equal(parsePesHeader(badMarker, 0, badMarker.length, true, h), MALFORMED);
  assert.equal(parsePesHeader(badMarker, 0, badMarker.length, false, h), 14);
  assert.equal(h.markersOk, false, 'used, but flagged');
});

test('PES header: MPEG-1 form with stuffing, STD buffer and PTS+DTS (as in the G.711 fixture)', () => {
  const h = new PesHeaderInfo();
  const raw = hex('000001c0 00aa 374ffd4c85174ffd4c85') ;
  const b = Buffer.concat([raw, Buffer.alloc(160, 0xd5)]);
  assert.equal(parsePesHeader(b, 0, b.length, true, h), 16);
  assert.equal(h.mpeg1, true);
  assert.equal(h.payloadLength, 160);
  assert.equal(h.pts, readTimestamp(b, 6));
  assert.equal(h.dts, readTimestamp(b, 11));
  const stuffed = Buffer.concat([hex('000001c0 000c ffff 4000 21000100 01'), Buffer.alloc(3)]);
  assert.equal(parsePesHeader(stuffed, 0, stuffed.length, true, h), 15);
  assert.equal(h.payloadLength, 3);
  const none = Buffer.concat([hex('000001c0 0004 0f'), Buffer.alloc(3)]);
  assert.equal(parsePesHeader(none, 0, none.length, true, h), 7);
  assert.equal(h.pts, -1);
  const junk = Buffer.concat([hex('000001c0 0004 55'), Buffer.alloc(3)]);
  assert.equal(parsePesHeader(junk, 0, junk.length, false, h), MALFORMED);
});

test('system header streams and plausibility', () => {
  const s = systemHeader([0xe0, 0xc0]);
  assert.equal(systemHeaderPlausible(s, 0, s.length), s.length);
  assert.deepEqual(
    parseSystemHeaderStreams(s, 0).map((x) => x.streamId),
    [0xe0, 0xc0],
  );
  const bad = Buffer.from(s);
  bad[10] = 0;
  assert.equal(systemHeaderPlausible(bad, 0, bad.length), MALFORMED);
});

test('PSM with HK descriptors; a map length that counts only entry heads is tolerated', () => {
  const m = psm(
    [
      { type: 0x1b, id: 0xe0 },
      { type: 0x90, id: 0xc0 },
    ],
    true,
  );
  assert.equal(psmSize(m, 0, 6), m.length);
  const info = parsePsm(m, 0, true);
  assert.ok(info);
  assert.deepEqual(
    info.descriptors.map((d) => [d.tag, Buffer.from(d.data.subarray(0, 2)).toString()]),
    [
      [0x40, 'HK'],
      [0x41, 'HK'],
    ],
  );
  assert.deepEqual(
    info.entries.map((e) => [e.streamType, e.streamId, e.descriptors.map((d) => d.tag)]),
    [
      [0x1b, 0xe0, [0x42, 0x2a]],
      [0x90, 0xc0, [0x43]],
    ],
  );
  // From the G.711 fixture: elementary_stream_map_length says 8, the entries take 14.
  const g = hex('000001bc0018e1ff000000081be000060a04656e670090c000002eb90f3d');
  assert.equal(parsePsm(g, 0, true), null, 'strict');
  const lenient = parsePsm(g, 0, false);
  assert.ok(lenient);
  assert.deepEqual(
    lenient.entries.map((e) => [e.streamType, e.streamId]),
    [
      [0x1b, 0xe0],
      [0x90, 0xc0],
    ],
  );
  const broken = Buffer.from(m);
  broken.writeUInt16BE(0x7fff, 8);
  assert.equal(parsePsm(broken, 0, false), null);
});
