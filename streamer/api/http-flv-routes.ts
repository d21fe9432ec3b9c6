/** GET /live/{streamId}.flv: HTTP-FLV for browsers and players, any number of viewers per stream. */
import type { FastifyPluginAsync } from 'fastify';
import { serveHttpFlv } from '../http-flv/serve-http-flv.ts';

export const httpFlvRoutes: FastifyPluginAsync = async (app) => {
  const streamer = app.streamer;
  app.get<{ Params: { file: string }; Querystring: { hevc?: string } }>('/live/:file', async (req, reply) => {
    const match = /^(.+)\.flv$/.exec(req.params.file);
    const receiver = match ? streamer.table.get(match[1]) : undefined;
    if (!receiver) return reply.code(404).send({ error: 'not found', message: 'no such stream on this streamer' });
    const hevc = req.query.hevc === 'enhanced' || req.query.hevc === 'legacy' ? req.query.hevc : undefined;
    reply.hijack();
    serveHttpFlv(req.raw, reply.raw, receiver.viewersFor(hevc));
  });
};
