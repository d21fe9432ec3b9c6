/**
 * The load table in this process, shared by the streamer side (MemoryStreamerStore: reports,
 * drain requests) and the signaling side (MemoryStreamStore: the pick), as both sides share the
 * keys in Redis. Pools hold a handful of streamers, so ordering one on demand costs nothing.
 */
import type { StreamerRecord } from '../../contracts.ts';
import { drainingScoreBase } from '../../redis/keys.ts';
import { ExpiringMap } from './expiring-map.ts';
import { Schedule } from './schedule.ts';

/** As the Redis pick script, only the 50 least-loaded members are looked at. */
const pickWindow = 50;

export class StreamerPool {
  /** Streamer id → JSON StreamerRecord, expiring with its report's TTL. */
  readonly records: ExpiringMap<string>;
  /** Pool → streamer id → load score; members outlive their records until a pick drops them. */
  readonly scores = new Map<string, Map<string, number>>();
  readonly drainRequests = new Set<string>();
  /** The operator's public address per streamer (StreamerStore.setPublicAddress). */
  readonly publicAddresses = new Map<string, string>();
  /** Signaling's liveness probe schedule (StreamerStore.claimDueProbes) and what the probes saw. */
  readonly probes = new Schedule();
  readonly probedStarts = new Map<string, number>();

  constructor(now: () => number) {
    this.records = new ExpiringMap(now);
  }

  /** A pool's member ids, lowest score first (ties by id, as a Redis sorted set). */
  ranked(pool: string, limit = Infinity): [id: string, score: number][] {
    const members = [...(this.scores.get(pool) ?? [])];
    members.sort(([a, sa], [b, sb]) => sa - sb || (a < b ? -1 : a > b ? 1 : 0));
    return members.length > limit ? members.slice(0, limit) : members;
  }

  /** The live records of a pool's members, lowest score first. */
  liveRecords(pool: string): StreamerRecord[] {
    const out: StreamerRecord[] = [];
    for (const [id] of this.ranked(pool)) {
      const text = this.records.get(id);
      if (text !== undefined) out.push(JSON.parse(text) as StreamerRecord);
    }
    return out;
  }

  /** See StreamStore.pickStreamer. */
  pick(pool: string): StreamerRecord | undefined {
    const scores = this.scores.get(pool);
    if (!scores) return undefined;
    for (const [id, score] of this.ranked(pool, pickWindow)) {
      if (score >= drainingScoreBase) return undefined;
      const text = this.records.get(id);
      if (text === undefined) {
        scores.delete(id);
        continue;
      }
      const record = JSON.parse(text) as StreamerRecord;
      if (record.draining) continue;
      scores.set(id, score + 1);
      return record;
    }
    return undefined;
  }
}
