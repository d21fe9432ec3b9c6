/**
 * Who the simulated devices are: the server they register to, their 20-digit IDs and those of their
 * channels. Pure functions; bad values from the command line come back as problem strings (config
 * checks), bad values from our own code throw RangeError.
 */
import net from 'node:net';

/** The platform a device registers to (`--server sip:34020000002000000001@127.0.0.1:5060`). */
export interface ServerTarget {
  /** The platform's 20-digit SIP ID. */
  id: string;
  /** Host name or IP address (IPv6 without brackets). */
  host: string;
  port: number;
}

const GB_ID = /^\d{20}$/;
const SERIAL_DIGITS = 7;
const SERIAL_MODULUS = 10 ** SERIAL_DIGITS;

export function isGbId(id: string): boolean {
  return GB_ID.test(id);
}

/**
 * Reads `sip:ID@host:port`, `sip:ID@host` (port 5060), `sip:ID@[v6]:port`, with or without the
 * `sip:` scheme. Returns the target or a description of what is wrong.
 */
export function parseServerTarget(text: string): ServerTarget | string {
  const m = /^(?:sip:)?([^@\s]+)@(\[[0-9A-Fa-f:.]+\]|[^:\s;>]+)(?::(\d{1,5}))?$/i.exec(text.trim());
  if (!m) return `expected sip:SERVER_ID@HOST[:PORT], got "${text}"`;
  const [, id, rawHost, rawPort] = m;
  if (!isGbId(id)) return `the server ID must be 20 digits, got "${id}"`;
  const host = rawHost.startsWith('[') ? rawHost.slice(1, -1) : rawHost;
  if (rawHost.startsWith('[') && net.isIPv6(host) === false) return `bad IPv6 address "${rawHost}"`;
  const port = rawPort === undefined ? 5060 : Number(rawPort);
  if (port < 1 || port > 65535) return `port out of range: ${rawPort}`;
  return { id, host, port };
}

/** The SIP domain of a GB ID: its first 10 digits (centre code and industry). */
export function realmOf(serverId: string): string {
  return serverId.slice(0, 10);
}

/** The 7-digit serial at the end of a GB ID. */
export function serialOf(id: string): number {
  return Number(id.slice(-SERIAL_DIGITS));
}

/** The i-th device ID after `first` (i = 0 is `first`): the serial counts up. Throws past 9999999. */
export function deviceIdAt(first: string, i: number): string {
  if (!isGbId(first)) throw new RangeError(`device ID must be 20 digits, got ${JSON.stringify(first)}`);
  const serial = serialOf(first) + i;
  if (!Number.isInteger(i) || i < 0 || serial >= SERIAL_MODULUS) throw new RangeError(`device serial out of range: ${first} + ${i}`);
  return first.slice(0, 13) + String(serial).padStart(SERIAL_DIGITS, '0');
}

/** A problem with `count` devices starting at `first`, or undefined. */
export function checkDeviceRange(first: string, count: number): string | undefined {
  if (!isGbId(first)) return `device ID must be 20 digits, got "${first}"`;
  if (serialOf(first) + count - 1 >= SERIAL_MODULUS) return `${count} devices from ${first} run past serial 9999999`;
  return undefined;
}

/**
 * Channel IDs of a device: `{first 10 digits}131{serial}`, type 131 (IP camera). The serials of
 * device serial s with n channels per device are (s-1)·n+1 … s·n (mod 10^7), so the channels of
 * consecutive devices never collide: device …1320000001 with one channel has channel …1310000001.
 */
export function channelIdsOf(deviceId: string, channels: number): string[] {
  if (!isGbId(deviceId)) throw new RangeError(`device ID must be 20 digits, got ${JSON.stringify(deviceId)}`);
  if (!Number.isInteger(channels) || channels < 0) throw new RangeError(`bad channel count ${channels}`);
  const prefix = deviceId.slice(0, 10) + '131';
  const base = (serialOf(deviceId) - 1) * channels;
  const ids: string[] = [];
  for (let c = 1; c <= channels; c++) {
    const serial = (((base + c) % SERIAL_MODULUS) + SERIAL_MODULUS) % SERIAL_MODULUS;
    ids.push(prefix + String(serial).padStart(SERIAL_DIGITS, '0'));
  }
  return ids;
}
