/**
 * Runs the built `gbcast` executable (bin/gbcast.js → dist/) as a child process, the way the README
 * tells people to, and reads its JSON log lines to learn what it bound.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** `gbcast all` on loopback only, every port picked free (the log says which). */
export const loopbackAllFlags: readonly string[] = [
  '--public-address=127.0.0.1',
  '--sip-host=127.0.0.1',
  '--http-host=127.0.0.1',
  '--rtp-host=127.0.0.1',
  '--sip-port=0',
  '--http-port=0',
  '--streamer-http-port=0',
  '--rtp-port=0',
];

const bin = fileURLToPath(new URL('../../bin/gbcast.js', import.meta.url));

export interface GbcastProcess {
  readonly child: ChildProcess;
  /** Every JSON log line so far. */
  readonly lines: Record<string, unknown>[];
  /** Resolves with the first log line that `match` accepts (also one already seen). */
  waitForLog(what: string, match: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code (null when killed). */
  stop(graceMs?: number): Promise<number | null>;
}

export function startGbcast(args: readonly string[], env: NodeJS.ProcessEnv = {}): GbcastProcess {
  const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Record<string, unknown>[] = [];
  const waiters = new Set<{ match: (line: Record<string, unknown>) => boolean; resolve: (line: Record<string, unknown>) => void }>();
  const stderr: string[] = [];
  const echo = Boolean(process.env.GBCAST_TEST_LOGS);
  createInterface({ input: child.stdout! }).on('line', (text) => {
    if (echo) process.stderr.write(`[gbcast ${args[0]}] ${text}\n`);
    let line: Record<string, unknown>;
    try {
      line = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return;
    }
    lines.push(line);
    for (const w of waiters) if (w.match(line)) w.resolve(line);
  });
  createInterface({ input: child.stderr! }).on('line', (text) => {
    stderr.push(text);
    if (echo) process.stderr.write(`[gbcast ${args[0]} stderr] ${text}\n`);
  });
  const exited = once(child, 'exit').then(([code]) => code as number | null);

  return {
    child,
    lines,
    waitForLog(what, match, timeoutMs = 30_000) {
      const seen = lines.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const waiter = {
          match,
          resolve: (line: Record<string, unknown>) => {
            cleanup();
            resolve(line);
          },
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out waiting for ${what}; stderr: ${stderr.slice(-20).join('\n')}`));
        }, timeoutMs);
        void exited.then((code) => {
          cleanup();
          reject(new Error(`gbcast exited (${code}) before ${what}; stderr: ${stderr.slice(-20).join('\n')}`));
        });
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(waiter);
        };
        waiters.add(waiter);
      });
    },
    async stop(graceMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
