import { opt } from '../common/config.ts';
import { logLevels } from '../common/logger.ts';

const port = { min: 0, max: 65535 } as const;

export const signalingOptions = {
  sipPort: opt.int({ help: 'SIP port, UDP and TCP on the same number (0 picks a free one).', default: 5060, ...port }),
  sipHost: opt.string({ help: 'Address the SIP sockets bind to.', default: '0.0.0.0' }),
  publicAddress: opt.string({
    help: 'Address of this server in SIP headers (Via, Contact). Defaults to the first non-internal IPv4 address.',
    defaultText: 'first non-internal IPv4 address',
  }),
  httpPort: opt.int({ help: 'Port of the public HTTP API, /metrics and health.', default: 8080, ...port }),
  httpHost: opt.string({ help: 'Address the HTTP server binds to.', default: '0.0.0.0' }),
  serverId: opt.string({ help: 'The platform\'s 20-digit GB28181 ID (devices register to it).', default: '34020000002000000001' }),
  realm: opt.string({ help: 'Digest realm (SIP domain); defaults to the first 10 digits of --server-id.', defaultText: 'first 10 digits of --server-id' }),
  password: opt.string({ help: 'Global device password, used for devices without their own credential in Redis.', secret: true }),
  unknownDevices: opt.string({
    help: 'A device without its own credential: accept it with the global --password, or refuse it (403).',
    choices: ['accept', 'refuse'],
    default: 'accept',
  }),
  redisUrl: opt.string({ help: 'Redis URL: devices, presence, credentials, streams and the streamer pool live there.', required: true }),
  redisPrefix: opt.string({ help: 'Prefix of every Redis key.', default: 'gbcast:' }),
  nonceSecret: opt.string({
    help: 'Secret that signs digest nonces; give every replica the same one so any of them accepts the others\' nonces. Random per process when unset.',
    secret: true,
  }),
  nonceLifetimeMs: opt.int({ help: 'How long a digest nonce is good for.', default: 300000, min: 1000 }),
  offerQop: opt.boolean({ help: 'Offer qop="auth" in digest challenges (devices answer with or without it either way).', default: false }),
  registerExpiresMinS: opt.int({ help: 'Shortest registration accepted (a shorter Expires is raised to it).', default: 60, min: 1 }),
  registerExpiresMaxS: opt.int({ help: 'Longest registration granted (a longer Expires is cut to it).', default: 86400, min: 60 }),
  keepaliveIntervalS: opt.int({ help: 'Keepalive interval devices are expected to use (GB28181 default 60 s).', default: 60, min: 1 }),
  keepaliveMissed: opt.int({ help: 'Missed keepalives after which a device is offline.', default: 3, min: 1, max: 100 }),
  queryRefreshS: opt.int({
    help: 'How often an online device is asked again for DeviceInfo, Catalog and DeviceStatus (0 = only when it comes online).',
    default: 3600,
    min: 0,
  }),
  authMaxFailures: opt.int({ help: 'Failed digest attempts per device or per source address before a lockout.', default: 5, min: 1 }),
  authLockoutMs: opt.int({ help: 'Lockout window: failures count within it, and a locked-out device or address is refused for it.', default: 300000, min: 1000 }),
  presenceSweepMs: opt.int({ help: 'How often this replica looks for devices whose keepalive or registration ran out.', default: 1000, min: 100 }),
  dateUtcOffsetMinutes: opt.int({
    help: 'Time zone of the GB Date header devices set their clocks from, as minutes east of UTC (480 for China); defaults to the server\'s local zone. Set it in containers running in UTC.',
    defaultText: 'the server\'s local time zone',
    min: -840,
    max: 840,
  }),
  defaultPool: opt.string({ help: 'Streamer pool of devices that have none of their own (GbCamera spec.pool).', default: 'default' }),
  rtmpUrlTemplate: opt.string({
    help: 'Where streams are pushed when a play names no rtmpUrl, e.g. rtmp://easydss:1935/live/{channelId} ({deviceId}, {channelId}, {streamId} are replaced). Unset: HTTP-FLV only.',
  }),
  defaultTransport: opt.string({ help: 'Media transport of a play that names none.', choices: ['udp', 'tcp-passive', 'tcp-active'], default: 'udp' }),
  onDemandIdleMs: opt.int({ help: 'On-demand (RTMP server play hooks): how long a stream outlives its last viewer.', default: 30000, min: 0 }),
  onDemandRtmpBase: opt.string({
    help: 'On-demand: where streams are published, e.g. rtmp://nginx-rtmp.gbcast:1935/live (the stream name is appended); defaults to the viewer\'s own tcUrl from the hook.',
  }),
  alwaysOnCheckMs: opt.int({
    help: 'How often each device with always-on channels is checked for channels without a stream (the replicas share the checks; a changed configuration is checked at once).',
    default: 5000,
    min: 100,
  }),
  alwaysOnRetryMaxMs: opt.int({
    help: 'Longest wait before an always-on channel whose streams keep failing is started again (the wait starts at 1 s and doubles per failure in a row).',
    default: 60000,
    min: 1000,
  }),
  streamerProbeMs: opt.int({
    help: 'How often each streamer is probed (GET /healthz) by one of the signaling replicas. A streamer that fails twice in a row is gone: its streams end, and always-on channels start again elsewhere.',
    default: 1000,
    min: 100,
  }),
  streamerProbeTimeoutMs: opt.int({ help: 'Timeout of a streamer health probe.', default: 800, min: 50, max: 10000 }),
  inviteTimeoutMs: opt.int({ help: 'How long a device may take to answer an INVITE.', default: 10000, min: 500, max: 120000 }),
  streamerTimeoutMs: opt.int({ help: 'Timeout of each call to a streamer\'s internal API.', default: 3000, min: 100, max: 60000 }),
  apiToken: opt.string({ help: 'Bearer token the public HTTP API requires (none when unset).', secret: true }),
  logLevel: opt.string({ help: 'Log level.', choices: logLevels, default: 'info' }),
};
