/**
 * Streamer load benchmark.
 *
 *   npm run bench -- [--streams 50,100,200] [--seconds 20] [--warmup 5] [--flood-seconds 10]
 *
 * For each N: N simulated cameras (the project's own source, real-time pacing, 720p H.264 at about
 * 2 Mbit/s + G.711A, one UDP port) drive (a) a bare Node UDP sink, (b) `gbcast streamer` publishing
 * every stream to a real nginx-rtmp, (c) the streamer without the RTMP push. It prints CPU % of one
 * core per stream and RSS per stream for each, then one flooded stream's throughput through the
 * streamer as a share of the bare sink's. Senders, nginx and the measured process share the machine;
 * only the measured process's CPU is counted (from /proc).
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startNginxRtmp, type NginxRtmp } from '../test/support/nginx-rtmp.ts';
import { freePort, waitForTcp } from '../test/support/ports.ts';
import { arg } from './lib/args.ts';
import { measure } from './lib/proc.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const outDir = path.join(root, 'bench', 'out');

const streamCounts = arg('streams', '50,100,200').split(',').map(Number);
const seconds = Number(arg('seconds', '20'));
const warmup = Number(arg('warmup', '5'));
const floodSeconds = Number(arg('flood-seconds', '10'));
const noPushAt = new Set(arg('no-push-at', '100').split(',').map(Number));
/** For experiments: which runs to do (sink, streamer, flood). */
const only = new Set(arg('only', 'sink,streamer,flood').split(','));

/** A 20 s 1280x720 25 fps H.264 clip at about 2 Mbit/s, Main profile without B-frames, GOP 2 s, as cameras send. */
function clip(): string {
  const file = path.join(outDir, '720p-2mbit.h264');
  if (existsSync(file)) return file;
  mkdirSync(outDir, { recursive: true });
  execFileSync('ffmpeg', [
    '-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=25', '-t', '20',
    '-c:v', 'libx264', '-preset', 'veryfast', '-profile:v', 'main', '-bf', '0', '-g', '50',
    '-b:v', '2000k', '-maxrate', '2000k', '-bufsize', '1000k', '-x264-params', 'nal-hrd=cbr', '-f', 'h264', file,
  ]);
  return file;
}

function lines(child: ChildProcess): AsyncIterator<string> {
  return readline.createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
}

async function startSink(port: number) {
  const child = spawn(process.execPath, [path.join(root, 'bench/udp-sink.ts'), String(port)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const it = lines(child);
  await it.next();
  return {
    pid: child.pid!,
    async counts(): Promise<{ packets: number; bytes: number }> {
      child.stdin!.write('\n');
      return JSON.parse((await it.next()).value as string) as { packets: number; bytes: number };
    },
    stop() {
      child.stdin!.end();
      child.kill();
    },
  };
}

async function startSenders(port: number, ssrcs: number[], pacing: 'realtime' | 'flood', video: string) {
  const child = spawn(
    process.execPath,
    [path.join(root, 'bench/load-sender.ts'), JSON.stringify({ host: '127.0.0.1', port, ssrcs, video, pacing, audio: 'pcma' })],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const it = lines(child);
  await it.next();
  return {
    pid: child.pid!,
    async stop() {
      child.stdin!.end();
      await new Promise((r) => child.once('exit', r));
    },
  };
}

async function startStreamer(rtpPort: number, httpPort: number) {
  // The streamer runs as `npm start` runs it (compiled, small young generation); extra Node flags
  // come from GBCAST_BENCH_STREAMER_FLAGS, e.g. "--cpu-prof --cpu-prof-dir=bench/out/prof".
  const flags = ['--max-semi-space-size=2', ...(process.env.GBCAST_BENCH_STREAMER_FLAGS ?? '').split(' ').filter(Boolean)];
  const child = spawn(process.execPath, [...flags, path.join(root, 'bin/gbcast.js'), 'streamer'], {
    stdio: ['ignore', process.env.GBCAST_BENCH_STREAMER_STDOUT === 'inherit' ? 'inherit' : 'ignore', 'inherit'],
    env: {
      ...process.env,
      GBCAST_RTP_PORT: String(rtpPort),
      GBCAST_RTP_HOST: '127.0.0.1',
      GBCAST_HTTP_PORT: String(httpPort),
      GBCAST_HTTP_HOST: '127.0.0.1',
      GBCAST_PUBLIC_ADDRESS: '127.0.0.1',
      GBCAST_LOG_LEVEL: 'warn',
      GBCAST_MAX_RECEIVERS: '10000',
    },
  });
  await waitForTcp(httpPort);
  const base = `http://127.0.0.1:${httpPort}`;
  return {
    pid: child.pid!,
    async open(streamId: string, ssrc: number, rtmpUrl: string | undefined) {
      const res = await fetch(`${base}/api/v1/receivers`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ streamId, ssrc: String(ssrc), transport: 'udp', ...(rtmpUrl ? { rtmpUrl } : {}) }),
      });
      if (res.status !== 200) throw new Error(`open ${streamId}: ${res.status} ${await res.text()}`);
    },
    async metric(name: string): Promise<number> {
      const text = await (await fetch(`${base}/metrics`)).text();
      let sum = 0;
      for (const line of text.split('\n')) if (line.startsWith(name)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
      return sum;
    },
    async stop() {
      child.kill('SIGINT');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

interface Row {
  n: number;
  target: string;
  cpuPercent: number;
  rssMb: number;
  extra?: string;
}

const rows: Row[] = [];
function report(row: Row) {
  rows.push(row);
  const perStreamCpu = row.cpuPercent / row.n;
  const perStreamRss = row.rssMb / row.n;
  console.log(
    `${row.target.padEnd(22)} N=${String(row.n).padStart(3)}  CPU ${row.cpuPercent.toFixed(1).padStart(6)} % ` +
      `(${perStreamCpu.toFixed(3)} %/stream)  RSS ${row.rssMb.toFixed(1).padStart(6)} MB (${perStreamRss.toFixed(2)} MB/stream)` +
      (row.extra ? `  ${row.extra}` : ''),
  );
}

async function loadRun(n: number, video: string, nginx: NginxRtmp, target: 'sink' | 'streamer' | 'streamer-no-push') {
  const port = await freePort();
  const ssrcs = Array.from({ length: n }, (_, i) => 100_000 + i);
  if (target === 'sink') {
    const sink = await startSink(port);
    const senders = await startSenders(port, ssrcs, 'realtime', video);
    await new Promise((r) => setTimeout(r, warmup * 1000));
    const before = await sink.counts();
    const m = await measure(sink.pid, seconds * 1000);
    const after = await sink.counts();
    const mbit = ((after.bytes - before.bytes) * 8) / seconds / 1e6;
    await senders.stop();
    sink.stop();
    report({ n, target: 'bare UDP sink', cpuPercent: m.cpuPercent, rssMb: m.rss / 1e6, extra: `${(mbit / n).toFixed(2)} Mbit/s per stream` });
    return;
  }
  const httpPort = await freePort();
  const streamer = await startStreamer(port, httpPort);
  for (let i = 0; i < n; i++) {
    await streamer.open(`bench-${i}`, ssrcs[i], target === 'streamer' ? nginx.url('live', `bench-${i}`) : undefined);
  }
  const senders = await startSenders(port, ssrcs, 'realtime', video);
  await new Promise((r) => setTimeout(r, warmup * 1000));
  const framesBefore = await streamer.metric('gbcast_streamer_frames_out_total');
  const m = await measure(streamer.pid, seconds * 1000);
  const framesAfter = await streamer.metric('gbcast_streamer_frames_out_total');
  const lost = await streamer.metric('gbcast_streamer_rtp_lost_packets_total');
  const heapUsed = await streamer.metric('gbcast_process_nodejs_heap_size_used_bytes');
  const heapTotal = await streamer.metric('gbcast_process_nodejs_heap_size_total_bytes');
  const external = await streamer.metric('gbcast_process_nodejs_external_memory_bytes');
  const rtmpDrops = await streamer.metric('gbcast_streamer_rtmp_queue_drops_total');
  await senders.stop();
  await streamer.stop();
  report({
    n,
    target: target === 'streamer' ? 'streamer + RTMP push' : 'streamer, no push',
    cpuPercent: m.cpuPercent,
    rssMb: m.rss / 1e6,
    extra:
      `${Math.round((framesAfter - framesBefore) / seconds)} frames/s out, ${lost} packets lost, ${rtmpDrops} RTMP drops; ` +
      `heap ${(heapUsed / 1e6).toFixed(0)}/${(heapTotal / 1e6).toFixed(0)} MB, external ${(external / 1e6).toFixed(0)} MB`,
  });
}

async function floodRun(video: string) {
  const sinkPort = await freePort();
  const sink = await startSink(sinkPort);
  let senders = await startSenders(sinkPort, [1], 'flood', video);
  await new Promise((r) => setTimeout(r, 1000));
  const s0 = await sink.counts();
  await new Promise((r) => setTimeout(r, floodSeconds * 1000));
  const s1 = await sink.counts();
  await senders.stop();
  sink.stop();
  const sinkPps = (s1.packets - s0.packets) / floodSeconds;

  const port = await freePort();
  const streamer = await startStreamer(port, await freePort());
  await streamer.open('flood', 1, undefined);
  senders = await startSenders(port, [1], 'flood', video);
  await new Promise((r) => setTimeout(r, 1000));
  const p0 = await streamer.metric('gbcast_streamer_rtp_packets_total');
  await new Promise((r) => setTimeout(r, floodSeconds * 1000));
  const p1 = await streamer.metric('gbcast_streamer_rtp_packets_total');
  const frames = await streamer.metric('gbcast_streamer_frames_out_total');
  await senders.stop();
  await streamer.stop();
  const streamerPps = (p1 - p0) / floodSeconds;
  console.log(
    `flood, one stream: bare sink ${Math.round(sinkPps)} packets/s (${((sinkPps * 1400 * 8) / 1e6).toFixed(0)} Mbit/s), ` +
      `streamer ${Math.round(streamerPps)} packets/s = ${((streamerPps / sinkPps) * 100).toFixed(0)} % of the sink (${frames} frames out)`,
  );
}

const video = clip();
console.log(`machine: ${os.cpus().length} x ${os.cpus()[0]?.model}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`);
console.log(`load: ${seconds} s measured after ${warmup} s warm-up per run; clip ${path.relative(root, video)}`);
const nginx = await startNginxRtmp();
try {
  for (const n of streamCounts) {
    if (only.has('sink')) await loadRun(n, video, nginx, 'sink');
    if (only.has('streamer')) await loadRun(n, video, nginx, 'streamer');
    if (only.has('streamer') && noPushAt.has(n)) await loadRun(n, video, nginx, 'streamer-no-push');
  }
  if (only.has('flood')) await floodRun(video);
} finally {
  await nginx.stop();
}
