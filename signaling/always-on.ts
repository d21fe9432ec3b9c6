/**
 * Always-on channels (DeviceConfig.alwaysOn): while its device is online, each such channel has one
 * stream, started by whichever replica gets there first (the channel claim makes a second play a
 * no-op).
 *
 * Triggers:
 * - the device comes online (this replica registered it, or took its keepalive back online);
 * - a stream of the channel ended on this replica for any reason but an API stop or shutdown:
 *   started again after a backoff that doubles per failure in a row (a stream that ran at least
 *   `stableMs` is no failure) up to `retryMaxMs`, shared through the store so no replica starts it
 *   earlier; a stream that ended because its streamer died or drained starts again at once;
 * - its streamer drains (a `streamer.draining` event, or the watch seeing a draining record): the
 *   stream is ended and played again at once. One claim per channel makes make-before-break
 *   impossible, so the channel has a gap of one INVITE; it is only moved when another streamer of
 *   its pool can take it, else it stays until one can (or its streamer goes);
 * - the check: every replica claims a share of the always-on devices from the store's schedule
 *   (each device every `checkMs`, and at once after its config changed) and starts what has no
 *   stream. This covers missed triggers, signaling restarts and configs written while a device
 *   was online, and a channel stopped through the API (so an API stop does not stop an always-on
 *   channel for long: remove it from the config for that).
 *
 * A channel removed from the config is no longer kept; a stream it has keeps running until it is
 * stopped or ends. Changes of its rtmpUrl, the pool or the transport apply to its next stream.
 */
import type { GbcastEvent } from '../common/contracts.ts';
import type { Logger } from '../common/logger.ts';
import type { AlwaysOnChannel, DeviceStore } from '../common/store/device-store.ts';
import type { StreamSession, StreamStore } from '../common/store/stream-store.ts';
import type { StreamerStore } from '../common/store/streamer-store.ts';
import type { SignalingStats } from './metrics.ts';
import { PlayError, type StreamEndReason, type Streams } from './streams.ts';
import { forEachLimited } from './concurrency.ts';

export interface AlwaysOnOptions {
  /** Each always-on device is checked this often (by one replica). */
  checkMs: number;
  /** The first restart delay after a failure; it doubles with each failure in a row. */
  retryBaseMs: number;
  retryMaxMs: number;
  /** A stream that ran this long before it ended was no failure. */
  stableMs: number;
  /** How often this replica claims due checks. */
  tickMs: number;
  defaultPool: string;
}

/** Why the keeper started a stream: a trigger, or the end reason of the stream it replaces. */
export type AlwaysOnTrigger = 'device-online' | 'check' | 'retry' | StreamEndReason;

/** The delay before the next start after `failures` failures in a row. */
export function retryDelayMs(failures: number, baseMs: number, maxMs: number): number {
  if (failures <= 0) return 0;
  return Math.min(maxMs, baseMs * 2 ** Math.min(failures - 1, 30));
}

/** A backoff entry outlives its delay by this much, then failures count from zero again. */
const BACKOFF_MEMORY_MS = 10 * 60_000;
/** Device checks one tick claims at most. */
const CLAIM_LIMIT = 200;
/**
 * The check looks again this much later before it starts a channel it found without a stream: the
 * replica that just ended the channel's stream writes its backoff a moment after the removal, and
 * the check must not start the channel in between.
 */
const CHECK_SETTLE_MS = 250;
/** stop() waits this long at most for work in flight. */
const STOP_WAIT_MS = 3000;
/** Streams moved off a draining streamer at once at most. */
const MOVE_CONCURRENCY = 20;

export class AlwaysOnKeeper {
  readonly #o: AlwaysOnOptions;
  readonly #streams: Streams;
  readonly #devices: DeviceStore;
  readonly #streamStore: StreamStore;
  readonly #streamers: StreamerStore;
  readonly #log: Logger;
  readonly #stats: SignalingStats;
  /** `{deviceId}:{channelId}` → a restart waiting for its backoff. */
  readonly #timers = new Map<string, NodeJS.Timeout>();
  readonly #starting = new Set<string>();
  readonly #moving = new Set<string>();
  readonly #inFlight = new Set<Promise<unknown>>();
  #tick: NodeJS.Timeout | undefined;
  #ticking = false;
  #tickFailing = false;
  #unlisten: (() => void) | undefined;
  #stopped = false;

  constructor(
    options: AlwaysOnOptions,
    streams: Streams,
    devices: DeviceStore,
    streamStore: StreamStore,
    streamers: StreamerStore,
    log: Logger,
    stats: SignalingStats,
  ) {
    this.#o = options;
    this.#streams = streams;
    this.#devices = devices;
    this.#streamStore = streamStore;
    this.#streamers = streamers;
    this.#log = log;
    this.#stats = stats;
  }

  start(): void {
    this.#unlisten = this.#streams.onEnded((session, reason, done) =>
      this.#track(this.#ended(session, reason, done).catch((err: unknown) => this.#warn(err, session))),
    );
    this.#tick = setInterval(() => this.#track(this.#onTick()), this.#o.tickMs);
    this.#tick.unref();
  }

  /**
   * Stops starting streams (running ones keep running); resolves when the work in flight is done
   * (a play waits at most STOP_WAIT_MS), so the store can be closed under none of it.
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#tick);
    this.#unlisten?.();
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled([...this.#inFlight]), new Promise((resolve) => (timer = setTimeout(resolve, STOP_WAIT_MS)))]);
    clearTimeout(timer);
  }

  /** The device just came online through this replica: start its always-on channels now. */
  deviceOnline(deviceId: string): void {
    if (this.#stopped) return;
    this.#track(
      this.#devices.getConfig(deviceId).then(
        (config) => {
          for (const channel of config?.alwaysOn ?? []) this.#track(this.#start(deviceId, channel, 'device-online', true));
        },
        (err: unknown) => this.#log.warn({ err, deviceId }, 'always-on: config not read'),
      ),
    );
  }

  onEvent(event: GbcastEvent): void {
    if (event.type === 'streamer.draining') this.#track(this.moveOff(event.streamerId));
  }

  /**
   * Ends the always-on streams of a draining streamer whose pool has another streamer to take
   * them; the end listener plays them again at once. Returns how many it ended.
   */
  async moveOff(streamerId: string): Promise<number> {
    if (this.#stopped || this.#moving.has(streamerId)) return 0;
    this.#moving.add(streamerId);
    let moved = 0;
    const pools = new Map<string, Promise<boolean>>();
    const canMove = (pool: string) => {
      let can = pools.get(pool);
      if (!can) pools.set(pool, (can = this.#streamers.listPool(pool).then((records) => records.some((r) => r.id !== streamerId && !r.draining))));
      return can;
    };
    try {
      await forEachLimited(
        await this.#streamStore.listOnStreamer(streamerId),
        MOVE_CONCURRENCY,
        async (session) => {
          const config = await this.#devices.getConfig(session.deviceId);
          if (!config?.alwaysOn.some((c) => c.channelId === session.channelId)) return;
          const pool = config.pool ?? this.#o.defaultPool;
          if (!(await canMove(pool))) {
            // Asked again at each probe of the draining streamer: not worth a log line each time.
            this.#log.debug({ streamerId, streamId: session.streamId, pool }, 'always-on: no other streamer to move to; the stream stays on the draining one');
            return;
          }
          if (await this.#streams.end(session.streamId, 'streamer-draining')) moved++;
        },
        (err, session) => this.#log.warn({ err, streamerId, streamId: session.streamId }, 'always-on: moving a stream off a draining streamer failed'),
      );
    } catch (err) {
      this.#log.warn({ err, streamerId }, 'always-on: moving streams off a draining streamer failed');
    } finally {
      this.#moving.delete(streamerId);
    }
    return moved;
  }

  /** Claims due device checks and starts channels without a stream. Returns how many devices it checked. */
  async check(now: number): Promise<number> {
    const ids = await this.#devices.claimDueAlwaysOn(now, now + this.#o.checkMs, CLAIM_LIMIT);
    await Promise.all(ids.map((id) => this.#checkDevice(id)));
    return ids.length;
  }

  /** Configured always-on channels, those whose device is online, and those with a live stream. */
  async census(): Promise<{ configured: number; wanted: number; running: number }> {
    const counts = { configured: 0, wanted: 0, running: 0 };
    await Promise.all(
      (await this.#devices.alwaysOnDevices()).map(async (id) => {
        const [config, device] = await Promise.all([this.#devices.getConfig(id), this.#devices.get(id)]);
        const channels = config?.alwaysOn ?? [];
        counts.configured += channels.length;
        if (!device?.online) return;
        counts.wanted += channels.length;
        await Promise.all(
          channels.map(async (c) => {
            const streamId = await this.#streamStore.channelStreamId(id, c.channelId);
            if (streamId && (await this.#streamStore.get(streamId))?.state === 'live') counts.running++;
          }),
        );
      }),
    );
    return counts;
  }

  async #onTick(): Promise<void> {
    if (this.#ticking || this.#stopped) return;
    this.#ticking = true;
    try {
      await this.check(Date.now());
      if (this.#tickFailing) this.#log.info('always-on check works again');
      this.#tickFailing = false;
    } catch (err) {
      if (!this.#tickFailing) this.#log.warn({ err }, 'always-on check failed');
      this.#tickFailing = true;
    } finally {
      this.#ticking = false;
    }
  }

  async #checkDevice(deviceId: string): Promise<void> {
    const [device, config] = await Promise.all([this.#devices.get(deviceId), this.#devices.getConfig(deviceId)]);
    if (!device?.online) return;
    for (const channel of config?.alwaysOn ?? []) {
      if (await this.#streamStore.channelStreamId(deviceId, channel.channelId)) continue;
      const settle = new Promise((resolve) => setTimeout(resolve, CHECK_SETTLE_MS));
      this.#track(settle.then(() => this.#start(deviceId, channel, 'check', false)));
    }
  }

  async #ended(session: StreamSession, reason: StreamEndReason, done: Promise<void>): Promise<void> {
    if (this.#stopped || reason === 'api' || reason === 'shutdown') return;
    const config = await this.#devices.getConfig(session.deviceId);
    const channel = config?.alwaysOn.find((c) => c.channelId === session.channelId);
    if (!channel) return;
    if (reason === 'streamer-gone' || reason === 'streamer-draining') {
      // Not the device's fault: at once (once the device answered the BYE), and no failure counted.
      await done;
      await this.#start(session.deviceId, channel, reason, true);
      return;
    }
    const now = Date.now();
    const before = await this.#devices.alwaysOnBackoff(session.deviceId, session.channelId);
    const failures = now - session.createdAt >= this.#o.stableMs ? 1 : (before?.failures ?? 0) + 1;
    const delay = this.#delay(failures);
    await this.#devices.setAlwaysOnBackoff(session.deviceId, session.channelId, { failures, notBefore: now + delay }, delay + BACKOFF_MEMORY_MS);
    this.#log.info({ deviceId: session.deviceId, channelId: session.channelId, reason, failures, delayMs: delay }, 'always-on stream ended; starting it again');
    await done;
    this.#later(session.deviceId, channel, now + delay - Date.now(), reason);
  }

  /**
   * Plays the channel unless it has a stream, its config no longer lists it, or (unless
   * `ignoreBackoff`) its backoff says not yet. A failed play counts a failure and tries again later.
   */
  async #start(deviceId: string, wanted: AlwaysOnChannel, trigger: AlwaysOnTrigger, ignoreBackoff: boolean): Promise<void> {
    const key = `${deviceId}:${wanted.channelId}`;
    if (this.#stopped || this.#starting.has(key)) return;
    this.#starting.add(key);
    try {
      // The config read now, not the caller's: it may have changed while a restart waited.
      const config = await this.#devices.getConfig(deviceId);
      const channel = config?.alwaysOn.find((c) => c.channelId === wanted.channelId);
      if (!channel || (await this.#streamStore.channelStreamId(deviceId, channel.channelId))) return;
      const backoff = await this.#devices.alwaysOnBackoff(deviceId, channel.channelId);
      const wait = backoff ? backoff.notBefore - Date.now() : 0;
      if (!ignoreBackoff && wait > 0) {
        // A restart already waiting here keeps its own trigger.
        if (!this.#timers.has(key)) this.#later(deviceId, channel, wait, trigger);
        return;
      }
      clearTimeout(this.#timers.get(key));
      this.#timers.delete(key);
      try {
        const played = await this.#streams.play(deviceId, channel.channelId, channel.rtmpUrl ? { rtmpUrl: channel.rtmpUrl } : {});
        if (played.reused) return;
        this.#stats.alwaysOnRestarts[trigger] = (this.#stats.alwaysOnRestarts[trigger] ?? 0) + 1;
        this.#log.info({ deviceId, channelId: channel.channelId, streamId: played.streamId, streamer: played.streamer.id, trigger }, 'always-on stream started');
      } catch (err) {
        await this.#playFailed(deviceId, channel, err, backoff?.failures ?? 0);
      }
    } catch (err) {
      this.#log.warn({ err, deviceId, channelId: wanted.channelId }, 'always-on: start failed');
      this.#later(deviceId, wanted, this.#o.retryBaseMs, 'retry');
    } finally {
      this.#starting.delete(key);
    }
  }

  async #playFailed(deviceId: string, channel: AlwaysOnChannel, err: unknown, failuresBefore: number): Promise<void> {
    const reason = err instanceof PlayError ? err.reason : 'error';
    this.#stats.alwaysOnFailures[reason] = (this.#stats.alwaysOnFailures[reason] ?? 0) + 1;
    // An offline or unknown device is started when it comes online (or by the check after that).
    if (reason === 'device-offline' || reason === 'unknown-device') return;
    const failures = failuresBefore + 1;
    const delay = this.#delay(failures);
    await this.#devices.setAlwaysOnBackoff(deviceId, channel.channelId, { failures, notBefore: Date.now() + delay }, delay + BACKOFF_MEMORY_MS);
    this.#log.warn({ deviceId, channelId: channel.channelId, reason, error: (err as Error).message, failures, retryInMs: delay }, 'always-on play failed');
    this.#later(deviceId, channel, delay, 'retry');
  }

  #later(deviceId: string, channel: AlwaysOnChannel, delayMs: number, trigger: AlwaysOnTrigger): void {
    if (this.#stopped) return;
    const key = `${deviceId}:${channel.channelId}`;
    clearTimeout(this.#timers.get(key));
    const timer = setTimeout(() => {
      this.#timers.delete(key);
      this.#track(this.#start(deviceId, channel, trigger, false));
    }, Math.max(0, delayMs));
    timer.unref();
    this.#timers.set(key, timer);
  }

  #track(work: Promise<unknown>): void {
    this.#inFlight.add(work);
    void work.finally(() => this.#inFlight.delete(work));
  }

  #delay(failures: number): number {
    return retryDelayMs(failures, this.#o.retryBaseMs, this.#o.retryMaxMs);
  }

  #warn(err: unknown, session: StreamSession): void {
    this.#log.warn({ err, deviceId: session.deviceId, channelId: session.channelId }, 'always-on: handling an ended stream failed');
  }
}
