import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_TCP_FRAME, RFC4571_CHANNEL, RtpTcpFramer } from './tcp-framer.ts';
import { writeRtpHeader } from './rtp-packet.ts';

const SSRC = 0x0bebdfa1;

function rtp(seq: number, payloadLen: number, ssrc = SSRC): Buffer {
  const b = Buffer.alloc(12 + payloadLen);
  writeRtpHeader(b, 0, { sequence: seq, timestamp: seq * 3600, ssrc, payloadType: 96 });
  for (let i = 12; i < b.length; i++) b[i] = (i * 7 + seq) & 0xff;
  return b;
}

function rtcpRr(ssrc = SSRC): Buffer {
  const b = Buffer.alloc(8);
  b[0] = 0x80;
  b[1] = 201;
  b.writeUInt16BE(1, 2);
  b.writeUInt32BE(ssrc, 4);
  return b;
}

function frame4571(p: Buffer): Buffer {
  const h = Buffer.alloc(2);
  h.writeUInt16BE(p.length);
  return Buffer.concat([h, p]);
}

function frameDollar(p: Buffer, channel: number): Buffer {
  const h = Buffer.from([0x24, channel, 0, 0]);
  h.writeUInt16BE(p.length, 2);
  return Buffer.concat([h, p]);
}

function collect(): { framer: RtpTcpFramer; got: { pkt: Buffer; channel: number }[]; maxBuffered: () => number } {
  const got: { pkt: Buffer; channel: number }[] = [];
  const framer = new RtpTcpFramer((pkt, channel) => got.push({ pkt: Buffer.from(pkt), channel }));
  let max = 0;
  const push = framer.push.bind(framer);
  framer.push = (chunk: Buffer) => {
    push(chunk);
    max = Math.max(max, framer.bufferedBytes);
  };
  return { framer, got, maxBuffered: () => max };
}

const packets = [rtp(1, 1388), rtp(2, 0), rtp(3, 2), rtp(4, 500), rtp(5, 65535 - 12), rtp(6, 100)];
const stream = Buffer.concat(packets.map(frame4571));

test('splits an RFC 4571 stream delivered in one chunk, handing out views', () => {
  const got: Buffer[] = [];
  const f = new RtpTcpFramer((p) => got.push(p));
  f.push(stream);
  assert.equal(got.length, packets.length);
  got.forEach((p, i) => assert.ok(p.equals(packets[i])));
  assert.ok(got.every((p) => p.buffer === stream.buffer), 'views, not copies');
  assert.equal(f.stats.copied, 0);
  assert.equal(f.stats.resyncs, 0);
  assert.equal(f.bufferedBytes, 0);
});

test('survives the input delivered one byte at a time', () => {
  const { framer, got, maxBuffered } = collect();
  for (let i = 0; i < stream.length; i++) framer.push(stream.subarray(i, i + 1));
  assert.equal(got.length, packets.length);
  got.forEach((g, i) => assert.ok(g.pkt.equals(packets[i]), `packet ${i}`));
  assert.equal(framer.stats.resyncs, 0);
  assert.ok(maxBuffered() <= MAX_TCP_FRAME);
});

test('survives every two-way split of a sample input', () => {
  const small = [rtp(10, 20), rtp(11, 0), frameDollar(rtp(12, 5), 0), rtcpRr(), rtp(13, 30)];
  const input = Buffer.concat([frame4571(small[0]), frame4571(small[1]), small[2], frameDollar(small[3], 1), frame4571(small[4])]);
  const want = [small[0], small[1], rtp(12, 5), small[3], small[4]];
  for (let k = 0; k <= input.length; k++) {
    const { framer, got } = collect();
    framer.push(input.subarray(0, k));
    framer.push(input.subarray(k));
    assert.equal(got.length, want.length, `split at ${k}`);
    got.forEach((g, i) => assert.ok(g.pkt.equals(want[i]), `split at ${k}, packet ${i}`));
    assert.deepEqual(
      got.map((g) => g.channel),
      [RFC4571_CHANNEL, RFC4571_CHANNEL, 0, 1, RFC4571_CHANNEL],
    );
    assert.equal(framer.stats.resyncs, 0, `split at ${k}`);
  }
});

test('recognises RTSP interleaved framing per frame, including RTCP on the odd channel', () => {
  const input = Buffer.concat([
    frameDollar(packets[0], 0),
    frameDollar(rtcpRr(), 1),
    frame4571(packets[1]),
    frameDollar(packets[3], 0),
  ]);
  const { framer, got } = collect();
  framer.push(input);
  assert.deepEqual(
    got.map((g) => g.channel),
    [0, 1, RFC4571_CHANNEL, 0],
  );
  assert.ok(got[0].pkt.equals(packets[0]));
  assert.ok(got[1].pkt.equals(rtcpRr()));
  assert.ok(got[3].pkt.equals(packets[3]));
  assert.equal(framer.stats.interleaved, 3);
});

test('resynchronises on garbage between frames and counts each run once', () => {
  const garbage1 = Buffer.from('Dahua raw audio outside any frame \xd5\xd5\xd5', 'latin1');
  const garbage2 = Buffer.from([0x00, 0x00, 0x81, 0x00, 0x05, 0x80, 0x60]); // length 0, then a too-short frame
  const input = Buffer.concat([
    frame4571(packets[0]),
    garbage1,
    frame4571(packets[1]),
    frame4571(packets[2]),
    garbage2,
    frame4571(packets[3]),
  ]);
  for (const step of [input.length, 1, 7, 1000]) {
    const { framer, got } = collect();
    for (let i = 0; i < input.length; i += step) framer.push(input.subarray(i, i + step));
    assert.equal(got.length, 4, `step ${step}`);
    [0, 1, 2, 3].forEach((j) => assert.ok(got[j].pkt.equals(packets[j]), `step ${step} packet ${j}`));
    assert.equal(framer.stats.resyncs, 2, `step ${step}`);
    assert.equal(framer.stats.skippedBytes, garbage1.length + garbage2.length, `step ${step}`);
  }
});

test('while resynchronising, a frame with another SSRC is not accepted', () => {
  // A fake but plausible frame (other SSRC) sits right after garbage; the real one follows.
  const fake = frame4571(rtp(99, 4, 0x12345678));
  const input = Buffer.concat([frame4571(packets[0]), Buffer.from([0x01]), fake, frame4571(packets[2])]);
  const { framer, got } = collect();
  framer.push(input);
  assert.equal(got.length, 2);
  assert.ok(got[1].pkt.equals(packets[2]));
  assert.equal(framer.stats.resyncs, 1);
});

test('a frame of length 0 is garbage', () => {
  const input = Buffer.concat([Buffer.from([0, 0]), frame4571(packets[2])]);
  const { framer, got } = collect();
  framer.push(input);
  assert.equal(got.length, 1);
  assert.equal(framer.stats.resyncs, 1);
  assert.equal(framer.stats.skippedBytes, 2);
});

test('a straddling packet is copied once into a buffer of its own that stays valid', () => {
  const seen: Buffer[] = [];
  const f = new RtpTcpFramer((p) => seen.push(p));
  const a = Buffer.from(stream.subarray(0, 700));
  const b = Buffer.from(stream.subarray(700, 3000));
  f.push(a);
  f.push(b);
  a.fill(0);
  b.fill(0);
  assert.ok(seen[0].equals(packets[0]), 'copied packet unaffected by the caller reusing its chunks');
  assert.equal(f.stats.copied, 1);
});

test('reset() forgets a partial frame', () => {
  const { framer, got } = collect();
  framer.push(stream.subarray(0, 100));
  assert.equal(framer.bufferedBytes, 98);
  framer.reset();
  assert.equal(framer.bufferedBytes, 0);
  framer.push(frame4571(packets[1]));
  assert.equal(got.length, 1);
  assert.ok(got[0].pkt.equals(packets[1]));
});
