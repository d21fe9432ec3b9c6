import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fixturePath } from '../../test/support/fixtures.ts';
import { RtpPacket, parseRtpHeader, readRtpSsrc, writeRtpHeader } from './rtp-packet.ts';

const hik = readFileSync(fixturePath('hikvision-first-rtp-packet.bin'));

test('parses the first RTP packet of a Hikvision camera', () => {
  const p = parseRtpHeader(hik);
  assert.ok(p);
  assert.equal(p.payloadType, 96);
  assert.equal(p.ssrc, 0x0bebdfa1);
  assert.equal(p.sequence, 0);
  assert.equal(p.timestamp, 0);
  assert.equal(p.marker, false);
  assert.equal(p.payloadOffset, 12);
  assert.equal(p.payloadEnd, 256);
  assert.deepEqual([...p.payload().subarray(0, 4)], [0, 0, 1, 0xba]);
  assert.equal(readRtpSsrc(hik), 0x0bebdfa1);
});

test('parses inside a larger buffer at an offset', () => {
  const big = Buffer.concat([Buffer.from('junk!'), hik, Buffer.from('tail')]);
  const p = parseRtpHeader(big, 5, 5 + hik.length);
  assert.ok(p);
  assert.equal(p.payloadOffset, 17);
  assert.equal(p.payloadEnd, 261);
  assert.equal(readRtpSsrc(big, 5), 0x0bebdfa1);
});

function build(opts: { cc?: number; ext?: number; pad?: number; payload?: number; marker?: boolean }): Buffer {
  const cc = opts.cc ?? 0;
  const extWords = opts.ext ?? -1;
  const payload = opts.payload ?? 10;
  const pad = opts.pad ?? 0;
  const len = 12 + cc * 4 + (extWords >= 0 ? 4 + extWords * 4 : 0) + payload + pad;
  const b = Buffer.alloc(len, 0xab);
  writeRtpHeader(b, 0, { sequence: 65535, timestamp: 0xfffffffe, ssrc: 0xdeadbeef, payloadType: 96, marker: opts.marker });
  b[0] |= cc | (extWords >= 0 ? 0x10 : 0) | (pad > 0 ? 0x20 : 0);
  let p = 12 + cc * 4;
  if (extWords >= 0) {
    b.writeUInt16BE(0xbede, p);
    b.writeUInt16BE(extWords, p + 2);
    p += 4 + extWords * 4;
  }
  if (pad > 0) b[len - 1] = pad;
  return b;
}

test('handles CSRC list, header extension and padding', () => {
  const b = build({ cc: 3, ext: 2, pad: 4, payload: 20, marker: true });
  const p = parseRtpHeader(b);
  assert.ok(p);
  assert.equal(p.csrcCount, 3);
  assert.equal(p.extensionProfile, 0xbede);
  assert.equal(p.paddingLength, 4);
  assert.equal(p.payloadOffset, 12 + 12 + 12);
  assert.equal(p.payloadLength, 20);
  assert.equal(p.marker, true);
  assert.equal(p.sequence, 65535);
  assert.equal(p.timestamp, 0xfffffffe);
  assert.equal(p.ssrc, 0xdeadbeef);
});

test('an empty payload is valid', () => {
  const p = parseRtpHeader(build({ payload: 0 }));
  assert.ok(p);
  assert.equal(p.payloadLength, 0);
});

test('rejects malformed packets', () => {
  assert.equal(parseRtpHeader(Buffer.alloc(11, 0x80)), null, 'too short');
  const v1 = build({});
  v1[0] = 0x40;
  assert.equal(parseRtpHeader(v1), null, 'version 1');
  assert.equal(readRtpSsrc(v1), -1);
  assert.equal(readRtpSsrc(Buffer.alloc(11, 0x80)), -1);
  const cc = build({ cc: 2, payload: 0 });
  assert.equal(parseRtpHeader(cc.subarray(0, 19)), null, 'CSRC list past the end');
  const ext = build({ ext: 3, payload: 0 });
  assert.equal(parseRtpHeader(ext.subarray(0, ext.length - 1)), null, 'extension past the end');
  const pad0 = build({ pad: 1 });
  pad0[pad0.length - 1] = 0;
  assert.equal(parseRtpHeader(pad0), null, 'padding count 0');
  const padBig = build({ pad: 1, payload: 2 });
  padBig[padBig.length - 1] = 4;
  assert.equal(parseRtpHeader(padBig), null, 'padding larger than the payload');
  assert.equal(parseRtpHeader(hik, 250), null, 'range shorter than a header');
});

test('every truncation of a valid packet either parses consistently or is rejected', () => {
  const b = build({ cc: 1, ext: 1, payload: 8 });
  for (let n = 0; n <= b.length; n++) {
    const p = parseRtpHeader(b, 0, n);
    if (n < 12 + 4 + 8) assert.equal(p, null, `length ${n}`);
    else {
      assert.ok(p);
      assert.equal(p.payloadEnd, n);
    }
  }
});

test('parse() reuses one object', () => {
  const p = new RtpPacket();
  assert.equal(p.parse(hik), true);
  const b = build({ payload: 3 });
  assert.equal(p.parse(b), true);
  assert.equal(p.ssrc, 0xdeadbeef);
  assert.equal(p.buf, b);
  assert.equal(p.parse(Buffer.alloc(4)), false);
});
