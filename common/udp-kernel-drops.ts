/**
 * Datagrams the kernel dropped for the media port because its receive buffer was full: the
 * `drops` column of /proc/net/udp (Linux; the pod's own network namespace). Read at scrape time.
 * When this grows, the streamer is not reading fast enough for the buffer it has: raise
 * net.core.rmem_max (and --udp-recv-buffer-bytes) or move streams to more pods.
 */
import { readFileSync } from 'node:fs';

/** Sum of `drops` over the UDP sockets bound to `port` in a /proc/net/udp text. */
export function parseUdpDrops(procNetUdp: string, port: number): number {
  const portHex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  let drops = 0;
  for (const line of procNetUdp.split('\n')) {
    const fields = line.trim().split(/\s+/);
    // sl local_address rem_address st tx:rx tr:tm retrnsmt uid timeout inode ref pointer drops
    if (fields.length < 13 || !fields[1].endsWith(portHex)) continue;
    const n = Number(fields[12]);
    if (Number.isFinite(n)) drops += n;
  }
  return drops;
}

/** Kernel drops on `port` (IPv4 sockets), 0 where /proc/net/udp cannot be read. */
export function readUdpDrops(port: number, file = '/proc/net/udp'): number {
  if (port <= 0) return 0;
  try {
    return parseUdpDrops(readFileSync(file, 'latin1'), port);
  } catch {
    return 0;
  }
}
