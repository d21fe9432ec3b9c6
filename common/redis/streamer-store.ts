import type { Redis } from 'ioredis';
import type { GbcastEvent, StreamerRecord } from '../contracts.ts';
import type { ProbeTarget, StreamerDirectives, StreamerStore } from '../store/streamer-store.ts';
import { loadScore, type RedisKeys } from './keys.ts';
import { claimDue, defineScheduleCommands } from './schedule.ts';

/** The streamer side of the load table and the events channel in Redis (see keys.ts for the layout). */
export class RedisStreamerStore implements StreamerStore {
  readonly #redis: Redis;
  readonly #keys: RedisKeys;

  constructor(redis: Redis, keys: RedisKeys) {
    this.#redis = redis;
    defineScheduleCommands(redis);
    this.#keys = keys;
  }

  /** Writes the record with its TTL and the streamer's score in its pool, atomically. */
  async report(record: StreamerRecord, ttlSeconds: number): Promise<void> {
    const score = loadScore(record.activeStreams, record.cpuPercent, record.draining);
    await this.#redis
      .multi()
      .set(this.#keys.streamer(record.id), JSON.stringify(record), 'EX', ttlSeconds)
      .zadd(this.#keys.poolLoad(record.pool), String(score), record.id)
      .sadd(this.#keys.pools(), record.pool)
      .zadd(this.#keys.streamerProbe(), 'NX', 0, record.id)
      .exec();
  }

  /** Removes the streamer from the load table (on shutdown). */
  async remove(id: string, pool: string): Promise<void> {
    await this.#redis.multi().del(this.#keys.streamer(id)).zrem(this.#keys.poolLoad(pool), id).exec();
  }

  async requestDrain(id: string): Promise<void> {
    await this.#redis.set(this.#keys.streamerDrain(id), '1');
  }

  async setPublicAddress(id: string, address: string | undefined): Promise<void> {
    if (address) await this.#redis.set(this.#keys.streamerPublicAddress(id), address);
    else await this.#redis.del(this.#keys.streamerPublicAddress(id));
  }

  async directives(id: string): Promise<StreamerDirectives> {
    const [drain, address] = await this.#redis.mget(this.#keys.streamerDrain(id), this.#keys.streamerPublicAddress(id));
    return address ? { drain: drain !== null, publicAddress: address } : { drain: drain !== null };
  }

  async clearDirectives(id: string): Promise<void> {
    await this.#redis.del(this.#keys.streamerDrain(id), this.#keys.streamerPublicAddress(id));
  }

  async publishEvent(event: GbcastEvent): Promise<void> {
    await this.#redis.publish(this.#keys.events(), JSON.stringify(event));
  }

  /** Live records of a pool's streamers, least loaded first. */
  async listPool(pool: string): Promise<StreamerRecord[]> {
    const ids = await this.#redis.zrange(this.#keys.poolLoad(pool), '0', '-1');
    if (ids.length === 0) return [];
    const raw = await this.#redis.mget(ids.map((id) => this.#keys.streamer(id)));
    return raw.filter((r): r is string => r !== null).map((r) => JSON.parse(r) as StreamerRecord);
  }

  async claimDueProbes(now: number, nextAt: number, limit = 100): Promise<ProbeTarget[]> {
    const ids = await claimDue(this.#redis, this.#keys.streamerProbe(), now, nextAt, limit);
    if (ids.length === 0) return [];
    const [records, started] = await Promise.all([
      this.#redis.mget(ids.map((id) => this.#keys.streamer(id))),
      this.#redis.hmget(this.#keys.streamerProbeStarted(), ...ids),
    ]);
    return ids.map((id, i) => {
      const target: ProbeTarget = { id };
      const record = records[i];
      if (record) target.record = JSON.parse(record) as StreamerRecord;
      if (started[i] !== null) target.probedStartedAt = Number(started[i]);
      return target;
    });
  }

  async setProbedStart(id: string, startedAt: number): Promise<void> {
    await this.#redis.hset(this.#keys.streamerProbeStarted(), id, String(startedAt));
  }

  async dropProbe(id: string): Promise<void> {
    await this.#redis.multi().zrem(this.#keys.streamerProbe(), id).hdel(this.#keys.streamerProbeStarted(), id).exec();
  }
}
