/**
 * Devices in this process (the DeviceStore contract, ../device-store.ts). Each method runs to its
 * end without awaiting, so it is atomic like the Redis scripts. Sized for 100k devices: ids in a
 * sorted block list for listing, presence and refresh schedules on deadline heaps, nonce uses and
 * failure counters expiring.
 */
import type { GbcastEvent } from '../../contracts.ts';
import type {
  AlwaysOnBackoff,
  AuthPrepared,
  ChannelRecord,
  DeviceConfig,
  DeviceInfo,
  DeviceRecord,
  DeviceStore,
  KeepaliveResult,
  RegistrationInput,
} from '../device-store.ts';
import { parseDeviceConfig } from '../device-store.ts';
import { ExpiringMap } from './expiring-map.ts';
import { Schedule } from './schedule.ts';
import { SortedStrings } from './sorted-strings.ts';

export class MemoryDeviceStore implements DeviceStore {
  readonly #devices = new Map<string, DeviceRecord>();
  readonly #ids = new SortedStrings();
  readonly #presence = new Schedule();
  readonly #queryDue = new Schedule();
  /** Channel id → JSON ChannelRecord, per device: stored as text so readers always get copies. */
  readonly #channels = new Map<string, Map<string, string>>();
  readonly #channelOwners = new Map<string, string>();
  readonly #credentials = new Map<string, string>();
  /** Device id → JSON DeviceConfig (text, so readers always get copies). */
  readonly #configs = new Map<string, string>();
  readonly #alwaysOn = new Schedule();
  /** `{deviceId}:{channelId}` → backoff. */
  readonly #backoffs: ExpiringMap<AlwaysOnBackoff>;
  readonly #usedNonces: ExpiringMap<true>;
  readonly #deviceFailures: ExpiringMap<number>;
  readonly #ipFailures: ExpiringMap<number>;
  readonly #publish: (event: GbcastEvent) => void;

  constructor(now: () => number, publish: (event: GbcastEvent) => void) {
    this.#usedNonces = new ExpiringMap(now);
    this.#deviceFailures = new ExpiringMap(now);
    this.#ipFailures = new ExpiringMap(now);
    this.#backoffs = new ExpiringMap(now);
    this.#publish = publish;
  }

  async register(input: RegistrationInput): Promise<boolean> {
    let device = this.#devices.get(input.id);
    const wasOnline = device?.online === true;
    if (!device) {
      device = emptyDevice(input.id);
      this.#devices.set(input.id, device);
      this.#ids.add(input.id);
    }
    device.transport = input.transport;
    device.ip = input.ip;
    device.port = input.port;
    device.registeredAt = input.now;
    device.expiresAt = input.expiresAt;
    device.lastKeepaliveAt = input.now;
    device.online = true;
    this.#presence.set(input.id, input.deadline);
    if (wasOnline) return false;
    this.#publish({ type: 'device.online', deviceId: input.id, at: input.now });
    return true;
  }

  async unregister(id: string, now: number): Promise<boolean> {
    const device = this.#devices.get(id);
    if (!device) return false;
    const wasOnline = device.online;
    device.online = false;
    device.expiresAt = 0;
    this.#presence.delete(id);
    if (!wasOnline) return false;
    this.#publish({ type: 'device.offline', deviceId: id, reason: 'unregistered', at: now });
    return true;
  }

  async keepalive(id: string, now: number, windowMs: number): Promise<KeepaliveResult> {
    const device = this.#devices.get(id);
    if (!device || device.expiresAt <= now) return 'unknown';
    device.lastKeepaliveAt = now;
    this.#presence.set(id, Math.min(now + windowMs, device.expiresAt));
    if (device.online) return 'alive';
    device.online = true;
    this.#publish({ type: 'device.online', deviceId: id, at: now });
    return 'back-online';
  }

  async sweep(now: number, limit = 1000): Promise<number> {
    const due = this.#presence.takeDue(now, limit);
    for (const id of due) {
      const device = this.#devices.get(id);
      if (!device?.online) continue;
      device.online = false;
      const reason = device.expiresAt <= now ? 'expired' : 'keepalive-timeout';
      this.#publish({ type: 'device.offline', deviceId: id, reason, at: now });
    }
    return due.length;
  }

  async authPrepare(id: string, ip: string, nonceUseId: string, nonceTtlMs: number): Promise<AuthPrepared> {
    return {
      deviceFailures: this.#deviceFailures.get(id) ?? 0,
      ipFailures: this.#ipFailures.get(ip) ?? 0,
      credential: this.#credentials.get(id),
      nonceFresh: this.#usedNonces.setIfAbsent(nonceUseId, true, Math.max(1, Math.ceil(nonceTtlMs))),
    };
  }

  async recordAuthFailure(id: string, ip: string, windowMs: number): Promise<void> {
    countFailure(this.#deviceFailures, id, windowMs);
    countFailure(this.#ipFailures, ip, windowMs);
  }

  async clearAuthFailures(id: string): Promise<void> {
    this.#deviceFailures.delete(id);
  }

  async scheduleQueries(id: string, at: number): Promise<void> {
    this.#queryDue.set(id, at);
  }

  async takeDueQueries(now: number, limit = 200): Promise<string[]> {
    return this.#queryDue.takeDue(now, limit);
  }

  async setCredential(id: string, password: string): Promise<void> {
    this.#credentials.set(id, password);
  }

  async deleteCredential(id: string): Promise<void> {
    this.#credentials.delete(id);
  }

  async get(id: string): Promise<DeviceRecord | undefined> {
    const device = this.#devices.get(id);
    return device ? copyDevice(device) : undefined;
  }

  async list(after: string | undefined, limit: number): Promise<DeviceRecord[]> {
    return this.#ids.after(after || undefined, limit).map((id) => copyDevice(this.#devices.get(id)!));
  }

  async count(): Promise<number> {
    return this.#devices.size;
  }

  async countOnline(): Promise<number> {
    return this.#presence.size;
  }

  async saveInfo(id: string, info: DeviceInfo): Promise<void> {
    const device = this.#devices.get(id);
    if (!device) return;
    for (const [k, v] of Object.entries(info) as [keyof DeviceInfo, string | undefined][]) {
      if (v !== undefined && v !== '') device[k] = String(v);
    }
  }

  async saveChannels(id: string, channels: ChannelRecord[]): Promise<void> {
    const stored = new Map<string, string>();
    for (const c of channels) {
      stored.set(c.id, JSON.stringify(c));
      this.#channelOwners.set(c.id, id);
    }
    if (stored.size > 0) this.#channels.set(id, stored);
    else this.#channels.delete(id);
    const device = this.#devices.get(id);
    if (device) device.channelCount = channels.length;
  }

  async channelOwner(channelId: string): Promise<string | undefined> {
    return this.#channelOwners.get(channelId);
  }

  async channels(id: string): Promise<ChannelRecord[]> {
    const out: ChannelRecord[] = [];
    for (const text of this.#channels.get(id)?.values() ?? []) out.push(JSON.parse(text) as ChannelRecord);
    return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async setConfig(id: string, config: DeviceConfig): Promise<void> {
    this.#configs.set(id, JSON.stringify(config));
    if (config.alwaysOn.length > 0) this.#alwaysOn.set(id, 0);
    else this.#alwaysOn.delete(id);
  }

  async getConfig(id: string): Promise<DeviceConfig | undefined> {
    const text = this.#configs.get(id);
    return text === undefined ? undefined : parseDeviceConfig(text);
  }

  async deleteConfig(id: string): Promise<void> {
    this.#configs.delete(id);
    this.#alwaysOn.delete(id);
  }

  async alwaysOnDevices(): Promise<string[]> {
    return this.#alwaysOn.members().sort();
  }

  async claimDueAlwaysOn(now: number, nextAt: number, limit = 200): Promise<string[]> {
    return this.#alwaysOn.claimDue(now, nextAt, limit);
  }

  async alwaysOnBackoff(id: string, channelId: string): Promise<AlwaysOnBackoff | undefined> {
    const b = this.#backoffs.get(`${id}:${channelId}`);
    return b ? { ...b } : undefined;
  }

  async setAlwaysOnBackoff(id: string, channelId: string, backoff: AlwaysOnBackoff, ttlMs: number): Promise<void> {
    this.#backoffs.set(`${id}:${channelId}`, { failures: backoff.failures, notBefore: backoff.notBefore }, Math.max(1, Math.ceil(ttlMs)));
  }

  /** Frees expired nonce uses, failure counters and backoffs. */
  purgeExpired(): void {
    this.#usedNonces.purge();
    this.#deviceFailures.purge();
    this.#ipFailures.purge();
    this.#backoffs.purge();
  }

  /** Entry counts, for the memory-bound checks. */
  sizes(): Record<string, number> {
    return {
      devices: this.#devices.size,
      presence: this.#presence.size,
      presenceHeap: this.#presence.heapSize,
      queryDue: this.#queryDue.size,
      queryDueHeap: this.#queryDue.heapSize,
      usedNonces: this.#usedNonces.size,
      usedNoncesHeap: this.#usedNonces.heapSize,
      deviceFailures: this.#deviceFailures.size,
      ipFailures: this.#ipFailures.size,
      configs: this.#configs.size,
      alwaysOn: this.#alwaysOn.size,
      alwaysOnHeap: this.#alwaysOn.heapSize,
      alwaysOnBackoffs: this.#backoffs.size,
    };
  }
}

/** INCR, then a window from the first failure (PEXPIRE NX). */
function countFailure(counters: ExpiringMap<number>, key: string, windowMs: number): void {
  counters.update(key, (counters.get(key) ?? 0) + 1);
  counters.expireIfPersistent(key, windowMs);
}

function emptyDevice(id: string): DeviceRecord {
  return copyDevice({ id, online: false, transport: 'UDP', ip: '', port: 0, registeredAt: 0, expiresAt: 0, lastKeepaliveAt: 0 });
}

/** Every field spelled out, in the shape RedisDeviceStore returns (absent ones undefined). */
function copyDevice(d: DeviceRecord): DeviceRecord {
  return {
    id: d.id,
    online: d.online,
    transport: d.transport,
    ip: d.ip,
    port: d.port,
    registeredAt: d.registeredAt,
    expiresAt: d.expiresAt,
    lastKeepaliveAt: d.lastKeepaliveAt,
    name: d.name,
    manufacturer: d.manufacturer,
    model: d.model,
    firmware: d.firmware,
    channelCount: d.channelCount,
    status: d.status,
    recording: d.recording,
    deviceTime: d.deviceTime,
  };
}
