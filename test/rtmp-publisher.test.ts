/**
 * RtmpPublisher end to end: against a real nginx-rtmp (Debian's libnginx-mod-rtmp) and against
 * hostile in-test servers.
 *
 * Media comes from FLV files made with ffmpeg at test time and split into tags by
 * test/support/flv-file.ts, in the shape the FLV muxer emits. What the server received is checked
 * three ways: ffmpeg decoding nginx's recording (and, once, a live player), the on_publish callback,
 * and a tap proxy between the publisher and nginx that parses the client's chunk stream.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Amf0EcmaArray, decodeAmf0, encodeAmf0 } from '../streamer/flv/amf0.ts';
import { videoFramesFromAnnexB } from '../streamer/flv/testing/fixture-frames.ts';
import { FlvMuxer } from '../streamer/flv/flv-muxer.ts';
import type { FlvTag } from '../streamer/flv/flv-tag.ts';
import { ChunkReader } from '../streamer/rtmp/chunk-reader.ts';
import { ChunkWriter } from '../streamer/rtmp/chunk-writer.ts';
import { ClientHandshake, HANDSHAKE_SIZE } from '../streamer/rtmp/handshake.ts';
import { RtmpPublisher } from '../streamer/rtmp/rtmp-publisher.ts';
import type { DisconnectInfo, RtmpPublisherOptions } from '../streamer/rtmp/rtmp-publisher.ts';
import { readFileSync } from 'node:fs';
import { fixturePath } from './support/fixtures.ts';
import { describeTag, headerTagsOf, readFlvFile } from './support/flv-file.ts';
import type { FlvFileTag } from './support/flv-file.ts';
import { startNginxRtmp } from './support/nginx-rtmp.ts';

const run = promisify(execFile);

// ---------------------------------------------------------------------------------------------
// helpers

async function ffmpeg(args: string[]): Promise<void> {
  await run('ffmpeg', ['-v', 'error', '-y', ...args]);
}

/** ffmpeg's complaints when decoding a file completely ('' when it decodes cleanly). */
async function decodeErrors(file: string): Promise<string> {
  const { stderr } = await run('ffmpeg', ['-v', 'error', '-i', file, '-f', 'null', '-']);
  return stderr.trim();
}

/** Decoded frames per codec, e.g. { h264: 150, aac: 260 }. */
async function countFrames(file: string): Promise<Record<string, number>> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-count_frames', '-show_entries', 'stream=codec_name,nb_read_frames', '-of', 'csv=p=0', file]);
  const out: Record<string, number> = {};
  for (const line of stdout.trim().split('\n')) {
    const [codec, n] = line.split(',');
    out[codec] = Number(n);
  }
  return out;
}

async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function waitEvent<T extends unknown[]>(p: RtmpPublisher, event: 'publishing' | 'disconnected', timeoutMs: number): Promise<T> {
  return once(p, event, { signal: AbortSignal.timeout(timeoutMs) }) as Promise<T>;
}

function media(tags: readonly FlvFileTag[]): FlvFileTag[] {
  return tags.filter((t) => !t.isHeader);
}

/**
 * Sends media tags like a camera: in timestamp order, paced at `speed` × real time, looping the
 * clip with growing timestamps until stopped (or once, with loop: false).
 */
class Feeder {
  offered = 0;
  done = false;
  private readonly publisher: RtmpPublisher;
  private readonly tags: readonly FlvFileTag[];
  private readonly opts: { speed: number; loop: boolean; startAt?: number; batch?: number };
  private readonly timer: NodeJS.Timeout;
  private index = 0;
  private offset: number;
  private readonly t0 = Date.now();
  private readonly period: number;

  constructor(publisher: RtmpPublisher, tags: readonly FlvFileTag[], opts: { speed: number; loop: boolean; startAt?: number; batch?: number }) {
    this.publisher = publisher;
    this.tags = tags;
    this.opts = opts;
    this.offset = opts.startAt ?? 0;
    // leave room after the last tag: an AAC frame lasts past its timestamp
    this.period = tags[tags.length - 1].timestamp + 100;
    this.timer = setInterval(() => this.tick(), 2);
  }

  private tick(): void {
    const now = (Date.now() - this.t0) * this.opts.speed + (this.opts.startAt ?? 0);
    let budget = this.opts.batch ?? Infinity;
    while (!this.done && budget-- > 0) {
      const t = this.tags[this.index];
      const ts = t.timestamp + this.offset;
      if (ts > now) break;
      this.publisher.send(ts === t.timestamp ? t : { ...t, timestamp: ts });
      this.offered++;
      if (++this.index === this.tags.length) {
        this.index = 0;
        this.offset += this.period;
        if (!this.opts.loop) this.stop();
      }
    }
  }

  /** The timestamp the next tag would get. */
  get nextTimestamp(): number {
    return this.tags[this.index].timestamp + this.offset;
  }

  stop(): void {
    this.done = true;
    clearInterval(this.timer);
  }
}

interface TapMessage {
  type: number;
  timestamp: number;
  streamId: number;
  size: number;
  /** Commands and data: the AMF0 values (payload decoded). */
  values?: unknown[];
  /** Audio/video: what the tag body holds. */
  info?: ReturnType<typeof describeTag>;
}

/**
 * A TCP proxy in front of nginx that parses what the publisher sends (after the 3073-byte
 * handshake) into messages, one list per connection.
 */
async function startTap(upstreamPort: number): Promise<{ port: number; connections: TapMessage[][]; close(): Promise<void> }> {
  const connections: TapMessage[][] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const messages: TapMessage[] = [];
    connections.push(messages);
    const up = net.connect(upstreamPort, '127.0.0.1');
    sockets.add(client).add(up);
    const reader = new ChunkReader({ maxMessageSize: 32 * 1024 * 1024 });
    let skip = 1 + 2 * HANDSHAKE_SIZE;
    client.on('data', (d: Buffer) => {
      up.write(d);
      let data = d;
      if (skip > 0) {
        const n = Math.min(skip, data.length);
        skip -= n;
        data = data.subarray(n);
      }
      if (data.length === 0) return;
      for (const m of reader.push(data)) {
        const msg: TapMessage = { type: m.type, timestamp: m.timestamp, streamId: m.streamId, size: m.payload.length };
        if (m.type === 20 || m.type === 18) msg.values = decodeAmf0(m.payload);
        if (m.type === 8 || m.type === 9) msg.info = describeTag(m.type, m.payload);
        messages.push(msg);
      }
    });
    up.on('data', (d: Buffer) => client.write(d));
    const closeBoth = () => {
      client.destroy();
      up.destroy();
      sockets.delete(client);
      sockets.delete(up);
    };
    for (const s of [client, up]) {
      s.on('error', closeBoth);
      s.on('close', closeBoth);
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as net.AddressInfo).port,
    connections,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

/** The media/data messages of one tapped connection, as short labels: meta, vh, ah, K, P, a. */
function labels(messages: readonly TapMessage[]): string[] {
  const out: string[] = [];
  for (const m of messages) {
    if (m.type === 18) out.push(m.values?.[0] === '@setDataFrame' && m.values?.[1] === 'onMetaData' ? 'meta' : 'data');
    else if (m.type === 9) out.push(m.info!.isHeader ? 'vh' : m.info!.keyframe ? 'K' : 'P');
    else if (m.type === 8) out.push(m.info!.isHeader ? 'ah' : 'a');
  }
  return out;
}

function commands(messages: readonly TapMessage[]): string[] {
  return messages.filter((m) => m.type === 20).map((m) => String(m.values![0]));
}

function assertMonotonicPerType(messages: readonly TapMessage[]): void {
  const last = new Map<number, number>();
  for (const m of messages) {
    if (m.type !== 8 && m.type !== 9) continue;
    assert.ok(m.timestamp >= (last.get(m.type) ?? 0), `type ${m.type} timestamp went back to ${m.timestamp}`);
    last.set(m.type, m.timestamp);
  }
}

/**
 * A minimal RTMP player (connect, createStream, play) that labels what it receives:
 * `<codec>:hdr`, `<codec>:key` or `<codec>` per video/audio message.
 */
function rtmpPlay(port: number, stream: string): { received: string[]; close(): void } {
  const received: string[] = [];
  const hs = new ClientHandshake();
  const writer = new ChunkWriter();
  const reader = new ChunkReader({ maxMessageSize: 16 * 1024 * 1024 });
  const sock = net.connect(port, '127.0.0.1', () => sock.write(hs.c0c1));
  const send = (streamId: number, values: Parameters<typeof encodeAmf0>[0]) => {
    const out: Buffer[] = [];
    writer.write(out, 3, 20, streamId, 0, encodeAmf0(values));
    for (const b of out) sock.write(b);
  };
  let handshaken = false;
  sock.on('data', (d: Buffer) => {
    if (!handshaken) {
      const step = hs.push(d);
      if (step.c2) sock.write(step.c2);
      if (!step.done) return;
      handshaken = true;
      send(0, ['connect', 1, { app: 'live', tcUrl: `rtmp://127.0.0.1:${port}/live` }]);
      if (!step.rest) return;
      d = step.rest;
    }
    for (const m of reader.push(d)) {
      if (m.type === 20) {
        const v = decodeAmf0(m.payload);
        if (v[0] === '_result' && v[1] === 1) send(0, ['createStream', 2, null]);
        else if (v[0] === '_result' && v[1] === 2) send(v[3] as number, ['play', 3, null, stream]);
      } else if (m.type === 8 || m.type === 9) {
        const i = describeTag(m.type, m.payload);
        received.push(`${i.codec}${i.isHeader ? ':hdr' : i.keyframe ? ':key' : ''}`);
      }
    }
  });
  sock.on('error', () => {});
  return { received, close: () => sock.destroy() };
}

function publisher(options: Partial<RtmpPublisherOptions> & Pick<RtmpPublisherOptions, 'url' | 'headerTags'>): RtmpPublisher {
  return new RtmpPublisher({ connectTimeoutMs: 5000, reconnect: { initialDelayMs: 100, maxDelayMs: 800 }, ...options });
}

// ---------------------------------------------------------------------------------------------

describe('RtmpPublisher against nginx-rtmp', () => {
  let dir = '';
  let aacTags: FlvFileTag[] = [];
  let alawTags: FlvFileTag[] = [];
  let aacFile = '';
  let alawFile = '';

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'gbcast-rtmp-test-'));
    aacFile = path.join(dir, 'h264-aac.flv');
    alawFile = path.join(dir, 'h264-alaw.flv');
    await Promise.all([
      ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25', '-f', 'lavfi', '-i', 'sine', '-c:v', 'libx264', '-preset', 'veryfast', '-g', '50', '-c:a', 'aac', '-t', '6', aacFile]),
      ffmpeg([
        '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25', '-f', 'lavfi', '-i', 'sine=sample_rate=8000',
        '-c:v', 'libx264', '-preset', 'veryfast', '-bf', '0', '-g', '25', '-c:a', 'pcm_alaw', '-ar', '8000', '-ac', '1', '-t', '4', alawFile,
      ]),
    ]);
    aacTags = readFlvFile(aacFile).tags;
    alawTags = readFlvFile(alawFile).tags;
  });

  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('publishes H.264 + AAC: the command flow and the recording get every frame, in order', async () => {
    const nginx = await startNginxRtmp({ record: true });
    const tap = await startTap(nginx.port);
    const p = publisher({ url: `rtmp://127.0.0.1:${tap.port}/live/cam1`, headerTags: () => headerTagsOf(aacTags) });
    try {
      const publishing = waitEvent(p, 'publishing', 5000);
      p.start();
      await publishing;
      const feeder = new Feeder(p, media(aacTags), { speed: 4, loop: false });
      await until(() => feeder.done, 10_000, 'the clip to be sent');
      await p.close();
      assert.equal(p.state, 'closed');

      const expected = await countFrames(aacFile);
      assert.deepEqual(expected, { h264: 150, aac: 260 });
      const [recording] = await nginx.recordings();
      assert.deepEqual(await countFrames(recording), expected);
      assert.equal(await decodeErrors(recording), '');

      // what went over the wire, in order
      assert.equal(tap.connections.length, 1);
      const msgs = tap.connections[0];
      assert.equal(msgs[0].type, 1, 'Set Chunk Size comes first');
      assert.equal(msgs[0].size, 4);
      assert.deepEqual(commands(msgs), ['connect', 'releaseStream', 'FCPublish', 'createStream', 'publish', 'FCUnpublish', 'deleteStream']);
      const connect = msgs.find((m) => m.values?.[0] === 'connect')!;
      assert.deepEqual(connect.values![2], {
        app: 'live',
        type: 'nonprivate',
        flashVer: 'FMLE/3.0 (compatible; gbcast)',
        tcUrl: `rtmp://127.0.0.1:${tap.port}/live`,
      });
      const publish = msgs.find((m) => m.values?.[0] === 'publish')!;
      assert.deepEqual(publish.values!.slice(3), ['cam1', 'live']);
      assert.ok(publish.streamId > 0);
      const l = labels(msgs);
      assert.deepEqual(l.slice(0, 4), ['meta', 'vh', 'ah', 'K']);
      // every tag of the clip (its video tags include ffmpeg's AVC end-of-sequence tag)
      assert.equal(l.filter((x) => x === 'K' || x === 'P').length, media(aacTags).filter((t) => t.type === 9).length);
      assert.equal(l.filter((x) => x === 'a').length, media(aacTags).filter((t) => t.type === 8).length);
      assertMonotonicPerType(msgs);
      const meta = msgs.find((m) => m.type === 18)!;
      assert.ok(meta.values![2] instanceof Amf0EcmaArray, 'onMetaData keeps its ECMA array');

      const s = p.stats;
      assert.equal(s.tagsSent, 3 + media(aacTags).length);
      assert.equal(s.queueDrops, 0);
      assert.equal(s.reconnects, 0);
      assert.ok(s.bytesSent > aacTags.reduce((n, t) => n + t.data.length - 15, 0));
    } finally {
      await p.close();
      await tap.close();
      await nginx.stop();
    }
  });

  test('publishes H.264 + G.711A (FLV sound format 7), as GB28181 cameras send it; a live player decodes it', async () => {
    const nginx = await startNginxRtmp({ record: true });
    // A player subscribed before the publish sees the stream from its first frame. The clip has no
    // B-frames and the decoder runs single-threaded, so ffmpeg emits every frame and stops by itself.
    const player = spawn(
      'ffmpeg',
      ['-v', 'error', '-threads', '1', '-i', nginx.url('live', 'alaw'), '-map', '0', '-frames:v', '100', '-f', 'framemd5', '-'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let playerOut = '';
    let playerErr = '';
    player.stdout.on('data', (d: Buffer) => (playerOut += d.toString()));
    player.stderr.on('data', (d: Buffer) => (playerErr += d.toString()));
    const playerExit = once(player, 'exit');
    const p = publisher({ url: nginx.url('live', 'alaw'), headerTags: () => headerTagsOf(alawTags) });
    try {
      assert.ok(alawTags.some((t) => t.type === 8 && describeTag(8, t.data.subarray(11)).codec === 'pcma'));
      const deadline = Date.now() + 10_000;
      while ((await nginx.players('alaw')) < 1) {
        if (Date.now() > deadline) throw new Error('the player did not subscribe');
        await new Promise((r) => setTimeout(r, 20));
      }
      const publishing = waitEvent(p, 'publishing', 5000);
      p.start();
      await publishing;
      const feeder = new Feeder(p, media(alawTags), { speed: 4, loop: false });
      await until(() => feeder.done, 10_000, 'the clip to be sent');
      await p.close();

      const [recording] = await nginx.recordings();
      const got = await countFrames(recording);
      assert.deepEqual(got, await countFrames(alawFile));
      assert.ok(got.pcm_alaw > 0);
      assert.equal(got.h264, 100);
      assert.equal(await decodeErrors(recording), '');

      const [code] = await Promise.race([playerExit, new Promise<[null]>((r) => setTimeout(() => r([null]), 10_000))]);
      assert.equal(code, 0, `the player finished by itself: ${playerErr}`);
      assert.equal(playerErr, '');
      const mediaTypes = [...playerOut.matchAll(/^#media_type (\d): (\w+)/gm)].map((m) => [m[1], m[2]]);
      const videoIndex = mediaTypes.find(([, t]) => t === 'video')![0];
      const audioIndex = mediaTypes.find(([, t]) => t === 'audio')![0];
      const count = (i: string) => playerOut.split('\n').filter((line) => line.startsWith(`${i},`)).length;
      assert.equal(count(videoIndex), 100);
      assert.ok(count(audioIndex) > 0);
    } finally {
      player.kill('SIGKILL');
      await p.close();
      await nginx.stop();
    }
  });

  test('the query string reaches on_publish (token auth); a rejected publish is a disconnect with a reason', async () => {
    const calls: URLSearchParams[] = [];
    const hook = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        const form = new URLSearchParams(body);
        calls.push(form);
        res.statusCode = form.get('token') === 'abc' ? 200 : 403;
        res.end();
      });
    });
    hook.listen(0, '127.0.0.1');
    await once(hook, 'listening');
    const hookPort = (hook.address() as net.AddressInfo).port;
    const nginx = await startNginxRtmp({ onPublish: `http://127.0.0.1:${hookPort}/on_publish` });
    const good = publisher({ url: nginx.url('live', 'cam2?token=abc'), headerTags: () => headerTagsOf(alawTags) });
    const bad = publisher({ url: nginx.url('live', 'cam3?token=wrong'), headerTags: () => headerTagsOf(alawTags) });
    try {
      const publishing = waitEvent(good, 'publishing', 5000);
      good.start();
      await publishing;
      const ok = calls.find((c) => c.get('name') === 'cam2')!;
      assert.ok(ok, 'on_publish was called');
      assert.equal(ok.get('call'), 'publish');
      assert.equal(ok.get('app'), 'live');
      assert.equal(ok.get('token'), 'abc');
      assert.equal(ok.get('tcurl'), `rtmp://127.0.0.1:${nginx.port}/live?token=abc`);

      const disconnected = waitEvent<[DisconnectInfo]>(bad, 'disconnected', 5000);
      bad.start();
      const [info] = await disconnected;
      assert.match(info.reason, /closed by the server during publish/);
      assert.ok(info.retryInMs !== null && info.retryInMs > 0);
      assert.equal(calls.find((c) => c.get('name') === 'cam3')?.get('token'), 'wrong');
      assert.equal(good.state, 'publishing');
    } finally {
      await good.close();
      await bad.close();
      await nginx.stop();
      hook.close();
    }
  });

  test('a second publisher of the same name fails with NetStream.Publish.BadName as the reason', async () => {
    const nginx = await startNginxRtmp();
    const first = publisher({ url: nginx.url('live', 'dup'), headerTags: () => [] });
    const second = publisher({ url: nginx.url('live', 'dup'), headerTags: () => [] });
    try {
      const publishing = waitEvent(first, 'publishing', 5000);
      first.start();
      await publishing;
      const disconnected = waitEvent<[DisconnectInfo]>(second, 'disconnected', 5000);
      second.start();
      const [info] = await disconnected;
      assert.match(info.reason, /^publish rejected: NetStream\.Publish\.BadName/);
      assert.equal(second.state, 'disconnected');
    } finally {
      await first.close();
      await second.close();
      await nginx.stop();
    }
  });

  test('timestamps past 0xFFFFFF: extended timestamps, repeated on continuation chunks, survive nginx', async () => {
    const nginx = await startNginxRtmp({ record: true });
    const tap = await startTap(nginx.port);
    const start = 0x1000000 + 5; // the first message of each chunk stream needs an extended timestamp
    const shifted = (t: FlvFileTag) => ({ ...t, timestamp: t.timestamp + start });
    // a small chunk size, so keyframes span several chunks
    const p = publisher({ url: `rtmp://127.0.0.1:${tap.port}/live/ext`, headerTags: () => headerTagsOf(alawTags).map(shifted), chunkSize: 4096 });
    try {
      const publishing = waitEvent(p, 'publishing', 5000);
      p.start();
      await publishing;
      const feeder = new Feeder(p, media(alawTags), { speed: 8, loop: false, startAt: start });
      await until(() => feeder.done, 10_000, 'the clip to be sent');
      await p.close();
      const msgs = tap.connections[0].filter((m) => m.type === 9 && !m.info!.isHeader);
      assert.equal(msgs[0].timestamp, start);
      assert.ok(msgs.some((m) => m.size > 4096), 'some frames span several chunks');
      const [recording] = await nginx.recordings();
      assert.deepEqual(await countFrames(recording), await countFrames(alawFile));
      assert.equal(await decodeErrors(recording), '');
      // nginx records timestamps relative to the start of the publish: the spacing must be intact
      const rec = readFlvFile(recording).tags.filter((t) => t.type === 9 && !t.isHeader);
      assert.deepEqual(
        rec.map((t) => t.timestamp - rec[0].timestamp),
        media(alawTags).filter((t) => t.type === 9).map((t) => t.timestamp),
      );
    } finally {
      await p.close();
      await tap.close();
      await nginx.stop();
    }
  });

  test('HEVC as codec id 12 with repeatVideoHeader: a player joining mid-stream gets the header first', async () => {
    // nginx-rtmp keeps only AVC/AAC sequence headers for late joiners; repeating the HEVC header
    // before each keyframe is what lets a player that joins mid-stream decode.
    const tags: FlvTag[] = [];
    const muxer = new FlvMuxer({ hevc: 'legacy' }, (t) => tags.push(t));
    for (const f of videoFramesFromAnnexB('h265', readFileSync(fixturePath('avatar.h265'))).slice(0, 200)) muxer.push(f);
    const keyframes = tags.filter((t) => t.type === 9 && t.keyframe && !t.isHeader);
    assert.ok(keyframes.length >= 2 && keyframes[1].timestamp > 1000, 'the clip has a second keyframe to join at');
    const nginx = await startNginxRtmp();
    const tap = await startTap(nginx.port);
    const p = publisher({ url: `rtmp://127.0.0.1:${tap.port}/live/hevc`, headerTags: () => muxer.headerTags(), repeatVideoHeader: true });
    let player: ReturnType<typeof rtmpPlay> | null = null;
    try {
      const publishing = waitEvent(p, 'publishing', 5000);
      p.start();
      await publishing;
      const feeder = new Feeder(p, media(tags), { speed: 4, loop: false });
      await until(() => p.stats.tagsSent > 5, 5000, 'the first frames');
      player = rtmpPlay(nginx.port, 'hevc'); // joins after the first keyframe
      await until(() => feeder.done, 10_000, 'the clip to be sent');
      await p.close();
      await until(() => player!.received.length > 0, 5000, 'the late player to get video');
      assert.deepEqual(player.received.slice(0, 2), ['hevc:hdr', 'hevc:key']);
      // on the wire: the header went out again before every keyframe, once
      const l = labels(tap.connections[0]);
      for (let i = 0; i < l.length; i++) if (l[i] === 'K') assert.equal(l[i - 1], 'vh', `before the keyframe at ${i}`);
      assert.equal(l.filter((x) => x === 'vh').length, keyframes.length);
    } finally {
      player?.close();
      await p.close();
      await tap.close();
      await nginx.stop();
    }
  });

  test('nginx restart: disconnect reported, nothing buffered, backoff, then headers and a keyframe first', async () => {
    const nginx = await startNginxRtmp({ record: true });
    const tap = await startTap(nginx.port);
    const p = publisher({ url: `rtmp://127.0.0.1:${tap.port}/live/restart`, headerTags: () => headerTagsOf(aacTags) });
    const events: string[] = [];
    p.on('connecting', (n) => events.push(`connecting ${n}`));
    p.on('publishing', () => events.push('publishing'));
    p.on('disconnected', (d) => events.push(`disconnected: ${d.reason}`));
    let feeder: Feeder | null = null;
    try {
      const publishing = waitEvent(p, 'publishing', 5000);
      p.start();
      await publishing;
      feeder = new Feeder(p, media(aacTags), { speed: 2, loop: true });
      // start mid-GOP on the next publish: let the first publish run past a keyframe
      await until(() => p.stats.tagsSent > 120, 10_000, 'media to flow');

      const disconnected = waitEvent<[DisconnectInfo]>(p, 'disconnected', 5000);
      await nginx.kill();
      const [info] = await disconnected;
      // A killed server closes (FIN) or resets (RST, when our writes were in flight): both are a disconnect.
      assert.match(info.reason, /closed by the server|ECONNRESET|EPIPE/);
      const dropsAtDisconnect = p.stats.queueDrops;
      await until(() => p.stats.reconnects >= 3, 10_000, 'reconnect attempts while nginx is down');
      assert.equal(p.queuedBytes, 0, 'nothing is buffered while disconnected');
      assert.notEqual(p.state, 'publishing');
      assert.ok(p.stats.queueDrops > dropsAtDisconnect, 'media offered while down is dropped and counted');

      const republished = waitEvent(p, 'publishing', 10_000);
      await nginx.restart();
      await republished;
      const sentAtRepublish = p.stats.tagsSent;
      await until(() => p.stats.tagsSent > sentAtRepublish + 100, 10_000, 'media after the restart');
      feeder.stop();
      await p.close();

      assert.deepEqual(events.slice(0, 3), ['connecting 1', 'publishing', `disconnected: ${info.reason}`]);
      assert.equal(events.filter((e) => e === 'publishing').length, 2);
      assert.ok(events.filter((e) => e.startsWith('connecting')).length >= 4);

      // on the wire: the connection that published after the restart
      const published = tap.connections.filter((c) => commands(c).includes('publish'));
      assert.equal(published.length, 2);
      const l = labels(published[1]);
      assert.deepEqual(l.slice(0, 4), ['meta', 'vh', 'ah', 'K'], 'headers, then a keyframe, before any other media');
      assertMonotonicPerType(published[1]);

      // and in what nginx recorded of the second publish
      const recordings = await nginx.recordings();
      assert.equal(recordings.length, 2);
      const second = readFlvFile(recordings[1]).tags.filter((t) => t.type === 9 && !t.isHeader);
      assert.equal(second[0].keyframe, true);
      assert.equal(await decodeErrors(recordings[1]), '');
    } finally {
      feeder?.stop();
      await p.close();
      await tap.close();
      await nginx.stop();
    }
  });

  test('stalled server (SIGSTOP): the queue stays bounded, media drops to keyframes, it resumes on SIGCONT', async (t) => {
    const nginx = await startNginxRtmp({ record: true });
    const maxQueueBytes = 1024 * 1024;
    const p = publisher({ url: nginx.url('live', 'stall'), headerTags: () => headerTagsOf(aacTags), maxQueueBytes });
    let feeder: Feeder | null = null;
    let peakSampled = 0;
    const sampler = setInterval(() => (peakSampled = Math.max(peakSampled, p.queuedBytes)), 1);
    try {
      const publishing = waitEvent(p, 'publishing', 5000);
      p.start();
      await publishing;
      feeder = new Feeder(p, media(aacTags), { speed: 1, loop: true });
      await until(() => p.stats.tagsSent > 60, 10_000, 'media to flow');
      feeder.stop();

      nginx.pause();
      // a camera far faster than the server: about 60 MB offered in a burst
      feeder = new Feeder(p, media(aacTags), { speed: 1000, loop: true, startAt: feeder.nextTimestamp + 1000, batch: 400 });
      await until(() => feeder!.offered > 40_000, 30_000, 'the burst');
      feeder.stop();
      const stalled = p.stats;
      t.diagnostic(`offered ${feeder.offered} tags while stopped; ${JSON.stringify(stalled)}; peak queued ${p.peakQueuedBytes} (sampled ${peakSampled})`);
      assert.ok(stalled.queueDrops > 1000, `queueDrops ${stalled.queueDrops}`);
      assert.ok(p.peakQueuedBytes <= maxQueueBytes, `peak ${p.peakQueuedBytes}`);
      assert.ok(peakSampled <= maxQueueBytes, `sampled peak ${peakSampled}`);
      assert.equal(p.state, 'publishing');

      nginx.resume();
      feeder = new Feeder(p, media(aacTags), { speed: 4, loop: true, startAt: feeder.nextTimestamp + 1000 });
      await until(() => p.stats.tagsSent > stalled.tagsSent + 200 && p.queuedBytes < maxQueueBytes / 2, 15_000, 'media to flow again');
      feeder.stop();
      await p.close();
      assert.equal(p.stats.reconnects, 0, 'the connection survived the stall');
      const [recording] = await nginx.recordings();
      assert.equal(await decodeErrors(recording), '', 'drops resume at keyframes: the recording decodes cleanly');
    } finally {
      clearInterval(sampler);
      feeder?.stop();
      nginx.resume();
      await p.close();
      await nginx.stop();
    }
  });
});

// ---------------------------------------------------------------------------------------------

/**
 * A fake RTMP server: it answers the handshake (S0 = `version`), then runs `script` with the socket
 * and the client bytes that came after C2.
 */
async function fakeServer(script: (sock: net.Socket, rest: Buffer) => void, version = 3): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((sock) => {
    sockets.add(sock);
    sock.on('error', () => {});
    let got = Buffer.alloc(0);
    let stage = 0;
    sock.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (stage === 0 && got.length >= 1 + HANDSHAKE_SIZE) {
        stage = 1;
        sock.write(Buffer.concat([Buffer.of(version), Buffer.alloc(HANDSHAKE_SIZE, 7), got.subarray(1, 1 + HANDSHAKE_SIZE)]));
      }
      if (stage === 1 && got.length >= 1 + 2 * HANDSHAKE_SIZE) {
        stage = 2;
        script(sock, got.subarray(1 + 2 * HANDSHAKE_SIZE));
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as net.AddressInfo).port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

function hex(s: string): Buffer {
  return Buffer.from(s.replace(/\s+/g, ''), 'hex');
}

function command(values: Parameters<typeof encodeAmf0>[0]): Buffer {
  const body = encodeAmf0(values);
  return Buffer.concat([hex(`03 000000 ${body.length.toString(16).padStart(6, '0')} 14 00000000`), body]);
}

describe('RtmpPublisher against hostile servers', () => {
  const cases: Array<[string, (sock: net.Socket, rest: Buffer) => void, RegExp, number?]> = [
    ['garbage after the handshake', (s) => s.write(Buffer.alloc(64, 0xff)), /^protocol error: chunk fmt 3 on chunk stream 63 that has no previous header/],
    ['a huge chunk size', (s) => s.write(hex('02 000000 000004 01 00000000 7fffffff')), /^protocol error: chunk size 2147483647 exceeds/],
    ['a giant message length', (s) => s.write(hex('03 000000 ffffff 14 00000000 0200')), /^protocol error: message of 16777215 bytes \(type 20\) exceeds the 1048576-byte limit/],
    ['a command that is not AMF0', (s) => s.write(hex('03 000000 000003 14 00000000 ee0000')), /^protocol error: unsupported AMF0 marker 0xee/],
    [
      'connect rejected with _error',
      (s) => s.write(command(['_error', 1, null, { level: 'error', code: 'NetConnection.Connect.Rejected', description: 'bad token' }])),
      /^connect rejected: NetConnection\.Connect\.Rejected: bad token$/,
    ],
    [
      'createStream answered without a stream id',
      (s) => s.write(Buffer.concat([command(['_result', 1, null, { code: 'NetConnection.Connect.Success' }]), command(['_result', 4, null, 'x'])])),
      /^createStream answered without a valid stream id/,
    ],
    ['silence after the handshake', () => {}, /^timed out after 300 ms in phase connect$/],
    ['a server that hangs up after the handshake', (s) => s.end(), /closed by the server during connect/],
    ['a server that sends close', (s) => s.write(command(['close', 0, null])), /^the server sent close$/],
    ['another RTMP version', () => {}, /^protocol error: server answered with RTMP version 6/, 6],
  ];
  for (const [what, script, reason, version] of cases) {
    test(`${what}: a clean disconnect with a reason, then retries`, async () => {
      const server = await fakeServer(script, version);
      const p = publisher({ url: `rtmp://127.0.0.1:${server.port}/live/x`, headerTags: () => [], connectTimeoutMs: 300 });
      try {
        const disconnected = waitEvent<[DisconnectInfo]>(p, 'disconnected', 5000);
        p.start();
        const [info] = await disconnected;
        assert.match(info.reason, reason);
        assert.equal(p.state, 'disconnected');
        p.send({ type: 9, timestamp: 0, keyframe: true, isHeader: false, data: Buffer.alloc(100) });
        assert.equal(p.stats.queueDrops, 1);
        assert.equal(p.queuedBytes, 0);
        await until(() => p.stats.reconnects >= 1, 5000, 'a retry');
      } finally {
        await p.close();
        await server.close();
      }
    });
  }

  test('send() never throws; timestamps never go back per track; bad tags are counted drops', async () => {
    const received: Array<{ type: number; timestamp: number; size: number }> = [];
    const server = await fakeServer((s, rest) => {
      const reader = new ChunkReader({ maxMessageSize: 16 * 1024 * 1024 });
      const read = (d: Buffer) => {
        for (const m of reader.push(d)) {
          received.push({ type: m.type, timestamp: m.timestamp, size: m.payload.length });
          if (m.type !== 20) continue;
          const [name, tx] = decodeAmf0(m.payload);
          if (name === 'connect') s.write(command(['_result', tx, null, { code: 'NetConnection.Connect.Success' }]));
          if (name === 'createStream') s.write(command(['_result', tx, null, 1]));
          if (name === 'publish') {
            const body = encodeAmf0(['onStatus', 0, null, { level: 'status', code: 'NetStream.Publish.Start' }]);
            s.write(Buffer.concat([hex(`05 000000 ${body.length.toString(16).padStart(6, '0')} 14 01000000`), body]));
          }
        }
      };
      read(rest);
      s.on('data', read);
    });
    const tag = (type: 8 | 9, timestamp: number, keyframe: boolean, bodySize = 10) => ({
      type,
      timestamp,
      keyframe,
      isHeader: false,
      data: Buffer.alloc(15 + bodySize, type === 9 ? (keyframe ? 0x17 : 0x27) : 0xaf),
    });
    const p = publisher({ url: `rtmp://127.0.0.1:${server.port}/live/x`, headerTags: () => [] });
    try {
      const publishing = waitEvent(p, 'publishing', 5000);
      p.start();
      await publishing;
      const sent = [tag(9, 1000, true), tag(8, 990, false), tag(9, 1040, false), tag(8, 980, false), tag(9, 1020, false), tag(9, Number.NaN, false), tag(9, 1080, false)];
      for (const t of sent) p.send(t);
      p.send({ type: 9, timestamp: 2000, keyframe: true, isHeader: false, data: Buffer.alloc(10) }); // shorter than a tag header
      p.send({ type: 9, timestamp: 2000, keyframe: true, isHeader: false, data: Buffer.alloc(15 + 0xffffff) }); // body over 24 bits
      assert.equal(p.stats.queueDrops, 2);
      await until(() => received.filter((m) => m.type === 8 || m.type === 9).length === sent.length, 3000, 'the media');
      const got = received.filter((m) => m.type === 8 || m.type === 9).map((m) => [m.type, m.timestamp]);
      assert.deepEqual(got, [[9, 1000], [8, 990], [9, 1040], [8, 990], [9, 1040], [9, 1040], [9, 1080]]);
    } finally {
      await p.close();
      await server.close();
    }
  });

  test('answers Ping Request and acknowledges the window it was given', async () => {
    const received: Array<{ type: number; payload: string }> = [];
    const server = await fakeServer((s, rest) => {
      const reader = new ChunkReader();
      const read = (d: Buffer) => {
        for (const m of reader.push(d)) received.push({ type: m.type, payload: m.payload.toString('hex') });
      };
      read(rest);
      s.on('data', read);
      // Window Ack Size 100, then a ping, then 200 bytes of a data message the publisher ignores
      s.write(hex('02 000000 000004 05 00000000 00000064'));
      s.write(hex('02 000000 000006 04 00000000 0006 12345678'));
      s.write(Buffer.concat([hex('04 000000 0000c8 12 00000000'), Buffer.alloc(128), hex('c4'), Buffer.alloc(72)]));
    });
    const p = publisher({ url: `rtmp://127.0.0.1:${server.port}/live/x`, headerTags: () => [], connectTimeoutMs: 2000 });
    try {
      p.start();
      await until(() => received.some((m) => m.type === 3), 3000, 'an Acknowledgement');
      const pong = received.find((m) => m.type === 4);
      assert.equal(pong?.payload, '000712345678');
      // The server sent 3073 handshake bytes + 16 + 18 + 213 = 3320 bytes. Acknowledgements carry the
      // bytes received so far; each comes at least a window (100 bytes) after the previous one.
      await until(() => received.filter((m) => m.type === 3).length > 0 && received.some((m) => m.type === 3 && parseInt(m.payload, 16) > 3320 - 100), 3000, 'the last Acknowledgement');
      const acks = received.filter((m) => m.type === 3).map((m) => parseInt(m.payload, 16));
      for (let i = 1; i < acks.length; i++) assert.ok(acks[i] >= acks[i - 1] + 100, `acks ${acks}`);
      assert.ok(acks.every((a) => a <= 3320), `acks ${acks}`);
    } finally {
      await p.close();
      await server.close();
    }
  });
});
