/**
 * A generic controller: informers' events become keys in a work queue; workers hand each key to
 * `reconcile`, one key at a time. A failed reconcile is retried with the key's backoff; a
 * successful one resets it, and may ask to be called again after a while (requeueAfterMs).
 *
 * The reconcile function gets the key only: it reads the current state from the informers' caches
 * (never from the event), so any number of events for a key collapse into one reconcile of the
 * latest state.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Logger } from '../../common/logger.ts';
import { silentLogger } from '../../common/logger.ts';
import { isConflict } from './client.ts';
import { keyOf, type Informer } from './informer.ts';
import type { KubeObject } from './types.ts';
import { WorkQueue, type RateLimiter } from './work-queue.ts';

export interface ReconcileResult {
  /** Reconcile this key again after this long (e.g. to check a drain timeout), even without events. */
  requeueAfterMs?: number;
}

export type Reconcile = (key: string, signal: AbortSignal) => Promise<ReconcileResult | void>;

/** An informer whose changes enqueue keys; `keys` maps an object to the keys it concerns (default: its own key). */
export interface ControllerWatch<T extends KubeObject = KubeObject> {
  informer: Informer<T>;
  keys?: (obj: T) => string | string[] | undefined;
}

export interface ControllerOptions {
  /** Names the controller in metrics (`controller` label) and logs. */
  name: string;
  reconcile: Reconcile;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- watches of different kinds
  watches: ControllerWatch<any>[];
  /** Keys reconciled at once (never the same key twice). Default 2. */
  concurrency?: number;
  registry?: Registry;
  logger?: Logger;
  /** The queue's retry policy (default: 5 ms doubling to 5 min per key, 10/s with a burst of 100 overall). */
  rateLimiter?: () => RateLimiter<string>;
}

export class Controller {
  readonly name: string;
  readonly #o: ControllerOptions;
  readonly #logger: Logger;
  readonly #metrics: ControllerMetrics | undefined;
  #queue: WorkQueue<string> | undefined;

  constructor(options: ControllerOptions) {
    this.name = options.name;
    this.#o = options;
    this.#logger = (options.logger ?? silentLogger()).child({ controller: options.name });
    this.#metrics = options.registry ? controllerMetrics(options.registry) : undefined;
  }

  /** The queue of the current run (undefined when not running). */
  get queue(): WorkQueue<string> | undefined {
    return this.#queue;
  }

  /** Queues a key (no-op when not running). */
  enqueue(key: string): void {
    this.#queue?.add(key);
  }

  enqueueAfter(key: string, delayMs: number): void {
    this.#queue?.addAfter(key, delayMs);
  }

  /**
   * Starts the informers (if not yet), waits for their first sync, then reconciles until `signal`
   * aborts (leadership lost, shutdown). Resolves once every reconcile in flight has returned (they
   * get the same signal). Can be run again afterwards, with a fresh queue.
   */
  async run(signal: AbortSignal): Promise<void> {
    if (this.#queue) throw new Error(`controller ${this.name} is already running`);
    const queue = new WorkQueue<string>({ name: this.name, registry: this.#o.registry, logger: this.#logger, rateLimiter: this.#o.rateLimiter?.() });
    this.#queue = queue;
    this.#metrics?.controllers.set(this.name, this);
    const unsubscribe: (() => void)[] = [];
    try {
      for (const w of this.#o.watches) w.informer.start();
      await Promise.race([Promise.all(this.#o.watches.map((w) => w.informer.synced)), aborted(signal)]);
      if (signal.aborted) return;
      for (const w of this.#o.watches) unsubscribe.push(w.informer.addHandlers(handlersFor(w, queue)));
      this.#logger.info('controller started');
      const stop = () => void queue.shutDown();
      signal.addEventListener('abort', stop, { once: true });
      if (signal.aborted) stop();
      await queue.run(this.#o.concurrency ?? 2, (key) => this.#process(queue, key, signal));
      this.#logger.info('controller stopped');
    } finally {
      for (const u of unsubscribe) u();
      await queue.shutDown();
      this.#queue = undefined;
    }
  }

  async #process(queue: WorkQueue<string>, key: string, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return;
    const started = performance.now();
    let result: ReconcileResult | void;
    try {
      result = await this.#o.reconcile(key, signal);
    } catch (err) {
      this.#observe(started, 'error');
      if (signal.aborted) return;
      const retries = queue.numRequeues(key);
      if (isConflict(err)) this.#logger.debug({ key, retries, err }, 'reconcile conflict; retrying');
      else this.#logger.warn({ key, retries, err }, 'reconcile failed; retrying');
      queue.addRateLimited(key);
      return;
    }
    queue.forget(key);
    const after = result?.requeueAfterMs;
    this.#observe(started, after !== undefined && after >= 0 ? 'requeue' : 'success');
    if (after !== undefined && after >= 0 && !signal.aborted) queue.addAfter(key, after);
  }

  #observe(started: number, result: 'success' | 'error' | 'requeue'): void {
    const m = this.#metrics;
    if (!m) return;
    m.reconciles.inc({ controller: this.name, result });
    if (result === 'error') m.errors.inc({ controller: this.name });
    m.duration.observe({ controller: this.name }, (performance.now() - started) / 1000);
  }
}

function handlersFor(w: ControllerWatch, queue: WorkQueue<string>) {
  const keysOf = (obj: KubeObject, into: Set<string>) => {
    let keys: string | string[] | undefined;
    try {
      keys = w.keys ? w.keys(obj) : keyOf(obj);
    } catch {
      return;
    }
    if (typeof keys === 'string') into.add(keys);
    else if (keys) for (const k of keys) into.add(k);
  };
  const enqueue = (...objs: KubeObject[]) => {
    // Keys gathered first: adding one key twice in a row would hand it to an idle worker and then
    // mark it dirty, reconciling it twice.
    const keys = new Set<string>();
    for (const obj of objs) keysOf(obj, keys);
    for (const k of keys) queue.add(k);
  };
  return {
    add: (obj: KubeObject) => enqueue(obj),
    // Both: a pod that changed owner (or labels a mapper reads) concerns the old key as well.
    update: (oldObj: KubeObject, newObj: KubeObject) => (oldObj === newObj ? enqueue(newObj) : enqueue(oldObj, newObj)),
    delete: (obj: KubeObject) => enqueue(obj),
  };
}

function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

// ---------------------------------------------------------------------------------------------

interface ControllerMetrics {
  controllers: Map<string, Controller>;
  reconciles: Counter<'controller' | 'result'>;
  errors: Counter<'controller'>;
  duration: Histogram<'controller'>;
}

const metricsByRegistry = new WeakMap<Registry, ControllerMetrics>();

function controllerMetrics(registry: Registry): ControllerMetrics {
  const existing = metricsByRegistry.get(registry);
  if (existing) return existing;
  const controllers = new Map<string, Controller>();
  new Gauge<'controller'>({
    name: 'gbcast_operator_queue_depth',
    help: 'Keys waiting in the controller work queue.',
    labelNames: ['controller'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [name, c] of controllers) this.set({ controller: name }, c.queue?.length ?? 0);
    },
  });
  const metrics: ControllerMetrics = {
    controllers,
    reconciles: new Counter({
      name: 'gbcast_operator_reconciles_total',
      help: 'Reconciles by result: success, requeue (success asking to be called again later) or error.',
      labelNames: ['controller', 'result'],
      registers: [registry],
    }),
    errors: new Counter({ name: 'gbcast_operator_reconcile_errors_total', help: 'Reconciles that failed (and are retried with backoff).', labelNames: ['controller'], registers: [registry] }),
    duration: new Histogram({
      name: 'gbcast_operator_reconcile_duration_seconds',
      help: 'How long a reconcile took.',
      labelNames: ['controller'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
  };
  metricsByRegistry.set(registry, metrics);
  return metrics;
}
