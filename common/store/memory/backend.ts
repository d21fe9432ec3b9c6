/**
 * The in-process store backend: devices, streams, the streamer load table and the events channel
 * of one process, for `gbcast all` without Redis. Signaling and a streamer in the same process
 * share one backend object, as replicas share one Redis.
 */
import type { GbcastEvent } from '../../contracts.ts';
import type { Logger } from '../../logger.ts';
import type { StoreBackend } from '../backend.ts';
import { MemoryDeviceStore } from './device-store.ts';
import { MemoryEvents } from './events.ts';
import { MemoryStreamStore } from './stream-store.ts';
import { MemoryStreamerStore } from './streamer-store.ts';
import { StreamerPool } from './streamer-pool.ts';

export interface MemoryBackendOptions {
  /** The clock of expiring entries (nonce uses, failure windows, streamer records); tests move it. */
  now?: () => number;
  /** Where a throwing event subscriber is reported; without it the error is thrown on its own turn. */
  logger?: Logger;
  /** How often expired entries are freed (they are invisible at once regardless). */
  purgeIntervalMs?: number;
}

export interface MemoryBackend extends StoreBackend {
  readonly kind: 'memory';
  readonly devices: MemoryDeviceStore;
  readonly streams: MemoryStreamStore;
  readonly streamers: MemoryStreamerStore;
  /** Frees expired entries now (the timer does it every purgeIntervalMs). */
  purgeExpired(): void;
  /** Entry counts of every map, to check memory stays bounded. */
  sizes(): Record<string, number>;
}

export function createMemoryBackend(options: MemoryBackendOptions = {}): MemoryBackend {
  const now = options.now ?? Date.now;
  const events = new MemoryEvents(options.logger);
  const publish = (event: GbcastEvent) => events.publish(event);
  const pool = new StreamerPool(now);
  const devices = new MemoryDeviceStore(now, publish);
  const streams = new MemoryStreamStore(pool);
  const streamers = new MemoryStreamerStore(pool, publish);
  const purgeExpired = () => {
    devices.purgeExpired();
    pool.records.purge();
  };
  let timer: NodeJS.Timeout | undefined = setInterval(purgeExpired, options.purgeIntervalMs ?? 1000);
  timer.unref();
  return {
    kind: 'memory',
    devices,
    streams,
    streamers,
    async subscribe(onEvent) {
      if (!timer) throw new Error('store backend closed');
      return events.subscribe(onEvent);
    },
    readiness: () => (timer ? { ready: true } : { ready: false, reason: 'store closed' }),
    async close() {
      clearInterval(timer);
      timer = undefined;
      events.close();
    },
    purgeExpired,
    sizes: () => ({ ...devices.sizes(), ...streams.sizes(), streamerRecords: pool.records.size, streamerRecordsHeap: pool.records.heapSize }),
  };
}
