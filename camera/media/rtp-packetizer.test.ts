import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RtpPacketizer } from './rtp-packetizer.ts';
import { parseRtpHeader, splitFramed } from './test-parser.ts';

function payload(n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + 7) & 0xff;
  return b;
}

test('UDP layout: V2, PT 96, SSRC, one timestamp per frame, marker on the last packet, payload intact', () => {
  const p = new RtpPacketizer({ ssrc: 0x0bebdfa1, firstSequence: 100 });
  const data = payload(3000);
  const out = p.packetize(data, 3600);
  const ranges = splitFramed(out, 0, p.stride);
  assert.deepEqual(ranges.map(([s, e]) => e - s), [1412, 1412, 12 + 200]);
  const headers = ranges.map(([s]) => parseRtpHeader(out, s));
  assert.deepEqual(headers.map((h) => h.sequence), [100, 101, 102]);
  assert.deepEqual(headers.map((h) => h.marker), [false, false, true]);
  for (const h of headers) {
    assert.equal(h.version, 2);
    assert.equal(h.padding, false);
    assert.equal(h.extension, false);
    assert.equal(h.csrcCount, 0);
    assert.equal(h.payloadType, 96);
    assert.equal(h.ssrc, 0x0bebdfa1);
    assert.equal(h.timestamp, 3600);
  }
  assert.deepEqual(Buffer.concat(ranges.map(([s, e]) => out.subarray(s + 12, e))), data);
  assert.equal(p.sequence, 103);
  assert.equal(p.outputLength(3000), out.length);
});

test('sizes at the packet boundary, a configurable payload size and payload type', () => {
  const p = new RtpPacketizer({ ssrc: 1 });
  assert.equal(p.packetCount(1400), 1);
  assert.equal(p.packetCount(1401), 2);
  assert.equal(p.packetize(payload(1400), 0).length, 1412);
  assert.equal(p.packetize(payload(1401), 0).length, 1401 + 24);
  const small = new RtpPacketizer({ ssrc: 1, payloadSize: 500, payloadType: 33 });
  const out = small.packetize(payload(1200), 0);
  const ranges = splitFramed(out, 0, small.stride);
  assert.deepEqual(ranges.map(([s, e]) => e - s), [512, 512, 212]);
  assert.equal(parseRtpHeader(out).payloadType, 33);
  assert.throws(() => new RtpPacketizer({ ssrc: 1, payloadSize: 0 }));
  assert.throws(() => new RtpPacketizer({ ssrc: 1, payloadType: 128 }));
});

test('sequence numbers wrap at 2^16; timestamps are the PTS mod 2^32; SSRC 0 allowed', () => {
  const p = new RtpPacketizer({ ssrc: 0, firstSequence: 65534 });
  const out = p.packetize(payload(4000), 2 ** 32 + 90000);
  const headers = splitFramed(out, 0, p.stride).map(([s]) => parseRtpHeader(out, s));
  assert.deepEqual(headers.map((h) => h.sequence), [65534, 65535, 0]);
  assert.ok(headers.every((h) => h.timestamp === 90000 && h.ssrc === 0));
  const next = p.packetize(payload(10), 2 ** 33 + 2 ** 32 - 1);
  assert.equal(parseRtpHeader(next).sequence, 1);
  assert.equal(parseRtpHeader(next).timestamp, 2 ** 32 - 1);
});

test('marker off on request (a frame sent in several calls)', () => {
  const p = new RtpPacketizer({ ssrc: 5 });
  assert.equal(parseRtpHeader(p.packetize(payload(10), 0, false)).marker, false);
  assert.equal(parseRtpHeader(p.packetize(payload(10), 0)).marker, true);
});

test('RFC 4571 framing: a 16-bit length before each packet, all in one buffer', () => {
  const p = new RtpPacketizer({ ssrc: 9, framing: 'rfc4571' });
  const data = payload(3000);
  const out = p.packetize(data, 7);
  assert.equal(out.readUInt16BE(0), 1412);
  const ranges = splitFramed(out, 2, p.stride);
  assert.deepEqual(ranges.map(([s, e]) => e - s), [1412, 1412, 212]);
  assert.deepEqual(Buffer.concat(ranges.map(([s, e]) => out.subarray(s + 12, e))), data);
  assert.equal(ranges[ranges.length - 1][1], out.length);
  assert.equal(p.outputLength(3000), out.length);
});

test('interleaved framing: $, channel, length', () => {
  const p = new RtpPacketizer({ ssrc: 9, framing: 'interleaved', channel: 2 });
  const out = p.packetize(payload(2000), 7);
  assert.deepEqual([...out.subarray(0, 4)], [0x24, 2, 1412 >> 8, 1412 & 0xff]);
  const ranges = splitFramed(out, 4, p.stride);
  assert.equal(ranges.length, 2);
  assert.deepEqual([...out.subarray(ranges[1][0] - 4, ranges[1][0])], [0x24, 2, 612 >> 8, 612 & 0xff]);
  assert.equal(parseRtpHeader(out, ranges[1][0]).marker, true);
});
