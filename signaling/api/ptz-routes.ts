/**
 * PTZ: POST /api/v1/devices/:deviceId/channels/:channelId/ptz {action, speed}
 * action: left, right, up, down, up-left, up-right, down-left, down-right, zoom-in, zoom-out, stop;
 * speed 0–255 (pan/tilt; zoom uses it scaled to 0–15). Answers the device's status code.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { PtzMove } from '../../common/manscdp/ptz.ts';

const id = { type: 'string', pattern: '^[0-9A-Za-z_.-]{1,64}$' } as const;
const actions = ['left', 'right', 'up', 'down', 'up-left', 'up-right', 'down-left', 'down-right', 'zoom-in', 'zoom-out', 'stop'] as const;
type PtzAction = (typeof actions)[number];

export function ptzMove(action: PtzAction, speed: number): PtzMove {
  if (action === 'stop') return { stop: true };
  if (action === 'zoom-in') return { zoom: 'in', speed };
  if (action === 'zoom-out') return { zoom: 'out', speed };
  const [first, second] = action.split('-');
  const move: PtzMove = { speed };
  for (const part of [first, second]) {
    if (part === 'left' || part === 'right') move.pan = part;
    else if (part === 'up' || part === 'down') move.tilt = part;
  }
  return move;
}

export const ptzRoutes: FastifyPluginAsync = async (app) => {
  const signaling = app.signaling;
  app.post<{ Params: { deviceId: string; channelId: string }; Body: { action: PtzAction; speed?: number } }>(
    '/devices/:deviceId/channels/:channelId/ptz',
    {
      schema: {
        params: { type: 'object', properties: { deviceId: id, channelId: id } },
        body: {
          type: 'object',
          required: ['action'],
          additionalProperties: false,
          properties: { action: { type: 'string', enum: actions }, speed: { type: 'integer', minimum: 0, maximum: 255, default: 128 } },
        },
        response: {
          200: { type: 'object', properties: { status: { type: 'integer' }, ptzCmd: { type: 'string' } } },
          '4xx': { type: 'object', properties: { error: { type: 'string' }, reason: { type: 'string' } } },
        },
      },
    },
    async (req, reply) => {
      const device = await signaling.store.get(req.params.deviceId);
      if (!device) return reply.code(404).send({ error: `no device ${req.params.deviceId}`, reason: 'unknown-device' });
      if (!device.online) return reply.code(409).send({ error: `device ${req.params.deviceId} is offline`, reason: 'device-offline' });
      const move = ptzMove(req.body.action, req.body.speed ?? 128);
      const { status, ptzCmd } = await signaling.queries.ptz(device.id, req.params.channelId, { protocol: device.transport, address: device.ip, port: device.port }, move);
      if (status < 200 || status >= 300) {
        return reply.code(502).send({ error: `the device answered the PTZ command with ${status || 'nothing'}`, reason: 'device-refused' });
      }
      return { status, ptzCmd };
    },
  );
};
