/**
 * The device side of the store: registration, presence, what devices told us, their channels,
 * credentials and the digest bookkeeping (nonce uses, failure counters).
 *
 * Two implementations honour this contract: `RedisDeviceStore` (common/redis/device-store.ts),
 * shared by every signaling replica, and `MemoryDeviceStore` (common/store/memory/), for one
 * process. test/store-contract.test.ts runs the same cases against both.
 *
 * Every method is atomic: no caller sees a half-applied change, and a change and its event are
 * one step. `device.online` / `device.offline` go to the backend's events channel exactly once per
 * change of the online flag, whichever caller or replica makes it.
 */
import type { DeviceOfflineReason, MediaTransport } from '../contracts.ts';

/** A device as the store keeps it; numbers are ms timestamps or counts, strings what the device sent. */
export interface DeviceRecord {
  id: string;
  online: boolean;
  transport: 'UDP' | 'TCP';
  ip: string;
  port: number;
  registeredAt: number;
  /** When the registration runs out (0 after an unregister). */
  expiresAt: number;
  lastKeepaliveAt: number;
  name?: string;
  manufacturer?: string;
  model?: string;
  firmware?: string;
  channelCount?: number;
  /** From DeviceStatus: OK or ERROR, recording ON/OFF, the device's clock. */
  status?: string;
  recording?: string;
  deviceTime?: string;
}

/** What a DeviceInfo or DeviceStatus answer may set on a device. */
export type DeviceInfo = Partial<Pick<DeviceRecord, 'name' | 'manufacturer' | 'model' | 'firmware' | 'status' | 'recording' | 'deviceTime'>>;

export interface ChannelRecord {
  id: string;
  name?: string;
  manufacturer?: string;
  model?: string;
  status?: 'ON' | 'OFF';
  parentId?: string;
  address?: string;
  ptzType?: number;
  longitude?: number;
  latitude?: number;
  [field: string]: unknown;
}

export interface RegistrationInput {
  id: string;
  transport: 'UDP' | 'TCP';
  ip: string;
  port: number;
  now: number;
  expiresAt: number;
  /** When the device counts as offline without a keepalive (≤ expiresAt). */
  deadline: number;
}

export interface AuthPrepared {
  deviceFailures: number;
  ipFailures: number;
  /** The device's own password, if it has one. */
  credential: string | undefined;
  /** False when the nonce use was claimed before: a replay. */
  nonceFresh: boolean;
}

export type KeepaliveResult = 'unknown' | 'alive' | 'back-online';

/** A channel signaling keeps streaming while its device is online. */
export interface AlwaysOnChannel {
  channelId: string;
  /** Where it is pushed; signaling's --rtmp-url-template when absent. */
  rtmpUrl?: string;
}

/**
 * How a device is to be served, written by the operator from its GbCamera (or through the API):
 * independent of the device's registration, so it may exist before the device ever registers.
 */
export interface DeviceConfig {
  /** Streamer pool of its streams; signaling's --default-pool when absent. */
  pool?: string;
  /** A display name (the GbCamera's). */
  name?: string;
  /** Media transport of a play that names none; signaling's --default-transport when absent. */
  transport?: MediaTransport;
  alwaysOn: AlwaysOnChannel[];
}

/** The restart backoff of one always-on channel, shared by the signaling replicas. */
export interface AlwaysOnBackoff {
  /** Failures in a row (streams that ended soon after they started, plays that failed). */
  failures: number;
  /** No replica starts the channel before this time (ms) unless its device comes online again. */
  notBefore: number;
}

export interface DeviceStore {
  /**
   * Records a successful REGISTER: the device's address and times, online, its presence deadline
   * set to `input.deadline`; what it said about itself (name, channels…) is kept. True, with one
   * `device.online` event, when the device was not online before.
   */
  register(input: RegistrationInput): Promise<boolean>;

  /**
   * `Expires: 0`: offline, `expiresAt` 0, no presence deadline. True, with one `device.offline`
   * (reason `unregistered`) event, when the device was online; false for an unknown device.
   */
  unregister(id: string, now: number): Promise<boolean>;

  /**
   * A keepalive: 'unknown' when the device is unknown or its registration ran out (expiresAt ≤
   * now), and then nothing changes. Else the presence deadline moves to now + windowMs (never past
   * expiresAt) and 'alive' is returned, or 'back-online' with one `device.online` event when it
   * was offline.
   */
  keepalive(id: string, now: number, windowMs: number): Promise<KeepaliveResult>;

  /**
   * Takes up to `limit` devices whose presence deadline is ≤ now (earliest first) off the presence
   * schedule and marks those still online offline, each with one `device.offline` event: reason
   * `expired` when its registration ran out (expiresAt ≤ now), else `keepalive-timeout`. Returns
   * how many deadlines it took; concurrent sweeps (any replica) never take the same one twice.
   */
  sweep(now: number, limit?: number): Promise<number>;

  /**
   * Everything an authenticated REGISTER needs before the digest check, in one step: failures
   * counted for the device and for the address in their current windows, the device's own
   * password, and the claim of the nonce use `nonceUseId`. The claim lives `nonceTtlMs` (at least
   * 1 ms): a second claim within it is a replay (`nonceFresh` false); after it the entry is gone.
   */
  authPrepare(id: string, ip: string, nonceUseId: string, nonceTtlMs: number): Promise<AuthPrepared>;

  /**
   * Counts a failed attempt for the device and for the address. Each counter's window starts at
   * its first failure and lasts `windowMs`; later failures do not extend it; after it the count is 0.
   */
  recordAuthFailure(id: string, ip: string, windowMs: number): Promise<void>;

  /** Resets the device's failure count (not the address's). */
  clearAuthFailures(id: string): Promise<void>;

  /** Sets (or replaces) the device's due time for DeviceInfo/Catalog/DeviceStatus refreshes. */
  scheduleQueries(id: string, at: number): Promise<void>;

  /**
   * Removes and returns up to `limit` devices whose refresh is due (time ≤ now), earliest first;
   * each due entry is handed to one caller only, however many sweep at once.
   */
  takeDueQueries(now: number, limit?: number): Promise<string[]>;

  setCredential(id: string, password: string): Promise<void>;
  deleteCredential(id: string): Promise<void>;

  get(id: string): Promise<DeviceRecord | undefined>;

  /** Devices in id order strictly after `after` (from the start when undefined or ''), at most `limit`. */
  list(after: string | undefined, limit: number): Promise<DeviceRecord[]>;

  /** Devices ever registered (kept while known). */
  count(): Promise<number>;

  /** Devices with a presence deadline pending (online, or due and not yet swept). */
  countOnline(): Promise<number>;

  /** What a DeviceInfo/DeviceStatus answer said; undefined and '' values are ignored; unknown devices are ignored. */
  saveInfo(id: string, info: DeviceInfo): Promise<void>;

  /**
   * Replaces the device's channel list with a complete catalog, sets its `channelCount`, and makes
   * the device the owner of each of these channels.
   */
  saveChannels(id: string, channels: ChannelRecord[]): Promise<void>;

  /** The device whose catalog last listed this channel. */
  channelOwner(channelId: string): Promise<string | undefined>;

  /** The device's channels in id order (copies: changing them changes nothing stored). */
  channels(id: string): Promise<ChannelRecord[]>;

  /**
   * Replaces the device's configuration (known device or not). A device with always-on channels
   * is (re)put on the always-on schedule due at once, so a change is acted on at the next check;
   * one without leaves the schedule.
   */
  setConfig(id: string, config: DeviceConfig): Promise<void>;

  /** The device's configuration (a copy), undefined when none was written. */
  getConfig(id: string): Promise<DeviceConfig | undefined>;

  /** Removes the configuration and takes the device off the always-on schedule. */
  deleteConfig(id: string): Promise<void>;

  /** Devices whose configuration has always-on channels, in id order. */
  alwaysOnDevices(): Promise<string[]>;

  /**
   * Up to `limit` devices of the always-on schedule whose check is due (time ≤ now), earliest
   * first, each moved to `nextAt` in the same step: concurrent callers (any replica) never get the
   * same device for one due time, and a device stays scheduled whatever happens to its caller.
   */
  claimDueAlwaysOn(now: number, nextAt: number, limit?: number): Promise<string[]>;

  /** The channel's restart backoff, undefined when none is kept (or it expired). */
  alwaysOnBackoff(id: string, channelId: string): Promise<AlwaysOnBackoff | undefined>;

  /** Stores the channel's restart backoff for `ttlMs` (at least 1 ms); after that it is forgotten. */
  setAlwaysOnBackoff(id: string, channelId: string, backoff: AlwaysOnBackoff, ttlMs: number): Promise<void>;
}

/** Offline reasons, for metrics labels. */
export const deviceOfflineReasons: readonly DeviceOfflineReason[] = ['unregistered', 'expired', 'keepalive-timeout'];

/** A stored configuration (JSON), with `alwaysOn` always an array; undefined when unreadable. */
export function parseDeviceConfig(text: string): DeviceConfig | undefined {
  try {
    const c = JSON.parse(text) as Partial<DeviceConfig> | null;
    if (!c || typeof c !== 'object' || Array.isArray(c)) return undefined;
    return { ...c, alwaysOn: Array.isArray(c.alwaysOn) ? c.alwaysOn : [] };
  } catch {
    return undefined;
  }
}
