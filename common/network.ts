import os from 'node:os';

/** The first non-internal IPv4 address of this host (what devices most likely reach), else loopback. */
export function defaultPublicAddress(): string {
  for (const addrs of Object.values(os.networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}
