/**
 * The installation's events (GET /api/v1/events, Server-Sent Events) read with fetch and a stream
 * reader, so the bearer token can go in a header (EventSource cannot send one). Reconnects with
 * a growing delay (1 s doubling to 30 s, with jitter); a stream silent for longer than three
 * heartbeats counts as dead. After each reconnect `onOpen(true)`: events may have been missed, so
 * the views read their lists again.
 */
import { authorizedFetch } from './api.ts';
import type { GbcastEvent } from './types.ts';

export type EventStreamState = 'connecting' | 'live' | 'down';

export interface EventStreamHandlers {
  onEvent(event: GbcastEvent): void;
  /** The stream is open; `reconnected` when it was open before (refresh what is shown). */
  onOpen(reconnected: boolean): void;
  onState(state: EventStreamState): void;
}

const silenceLimitMs = 50_000;

/** Parses an SSE byte stream into messages; returns when the stream ends. */
async function readMessages(body: ReadableStream<Uint8Array>, onMessage: (event: string, data: string) => void, onBytes: () => void): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let event = '';
  let data: string[] = [];
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    onBytes();
    buffer += decoder.decode(value, { stream: true });
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl).replace(/\r$/, '');
      buffer = buffer.slice(nl + 1);
      if (line === '') {
        if (data.length > 0) onMessage(event || 'message', data.join('\n'));
        event = '';
        data = [];
      } else if (line.startsWith(':')) {
        // comment: a heartbeat
      } else {
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') event = value;
        else if (field === 'data') data.push(value);
      }
    }
  }
}

/** Starts reading; the returned function stops. */
export function connectEvents(handlers: EventStreamHandlers): () => void {
  let stopped = false;
  let controller: AbortController | undefined;
  let wasOpen = false;
  let delayMs = 1000;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const run = async () => {
    while (!stopped) {
      handlers.onState('connecting');
      controller = new AbortController();
      const abort = controller;
      let lastBytes = Date.now();
      const watchdog = setInterval(() => {
        if (Date.now() - lastBytes > silenceLimitMs) abort.abort();
      }, 5000);
      try {
        const res = await authorizedFetch('events', { signal: abort.signal, headers: { accept: 'text/event-stream' }, cache: 'no-store' });
        if (!res.ok || !res.body) throw new Error(`event stream: HTTP ${res.status}`);
        handlers.onState('live');
        handlers.onOpen(wasOpen);
        wasOpen = true;
        delayMs = 1000;
        await readMessages(
          res.body,
          (_event, data) => {
            try {
              handlers.onEvent(JSON.parse(data) as GbcastEvent);
            } catch {
              // not JSON: ignore
            }
          },
          () => (lastBytes = Date.now()),
        );
      } catch {
        // network error, abort, HTTP error: reconnect below
      } finally {
        clearInterval(watchdog);
      }
      if (stopped) return;
      handlers.onState('down');
      await new Promise<void>((resolve) => (timer = setTimeout(resolve, delayMs * (0.75 + Math.random() * 0.5))));
      delayMs = Math.min(30_000, delayMs * 2);
    }
  };
  void run();
  return () => {
    stopped = true;
    clearTimeout(timer);
    controller?.abort();
  };
}

/** A tiny in-page bus: views subscribe to the events the app's one stream receives. */
type Listener = (event: GbcastEvent) => void;
const eventListeners = new Set<Listener>();
const reopenListeners = new Set<() => void>();

export function publishEvent(event: GbcastEvent): void {
  for (const l of eventListeners) l(event);
}

export function publishReconnect(): void {
  for (const l of reopenListeners) l();
}

export function subscribeEvents(listener: Listener): () => void {
  eventListeners.add(listener);
  return () => eventListeners.delete(listener);
}

export function subscribeReconnect(listener: () => void): () => void {
  reopenListeners.add(listener);
  return () => reopenListeners.delete(listener);
}

/** Changes this page made itself (a play, a stop): the counts are read again. */
const changeListeners = new Set<() => void>();

export function publishLocalChange(): void {
  for (const l of changeListeners) l();
}

export function subscribeLocalChange(listener: () => void): () => void {
  changeListeners.add(listener);
  return () => changeListeners.delete(listener);
}
