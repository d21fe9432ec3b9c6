/**
 * Sending: UDP, TCP connect and TCP listen deliver exactly the RTP packets the muxer and packetizer
 * make, in order, to small receivers written here; real-time pacing keeps order and counts; the
 * drop-until-keyframe and flood backpressure logic, with a fake transport and a hand-driven clock;
 * stop() leaves no socket behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { fixturePath } from '../../test/support/fixtures.ts';
import { g711ToneSource } from './audio-source.ts';
import { MediaSender } from './media-sender.ts';
import { PsMuxer } from './ps-muxer.ts';
import { RtpPacketizer } from './rtp-packetizer.ts';
import type { FrameScheduler, ScheduledTask } from './scheduler.ts';
import { startMediaStream } from './stream.ts';
import type { MediaStreamOptions } from './stream.ts';
import { parseRtpHeader, splitFramed } from './test-parser.ts';
import { FrameTimeline } from './timeline.ts';
import { createSharedUdpSocket } from './transports.ts';
import type { PacketTransport } from './transports.ts';
import { parseAnnexB } from './video-source.ts';

const VIDEO = fixturePath('bbb-480x272.h264');
const bbb = parseAnnexB(readFileSync(VIDEO));
const avatar = parseAnnexB(readFileSync(fixturePath('avatar.h264')));

/** The packets a stream with these options must produce, made offline by the same stages. */
function expectedPackets(o: { maxFrames: number; ssrc: number; audio?: 'pcma'; quirks?: MediaStreamOptions['quirks'] }): Buffer[] {
  const timeline = new FrameTimeline(bbb, o.audio ? g711ToneSource(o.audio, 20) : undefined, { maxVideoFrames: o.maxFrames });
  const muxer = new PsMuxer({ video: 'h264', audio: o.audio, quirks: o.quirks });
  const packetizer = new RtpPacketizer({ ssrc: o.ssrc });
  const out: Buffer[] = [];
  for (let f = timeline.next(); f; f = timeline.next()) {
    const buf = packetizer.packetize(muxer.mux(f), f.pts);
    for (const [s, e] of splitFramed(buf, 0, packetizer.stride)) out.push(buf.subarray(s, e));
  }
  return out;
}

/** Reassembles RFC 4571 (or, with interleaved, '$' channel length) frames from a TCP byte stream. */
class Rfc4571Reader {
  readonly packets: Buffer[] = [];
  private pending = Buffer.alloc(0);
  private readonly interleaved: boolean;
  constructor(interleaved = false) {
    this.interleaved = interleaved;
  }
  push(chunk: Buffer): void {
    const prefix = this.interleaved ? 4 : 2;
    let buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    while (buf.length >= prefix) {
      if (this.interleaved) assert.equal(buf[0], 0x24);
      const len = buf.readUInt16BE(prefix - 2);
      if (buf.length < prefix + len) break;
      this.packets.push(Buffer.from(buf.subarray(prefix, prefix + len)));
      buf = buf.subarray(prefix + len);
    }
    this.pending = Buffer.from(buf);
  }
}

const SOCKET_RESOURCES = new Set(['UDPWRAP', 'TCPSocketWrap', 'TCPServerWrap', 'TCPWRAP']);
function openSockets(): number {
  return process.getActiveResourcesInfo().filter((r) => SOCKET_RESOURCES.has(r)).length;
}

async function waitFor(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function assertSamePackets(got: Buffer[], want: Buffer[]): void {
  assert.equal(got.length, want.length, 'packet count');
  for (let i = 0; i < want.length; i++) {
    if (!got[i].equals(want[i])) assert.fail(`packet ${i} differs (seq ${parseRtpHeader(got[i]).sequence} vs ${parseRtpHeader(want[i]).sequence})`);
  }
}

const COMMON = { video: VIDEO, audio: 'pcma', maxFrames: 40, ssrc: 0x12345678, pacing: 'flood' } as const;

test('UDP: the receiver gets exactly the expected datagrams, in order; stop() closes the socket', async () => {
  const baseline = openSockets();
  const want = expectedPackets(COMMON);
  const rx = dgram.createSocket('udp4');
  const got: Buffer[] = [];
  rx.on('message', (m) => got.push(m));
  rx.bind(0, '127.0.0.1');
  await once(rx, 'listening');
  try {
    const stream = await startMediaStream({ ...COMMON, transport: 'udp', host: '127.0.0.1', port: rx.address().port });
    assert.equal(await stream.done, 'end');
    await waitFor(() => got.length >= want.length, 'datagrams');
    assertSamePackets(got, want);
    assert.equal(stream.stats.packets, want.length);
    assert.equal(stream.stats.bytes, want.reduce((n, p) => n + p.length, 0));
    assert.equal(stream.stats.videoFrames, 40);
    assert.equal(stream.stats.audioFrames, 80);
    assert.equal(stream.stats.frames, 120);
    assert.equal(stream.stats.keyframes, 1);
    assert.ok(stream.localPort && stream.localPort > 0);
    await stream.stop();
  } finally {
    rx.close();
  }
  await waitFor(() => openSockets() <= baseline, 'sockets to close');
});

test('TCP connect: RFC 4571 frames carry the same packets; stop() ends the connection', async () => {
  const baseline = openSockets();
  const want = expectedPackets(COMMON);
  const reader = new Rfc4571Reader();
  let ended = false;
  const server = net.createServer((s) => {
    s.on('data', (c) => reader.push(c));
    s.on('end', () => (ended = true));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const port = (server.address() as net.AddressInfo).port;
    const stream = await startMediaStream({ ...COMMON, transport: 'tcp-connect', host: '127.0.0.1', port });
    assert.equal(await stream.done, 'end');
    await waitFor(() => reader.packets.length >= want.length, 'packets');
    assertSamePackets(reader.packets, want);
    await stream.stop();
    await waitFor(() => ended, 'FIN from the camera');
  } finally {
    server.close();
  }
  await waitFor(() => openSockets() <= baseline, 'sockets to close');
});

test("TCP connect with RTSP-style '$' interleaved framing", async () => {
  const baseline = openSockets();
  const want = expectedPackets(COMMON);
  const reader = new Rfc4571Reader(true);
  const server = net.createServer((s) => s.on('data', (c) => reader.push(c)));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const port = (server.address() as net.AddressInfo).port;
    const stream = await startMediaStream({ ...COMMON, transport: 'tcp-connect', tcpFraming: 'interleaved', host: '127.0.0.1', port });
    assert.equal(await stream.done, 'end');
    await waitFor(() => reader.packets.length >= want.length, 'packets');
    assertSamePackets(reader.packets, want);
    await stream.stop();
  } finally {
    server.close();
  }
  await waitFor(() => openSockets() <= baseline, 'sockets to close');
});

test('TCP listen: reports its port, the receiver dials in and gets the same packets', async () => {
  const baseline = openSockets();
  const want = expectedPackets(COMMON);
  const stream = await startMediaStream({ ...COMMON, transport: 'tcp-listen', localAddress: '127.0.0.1' });
  assert.ok(stream.localPort && stream.localPort > 0);
  assert.equal(stream.stats.packets, 0, 'nothing sent before the receiver connects');
  const reader = new Rfc4571Reader();
  const client = net.connect(stream.localPort, '127.0.0.1');
  client.on('data', (c) => reader.push(c));
  try {
    assert.equal(await stream.done, 'end');
    await waitFor(() => reader.packets.length >= want.length, 'packets');
    assertSamePackets(reader.packets, want);
    // Only one connection is accepted: the listening socket is gone.
    const second = net.connect(stream.localPort, '127.0.0.1');
    const [err] = (await once(second, 'error').catch((e: unknown) => [e])) as [NodeJS.ErrnoException];
    assert.equal(err.code, 'ECONNREFUSED');
    const clientEnded = once(client, 'end');
    await stream.stop();
    await clientEnded;
  } finally {
    client.destroy();
  }
  await waitFor(() => openSockets() <= baseline, 'sockets to close');
});

test('TCP listen: stop() before anyone connects closes the listener', async () => {
  const baseline = openSockets();
  const stream = await startMediaStream({ ...COMMON, transport: 'tcp-listen', localAddress: '127.0.0.1' });
  await stream.stop();
  assert.equal(await stream.done, 'stopped');
  const probe = net.connect(stream.localPort as number, '127.0.0.1');
  const [err] = (await once(probe, 'error').catch((e: unknown) => [e])) as [NodeJS.ErrnoException];
  assert.equal(err.code, 'ECONNREFUSED');
  await waitFor(() => openSockets() <= baseline, 'sockets to close');
});

test('TCP: the receiver closing the connection ends the stream with "closed"', async () => {
  const server = net.createServer((s) => s.once('data', () => s.destroy()));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const port = (server.address() as net.AddressInfo).port;
    const stream = await startMediaStream({ ...COMMON, maxFrames: undefined, loop: true, transport: 'tcp-connect', host: '127.0.0.1', port });
    const reason = await stream.done;
    assert.ok(reason === 'closed' || reason === 'error', reason);
    await stream.stop();
  } finally {
    server.close();
  }
});

test('real-time pacing over UDP, many streams on one shared socket: every packet, in order per stream', async () => {
  const rx = dgram.createSocket('udp4');
  const bySsrc = new Map<number, Buffer[]>();
  rx.on('message', (m) => {
    const ssrc = parseRtpHeader(m).ssrc;
    let list = bySsrc.get(ssrc);
    if (!list) bySsrc.set(ssrc, (list = []));
    list.push(m);
  });
  rx.bind(0, '127.0.0.1');
  await once(rx, 'listening');
  const shared = await createSharedUdpSocket();
  try {
    const opts = { video: VIDEO, audio: 'pcma', maxFrames: 8, pacing: 'realtime', transport: 'udp', host: '127.0.0.1', port: rx.address().port, udpSocket: shared } as const;
    const streams = await Promise.all([1, 2, 3, 4, 5].map((ssrc) => startMediaStream({ ...opts, ssrc })));
    const reasons = await Promise.all(streams.map((s) => s.done));
    assert.deepEqual(reasons, ['end', 'end', 'end', 'end', 'end']);
    for (const [i, s] of streams.entries()) {
      const want = expectedPackets({ maxFrames: 8, ssrc: i + 1, audio: 'pcma' });
      await waitFor(() => (bySsrc.get(i + 1)?.length ?? 0) >= want.length, `stream ${i + 1}`);
      assertSamePackets(bySsrc.get(i + 1) as Buffer[], want);
      assert.equal(s.stats.frames, 8 + 16);
      await s.stop();
    }
    // The shared socket belongs to the caller: still open after the streams stopped.
    shared.send(Buffer.from([0x80, 0x60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 99]), rx.address().port, '127.0.0.1');
    await waitFor(() => bySsrc.has(99), 'a datagram on the shared socket');
  } finally {
    rx.close();
    shared.close();
  }
});

/** A transport that records what it is given, with a queue size the test controls. */
class FakeTransport implements PacketTransport {
  readonly framing = 'none' as const;
  readonly lost = new Promise<Error | undefined>(() => {});
  readonly errors = 0;
  queuedBytes = 0;
  frames: Buffer[] = [];
  /** send() returns false on these calls (1-based). */
  refuseAt = new Set<number>();
  waiting = 0;
  private release: (() => void) | undefined;
  send(packets: Buffer): boolean {
    this.frames.push(packets);
    return !this.refuseAt.has(this.frames.length);
  }
  writable(): Promise<void> {
    this.waiting++;
    return new Promise((r) => (this.release = r));
  }
  drain(): void {
    this.release?.();
    this.release = undefined;
  }
  async close(): Promise<void> {}
}

/** A scheduler the test drives by hand: records the wake-up the sender asks for. */
function manualScheduler(): FrameScheduler & { due: number | undefined } {
  const s = {
    coalesceMs: 0,
    due: undefined as number | undefined,
    schedule(_t: ScheduledTask, due: number) {
      s.due = due;
    },
    cancel() {
      s.due = undefined;
    },
  };
  return s as unknown as FrameScheduler & { due: number | undefined };
}

test('real-time: frames go out when due; a full queue drops frames until the next keyframe', () => {
  const transport = new FakeTransport();
  const scheduler = manualScheduler();
  const timeline = new FrameTimeline(avatar, undefined, { maxVideoFrames: 120 });
  const sender = new MediaSender({
    timeline,
    muxer: new PsMuxer({ video: 'h264' }),
    packetizer: new RtpPacketizer({ ssrc: 1 }),
    transport,
    scheduler,
    maxQueuedBytes: 1000,
  });
  sender.start();
  assert.equal(transport.frames.length, 1, 'the first frame at once');
  const t0 = scheduler.due as number;
  assert.ok(t0 > 0);
  sender.tick(t0 + 40 * 2 - 1); // 2 more frame times (40 ms each): 2 more frames
  assert.equal(transport.frames.length, 3);
  // The peer stalls: frames are dropped, not queued, until the queue drains and a keyframe comes.
  transport.queuedBytes = 5000;
  sender.tick(t0 + 40 * 10);
  assert.equal(transport.frames.length, 3);
  transport.queuedBytes = 0;
  const keyframes = avatar.units.map((u, i) => (u.keyframe ? i : -1)).filter((i) => i > 0);
  sender.tick(t0 + 40 * (keyframes[0] - 2));
  assert.equal(transport.frames.length, 3, 'still waiting for a keyframe');
  sender.tick(t0 + 40 * (keyframes[0] - 1)); // frame i is due at t0 + 40 * (i - 1)
  assert.equal(transport.frames.length, 4, 'resumed at the keyframe');
  assert.equal(sender.stats.droppedFrames, keyframes[0] - 3);
  // Falling far behind re-bases the clock instead of bursting everything.
  sender.tick(t0 + 60_000);
  assert.equal(sender.stats.clockResets, 1);
  assert.equal(transport.frames.length, 5);
});

test('flood: waits for the transport when it refuses, then continues in order to the end', async () => {
  const transport = new FakeTransport();
  transport.refuseAt = new Set([3, 7]);
  const packetizer = new RtpPacketizer({ ssrc: 1 });
  const sender = new MediaSender({
    timeline: new FrameTimeline(bbb, undefined, { maxVideoFrames: 20 }),
    muxer: new PsMuxer({ video: 'h264' }),
    packetizer,
    transport,
    pacing: 'flood',
  });
  sender.start();
  await waitFor(() => transport.waiting === 1, 'the first wait');
  assert.equal(transport.frames.length, 3, 'nothing sent while waiting');
  transport.drain();
  await waitFor(() => transport.waiting === 2, 'the second wait');
  assert.equal(transport.frames.length, 7);
  transport.drain();
  assert.equal(await sender.done, 'end');
  assert.equal(transport.frames.length, 20);
  const seqs = transport.frames.map((f) => parseRtpHeader(f).sequence);
  for (let i = 1; i < seqs.length; i++) assert.ok(seqs[i] > seqs[i - 1]);
});

test('stop() mid-stream ends with "stopped"; bad options are refused', async () => {
  const rx = dgram.createSocket('udp4');
  rx.bind(0, '127.0.0.1');
  await once(rx, 'listening');
  try {
    const stream = await startMediaStream({ video: VIDEO, ssrc: 7, transport: 'udp', host: '127.0.0.1', port: rx.address().port, loop: true });
    await stream.stop();
    assert.equal(await stream.done, 'stopped');
  } finally {
    rx.close();
  }
  await assert.rejects(startMediaStream({ ssrc: 1, transport: 'udp', host: '127.0.0.1', port: 9 }), /nothing to send/);
  await assert.rejects(startMediaStream({ video: VIDEO, ssrc: 1, transport: 'udp' }), /host and port/);
  await assert.rejects(startMediaStream({ video: VIDEO, audio: 'aac', ssrc: 1, transport: 'tcp-listen' }), /audioFile/);
});
