/**
 * Manual testing: stream a file as a GB28181 camera would, without SIP.
 *
 *   node camera/media/send-file.ts --video f.h264 --audio pcma --to 127.0.0.1:10000 --ssrc 123 --transport udp
 *   node camera/media/send-file.ts --video f.h265 --transport tcp-listen --listen 15060 --loop
 *
 * Runs until the media ends (or forever with --loop), Ctrl-C, or the receiver closes the connection.
 * Prints the counters once a second on stderr.
 */
import { parseArgs } from 'node:util';
import type { VideoCodec } from '../../common/codec/frame.ts';
import { startMediaStream } from './stream.ts';
import type { MediaTransport } from './stream.ts';

const HELP = `usage: node camera/media/send-file.ts --video FILE [options]
  --video FILE          Annex-B H.264/H.265 file
  --codec h264|h265     video codec (default: detected)
  --audio KIND          none | pcma | pcmu | aac (default none; aac needs --audio-file)
  --audio-file FILE     ADTS file for --audio aac
  --audio-frame-ms N    G.711 frame duration, 20 or 40 (default 20)
  --transport T         udp | tcp-connect | tcp-listen (default udp; "tcp" = tcp-connect)
  --to HOST:PORT        receiver address (udp, tcp-connect)
  --listen PORT         port to listen on (tcp-listen; default any, printed)
  --ssrc N              RTP SSRC (default 0)
  --payload-size N      RTP payload bytes per packet (default 1400)
  --interleaved         TCP: RTSP-style '$' framing instead of RFC 4571
  --fps N               video frame rate (default 25)
  --loop                loop the files forever
  --duration MS         stop after this much media time
  --frames N            stop after N video frames
  --flood               send as fast as the socket drains instead of in real time
  --pts-equals-dts      camera-style timestamps for files with B-frames
  quirks: --no-psm --psm-once --private-stream --pes-length-zero --lying-psm
          --audio-without-pack-header --psm-crc-le --pes-per-frame`;

const { values } = parseArgs({
  options: {
    video: { type: 'string' },
    codec: { type: 'string' },
    audio: { type: 'string', default: 'none' },
    'audio-file': { type: 'string' },
    'audio-frame-ms': { type: 'string', default: '20' },
    transport: { type: 'string', default: 'udp' },
    to: { type: 'string' },
    listen: { type: 'string' },
    ssrc: { type: 'string', default: '0' },
    'payload-size': { type: 'string' },
    interleaved: { type: 'boolean' },
    fps: { type: 'string' },
    loop: { type: 'boolean' },
    duration: { type: 'string' },
    frames: { type: 'string' },
    flood: { type: 'boolean' },
    'pts-equals-dts': { type: 'boolean' },
    'no-psm': { type: 'boolean' },
    'psm-once': { type: 'boolean' },
    'private-stream': { type: 'boolean' },
    'pes-length-zero': { type: 'boolean' },
    'lying-psm': { type: 'boolean' },
    'audio-without-pack-header': { type: 'boolean' },
    'psm-crc-le': { type: 'boolean' },
    'pes-per-frame': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  },
});

function fail(message: string): never {
  process.stderr.write(`${message}\n\n${HELP}\n`);
  process.exit(2);
}

if (values.help) {
  process.stdout.write(`${HELP}\n`);
  process.exit(0);
}
if (!values.video && values.audio === 'none') fail('nothing to send: give --video and/or --audio');
const transport = (values.transport === 'tcp' ? 'tcp-connect' : values.transport) as MediaTransport;
if (!['udp', 'tcp-connect', 'tcp-listen'].includes(transport)) fail(`unknown transport ${values.transport}`);
let host: string | undefined;
let port: number | undefined;
if (transport !== 'tcp-listen') {
  const m = /^(.+):(\d+)$/.exec(values.to ?? '');
  if (!m) fail('--to HOST:PORT is required for udp and tcp-connect');
  host = m[1].replace(/^\[(.*)\]$/, '$1');
  port = Number(m[2]);
}
const audio = values.audio as 'none' | 'pcma' | 'pcmu' | 'aac';
if (!['none', 'pcma', 'pcmu', 'aac'].includes(audio)) fail(`unknown audio ${values.audio}`);
const num = (v: string | undefined): number | undefined => (v === undefined ? undefined : Number(v));

const stream = await startMediaStream({
  video: values.video,
  videoCodec: values.codec as VideoCodec | undefined,
  audio,
  audioFile: values['audio-file'],
  audioFrameMs: Number(values['audio-frame-ms']) === 40 ? 40 : 20,
  transport,
  host,
  port,
  localPort: transport === 'tcp-listen' ? num(values.listen) : undefined,
  tcpFraming: values.interleaved ? 'interleaved' : 'rfc4571',
  ssrc: Number(values.ssrc),
  payloadSize: num(values['payload-size']),
  fps: num(values.fps),
  loop: values.loop,
  durationMs: num(values.duration),
  maxFrames: num(values.frames),
  pacing: values.flood ? 'flood' : 'realtime',
  ptsEqualsDts: values['pts-equals-dts'],
  pesPerNal: !values['pes-per-frame'],
  quirks: {
    noPsm: values['no-psm'],
    psmOnce: values['psm-once'],
    privateStream: values['private-stream'],
    videoPesLengthZero: values['pes-length-zero'],
    lyingPsm: values['lying-psm'],
    audioWithoutPackHeader: values['audio-without-pack-header'],
    psmCrcLittleEndian: values['psm-crc-le'],
  },
});

if (transport === 'tcp-listen') process.stderr.write(`listening on port ${stream.localPort}, waiting for the receiver\n`);
else process.stderr.write(`sending to ${host}:${port} over ${transport} from local port ${stream.localPort}\n`);

const report = (): void => {
  const s = stream.stats;
  process.stderr.write(`frames ${s.frames} (video ${s.videoFrames}, audio ${s.audioFrames}, dropped ${s.droppedFrames})  packets ${s.packets}  bytes ${s.bytes}\n`);
};
const timer = setInterval(report, 1000);
process.once('SIGINT', () => void stream.stop());
process.once('SIGTERM', () => void stream.stop());
const reason = await stream.done;
clearInterval(timer);
report();
process.stderr.write(`ended: ${reason}\n`);
await stream.stop();
