/**
 * Finds streamers that died or restarted, fast: a streamer's record outlives its process by up to
 * 3 report intervals (6 s), too slow for "a killed streamer's always-on channels are live elsewhere
 * within 5 s", so signaling probes instead.
 *
 * Every streamer that reports is on the store's probe schedule. Each replica claims the probes
 * that are due every `tickMs` (a claim moves the streamer's next probe `probeMs` on, so one replica
 * probes each streamer per period, and a replica that dies loses nothing). A probe is
 * `GET {url}/healthz` with a `timeoutMs` timeout:
 * - it fails, and again `retryMs` later: the streamer is gone. It is taken out of its pool (no play
 *   picks it while its record lives on) and off the probe schedule, and every stream on it ends with
 *   reason `streamer-gone` (BYE to the device, no call to the dead streamer); the always-on keeper
 *   starts those channels again elsewhere. Should it come back, its next report puts it back.
 * - it answers with a start time other than the last one a probe saw: the process restarted (same
 *   id and address, as a container restarted in its pod) and lost its receivers: streams picked
 *   from an earlier process end the same way.
 * - its record says it is draining: the keeper moves its always-on streams (also when the
 *   `streamer.draining` event was missed, or when no other streamer could take them before).
 * With a 1 s period, 250 ms ticks, an 800 ms timeout and a 100 ms retry, a dead streamer is found at
 * most ~1.35 s after it died when its connections are refused at once, ~2.95 s when its address
 * stops answering (docs/architecture.md, "Always-on channels and dead streamers").
 */
import type { Logger } from '../common/logger.ts';
import type { StreamSession, StreamStore } from '../common/store/stream-store.ts';
import type { ProbeTarget, StreamerStore } from '../common/store/streamer-store.ts';
import type { SignalingStats } from './metrics.ts';
import type { Streams } from './streams.ts';
import { forEachLimited } from './concurrency.ts';

/** Streams of a gone streamer ended at once at most (each a BYE, and for always-on ones a new play). */
const END_CONCURRENCY = 50;

export interface StreamerWatchOptions {
  /** Each streamer is probed this often (by one replica). */
  probeMs: number;
  timeoutMs: number;
  /** The second try after a failed probe. */
  retryMs: number;
  /** How often this replica claims due probes. */
  tickMs: number;
}

/** What a streamer's /healthz said, or undefined when it did not answer in time. */
type Health = { startedAt?: number } | undefined;

export class StreamerWatch {
  readonly #o: StreamerWatchOptions;
  readonly #streamers: StreamerStore;
  readonly #store: StreamStore;
  readonly #streams: Streams;
  readonly #onDraining: (streamerId: string) => void;
  readonly #log: Logger;
  readonly #stats: SignalingStats;
  readonly #probing = new Set<string>();
  readonly #inFlight = new Set<Promise<unknown>>();
  #tick: NodeJS.Timeout | undefined;
  #ticking = false;
  #tickFailing = false;
  #stopped = false;

  constructor(
    options: StreamerWatchOptions,
    streamers: StreamerStore,
    store: StreamStore,
    streams: Streams,
    onDraining: (streamerId: string) => void,
    log: Logger,
    stats: SignalingStats,
  ) {
    this.#o = options;
    this.#streamers = streamers;
    this.#store = store;
    this.#streams = streams;
    this.#onDraining = onDraining;
    this.#log = log;
    this.#stats = stats;
  }

  start(): void {
    this.#tick = setInterval(() => this.#track(this.#onTick()), this.#o.tickMs);
    this.#tick.unref();
  }

  /** Stops probing; resolves when the probes in flight are done (so the store can be closed). */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#tick);
    await Promise.allSettled([...this.#inFlight]);
  }

  /** Claims the due probes and starts them (not awaited: a slow streamer must not hold the others'). */
  async tick(now: number): Promise<number> {
    const targets = await this.#streamers.claimDueProbes(now, now + this.#o.probeMs);
    for (const target of targets) {
      if (this.#probing.has(target.id)) continue;
      this.#probing.add(target.id);
      this.#track(
        this.probe(target)
          .catch((err: unknown) => this.#log.warn({ err, streamerId: target.id }, 'streamer probe failed'))
          .finally(() => this.#probing.delete(target.id)),
      );
    }
    return targets.length;
  }

  async probe(target: ProbeTarget): Promise<void> {
    let sessions: StreamSession[] | undefined;
    const streamsOn = async () => (sessions ??= await this.#store.listOnStreamer(target.id));
    const url = target.record?.url ?? (await streamsOn())[0]?.streamerUrl;
    if (!url) {
      // No record and nothing on it: nothing to watch until it reports again.
      await this.#streamers.dropProbe(target.id);
      return;
    }
    let health = await this.#health(url);
    if (!health && !this.#stopped) {
      await new Promise((resolve) => setTimeout(resolve, this.#o.retryMs));
      health = await this.#health(url);
    }
    if (this.#stopped) return;
    if (!health) {
      await this.#gone(target, await streamsOn());
      return;
    }
    const startedAt = health.startedAt;
    if (startedAt !== undefined && startedAt !== target.probedStartedAt) {
      await this.#streamers.setProbedStart(target.id, startedAt);
      // Sessions picked from a record without a start time (an older streamer): by their age.
      const fromEarlier = (s: StreamSession) => (s.streamerStartedAt !== undefined ? s.streamerStartedAt !== startedAt : s.createdAt < startedAt);
      const stale = (await streamsOn()).filter(fromEarlier);
      if (stale.length > 0) {
        this.#stats.streamersGone.restarted = (this.#stats.streamersGone.restarted ?? 0) + 1;
        this.#log.warn({ streamerId: target.id, url, streams: stale.length }, 'streamer restarted and lost its streams; ending them');
        await this.#endAll(stale);
      }
    }
    if (target.record?.draining) this.#onDraining(target.id);
  }

  async #gone(target: ProbeTarget, sessions: StreamSession[]): Promise<void> {
    this.#stats.streamersGone.unreachable = (this.#stats.streamersGone.unreachable ?? 0) + 1;
    this.#log.warn({ streamerId: target.id, streams: sessions.length }, 'streamer does not answer its health probe: gone; ending its streams');
    if (target.record) await this.#streamers.remove(target.id, target.record.pool);
    await this.#streamers.dropProbe(target.id);
    await this.#endAll(sessions);
  }

  async #endAll(sessions: StreamSession[]): Promise<void> {
    await forEachLimited(
      sessions,
      END_CONCURRENCY,
      (s) => this.#streams.end(s.streamId, 'streamer-gone'),
      (err, s) => this.#log.warn({ err, streamId: s.streamId }, 'ending a stream of a gone streamer failed'),
    );
  }

  async #health(url: string): Promise<Health> {
    try {
      const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(this.#o.timeoutMs) });
      if (!res.ok) {
        await res.body?.cancel();
        return undefined;
      }
      const body = (await res.json()) as { startedAt?: unknown };
      return typeof body.startedAt === 'number' ? { startedAt: body.startedAt } : {};
    } catch {
      return undefined;
    }
  }

  #track(work: Promise<unknown>): void {
    this.#inFlight.add(work);
    void work.finally(() => this.#inFlight.delete(work));
  }

  async #onTick(): Promise<void> {
    if (this.#ticking || this.#stopped) return;
    this.#ticking = true;
    try {
      await this.tick(Date.now());
      if (this.#tickFailing) this.#log.info('streamer probes work again');
      this.#tickFailing = false;
    } catch (err) {
      if (!this.#tickFailing) this.#log.warn({ err }, 'claiming streamer probes failed');
      this.#tickFailing = true;
    } finally {
      this.#ticking = false;
    }
  }
}
