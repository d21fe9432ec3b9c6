/**
 * Streams and streamers.
 *   POST   /api/v1/devices/:deviceId/channels/:channelId/play   {rtmpUrl?, transport?} → the stream (idempotent per channel)
 *   GET    /api/v1/streams                                       running streams
 *   DELETE /api/v1/streams/:streamId                             stop: BYE to the device, receiver closed
 *   GET    /api/v1/streamers                                     the streamer pool(s) from the load table
 * Errors answer {error, reason}: reason is a stable word (device-offline, no-streamer, invite-timeout,
 * invite-486, streamer-unreachable, …) for programs; error is for people.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { MediaTransport } from '../../common/contracts.ts';
import { PlayError } from '../streams.ts';

const id = { type: 'string', pattern: '^[0-9A-Za-z_.-]{1,64}$' } as const;
const errorSchema = { type: 'object', properties: { error: { type: 'string' }, reason: { type: 'string' } } } as const;

const playResponse = {
  type: 'object',
  properties: {
    streamId: { type: 'string' },
    ssrc: { type: 'string' },
    rtmpUrl: { type: 'string' },
    flvUrl: { type: 'string' },
    transport: { type: 'string' },
    reused: { type: 'boolean' },
    streamer: { type: 'object', properties: { id: { type: 'string' }, address: { type: 'string' }, port: { type: 'integer' } } },
  },
} as const;

const streamSchema = {
  type: 'object',
  properties: {
    streamId: { type: 'string' },
    deviceId: { type: 'string' },
    channelId: { type: 'string' },
    ssrc: { type: 'string' },
    transport: { type: 'string' },
    streamerId: { type: 'string' },
    rtmpUrl: { type: 'string' },
    flvUrl: { type: 'string' },
    state: { type: 'string' },
    createdAt: { type: 'integer' },
  },
} as const;

export const streamRoutes: FastifyPluginAsync = async (app) => {
  const signaling = app.signaling;

  app.post<{ Params: { deviceId: string; channelId: string }; Body: { rtmpUrl?: string; transport?: MediaTransport } | undefined }>(
    '/devices/:deviceId/channels/:channelId/play',
    {
      schema: {
        params: { type: 'object', properties: { deviceId: id, channelId: id } },
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            rtmpUrl: { type: 'string', pattern: '^rtmps?://', maxLength: 2048 },
            transport: { type: 'string', enum: ['udp', 'tcp-passive', 'tcp-active'] },
          },
        },
        response: { 200: playResponse, '4xx': errorSchema, '5xx': errorSchema },
      },
    },
    async (req, reply) => {
      try {
        return await signaling.streams.play(req.params.deviceId, req.params.channelId, req.body ?? {});
      } catch (err) {
        if (err instanceof PlayError) return reply.code(err.status).send({ error: err.message, reason: err.reason });
        throw err;
      }
    },
  );

  app.get('/streams', { schema: { response: { 200: { type: 'object', properties: { streams: { type: 'array', items: streamSchema } } } } } }, async () => ({
    streams: await signaling.streamStore.list(),
  }));

  app.delete<{ Params: { streamId: string } }>(
    '/streams/:streamId',
    { schema: { params: { type: 'object', properties: { streamId: { type: 'string', pattern: '^[0-9A-Za-z_.:-]{1,128}$' } } }, response: { 404: errorSchema } } },
    async (req, reply) => {
      const ended = await signaling.streams.end(req.params.streamId, 'api');
      if (!ended) return reply.code(404).send({ error: `no stream ${req.params.streamId}`, reason: 'unknown-stream' });
      return reply.code(204).send();
    },
  );

  app.get('/streamers', async () => ({ streamers: await signaling.streamStore.listStreamers() }));
};
