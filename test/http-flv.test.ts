/**
 * HTTP-FLV over a real loopback HTTP server: several viewers on one stream, one of which never reads.
 * The stuck viewer must be skipped and then dropped with its pending bytes bounded; the others must
 * receive streams that FFmpeg decodes without errors, the late joiner starting at a keyframe.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { MediaFrame, VideoFrame } from '../common/codec/frame.ts';
import { fixturePath } from './support/fixtures.ts';
import { FlvMuxer } from '../streamer/flv/flv-muxer.ts';
import type { FlvTag } from '../streamer/flv/flv-tag.ts';
import { readFlv, readVideoTagHeader } from './support/flv-reader.ts';
import { g711Tone, interleave, videoFramesFromAnnexB } from '../streamer/flv/testing/fixture-frames.ts';
import { FlvBroadcaster } from '../streamer/http-flv/flv-broadcaster.ts';
import { serveHttpFlv } from '../streamer/http-flv/serve-http-flv.ts';

const run = promisify(execFile);
const MAX_PENDING = 256 * 1024;
const LOOPS = 16;

interface Viewer {
  chunks: Buffer[];
  done: Promise<void>;
  request?: http.ClientRequest;
  status?: number;
  headers?: http.IncomingHttpHeaders;
}

function watch(port: number, name: string, opts: { paused?: boolean } = {}): Viewer {
  const v: Viewer = { chunks: [], done: Promise.resolve() };
  v.done = new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: `/live/cam.flv?viewer=${name}`, agent: false }, (res) => {
      v.status = res.statusCode;
      v.headers = res.headers;
      if (opts.paused) {
        // Never reads: the socket fills up and the server's pending bytes grow. A paused socket does
        // not even see the server close it, so the test destroys it at the end.
        res.pause();
        res.socket.on('close', () => resolve());
        return;
      }
      res.on('data', (c: Buffer) => v.chunks.push(c));
      res.on('end', () => resolve());
      res.on('error', () => resolve());
      res.on('close', () => resolve());
    });
    req.on('error', () => resolve());
    v.request = req;
  });
  return v;
}

test('HTTP-FLV fan-out: live viewers decode cleanly, a late joiner starts at a keyframe, a stuck viewer is dropped', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'gbcast-httpflv-'));
  // The receiver knows the tracks from the PS stream map; declared, they give the early viewer's file header.
  const broadcaster = new FlvBroadcaster({ maxPendingBytes: MAX_PENDING, maxSkipsInRow: 3, maxBehindMs: 1e9, tracks: { video: true, audio: true } });
  const responses = new Map<string, http.ServerResponse>();
  let lastKeyIndex = -1; // index (in published video frames) of the latest keyframe
  let videoPublished = 0;
  const joinedAtKey = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const name = new URL(req.url ?? '/', 'http://x').searchParams.get('viewer') ?? '?';
    responses.set(name, res);
    joinedAtKey.set(name, lastKeyIndex);
    serveHttpFlv(req, res, broadcaster);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    broadcaster.close();
    server.closeAllConnections();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const { port } = server.address() as AddressInfo;

  // 16 loops of avatar.h264 (12.3 s each) with a continuous G.711A tone: about 200 s of media.
  const one = videoFramesFromAnnexB('h264', readFileSync(fixturePath('avatar.h264')));
  const span = one.length * 3600;
  const video: VideoFrame[] = [];
  for (let l = 0; l < LOOPS; l++) for (const f of one) video.push({ ...f, dts: f.dts + l * span, pts: f.pts + l * span });
  const audio = g711Tone('pcma', (LOOPS * span) / 90000);
  const frames = interleave<MediaFrame>(video, audio);

  let maxTag = 0;
  const muxer = new FlvMuxer({ hevc: 'enhanced' }, (tag: FlvTag) => {
    maxTag = Math.max(maxTag, tag.data.length);
    broadcaster.publish(tag);
  });

  const early = watch(port, 'early');
  const stuck = watch(port, 'stuck', { paused: true });
  let late: Viewer | undefined;
  let maxStuckPending = 0;
  let stuckDroppedAt = -1;
  // Wait until both are attached (the server saw them) before media starts.
  while (broadcaster.viewerCount < 2) await new Promise((r) => setTimeout(r, 5));

  for (const f of frames) {
    if (f.kind === 'video') {
      if (f.keyframe) lastKeyIndex = videoPublished;
      videoPublished++;
      if (videoPublished === 3 * one.length + 100) late = watch(port, 'late');
    }
    muxer.push(f);
    const s = responses.get('stuck');
    if (s && !s.destroyed) maxStuckPending = Math.max(maxStuckPending, s.writableLength);
    else if (s && stuckDroppedAt < 0) stuckDroppedAt = videoPublished;
    if (f.kind === 'video') await new Promise((r) => setImmediate(r)); // let the sockets flow
  }
  assert.ok(late);
  assert.equal(videoPublished, video.length);

  // The stuck viewer: skipped, then dropped; its unsent bytes never went past the threshold + one tag.
  assert.ok(stuckDroppedAt > 0, 'the stuck viewer was dropped while the stream ran');
  assert.equal(broadcaster.stats.drops, 1);
  assert.ok(broadcaster.stats.skips >= 3);
  assert.ok(maxStuckPending <= MAX_PENDING + maxTag, `pending ${maxStuckPending} > ${MAX_PENDING} + ${maxTag}`);
  assert.equal(broadcaster.viewerCount, 2);

  broadcaster.close();
  stuck.request?.destroy();
  await Promise.all([early.done, late.done, stuck.done]);
  assert.equal(early.status, 200);
  assert.equal(early.headers?.['content-type'], 'video/x-flv');
  assert.equal(early.headers?.['access-control-allow-origin'], '*');
  assert.match(String(early.headers?.['cache-control']), /no-cache/);

  const expectations = [
    { v: early, name: 'early', videoFrames: video.length },
    { v: late, name: 'late', videoFrames: video.length - (joinedAtKey.get('late') ?? 0) },
  ];
  for (const { v, name, videoFrames } of expectations) {
    const buf = Buffer.concat(v.chunks);
    const flv = readFlv(buf);
    assert.equal(flv.trailingBytes, 0, name);
    assert.deepEqual(flv.info, { hasVideo: true, hasAudio: true }, name);
    assert.deepEqual(flv.tags.slice(0, 2).map((x) => x.type), [18, 9], name);
    const firstVideo = flv.tags.find((x) => x.type === 9 && readVideoTagHeader(x.body).packetType === 1);
    assert.ok(firstVideo && readVideoTagHeader(firstVideo.body).frameType === 1, `${name} starts at a keyframe`);
    const file = path.join(dir, `${name}.flv`);
    writeFileSync(file, buf);
    // One decoding pass: errors on stderr, one framecrc line per decoded frame on stdout.
    const { stdout, stderr } = await run('ffmpeg', ['-v', 'error', '-i', file, '-f', 'framecrc', '-'], { maxBuffer: 1 << 26 });
    assert.equal(stderr, '', `${name}: ffmpeg reports errors`);
    const decodedVideo = stdout.split('\n').filter((l) => /^\d+,/.test(l) && l.split(',')[4].trim() === String(768 * 320 * 1.5));
    assert.equal(decodedVideo.length, videoFrames, name);
  }
  assert.ok((joinedAtKey.get('late') ?? 0) > 0);
});

test('HEAD, OPTIONS and HTTP/1.0 get the right headers and framing', async (t) => {
  const broadcaster = new FlvBroadcaster();
  const server = http.createServer((req, res) => serveHttpFlv(req, res, broadcaster));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    broadcaster.close();
    server.closeAllConnections();
    server.close();
  });
  const { port } = server.address() as AddressInfo;
  const request = (method: string, headers: Record<string, string> = {}) =>
    new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path: '/live/x.flv', method, headers }, (res) => {
        res.resume();
        resolve(res);
      });
      req.on('error', reject);
      req.end();
    });
  const head = await request('HEAD');
  assert.deepEqual([head.statusCode, head.headers['content-type']], [200, 'video/x-flv']);
  const options = await request('OPTIONS', { 'Access-Control-Request-Headers': 'range' });
  assert.deepEqual([options.statusCode, options.headers['access-control-allow-headers']], [204, 'range']);
  assert.equal(options.headers['access-control-allow-origin'], '*');

  // HTTP/1.0 by hand: no chunked framing, Connection: close, body = raw FLV bytes.
  const { createConnection } = await import('node:net');
  const sock = createConnection(port, '127.0.0.1');
  const got: Buffer[] = [];
  sock.on('data', (c: Buffer) => got.push(c));
  sock.write('GET /live/x.flv HTTP/1.0\r\n\r\n');
  while (broadcaster.viewerCount === 0) await new Promise((r) => setTimeout(r, 5));
  broadcaster.publish({ type: 8, timestamp: 0, keyframe: false, isHeader: false, data: Buffer.from([8, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0x72, 0, 0, 0, 12]) });
  broadcaster.close();
  await new Promise((r) => sock.on('close', r));
  const text = Buffer.concat(got);
  const split = text.indexOf('\r\n\r\n');
  const head10 = text.toString('latin1', 0, split);
  assert.match(head10, /^HTTP\/1\.1 200/);
  assert.match(head10, /connection: close/i);
  assert.doesNotMatch(head10, /transfer-encoding/i);
  assert.equal(text.toString('latin1', split + 4, split + 7), 'FLV');
  assert.equal(text.length - split - 4, 13 + 16);
});
