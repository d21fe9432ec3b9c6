/**
 * The streamer's internal API, load reports and events against a real redis-server, without media:
 * validation, idempotency, conflicts, draining, the no-media reasons, and SIGTERM.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { spawn } from 'node:child_process';
import { Redis } from 'ioredis';
import type { GbcastEvent, StreamerRecord } from '../common/contracts.ts';
import { redisKeys } from '../common/redis/keys.ts';
import { startRedisServer, type RedisServer } from './support/redis-server.ts';
import { api, startTestStreamer } from './support/streamer.ts';
import { freePort } from './support/ports.ts';
import { repoRoot } from './support/fixtures.ts';
import { waitFor } from './support/wait.ts';

let redisServer: RedisServer;
let redis: Redis;
let sub: Redis;
const events: GbcastEvent[] = [];

before(async () => {
  redisServer = await startRedisServer();
  redis = new Redis(redisServer.url);
  sub = new Redis(redisServer.url);
  await sub.subscribe(redisKeys().events());
  sub.on('message', (_channel: string, message: string) => events.push(JSON.parse(message) as GbcastEvent));
});

after(async () => {
  redis.disconnect();
  sub.disconnect();
  await redisServer.stop();
});


/** A minimal RTP packet with a PS pack header start as payload. */
function rtpPacket(ssrc: number, seq: number): Buffer {
  const b = Buffer.alloc(12 + 4);
  b[0] = 0x80;
  b[1] = 96;
  b.writeUInt16BE(seq, 2);
  b.writeUInt32BE(seq * 3600, 4);
  b.writeUInt32BE(ssrc >>> 0, 8);
  b.set([0, 0, 1, 0xba], 12);
  return b;
}

describe('streamer internal API', () => {
  test('opens, lists, repeats idempotently, rejects conflicts and bad input, deletes', async () => {
    const streamer = await startTestStreamer();
    try {
      const open = await api<{ address: string; port: number }>(streamer, 'POST', '/api/v1/receivers', {
        streamId: 's1',
        ssrc: '0100000001',
        transport: 'udp',
      });
      assert.equal(open.status, 200);
      assert.equal(open.body.address, '127.0.0.1');
      assert.equal(open.body.port, streamer.rtpPort);

      const again = await api(streamer, 'POST', '/api/v1/receivers', { streamId: 's1', ssrc: '0100000001', transport: 'udp' });
      assert.equal(again.status, 200);
      const otherSsrc = await api(streamer, 'POST', '/api/v1/receivers', { streamId: 's1', ssrc: '0100000002', transport: 'udp' });
      assert.equal(otherSsrc.status, 409);
      const sameSsrc = await api(streamer, 'POST', '/api/v1/receivers', { streamId: 's2', ssrc: '100000001', transport: 'udp' });
      assert.equal(sameSsrc.status, 409, 'a padded SSRC is the same SSRC');

      for (const bad of [
        { streamId: 's3', ssrc: 'abc', transport: 'udp' },
        { streamId: 's3', ssrc: '99999999999', transport: 'udp' },
        { streamId: 's3', ssrc: '4294967296', transport: 'udp' },
        { streamId: 's3', ssrc: '1', transport: 'sctp' },
        { streamId: 's 3', ssrc: '1', transport: 'udp' },
        { streamId: 's3', ssrc: '1', transport: 'udp', rtmpUrl: 'http://example/x' },
        { streamId: 's3', ssrc: '1', transport: 'udp', extra: true },
      ]) {
        const r = await api<{ message: string }>(streamer, 'POST', '/api/v1/receivers', bad);
        assert.equal(r.status, 400, JSON.stringify(bad));
        assert.ok(r.body.message.length > 0);
      }

      const list = await api<{ receivers: { streamId: string; state: string }[] }>(streamer, 'GET', '/api/v1/receivers');
      assert.deepEqual(
        list.body.receivers.map((r) => [r.streamId, r.state]),
        [['s1', 'waiting']],
      );
      assert.equal((await api(streamer, 'GET', '/api/v1/receivers/s1')).status, 200);
      assert.equal((await api(streamer, 'GET', '/api/v1/receivers/nope')).status, 404);
      assert.equal((await api(streamer, 'DELETE', '/api/v1/receivers/s1')).status, 204);
      assert.equal((await api(streamer, 'DELETE', '/api/v1/receivers/s1')).status, 404);
      assert.equal((await api(streamer, 'PUT', '/api/v1/receivers/s1/peer', { ip: '127.0.0.1' })).status, 404);
      assert.equal((await api(streamer, 'GET', '/live/s1.flv')).status, 404);
      assert.equal((await api(streamer, 'GET', '/healthz')).status, 200);
      const metrics = await fetch(`${streamer.httpUrl}/metrics`).then((r) => r.text());
      assert.match(metrics, /gbcast_streamer_receivers_closed_total\{reason="deleted"[^}]*\} 1/);
    } finally {
      await streamer.stop();
    }
  });

  test('reports load to redis, drains on request, and refuses new receivers while draining', async () => {
    const streamer = await startTestStreamer({ redisUrl: redisServer.url, reportIntervalMs: 200, pool: 'edge' });
    const keys = redisKeys();
    try {
      await api(streamer, 'POST', '/api/v1/receivers', { streamId: 'a', ssrc: '11', transport: 'udp' });
      const record = await waitFor('a record with one stream', async () => {
        const raw = await redis.get(keys.streamer(streamer.config.streamerId));
        const rec = raw ? (JSON.parse(raw) as StreamerRecord) : undefined;
        return rec?.activeStreams === 1 ? rec : undefined;
      });
      assert.equal(record.pool, 'edge');
      assert.equal(record.port, streamer.rtpPort);
      assert.equal(record.url, streamer.httpUrl);
      assert.equal(record.draining, false);
      const ttl = await redis.ttl(keys.streamer(streamer.config.streamerId));
      assert.ok(ttl > 0 && ttl <= 2, `ttl ${ttl}`);
      const score = Number(await redis.zscore(keys.poolLoad('edge'), streamer.config.streamerId));
      assert.ok(score >= 1 && score < 2, `score ${score}`);
      assert.equal((await api(streamer, 'GET', '/readyz')).status, 200);

      await redis.set(keys.streamerDrain(streamer.config.streamerId), '1');
      await waitFor('draining record', async () => {
        const raw = await redis.get(keys.streamer(streamer.config.streamerId));
        return raw && (JSON.parse(raw) as StreamerRecord).draining ? true : undefined;
      });
      assert.ok(Number(await redis.zscore(keys.poolLoad('edge'), streamer.config.streamerId)) >= 1e9);
      assert.equal((await api(streamer, 'GET', '/readyz')).status, 503);
      const refused = await api(streamer, 'POST', '/api/v1/receivers', { streamId: 'b', ssrc: '12', transport: 'udp' });
      assert.equal(refused.status, 503);
      const repeat = await api(streamer, 'POST', '/api/v1/receivers', { streamId: 'a', ssrc: '11', transport: 'udp' });
      assert.equal(repeat.status, 200, 'the running stream stays');
      assert.ok(events.some((e) => e.type === 'streamer.draining' && e.streamerId === streamer.config.streamerId));
    } finally {
      await streamer.stop();
    }
    assert.equal(await redis.exists(keys.streamer(streamer.config.streamerId)), 0, 'record removed on stop');
  });

  test('a receiver without media closes itself and says why: no packets, wrong SSRC, stopped', async () => {
    const streamer = await startTestStreamer({ redisUrl: redisServer.url, noMediaTimeoutMs: 1000 });
    const udp = dgram.createSocket('udp4');
    await new Promise<void>((r) => udp.bind(0, '127.0.0.1', () => r()));
    const send = (b: Buffer) => new Promise<void>((r) => udp.send(b, streamer.rtpPort, '127.0.0.1', () => r()));
    const id = streamer.config.streamerId;
    const closed = (streamId: string) =>
      waitFor(`close event of ${streamId}`, () =>
        events.find((e) => e.type === 'receiver.closed' && e.streamerId === id && e.streamId === streamId),
      );
    try {
      // Another port's packets must not count as "wrong SSRC" for a receiver expecting 127.0.0.2.
      await api(streamer, 'POST', '/api/v1/receivers', { streamId: 'silent', ssrc: '21', transport: 'udp', peer: { ip: '127.0.0.2' } });
      await api(streamer, 'POST', '/api/v1/receivers', { streamId: 'wrong', ssrc: '22', transport: 'udp' });
      await api(streamer, 'POST', '/api/v1/receivers', { streamId: 'stops', ssrc: '23', transport: 'udp' });
      for (let i = 0; i < 5; i++) {
        await send(rtpPacket(999, i));
        await send(rtpPacket(23, i));
      }
      const [silent, wrong, stops] = await Promise.all([closed('silent'), closed('wrong'), closed('stops')]);
      assert.equal(silent.type === 'receiver.closed' && silent.reason, 'no-packets');
      assert.equal(wrong.type === 'receiver.closed' && wrong.reason, 'wrong-ssrc');
      assert.match(wrong.type === 'receiver.closed' ? (wrong.detail ?? '') : '', /SSRC 999, expected 22/);
      assert.equal(stops.type === 'receiver.closed' && stops.reason, 'stopped');
      const metrics = await fetch(`${streamer.httpUrl}/metrics`).then((r) => r.text());
      assert.match(metrics, /gbcast_streamer_rtp_dropped_packets_total\{reason="unknown_ssrc"[^}]*\} 5/);
    } finally {
      udp.close();
      await streamer.stop();
    }
  });

  for (const udpReceive of ['batch', 'dgram'] as const) {
    test(`an unknown SSRC from the expected peer is matched to the waiting receiver (UDP read by ${udpReceive})`, async () => {
      const streamer = await startTestStreamer({ udpReceive });
      assert.equal(streamer.udpReceiver, udpReceive);
      const udp = dgram.createSocket('udp4');
      await new Promise<void>((r) => udp.bind(0, '127.0.0.1', () => r()));
      try {
        await api(streamer, 'POST', '/api/v1/receivers', { streamId: 'dahua', ssrc: '0100000777', transport: 'udp' });
        await api(streamer, 'PUT', '/api/v1/receivers/dahua/peer', { ip: '127.0.0.1', port: udp.address().port });
        for (let i = 0; i < 3; i++) await new Promise<void>((r) => udp.send(rtpPacket(0, i), streamer.rtpPort, '127.0.0.1', () => r()));
        const info = await waitFor('packets counted', async () => {
          const r = await api<{ packets: number; source?: { ip: string; port: number } }>(streamer, 'GET', '/api/v1/receivers/dahua');
          return r.body.packets === 3 ? r.body : undefined;
        });
        assert.deepEqual(info.source, { ip: '127.0.0.1', port: udp.address().port });
      } finally {
        udp.close();
        await streamer.stop();
      }
    });
  }
});

describe('gbcast streamer process', () => {
  test('rejects bad configuration with every problem listed', async () => {
    const child = spawn(process.execPath, [`${repoRoot}bin/gbcast.js`, 'streamer', '--rtp-port', 'x', '--bogus'], {
      env: { ...process.env, GBCAST_HEVC_FLV: 'h266' },
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    assert.equal(code, 2);
    assert.match(stderr, /--rtp-port.*integer/);
    assert.match(stderr, /unknown flag --bogus/);
    assert.match(stderr, /GBCAST_HEVC_FLV.*legacy, enhanced/);
  });

  test('serves health, reports to redis, and on SIGTERM drains, closes and removes its record', async () => {
    const httpPort = await freePort();
    const rtpPort = await freePort();
    const child = spawn(process.execPath, [`${repoRoot}bin/gbcast.js`, 'streamer'], {
      env: {
        ...process.env,
        GBCAST_RTP_PORT: String(rtpPort),
        GBCAST_HTTP_PORT: String(httpPort),
        GBCAST_HTTP_HOST: '127.0.0.1',
        GBCAST_RTP_HOST: '127.0.0.1',
        GBCAST_PUBLIC_ADDRESS: '127.0.0.1',
        GBCAST_REDIS_URL: redisServer.url,
        GBCAST_STREAMER_ID: 'proc-1',
        GBCAST_REPORT_INTERVAL_MS: '200',
        GBCAST_SHUTDOWN_GRACE_MS: '300',
      },
    });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', r));
    try {
      await waitFor('record in redis', async () => ((await redis.exists(redisKeys().streamer('proc-1'))) === 1 ? true : undefined));
      const health = await fetch(`http://127.0.0.1:${httpPort}/healthz`);
      assert.equal(health.status, 200);
      const open = await fetch(`http://127.0.0.1:${httpPort}/api/v1/receivers`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ streamId: 'x', ssrc: '5', transport: 'udp' }),
      });
      assert.equal(open.status, 200);
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
      assert.equal(await redis.exists(redisKeys().streamer('proc-1')), 0);
      const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as { msg: string; reason?: string; level: string });
      assert.ok(lines.every((l) => typeof l.level === 'string'), 'every log line is JSON');
      assert.ok(lines.some((l) => l.msg === 'draining'));
      assert.ok(lines.some((l) => l.msg === 'receiver closed' && l.reason === 'shutdown'));
      assert.ok(lines.some((l) => l.msg === 'streamer stopped'));
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
