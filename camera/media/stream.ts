/**
 * startMediaStream: the one call tests, demos and the load benchmark use to make a simulated camera
 * send media. It loads (or reuses) the sources, and wires timeline → PsMuxer → RtpPacketizer →
 * transport under a MediaSender.
 */
import type dgram from 'node:dgram';
import type { AudioCodec, VideoCodec } from '../../common/codec/frame.ts';
import { g711ToneSource, loadAacSource } from './audio-source.ts';
import type { AudioSource } from './audio-source.ts';
import { MediaSender, emptyStats } from './media-sender.ts';
import type { EndReason, MediaStats, Pacing } from './media-sender.ts';
import { PsMuxer } from './ps-muxer.ts';
import type { PsQuirks } from './ps-muxer.ts';
import { RtpPacketizer } from './rtp-packetizer.ts';
import type { FrameScheduler } from './scheduler.ts';
import { FrameTimeline } from './timeline.ts';
import { TcpListener, TcpTransport, UdpTransport, connectTcp } from './transports.ts';
import type { PacketTransport } from './transports.ts';
import { loadVideoSource } from './video-source.ts';
import type { VideoSource } from './video-source.ts';

export type MediaTransport = 'udp' | 'tcp-connect' | 'tcp-listen';

export interface MediaStreamOptions {
  /** Annex-B H.264/H.265 file, or an already loaded source (loaded files are shared anyway). */
  video?: string | VideoSource;
  /** Video codec of the file; detected from the NAL headers when omitted. */
  videoCodec?: VideoCodec;
  /** 'pcma'/'pcmu': a generated tone; 'aac': ADTS frames from audioFile; or a ready source. */
  audio?: 'none' | AudioCodec | AudioSource;
  /** ADTS file for audio 'aac'. */
  audioFile?: string;
  /** G.711 frame duration, 20 (default) or 40 ms. */
  audioFrameMs?: 20 | 40;
  /** G.711 tone frequency, 1000 Hz by default. */
  toneHz?: number;

  /** 'udp'; 'tcp-connect': we dial host:port; 'tcp-listen': we listen on localPort, the receiver dials. */
  transport: MediaTransport;
  /** Receiver address (udp, tcp-connect). */
  host?: string;
  port?: number;
  /** Local port: the listening port for tcp-listen (0 or omitted: any), the source port otherwise. */
  localPort?: number;
  localAddress?: string;
  /** UDP only: send through this socket (shared by many streams) instead of one of our own. */
  udpSocket?: dgram.Socket;
  /** TCP framing: RFC 4571 length prefix (default) or RTSP-style '$' interleaved. */
  tcpFraming?: 'rfc4571' | 'interleaved';

  /** RTP SSRC (0 reproduces the Dahua cameras that ignore the negotiated one). */
  ssrc: number;
  payloadType?: number;
  /** Maximum RTP payload bytes per packet, default 1400. */
  payloadSize?: number;
  firstSequence?: number;

  pacing?: Pacing;
  /** Real-time pacing: queued bytes above which frames are dropped until a keyframe (default 4 MiB). */
  maxQueuedBytes?: number;
  /** Loop the files forever (timestamps keep increasing). */
  loop?: boolean;
  /** Stop after this much media time. */
  durationMs?: number;
  /** Stop after this many video frames. */
  maxFrames?: number;
  /** Video frame rate, default 25. */
  fps?: number;
  /** 90 kHz timestamp of the first frame, default 0. */
  startPts?: number;
  /** Files with B-frames: send PTS = DTS (camera style) instead of the true PTS from the POC. */
  ptsEqualsDts?: boolean;

  quirks?: PsQuirks;
  /** One PES per NAL unit (default, as Hikvision) or per frame. */
  pesPerNal?: boolean;
  /** Pack header stuffing bytes 0..7 (default 6, as Hikvision). */
  packStuffing?: number;
  scheduler?: FrameScheduler;
}

export interface MediaStream {
  /** Live counters. */
  readonly stats: MediaStats;
  /** tcp-listen: the port to put in the SDP answer; udp/tcp-connect: our source port. */
  readonly localPort: number | undefined;
  /** Resolves when sending ends (media over, stop(), peer closed, error). */
  readonly done: Promise<EndReason>;
  /** Stops sending and closes every socket and listener this stream opened. */
  stop(): Promise<void>;
}

async function resolveVideo(o: MediaStreamOptions): Promise<VideoSource | undefined> {
  if (o.video === undefined) return undefined;
  if (typeof o.video !== 'string') return o.video;
  return loadVideoSource(o.video, o.videoCodec);
}

async function resolveAudio(o: MediaStreamOptions): Promise<AudioSource | undefined> {
  const a = o.audio ?? 'none';
  if (typeof a !== 'string') return a;
  if (a === 'none') return undefined;
  if (a === 'aac') {
    if (!o.audioFile) throw new Error("audio 'aac' needs audioFile (an ADTS file)");
    return loadAacSource(o.audioFile);
  }
  return g711ToneSource(a, o.audioFrameMs ?? 20, o.toneHz ?? 1000);
}

export async function startMediaStream(o: MediaStreamOptions): Promise<MediaStream> {
  const [video, audio] = await Promise.all([resolveVideo(o), resolveAudio(o)]);
  if (!video && !audio) throw new Error('nothing to send: no video and no audio');
  if (o.transport !== 'tcp-listen' && (!o.host || !o.port)) throw new Error(`${o.transport} needs host and port`);

  const timeline = new FrameTimeline(video, audio, {
    fps: o.fps,
    loop: o.loop,
    startPts: o.startPts,
    maxVideoFrames: o.maxFrames,
    durationMs: o.durationMs,
    ptsEqualsDts: o.ptsEqualsDts,
  });
  const muxer = new PsMuxer({ video: video?.codec, audio: audio?.codec, quirks: o.quirks, pesPerNal: o.pesPerNal, packStuffing: o.packStuffing });
  const framing = o.transport === 'udp' ? 'none' : (o.tcpFraming ?? 'rfc4571');
  const packetizer = new RtpPacketizer({
    ssrc: o.ssrc,
    payloadType: o.payloadType,
    payloadSize: o.payloadSize,
    framing,
    firstSequence: o.firstSequence,
  });
  const stats = emptyStats();
  const makeSender = (transport: PacketTransport): MediaSender =>
    new MediaSender({ timeline, muxer, packetizer, transport, pacing: o.pacing, scheduler: o.scheduler, stats, maxQueuedBytes: o.maxQueuedBytes });

  if (o.transport === 'udp' || o.transport === 'tcp-connect') {
    let localPort: number;
    let transport: PacketTransport;
    if (o.transport === 'udp') {
      const t = await UdpTransport.open({ host: o.host as string, port: o.port as number, socket: o.udpSocket, localPort: o.localPort, localAddress: o.localAddress });
      localPort = t.localPort;
      transport = t;
    } else {
      const t = await connectTcp(o.host as string, o.port as number, framing, o.localPort);
      localPort = t.socket.localPort as number;
      transport = t;
    }
    const sender = makeSender(transport);
    sender.start();
    return { stats, localPort, done: sender.done, stop: () => sender.stop() };
  }

  // tcp-listen: the stream starts when the receiver connects.
  const listener = await TcpListener.listen(o.localPort ?? 0, o.localAddress);
  let sender: MediaSender | undefined;
  let stopped = false;
  let resolveDone!: (r: EndReason) => void;
  const done = new Promise<EndReason>((r) => (resolveDone = r));
  listener.accept().then(
    (socket) => {
      if (stopped) {
        socket.destroy();
        return;
      }
      sender = makeSender(new TcpTransport(socket, framing));
      sender.done.then(resolveDone);
      sender.start();
    },
    () => resolveDone('stopped'),
  );
  return {
    stats,
    localPort: listener.port,
    done,
    async stop() {
      stopped = true;
      await listener.close();
      if (sender) await sender.stop();
      else resolveDone('stopped');
    },
  };
}
