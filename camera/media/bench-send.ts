/**
 * What does sending cost? N real-time camera streams from this one process to a bare UDP sink in a
 * child process; prints this process's CPU (% of one core) and memory after a warm-up.
 *
 *   node camera/media/bench-send.ts [--streams 200] [--seconds 30] [--video FILE] [--audio pcma|none]
 *                                   [--socket shared|per-stream] [--transport udp|tcp]
 *
 * Without --video it makes (once, with ffmpeg, in the OS temp dir) a 720p25 H.264 file at a constant
 * 2 Mbit/s (x264 CBR with filler), GOP 50, no B-frames: a typical camera main stream.
 */
import { execFile, fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';
import { sharedScheduler } from './scheduler.ts';
import { startMediaStream } from './stream.ts';
import type { MediaStream } from './stream.ts';
import { createSharedUdpSocket } from './transports.ts';
import { loadVideoSource } from './video-source.ts';

const { values } = parseArgs({
  options: {
    streams: { type: 'string', default: '200' },
    seconds: { type: 'string', default: '30' },
    warmup: { type: 'string', default: '5' },
    video: { type: 'string' },
    audio: { type: 'string', default: 'pcma' },
    socket: { type: 'string', default: 'shared' },
    transport: { type: 'string', default: 'udp' },
    sink: { type: 'string' },
  },
});

// Child mode: the bare sink. UDP: count datagrams. TCP: count bytes on every accepted connection.
if (values.sink) {
  const dgram = await import('node:dgram');
  const net = await import('node:net');
  let packets = 0;
  let bytes = 0;
  if (values.sink === 'udp') {
    const s = dgram.createSocket({ type: 'udp4', recvBufferSize: 16 * 1024 * 1024 });
    s.on('message', (m) => {
      packets++;
      bytes += m.length;
    });
    s.bind(0, '127.0.0.1', () => process.send?.({ port: s.address().port }));
  } else {
    const server = net.createServer((c) => c.on('data', (d) => (bytes += d.length)));
    server.listen(0, '127.0.0.1', () => process.send?.({ port: (server.address() as { port: number }).port }));
  }
  process.on('message', () => process.send?.({ packets, bytes }));
  process.on('disconnect', () => process.exit(0));
} else {
  await main();
}

async function makeVideo(): Promise<string> {
  const file = path.join(os.tmpdir(), 'gbcast-bench-720p25-2mbps.h264');
  if (!existsSync(file)) {
    process.stderr.write(`making ${file} with ffmpeg...\n`);
    await promisify(execFile)('ffmpeg', [
      '-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=25', '-t', '20',
      '-c:v', 'libx264', '-preset', 'veryfast', '-profile:v', 'main', '-pix_fmt', 'yuv420p', '-g', '50', '-bf', '0',
      '-b:v', '2M', '-maxrate', '2M', '-minrate', '2M', '-bufsize', '1M', '-x264-params', 'nal-hrd=cbr',
      '-f', 'h264', file,
    ]);
  }
  return file;
}

async function main(): Promise<void> {
  const streams = Number(values.streams);
  const seconds = Number(values.seconds);
  const warmup = Number(values.warmup);
  const video = values.video ?? (await makeVideo());
  const source = await loadVideoSource(video);
  const fileSeconds = source.units.length / 25;
  const kbps = Math.round((source.totalBytes * 8) / fileSeconds / 1000);
  const tcp = values.transport === 'tcp';

  const sink = fork(new URL(import.meta.url).pathname, ['--sink', tcp ? 'tcp' : 'udp'], { stdio: 'inherit' });
  const ask = (): Promise<{ port?: number; packets?: number; bytes?: number }> =>
    new Promise((resolve) => {
      sink.once('message', (m) => resolve(m as { port?: number; packets?: number; bytes?: number }));
    });
  const { port } = await ask();

  const shared = !tcp && values.socket === 'shared' ? await createSharedUdpSocket() : undefined;
  const rssBefore = process.memoryUsage().rss;
  const started: MediaStream[] = [];
  for (let i = 0; i < streams; i++) {
    started.push(
      await startMediaStream({
        video,
        audio: values.audio === 'none' ? 'none' : (values.audio as 'pcma'),
        transport: tcp ? 'tcp-connect' : 'udp',
        host: '127.0.0.1',
        port,
        udpSocket: shared,
        ssrc: 100000 + i,
        loop: true,
        startPts: Math.floor(Math.random() * 2 ** 32),
      }),
    );
    // Spread the start times over one frame interval, as cameras invited at different moments are.
    await new Promise((r) => setTimeout(r, 40 / streams));
  }
  process.stderr.write(`${streams} streams of ${video} (${kbps} kbit/s video${values.audio === 'none' ? '' : ` + ${values.audio}`}) over ${tcp ? 'TCP' : `UDP, ${values.socket} socket`}; warming up ${warmup} s\n`);
  await new Promise((r) => setTimeout(r, warmup * 1000));

  const totals = (): { packets: number; bytes: number; frames: number; dropped: number; resets: number } => {
    const t = { packets: 0, bytes: 0, frames: 0, dropped: 0, resets: 0 };
    for (const s of started) {
      t.packets += s.stats.packets;
      t.bytes += s.stats.bytes;
      t.frames += s.stats.frames;
      t.dropped += s.stats.droppedFrames;
      t.resets += s.stats.clockResets;
    }
    return t;
  };
  sink.send('stats');
  const sink0 = await ask();
  const t0 = totals();
  const firings0 = sharedScheduler.firings;
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  let rssPeak = 0;
  const rssTimer = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 250);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  clearInterval(rssTimer);
  const cpu = process.cpuUsage(cpu0);
  const wall = (performance.now() - wall0) / 1000;
  const t1 = totals();
  const firings = sharedScheduler.firings - firings0;
  sink.send('stats');
  const sink1 = await ask();
  const mem = process.memoryUsage();

  const rate = (a: number, b: number): number => Math.round((b - a) / wall);
  const report = {
    streams,
    transport: tcp ? 'tcp' : `udp-${values.socket}`,
    videoKbps: kbps,
    audio: values.audio,
    seconds: Math.round(wall * 10) / 10,
    cpuPercentOfOneCore: Math.round(((cpu.user + cpu.system) / 1e6 / wall) * 1000) / 10,
    cpuUserPercent: Math.round((cpu.user / 1e6 / wall) * 1000) / 10,
    cpuSystemPercent: Math.round((cpu.system / 1e6 / wall) * 1000) / 10,
    rssMB: Math.round(mem.rss / 1e5) / 10,
    rssPeakMB: Math.round(rssPeak / 1e5) / 10,
    rssGrowthSinceStartMB: Math.round((mem.rss - rssBefore) / 1e5) / 10,
    heapUsedMB: Math.round(mem.heapUsed / 1e5) / 10,
    arrayBuffersMB: Math.round(mem.arrayBuffers / 1e5) / 10,
    framesPerSecond: rate(t0.frames, t1.frames),
    packetsPerSecond: rate(t0.packets, t1.packets),
    mbitPerSecond: Math.round(((t1.bytes - t0.bytes) * 8) / wall / 1e5) / 10,
    timerFiringsPerSecond: Math.round(firings / wall),
    droppedFrames: t1.dropped - t0.dropped,
    clockResets: t1.resets - t0.resets,
    clockResetsDuringStartup: t0.resets,
    sinkPacketsPerSecond: tcp ? undefined : rate(sink0.packets ?? 0, sink1.packets ?? 0),
    sinkMbitPerSecond: Math.round((((sink1.bytes ?? 0) - (sink0.bytes ?? 0)) * 8) / wall / 1e5) / 10,
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);

  await Promise.all(started.map((s) => s.stop()));
  shared?.close();
  sink.disconnect();
}
