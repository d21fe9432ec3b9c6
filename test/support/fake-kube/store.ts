/**
 * The object store: objects by storage resource and namespace/name, one global resourceVersion
 * counter (every write takes the next number, as etcd revisions do), and a bounded history of
 * change events that watches replay from and that lists at an exact older resourceVersion are
 * rebuilt from. Listeners (the watch hub, the garbage collector) hear every change synchronously.
 */
import { clone } from './status.ts';
import type { JsonObject } from './status.ts';

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  rv: number;
  type: EventType;
  /** The storage resource: `group/resource`. */
  skey: string;
  /** The object after the change (for DELETED: its last state, carrying the deletion's resourceVersion). */
  object: JsonObject;
  /** The object before the change (MODIFIED, DELETED). */
  prev?: JsonObject;
}

export function objectKey(namespace: string | undefined, name: string): string {
  return `${namespace ?? ''}/${name}`;
}

function metaOf(obj: JsonObject): JsonObject {
  return obj.metadata as JsonObject;
}

export class Store {
  private rv: number;
  private readonly data = new Map<string, Map<string, JsonObject>>();
  private history: StoreEvent[] = [];
  /** Events with rv <= compactedRV are gone from the history. */
  private compactedRV: number;
  historyLimit: number;
  readonly listeners = new Set<(event: StoreEvent) => void>();

  constructor(historyLimit: number, firstRV = 1000) {
    this.historyLimit = historyLimit;
    this.rv = firstRV;
    this.compactedRV = firstRV;
  }

  currentRV(): number {
    return this.rv;
  }

  oldestAvailableRV(): number {
    return this.compactedRV;
  }

  get(skey: string, namespace: string | undefined, name: string): JsonObject | undefined {
    const obj = this.data.get(skey)?.get(objectKey(namespace, name));
    return obj && clone(obj);
  }

  /** Objects of a storage resource (in one namespace, or all), sorted by namespace then name. */
  list(skey: string, namespace?: string): JsonObject[] {
    const bucket = this.data.get(skey);
    if (!bucket) return [];
    const keys = [...bucket.keys()].filter((k) => namespace === undefined || k.startsWith(`${namespace}/`)).sort();
    return keys.map((k) => clone(bucket.get(k) as JsonObject));
  }

  /** The objects as they were at `rv`, rebuilt from the history; undefined when it is too old. */
  listAt(skey: string, rv: number, namespace?: string): JsonObject[] | undefined {
    if (rv < this.compactedRV) return undefined;
    const state = new Map<string, JsonObject>();
    for (const o of this.list(skey, namespace)) state.set(objectKey(metaOf(o).namespace as string | undefined, metaOf(o).name as string), o);
    for (let i = this.history.length - 1; i >= 0 && this.history[i].rv > rv; i--) {
      const e = this.history[i];
      if (e.skey !== skey) continue;
      const m = metaOf(e.object);
      if (namespace !== undefined && m.namespace !== namespace) continue;
      const key = objectKey(m.namespace as string | undefined, m.name as string);
      if (e.type === 'ADDED') state.delete(key);
      else if (e.prev) state.set(key, clone(e.prev));
    }
    return [...state.keys()].sort().map((k) => state.get(k) as JsonObject);
  }

  /** History events after `rv` (for a watch); undefined when some of them were forgotten. */
  eventsAfter(rv: number): StoreEvent[] | undefined {
    if (rv < this.compactedRV) return undefined;
    return this.history.filter((e) => e.rv > rv);
  }

  /** Creates or replaces an object: it gets the next resourceVersion; returns the stored copy. */
  write(skey: string, obj: JsonObject): JsonObject {
    const meta = metaOf(obj);
    const key = objectKey(meta.namespace as string | undefined, meta.name as string);
    let bucket = this.data.get(skey);
    if (!bucket) {
      bucket = new Map();
      this.data.set(skey, bucket);
    }
    const prev = bucket.get(key);
    const stored = clone(obj);
    metaOf(stored).resourceVersion = String(++this.rv);
    bucket.set(key, stored);
    this.record({ rv: this.rv, type: prev ? 'MODIFIED' : 'ADDED', skey, object: stored, prev });
    return clone(stored);
  }

  /** Removes an object; the DELETED event carries its last state with the deletion's resourceVersion. */
  remove(skey: string, namespace: string | undefined, name: string): JsonObject | undefined {
    const bucket = this.data.get(skey);
    const key = objectKey(namespace, name);
    const prev = bucket?.get(key);
    if (!bucket || !prev) return undefined;
    bucket.delete(key);
    const last = clone(prev);
    metaOf(last).resourceVersion = String(++this.rv);
    this.record({ rv: this.rv, type: 'DELETED', skey, object: last, prev });
    return clone(last);
  }

  /** Drops a whole storage resource (a CRD that stopped being served) without events. */
  dropResource(skey: string): void {
    this.data.delete(skey);
  }

  /** Forgets the event history: a watch or exact list from any older resourceVersion gets 410. */
  expireHistory(): void {
    this.history = [];
    this.compactedRV = this.rv;
  }

  private record(event: StoreEvent): void {
    this.history.push(event);
    while (this.history.length > this.historyLimit) {
      const dropped = this.history.shift() as StoreEvent;
      this.compactedRV = dropped.rv;
    }
    for (const l of [...this.listeners]) l(event);
  }
}
