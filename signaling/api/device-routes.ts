/**
 * Devices and their channels, as Redis knows them.
 *   GET /api/v1/devices?after=&limit=         devices in id order, paged by the last id seen
 *       &q=&online=true|false                 …only those matching (see searchDevices)
 *   GET /api/v1/devices/:deviceId             one device
 *   GET /api/v1/devices/:deviceId/channels    its channels (from its last complete catalog)
 *   PUT /api/v1/devices/:deviceId/credential  its own SIP password (the operator writes it from a GbCamera Secret)
 *   DELETE /api/v1/devices/:deviceId/credential
 *   GET|PUT|DELETE /api/v1/devices/:deviceId/config  its configuration: pool, name, transport, always-on channels
 *                                             (the operator writes it from a GbCamera; this is for other installs)
 */
import type { FastifyPluginAsync } from 'fastify';
import { mediaTransports } from '../../common/contracts.ts';
import type { DeviceConfig } from '../../common/store/device-store.ts';

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
    status: { type: 'string' },
    recording: { type: 'string' },
    deviceTime: { type: 'string' },
  },
} as const;

const errorSchema = { type: 'object', properties: { error: { type: 'string' }, reason: { type: 'string' } } } as const;

const configSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    pool: { type: 'string', pattern: '^[0-9A-Za-z_.-]{1,63}$', description: 'streamer pool of its streams (default: signaling\'s --default-pool)' },
    name: { type: 'string', maxLength: 256, description: 'display name' },
    transport: { type: 'string', enum: [...mediaTransports], description: 'media transport of a play that names none (default: --default-transport)' },
    alwaysOn: {
      type: 'array',
      maxItems: 256,
      description: 'channels kept streaming while the device is online, started again elsewhere when their streamer dies or drains',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['channelId'],
        properties: {
          channelId: { type: 'string', pattern: '^[0-9A-Za-z_.-]{1,64}$' },
          rtmpUrl: { type: 'string', pattern: '^rtmps?://', maxLength: 2048, description: 'where it is pushed (default: --rtmp-url-template)' },
        },
      },
    },
  },
} as const;

export interface DeviceFilter {
  /** An id prefix, or a case-insensitive part of the name, manufacturer, model or IP address. */
  q?: string;
  online?: boolean;
}

/** What a search looks at in a device record (any store's). */
export interface SearchableDevice {
  id: string;
  online: boolean;
  ip: string;
  name?: string;
  manufacturer?: string;
  model?: string;
}

export function deviceMatches(device: SearchableDevice, filter: DeviceFilter): boolean {
  if (filter.online !== undefined && device.online !== filter.online) return false;
  if (!filter.q) return true;
  const q = filter.q.toLowerCase();
  if (device.id.toLowerCase().startsWith(q)) return true;
  for (const text of [device.name, device.manufacturer, device.model, device.ip]) if (text?.toLowerCase().includes(q)) return true;
  return false;
}

export interface DeviceSearchResult<D> {
  devices: D[];
  /** Where to continue (the last id looked at); absent when the end of the list was reached. */
  next?: string;
  /** Devices looked at. */
  scanned: number;
}

/**
 * Filters the store's id-ordered pages: works with any store that can list in id order, and costs
 * at most `scanLimit` records per call. A call that reaches the limit before it found `limit`
 * matches answers what it found (maybe none) and a `next` cursor, so the client continues.
 */
export async function searchDevices<D extends SearchableDevice>(
  list: (after: string | undefined, limit: number) => Promise<D[]>,
  filter: DeviceFilter,
  after: string | undefined,
  limit: number,
  scanLimit = 20_000,
  pageSize = 500,
): Promise<DeviceSearchResult<D>> {
  const devices: D[] = [];
  let cursor = after;
  let scanned = 0;
  while (scanned < scanLimit) {
    const want = Math.min(pageSize, scanLimit - scanned);
    const page = await list(cursor, want);
    for (const device of page) {
      scanned++;
      cursor = device.id;
      if (!deviceMatches(device, filter)) continue;
      devices.push(device);
      if (devices.length === limit) return { devices, next: device.id, scanned };
    }
    if (page.length < want) return { devices, scanned };
  }
  return { devices, next: cursor, scanned };
}

export const deviceRoutes: FastifyPluginAsync = async (app) => {
  const signaling = app.signaling;

  app.get<{ Querystring: { after?: string; limit?: number; q?: string; online?: boolean } }>(
    '/devices',
    {
      schema: {
        summary: 'Devices in id order, optionally filtered',
        description:
          'Paged by id: pass the answer\'s `next` as `after` for the next page (no `next`: the end). With `q` or `online`, each call ' +
          'looks at no more than 20,000 devices: it may answer fewer than `limit` (even none) with a `next` to continue from.',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            after: deviceId,
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
            q: { type: 'string', maxLength: 128, description: 'an id prefix, or part of the name, manufacturer, model or IP address (any case)' },
            online: { type: 'boolean', description: 'only online (true) or offline (false) devices' },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              devices: { type: 'array', items: deviceSchema },
              next: { type: 'string' },
              scanned: { type: 'integer', description: 'devices looked at (filtered calls)' },
            },
          },
        },
      },
    },
    async (req) => {
      const limit = req.query.limit ?? 100;
      const q = req.query.q?.trim();
      if (!q && req.query.online === undefined) {
        const devices = await signaling.store.list(req.query.after, limit);
        return { devices, ...(devices.length === limit ? { next: devices[devices.length - 1].id } : {}) };
      }
      return searchDevices((after, n) => signaling.store.list(after, n), { q, online: req.query.online }, req.query.after, limit);
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

  app.get<{ Params: { deviceId: string } }>(
    '/devices/:deviceId/config',
    {
      schema: {
        summary: 'The device\'s configuration',
        params: { type: 'object', properties: { deviceId } },
        response: { 200: { ...configSchema, required: ['alwaysOn'] }, 404: errorSchema },
      },
    },
    async (req, reply) => {
      const config = await signaling.store.getConfig(req.params.deviceId);
      if (!config) return reply.code(404).send({ error: `no configuration for device ${req.params.deviceId}` });
      return config;
    },
  );

  app.put<{ Params: { deviceId: string }; Body: Partial<DeviceConfig> }>(
    '/devices/:deviceId/config',
    {
      schema: {
        summary: 'Replace the device\'s configuration',
        description:
          'The device need not have registered yet. Always-on channels start within a moment when the device is online. A channel taken out of ' +
          '`alwaysOn` is no longer kept streaming (a running stream goes on until stopped); a new `rtmpUrl`, `pool` or `transport` applies to the next stream.',
        params: { type: 'object', properties: { deviceId } },
        body: configSchema,
        response: { 400: errorSchema },
      },
    },
    async (req, reply) => {
      const body = req.body;
      const alwaysOn = body.alwaysOn ?? [];
      const seen = new Set<string>();
      for (const c of alwaysOn) {
        if (seen.has(c.channelId)) return reply.code(400).send({ error: `channel ${c.channelId} is listed twice in alwaysOn`, reason: 'invalid-request' });
        seen.add(c.channelId);
      }
      const config: DeviceConfig = { ...body, alwaysOn: alwaysOn.map((c) => (c.rtmpUrl ? { channelId: c.channelId, rtmpUrl: c.rtmpUrl } : { channelId: c.channelId })) };
      await signaling.store.setConfig(req.params.deviceId, config);
      return reply.code(204).send();
    },
  );

  app.delete<{ Params: { deviceId: string } }>(
    '/devices/:deviceId/config',
    { schema: { summary: 'Remove the device\'s configuration (defaults apply; no channel is kept streaming)', params: { type: 'object', properties: { deviceId } } } },
    async (req, reply) => {
      await signaling.store.deleteConfig(req.params.deviceId);
      return reply.code(204).send();
    },
  );
};
