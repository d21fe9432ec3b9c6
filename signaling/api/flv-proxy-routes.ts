/**
 * GET /api/v1/streams/{streamId}/live.flv: a stream's HTTP-FLV through signaling.
 *
 * The streamer's own `flvUrl` is its address inside the cluster (a pod IP), which a browser
 * outside cannot reach; this route is on the same origin as the console and behind the same
 * token, so the console plays wherever it is opened from. Bytes are piped as they come: a viewer
 * that does not read stops the read from the streamer, whose own slow-viewer rules (skip to the
 * next keyframe, then drop) apply; nothing is buffered here beyond the socket.
 */
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { FastifyPluginAsync } from 'fastify';

const errorSchema = { type: 'object', properties: { error: { type: 'string' }, reason: { type: 'string' } } } as const;

export const flvProxyRoutes: FastifyPluginAsync = async (app) => {
  const signaling = app.signaling;
  app.get<{ Params: { streamId: string }; Querystring: { hevc?: 'legacy' | 'enhanced' } }>(
    '/streams/:streamId/live.flv',
    {
      schema: {
        description: 'The stream as HTTP-FLV, relayed from its streamer (for browsers that cannot reach the streamer itself).',
        params: { type: 'object', properties: { streamId: { type: 'string', pattern: '^[0-9A-Za-z_.:-]{1,128}$' } } },
        querystring: { type: 'object', properties: { hevc: { type: 'string', enum: ['legacy', 'enhanced'] } } },
        response: { 404: errorSchema, 502: errorSchema },
      },
    },
    async (req, reply) => {
      const session = await signaling.streamStore.get(req.params.streamId);
      if (!session) return reply.code(404).send({ error: `no stream ${req.params.streamId}`, reason: 'unknown-stream' });
      const upstreamAbort = new AbortController();
      const query = req.query.hevc ? `?hevc=${req.query.hevc}` : '';
      let upstream: Response;
      // The timeout covers the answer only (a signal on fetch would also cut the body that follows).
      const answerTimer = setTimeout(() => upstreamAbort.abort(new Error('no answer in time')), signaling.config.streamerTimeoutMs);
      try {
        upstream = await fetch(`${session.streamerUrl}/live/${encodeURIComponent(session.streamId)}.flv${query}`, { signal: upstreamAbort.signal });
      } catch (err) {
        return reply.code(502).send({ error: `streamer ${session.streamerId} did not answer: ${(err as Error).message}`, reason: 'streamer-unreachable' });
      } finally {
        clearTimeout(answerTimer);
      }
      if (!upstream.ok || !upstream.body) {
        await upstream.body?.cancel();
        return reply.code(502).send({ error: `streamer ${session.streamerId} answered ${upstream.status}`, reason: 'streamer-refused' });
      }
      signaling.stats.flvRelayViewers++;
      const body = Readable.fromWeb(upstream.body as WebReadableStream<Uint8Array>);
      const done = () => {
        upstreamAbort.abort();
        body.destroy();
      };
      let counted = true;
      const uncount = () => {
        if (counted) signaling.stats.flvRelayViewers--;
        counted = false;
      };
      req.raw.once('close', () => {
        uncount();
        done();
      });
      body.once('error', uncount);
      return reply.header('content-type', 'video/x-flv').header('cache-control', 'no-store').send(body);
    },
  );
};
