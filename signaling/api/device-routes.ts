/**
 * Devices and their channels, as Redis knows them.
 *   GET /api/v1/devices?after=&limit=         devices in id order, paged by the last id seen
 *   GET /api/v1/devices/:deviceId             one device
 *   GET /api/v1/devices/:deviceId/channels    its channels (from its last complete catalog)
 *   PUT /api/v1/devices/:deviceId/credential  its own SIP password (the operator writes it from a GbCamera Secret)
 *   DELETE /api/v1/devices/:deviceId/credential
 */
import type { FastifyPluginAsync } from 'fastify';

const deviceId = { type: 'string', pattern: '^[0-9A-Za-z_.-]{1,64}$' } as const;

const deviceSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    online: { type: 'boolean' },
    transport: { type: 'string' },
    ip: { type: 'string' },
    port: { type: 'integer' },
    registeredAt: { type: 'integer' },
    expiresAt: { type: 'integer' },
    lastKeepaliveAt: { type: 'integer' },
    name: { type: 'string' },
    manufacturer: { type: 'string' },
    model: { type: 'string' },
    firmware: { type: 'string' },
    channelCount: { type: 'integer' },
    pool: { type: 'string' },
    status: { type: 'string' },
    recording: { type: 'string' },
    deviceTime: { type: 'string' },
  },
} as const;

const errorSchema = { type: 'object', properties: { error: { type: 'string' } } } as const;

export const deviceRoutes: FastifyPluginAsync = async (app) => {
  const signaling = app.signaling;

  app.get<{ Querystring: { after?: string; limit?: number } }>(
    '/devices',
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { after: deviceId, limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
        },
        response: {
          200: { type: 'object', properties: { devices: { type: 'array', items: deviceSchema }, next: { type: 'string' } } },
        },
      },
    },
    async (req) => {
      const limit = req.query.limit ?? 100;
      const devices = await signaling.store.list(req.query.after, limit);
      return { devices, ...(devices.length === limit ? { next: devices[devices.length - 1].id } : {}) };
    },
  );

  app.get<{ Params: { deviceId: string } }>(
    '/devices/:deviceId',
    { schema: { params: { type: 'object', properties: { deviceId } }, response: { 200: deviceSchema, 404: errorSchema } } },
    async (req, reply) => {
      const device = await signaling.store.get(req.params.deviceId);
      if (!device) return reply.code(404).send({ error: `no device ${req.params.deviceId}` });
      return device;
    },
  );

  app.get<{ Params: { deviceId: string } }>(
    '/devices/:deviceId/channels',
    {
      schema: {
        params: { type: 'object', properties: { deviceId } },
        response: { 200: { type: 'object', properties: { channels: { type: 'array', items: { type: 'object', additionalProperties: true } } } }, 404: errorSchema },
      },
    },
    async (req, reply) => {
      const device = await signaling.store.get(req.params.deviceId);
      if (!device) return reply.code(404).send({ error: `no device ${req.params.deviceId}` });
      return { channels: await signaling.store.channels(req.params.deviceId) };
    },
  );

  app.put<{ Params: { deviceId: string }; Body: { password: string } }>(
    '/devices/:deviceId/credential',
    {
      schema: {
        params: { type: 'object', properties: { deviceId } },
        body: { type: 'object', required: ['password'], additionalProperties: false, properties: { password: { type: 'string', minLength: 1, maxLength: 128 } } },
      },
    },
    async (req, reply) => {
      await signaling.store.setCredential(req.params.deviceId, req.body.password);
      return reply.code(204).send();
    },
  );

  app.delete<{ Params: { deviceId: string } }>(
    '/devices/:deviceId/credential',
    { schema: { params: { type: 'object', properties: { deviceId } } } },
    async (req, reply) => {
      await signaling.store.deleteCredential(req.params.deviceId);
      return reply.code(204).send();
    },
  );
};
