/**
 * The watch hub: each watch is a chunked HTTP response of JSON lines {type, object}. A watch from
 * resourceVersion N replays the changes after N from the store's history (410 Expired in an ERROR
 * event, then the end of the stream, when they are no longer known); without N (or with "0") it
 * starts with a synthetic ADDED per existing object. Selectors apply to both sides of a change: an
 * object that stops matching is DELETED for that watch, one that starts matching is ADDED.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { statusBody } from './status.ts';
import type { JsonObject } from './status.ts';
import type { Store, StoreEvent } from './store.ts';

export interface WatchRequest {
  skey: string;
  kind: string;
  apiVersion: string;
  matches(obj: JsonObject): boolean;
  /** Storage form → what this endpoint serves (version, conversion, defaults). */
  present(obj: JsonObject): JsonObject;
  /** Objects to start from (synthetic ADDED), already filtered; undefined to replay from resourceVersion. */
  initial?: JsonObject[];
  resourceVersion?: number;
  /** With sendInitialEvents: a BOOKMARK annotated k8s.io/initial-events-end after the initial objects. */
  initialEventsEndBookmark: boolean;
  allowBookmarks: boolean;
  timeoutSeconds: number;
}

interface Watcher {
  res: ServerResponse;
  close(): void;
}

export class WatchHub {
  private readonly store: Store;
  private readonly open = new Set<Watcher>();
  bookmarkIntervalMs: number;

  constructor(store: Store, bookmarkIntervalMs: number) {
    this.store = store;
    this.bookmarkIntervalMs = bookmarkIntervalMs;
  }

  get count(): number {
    return this.open.size;
  }

  serve(req: IncomingMessage, res: ServerResponse, w: WatchRequest): void {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked', 'Cache-Control': 'no-cache, private' });
    res.flushHeaders();
    const send = (type: string, object: JsonObject): void => {
      if (!res.writableEnded && !res.destroyed) res.write(`${JSON.stringify({ type, object })}\n`);
    };
    const bookmark = (annotations?: Record<string, string>): void => {
      const metadata: JsonObject = { resourceVersion: String(this.store.currentRV()) };
      if (annotations) metadata.annotations = annotations;
      send('BOOKMARK', { kind: w.kind, apiVersion: w.apiVersion, metadata });
    };

    let backlog: StoreEvent[] = [];
    if (w.initial === undefined) {
      const events = this.store.eventsAfter(w.resourceVersion ?? 0);
      if (events === undefined) {
        send('ERROR', statusBody(410, 'Expired', `too old resource version: ${w.resourceVersion} (${this.store.oldestAvailableRV()})`) as unknown as JsonObject);
        res.end();
        return;
      }
      backlog = events;
    }

    const onEvent = (e: StoreEvent): void => {
      if (e.skey !== w.skey) return;
      const now = e.type !== 'DELETED' && w.matches(e.object);
      const was = e.prev !== undefined && w.matches(e.prev);
      if (e.type === 'DELETED') {
        if (was) send('DELETED', w.present(e.object));
      } else if (now && was) send('MODIFIED', w.present(e.object));
      else if (now) send('ADDED', w.present(e.object));
      else if (was && e.prev) {
        const gone = structuredClone(e.prev);
        (gone.metadata as JsonObject).resourceVersion = String(e.rv);
        send('DELETED', w.present(gone));
      }
    };

    for (const obj of w.initial ?? []) send('ADDED', w.present(obj));
    if (w.initialEventsEndBookmark) bookmark({ 'k8s.io/initial-events-end': 'true' });
    for (const e of backlog) onEvent(e);
    this.store.listeners.add(onEvent);

    const timers: NodeJS.Timeout[] = [];
    if (w.allowBookmarks) timers.push(setInterval(() => bookmark(), this.bookmarkIntervalMs));
    const watcher: Watcher = {
      res,
      close: () => {
        this.store.listeners.delete(onEvent);
        timers.forEach((t) => clearTimeout(t));
        this.open.delete(watcher);
      },
    };
    timers.push(setTimeout(() => {
      watcher.close();
      res.end();
    }, w.timeoutSeconds * 1000));
    this.open.add(watcher);
    res.on('close', () => watcher.close());
    req.on('close', () => watcher.close());
  }

  /** Cuts every open watch connection abruptly (no final chunk), as a dropped connection would. */
  breakAll(): void {
    for (const w of [...this.open]) {
      w.close();
      w.res.socket?.destroy();
      w.res.destroy();
    }
  }

  /** Ends every watch cleanly. */
  endAll(): void {
    for (const w of [...this.open]) {
      w.close();
      w.res.end();
    }
  }
}
