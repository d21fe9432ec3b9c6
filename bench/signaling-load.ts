/**
 * Signaling load benchmark, with SIPp as the devices.
 *
 *   npm run bench:signaling -- [--devices 10000,100000] [--rate 3000] [--keepalives 20000]
 *
 * Starts redis-server and `gbcast signaling` (compiled, as `npm start` runs things), then:
 * 1. registrations: SIPp registers `--devices` distinct devices with MD5 digest (REGISTER → 401 →
 *    REGISTER with Authorization → 200) at `--rate` per second; prints the achieved rate, failures,
 *    and the signaling process's CPU over the run;
 * 2. keepalives: `--keepalives` Keepalive MESSAGEs from registered devices at `--rate` per second;
 * 3. memory per registered device at each device count: the signaling process's RSS and Redis's
 *    used_memory, before and after, divided by the devices added.
 * SIPp, Redis and signaling share the machine; only the signaling process's CPU is counted.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { startRedisServer } from '../test/support/redis-server.ts';
import { freePort, waitForTcp } from '../test/support/ports.ts';
import { runSipp, sippDevices } from '../test/support/sipp.ts';
import { arg } from './lib/args.ts';
import { cpuSeconds, rssBytes } from './lib/proc.ts';
import { liveHeapBytes } from './lib/inspector.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const deviceCounts = arg('devices', '10000,100000').split(',').map(Number);
const rate = Number(arg('rate', '3000'));
const keepaliveCount = Number(arg('keepalives', '20000'));
const password = 'bench-secret';

const redisServer = await startRedisServer();
const sipPort = await freePort();
const httpPort = await freePort();
const inspectPort = await freePort();
// The default young generation: signaling allocates many short-lived objects per message, and a
// small one (the streamer's --max-semi-space-size=2) costs it a fifth of its throughput.
const flags = ['--max-semi-space-size=16', `--inspect=127.0.0.1:${inspectPort}`, ...(process.env.GBCAST_BENCH_SIGNALING_FLAGS ?? '').split(' ').filter(Boolean)];
const child = spawn(process.execPath, [...flags, path.join(root, 'bin/gbcast.js'), 'signaling'], {
  stdio: ['ignore', 'ignore', 'inherit'],
  env: {
    ...process.env,
    GBCAST_REDIS_URL: redisServer.url,
    GBCAST_SIP_PORT: String(sipPort),
    GBCAST_SIP_HOST: '127.0.0.1',
    GBCAST_HTTP_PORT: String(httpPort),
    GBCAST_HTTP_HOST: '127.0.0.1',
    GBCAST_PUBLIC_ADDRESS: '127.0.0.1',
    GBCAST_PASSWORD: password,
    GBCAST_LOG_LEVEL: 'warn',
    // SIPp does not answer the Catalog/DeviceInfo queries a new device gets; a long keepalive window
    // keeps every device online for the whole run.
    GBCAST_KEEPALIVE_INTERVAL_S: '3600',
  },
});
await waitForTcp(httpPort);
const redis = new Redis(redisServer.url);
const pid = child.pid!;

const settleMs = Number(arg('settle-s', '40')) * 1000;

/** What the heap really retains: after a full GC, through the inspector. */
function heapUsed(): Promise<number> {
  return liveHeapBytes(inspectPort);
}

async function redisUsedMemory(): Promise<number> {
  const info = await redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
}

console.log(`machine: ${(await import('node:os')).cpus().length} CPUs, node ${process.version}; SIPp rate ${rate}/s`);
let registered = 0;
for (const target of deviceCounts) {
  const add = target - registered;
  if (add <= 0) continue;
  const rss0 = rssBytes(pid);
  const heap0 = await heapUsed();
  const mem0 = await redisUsedMemory();
  const cpu0 = cpuSeconds(pid);
  const t0 = performance.now();
  const devices = sippDevices(add, { password, first: registered + 1 });
  const result = await runSipp({
    scenario: 'register',
    remotePort: sipPort,
    devices,
    rate,
    limit: 2000,
    // Devices answer the platform's queries (DeviceInfo, Catalog, DeviceStatus) as real ones do.
    oocScenario: 'uas-answer-message',
    timeoutMs: Math.ceil((add / rate) * 1000) + 120_000,
    statsPeriodS: 5,
  });
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = ((cpuSeconds(pid) - cpu0) / elapsed) * 100;
  registered = target;
  // SIP transactions are kept 32 s after their final response (RFC 3261 timers J/K) to absorb
  // retransmissions: wait them out so what remains is what a registered device really costs.
  await new Promise((r) => setTimeout(r, settleMs));
  const rss1 = rssBytes(pid);
  const heap1 = await heapUsed();
  const mem1 = await redisUsedMemory();
  const online = await redis.zcard('gbcast:presence');
  console.log(
    `register ${add} devices: ${result.successful} ok, ${result.failed} failed in ${elapsed.toFixed(1)} s = ` +
      `${(result.successful / elapsed).toFixed(0)} digest registrations/s; signaling CPU ${cpu.toFixed(0)} % of one core; ${online} online`,
  );
  console.log(
    `  at ${target} devices, ${settleMs / 1000} s later: signaling live heap ${(heap1 / 1e6).toFixed(1)} MB (${(((heap1 - heap0) / add) | 0)} B per added device), ` +
      `RSS ${(rss1 / 1e6).toFixed(1)} MB (${(((rss1 - rss0) / add) | 0)} B per added device), ` +
      `Redis ${(mem1 / 1e6).toFixed(1)} MB (${(((mem1 - mem0) / add) | 0)} B per added device)`,
  );
}

// Refresh: the same devices register again (what a fleet does every Expires). This is the REGISTER
// path alone: the devices are online already, so no queries follow.
{
  const count = Math.min(registered, Number(arg('refresh', '30000')));
  const cpu0 = cpuSeconds(pid);
  const t0 = performance.now();
  const result = await runSipp({
    scenario: 'register',
    remotePort: sipPort,
    devices: sippDevices(count, { password }),
    rate,
    limit: 2000,
    timeoutMs: Math.ceil((count / rate) * 1000) + 120_000,
    statsPeriodS: 5,
  });
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = ((cpuSeconds(pid) - cpu0) / elapsed) * 100;
  console.log(
    `re-register ${count} online devices: ${result.successful} ok, ${result.failed} failed in ${elapsed.toFixed(1)} s = ` +
      `${(result.successful / elapsed).toFixed(0)} digest registrations/s; signaling CPU ${cpu.toFixed(0)} % of one core`,
  );
}

{
  const cpu0 = cpuSeconds(pid);
  const t0 = performance.now();
  const result = await runSipp({
    scenario: 'keepalive',
    remotePort: sipPort,
    devices: sippDevices(Math.min(keepaliveCount, registered), { password }),
    calls: keepaliveCount,
    rate,
    limit: 2000,
    timeoutMs: Math.ceil((keepaliveCount / rate) * 1000) + 60_000,
    statsPeriodS: 5,
  });
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = ((cpuSeconds(pid) - cpu0) / elapsed) * 100;
  console.log(
    `keepalive ${keepaliveCount}: ${result.successful} ok, ${result.failed} failed in ${elapsed.toFixed(1)} s = ` +
      `${(result.successful / elapsed).toFixed(0)} keepalives/s; signaling CPU ${cpu.toFixed(0)} % of one core`,
  );
}

if (process.env.GBCAST_BENCH_METRICS) {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  console.log(text.split('\n').filter((l) => l.startsWith('gbcast_signaling_')).join('\n'));
}
child.kill('SIGTERM');
await new Promise((r) => child.once('exit', r));
redis.disconnect();
await redisServer.stop();
