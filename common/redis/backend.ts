/**
 * The Redis store backend: the three stores on one connection, the events channel on a second one
 * (a subscribed connection can send nothing else), opened lazily by the first subscriber.
 */
import type { Redis } from 'ioredis';
import type { GbcastEvent } from '../contracts.ts';
import type { Logger } from '../logger.ts';
import type { StoreBackend } from '../store/backend.ts';
import { connectRedis, waitForRedis } from './connect.ts';
import { RedisDeviceStore } from './device-store.ts';
import { redisKeys } from './keys.ts';
import { RedisStreamStore } from './stream-store.ts';
import { RedisStreamerStore } from './streamer-store.ts';

export interface RedisBackendOptions {
  url: string;
  /** Key prefix (`--redis-prefix`). */
  prefix: string;
  logger: Logger;
  /** Connection name (CLIENT LIST); the subscriber's is `{name}-events`. */
  name: string;
  /** Let ioredis batch concurrent commands into one round trip (signaling: many devices at once). */
  autoPipelining?: boolean;
  /**
   * Wait this long for Redis before resolving, and reject (closing the connection) if it is not
   * ready by then. Unset or 0: resolve at once and keep connecting in the background (commands fail
   * fast meanwhile), as the streamer does: its media must flow without Redis.
   */
  waitMs?: number;
}

export async function openRedisBackend(options: RedisBackendOptions): Promise<StoreBackend> {
  const redis = connectRedis(options.url, options.logger, options.name);
  redis.options.enableAutoPipelining = options.autoPipelining ?? false;
  if (options.waitMs) {
    try {
      await waitForRedis(redis, options.waitMs);
    } catch (err) {
      redis.disconnect();
      throw err;
    }
  }
  return new RedisBackend(redis, options);
}

class RedisBackend implements StoreBackend {
  readonly kind = 'redis';
  readonly devices: RedisDeviceStore;
  readonly streams: RedisStreamStore;
  readonly streamers: RedisStreamerStore;
  readonly #redis: Redis;
  readonly #options: RedisBackendOptions;
  readonly #channel: string;
  readonly #handlers = new Set<(event: GbcastEvent) => void>();
  #subscribed: Promise<void> | undefined;
  #subscriber: Redis | undefined;
  #closed = false;

  constructor(redis: Redis, options: RedisBackendOptions) {
    const keys = redisKeys(options.prefix);
    this.#redis = redis;
    this.#options = options;
    this.#channel = keys.events();
    this.devices = new RedisDeviceStore(redis, keys);
    this.streams = new RedisStreamStore(redis, keys);
    this.streamers = new RedisStreamerStore(redis, keys);
  }

  async subscribe(onEvent: (event: GbcastEvent) => void): Promise<() => void> {
    if (this.#closed) throw new Error('store backend closed');
    this.#subscribed ??= this.#openSubscriber();
    try {
      await this.#subscribed;
    } catch (err) {
      this.#subscribed = undefined;
      throw err;
    }
    const handler = (event: GbcastEvent) => onEvent(event);
    this.#handlers.add(handler);
    return () => {
      this.#handlers.delete(handler);
    };
  }

  async #openSubscriber(): Promise<void> {
    const o = this.#options;
    const subscriber = connectRedis(o.url, o.logger, `${o.name}-events`);
    this.#subscriber = subscriber;
    subscriber.on('message', (channel: string, text: string) => {
      if (channel !== this.#channel) return;
      let event: GbcastEvent;
      try {
        event = JSON.parse(text) as GbcastEvent;
      } catch {
        return; // not one of ours
      }
      for (const handler of [...this.#handlers]) {
        try {
          handler(event);
        } catch (err) {
          o.logger.error({ err, event: event.type }, 'event handler failed');
        }
      }
    });
    try {
      await waitForRedis(subscriber, o.waitMs || 10_000);
      // ioredis subscribes again by itself after a reconnect.
      await subscriber.subscribe(this.#channel);
    } catch (err) {
      subscriber.disconnect();
      this.#subscriber = undefined;
      throw err;
    }
  }

  readiness(): { ready: boolean; reason?: string } {
    if (this.#closed) return { ready: false, reason: 'store closed' };
    if (this.#redis.status !== 'ready') return { ready: false, reason: 'redis unavailable' };
    return { ready: true };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#handlers.clear();
    this.#redis.disconnect();
    this.#subscriber?.disconnect();
  }
}
