/**
 * One store backend bundles the three stores and the events channel of an installation.
 *
 * - `openRedisBackend` (common/redis/backend.ts): shared by every replica of every part; what
 *   `gbcast signaling` and `gbcast streamer --redis-url` use.
 * - `createMemoryBackend` (common/store/memory/backend.ts): everything in this process, for
 *   `gbcast all` without `--redis-url`. Signaling and a streamer in the same process share one.
 *
 * Both honour the contracts in device-store.ts, stream-store.ts and streamer-store.ts
 * (test/store-contract.test.ts runs the same cases against both).
 */
import type { GbcastEvent } from '../contracts.ts';
import type { DeviceStore } from './device-store.ts';
import type { StreamStore } from './stream-store.ts';
import type { StreamerStore } from './streamer-store.ts';

export interface StoreBackend {
  readonly kind: 'redis' | 'memory';
  readonly devices: DeviceStore;
  readonly streams: StreamStore;
  readonly streamers: StreamerStore;
  /**
   * Delivers every event published on the installation's events channel (by any part, any
   * replica) to `onEvent`, asynchronously and in publish order; resolves once subscribed; the
   * returned function unsubscribes.
   */
  subscribe(onEvent: (event: GbcastEvent) => void): Promise<() => void>;
  /** For /readyz. */
  readiness(): { ready: boolean; reason?: string };
  /** Disconnects (Redis) or stops timers (memory). Idempotent. */
  close(): Promise<void>;
}

export { openRedisBackend, type RedisBackendOptions } from '../redis/backend.ts';
export { createMemoryBackend, type MemoryBackend, type MemoryBackendOptions } from './memory/backend.ts';
