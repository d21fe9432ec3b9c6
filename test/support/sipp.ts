/**
 * SIPp (Debian's sip-tester) as an independent GB28181 device for tests and benchmarks: it
 * registers with digest authentication, sends keepalives, unregisters, replays a digest, and
 * answers platform MESSAGEs, from the scenarios in `sipp-scenarios/` (each documents its flow,
 * its `-key`s and its injection fields).
 *
 *   const devices = sippDevices(100, { password: 'secret' });
 *   const r = await runSipp({ scenario: 'register', remotePort: sip.port, devices, rate: 50 });
 *   assert.equal(r.exitCode, SIPP_EXIT.allSucceeded);   // or r.successful === 100
 *
 *   const bg = await startSippBackground({ scenario: 'device', remotePort, devices,
 *     keys: { keepalives: -1, keepalive_interval: 1000 }, oocScenario: 'uas-answer-message' });
 *   ...
 *   const result = await bg.stop();
 *
 * Every run has its own temp dir (injection CSV, statistics, error log, optional message trace) as
 * SIPp's working directory, binds a free loopback port (SIPp would otherwise try 5060 first) and
 * runs in the foreground with `-nostdin`; the process is killed on timeout, on stop() and when the
 * test process exits. The result comes from SIPp's exit code and the last row of its `-trace_stat`
 * file (cumulative counters), plus per-call response times with `traceRtt`.
 *
 * SIPp exit codes (SIPP_EXIT): 0 every call succeeded; 1 at least one call failed; 97 SIPp quit on
 * an internal command (calls may have been processed); 99 normal exit without any call processed;
 * 255 (-1) fatal error, which includes a scenario error (an unknown [keyword]), a refused TCP
 * connection and the global `-timeout` with `-timeout_error` (this harness always passes both:
 * `-timeout` alone only stops new calls and waits for the pending ones, possibly forever); 254 (-2)
 * the local socket could not be bound (retried here on another free port). SIGTERM ends SIPp at
 * once (exit 0 when no call had failed, final statistics written); SIGUSR1 is a soft quit that
 * waits for the calls in progress.
 *
 * SIPp facts these scenarios rely on:
 * - `[authentication username=[field0] ...]` does not work (SIPp 3.6 mangles nested keywords), but
 *   an injection field is expanded as a keyword, so the CSV carries the whole `[authentication
 *   username=... password=...]` keyword (deviceCsv writes it). SIPp answers a qop="auth" challenge
 *   with qop=auth, nc and a cnonce, and a challenge without qop with the RFC 2069 response.
 * - The digest uri is `sip:<remote ip:port>` unless `-auth_uri` says otherwise: runSipp passes
 *   `<server_id>@<domain>`, the request URI, as a device computes it.
 * - `[cseq]` increases by one on every request a call sends; `[len]` is the body length (padded
 *   with spaces, which is valid SIP).
 * - Actions on a `<send>` run on the message sent: replay.xml captures its own Authorization.
 * - A variable assigned but never read is a scenario error unless listed in `<Reference>`.
 * - An unknown `-key` is harmless, a `[key]` with no `-key` is a fatal scenario error: runSipp
 *   always passes the defaults of SIPP_DEFAULT_KEYS.
 * - By default SIPp answers a failed call with a BYE, even outside a dialog; runSipp turns that off
 *   (`-default_behaviors all,-bye`).
 * - UDP requests are retransmitted from `retrans` (500 ms) doubling to 4 s; TCP has no
 *   retransmission, so a lost answer is only noticed by `-recv_timeout` (recvTimeoutMs).
 * - `-t t1` (tcp here) opens ONE TCP connection for all calls at start (exit 255 if it is refused);
 *   `-t u1` (udp) sends every call from one socket. Requests from the platform with an unknown
 *   Call-ID go to the out-of-call scenario (`-oocsf`, oocScenario) on that same socket/connection.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './ports.ts';

/** The folder of the scenario files. */
export const SIPP_SCENARIO_DIR = fileURLToPath(new URL('./sipp-scenarios/', import.meta.url));

/** The scenarios in sipp-scenarios/ (see each file's comment for its flow). */
export const SIPP_SCENARIOS = [
  'register',
  'register-wrong-password',
  'unregister',
  'keepalive',
  'keepalive-unknown',
  'replay',
  'device',
  'uas-answer-message',
] as const;
export type SippScenarioName = (typeof SIPP_SCENARIOS)[number];

/** SIPp's exit codes. */
export const SIPP_EXIT = {
  allSucceeded: 0,
  someFailed: 1,
  internalCommand: 97,
  noCallProcessed: 99,
  fatal: 255,
  bindFailed: 254,
} as const;

export type SippOutcome =
  | 'all-succeeded'
  | 'some-failed'
  | 'internal-command'
  | 'no-call-processed'
  | 'fatal'
  | 'bind-failed'
  | 'timed-out'
  | 'killed'
  | 'unknown';

/** Values of the `[key]`s the scenarios use when the options do not set them. */
export const SIPP_DEFAULT_KEYS = {
  server_id: '34020000002000000001',
  domain: '3402000000',
  expires: 3600,
  keepalives: 0,
  keepalive_interval: 60_000,
  unregister: 0,
} as const;

/** The absolute path of a scenario file, from its name (a path is returned as it is). */
export function sippScenarioPath(scenario: string): string {
  if (scenario.includes('/') || scenario.endsWith('.xml')) return path.resolve(scenario);
  return path.join(SIPP_SCENARIO_DIR, `${scenario}.xml`);
}

// ---------------------------------------------------------------------------------------------
// Devices and the injection file

export interface SippDevice {
  /** 20-digit GB28181 device ID (field0). */
  readonly id: string;
  /** Digest password (field1). */
  readonly password: string;
}

export interface SippDeviceIdOptions {
  /** The 10 digits the IDs start with: 8 of region and 2 of industry, the SIP domain (default 3402000000). */
  domain?: string;
  /** 3-digit type (default 132, IP camera). */
  type?: string;
  /** Serial of the first ID (default 1). */
  first?: number;
}

/** `count` distinct device IDs: domain (10 digits) + type (3) + a 7-digit serial from `first`. */
export function gbDeviceIds(count: number, o: SippDeviceIdOptions = {}): string[] {
  const prefix = `${o.domain ?? '3402000000'}${o.type ?? '132'}`;
  const first = o.first ?? 1;
  if (!/^\d{13}$/.test(prefix)) throw new Error(`device ID prefix ${prefix} is not 10 + 3 digits`);
  if (first < 0 || first + count - 1 > 9_999_999) throw new Error('device serials must fit in 7 digits');
  return Array.from({ length: count }, (_, i) => prefix + String(first + i).padStart(7, '0'));
}

/** `count` devices (gbDeviceIds) sharing one password (default 'secret'). */
export function sippDevices(count: number, o: SippDeviceIdOptions & { password?: string } = {}): SippDevice[] {
  const password = o.password ?? 'secret';
  return gbDeviceIds(count, o).map((id) => ({ id, password }));
}

/** How SIPp takes lines from an injection file: in order (wrapping around), at random, or per user. */
export type SippInjectionOrder = 'SEQUENTIAL' | 'RANDOM' | 'USER';

/**
 * The injection CSV for the scenarios, one device a line:
 * `field0 id; field1 password; field2 [authentication username=id password=password];
 *  field3 the same with the password followed by "-wrong"` (register-wrong-password.xml).
 * IDs and passwords may not hold whitespace, `;`, `[`, `]` or `"`.
 */
export function deviceCsv(devices: readonly SippDevice[], order: SippInjectionOrder = 'SEQUENTIAL'): string {
  if (devices.length === 0) throw new Error('deviceCsv needs at least one device');
  const lines = devices.map(({ id, password }) => {
    for (const v of [id, password]) {
      if (v === '' || /[\s;[\]"]/.test(v)) throw new Error(`unusable value in a SIPp injection file: ${JSON.stringify(v)}`);
    }
    const auth = (pw: string): string => `[authentication username=${id} password=${pw}]`;
    return [id, password, auth(password), auth(`${password}-wrong`)].join(';');
  });
  return `${order}\n${lines.join('\n')}\n`;
}

export async function writeDeviceCsv(file: string, devices: readonly SippDevice[], order: SippInjectionOrder = 'SEQUENTIAL'): Promise<void> {
  await writeFile(file, deviceCsv(devices, order));
}

// ---------------------------------------------------------------------------------------------
// Running SIPp

export interface SippOptions {
  /** A name from SIPP_SCENARIOS, or the path of a scenario file. */
  scenario: SippScenarioName | (string & {});
  /** The platform's SIP port. */
  remotePort: number;
  /** Default 127.0.0.1. */
  remoteHost?: string;
  /** Default 'udp' (`-t u1`); 'tcp' is `-t t1`, one connection for every call. */
  transport?: 'udp' | 'tcp';
  /** Local address for the socket, Via and Contact (default 127.0.0.1, bound with -bind_local). */
  localHost?: string;
  /** Local SIP port; default a free loopback port (SIPp's own default is 5060). */
  localPort?: number;
  /** Devices to inject: written as the run's CSV (deviceCsv) in `order`. */
  devices?: readonly SippDevice[];
  /** Default 'SEQUENTIAL'. */
  order?: SippInjectionOrder;
  /** An injection file of your own instead of `devices` (`-inf`). */
  injectionFile?: string;
  /** `-m`: calls to make before exiting (default: the number of devices, else 1). */
  calls?: number;
  /** `-r`: new calls per rate period (default 10; SIPp's default too). */
  rate?: number;
  /** `-rp`: the rate period in ms (default 1000). */
  ratePeriodMs?: number;
  /** `-l`: most calls at once (default: `calls`, so long calls such as device.xml never wait). */
  limit?: number;
  /** Values for the scenario's `[key]`s, on top of SIPP_DEFAULT_KEYS. */
  keys?: Readonly<Record<string, string | number>>;
  /** Platform ID and domain (keys server_id and domain; the domain defaults to the ID's first 10 digits). */
  serverId?: string;
  domain?: string;
  /** `-auth_uri` (without `sip:`); default `<server_id>@<domain>`, the request URI. */
  authUri?: string;
  /** Out-of-call scenario (`-oocsf`) for requests from the platform, e.g. 'uas-answer-message'. */
  oocScenario?: SippScenarioName | (string & {});
  /**
   * Overall limit in ms: SIPp's `-timeout` with `-timeout_error` (exit 255), and a kill 5 s later
   * whatever SIPp does. runSipp default 30 s; startSippBackground: none unless given.
   */
  timeoutMs?: number;
  /** `-recv_timeout`: a call waiting longer than this for a message fails (default 5000 ms). */
  recvTimeoutMs?: number;
  /** `-trace_msg` into the result's `messages` (also on with GBCAST_SIPP_TRACE=1). */
  traceMessages?: boolean;
  /** `-trace_rtt -rtt_freq 1`: every response time into the result's `responseTimes`. */
  traceRtt?: boolean;
  /** `-fd`: statistics row period in s (default 1). */
  statsPeriodS?: number;
  /** Keep the run's temp dir (the result's `dir`); also with GBCAST_SIPP_TRACE=1. */
  keepDir?: boolean;
  /** Further SIPp arguments, appended last. */
  extraArgs?: readonly string[];
}

export interface SippStats {
  /** Every column of the last row of the statistics file, as SIPp wrote it. */
  readonly columns: Readonly<Record<string, string>>;
  readonly created: number;
  readonly current: number;
  readonly successful: number;
  readonly failed: number;
  readonly incoming: number;
  readonly outgoing: number;
  readonly retransmissions: number;
  readonly outOfCallMessages: number;
  readonly deadCallMessages: number;
  /** The failure counters (`Failed…(C)` columns without the prefix), non-zero ones only. */
  readonly failures: Readonly<Record<string, number>>;
  readonly elapsedMs: number;
  /** Average calls per second since the start. */
  readonly callRate: number;
  /** Average response time of RTD 1, 2, … (index 0 is RTD 1), ms. */
  readonly responseTimeMs: readonly number[];
  readonly callLengthMs: number;
}

export interface SippResponseTime {
  /** RTD number (1 = registration in register/device.xml, 2 = keepalive in device.xml). */
  readonly rtd: number;
  readonly ms: number;
}

export interface SippResult {
  /** null when SIPp was ended by a signal. */
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly outcome: SippOutcome;
  /** The overall timeout was reached (SIPp's own, or the kill after it). */
  readonly timedOut: boolean;
  /** Calls that completed the scenario / failed it, from the statistics (0 without them). */
  readonly successful: number;
  readonly failed: number;
  readonly stats: SippStats | undefined;
  /** Per-call response times (traceRtt). */
  readonly responseTimes: readonly SippResponseTime[];
  readonly localPort: number;
  /** SIPp's stderr (fatal errors, the first unexpected message). */
  readonly stderr: string;
  /** The end of SIPp's screen output (the final statistics screen). */
  readonly stdout: string;
  /** The `-trace_err` log: every unexpected message and failed call. */
  readonly errors: string;
  /** The `-trace_msg` log (traceMessages). */
  readonly messages: string;
  /** The run's dir when kept (keepDir), else ''. */
  readonly dir: string;
  /** The command line, for messages. */
  readonly command: string;
}

export interface SippBackground {
  readonly pid: number | undefined;
  readonly localPort: number;
  readonly dir: string;
  /** Resolves when SIPp exits by itself or is stopped. */
  readonly done: Promise<SippResult>;
  /** Kills SIPp (SIGTERM; `graceful`: SIGUSR1 first, SIGTERM after graceMs) and returns the result. */
  stop(o?: { graceful?: boolean; graceMs?: number }): Promise<SippResult>;
  [Symbol.asyncDispose](): Promise<void>;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of running) p.kill('SIGKILL');
});

/** Runs SIPp to its end (the `-m` calls, the timeout or a fatal error). Never throws for a failed run. */
export async function runSipp(options: SippOptions): Promise<SippResult> {
  const o = { timeoutMs: 30_000, ...options };
  for (let attempt = 1; ; attempt++) {
    const bg = await launch(o);
    const result = await bg.done;
    if (result.exitCode === SIPP_EXIT.bindFailed && options.localPort === undefined && attempt < 3) continue;
    return result;
  }
}

/** Starts SIPp and returns once it runs (for keepalive loops or a device waiting for requests). */
export async function startSippBackground(options: SippOptions): Promise<SippBackground> {
  for (let attempt = 1; ; attempt++) {
    const bg = await launch(options);
    // A bind failure or a fatal start-up error shows within moments.
    const early = await Promise.race([bg.done, new Promise<undefined>((r) => setTimeout(() => r(undefined), 300))]);
    if (early === undefined) return bg;
    if (early.exitCode === SIPP_EXIT.bindFailed && options.localPort === undefined && attempt < 3) continue;
    throw new Error(`sipp exited at start (${early.outcome}, exit ${early.exitCode}): ${early.stderr.trim()}\n${early.command}`);
  }
}

function sippArgs(o: SippOptions, localPort: number, files: RunFiles): string[] {
  const serverId = o.serverId ?? String(o.keys?.server_id ?? SIPP_DEFAULT_KEYS.server_id);
  const domain = o.domain ?? String(o.keys?.domain ?? serverId.slice(0, 10));
  const keys: Record<string, string | number> = { ...SIPP_DEFAULT_KEYS, ...o.keys, server_id: serverId, domain };
  const calls = o.calls ?? o.devices?.length ?? 1;
  const args = [
    `${o.remoteHost ?? '127.0.0.1'}:${o.remotePort}`,
    '-sf', sippScenarioPath(o.scenario),
    '-t', o.transport === 'tcp' ? 't1' : 'u1',
    '-i', o.localHost ?? '127.0.0.1',
    '-bind_local',
    '-p', String(localPort),
    '-nostdin',
    '-m', String(calls),
    '-r', String(o.rate ?? 10),
    '-rp', `${o.ratePeriodMs ?? 1000}ms`,
    '-l', String(o.limit ?? calls),
    '-auth_uri', o.authUri ?? `${serverId}@${domain}`,
    '-recv_timeout', `${o.recvTimeoutMs ?? 5000}ms`,
    '-default_behaviors', 'all,-bye',
    '-trace_stat', '-stf', files.stat, '-fd', `${o.statsPeriodS ?? 1}s`,
    '-trace_err', '-error_file', files.errors,
  ];
  for (const [k, v] of Object.entries(keys)) args.push('-key', k, String(v));
  if (files.injection) args.push('-inf', files.injection);
  if (o.oocScenario) args.push('-oocsf', sippScenarioPath(o.oocScenario));
  if (o.timeoutMs !== undefined) args.push('-timeout', `${Math.max(1, Math.ceil(o.timeoutMs / 1000))}s`, '-timeout_error');
  if (files.messages) args.push('-trace_msg', '-message_file', files.messages);
  if (o.traceRtt) args.push('-trace_rtt', '-rtt_freq', '1');
  args.push(...(o.extraArgs ?? []));
  return args;
}

interface RunFiles {
  stat: string;
  errors: string;
  messages: string | undefined;
  injection: string | undefined;
}

async function launch(o: SippOptions): Promise<SippBackground> {
  const trace = process.env.GBCAST_SIPP_TRACE === '1';
  const dir = await mkdtemp(path.join(os.tmpdir(), 'gbcast-sipp-'));
  const files: RunFiles = {
    stat: path.join(dir, 'stat.csv'),
    errors: path.join(dir, 'errors.log'),
    messages: o.traceMessages || trace ? path.join(dir, 'messages.log') : undefined,
    injection: o.injectionFile ? path.resolve(o.injectionFile) : undefined,
  };
  if (o.devices) {
    files.injection = path.join(dir, 'devices.csv');
    await writeDeviceCsv(files.injection, o.devices, o.order);
  }
  const localPort = o.localPort ?? (await freePort());
  const args = sippArgs(o, localPort, files);
  const command = ['sipp', ...args].map((a) => (/[\s[\]]/.test(a) ? JSON.stringify(a) : a)).join(' ');

  const child = spawn('sipp', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => {
    stdout = (stdout + d.toString('latin1')).slice(-16_384);
  });
  child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString('latin1')).slice(-65_536);
  });

  let killedForTimeout = false;
  let stopping = false;
  const timers: NodeJS.Timeout[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; spawnError?: Error }>((resolve) => {
    child.once('error', (err) => resolve({ code: null, signal: null, spawnError: err }));
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  if (o.timeoutMs !== undefined) {
    const t = setTimeout(() => {
      killedForTimeout = true;
      child.kill('SIGKILL');
    }, o.timeoutMs + 5000);
    timers.push(t);
  }

  const done = exited.then(async ({ code, signal, spawnError }): Promise<SippResult> => {
    running.delete(child);
    for (const t of timers) clearTimeout(t);
    if (spawnError) {
      await rm(dir, { recursive: true, force: true });
      const hint = (spawnError as NodeJS.ErrnoException).code === 'ENOENT' ? ' (install sip-tester: bash scripts/ensure-deps.sh --test)' : '';
      throw new Error(`cannot start sipp${hint}: ${spawnError.message}`);
    }
    const statText = await readFile(files.stat, 'latin1').catch(() => '');
    const stats = parseSippStats(statText);
    const errors = await readTail(files.errors);
    const messages = files.messages ? await readTail(files.messages, 4 << 20) : '';
    const responseTimes = o.traceRtt ? await readRtt(dir) : [];
    const timedOut = killedForTimeout || /timed out after/.test(stderr);
    const keep = o.keepDir === true || trace;
    if (!keep) await rm(dir, { recursive: true, force: true });
    return {
      exitCode: code,
      signal,
      outcome: outcomeOf(code, signal, timedOut, stopping),
      timedOut,
      successful: stats?.successful ?? 0,
      failed: stats?.failed ?? 0,
      stats,
      responseTimes,
      localPort,
      stderr,
      stdout,
      errors,
      messages,
      dir: keep ? dir : '',
      command,
    };
  });
  // Nobody may be awaiting `done` yet (startSippBackground): keep a spawn error from being unhandled.
  done.catch(() => {});

  const stop = async (so: { graceful?: boolean; graceMs?: number } = {}): Promise<SippResult> => {
    if (child.exitCode === null && child.signalCode === null) {
      stopping = true;
      if (so.graceful) {
        child.kill('SIGUSR1');
        const t = setTimeout(() => child.kill('SIGTERM'), so.graceMs ?? 5000);
        timers.push(t);
      } else {
        child.kill('SIGTERM');
      }
      timers.push(setTimeout(() => child.kill('SIGKILL'), (so.graceMs ?? 5000) + 3000));
    }
    return done;
  };

  return {
    pid: child.pid,
    localPort,
    dir,
    done,
    stop,
    [Symbol.asyncDispose]: async () => {
      await stop();
    },
  };
}

function outcomeOf(code: number | null, signal: NodeJS.Signals | null, timedOut: boolean, stopped: boolean): SippOutcome {
  if (timedOut) return 'timed-out';
  if (code === null) return stopped || signal ? 'killed' : 'unknown';
  switch (code) {
    case SIPP_EXIT.allSucceeded:
      return 'all-succeeded';
    case SIPP_EXIT.someFailed:
      return 'some-failed';
    case SIPP_EXIT.internalCommand:
      return 'internal-command';
    case SIPP_EXIT.noCallProcessed:
      return 'no-call-processed';
    case SIPP_EXIT.fatal:
      return 'fatal';
    case SIPP_EXIT.bindFailed:
      return 'bind-failed';
    default:
      return 'unknown';
  }
}

async function readTail(file: string, max = 256 << 10): Promise<string> {
  const text = await readFile(file, 'latin1').catch(() => '');
  return text.length > max ? text.slice(-max) : text;
}

/** `hh:mm:ss` or `hh:mm:ss:usec` (SIPp's durations) in ms; NaN when it is neither. */
export function sippDurationMs(text: string): number {
  const parts = text.trim().split(':').map(Number);
  if (parts.length < 3 || parts.some((n) => !Number.isFinite(n))) return Number.NaN;
  const [h, m, s, us = 0] = parts;
  return ((h * 60 + m) * 60 + s) * 1000 + us / 1000;
}

/** The last row of a `-trace_stat` file (';'-separated, a header row first), or undefined. */
export function parseSippStats(text: string): SippStats | undefined {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  if (lines.length < 2) return undefined;
  const names = lines[0].split(';');
  const values = lines[lines.length - 1].split(';');
  const columns: Record<string, string> = {};
  names.forEach((name, i) => {
    if (name !== '') columns[name] = values[i] ?? '';
  });
  const num = (name: string): number => {
    const v = Number(columns[name]);
    return Number.isFinite(v) ? v : 0;
  };
  const failures: Record<string, number> = {};
  for (const name of names) {
    const m = /^Failed(\w+)\(C\)$/.exec(name);
    if (m && m[1] !== 'Call' && num(name) > 0) failures[m[1]] = num(name);
  }
  const responseTimeMs: number[] = [];
  for (let i = 1; `ResponseTime${i}(C)` in columns; i++) responseTimeMs.push(sippDurationMs(columns[`ResponseTime${i}(C)`]));
  return {
    columns,
    created: num('TotalCallCreated'),
    current: num('CurrentCall'),
    successful: num('SuccessfulCall(C)'),
    failed: num('FailedCall(C)'),
    incoming: num('IncomingCall(C)'),
    outgoing: num('OutgoingCall(C)'),
    retransmissions: num('Retransmissions(C)'),
    outOfCallMessages: num('OutOfCallMsgs(C)'),
    deadCallMessages: num('DeadCallMsgs(C)'),
    failures,
    elapsedMs: sippDurationMs(columns['ElapsedTime(C)'] ?? ''),
    callRate: num('CallRate(C)'),
    responseTimeMs,
    callLengthMs: sippDurationMs(columns['CallLength(C)'] ?? ''),
  };
}

/** The `<scenario>_<pid>_rtt.csv` file SIPp writes in its working dir: `Date_ms;response_time_ms;rtd_no`. */
async function readRtt(dir: string): Promise<SippResponseTime[]> {
  const out: SippResponseTime[] = [];
  for (const f of await readdir(dir).catch(() => [] as string[])) {
    if (!f.endsWith('_rtt.csv')) continue;
    for (const line of (await readFile(path.join(dir, f), 'latin1')).split('\n')) {
      const [, ms, rtd] = line.split(';');
      if (rtd === undefined || !/^\d/.test(ms)) continue;
      out.push({ rtd: Number(rtd), ms: Number(ms) });
    }
  }
  return out;
}
