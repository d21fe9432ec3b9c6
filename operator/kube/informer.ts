/**
 * An informer: a local cache of one kind of object kept current by list-then-watch, and handlers
 * told of every add, update and delete.
 *
 * - It lists, then watches from the list's resourceVersion (with bookmarks, so the version it would
 *   resume from stays fresh even when nothing it selects changes).
 * - A watch that ends (server timeout) or fails (connection cut) is started again from the last
 *   resourceVersion seen, after an exponential backoff when it fails repeatedly.
 * - 410 Expired (as an ERROR event or as the HTTP answer) means the changes since that version are
 *   gone: it lists again and hands the handlers the difference against its cache, so an object
 *   deleted during the gap is still seen as deleted.
 * - Every `resyncMs` each cached object is handed to `update` again (old === new), so a controller
 *   that missed something converges; every `relistMs` it lists from scratch as above.
 */
import type { Logger } from '../../common/logger.ts';
import { silentLogger } from '../../common/logger.ts';
import { isGone, KubeError, type KubeClient, type ResourceDescriptor } from './client.ts';
import { sleep } from './time.ts';
import type { KubeObject, Status, WatchEvent } from './types.ts';

export interface InformerHandlers<T> {
  add?(obj: T): void;
  /** `oldObj === newObj` on a periodic resync. */
  update?(oldObj: T, newObj: T): void;
  /**
   * `obj` is the last state known. `finalStateUnknown` when the delete was inferred from a re-list
   * (the object vanished while no watch was open), not seen as a DELETED event.
   */
  delete?(obj: T, finalStateUnknown: boolean): void;
}

export interface InformerOptions {
  /** All namespaces when unset. */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Re-emit every cached object as an update this often (0: never). Default 10 min. */
  resyncMs?: number;
  /** List from scratch this often, emitting the differences (0: never). Default 30 min. */
  relistMs?: number;
  /** Asked of the server per watch; default a random 5 to 10 min, so watches do not end together. */
  watchTimeoutSeconds?: number;
  /** Backoff between failed lists/watches: from initialMs doubling to maxMs. Default 200 ms to 30 s. */
  backoff?: { initialMs?: number; maxMs?: number };
  /** Names the informer in logs (default the resource's plural). */
  name?: string;
  logger?: Logger;
}

/** The cache key of an object: `namespace/name`, or `name` for cluster-scoped objects. */
export function keyOf(obj: KubeObject): string {
  const ns = obj.metadata.namespace;
  return ns ? `${ns}/${obj.metadata.name}` : obj.metadata.name;
}

export function splitKey(key: string): { namespace?: string; name: string } {
  const slash = key.indexOf('/');
  return slash < 0 ? { name: key } : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

type WatchOutcome = 'ended' | 'expired' | 'relist' | 'stopped';

export class Informer<T extends KubeObject> {
  readonly resource: ResourceDescriptor<T>;
  readonly name: string;
  /** Resolves after the first list has been handed to the handlers. */
  readonly synced: Promise<void>;
  readonly #client: KubeClient;
  readonly #options: InformerOptions;
  readonly #logger: Logger;
  readonly #cache = new Map<string, T>();
  readonly #handlers = new Set<InformerHandlers<T>>();
  readonly #stop = new AbortController();
  #resolveSynced!: () => void;
  #hasSynced = false;
  #resourceVersion = '';
  #running: Promise<void> | undefined;
  #relistRequested = false;
  #abortWatch: (() => void) | undefined;
  readonly #timers: NodeJS.Timeout[] = [];
  /** Lists and watches started, for tests and logs. */
  readonly counts = { lists: 0, watches: 0, expired: 0, failures: 0 };

  constructor(client: KubeClient, resource: ResourceDescriptor<T>, options: InformerOptions = {}) {
    this.#client = client;
    this.resource = resource;
    this.#options = options;
    this.name = options.name ?? resource.plural;
    this.#logger = (options.logger ?? silentLogger()).child({ informer: this.name });
    this.synced = new Promise((resolve) => (this.#resolveSynced = resolve));
  }

  get hasSynced(): boolean {
    return this.#hasSynced;
  }

  /** The resourceVersion the next watch starts from. */
  get resourceVersion(): string {
    return this.#resourceVersion;
  }

  /**
   * Adds handlers; returns a function that removes them. Added after the first sync, they are
   * told of every cached object as an add at once (so a late handler starts from the same state).
   */
  addHandlers(handlers: InformerHandlers<T>): () => void {
    this.#handlers.add(handlers);
    if (this.#hasSynced && handlers.add) for (const obj of this.#cache.values()) this.#call(() => handlers.add!(obj));
    return () => this.#handlers.delete(handlers);
  }

  get(key: string): T | undefined {
    return this.#cache.get(key);
  }

  getByName(name: string, namespace?: string): T | undefined {
    return this.#cache.get(namespace ? `${namespace}/${name}` : name);
  }

  list(filter?: (obj: T) => boolean): T[] {
    const all = [...this.#cache.values()];
    return filter ? all.filter(filter) : all;
  }

  keys(): string[] {
    return [...this.#cache.keys()];
  }

  /** Starts listing and watching (once; later calls do nothing). */
  start(): void {
    if (this.#running || this.#stop.signal.aborted) return;
    const resyncMs = this.#options.resyncMs ?? 10 * 60_000;
    const relistMs = this.#options.relistMs ?? 30 * 60_000;
    if (resyncMs > 0) this.#timers.push(setInterval(() => this.#resync(), resyncMs));
    if (relistMs > 0) this.#timers.push(setInterval(() => this.relist(), relistMs));
    this.#running = this.#run();
  }

  /** Lists again now (ending the current watch), emitting the differences. */
  relist(): void {
    this.#relistRequested = true;
    this.#abortWatch?.();
  }

  /** Stops watching; resolves once the loop has ended. The cache stays readable. */
  async stop(): Promise<void> {
    this.#stop.abort();
    for (const t of this.#timers) clearInterval(t);
    this.#abortWatch?.();
    await this.#running;
  }

  // -------------------------------------------------------------------------------------------

  async #run(): Promise<void> {
    const initialMs = this.#options.backoff?.initialMs ?? 200;
    const maxMs = this.#options.backoff?.maxMs ?? 30_000;
    let backoffMs = initialMs;
    let needList = true;
    const signal = this.#stop.signal;
    while (!signal.aborted) {
      let delivered = false;
      try {
        if (needList || this.#relistRequested) {
          this.#relistRequested = false;
          await this.#list();
          needList = false;
          delivered = true;
        }
        const started = Date.now();
        let watched = false;
        const outcome = await this.#watch(() => (delivered = watched = true));
        if (outcome === 'ended' && !watched && Date.now() - started < 1000) {
          // Ended at once with nothing in it (a proxy closing it, say): a failure, or this would spin.
          this.counts.failures++;
          this.#logger.warn({ retryInMs: backoffMs }, 'watch ended at once');
        } else {
          // A watch that ran and ended normally: start the next one at once.
          backoffMs = initialMs;
          if (outcome === 'expired') {
            this.counts.expired++;
            this.#logger.info({ resourceVersion: this.#resourceVersion }, 'watch expired (410): listing again');
            needList = true;
          } else if (outcome === 'relist') {
            needList = true;
          }
          continue;
        }
      } catch (err) {
        if (signal.aborted) break;
        if (isGone(err)) {
          this.counts.expired++;
          this.#logger.info({ resourceVersion: this.#resourceVersion }, 'resourceVersion too old (410): listing again');
          needList = true;
          continue;
        }
        this.counts.failures++;
        if (delivered) backoffMs = initialMs;
        this.#logger.warn({ err, retryInMs: backoffMs, listing: needList }, needList ? 'list failed' : 'watch failed');
      }
      // Jitter: between 75% and 100% of the backoff, so many informers do not retry in step.
      await sleep(backoffMs * (0.75 + Math.random() * 0.25), signal);
      backoffMs = Math.min(maxMs, backoffMs * 2);
    }
  }

  async #list(): Promise<void> {
    this.counts.lists++;
    const list = await this.#client.list(this.resource, {
      namespace: this.#options.namespace,
      labelSelector: this.#options.labelSelector,
      fieldSelector: this.#options.fieldSelector,
      signal: this.#stop.signal,
    });
    if (this.#stop.signal.aborted) return;
    const fresh = new Map<string, T>();
    for (const obj of list.items) fresh.set(keyOf(obj), obj);
    const old = new Map(this.#cache);
    this.#cache.clear();
    for (const [key, obj] of fresh) this.#cache.set(key, obj);
    for (const [key, obj] of fresh) {
      const before = old.get(key);
      if (!before) this.#emit('add', obj);
      else if (before.metadata.resourceVersion !== obj.metadata.resourceVersion || before.metadata.uid !== obj.metadata.uid) this.#emit('update', obj, before);
    }
    for (const [key, obj] of old) if (!fresh.has(key)) this.#emit('delete', obj, undefined, true);
    this.#resourceVersion = list.metadata.resourceVersion ?? '';
    if (!this.#hasSynced) {
      this.#hasSynced = true;
      this.#logger.debug({ objects: fresh.size, resourceVersion: this.#resourceVersion }, 'synced');
      this.#resolveSynced();
    }
  }

  async #watch(onDelivered: () => void): Promise<WatchOutcome> {
    if (this.#stop.signal.aborted) return 'stopped';
    if (this.#relistRequested) return 'relist';
    this.counts.watches++;
    let outcome: WatchOutcome = 'ended';
    let failure: unknown;
    const timeoutSeconds = this.#options.watchTimeoutSeconds ?? 300 + Math.floor(Math.random() * 300);
    const handle = this.#client.watch(
      this.resource,
      {
        namespace: this.#options.namespace,
        labelSelector: this.#options.labelSelector,
        fieldSelector: this.#options.fieldSelector,
        resourceVersion: this.#resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds,
      },
      (event) => {
        if (outcome !== 'ended' || failure) return;
        onDelivered();
        const result = this.#onEvent(event);
        if (result === 'expired') {
          outcome = 'expired';
          handle.abort();
        } else if (result instanceof Error) {
          failure = result;
          handle.abort();
        }
      },
    );
    this.#abortWatch = () => {
      if (this.#relistRequested && outcome === 'ended') outcome = 'relist';
      handle.abort();
    };
    try {
      await handle.done;
    } finally {
      this.#abortWatch = undefined;
    }
    if (failure) throw failure;
    if (this.#stop.signal.aborted) return 'stopped';
    return outcome;
  }

  /** Applies one watch event; 'expired' for a 410 ERROR, an Error for any other ERROR. */
  #onEvent(event: WatchEvent<T>): 'expired' | Error | undefined {
    const obj = event.object;
    switch (event.type) {
      case 'ADDED':
      case 'MODIFIED': {
        const key = keyOf(obj);
        const before = this.#cache.get(key);
        this.#cache.set(key, obj);
        this.#resourceVersion = obj.metadata.resourceVersion ?? this.#resourceVersion;
        if (before) this.#emit('update', obj, before);
        else this.#emit('add', obj);
        return undefined;
      }
      case 'DELETED': {
        const key = keyOf(obj);
        this.#cache.delete(key);
        this.#resourceVersion = obj.metadata.resourceVersion ?? this.#resourceVersion;
        this.#emit('delete', obj, undefined, false);
        return undefined;
      }
      case 'BOOKMARK':
        this.#resourceVersion = obj.metadata?.resourceVersion ?? this.#resourceVersion;
        return undefined;
      case 'ERROR': {
        const status = obj as unknown as Status;
        if (status.code === 410) return 'expired';
        return KubeError.fromStatus(status);
      }
      default:
        return new KubeError(0, 'BadWatchEvent', `unknown watch event type ${String(event.type)}`);
    }
  }

  #resync(): void {
    if (!this.#hasSynced || this.#stop.signal.aborted) return;
    for (const obj of this.#cache.values()) this.#emit('update', obj, obj);
  }

  #emit(kind: 'add' | 'update' | 'delete', obj: T, before?: T, finalStateUnknown = false): void {
    for (const h of this.#handlers) {
      if (kind === 'add' && h.add) this.#call(() => h.add!(obj));
      else if (kind === 'update' && h.update) this.#call(() => h.update!(before ?? obj, obj));
      else if (kind === 'delete' && h.delete) this.#call(() => h.delete!(obj, finalStateUnknown));
    }
  }

  #call(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#logger.error({ err }, 'informer handler threw');
    }
  }
}
