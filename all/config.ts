/**
 * Options of `gbcast all`: signaling's and the streamer's in one set. Where both parts had the same
 * option it is one here (address, HTTP host, Redis, log level), except the HTTP port: signaling
 * keeps --http-port (console and API), the streamer gets --streamer-http-port.
 */
import { opt, type OptionSpec } from '../common/config.ts';
import { signalingOptions } from '../signaling/config.ts';
import { streamerOptions } from '../streamer/config.ts';

const port = { min: 0, max: 65535 } as const;

function omit<T extends OptionSpec, K extends keyof T>(spec: T, ...keys: K[]): Omit<T, K> {
  const out: Record<string, unknown> = { ...spec };
  for (const k of keys) delete out[k as string];
  return out as Omit<T, K>;
}

export const allOptions = {
  ...omit(signalingOptions, 'redisUrl', 'httpPort', 'publicAddress', 'password'),
  ...omit(streamerOptions, 'httpPort', 'httpHost', 'publicAddress', 'redisUrl', 'redisPrefix', 'logLevel'),
  httpPort: opt.int({ help: 'Port of the console, the public HTTP API, and signaling\'s /metrics and health.', default: 8080, ...port }),
  streamerHttpPort: opt.int({ help: 'Port of the streamer\'s HTTP-FLV, internal API, /metrics and health.', default: 8081, ...port }),
  publicAddress: opt.string({
    help: 'Address devices reach this machine at: in SIP headers and as the media address in the SDP. Defaults to the first non-internal IPv4 address.',
    defaultText: 'first non-internal IPv4 address',
  }),
  password: opt.string({
    help: 'Global device password (devices without their own credential). When unset, a random one is made and logged at start.',
    defaultText: 'random, logged at start',
    secret: true,
  }),
  redisUrl: opt.string({
    help: 'Redis URL: with it this process is one node of a cluster; without it every device, stream and load record is kept in this process (and lost when it stops).',
  }),
  demo: opt.boolean({ help: 'Also run simulated cameras in this process (they register like real ones and stream a test pattern).', default: false }),
  demoCameras: opt.int({ help: 'Demo: how many simulated cameras.', default: 4, min: 1, max: 1000 }),
  demoChannels: opt.int({ help: 'Demo: channels per simulated camera.', default: 2, min: 1, max: 64 }),
  demoVideo: opt.string({
    help: 'Demo: Annex-B H.264/H.265 file the cameras stream; defaults to the bundled test pattern (demo/media).',
    defaultText: 'the bundled test pattern',
  }),
  demoAudio: opt.string({
    help: 'Demo: audio of the cameras: an ADTS AAC file, pcma or pcmu (a tone; browsers cannot play G.711 from HTTP-FLV), or none; defaults to the bundled beep.',
    defaultText: 'the bundled beep (AAC)',
  }),
  demoDeviceId: opt.string({ help: 'Demo: ID of the first simulated camera (the others count up).', default: '34020000001320000001' }),
};
