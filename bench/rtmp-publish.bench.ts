/**
 * RTMP publish benchmark: is chunking a bottleneck?
 *
 *   node bench/rtmp-publish.bench.ts [--mb 400] [--skip-nginx]
 *
 * 1. The chunk writer alone (no I/O): ns per message and CPU ms per MB for typical message sizes
 *    at chunk sizes 65536 (our default) and 4096.
 * 2. RtmpPublisher → a discard sink in a child process (it answers connect/createStream/publish,
 *    then only counts bytes): CPU time of this process per MB published, and throughput.
 * 3. RtmpPublisher → a real nginx-rtmp (`live on`, no recording): the same.
 *
 * Media: a 720p H.264 + AAC clip made with ffmpeg (about 6 Mbit/s), split into FLV tags and looped
 * with growing timestamps, offered as fast as the publisher takes it: the feeder pauses while the
 * publisher holds more than half its queue limit, so nothing should be dropped. CPU is
 * process.cpuUsage() of this process (user + system), which includes the feeder loop.
 */
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeAmf0, encodeAmf0 } from '../streamer/flv/amf0.ts';
import { ChunkReader } from '../streamer/rtmp/chunk-reader.ts';
import { ChunkWriter } from '../streamer/rtmp/chunk-writer.ts';
import { HANDSHAKE_SIZE } from '../streamer/rtmp/handshake.ts';
import { RtmpPublisher } from '../streamer/rtmp/rtmp-publisher.ts';
import { headerTagsOf, readFlvFile } from '../test/support/flv-file.ts';
import type { FlvFileTag } from '../test/support/flv-file.ts';
import { startNginxRtmp } from '../test/support/nginx-rtmp.ts';

const MB = 1024 * 1024;

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}

// ---------------------------------------------------------------------------------------------
// The discard sink (this file run with --sink): prints its port, then serves one publisher.

async function runSink(): Promise<void> {
  const server = net.createServer((sock) => {
    let stage: 'c0c1' | 'c2' | 'commands' | 'discard' = 'c0c1';
    let pending: Buffer = Buffer.alloc(0);
    const reader = new ChunkReader({ maxMessageSize: 16 * MB });
    const writer = new ChunkWriter();
    const reply = (streamId: number, values: Parameters<typeof encodeAmf0>[0]) => {
      const out: Buffer[] = [];
      writer.write(out, 3, 20, streamId, 0, encodeAmf0(values));
      for (const b of out) sock.write(b);
    };
    sock.on('error', () => {});
    sock.on('data', (d: Buffer) => {
      if (stage === 'discard') return;
      pending = pending.length ? Buffer.concat([pending, d]) : d;
      if (stage === 'c0c1') {
        if (pending.length < 1 + HANDSHAKE_SIZE) return;
        sock.write(Buffer.concat([Buffer.of(3), Buffer.alloc(HANDSHAKE_SIZE), pending.subarray(1, 1 + HANDSHAKE_SIZE)]));
        pending = pending.subarray(1 + HANDSHAKE_SIZE);
        stage = 'c2';
      }
      if (stage === 'c2') {
        if (pending.length < HANDSHAKE_SIZE) return;
        pending = pending.subarray(HANDSHAKE_SIZE);
        stage = 'commands';
      }
      const data = pending;
      pending = Buffer.alloc(0);
      for (const m of reader.push(data)) {
        if (m.type !== 20) continue;
        const [name, tx] = decodeAmf0(m.payload);
        if (name === 'connect') reply(0, ['_result', tx as number, null, { level: 'status', code: 'NetConnection.Connect.Success' }]);
        else if (name === 'createStream') reply(0, ['_result', tx as number, null, 1]);
        else if (name === 'publish') {
          reply(1, ['onStatus', 0, null, { level: 'status', code: 'NetStream.Publish.Start' }]);
          stage = 'discard';
        }
      }
    });
  });
  server.listen(0, '127.0.0.1', () => process.stdout.write(`${(server.address() as net.AddressInfo).port}\n`));
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
}

// ---------------------------------------------------------------------------------------------

function benchWriter(): void {
  console.log('1. chunk writer alone (headers + views, no I/O)');
  for (const chunkSize of [65536, 4096]) {
    for (const size of [160, 5_000, 60_000, 250_000]) {
      const w = new ChunkWriter();
      w.setChunkSize(chunkSize);
      const payload = Buffer.alloc(size, 1);
      const out: Buffer[] = [];
      const n = Math.max(2000, Math.floor((400 * MB) / size / 10));
      for (let i = 0; i < 20_000; i++) {
        out.length = 0;
        w.write(out, 6, 9, 1, i * 40, payload);
      }
      const c0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < n; i++) {
        out.length = 0;
        w.write(out, 6, 9, 1, i * 40, payload);
      }
      const ns = Number(process.hrtime.bigint() - t0) / n;
      const cpu = process.cpuUsage(c0);
      const cpuMsPerMb = (cpu.user + cpu.system) / 1000 / ((n * size) / MB);
      console.log(
        `   chunk ${String(chunkSize).padStart(5)}  message ${String(size).padStart(7)} B: ${ns.toFixed(0).padStart(6)} ns/message, ` +
          `${cpuMsPerMb.toFixed(3)} CPU ms/MB, ${out.length} buffers`,
      );
    }
  }
}

async function benchPublish(label: string, url: string, tags: FlvFileTag[], targetMb: number): Promise<void> {
  const headers = headerTagsOf(tags);
  const mediaTags = tags.filter((t) => !t.isHeader);
  const period = mediaTags[mediaTags.length - 1].timestamp + 100;
  const p = new RtmpPublisher({ url, headerTags: () => headers, reconnect: { initialDelayMs: 100, maxDelayMs: 500 } });
  const publishing = once(p, 'publishing', { signal: AbortSignal.timeout(5000) });
  p.start();
  await publishing;
  const limit = 4 * MB;
  const target = targetMb * MB;
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  let i = 0;
  let offset = 0;
  let waits = 0;
  while (p.stats.bytesSent < target) {
    if (p.queuedBytes > limit) {
      waits++;
      await new Promise((r) => setTimeout(r, 1));
      continue;
    }
    for (let k = 0; k < 64; k++) {
      const t = mediaTags[i];
      p.send(offset === 0 ? t : { ...t, timestamp: t.timestamp + offset });
      if (++i === mediaTags.length) {
        i = 0;
        offset += period;
      }
    }
    if ((i & 0xff) < 64) await new Promise((r) => setImmediate(r));
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(c0);
  const stats = p.stats;
  await p.close();
  const mb = stats.bytesSent / MB;
  console.log(
    `   ${label.padEnd(22)} ${mb.toFixed(0)} MB in ${seconds.toFixed(2)} s = ${(mb / seconds).toFixed(0)} MB/s; ` +
      `CPU ${((cpu.user + cpu.system) / 1000 / mb).toFixed(2)} ms/MB (user ${(cpu.user / 1000 / mb).toFixed(2)}, sys ${(cpu.system / 1000 / mb).toFixed(2)}); ` +
      `${stats.tagsSent} tags, drops ${stats.queueDrops} (the clip's first audio tag precedes its first keyframe), feeder waits ${waits}`,
  );
}

async function main(): Promise<void> {
  const targetMb = Number(arg('mb', '400'));
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gbcast-rtmp-bench-'));
  try {
    const clip = path.join(dir, 'clip.flv');
    execFileSync('ffmpeg', [
      '-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=25', '-f', 'lavfi', '-i', 'sine',
      '-c:v', 'libx264', '-preset', 'ultrafast', '-b:v', '6M', '-g', '50', '-c:a', 'aac', '-t', '10', clip,
    ]);
    const tags = readFlvFile(clip).tags;
    const video = tags.filter((t) => t.type === 9);
    const avg = video.reduce((n, t) => n + t.data.length, 0) / video.length;
    console.log(`media: ${tags.length} tags, video ${video.length} frames, average video tag ${(avg / 1024).toFixed(1)} KiB`);

    benchWriter();

    console.log(`2./3. RtmpPublisher, ${targetMb} MB each (CPU of this process per MB put on the wire)`);
    const sink = spawn(process.execPath, [fileURLToPath(import.meta.url), '--sink'], { stdio: ['pipe', 'pipe', 'inherit'] });
    const [portLine] = (await once(sink.stdout!, 'data')) as [Buffer];
    const sinkPort = Number(portLine.toString().trim());
    await benchPublish('discard sink', `rtmp://127.0.0.1:${sinkPort}/live/bench`, tags, targetMb);
    sink.stdin!.end();

    if (!process.argv.includes('--skip-nginx')) {
      const nginx = await startNginxRtmp();
      try {
        await benchPublish('nginx-rtmp', nginx.url('live', 'bench'), tags, targetMb);
      } finally {
        await nginx.stop();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv.includes('--sink')) await runSink();
else await main();
