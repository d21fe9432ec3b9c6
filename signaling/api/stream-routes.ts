/**
 * Streams and streamers.
 *   POST   /api/v1/devices/:deviceId/channels/:channelId/play   {rtmpUrl?, transport?} → the stream (idempotent per channel)
 *   GET    /api/v1/streams                                       running streams, with live numbers from their streamers
 *   DELETE /api/v1/streams/:streamId                             stop: BYE to the device, receiver closed
 *   GET    /api/v1/streamers                                     the streamer pool(s) from the load table
 *   GET    /api/v1/summary                                       counts for a dashboard: devices, online, streams, streamers
 * Errors answer {error, reason}: reason is a stable word (device-offline, no-streamer, invite-timeout,
 * invite-486, streamer-unreachable, …) for programs; error is for people.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { MediaTransport } from '../../common/contracts.ts';
import { PlayError } from '../streams.ts';
import { StreamNumbersReader } from './stream-numbers.ts';

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
    streamer: { type: 'object', properties: { id: { type: 'string' }, address: { type: 'string' }, port: { type: 'integer' } } },
    ageMs: { type: 'integer', description: 'time since the play started' },
    bitrateIn: { type: 'integer', description: 'media bits/s the streamer receives (absent when the streamer did not answer)' },
    bytesIn: { type: 'integer' },
    viewers: { type: 'integer', description: 'flvViewers + rtmpViewers' },
    flvViewers: { type: 'integer', description: 'HTTP-FLV viewers on the streamer' },
    rtmpViewers: { type: 'integer', description: 'RTMP viewers counted by the play hooks' },
    receiverState: { type: 'string', enum: ['waiting', 'receiving'] },
    videoCodec: { type: 'string' },
    audioCodec: { type: 'string' },
    lastPacketAt: { type: 'integer' },
    streamerReachable: { type: 'boolean', description: 'false when the streamer did not answer within 1 s: its numbers are absent' },
  },
} as const;

const streamerSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    pool: { type: 'string' },
    address: { type: 'string', description: 'public media address' },
    port: { type: 'integer', description: 'public RTP port (UDP and TCP)' },
    url: { type: 'string', description: 'internal API base URL' },
    activeStreams: { type: 'integer' },
    bitrateIn: { type: 'integer' },
    cpuPercent: { type: 'number' },
    draining: { type: 'boolean' },
    updatedAt: { type: 'integer' },
    version: { type: 'string' },
  },
} as const;

export const streamRoutes: FastifyPluginAsync = async (app) => {
  const signaling = app.signaling;

  app.post<{ Params: { deviceId: string; channelId: string }; Body: { rtmpUrl?: string; transport?: MediaTransport } | undefined }>(
    '/devices/:deviceId/channels/:channelId/play',
    {
      // `curl -X POST …/play` sends no body: that is a play with the defaults.
      preValidation: async (req) => {
        req.body ??= {};
      },
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

  const numbers = new StreamNumbersReader({ timeoutMs: 1000 });
  app.get(
    '/streams',
    {
      schema: {
        summary: 'Running streams, with live numbers',
        description: 'Each distinct streamer is asked once for its receivers (1 s timeout); a streamer that does not answer leaves its streams\' numbers absent.',
        response: { 200: { type: 'object', properties: { streams: { type: 'array', items: streamSchema } } } },
      },
    },
    async () => {
      const sessions = await signaling.streamStore.list();
      const live = await numbers.read(sessions, (s) => signaling.streamStore.viewerCount(s.deviceId, s.channelId));
      return {
        streams: sessions.map((s) => ({
          streamId: s.streamId,
          deviceId: s.deviceId,
          channelId: s.channelId,
          ssrc: s.ssrc,
          transport: s.transport,
          streamerId: s.streamerId,
          rtmpUrl: s.rtmpUrl,
          flvUrl: s.flvUrl,
          state: s.state,
          createdAt: s.createdAt,
          streamer: { id: s.streamerId, address: s.streamerAddress, port: s.streamerPort },
          ...live.get(s.streamId),
        })),
      };
    },
  );

  app.delete<{ Params: { streamId: string } }>(
    '/streams/:streamId',
    {
      schema: {
        summary: 'Stop a stream: BYE to the device, receiver closed',
        description: 'A stream of an always-on channel is started again by the next check of its device (--always-on-check-ms); take the channel out of the device\'s configuration to stop keeping it.',
        params: { type: 'object', properties: { streamId: { type: 'string', pattern: '^[0-9A-Za-z_.:-]{1,128}$' } } },
        response: { 404: errorSchema },
      },
    },
    async (req, reply) => {
      const ended = await signaling.streams.end(req.params.streamId, 'api');
      if (!ended) return reply.code(404).send({ error: `no stream ${req.params.streamId}`, reason: 'unknown-stream' });
      return reply.code(204).send();
    },
  );

  app.get(
    '/streamers',
    { schema: { summary: 'Live streamers of every pool', response: { 200: { type: 'object', properties: { streamers: { type: 'array', items: streamerSchema } } } } } },
    async () => ({ streamers: await signaling.streamStore.listStreamers() }),
  );

  app.get(
    '/summary',
    {
      schema: {
        summary: 'Counts for a dashboard',
        response: {
          200: {
            type: 'object',
            properties: {
              devices: { type: 'object', properties: { total: { type: 'integer' }, online: { type: 'integer' } } },
              streams: { type: 'integer' },
              streamers: { type: 'object', properties: { total: { type: 'integer' }, draining: { type: 'integer' } } },
            },
          },
        },
      },
    },
    async () => {
      const [total, online, streams, streamers] = await Promise.all([
        signaling.store.count(),
        signaling.store.countOnline(),
        signaling.streamCount(),
        signaling.streamStore.listStreamers(),
      ]);
      return { devices: { total, online }, streams, streamers: { total: streamers.length, draining: streamers.filter((s) => s.draining).length } };
    },
  );
};
