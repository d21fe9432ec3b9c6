/**
 * GET /api/v1/events: every event of the installation (devices online/offline, receivers,
 * streamers) as Server-Sent Events, for the console and for scripts (`curl -N`).
 *
 * One listener on `signaling.events` fans out to every client, so each event is serialised once
 * whatever the number of clients, and the emitter's listener count does not grow with them.
 * A client that does not read is dropped once its unsent bytes pass `maxBufferedBytes` (it
 * reconnects and refreshes; an unbounded buffer per slow client would be a memory leak). A comment
 * line every `heartbeatMs` keeps proxies from closing an idle stream and lets clients notice a dead
 * one. Behind the API's bearer token like every /api/v1 route (the console reads the stream with
 * fetch so it can send the header; EventSource cannot).
 */
import type { ServerResponse } from 'node:http';
import type { FastifyPluginAsync } from 'fastify';
import type { GbcastEvent } from '../../common/contracts.ts';

export interface EventStreamOptions {
  heartbeatMs?: number;
  /** Unsent bytes a client may hold before it is dropped. */
  maxBufferedBytes?: number;
  /** Clients at once; more are answered 503. */
  maxClients?: number;
}

const eventTypes = ['device.online', 'device.offline', 'receiver.receiving', 'receiver.closed', 'streamer.draining'];

export const eventRoutes: FastifyPluginAsync<EventStreamOptions> = async (app, options) => {
  const signaling = app.signaling;
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  const maxBufferedBytes = options.maxBufferedBytes ?? 256 * 1024;
  const maxClients = options.maxClients ?? 1000;
  const clients = new Set<ServerResponse>();
  const stats = signaling.stats;

  const drop = (res: ServerResponse, slow: boolean) => {
    if (!clients.delete(res)) return;
    stats.eventClients = clients.size;
    if (slow) stats.eventClientsDropped++;
    if (clients.size === 0) stopFanOut();
    res.destroy();
  };

  const send = (res: ServerResponse, chunk: string) => {
    if (res.writableLength > maxBufferedBytes) {
      drop(res, true);
      return;
    }
    res.write(chunk);
  };

  const onEvent = (event: GbcastEvent) => {
    const chunk = `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
    for (const res of clients) send(res, chunk);
  };
  let heartbeat: NodeJS.Timeout | undefined;
  const startFanOut = () => {
    if (heartbeat) return;
    signaling.events.on('event', onEvent);
    heartbeat = setInterval(() => {
      const chunk = `: keepalive ${Date.now()}\n\n`;
      for (const res of clients) send(res, chunk);
    }, heartbeatMs);
    heartbeat.unref();
  };
  const stopFanOut = () => {
    if (!heartbeat) return;
    signaling.events.off('event', onEvent);
    clearInterval(heartbeat);
    heartbeat = undefined;
  };

  app.addHook('preClose', async () => {
    for (const res of [...clients]) drop(res, false);
  });

  app.get(
    '/events',
    {
      schema: {
        summary: 'Server-Sent Events of every installation event',
        description:
          `text/event-stream; each message has \`event:\` one of ${eventTypes.join(', ')} and \`data:\` the event as JSON ` +
          `(see common/contracts.ts GbcastEvent: {type, at, deviceId | streamerId, streamId, reason, …}). A comment line ` +
          `every ${heartbeatMs / 1000} s. A client that does not keep up is disconnected; after a reconnect, read the lists again (events may have been missed).`,
        response: {
          200: { description: 'the event stream', content: { 'text/event-stream': { schema: { type: 'string' } } } },
          503: { description: 'too many event clients', type: 'object', properties: { error: { type: 'string' }, reason: { type: 'string' } } },
        },
      },
    },
    async (req, reply) => {
      if (clients.size >= maxClients) return reply.code(503).send({ error: 'too many event stream clients', reason: 'too-many-clients' });
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-store',
        'x-accel-buffering': 'no',
        connection: 'keep-alive',
      });
      res.socket?.setNoDelay(true);
      clients.add(res);
      stats.eventClients = clients.size;
      startFanOut();
      res.write(`retry: 3000\n: connected ${Date.now()}\n\n`);
      const gone = () => drop(res, false);
      req.raw.once('close', gone);
      res.once('close', gone);
      res.once('error', gone);
    },
  );
};
