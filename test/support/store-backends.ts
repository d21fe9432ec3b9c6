/**
 * The two store backends, set up the same way for test/store-contract.test.ts: every case runs
 * against Redis (a real redis-server, a fresh key prefix per case) and against the in-process store
 * (a fresh backend per case, on a clock the test moves).
 */
import type { GbcastEvent } from '../../common/contracts.ts';
import { silentLogger } from '../../common/logger.ts';
import { openRedisBackend, type StoreBackend } from '../../common/store/backend.ts';
import { createMemoryBackend, type MemoryBackend } from '../../common/store/memory/backend.ts';
import { startRedisServer, type RedisServer } from './redis-server.ts';

export interface StoreFixture {
  readonly backend: StoreBackend;
  /** Another handle on the same store, as a second replica sees it (Redis: its own connections). */
  replica(): Promise<StoreBackend>;
  /** Lets `ms` pass for expiring entries: real time for Redis, the injected clock for memory. */
  elapse(ms: number): Promise<void>;
  /** The store's idea of now (ms). */
  now(): number;
  close(): Promise<void>;
}

export interface StoreKind {
  readonly name: 'redis' | 'memory';
  setUp(): Promise<void>;
  tearDown(): Promise<void>;
  open(): Promise<StoreFixture>;
}

export function redisKind(): StoreKind {
  let server: RedisServer | undefined;
  let n = 0;
  const open = (prefix: string) =>
    openRedisBackend({ url: server!.url, prefix, logger: silentLogger(), name: 'contract', autoPipelining: true, waitMs: 5000 });
  return {
    name: 'redis',
    async setUp() {
      server = await startRedisServer();
    },
    async tearDown() {
      await server?.stop();
    },
    async open() {
      const prefix = `contract${process.pid}-${++n}:`;
      const backend = await open(prefix);
      const replicas: StoreBackend[] = [];
      return {
        backend,
        async replica() {
          const r = await open(prefix);
          replicas.push(r);
          return r;
        },
        elapse: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
        now: () => Date.now(),
        async close() {
          await Promise.all([backend, ...replicas].map((b) => b.close()));
        },
      };
    },
  };
}

export interface MemoryFixture extends StoreFixture {
  readonly backend: MemoryBackend;
}

export function openMemoryFixture(): MemoryFixture {
  let t = Date.now();
  const backend = createMemoryBackend({ now: () => t });
  return {
    backend,
    replica: async () => backend,
    async elapse(ms) {
      t += ms;
    },
    now: () => t,
    close: () => backend.close(),
  };
}

export function memoryKind(): StoreKind {
  return {
    name: 'memory',
    async setUp() {},
    async tearDown() {},
    open: async () => openMemoryFixture(),
  };
}

export interface EventLog {
  /** Every event so far, sentinels excluded. */
  readonly events: GbcastEvent[];
  /**
   * Publishes a sentinel and waits until it arrives: everything published before it has arrived
   * too (one channel, in order), so a count taken after settle() is final.
   */
  settle(): Promise<GbcastEvent[]>;
  stop(): void;
}

let sentinels = 0;

/** Subscribes to the backend's events channel and records what arrives. */
export async function recordEvents(backend: StoreBackend, publisher: StoreBackend = backend): Promise<EventLog> {
  const events: GbcastEvent[] = [];
  const waiting = new Map<string, () => void>();
  const unsubscribe = await backend.subscribe((event) => {
    if (event.type === 'streamer.draining' && event.pool === '(sentinel)') {
      waiting.get(event.streamerId)?.();
      return;
    }
    events.push(event);
  });
  return {
    events,
    async settle() {
      const id = `sentinel-${++sentinels}`;
      const arrived = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('sentinel event never arrived')), 5000);
        waiting.set(id, () => {
          clearTimeout(timer);
          resolve();
        });
      });
      await publisher.streamers.publishEvent({ type: 'streamer.draining', streamerId: id, pool: '(sentinel)', at: 0 });
      await arrived;
      return events;
    },
    stop: unsubscribe,
  };
}
