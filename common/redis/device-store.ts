/**
 * Devices in Redis (the DeviceStore contract, common/store/device-store.ts): registration,
 * presence, what they told us, their channels and credentials.
 *
 * Signaling keeps no per-device state in memory: every replica reads and writes here, so any of
 * them can take a device's next packet, and a replica holds nothing per device (the memory target
 * is 2 KiB per registered device, all of it Redis's). Each state change that must be atomic with
 * its event (online/offline) is one Lua script: a device never goes offline twice, and two
 * replicas sweeping at once publish one event.
 */
import type { Redis } from 'ioredis';
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
} from '../store/device-store.ts';
import { parseDeviceConfig } from '../store/device-store.ts';
import type { RedisKeys } from './keys.ts';
import { claimDue, defineScheduleCommands, takeDue } from './schedule.ts';

const REGISTER = `
local key, devices, presence, channel = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local id, transport, ip, port, now, expires, deadline = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local was = redis.call('HGET', key, 'online')
redis.call('HSET', key, 'id', id, 'transport', transport, 'ip', ip, 'port', port, 'registeredAt', now,
  'expiresAt', expires, 'lastKeepaliveAt', now, 'online', '1')
redis.call('ZADD', devices, 0, id)
redis.call('ZADD', presence, deadline, id)
if was ~= '1' then
  redis.call('PUBLISH', channel, cjson.encode({type = 'device.online', deviceId = id, at = tonumber(now)}))
  return 1
end
return 0
`;

const UNREGISTER = `
local key, presence, channel = KEYS[1], KEYS[2], KEYS[3]
local id, now = ARGV[1], ARGV[2]
if redis.call('EXISTS', key) == 0 then return 0 end
local was = redis.call('HGET', key, 'online')
redis.call('HSET', key, 'online', '0', 'expiresAt', '0')
redis.call('ZREM', presence, id)
if was == '1' then
  redis.call('PUBLISH', channel, cjson.encode({type = 'device.offline', deviceId = id, reason = 'unregistered', at = tonumber(now)}))
  return 1
end
return 0
`;

/** 0 unknown or not registered, 1 alive (was online), 2 alive again (was offline). */
const KEEPALIVE = `
local key, presence, channel = KEYS[1], KEYS[2], KEYS[3]
local id, now, window = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local f = redis.call('HMGET', key, 'expiresAt', 'online')
local expires = tonumber(f[1])
if not expires or expires <= now then return 0 end
local deadline = now + window
if deadline > expires then deadline = expires end
redis.call('HSET', key, 'lastKeepaliveAt', now, 'online', '1')
redis.call('ZADD', presence, deadline, id)
if f[2] ~= '1' then
  redis.call('PUBLISH', channel, cjson.encode({type = 'device.online', deviceId = id, at = now}))
  return 2
end
return 1
`;

/** Devices whose deadline passed go offline, once; returns how many. */
const SWEEP = `
local presence, channel, prefix = KEYS[1], KEYS[2], ARGV[3]
local now, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
local due = redis.call('ZRANGEBYSCORE', presence, '-inf', now, 'LIMIT', 0, limit)
for _, id in ipairs(due) do
  redis.call('ZREM', presence, id)
  local key = prefix .. id
  local f = redis.call('HMGET', key, 'online', 'expiresAt')
  if f[1] == '1' then
    redis.call('HSET', key, 'online', '0')
    local reason = 'keepalive-timeout'
    if tonumber(f[2] or '0') <= now then reason = 'expired' end
    redis.call('PUBLISH', channel, cjson.encode({type = 'device.offline', deviceId = id, reason = reason, at = now}))
  end
end
return #due
`;

/**
 * Everything an authenticated REGISTER needs before the digest check, in one round trip: failures
 * of the device and of the address, the device's own password, and the claim of the nonce use
 * (a second use of the same nonce and count is a replay).
 */
const AUTH_PREPARE = `
local f = redis.call('MGET', KEYS[1], KEYS[2], KEYS[3])
local fresh = redis.call('SET', KEYS[4], '1', 'PX', ARGV[1], 'NX')
return {f[1] or false, f[2] or false, f[3] or false, fresh and 1 or 0}
`;

type ScriptClient = Redis & {
  gbAuthPrepare(...args: (string | number)[]): Promise<(string | number | null)[]>;
  gbRegister(...args: (string | number)[]): Promise<number>;
  gbUnregister(...args: (string | number)[]): Promise<number>;
  gbKeepalive(...args: (string | number)[]): Promise<number>;
  gbSweep(...args: (string | number)[]): Promise<number>;
};

function defineScripts(redis: Redis): ScriptClient {
  const r = redis as ScriptClient;
  if (typeof r.gbRegister !== 'function') {
    redis.defineCommand('gbRegister', { numberOfKeys: 4, lua: REGISTER });
    redis.defineCommand('gbUnregister', { numberOfKeys: 3, lua: UNREGISTER });
    redis.defineCommand('gbKeepalive', { numberOfKeys: 3, lua: KEEPALIVE });
    redis.defineCommand('gbSweep', { numberOfKeys: 2, lua: SWEEP });
    redis.defineCommand('gbAuthPrepare', { numberOfKeys: 4, lua: AUTH_PREPARE });
  }
  return r;
}

function num(v: string | undefined): number {
  const n = Number(v);
  return Number.isFinite(n) ? n : 0;
}

export class RedisDeviceStore implements DeviceStore {
  readonly #redis: ScriptClient;
  readonly #keys: RedisKeys;

  constructor(redis: Redis, keys: RedisKeys) {
    this.#redis = defineScripts(redis);
    defineScheduleCommands(redis);
    this.#keys = keys;
  }

  /** Records a successful REGISTER; true when the device came online with it. */
  async register(input: RegistrationInput): Promise<boolean> {
    const k = this.#keys;
    const became = await this.#redis.gbRegister(
      k.device(input.id),
      k.devices(),
      k.presence(),
      k.events(),
      input.id,
      input.transport,
      input.ip,
      input.port,
      input.now,
      input.expiresAt,
      input.deadline,
    );
    return became === 1;
  }

  /** `Expires: 0`: true when the device was online. */
  async unregister(id: string, now: number): Promise<boolean> {
    const k = this.#keys;
    return (await this.#redis.gbUnregister(k.device(id), k.presence(), k.events(), id, now)) === 1;
  }

  /** A keepalive: moves the offline deadline to now + windowMs (never past the registration's end). */
  async keepalive(id: string, now: number, windowMs: number): Promise<KeepaliveResult> {
    const k = this.#keys;
    const r = await this.#redis.gbKeepalive(k.device(id), k.presence(), k.events(), id, now, windowMs);
    return r === 0 ? 'unknown' : r === 2 ? 'back-online' : 'alive';
  }

  /** Marks devices whose deadline passed offline (at most `limit`); safe on every replica at once. */
  async sweep(now: number, limit = 1000): Promise<number> {
    const k = this.#keys;
    return this.#redis.gbSweep(k.presence(), k.events(), now, limit, k.device(''));
  }

  /** See AUTH_PREPARE. */
  async authPrepare(id: string, ip: string, nonceUseId: string, nonceTtlMs: number): Promise<AuthPrepared> {
    const k = this.#keys;
    const [d, i, credential, fresh] = await this.#redis.gbAuthPrepare(
      k.authFailDevice(id),
      k.authFailIp(ip),
      k.credential(id),
      k.usedNonce(nonceUseId),
      Math.max(1, Math.ceil(nonceTtlMs)),
    );
    return {
      deviceFailures: num(d === null ? undefined : String(d)),
      ipFailures: num(i === null ? undefined : String(i)),
      credential: credential === null ? undefined : String(credential),
      nonceFresh: fresh === 1,
    };
  }

  /** When to ask the device again who it is and what it has. */
  async scheduleQueries(id: string, at: number): Promise<void> {
    await this.#redis.zadd(this.#keys.queryDue(), at, id);
  }

  /** Devices whose refresh is due (each taken by one caller only). */
  async takeDueQueries(now: number, limit = 200): Promise<string[]> {
    return takeDue(this.#redis, this.#keys.queryDue(), now, limit);
  }

  async setCredential(id: string, password: string): Promise<void> {
    await this.#redis.set(this.#keys.credential(id), password);
  }

  async deleteCredential(id: string): Promise<void> {
    await this.#redis.del(this.#keys.credential(id));
  }

  /** Counts a failed attempt; the window starts at the first failure. */
  async recordAuthFailure(id: string, ip: string, windowMs: number): Promise<void> {
    const dk = this.#keys.authFailDevice(id);
    const ik = this.#keys.authFailIp(ip);
    await this.#redis.multi().incr(dk).pexpire(dk, windowMs, 'NX').incr(ik).pexpire(ik, windowMs, 'NX').exec();
  }

  async clearAuthFailures(id: string): Promise<void> {
    await this.#redis.del(this.#keys.authFailDevice(id));
  }

  async get(id: string): Promise<DeviceRecord | undefined> {
    const h = await this.#redis.hgetall(this.#keys.device(id));
    return h.id ? toRecord(h) : undefined;
  }

  /** Devices in id order after `after` (exclusive), at most `limit`. */
  async list(after: string | undefined, limit: number): Promise<DeviceRecord[]> {
    const ids = await this.#redis.zrangebylex(this.#keys.devices(), after ? `(${after}` : '-', '+', 'LIMIT', 0, limit);
    if (ids.length === 0) return [];
    const pipeline = this.#redis.pipeline();
    for (const id of ids) pipeline.hgetall(this.#keys.device(id));
    const results = (await pipeline.exec()) ?? [];
    const out: DeviceRecord[] = [];
    for (const [err, h] of results) if (!err && h && (h as Record<string, string>).id) out.push(toRecord(h as Record<string, string>));
    return out;
  }

  async count(): Promise<number> {
    return this.#redis.zcard(this.#keys.devices());
  }

  async countOnline(): Promise<number> {
    return this.#redis.zcard(this.#keys.presence());
  }

  /** What a DeviceInfo answer said. */
  async saveInfo(id: string, info: DeviceInfo): Promise<void> {
    const fields: string[] = [];
    for (const [k, v] of Object.entries(info)) if (v !== undefined && v !== '') fields.push(k, String(v));
    if (fields.length > 0 && (await this.#redis.exists(this.#keys.device(id))) === 1) await this.#redis.hset(this.#keys.device(id), ...fields);
  }

  /** Replaces the device's channel list with a complete catalog. */
  async saveChannels(id: string, channels: ChannelRecord[]): Promise<void> {
    const key = this.#keys.deviceChannels(id);
    const tx = this.#redis.multi().del(key);
    if (channels.length > 0) tx.hset(key, ...channels.flatMap((c) => [c.id, JSON.stringify(c)]));
    for (const c of channels) tx.set(this.#keys.channelOwner(c.id), id);
    tx.hset(this.#keys.device(id), 'channelCount', String(channels.length));
    await tx.exec();
  }

  /** The device whose catalog lists this channel. */
  async channelOwner(channelId: string): Promise<string | undefined> {
    return (await this.#redis.get(this.#keys.channelOwner(channelId))) ?? undefined;
  }

  async channels(id: string): Promise<ChannelRecord[]> {
    const h = await this.#redis.hgetall(this.#keys.deviceChannels(id));
    const out: ChannelRecord[] = [];
    for (const v of Object.values(h)) {
      try {
        out.push(JSON.parse(v) as ChannelRecord);
      } catch {
        // a value someone else wrote badly: skip it
      }
    }
    return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async setConfig(id: string, config: DeviceConfig): Promise<void> {
    const k = this.#keys;
    const tx = this.#redis.multi().set(k.deviceConfig(id), JSON.stringify(config));
    if (config.alwaysOn.length > 0) tx.zadd(k.alwaysOn(), 0, id);
    else tx.zrem(k.alwaysOn(), id);
    await tx.exec();
  }

  async getConfig(id: string): Promise<DeviceConfig | undefined> {
    const text = await this.#redis.get(this.#keys.deviceConfig(id));
    return text === null ? undefined : parseDeviceConfig(text);
  }

  async deleteConfig(id: string): Promise<void> {
    await this.#redis.multi().del(this.#keys.deviceConfig(id)).zrem(this.#keys.alwaysOn(), id).exec();
  }

  async alwaysOnDevices(): Promise<string[]> {
    return (await this.#redis.zrange(this.#keys.alwaysOn(), '0', '-1')).sort();
  }

  async claimDueAlwaysOn(now: number, nextAt: number, limit = 200): Promise<string[]> {
    return claimDue(this.#redis, this.#keys.alwaysOn(), now, nextAt, limit);
  }

  async alwaysOnBackoff(id: string, channelId: string): Promise<AlwaysOnBackoff | undefined> {
    const text = await this.#redis.get(this.#keys.alwaysOnBackoff(id, channelId));
    if (text === null) return undefined;
    try {
      const b = JSON.parse(text) as AlwaysOnBackoff;
      return { failures: Number(b.failures) || 0, notBefore: Number(b.notBefore) || 0 };
    } catch {
      return undefined;
    }
  }

  async setAlwaysOnBackoff(id: string, channelId: string, backoff: AlwaysOnBackoff, ttlMs: number): Promise<void> {
    const value = JSON.stringify({ failures: backoff.failures, notBefore: backoff.notBefore });
    await this.#redis.set(this.#keys.alwaysOnBackoff(id, channelId), value, 'PX', Math.max(1, Math.ceil(ttlMs)));
  }
}

function toRecord(h: Record<string, string>): DeviceRecord {
  return {
    id: h.id,
    online: h.online === '1',
    transport: h.transport === 'TCP' ? 'TCP' : 'UDP',
    ip: h.ip ?? '',
    port: num(h.port),
    registeredAt: num(h.registeredAt),
    expiresAt: num(h.expiresAt),
    lastKeepaliveAt: num(h.lastKeepaliveAt),
    name: h.name,
    manufacturer: h.manufacturer,
    model: h.model,
    firmware: h.firmware,
    channelCount: h.channelCount === undefined ? undefined : num(h.channelCount),
    status: h.status,
    recording: h.recording,
    deviceTime: h.deviceTime,
  };
}
