/**
 * Play hooks of RTMP servers, for on-demand streams (see on-demand.ts). Under /hooks, outside the
 * bearer-token API: RTMP servers cannot send headers, so with --api-token the hook URL carries it
 * as `?token=…`.
 *   nginx-rtmp:   on_play / on_play_done  → POST /hooks/nginx-rtmp/on_play, /hooks/nginx-rtmp/on_play_done
 *                 (form-encoded: app, name, tcurl, addr, …; 2xx lets the viewer play, 4xx refuses)
 *   SRS:          http_hooks on_play / on_stop → POST /hooks/srs/on_play, /hooks/srs/on_stop
 *                 (JSON: action, app, stream, tcUrl; answers {"code":0} to allow)
 *   ZLMediaKit:   hook.on_play / hook.on_stream_none_reader → POST /hooks/zlm/on_play, /hooks/zlm/on_stream_none_reader
 *                 (JSON: app, stream, schema; answers {"code":0})
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { HookResult, HookViewer } from '../on-demand.ts';

function tokenOk(req: FastifyRequest, token: string | undefined): boolean {
  if (!token) return true;
  const given = Buffer.from(String((req.query as Record<string, unknown>).token ?? ''));
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}

function field(body: unknown, ...names: string[]): string | undefined {
  if (!body || typeof body !== 'object') return undefined;
  for (const n of names) {
    const v = (body as Record<string, unknown>)[n];
    if (typeof v === 'string' && v.length > 0 && v.length <= 1024) return v;
  }
  return undefined;
}

export const hookRoutes: FastifyPluginAsync = async (app) => {
  const signaling = app.signaling;
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 16 * 1024 }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(String(body))));
  });
  app.addHook('onRequest', async (req, reply) => {
    if (!tokenOk(req, signaling.config.apiToken)) await reply.code(401).send({ code: 401, error: 'token required' });
  });

  const viewerOf = (body: unknown): HookViewer | undefined => {
    const name = field(body, 'name', 'stream');
    if (!name || !/^[0-9A-Za-z_.-]{1,128}$/.test(name)) return undefined;
    return { name, tcUrl: field(body, 'tcurl', 'tcUrl') };
  };

  const joined = async (req: FastifyRequest, reply: FastifyReply, style: 'nginx' | 'json') => {
    const viewer = viewerOf(req.body);
    if (!viewer) return reply.code(400).send(style === 'nginx' ? 'bad stream name' : { code: 400, msg: 'bad stream name' });
    const result: HookResult = await signaling.onDemand.viewerJoined(viewer);
    if (style === 'json') return reply.send(result.ok ? { code: 0, msg: 'success' } : { code: result.status, msg: result.message });
    return result.ok ? reply.code(200).send('ok') : reply.code(result.status >= 500 ? 404 : result.status).send(result.message);
  };
  const left = async (req: FastifyRequest, reply: FastifyReply, style: 'nginx' | 'json') => {
    const viewer = viewerOf(req.body);
    if (viewer) await signaling.onDemand.viewerLeft(viewer);
    return style === 'json' ? reply.send({ code: 0, msg: 'success' }) : reply.code(200).send('ok');
  };

  app.post('/nginx-rtmp/on_play', (req, reply) => joined(req, reply, 'nginx'));
  app.post('/nginx-rtmp/on_play_done', (req, reply) => left(req, reply, 'nginx'));
  app.post('/srs/on_play', (req, reply) => joined(req, reply, 'json'));
  app.post('/srs/on_stop', (req, reply) => left(req, reply, 'json'));
  app.post('/zlm/on_play', (req, reply) => joined(req, reply, 'json'));
  // ZLMediaKit asks whether to close a stream nobody reads: we stop it ourselves after the idle time.
  app.post('/zlm/on_stream_none_reader', (req, reply) => left(req, reply, 'json').then(() => reply.send({ code: 0, close: false })));
};
