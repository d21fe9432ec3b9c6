/**
 * The public HTTP API under /api/v1: devices, streams, streamers, the event stream. With --api-token every route
 * needs `Authorization: Bearer <token>` (health and metrics stay open for probes and Prometheus).
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import { deviceRoutes } from './device-routes.ts';
import { streamRoutes } from './stream-routes.ts';
import { ptzRoutes } from './ptz-routes.ts';
import { eventRoutes } from './event-routes.ts';

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
  await app.register(deviceRoutes);
  await app.register(streamRoutes);
  await app.register(ptzRoutes);
  await app.register(eventRoutes);
};
