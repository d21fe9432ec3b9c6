/**
 * Kubernetes Events (events.k8s.io/v1) about the objects the operator manages, as `kubectl
 * describe` shows them.
 *
 * - The same event (object, type, reason, action, note) again within the dedup window updates the
 *   first Event's series (count, lastObservedTime) instead of creating another.
 * - Each object gets a token bucket (a burst, then one write per refill period): an object that
 *   keeps failing cannot flood the API. A suppressed repeat is still counted; the next write
 *   carries the count.
 * - Recording never throws and never blocks the caller: failures are logged.
 */
import os from 'node:os';
import type { Logger } from '../../common/logger.ts';
import { silentLogger } from '../../common/logger.ts';
import { isNotFound, resources, type KubeClient } from './client.ts';
import { microTime } from './time.ts';
import type { KubeEvent, KubeObject, ObjectReference } from './types.ts';

export const reportingController = 'gbcast.io/operator';

export type EventType = 'Normal' | 'Warning';

export interface EventRecorderOptions {
  /** reportingController of the Events; default `gbcast.io/operator`. */
  controller?: string;
  /** reportingInstance: this operator replica, its pod name (default $POD_NAME, else the host name, which is the pod name in a pod). */
  instance?: string;
  /** Repeats within this window update the first Event's series (default 10 min). */
  dedupWindowMs?: number;
  /** Per object: writes allowed at once (default 25)... */
  burst?: number;
  /** ...then one more per this period (default 5 min). */
  refillMs?: number;
  /** Dedup entries kept at most (the oldest are forgotten first; default 4096). */
  maxEntries?: number;
  logger?: Logger;
  now?: () => number;
}

interface SeriesEntry {
  /** The Event written for the first occurrence (undefined until it is, or when it failed). */
  name?: string;
  namespace: string;
  firstAt: number;
  /** Occurrences so far, and how many the API has been told of. */
  count: number;
  written: number;
  lastAt: number;
  /** Writes for one series are made one after the other. */
  chain: Promise<void>;
}

interface Bucket {
  tokens: number;
  last: number;
}

const maxNoteBytes = 1024;

export class EventRecorder {
  readonly #client: KubeClient;
  readonly #controller: string;
  readonly #instance: string;
  readonly #windowMs: number;
  readonly #burst: number;
  readonly #refillMs: number;
  readonly #maxEntries: number;
  readonly #logger: Logger;
  readonly #now: () => number;
  /** Insertion order is age order: the first entries are the oldest. */
  readonly #series = new Map<string, SeriesEntry>();
  readonly #buckets = new Map<string, Bucket>();
  readonly #pending = new Set<Promise<void>>();
  /** Counts of what happened, for tests and debugging. */
  readonly counts = { created: 0, seriesUpdates: 0, suppressed: 0, failed: 0 };

  constructor(client: KubeClient, options: EventRecorderOptions = {}) {
    this.#client = client;
    this.#controller = options.controller ?? reportingController;
    this.#instance = options.instance ?? process.env.POD_NAME ?? os.hostname();
    this.#windowMs = options.dedupWindowMs ?? 10 * 60_000;
    this.#burst = options.burst ?? 25;
    this.#refillMs = options.refillMs ?? 5 * 60_000;
    this.#maxEntries = options.maxEntries ?? 4096;
    this.#logger = options.logger ?? silentLogger();
    this.#now = options.now ?? Date.now;
  }

  normal(regarding: KubeObject, reason: string, note: string, action?: string): void {
    this.emit(regarding, 'Normal', reason, note, action);
  }

  warning(regarding: KubeObject, reason: string, note: string, action?: string): void {
    this.emit(regarding, 'Warning', reason, note, action);
  }

  /**
   * Records an event about `regarding` (which needs apiVersion, kind and metadata.name). `action`
   * (what the operator did or failed to do, machine-readable) defaults to `reason`.
   */
  emit(regarding: KubeObject, type: EventType, reason: string, note: string, action: string = reason, related?: KubeObject): void {
    try {
      const now = this.#now();
      const ref = referenceTo(regarding);
      const text = truncate(note, maxNoteBytes);
      const key = JSON.stringify([ref.kind, ref.namespace ?? '', ref.name, ref.uid ?? '', type, reason, action, text]);
      this.#forgetOld(now);
      let entry = this.#series.get(key);
      if (entry && now - entry.firstAt > this.#windowMs) {
        this.#series.delete(key);
        entry = undefined;
      }
      const objectKey = `${ref.kind}/${ref.namespace ?? ''}/${ref.name}`;
      if (!entry) {
        entry = { namespace: ref.namespace ?? 'default', firstAt: now, count: 1, written: 0, lastAt: now, chain: Promise.resolve() };
        this.#series.set(key, entry);
      } else {
        entry.count++;
        entry.lastAt = now;
      }
      if (!this.#take(objectKey, now)) {
        this.counts.suppressed++;
        this.#logger.debug({ regarding: objectKey, reason }, 'event rate limited');
        return;
      }
      const e = entry;
      const write = (e.chain = e.chain.then(() => this.#write(e, ref, type, reason, action, text, related)));
      this.#pending.add(write);
      void write.finally(() => this.#pending.delete(write));
    } catch (err) {
      this.#logger.warn({ err, reason }, 'cannot record an event');
    }
  }

  /** Resolves once every write started so far has finished (tests, shutdown). */
  async flush(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all([...this.#pending]);
  }

  // -------------------------------------------------------------------------------------------

  async #write(entry: SeriesEntry, ref: ObjectReference, type: EventType, reason: string, action: string, note: string, related?: KubeObject): Promise<void> {
    if (entry.written === entry.count) return;
    try {
      if (entry.name) {
        try {
          const count = entry.count;
          await this.#client.patchMerge(resources.events, entry.name, { series: { count, lastObservedTime: microTime(entry.lastAt) } }, { namespace: entry.namespace });
          entry.written = count;
          this.counts.seriesUpdates++;
          return;
        } catch (err) {
          // The Event expired (the API server keeps them for an hour) or was deleted: start afresh.
          if (!isNotFound(err)) throw err;
          entry.name = undefined;
        }
      }
      const count = entry.count;
      const event: KubeEvent = {
        apiVersion: 'events.k8s.io/v1',
        kind: 'Event',
        metadata: { name: eventName(ref.name ?? 'object', this.#now()), namespace: entry.namespace },
        eventTime: microTime(entry.firstAt),
        reportingController: this.#controller,
        reportingInstance: this.#instance,
        action,
        reason,
        regarding: ref,
        note,
        type,
      };
      if (count > 1) event.series = { count, lastObservedTime: microTime(entry.lastAt) };
      if (related) event.related = referenceTo(related);
      const created = await this.#client.create(resources.events, event);
      entry.name = created.metadata.name;
      entry.written = count;
      this.counts.created++;
    } catch (err) {
      this.counts.failed++;
      this.#logger.warn({ err, reason, regarding: `${ref.kind} ${ref.namespace ?? ''}/${ref.name}` }, 'cannot write an event');
    }
  }

  #take(objectKey: string, now: number): boolean {
    let bucket = this.#buckets.get(objectKey);
    if (!bucket) {
      bucket = { tokens: this.#burst, last: now };
      this.#buckets.set(objectKey, bucket);
    }
    bucket.tokens = Math.min(this.#burst, bucket.tokens + (now - bucket.last) / this.#refillMs);
    bucket.last = now;
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  #forgetOld(now: number): void {
    for (const [key, entry] of this.#series) {
      if (this.#series.size <= this.#maxEntries && now - entry.firstAt <= this.#windowMs) break;
      this.#series.delete(key);
    }
    // A bucket refilled to the burst is the same as no bucket.
    if (this.#buckets.size > this.#maxEntries) {
      for (const [key, b] of this.#buckets) if (b.tokens + (now - b.last) / this.#refillMs >= this.#burst) this.#buckets.delete(key);
    }
  }
}

/** An ObjectReference to `obj` (its apiVersion, kind, namespace, name, uid, resourceVersion). */
export function referenceTo(obj: KubeObject): ObjectReference {
  if (!obj.kind || !obj.apiVersion) throw new Error(`event about an object without kind/apiVersion (${obj.metadata?.name})`);
  const ref: ObjectReference = { apiVersion: obj.apiVersion, kind: obj.kind, name: obj.metadata.name };
  if (obj.metadata.namespace) ref.namespace = obj.metadata.namespace;
  if (obj.metadata.uid) ref.uid = obj.metadata.uid;
  if (obj.metadata.resourceVersion) ref.resourceVersion = obj.metadata.resourceVersion;
  return ref;
}

/** `<object>.<hex time>`, unique enough and a valid name (253 characters at most). */
function eventName(objectName: string, now: number): string {
  const suffix = (BigInt(Math.floor(now)) * 1_000_000n + BigInt(Math.floor(Math.random() * 1_000_000))).toString(16);
  return `${objectName.slice(0, 253 - suffix.length - 1)}.${suffix}`;
}

function truncate(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  let out = Buffer.from(text).subarray(0, maxBytes - 3).toString('utf8');
  // A cut multi-byte character decodes to U+FFFD: drop it.
  out = out.replace(/\uFFFD$/, '');
  return `${out}...`;
}
