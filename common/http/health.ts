import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';

export interface Readiness {
  ready: boolean;
  /** Why the part is not ready (shown in the /readyz body). */
  reason?: string;
}

/**
 * `/healthz` (the process serves requests: liveness must not depend on Redis or peers; `identity`
 * is added to its answer), `/readyz` (the part can do its job now) and `/metrics` (Prometheus text
 * format).
 */
export function registerHealthRoutes(app: FastifyInstance, registry: Registry, readiness: () => Readiness, identity: Record<string, unknown> = {}): void {
  const healthy = { status: 'ok', ...identity };
  app.get('/healthz', async () => healthy);
  app.get('/readyz', async (_req, reply) => {
    const r = readiness();
    reply.code(r.ready ? 200 : 503);
    return r.ready ? { status: 'ready' } : { status: 'not ready', reason: r.reason ?? 'unknown' };
  });
  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', registry.contentType);
    return registry.metrics();
  });
}
