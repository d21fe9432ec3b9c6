import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { silentLogger } from '../common/logger.ts';
import type { StreamerRecord } from '../common/contracts.ts';
import { createMemoryBackend, type MemoryBackend } from '../common/store/memory/backend.ts';
import type { StreamSession } from '../common/store/stream-store.ts';
import type { ProbeTarget } from '../common/store/streamer-store.ts';
import { SignalingStats } from './metrics.ts';
import { StreamerWatch } from './streamer-watch.ts';
import type { StreamEndReason, Streams } from './streams.ts';

/** A /healthz that answers as `answer` says for each request in turn (undefined: hang up; 'silent': never answer). */
let answers: ({ startedAt?: number } | 500 | 'silent' | undefined)[] = [];
let requests = 0;
let server: http.Server;
let liveUrl = '';
let deadUrl = '';

before(async () => {
  server = http.createServer((req, res) => {
    requests++;
    const answer = answers.length > 1 ? answers.shift() : answers[0];
    if (answer === 'silent') return;
    if (answer === undefined) req.socket.destroy();
    else if (answer === 500) res.writeHead(500).end();
    else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'ok', ...answer }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  liveUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const closed = http.createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  deadUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
  await new Promise((resolve) => closed.close(resolve));
});
after(() => new Promise((resolve) => server.close(resolve)));

function record(id: string, over: Partial<StreamerRecord> = {}): StreamerRecord {
  return { id, pool: 'p1', address: '10.0.0.1', port: 10000, url: liveUrl, activeStreams: 0, bitrateIn: 0, cpuPercent: 0, draining: false, updatedAt: 0, version: 't', ...over };
}

function session(streamId: string, streamerId: string, over: Partial<StreamSession> = {}): StreamSession {
  return {
    streamId,
    deviceId: 'd1',
    channelId: `ch-${streamId}`,
    ssrc: `ssrc-${streamId}`,
    transport: 'udp',
    streamerId,
    streamerUrl: liveUrl,
    streamerAddress: '10.0.0.1',
    streamerPort: 10000,
    flvUrl: 'http://x/live/x.flv',
    state: 'live',
    createdAt: 1000,
    callId: `call-${streamId}`,
    fromTag: 'f',
    cseq: 1,
    sipTransport: 'UDP',
    sipIp: '10.0.0.9',
    sipPort: 5060,
    remoteTarget: 'sip:x@10.0.0.9:5060',
    ...over,
  };
}

interface Fixture {
  backend: MemoryBackend;
  watch: StreamerWatch;
  ended: [string, StreamEndReason][];
  draining: string[];
  stats: SignalingStats;
  /** The due probe of a streamer, as a tick would claim it. */
  claim(id: string): Promise<ProbeTarget>;
}

function fixture(): Fixture {
  const backend = createMemoryBackend();
  const ended: [string, StreamEndReason][] = [];
  const draining: string[] = [];
  const stats = new SignalingStats();
  const streams = {
    async end(streamId: string, reason: StreamEndReason) {
      const s = await backend.streams.get(streamId);
      if (!s || !(await backend.streams.remove(s))) return false;
      ended.push([streamId, reason]);
      return true;
    },
  } as unknown as Streams;
  const watch = new StreamerWatch(
    { probeMs: 1000, timeoutMs: 300, retryMs: 20, tickMs: 1000 },
    backend.streamers,
    backend.streams,
    streams,
    (id) => draining.push(id),
    silentLogger(),
    stats,
  );
  let t = Date.now();
  return {
    backend,
    watch,
    ended,
    draining,
    stats,
    async claim(id) {
      t += 1_000_000;
      const target = (await backend.streamers.claimDueProbes(t, t + 1)).find((x) => x.id === id);
      assert.ok(target, `${id} is due`);
      return target;
    },
  };
}

test('a streamer unreachable twice in a row is gone: out of its pool and the probe schedule, its streams end as streamer-gone', async () => {
  const f = fixture();
  await f.backend.streamers.report(record('s1', { url: deadUrl }), 60);
  await f.backend.streamers.report(record('s2'), 60);
  await f.backend.streams.save(session('a', 's1', { streamerUrl: deadUrl }));
  await f.backend.streams.save(session('b', 's1', { streamerUrl: deadUrl, state: 'inviting' }));
  await f.backend.streams.save(session('c', 's2'));
  answers = [{}];
  await f.watch.probe(await f.claim('s1'));
  assert.deepEqual(f.ended.sort(), [
    ['a', 'streamer-gone'],
    ['b', 'streamer-gone'],
  ]);
  assert.deepEqual((await f.backend.streamers.listPool('p1')).map((r) => r.id), ['s2'], 'no play picks it');
  assert.deepEqual((await f.backend.streamers.claimDueProbes(Number.MAX_SAFE_INTEGER, 0)).map((t) => t.id), ['s2'], 'off the probe schedule');
  assert.equal(f.stats.streamersGone.unreachable, 1);
  await f.backend.close();
});

test('a streamer that accepts connections but does not answer within the timeout, twice, is gone', async () => {
  const f = fixture();
  await f.backend.streamers.report(record('s1'), 60);
  await f.backend.streams.save(session('a', 's1'));
  answers = ['silent'];
  requests = 0;
  await f.watch.probe(await f.claim('s1'));
  assert.equal(requests, 2);
  assert.deepEqual(f.ended, [['a', 'streamer-gone']]);
  server.closeAllConnections();
  await f.backend.close();
});

test('one failed probe is tried again: a streamer that answers the second time is not gone', async () => {
  for (const failure of [undefined, 500] as const) {
    const f = fixture();
    await f.backend.streamers.report(record('s1'), 60);
    await f.backend.streams.save(session('a', 's1'));
    answers = [failure, {}];
    requests = 0;
    await f.watch.probe(await f.claim('s1'));
    assert.equal(requests, 2);
    assert.deepEqual(f.ended, []);
    assert.equal((await f.backend.streamers.listPool('p1')).length, 1);
    await f.backend.close();
  }
});

test('a new start time: the streams of the earlier process end, those of this one stay; the start time is remembered', async () => {
  const f = fixture();
  await f.backend.streamers.report(record('s1', { startedAt: 100 }), 60);
  await f.backend.streamers.setProbedStart('s1', 100);
  await f.backend.streams.save(session('old', 's1', { streamerStartedAt: 100 }));
  await f.backend.streams.save(session('older', 's1', { createdAt: 50 }));
  await f.backend.streams.save(session('new', 's1', { streamerStartedAt: 200, createdAt: 300 }));
  await f.backend.streams.save(session('unknown-new', 's1', { createdAt: 250 }));
  answers = [{ startedAt: 200 }];
  await f.watch.probe(await f.claim('s1'));
  assert.deepEqual(f.ended.map(([id]) => id).sort(), ['old', 'older']);
  assert.ok(f.ended.every(([, reason]) => reason === 'streamer-gone'));
  assert.equal(f.stats.streamersGone.restarted, 1);
  const again = await f.claim('s1');
  assert.equal(again.probedStartedAt, 200);
  await f.watch.probe(again);
  assert.equal(f.ended.length, 2, 'nothing more once the start time is known');
  await f.backend.close();
});

test('the first probe of a streamer ends nothing of its own process; a draining record asks the keeper to move its always-on streams', async () => {
  const f = fixture();
  await f.backend.streamers.report(record('s1', { startedAt: 100, draining: true }), 60);
  await f.backend.streams.save(session('a', 's1', { streamerStartedAt: 100 }));
  answers = [{ startedAt: 100 }];
  await f.watch.probe(await f.claim('s1'));
  assert.deepEqual(f.ended, []);
  assert.deepEqual(f.draining, ['s1']);
  assert.equal((await f.claim('s1')).probedStartedAt, 100);
  await f.backend.close();
});

test('without a record: probed at the address of its streams; with neither, taken off the schedule', async () => {
  const f = fixture();
  await f.backend.streamers.report(record('s1'), 60);
  await f.backend.streamers.report(record('s2'), 60);
  await f.backend.streamers.remove('s1', 'p1');
  await f.backend.streamers.remove('s2', 'p1');
  await f.backend.streams.save(session('a', 's2', { streamerUrl: deadUrl }));
  await f.watch.probe(await f.claim('s1'));
  await f.watch.probe(await f.claim('s2'));
  assert.deepEqual(f.ended, [['a', 'streamer-gone']], 'found gone at its streams\' address');
  assert.deepEqual(await f.backend.streamers.claimDueProbes(Number.MAX_SAFE_INTEGER, 0), []);
  await f.backend.close();
});

test('tick claims the due probes and runs each once', async () => {
  const f = fixture();
  await f.backend.streamers.report(record('s1'), 60);
  answers = [{}];
  requests = 0;
  const now = Date.now();
  assert.equal(await f.watch.tick(now), 1);
  assert.equal(await f.watch.tick(now), 0, 'the claim moved its next probe on');
  await f.watch.stop();
  assert.equal(requests, 1);
  await f.backend.close();
});
