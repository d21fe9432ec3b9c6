import os from 'node:os';
import { opt } from '../common/config.ts';
import { logLevels } from '../common/logger.ts';

const port = { min: 0, max: 65535 } as const;

export const streamerOptions = {
  rtpPort: opt.int({ help: 'Public media port, UDP and TCP on the same number (0 picks a free one).', default: 10000, ...port }),
  rtpHost: opt.string({ help: 'Address the media sockets bind to.', default: '0.0.0.0' }),
  httpPort: opt.int({ help: 'Port of the internal HTTP API, HTTP-FLV, /metrics and health.', default: 8081, ...port }),
  httpHost: opt.string({ help: 'Address the HTTP server binds to.', default: '0.0.0.0' }),
  publicAddress: opt.string({
    help: 'Address devices send media to (written into the SDP). Defaults to the first non-internal IPv4 address.',
    defaultText: 'first non-internal IPv4 address',
  }),
  publicAddressFromStore: opt.boolean({
    help: 'Take the public address from the store, where the operator writes it once it knows the node this pod runs on; until then the streamer is not ready and not offered to signaling.',
    default: false,
  }),
  publicPort: opt.int({
    help: 'Public media port when it differs from --rtp-port (NodePort, NAT); defaults to the bound port.',
    ...port,
  }),
  internalUrl: opt.string({
    help: 'Base URL signaling uses to reach this streamer; defaults to http://<pod or host IP>:<http-port>.',
  }),
  streamerId: opt.string({ help: 'Unique id of this streamer in its pool.', default: os.hostname(), defaultText: 'the host name' }),
  pool: opt.string({ help: 'Pool (GbStreamServer) this streamer belongs to.', default: 'default' }),
  redisUrl: opt.string({ help: 'Redis URL for load reports and events; without it the streamer runs standalone.' }),
  redisPrefix: opt.string({ help: 'Prefix of every Redis key.', default: 'gbcast:' }),
  reportIntervalMs: opt.int({ help: 'Interval of load reports to Redis.', default: 2000, min: 200, max: 60000 }),
  noMediaTimeoutMs: opt.int({
    help: 'A receiver with no media for this long closes itself and says why.',
    default: 15000,
    min: 1000,
    max: 600000,
  }),
  maxReceivers: opt.int({ help: 'Receivers this streamer accepts at most.', default: 1000, min: 1 }),
  udpRecvBufferBytes: opt.int({
    help: 'SO_RCVBUF asked for the UDP socket (the kernel caps it at net.core.rmem_max).',
    default: 16 * 1024 * 1024,
    min: 65536,
  }),
  udpReceive: opt.string({
    help: 'How UDP is read: batch (native recvmmsg receiver, built by npm run build), dgram (node:dgram), or auto (batch when built).',
    choices: ['auto', 'batch', 'dgram'],
    default: 'auto',
  }),
  udpBatchPauseMs: opt.int({
    help: 'Batch receiver: after emptying the socket, let datagrams gather this many ms before reading again (fewer wake-ups, that much added latency; 0 = read at once).',
    default: 2,
    min: 0,
    max: 20,
  }),
  heapTrimIntervalMs: opt.int({
    help: 'How often freed C-heap memory (media buffers) is handed back to the kernel with malloc_trim; 0 = never. Needs the native addon.',
    default: 10000,
    min: 0,
    max: 600000,
  }),
  reorderWindow: opt.int({ help: 'UDP reorder window, in packets.', default: 64, min: 1, max: 1024 }),
  hevcFlv: opt.string({
    help: 'Default H.265 carriage in FLV: legacy codec id 12 or enhanced RTMP (hvc1).',
    choices: ['legacy', 'enhanced'],
    default: 'legacy',
  }),
  rtmpQueueBytes: opt.int({ help: 'RTMP send queue bound per stream, in bytes.', default: 4 * 1024 * 1024, min: 65536 }),
  rtmpMergeWriteMs: opt.int({
    help: 'RTMP: media goes to the server in batches gathered over this many ms: fewer system calls per stream, that much added latency (0 = per event-loop turn).',
    default: 40,
    min: 0,
    max: 500,
  }),
  flvViewerMaxPendingBytes: opt.int({
    help: 'HTTP-FLV: a viewer with more unsent bytes than this is skipped to the next keyframe.',
    default: 2 * 1024 * 1024,
    min: 65536,
  }),
  gopCache: opt.string({
    help: 'When a stream keeps its latest GOP for instant HTTP-FLV start and the RTMP backlog: always, off, or on-demand (while it has HTTP-FLV viewers, for --gop-cache-idle-ms after the last one, and until its RTMP publish is up).',
    choices: ['on-demand', 'always', 'off'],
    default: 'on-demand',
  }),
  gopCacheIdleMs: opt.int({
    help: 'gop-cache on-demand: how long a stream keeps caching after its last HTTP-FLV viewer left.',
    default: 300000,
    min: 0,
  }),
  shutdownGraceMs: opt.int({
    help: 'On SIGTERM: how long running streams may go on (draining) before they are closed.',
    default: 25000,
    min: 0,
  }),
  logLevel: opt.string({ help: 'Log level.', choices: logLevels, default: 'info' }),
};
