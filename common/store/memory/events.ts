/**
 * The in-process events channel. Like Redis pub/sub, delivery is asynchronous (never inside the
 * store call that published), in publish order, to the subscribers present at publish time and
 * still subscribed at delivery, each getting its own copy of the JSON message.
 */
import type { GbcastEvent } from '../../contracts.ts';
import type { Logger } from '../../logger.ts';

type Handler = (event: GbcastEvent) => void;

export class MemoryEvents {
  readonly #handlers = new Set<Handler>();
  #queue: [text: string, handlers: Handler[]][] = [];
  #scheduled = false;
  readonly #logger: Logger | undefined;

  constructor(logger?: Logger) {
    this.#logger = logger;
  }

  publish(event: GbcastEvent): void {
    if (this.#handlers.size === 0) return;
    this.#queue.push([JSON.stringify(event), [...this.#handlers]]);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.#deliver());
    }
  }

  subscribe(handler: Handler): () => void {
    const own: Handler = (event) => handler(event);
    this.#handlers.add(own);
    return () => {
      this.#handlers.delete(own);
    };
  }

  close(): void {
    this.#handlers.clear();
    this.#queue = [];
  }

  #deliver(): void {
    this.#scheduled = false;
    const queue = this.#queue;
    this.#queue = [];
    for (const [text, handlers] of queue) {
      for (const handler of handlers) {
        if (!this.#handlers.has(handler)) continue;
        const event = JSON.parse(text) as GbcastEvent;
        try {
          handler(event);
        } catch (err) {
          // A failing subscriber must not cost the others their events; without a logger the error
          // still surfaces, as an uncaught exception on its own turn.
          if (this.#logger) this.#logger.error({ err, event: event.type }, 'event handler failed');
          else setImmediate(() => {
            throw err;
          });
        }
      }
    }
  }
}
