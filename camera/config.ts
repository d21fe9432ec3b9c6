import { isIP } from 'node:net';
import { opt } from '../common/config.ts';
import { logLevels } from '../common/logger.ts';
import { isGbId, parseServerTarget } from './sip/ids.ts';
import { parseQuirkList, QUIRKS } from './sip/quirks.ts';

const port = { min: 0, max: 65535 } as const;

export const cameraOptions = {
  server: opt.string({
    help: 'The platform to register to: sip:SERVER_ID@HOST[:PORT] (port 5060 by default).',
    required: true,
    check: (v) => {
      const t = parseServerTarget(v);
      return typeof t === 'string' ? t : undefined;
    },
  }),
  deviceId: opt.string({
    help: 'ID of the first device (20 digits); with --count N the others count the last 7 digits up.',
    default: '34020000001320000001',
    check: (v) => (isGbId(v) ? undefined : `must be 20 digits, got "${v}"`),
  }),
  password: opt.string({ help: 'Password of every device (digest authentication).', required: true, secret: true }),
  realm: opt.string({ help: 'SIP domain of the From/To addresses; defaults to the first 10 digits of the server ID.' }),
  video: opt.string({ help: 'Annex-B H.264/H.265 file streamed on every INVITE (loaded once, shared by all calls).' }),
  audio: opt.string({
    help: 'Audio of the stream: none, pcma or pcmu (a 1 kHz tone), or the path of an ADTS AAC file.',
    default: 'none',
  }),
  fps: opt.int({ help: 'Video frame rate of the file.', default: 25, min: 1, max: 120 }),
  loop: opt.boolean({ help: 'Loop the file; --no-loop makes the device hang up (BYE) when it ends.', default: true }),
  channels: opt.int({ help: 'Channels per device (catalog items, INVITE targets).', default: 1, min: 1, max: 100000 }),
  count: opt.int({ help: 'Devices to simulate in this process (devices × channels at most 1,000,000).', default: 1, min: 1, max: 100000 }),
  transport: opt.string({ help: 'SIP transport to the platform.', choices: ['udp', 'tcp'], default: 'udp' }),
  sipPort: opt.int({
    help: 'Local SIP port, UDP and TCP (0 picks a free one). With --port-per-device, device i uses this + i.',
    default: 0,
    ...port,
  }),
  portPerDevice: opt.boolean({
    help: 'Give each device its own SIP port (and TCP connection) instead of one shared by all.',
    default: false,
  }),
  localAddress: opt.string({
    help: 'Address to bind SIP and media sockets to and to put in Contact and SDP; defaults to the address that routes to the server.',
    defaultText: 'the address that routes to the server',
    check: (v) => (isIP(v) === 0 ? `must be an IP address, got "${v}"` : undefined),
  }),
  expires: opt.int({ help: 'Registration time asked for, in seconds (refreshed at 80 %).', default: 3600, min: 1, max: 86400 }),
  keepaliveIntervalS: opt.number({ help: 'Seconds between keepalives.', default: 60, min: 0.1, max: 3600 }),
  catalogPageSize: opt.int({ help: 'Catalog items per MESSAGE.', default: 20, min: 1, max: 100 }),
  quirk: opt.string({
    help: `Device quirks to reproduce, comma separated (the flag may also be repeated): ${Object.keys(QUIRKS).join(', ')}.`,
    default: '',
    defaultText: 'none',
    check: (v) => {
      const { unknown } = parseQuirkList(v);
      return unknown.length > 0 ? `unknown quirk ${unknown.join(', ')} (known: ${Object.keys(QUIRKS).join(', ')})` : undefined;
    },
  }),
  startIntervalMs: opt.int({ help: 'Delay between starting one device and the next.', default: 10, min: 0, max: 60000 }),
  statsIntervalS: opt.int({ help: 'Seconds between summary log lines (registered devices, calls, packets); 0 = none.', default: 10, min: 0 }),
  logLevel: opt.string({ help: 'Log level.', choices: logLevels, default: 'info' }),
};
