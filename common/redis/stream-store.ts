/**
 * Stream sessions in Redis (the StreamStore contract, common/store/stream-store.ts): which channel
 * streams where, the SIP dialog that carries it, the SSRCs in use, and the atomic least-loaded
 * streamer pick.
 */
import type { Redis } from 'ioredis';
import type { MediaTransport, StreamerRecord } from '../contracts.ts';
import type { StreamSession, StreamStore } from '../store/stream-store.ts';
import { drainingScoreBase, type RedisKeys } from './keys.ts';
import { defineScheduleCommands, takeDue } from './schedule.ts';

/**
 * Picks the least-loaded live, non-draining streamer of a pool and counts one more stream on it at
 * once, so a burst of plays spreads across the pool before the streamers' next reports. Members
 * whose record expired (a dead pod) are removed on the way. Returns the record's JSON.
 */
const PICK = `
local zset, prefix, drainingBase = KEYS[1], ARGV[1], tonumber(ARGV[2])
local members = redis.call('ZRANGE', zset, 0, 49, 'WITHSCORES')
for i = 1, #members, 2 do
  local id, score = members[i], tonumber(members[i + 1])
  if score >= drainingBase then return nil end
  local record = redis.call('GET', prefix .. id)
  if record then
    local ok, decoded = pcall(cjson.decode, record)
    if ok and not decoded.draining then
      redis.call('ZINCRBY', zset, 1, id)
      return record
    end
  else
    redis.call('ZREM', zset, id)
  end
end
return nil
`;

/** Viewer count down by one, never below zero. */
const VIEWER_LEFT = `
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n <= 1 then redis.call('DEL', KEYS[1]) return 0 end
return redis.call('DECR', KEYS[1])
`;

/** HSET only while the stream exists, so a late update never resurrects a removed stream's hash. */
const UPDATE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
`;

/** Takes the stream off its streamer's index, which the session hash names (read before it is deleted). */
const UNINDEX_STREAMER = `
local streamer = redis.call('HGET', KEYS[1], 'streamerId')
if streamer then redis.call('SREM', ARGV[1] .. streamer, ARGV[2]) end
return 0
`;

type ScriptClient = Redis & {
  gbPickStreamer(...args: (string | number)[]): Promise<string | null>;
  gbViewerLeft(...args: (string | number)[]): Promise<number>;
  gbUpdateStream(...args: (string | number)[]): Promise<number>;
};

export class RedisStreamStore implements StreamStore {
  readonly #redis: ScriptClient;
  readonly #keys: RedisKeys;

  constructor(redis: Redis, keys: RedisKeys) {
    const r = redis as ScriptClient;
    if (typeof r.gbPickStreamer !== 'function') {
      redis.defineCommand('gbPickStreamer', { numberOfKeys: 1, lua: PICK });
      redis.defineCommand('gbViewerLeft', { numberOfKeys: 1, lua: VIEWER_LEFT });
      redis.defineCommand('gbUpdateStream', { numberOfKeys: 1, lua: UPDATE });
    }
    this.#redis = r;
    defineScheduleCommands(redis);
    this.#keys = keys;
  }

  /** The least-loaded live, non-draining streamer of `pool`, reserved; undefined when none. */
  async pickStreamer(pool: string): Promise<StreamerRecord | undefined> {
    const raw = await this.#redis.gbPickStreamer(this.#keys.poolLoad(pool), this.#keys.streamer(''), drainingScoreBase);
    return raw ? (JSON.parse(raw) as StreamerRecord) : undefined;
  }

  /** Gives back a reservation that did not become a stream. */
  async unreserveStreamer(pool: string, streamerId: string): Promise<void> {
    await this.#redis.zincrby(this.#keys.poolLoad(pool), -1, streamerId);
  }

  /** Live streamers of every pool, for the API. */
  async listStreamers(): Promise<StreamerRecord[]> {
    const pools = await this.#redis.smembers(this.#keys.pools());
    const out: StreamerRecord[] = [];
    for (const pool of pools) {
      const ids = await this.#redis.zrange(this.#keys.poolLoad(pool), '0', '-1');
      if (ids.length === 0) continue;
      const raw = await this.#redis.mget(ids.map((id) => this.#keys.streamer(id)));
      for (const r of raw) if (r) out.push(JSON.parse(r) as StreamerRecord);
    }
    return out;
  }

  /** Claims an SSRC for a stream; false when another stream holds it. */
  async claimSsrc(ssrc: string, streamId: string): Promise<boolean> {
    return (await this.#redis.set(this.#keys.ssrc(ssrc), streamId, 'NX')) === 'OK';
  }

  /**
   * Claims the channel for a new stream: the stream id when this call made the claim, else the id
   * of the stream that already has it (play is idempotent per channel).
   */
  async claimChannel(deviceId: string, channelId: string, streamId: string): Promise<{ claimed: boolean; streamId: string }> {
    const key = this.#keys.channelStream(deviceId, channelId);
    const ok = await this.#redis.set(key, streamId, 'NX');
    if (ok === 'OK') return { claimed: true, streamId };
    const existing = await this.#redis.get(key);
    return existing ? { claimed: false, streamId: existing } : this.claimChannel(deviceId, channelId, streamId);
  }

  /** The id of the channel's running (or starting) stream. */
  async channelStreamId(deviceId: string, channelId: string): Promise<string | undefined> {
    return (await this.#redis.get(this.#keys.channelStream(deviceId, channelId))) ?? undefined;
  }

  /** An RTMP server reported a viewer of the channel: the new count; any idle stop is cancelled. */
  async viewerJoined(deviceId: string, channelId: string): Promise<number> {
    const [[, count]] = (await this.#redis
      .multi()
      .incr(this.#keys.viewers(deviceId, channelId))
      .zrem(this.#keys.onDemandIdle(), `${deviceId}:${channelId}`)
      .exec()) as [[Error | null, number], [Error | null, number]];
    return count;
  }

  /** A viewer left: the new count (0 at least). */
  async viewerLeft(deviceId: string, channelId: string): Promise<number> {
    return this.#redis.gbViewerLeft(this.#keys.viewers(deviceId, channelId));
  }

  async viewerCount(deviceId: string, channelId: string): Promise<number> {
    return Number((await this.#redis.get(this.#keys.viewers(deviceId, channelId))) ?? 0);
  }

  /** Stop the channel's stream at `at` unless a viewer comes back before. */
  async scheduleIdleStop(deviceId: string, channelId: string, at: number): Promise<void> {
    await this.#redis.zadd(this.#keys.onDemandIdle(), at, `${deviceId}:${channelId}`);
  }

  /** Idle stops that are due, as [deviceId, channelId]; each is handed to one caller only. */
  async takeDueIdleStops(now: number, limit = 500): Promise<[string, string][]> {
    const due = await takeDue(this.#redis, this.#keys.onDemandIdle(), now, limit);
    return due.map((m) => {
      const at = m.indexOf(':');
      return [m.slice(0, at), m.slice(at + 1)];
    });
  }

  async save(session: StreamSession): Promise<void> {
    const fields: string[] = [];
    for (const [k, v] of Object.entries(session)) if (v !== undefined) fields.push(k, String(v));
    await this.#redis
      .multi()
      .hset(this.#keys.stream(session.streamId), ...fields)
      .sadd(this.#keys.streams(), session.streamId)
      .sadd(this.#keys.streamerStreams(session.streamerId), session.streamId)
      .exec();
  }

  async update(streamId: string, fields: Partial<StreamSession>): Promise<void> {
    const flat: string[] = [];
    for (const [k, v] of Object.entries(fields)) if (v !== undefined) flat.push(k, String(v));
    if (flat.length > 0) await this.#redis.gbUpdateStream(this.#keys.stream(streamId), ...flat);
  }

  async get(streamId: string): Promise<StreamSession | undefined> {
    const h = await this.#redis.hgetall(this.#keys.stream(streamId));
    return h.streamId ? toSession(h) : undefined;
  }

  /** Finds the stream of a SIP dialog (a device's BYE). */
  async byCallId(callId: string): Promise<StreamSession | undefined> {
    const streamId = await this.#redis.get(this.#keys.streamByCallId(callId));
    return streamId ? this.get(streamId) : undefined;
  }

  async indexCallId(callId: string, streamId: string): Promise<void> {
    await this.#redis.set(this.#keys.streamByCallId(callId), streamId);
  }

  async listOnStreamer(streamerId: string): Promise<StreamSession[]> {
    const ids = await this.#redis.smembers(this.#keys.streamerStreams(streamerId));
    if (ids.length === 0) return [];
    const pipeline = this.#redis.pipeline();
    for (const id of ids) pipeline.hgetall(this.#keys.stream(id));
    const out: StreamSession[] = [];
    for (const [err, h] of (await pipeline.exec()) ?? []) {
      const hash = h as Record<string, string> | null;
      if (!err && hash?.streamId && hash.streamerId === streamerId) out.push(toSession(hash));
    }
    return out.sort((a, b) => a.createdAt - b.createdAt);
  }

  async list(): Promise<StreamSession[]> {
    const ids = await this.#redis.smembers(this.#keys.streams());
    const out: StreamSession[] = [];
    for (const id of ids) {
      const s = await this.get(id);
      if (s) out.push(s);
    }
    return out.sort((a, b) => a.createdAt - b.createdAt);
  }

  /**
   * Removes a stream and everything that pointed at it; true for the caller that removed it (the
   * one that must send the BYE and close the receiver), false when it was already gone.
   */
  async remove(session: Pick<StreamSession, 'streamId' | 'deviceId' | 'channelId' | 'ssrc' | 'callId'>): Promise<boolean> {
    const k = this.#keys;
    const results = await this.#redis
      .multi()
      .srem(k.streams(), session.streamId)
      .eval(UNINDEX_STREAMER, 1, k.stream(session.streamId), k.streamerStreams(''), session.streamId)
      .del(k.stream(session.streamId))
      .eval(
        "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0",
        1,
        k.channelStream(session.deviceId, session.channelId),
        session.streamId,
      )
      .eval("if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0", 1, k.ssrc(session.ssrc), session.streamId)
      .del(k.streamByCallId(session.callId))
      .exec();
    return results?.[0]?.[1] === 1;
  }
}

function toSession(h: Record<string, string>): StreamSession {
  return {
    streamId: h.streamId,
    deviceId: h.deviceId,
    channelId: h.channelId,
    ssrc: h.ssrc,
    transport: h.transport as MediaTransport,
    streamerId: h.streamerId,
    streamerUrl: h.streamerUrl,
    streamerStartedAt: h.streamerStartedAt === undefined ? undefined : Number(h.streamerStartedAt),
    streamerAddress: h.streamerAddress,
    streamerPort: Number(h.streamerPort),
    rtmpUrl: h.rtmpUrl,
    flvUrl: h.flvUrl,
    state: h.state === 'live' ? 'live' : 'inviting',
    createdAt: Number(h.createdAt),
    callId: h.callId,
    fromTag: h.fromTag,
    toTag: h.toTag,
    cseq: Number(h.cseq),
    sipTransport: h.sipTransport === 'TCP' ? 'TCP' : 'UDP',
    sipIp: h.sipIp,
    sipPort: Number(h.sipPort),
    remoteTarget: h.remoteTarget,
  };
}
