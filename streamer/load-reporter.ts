/**
 * Every interval: measure (streams, bitrate in, CPU), write the record and the pool score to Redis,
 * and pick up a drain request from the operator. Redis being down only skips reports.
 */
import type { StreamerRecord } from '../common/contracts.ts';
import type { Logger } from '../common/logger.ts';
import type { StreamerStore } from '../common/store/streamer-store.ts';
import { streamerRecordTtlSeconds } from '../common/redis/keys.ts';

export interface LoadSnapshot {
  activeStreams: number;
  bitrateIn: number;
  cpuPercent: number;
}

export interface LoadReporterOptions {
  intervalMs: number;
  store: StreamerStore;
  logger: Logger;
  /** The fixed part of the record. */
  identity: Pick<StreamerRecord, 'id' | 'pool' | 'port' | 'url' | 'version' | 'startedAt'>;
  /** The public address; undefined while it is awaited from the store (no report is written until then). */
  address(): string | undefined;
  /** The operator wrote a public address for this streamer in the store. */
  onPublicAddress(address: string): void;
  measure(): LoadSnapshot;
  isDraining(): boolean;
  /** The operator asked this streamer to drain (key present in Redis). */
  onDrainRequested(): void;
}

/** Measures CPU and bitrate over the time since the previous call. */
export class LoadMeter {
  #lastWall = performance.now();
  #lastCpu = process.cpuUsage();

  /** Returns CPU percent of one core and bits per second for `bytes` received since the last call. */
  sample(bytes: number): { cpuPercent: number; bitrateIn: number } {
    const wall = performance.now();
    const cpu = process.cpuUsage(this.#lastCpu);
    const elapsedMs = Math.max(1, wall - this.#lastWall);
    this.#lastWall = wall;
    this.#lastCpu = process.cpuUsage();
    return {
      cpuPercent: Math.round(((cpu.user + cpu.system) / 1000 / elapsedMs) * 1000) / 10,
      bitrateIn: Math.round((bytes * 8 * 1000) / elapsedMs),
    };
  }
}

export class LoadReporter {
  readonly #options: LoadReporterOptions;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #followUp: Promise<void> | undefined;
  #stopped = false;
  lastReportOk = false;
  /** True while no public address is known (--public-address-from-store before the operator wrote one). */
  awaitingAddress: boolean | undefined;
  last: StreamerRecord | undefined;

  constructor(options: LoadReporterOptions) {
    this.#options = options;
  }

  start(): void {
    void this.reportNow();
    this.#timer = setInterval(() => void this.reportNow(), this.#options.intervalMs);
    this.#timer.unref();
  }

  /**
   * Writes a report now (also used right after draining starts, so signaling stops picking at once).
   * During a report, one more follows it: the running one may have measured before the change (a
   * drain requested through the store is noticed inside a report).
   */
  reportNow(): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    if (this.#running) {
      this.#followUp ??= this.#running.then(() => {
        this.#followUp = undefined;
        return this.reportNow();
      });
      return this.#followUp;
    }
    this.#running = this.#report().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #report(): Promise<void> {
    const o = this.#options;
    try {
      if (o.address() === undefined) {
        const { publicAddress } = await o.store.directives(o.identity.id);
        if (publicAddress === undefined) {
          if (this.awaitingAddress !== true) o.logger.info('waiting for the operator to write this streamer\'s public address');
          this.awaitingAddress = true;
          return;
        }
        o.onPublicAddress(publicAddress);
      }
      this.awaitingAddress = false;
      const snapshot = o.measure();
      const record: StreamerRecord = {
        ...o.identity,
        address: o.address() ?? '',
        ...snapshot,
        draining: o.isDraining(),
        updatedAt: Date.now(),
      };
      this.last = record;
      await o.store.report(record, streamerRecordTtlSeconds(o.intervalMs));
      const directives = await o.store.directives(record.id);
      if (!record.draining && directives.drain) o.onDrainRequested();
      if (directives.publicAddress !== undefined && directives.publicAddress !== record.address) o.onPublicAddress(directives.publicAddress);
      if (!this.lastReportOk) o.logger.info({ pool: record.pool }, 'reporting load to the store');
      this.lastReportOk = true;
    } catch (err) {
      if (this.lastReportOk) o.logger.warn({ err: (err as Error).message }, 'load report failed');
      this.lastReportOk = false;
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
    await this.#followUp;
  }
}
