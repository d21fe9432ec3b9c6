/**
 * Drives N simulated cameras from one process with the project's own media source:
 * `node bench/load-sender.ts <json options>`; prints "ready" once all streams run, stops on stdin end.
 * Options: { host, port, ssrcs: number[], video, pacing: 'realtime'|'flood', audio: 'pcma'|'none' }.
 */
import dgram from 'node:dgram';
import { loadVideoSource } from '../camera/media/video-source.ts';
import { startMediaStream, type MediaStream } from '../camera/media/stream.ts';

interface SenderOptions {
  host: string;
  port: number;
  ssrcs: number[];
  video: string;
  pacing: 'realtime' | 'flood';
  audio: 'pcma' | 'none';
}

const o = JSON.parse(process.argv[2]) as SenderOptions;
const video = await loadVideoSource(o.video, 'h264');
const socket = dgram.createSocket({ type: 'udp4', sendBufferSize: 8 * 1024 * 1024 });
await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
const streams: MediaStream[] = [];
for (const ssrc of o.ssrcs) {
  streams.push(
    await startMediaStream({
      video,
      audio: o.audio,
      transport: 'udp',
      host: o.host,
      port: o.port,
      udpSocket: socket,
      ssrc,
      pacing: o.pacing,
      loop: true,
      // Spread the streams over one frame interval so they do not all send in the same tick.
      startPts: Math.floor(Math.random() * 90_000),
    }),
  );
  // Stagger starts across 40 ms.
  await new Promise((r) => setTimeout(r, 40 / o.ssrcs.length));
}
process.stdout.write('ready\n');
process.stdin.resume();
process.stdin.on('end', async () => {
  await Promise.all(streams.map((s) => s.stop()));
  const packets = streams.reduce((n, s) => n + s.stats.packets, 0);
  process.stdout.write(`${JSON.stringify({ packets })}\n`);
  socket.close();
  process.exit(0);
});
