/**
 * What the web console needs from signaling, with real peers: the event stream (SSE) behind the
 * token, device search over many devices, streams with live numbers from a real streamer (and a
 * dead one), and the console's own files at `/`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import Fastify from 'fastify';
import type { GbcastEvent } from '../common/contracts.ts';
import type { StreamSession } from '../common/store/stream-store.ts';
import type { CameraFleet } from '../camera/sip/fleet.ts';
import { eventRoutes } from '../signaling/api/event-routes.ts';
import { consoleRoutes, defaultConsoleDir } from '../signaling/console-routes.ts';
import type { Signaling } from '../signaling/signaling.ts';
import { startTestCameras } from './support/cameras.ts';
import { repoRoot } from './support/fixtures.ts';
import { startRedisServer, type RedisServer } from './support/redis-server.ts';
import { runSipp, sippDevices } from './support/sipp.ts';
import { startTestSignaling, TEST_PASSWORD } from './support/signaling.ts';
import { startTestStreamer } from './support/streamer.ts';
import { waitFor } from './support/wait.ts';

const run = promisify(execFile);
let redisServer: RedisServer;
before(async () => {
  redisServer = await startRedisServer();
});
after(async () => {
  await redisServer?.stop();
});

/** Reads an SSE response into messages as they come. */
function sseReader(res: Response) {
  const messages: { event: string; data: string }[] = [];
  const comments: string[] = [];
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  const done = (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        buffer += decoder.decode(value, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let event = 'message';
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) comments.push(line);
            else if (line.startsWith('event: ')) event = line.slice(7);
            else if (line.startsWith('data: ')) data.push(line.slice(6));
          }
          if (data.length) messages.push({ event, data: data.join('\n') });
        }
      }
    } catch {
      // aborted
    }
  })();
  return { messages, comments, done, cancel: () => reader.cancel().catch(() => undefined) };
}

async function metric(signaling: Signaling, name: string): Promise<number | undefined> {
  const text = await (await fetch(`${signaling.httpUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : undefined;
}

describe('console API: the event stream', () => {
  test('GET /api/v1/events delivers device.online to a connected client, needs the token, and cleans up after the client', async () => {
    const signaling = await startTestSignaling(redisServer.url, { apiToken: 'sse-tok' });
    const baseline = signaling.events.listenerCount('event');
    try {
      const url = `${signaling.httpUrl}/api/v1/events`;
      assert.equal((await fetch(url)).status, 401);
      assert.equal((await fetch(url, { headers: { authorization: 'Bearer nope' } })).status, 401);
      const abort = new AbortController();
      const res = await fetch(url, { headers: { authorization: 'Bearer sse-tok' }, signal: abort.signal });
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
      const sse = sseReader(res);
      await waitFor('the opening comment', () => sse.comments.length > 0);
      assert.equal(await metric(signaling, 'gbcast_signaling_event_stream_clients'), 1);

      const devices = sippDevices(1, { password: TEST_PASSWORD });
      const reg = await runSipp({ scenario: 'register', remotePort: signaling.sipPort, devices });
      assert.equal(reg.outcome, 'all-succeeded');
      const message = await waitFor('device.online on the stream', () => sse.messages.find((m) => m.event === 'device.online'));
      const event = JSON.parse(message.data) as GbcastEvent;
      assert.equal(event.type, 'device.online');
      assert.equal(event.type === 'device.online' && event.deviceId, devices[0].id);

      abort.abort();
      await sse.done;
      await waitFor('the client is forgotten', async () => (await metric(signaling, 'gbcast_signaling_event_stream_clients')) === 0);
      assert.equal(signaling.events.listenerCount('event'), baseline, 'no listener is left behind');
      const spec = (await (await fetch(`${signaling.httpUrl}/openapi.json`)).json()) as { paths: Record<string, unknown> };
      for (const p of ['/api/v1/events', '/api/v1/summary', '/api/v1/streams', '/api/v1/streamers']) assert.ok(spec.paths[p], `OpenAPI documents ${p}`);
    } finally {
      await signaling.stop();
    }
  });

  test('a client that does not read is dropped once its buffer is full, not buffered without limit; heartbeats go out', async () => {
    const events = new EventEmitter<{ event: [GbcastEvent] }>();
    const stats = { eventClients: 0, eventClientsDropped: 0 };
    const app = Fastify();
    app.decorate('signaling', { events, stats } as unknown as Signaling);
    await app.register(eventRoutes, { maxBufferedBytes: 512 * 1024, heartbeatMs: 100 });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const port = (app.server.address() as net.AddressInfo).port;
    try {
      // A reader that keeps up sees heartbeats.
      const live = await fetch(`http://127.0.0.1:${port}/events`);
      const sse = sseReader(live);
      await waitFor('a heartbeat', () => sse.comments.some((c) => c.startsWith(': keepalive')));
      // A client that stops reading after the headers.
      const slow = net.connect(port, '127.0.0.1');
      await new Promise((r) => slow.once('connect', r));
      slow.write('GET /events HTTP/1.1\r\nhost: x\r\n\r\n');
      await waitFor('both connected', () => stats.eventClients === 2);
      slow.pause();
      const closed = new Promise((r) => slow.once('close', r));
      const big: GbcastEvent = { type: 'receiver.closed', streamerId: 's', streamId: 'x', reason: 'stopped', detail: 'x'.repeat(4000), at: 0 };
      // 80 KB every few ms: a reader on loopback keeps up, the paused one fills its socket buffers.
      for (let i = 0; i < 20_000 && stats.eventClientsDropped === 0; i++) {
        events.emit('event', big);
        if (i % 20 === 0) await new Promise((r) => setTimeout(r, 2));
      }
      assert.equal(stats.eventClientsDropped, 1, 'the slow client was dropped');
      slow.on('error', () => undefined).resume(); // reads again: sees the end of what it was sent
      await closed;
      assert.equal(stats.eventClients, 1, 'the reading client stays');
      sse.cancel();
      await waitFor('the reading client is forgotten', () => stats.eventClients === 0);
      assert.equal(events.listenerCount('event'), 0);
    } finally {
      await app.close();
    }
  });
});

describe('console API: device search', () => {
  test('q matches an id prefix or part of name/vendor/model/IP in any case; online filters; pages continue with next', async () => {
    const signaling = await startTestSignaling(redisServer.url);
    try {
      const now = Date.now();
      const ids: string[] = [];
      for (let i = 0; i < 1200; i++) {
        const id = `3402000000132${String(i).padStart(7, '0')}`;
        ids.push(id);
        await signaling.store.register({ id, transport: 'UDP', ip: `10.1.${Math.floor(i / 250)}.${i % 250}`, port: 5060, now, expiresAt: now + 3_600_000, deadline: now + 3_600_000 });
        await signaling.store.saveInfo(id, { name: i === 777 ? 'Gate North Camera' : `cam ${i}`, manufacturer: i % 3 === 0 ? 'Hikvision' : 'Dahua', model: `M${i % 10}` });
        if (i % 4 === 0) await signaling.store.unregister(id, now);
      }
      const get = async (query: string) => {
        const res = await fetch(`${signaling.httpUrl}/api/v1/devices?${query}`);
        assert.equal(res.status, 200, await res.clone().text());
        return (await res.json()) as { devices: { id: string; online: boolean; name?: string }[]; next?: string; scanned?: number };
      };

      // Unfiltered paging is as before.
      const plain = await get('limit=1000');
      assert.equal(plain.devices.length, 1000);
      assert.equal(plain.next, ids[999]);
      assert.equal(plain.scanned, undefined);

      assert.deepEqual((await get('q=gate%20NORTH')).devices.map((d) => d.id), [ids[777]]);
      const prefix = await get('q=34020000001320001');
      assert.deepEqual(prefix.devices.map((d) => d.id), ids.slice(1000, 1100));
      assert.deepEqual((await get('q=10.1.4.7&limit=1000')).devices.map((d) => d.id), [ids[1007], ...ids.slice(1070, 1080)]);
      const hik = await get('q=hikvision&limit=1000');
      assert.equal(hik.devices.length, 400);
      assert.equal(hik.next, undefined, 'the end was reached');

      // online=false with paging: 300 offline devices in pages of 120.
      const seen: string[] = [];
      let after: string | undefined;
      for (let page = 0; page < 10; page++) {
        const r = await get(`online=false&limit=120${after ? `&after=${after}` : ''}`);
        assert.ok(r.devices.every((d) => !d.online));
        seen.push(...r.devices.map((d) => d.id));
        after = r.next;
        if (!after) break;
      }
      assert.deepEqual(seen, ids.filter((_, i) => i % 4 === 0));
      assert.equal((await get('online=true&q=hikvision&limit=1000')).devices.length, 300);
      assert.equal((await fetch(`${signaling.httpUrl}/api/v1/devices?online=maybe`)).status, 400);

      const summary = (await (await fetch(`${signaling.httpUrl}/api/v1/summary`)).json()) as { devices: { total: number; online: number }; streams: number; streamers: { total: number } };
      assert.deepEqual(summary, { devices: { total: 1200, online: 900 }, streams: 0, streamers: { total: 0, draining: 0 } });
    } finally {
      await signaling.stop();
    }
  });
});

describe('console API: streams with live numbers', () => {
  test('bitrate, HTTP-FLV and RTMP viewers, age and streamer from a real streamer; a dead or hanging streamer leaves its numbers out', async () => {
    const redisPrefix = `cons${process.pid}:`;
    const signaling = await startTestSignaling(redisServer.url, { redisPrefix, presenceSweepMs: 200 });
    const streamer = await startTestStreamer({ redisUrl: redisServer.url, redisPrefix, reportIntervalMs: 300 });
    const deviceId = '34020000001320000500';
    let cameras: CameraFleet | undefined;
    const hanging = net.createServer(() => undefined); // accepts, never answers
    const viewer = new AbortController();
    try {
      await waitFor('streamer in the pool', async () => (await signaling.streamStore.listStreamers()).length > 0);
      cameras = await startTestCameras(signaling, deviceId);
      const [channel] = await waitFor('catalog', async () => {
        const c = (await (await fetch(`${signaling.httpUrl}/api/v1/devices/${deviceId}/channels`)).json()) as { channels?: { id: string }[] };
        return c.channels?.length ? c.channels : undefined;
      });
      const played = await fetch(`${signaling.httpUrl}/api/v1/devices/${deviceId}/channels/${channel.id}/play`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      assert.equal(played.status, 200, await played.clone().text());
      const { streamId, flvUrl } = (await played.json()) as { streamId: string; flvUrl: string };

      type Listed = { streamId: string; streamer: { id: string; address: string; port: number }; bitrateIn?: number; viewers: number; flvViewers?: number; rtmpViewers: number; ageMs: number; receiverState?: string; streamerReachable: boolean; videoCodec?: string };
      const list = async () => ((await (await fetch(`${signaling.httpUrl}/api/v1/streams`)).json()) as { streams: Listed[] }).streams;

      // An HTTP-FLV viewer on the streamer and an RTMP viewer counted by the hooks.
      const flv = await fetch(flvUrl, { signal: viewer.signal });
      assert.equal(flv.status, 200);
      void flv.body!.pipeTo(new WritableStream()).catch(() => undefined);
      await signaling.streamStore.viewerJoined(deviceId, channel.id);

      const first = await waitFor('media numbers', async () => {
        const s = (await list()).find((x) => x.streamId === streamId);
        return s && s.receiverState === 'receiving' && s.videoCodec && (s.bitrateIn ?? 0) > 0 && s.flvViewers === 1 ? s : undefined;
      }, 15_000);
      assert.equal(first.streamer.id, streamer.config.streamerId);
      assert.equal(first.streamer.address, '127.0.0.1');
      assert.equal(first.streamer.port, streamer.rtpPort);
      assert.equal(first.rtmpViewers, 1);
      assert.equal(first.viewers, 2);
      assert.equal(first.streamerReachable, true);
      assert.equal(first.videoCodec, 'h264');
      // A second reading a while later: the bitrate over that interval, the age grown.
      await new Promise((r) => setTimeout(r, 1200));
      const second = (await list()).find((x) => x.streamId === streamId)!;
      assert.ok((second.bitrateIn ?? 0) > 10_000, `bitrate ${second.bitrateIn}`);
      assert.ok(second.ageMs > first.ageMs);

      // Streams on a streamer that refuses connections and on one that never answers.
      await new Promise<void>((r) => hanging.listen(0, '127.0.0.1', r));
      const fake = (id: string, url: string): StreamSession => ({
        streamId: id, deviceId: '34020000001320000599', channelId: `3402000000131000059${id.length}`, ssrc: '0100009999', transport: 'udp',
        streamerId: `dead-${id}`, streamerUrl: url, streamerAddress: '127.0.0.1', streamerPort: 9, flvUrl: `${url}/live/${id}.flv`,
        state: 'live', createdAt: Date.now() - 5000, callId: `call-${id}`, fromTag: 'f', cseq: 1, sipTransport: 'UDP', sipIp: '127.0.0.1', sipPort: 5060, remoteTarget: 'sip:x@127.0.0.1',
      });
      await signaling.streamStore.save(fake('refused', 'http://127.0.0.1:1'));
      await signaling.streamStore.save(fake('hanging-stream', `http://127.0.0.1:${(hanging.address() as net.AddressInfo).port}`));
      // Without the timeout this call would hang with the hanging streamer (and the test time out).
      const res = await fetch(`${signaling.httpUrl}/api/v1/streams`);
      assert.equal(res.status, 200);
      const all = ((await res.json()) as { streams: Listed[] }).streams;
      for (const id of ['refused', 'hanging-stream']) {
        const s = all.find((x) => x.streamId === id)!;
        assert.equal(s.streamerReachable, false);
        assert.equal(s.bitrateIn, undefined);
        assert.equal(s.viewers, 0);
        assert.ok(s.ageMs >= 5000);
      }
      assert.ok((all.find((x) => x.streamId === streamId)!.bitrateIn ?? 0) > 0, 'the live streamer still answers');
    } finally {
      viewer.abort();
      hanging.close();
      await cameras?.stop();
      await streamer.stop();
      await signaling.stop();
    }
  });
});

describe('console files at /', () => {
  before(async () => {
    // npm test builds first; when this file runs alone, build the bundle it serves.
    if (!existsSync(path.join(defaultConsoleDir(), 'index.html'))) await run(process.execPath, [path.join(repoRoot, 'scripts', 'build-console.ts')], { cwd: repoRoot });
  });

  test('signaling serves index.html and its hashed bundle with their types, ETags and cache headers; the API and health stay', async () => {
    const signaling = await startTestSignaling(redisServer.url);
    try {
      const base = signaling.httpUrl;
      const index = await fetch(`${base}/`);
      assert.equal(index.status, 200);
      assert.match(index.headers.get('content-type') ?? '', /^text\/html/);
      assert.equal(index.headers.get('cache-control'), 'no-cache');
      const html = await index.text();
      const js = /src="(assets\/app-[A-Z0-9]+\.js)"/.exec(html)?.[1];
      const css = /href="(assets\/app-[A-Z0-9]+\.css)"/.exec(html)?.[1];
      assert.ok(js && css, html);
      const etag = index.headers.get('etag')!;
      assert.equal((await fetch(`${base}/`, { headers: { 'if-none-match': etag } })).status, 304);

      const bundle = await fetch(`${base}/${js}`);
      assert.equal(bundle.status, 200);
      assert.match(bundle.headers.get('content-type') ?? '', /^text\/javascript/);
      assert.match(bundle.headers.get('cache-control') ?? '', /immutable/);
      assert.equal(bundle.headers.get('content-encoding'), 'gzip', 'fetch asks for gzip');
      const code = await bundle.text();
      assert.ok(code.length > 10_000 && !code.includes('sourceMappingURL'), 'one minified bundle without source maps');
      const style = await fetch(`${base}/${css}`);
      assert.match(style.headers.get('content-type') ?? '', /^text\/css/);
      assert.equal((await fetch(`${base}/assets/nope.js`)).status, 404);

      for (const p of ['/healthz', '/metrics', '/openapi.json', '/api/v1/devices', '/api/v1/summary']) assert.equal((await fetch(`${base}${p}`)).status, 200, p);
    } finally {
      await signaling.stop();
    }
  });

  test('without a built bundle / answers a 503 page that says how to build it', async () => {
    const empty = await mkdtemp(path.join(tmpdir(), 'gbcast-console-'));
    const app = Fastify();
    await app.register(consoleRoutes, { dir: empty });
    try {
      const res = await app.inject({ url: '/' });
      assert.equal(res.statusCode, 503);
      assert.match(String(res.headers['content-type']), /^text\/html/);
      assert.match(res.body, /npm run build/);
      assert.equal((await app.inject({ url: '/assets/app-AAAAAAAA.js' })).statusCode, 503);
    } finally {
      await app.close();
      await rm(empty, { recursive: true, force: true });
    }
  });
});
