/**
 * The streamer's internal API (inside the cluster; signaling is its client).
 *   POST   /api/v1/receivers                  open a receiver → public address and port for the SDP
 *   PUT    /api/v1/receivers/:streamId/peer   the camera's address (tcp-active: start dialing)
 *   GET    /api/v1/receivers[/:streamId]      state and counters
 *   DELETE /api/v1/receivers/:streamId        close it
 */
import type { FastifyError, FastifyPluginAsync } from 'fastify';
import type { OpenReceiverRequest, PeerAddress } from '../../common/contracts.ts';
import { StreamerApiError } from '../streamer.ts';

const streamIdSchema = { type: 'string', pattern: '^[A-Za-z0-9_.:-]{1,128}$' } as const;

const peerSchema = {
  type: 'object',
  required: ['ip'],
  additionalProperties: false,
  properties: {
    ip: { type: 'string', minLength: 1, maxLength: 64 },
    port: { type: 'integer', minimum: 1, maximum: 65535 },
  },
} as const;

const openBodySchema = {
  type: 'object',
  required: ['streamId', 'ssrc', 'transport'],
  additionalProperties: false,
  properties: {
    streamId: streamIdSchema,
    ssrc: { type: 'string', pattern: '^[0-9]{1,10}$' },
    transport: { type: 'string', enum: ['udp', 'tcp-passive', 'tcp-active'] },
    rtmpUrl: { type: 'string', minLength: 8, maxLength: 2048 },
    hevc: { type: 'string', enum: ['legacy', 'enhanced'] },
    peer: peerSchema,
  },
} as const;

const openResponseSchema = {
  type: 'object',
  properties: {
    streamId: { type: 'string' },
    ssrc: { type: 'string' },
    transport: { type: 'string' },
    address: { type: 'string' },
    port: { type: 'integer' },
  },
} as const;

const errorSchema = {
  type: 'object',
  properties: { error: { type: 'string' }, message: { type: 'string' } },
} as const;

export const receiverRoutes: FastifyPluginAsync = async (app) => {
  const streamer = app.streamer;

  app.setErrorHandler((err: FastifyError | StreamerApiError, _req, reply) => {
    if (err instanceof StreamerApiError) {
      return reply.code(err.statusCode).send({ error: 'request failed', message: err.message });
    }
    if ('validation' in err && err.validation) {
      return reply.code(400).send({ error: 'invalid request', message: err.message });
    }
    streamer.logger.error({ err }, 'internal API error');
    return reply.code(err.statusCode ?? 500).send({ error: 'internal error', message: err.message });
  });

  app.post<{ Body: OpenReceiverRequest }>(
    '/receivers',
    { schema: { body: openBodySchema, response: { 200: openResponseSchema, '4xx': errorSchema, '5xx': errorSchema } } },
    async (req) => streamer.openReceiver(req.body),
  );

  app.put<{ Params: { streamId: string }; Body: PeerAddress }>(
    '/receivers/:streamId/peer',
    { schema: { params: { type: 'object', properties: { streamId: streamIdSchema } }, body: peerSchema } },
    async (req, reply) => {
      streamer.setPeer(req.params.streamId, req.body);
      return reply.code(204).send();
    },
  );

  app.get('/receivers', async () => ({ receivers: [...streamer.table.all()].map((r) => r.info()) }));

  app.get<{ Params: { streamId: string } }>('/receivers/:streamId', async (req, reply) => {
    const r = streamer.table.get(req.params.streamId);
    if (!r) return reply.code(404).send({ error: 'not found', message: `no receiver for stream ${req.params.streamId}` });
    return r.info();
  });

  app.delete<{ Params: { streamId: string } }>('/receivers/:streamId', async (req, reply) => {
    const found = await streamer.closeReceiver(req.params.streamId);
    if (!found) return reply.code(404).send({ error: 'not found', message: `no receiver for stream ${req.params.streamId}` });
    return reply.code(204).send();
  });
};
