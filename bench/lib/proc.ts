/** CPU and memory of another process, read from /proc (Linux). */
import { readFileSync } from 'node:fs';

const CLOCK_TICKS = 100; // sysconf(_SC_CLK_TCK) on Linux x86_64

/** User + system CPU seconds the process has used so far. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** Resident set size in bytes. */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) * 1024 : 0;
}

/** CPU percent of one core used by `pid` over `ms`, and its RSS at the end. */
export async function measure(pid: number, ms: number): Promise<{ cpuPercent: number; rss: number }> {
  const c0 = cpuSeconds(pid);
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, ms));
  const c1 = cpuSeconds(pid);
  const elapsed = (performance.now() - t0) / 1000;
  return { cpuPercent: ((c1 - c0) / elapsed) * 100, rss: rssBytes(pid) };
}
