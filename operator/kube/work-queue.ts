/**
 * A keyed work queue in the manner of client-go's workqueue:
 * - `add(key)` deduplicates: a key waiting in the queue is there once however often it is added;
 * - a key being processed is never handed to a second worker: added again meanwhile, it is marked
 *   dirty and queued when `done(key)` is called;
 * - `addAfter(key, ms)` queues it later (the earliest pending time wins);
 * - `addRateLimited(key)` queues it after the larger of a per-key exponential backoff and an overall
 *   token bucket's delay; `forget(key)` resets the key's backoff (call it after a success);
 * - `run(concurrency, handler)` runs workers; `shutDown()` stops handing out keys and resolves once
 *   the keys being processed are done.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Logger } from '../../common/logger.ts';
import { silentLogger } from '../../common/logger.ts';

export interface RateLimiter<K> {
  /** How long to wait before the key's next try (and counts this try). */
  when(key: K): number;
  /** Tries so far since the last forget. */
  numRequeues(key: K): number;
  forget(key: K): void;
}

/** base × 2^failures, at most max: 5 ms, 10 ms, 20 ms... up to 5 min by default. */
export class ItemExponentialBackoff<K> implements RateLimiter<K> {
  readonly #failures = new Map<K, number>();
  readonly #baseMs: number;
  readonly #maxMs: number;

  constructor(baseMs = 5, maxMs = 300_000) {
    this.#baseMs = baseMs;
    this.#maxMs = maxMs;
  }

  when(key: K): number {
    const failures = this.#failures.get(key) ?? 0;
    this.#failures.set(key, failures + 1);
    if (failures >= 52) return this.#maxMs;
    return Math.min(this.#maxMs, this.#baseMs * 2 ** failures);
  }

  numRequeues(key: K): number {
    return this.#failures.get(key) ?? 0;
  }

  forget(key: K): void {
    this.#failures.delete(key);
  }
}

/**
 * A token bucket over all keys: `burst` tries at once, then `qps` per second. `reserve()` takes a
 * token (going into debt when empty) and answers how long the caller must wait for it.
 */
export class TokenBucket {
  readonly #qps: number;
  readonly #burst: number;
  readonly #now: () => number;
  #tokens: number;
  #last: number;

  constructor(qps = 10, burst = 100, now: () => number = Date.now) {
    this.#qps = qps;
    this.#burst = burst;
    this.#now = now;
    this.#tokens = burst;
    this.#last = now();
  }

  reserve(): number {
    const now = this.#now();
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#last) * this.#qps) / 1000);
    this.#last = now;
    this.#tokens -= 1;
    return this.#tokens >= 0 ? 0 : Math.ceil((-this.#tokens * 1000) / this.#qps);
  }
}

/** The larger of a per-key exponential backoff and an overall token bucket (client-go's default). */
export class DefaultRateLimiter<K> implements RateLimiter<K> {
  readonly #backoff: ItemExponentialBackoff<K>;
  readonly #bucket: TokenBucket;

  constructor(options: { baseDelayMs?: number; maxDelayMs?: number; qps?: number; burst?: number; now?: () => number } = {}) {
    this.#backoff = new ItemExponentialBackoff<K>(options.baseDelayMs, options.maxDelayMs);
    this.#bucket = new TokenBucket(options.qps, options.burst, options.now);
  }

  when(key: K): number {
    return Math.max(this.#backoff.when(key), this.#bucket.reserve());
  }

  numRequeues(key: K): number {
    return this.#backoff.numRequeues(key);
  }

  forget(key: K): void {
    this.#backoff.forget(key);
  }
}

export interface WorkQueueOptions<K> {
  /** Names the queue in logs and metrics (the controller's name). */
  name?: string;
  rateLimiter?: RateLimiter<K>;
  /** Registers the queue's metrics (gbcast_operator_workqueue_*{name}) on this registry. */
  registry?: Registry;
  logger?: Logger;
  now?: () => number;
}

export interface WorkQueueStats {
  /** Keys waiting to be handed out. */
  depth: number;
  /** Keys being processed now. */
  processing: number;
  /** Keys waiting for their addAfter/addRateLimited time. */
  delayed: number;
  adds: number;
  retries: number;
  /** How long the longest running key has been processed, ms. */
  longestRunningMs: number;
  /** Sum over keys being processed of how long they have been, ms. */
  unfinishedWorkMs: number;
}

export class WorkQueue<K = string> {
  readonly name: string;
  readonly #rateLimiter: RateLimiter<K>;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #metrics: QueueMetrics | undefined;
  /** Keys waiting to be handed out, in order (a Set keeps insertion order). */
  readonly #queue = new Set<K>();
  /** Keys that need processing: queued, or added again while being processed. */
  readonly #dirty = new Set<K>();
  /** Keys being processed → when they were handed out. */
  readonly #processing = new Map<K, number>();
  /** When each dirty key was first added (queue latency). */
  readonly #addedAt = new Map<K, number>();
  readonly #delayed = new Map<K, { at: number; timer: NodeJS.Timeout }>();
  readonly #getters: ((key: K | undefined) => void)[] = [];
  readonly #idle: (() => void)[] = [];
  #shuttingDown = false;
  #drain = false;
  #adds = 0;
  #retries = 0;

  constructor(options: WorkQueueOptions<K> = {}) {
    this.name = options.name ?? 'queue';
    this.#rateLimiter = options.rateLimiter ?? new DefaultRateLimiter<K>({ now: options.now });
    this.#logger = options.logger ?? silentLogger();
    this.#now = options.now ?? Date.now;
    this.#metrics = options.registry ? queueMetrics(options.registry) : undefined;
    this.#metrics?.queues.set(this.name, this as WorkQueue<unknown>);
  }

  get length(): number {
    return this.#queue.size;
  }

  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  isProcessing(key: K): boolean {
    return this.#processing.has(key);
  }

  /** Queues the key unless it is queued already; a key being processed is queued again when done. */
  add(key: K): void {
    if (this.#shuttingDown) return;
    if (this.#dirty.has(key)) return;
    this.#adds++;
    this.#metrics?.adds.inc({ name: this.name });
    this.#dirty.add(key);
    this.#addedAt.set(key, this.#now());
    if (this.#processing.has(key)) return;
    this.#enqueue(key);
  }

  /** Adds the key after `delayMs` (at once when ≤ 0). A pending earlier time is kept. */
  addAfter(key: K, delayMs: number): void {
    if (this.#shuttingDown) return;
    if (!(delayMs > 0)) {
      this.add(key);
      return;
    }
    const at = this.#now() + delayMs;
    const pending = this.#delayed.get(key);
    if (pending && pending.at <= at) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.#delayed.delete(key);
      this.add(key);
    }, delayMs);
    this.#delayed.set(key, { at, timer });
  }

  /** Adds the key after its backoff (and the overall rate limit) allow. */
  addRateLimited(key: K): void {
    if (this.#shuttingDown) return;
    this.#retries++;
    this.#metrics?.retries.inc({ name: this.name });
    this.addAfter(key, this.#rateLimiter.when(key));
  }

  /** Resets the key's backoff (it succeeded, or it is given up). */
  forget(key: K): void {
    this.#rateLimiter.forget(key);
  }

  numRequeues(key: K): number {
    return this.#rateLimiter.numRequeues(key);
  }

  /** The next key to process, or undefined once the queue is shut down. Call done(key) after. */
  get(): Promise<K | undefined> {
    const key = this.#take();
    if (key !== undefined || this.#shuttingDown) return Promise.resolve(key);
    return new Promise((resolve) => this.#getters.push(resolve));
  }

  /** The key's processing is over; if it was added meanwhile it is queued now. */
  done(key: K): void {
    const started = this.#processing.get(key);
    if (started === undefined) return;
    this.#processing.delete(key);
    this.#metrics?.workDuration.observe({ name: this.name }, (this.#now() - started) / 1000);
    if (this.#dirty.has(key) && !(this.#shuttingDown && !this.#drain)) this.#enqueue(key);
    this.#checkIdle();
  }

  /**
   * Runs `concurrency` workers until shut down. `handler` errors are logged (a controller catches
   * its own and decides on retries); done(key) is called for the handler.
   */
  async run(concurrency: number, handler: (key: K) => Promise<void>): Promise<void> {
    const worker = async () => {
      for (;;) {
        const key = await this.get();
        if (key === undefined) return;
        try {
          await handler(key);
        } catch (err) {
          this.#logger.error({ err, queue: this.name, key }, 'work queue handler failed');
        } finally {
          this.done(key);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
  }

  /**
   * Stops taking keys (add* become no-ops, pending delays are dropped) and resolves once every key
   * being processed is done. With `drain`, the keys already queued are still handed out first;
   * without, they are dropped.
   */
  shutDown(options: { drain?: boolean } = {}): Promise<void> {
    this.#shuttingDown = true;
    this.#drain = Boolean(options.drain);
    for (const { timer } of this.#delayed.values()) clearTimeout(timer);
    this.#delayed.clear();
    if (!this.#drain) {
      for (const key of this.#queue) this.#addedAt.delete(key);
      this.#queue.clear();
      this.#dirty.clear();
    }
    this.#wakeGetters();
    return new Promise<void>((resolve) => {
      this.#idle.push(resolve);
      this.#checkIdle();
    });
  }

  stats(): WorkQueueStats {
    const now = this.#now();
    let longest = 0;
    let unfinished = 0;
    for (const started of this.#processing.values()) {
      longest = Math.max(longest, now - started);
      unfinished += now - started;
    }
    return {
      depth: this.#queue.size,
      processing: this.#processing.size,
      delayed: this.#delayed.size,
      adds: this.#adds,
      retries: this.#retries,
      longestRunningMs: longest,
      unfinishedWorkMs: unfinished,
    };
  }

  // -------------------------------------------------------------------------------------------

  #enqueue(key: K): void {
    const getter = this.#getters.shift();
    if (getter) {
      this.#handOut(key);
      getter(key);
    } else {
      this.#queue.add(key);
    }
  }

  #take(): K | undefined {
    const first = this.#queue.values().next();
    if (first.done) return undefined;
    const key = first.value;
    this.#queue.delete(key);
    this.#handOut(key);
    return key;
  }

  #handOut(key: K): void {
    const now = this.#now();
    this.#dirty.delete(key);
    const added = this.#addedAt.get(key);
    this.#addedAt.delete(key);
    if (added !== undefined) this.#metrics?.queueLatency.observe({ name: this.name }, (now - added) / 1000);
    this.#processing.set(key, now);
  }

  #wakeGetters(): void {
    if (!this.#shuttingDown) return;
    // Getters wait only while the queue is empty; with nothing queued, shutting down ends them.
    if (this.#queue.size === 0) for (const getter of this.#getters.splice(0)) getter(undefined);
  }

  #checkIdle(): void {
    if (!this.#shuttingDown) return;
    this.#wakeGetters();
    if (this.#processing.size === 0 && this.#queue.size === 0) for (const resolve of this.#idle.splice(0)) resolve();
  }
}

// ---------------------------------------------------------------------------------------------
// Metrics: one set per registry, labelled by queue name, shared by every queue on that registry.

interface QueueMetrics {
  queues: Map<string, WorkQueue<unknown>>;
  adds: Counter<'name'>;
  retries: Counter<'name'>;
  workDuration: Histogram<'name'>;
  queueLatency: Histogram<'name'>;
}

const metricsByRegistry = new WeakMap<Registry, QueueMetrics>();
const durationBuckets = [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

function queueMetrics(registry: Registry): QueueMetrics {
  const existing = metricsByRegistry.get(registry);
  if (existing) return existing;
  const queues = new Map<string, WorkQueue<unknown>>();
  const perQueue = (gauge: Gauge<'name'>, read: (s: WorkQueueStats) => number) => {
    gauge.reset();
    for (const [name, q] of queues) gauge.set({ name }, read(q.stats()));
  };
  new Gauge<'name'>({
    name: 'gbcast_operator_workqueue_depth',
    help: 'Keys waiting in the work queue.',
    labelNames: ['name'],
    registers: [registry],
    collect() {
      perQueue(this, (s) => s.depth);
    },
  });
  new Gauge<'name'>({
    name: 'gbcast_operator_workqueue_longest_running_processor_seconds',
    help: 'How long the longest running key of the queue has been processed.',
    labelNames: ['name'],
    registers: [registry],
    collect() {
      perQueue(this, (s) => s.longestRunningMs / 1000);
    },
  });
  new Gauge<'name'>({
    name: 'gbcast_operator_workqueue_unfinished_work_seconds',
    help: 'Sum of how long the keys being processed have been.',
    labelNames: ['name'],
    registers: [registry],
    collect() {
      perQueue(this, (s) => s.unfinishedWorkMs / 1000);
    },
  });
  const metrics: QueueMetrics = {
    queues,
    adds: new Counter({ name: 'gbcast_operator_workqueue_adds_total', help: 'Keys added to the work queue.', labelNames: ['name'], registers: [registry] }),
    retries: new Counter({
      name: 'gbcast_operator_workqueue_retries_total',
      help: 'Rate limited re-adds (retries) to the work queue.',
      labelNames: ['name'],
      registers: [registry],
    }),
    workDuration: new Histogram({
      name: 'gbcast_operator_workqueue_work_duration_seconds',
      help: 'How long processing a key took.',
      labelNames: ['name'],
      buckets: durationBuckets,
      registers: [registry],
    }),
    queueLatency: new Histogram({
      name: 'gbcast_operator_workqueue_queue_duration_seconds',
      help: 'How long a key waited in the queue before being handed out.',
      labelNames: ['name'],
      buckets: durationBuckets,
      registers: [registry],
    }),
  };
  metricsByRegistry.set(registry, metrics);
  return metrics;
}
