/**
 * The streamer side of the store: the load table signaling picks from, drain requests, and the
 * events channel. Implementations: `RedisStreamerStore` (common/redis/streamer-store.ts) and
 * `MemoryStreamerStore` (common/store/memory/).
 */
import type { GbcastEvent, StreamerRecord } from '../contracts.ts';

export interface StreamerDirectives {
  drain: boolean;
  publicAddress?: string;
}

/** A streamer whose liveness probe is due (see claimDueProbes). */
export interface ProbeTarget {
  id: string;
  /** Its live record, if it has one (a dead streamer's expires 3 report intervals after its last report). */
  record?: StreamerRecord;
  /** The process start time the last successful probe saw (setProbedStart), if any. */
  probedStartedAt?: number;
}

export interface StreamerStore {
  /**
   * Writes the record, live for `ttlSeconds` (a streamer that stops reporting disappears from
   * listPool, listStreamers and the pick after that), and the streamer's load score in its pool
   * (common/redis/keys.ts `loadScore`: draining ones sort after every live one), in one step. A
   * streamer not on the probe schedule is put on it, due at once.
   */
  report(record: StreamerRecord, ttlSeconds: number): Promise<void>;

  /** Removes the streamer's record and its place in the pool (on shutdown). */
  remove(id: string, pool: string): Promise<void>;

  /** Asks the streamer to drain (the operator's request); it sees it at its next report. */
  requestDrain(id: string): Promise<void>;

  /**
   * Tells the streamer the address devices reach it at (the operator's, from the node its pod runs
   * on); it sees it at its next report. Undefined withdraws it.
   */
  setPublicAddress(id: string, address: string | undefined): Promise<void>;

  /** What the operator asked of this streamer: drain, and the public address (one round trip). */
  directives(id: string): Promise<StreamerDirectives>;

  /** Forgets the operator's directives for a streamer that is gone (its pod was deleted). */
  clearDirectives(id: string): Promise<void>;

  /** Publishes on the installation's events channel: every subscriber of the backend gets it once. */
  publishEvent(event: GbcastEvent): Promise<void>;

  /** Live records of a pool's streamers, least loaded first. */
  listPool(pool: string): Promise<StreamerRecord[]>;

  /**
   * Signaling's liveness probes: up to `limit` streamers of the probe schedule whose probe is due
   * (time ≤ now), earliest first, each moved to `nextAt` in the same step, so each due probe goes
   * to one caller (any replica) and a streamer stays scheduled whatever happens to that caller.
   * A streamer stays on the schedule after its record expires or is removed (its streams must
   * still be found gone) until dropProbe.
   */
  claimDueProbes(now: number, nextAt: number, limit?: number): Promise<ProbeTarget[]>;

  /** Remembers the process start time a probe saw (a later, different one means a restart). */
  setProbedStart(id: string, startedAt: number): Promise<void>;

  /** Takes a streamer off the probe schedule (found gone); its next report puts it back. */
  dropProbe(id: string): Promise<void>;
}
