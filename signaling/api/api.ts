/**
 * The public HTTP API under /api/v1: devices, streams, streamers, the event stream. With --api-token every route
 * needs `Authorization: Bearer <token>` (health and metrics stay open for probes and Prometheus).
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyError, FastifyPluginAsync } from 'fastify';
import { deviceRoutes } from './device-routes.ts';
import { streamRoutes } from './stream-routes.ts';
import { ptzRoutes } from './ptz-routes.ts';
import { eventRoutes } from './event-routes.ts';
import { flvProxyRoutes } from './flv-proxy-routes.ts';

function tokenMatches(header: string | undefined, token: string): boolean {
  if (!header?.startsWith('Bearer ')) return false;
  const given = Buffer.from(header.slice(7).trim());
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}

export const publicApi: FastifyPluginAsync = async (app) => {
  const token = app.signaling.config.apiToken;
  if (token) {
    app.addHook('onRequest', async (req, reply) => {
      if (!tokenMatches(req.headers.authorization, token)) {
        await reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'a bearer token is required', reason: 'unauthorized' });
      }
    });
  }
  // A request the schema refuses says what is wrong (the response schemas would otherwise strip the message).
  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err.validation || (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500)) {
      return reply.code(err.statusCode ?? 400).send({ error: err.message, reason: 'invalid-request' });
    }
    app.signaling.logger.error({ err, url: req.url }, 'API request failed');
    return reply.code(500).send({ error: 'internal error', reason: 'internal' });
  });
  await app.register(deviceRoutes);
  await app.register(streamRoutes);
  await app.register(ptzRoutes);
  await app.register(eventRoutes);
  await app.register(flvProxyRoutes);
};
