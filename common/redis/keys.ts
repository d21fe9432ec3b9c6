/**
 * Every Redis key gbcast uses, in one place, with the shape of its value.
 *
 * All keys start with a configurable prefix (default `gbcast:`) so several installations can share
 * one Redis. Parts never build key strings themselves: they call these functions.
 *
 * | key | type | value | written by | TTL |
 * |---|---|---|---|---|
 * | `{p}streamer:{id}` | string | JSON StreamerRecord (common/contracts.ts) | that streamer, every 2 s | 3 report intervals (6 s) |
 * | `{p}pool:{pool}:load` | sorted set | member = streamer id, score = load (see `loadScore`) | that streamer, every 2 s; signaling's pick script adds 1 per reservation | none; members whose record expired are removed by readers |
 * | `{p}pools` | set | pool names that have had a streamer | streamers | none |
 * | `{p}streamer:{id}:drain` | string | "1" when the operator asks that streamer to drain | operator (`StreamerStore.requestDrain`) | none |
 * | `{p}streamer:{id}:public-address` | string | the address devices reach that streamer at, from the node its pod runs on (a streamer started with --public-address-from-store waits for it) | operator (`StreamerStore.setPublicAddress`); removed with the drain request when the pod is gone (`clearDirectives`) | none |
 * | `{p}events` | pub/sub channel | JSON GbcastEvent (common/contracts.ts) | streamers, signaling | — |
 * | `{p}device:{id}` | hash | DeviceRecord fields (common/store/device-store.ts): where the device is (transport, ip, port), registration and keepalive times, online flag, what it said about itself | signaling | none (kept while known) |
 * | `{p}devices` | sorted set | member = device id, score 0 (listed in id order with ZRANGEBYLEX) | signaling | none |
 * | `{p}presence` | sorted set | member = device id, score = ms timestamp when it goes offline unless it registers or keeps alive again | signaling; swept by every replica | none |
 * | `{p}device:{id}:channels` | hash | channel id → JSON ChannelRecord (from its Catalog) | signaling | none |
 * | `{p}credential:{id}` | string | the device's SIP password | API now, operator (GbCamera Secret) later | none |
 * | `{p}nonce:{nonce id}` | string | "1": this nonce (and nonce count) was used; a second use is a replay | signaling | the nonce lifetime |
 * | `{p}authfail:device:{id}`, `{p}authfail:ip:{ip}` | string | failed digest attempts in the current window | signaling | the lockout window |
 * | `{p}stream:{streamId}` | hash | StreamSession (common/store/stream-store.ts): channel, streamer, SSRC, the SIP dialog | signaling | none (removed when the stream ends) |
 * | `{p}streams` | set | stream ids | signaling | none |
 * | `{p}channel-stream:{deviceId}:{channelId}` | string | the stream id of the channel's running stream (one per channel) | signaling | none |
 * | `{p}ssrc:{ssrc}` | string | the stream id holding that SSRC | signaling | none |
 * | `{p}call:{callId}` | string | the stream id of a SIP dialog (to match a device's BYE) | signaling | none |
 * | `{p}channel-owner:{channelId}` | string | the device id whose catalog lists the channel (on-demand hooks name only the channel) | signaling | none |
 * | `{p}viewers:{deviceId}:{channelId}` | string | viewers an RTMP server reported through its play hooks | signaling | none |
 * | `{p}query-due` | sorted set | member = device id, score = ms timestamp of its next DeviceInfo/Catalog/DeviceStatus refresh | signaling; swept by every replica | none |
 * | `{p}ondemand-idle` | sorted set | member = `{deviceId}:{channelId}`, score = ms timestamp after which its stream stops if still unwatched | signaling; swept by every replica | none |
 * | `{p}device:{id}:config` | string | JSON DeviceConfig (common/store/device-store.ts): pool, name, transport, always-on channels | operator (GbCamera), API | none |
 * | `{p}always-on` | sorted set | member = device id whose config has always-on channels, score = ms timestamp of its next check (a replica that claims it moves it on) | `setConfig` (due at once), `deleteConfig`; claimed by every replica | none |
 * | `{p}always-on-backoff:{deviceId}:{channelId}` | string | JSON AlwaysOnBackoff: failures in a row, not before when | signaling | forgotten a while after the last failure |
 * | `{p}streamer-streams:{streamerId}` | set | stream ids of the sessions on that streamer | signaling, with the session | none (members leave with their streams) |
 * | `{p}streamer-probe` | sorted set | member = streamer id, score = ms timestamp of its next liveness probe (a replica that claims it moves it on) | streamers add themselves when they report; claimed by every signaling replica; removed when found gone | none |
 * | `{p}streamer-probe-started` | hash | streamer id → the process start time (ms) its last successful probe saw | signaling | none (removed with the probe entry) |
 */

export const defaultKeyPrefix = 'gbcast:';

/** Score of a draining streamer: above any real load, so a pick never lands on it even by mistake. */
export const drainingScoreBase = 1_000_000_000;

export function redisKeys(prefix: string = defaultKeyPrefix) {
  return {
    prefix,
    streamer: (id: string) => `${prefix}streamer:${id}`,
    streamerDrain: (id: string) => `${prefix}streamer:${id}:drain`,
    streamerPublicAddress: (id: string) => `${prefix}streamer:${id}:public-address`,
    poolLoad: (pool: string) => `${prefix}pool:${pool}:load`,
    pools: () => `${prefix}pools`,
    events: () => `${prefix}events`,
    device: (id: string) => `${prefix}device:${id}`,
    devices: () => `${prefix}devices`,
    presence: () => `${prefix}presence`,
    deviceChannels: (id: string) => `${prefix}device:${id}:channels`,
    credential: (id: string) => `${prefix}credential:${id}`,
    usedNonce: (nonceId: string) => `${prefix}nonce:${nonceId}`,
    authFailDevice: (id: string) => `${prefix}authfail:device:${id}`,
    authFailIp: (ip: string) => `${prefix}authfail:ip:${ip}`,
    stream: (streamId: string) => `${prefix}stream:${streamId}`,
    streams: () => `${prefix}streams`,
    channelStream: (deviceId: string, channelId: string) => `${prefix}channel-stream:${deviceId}:${channelId}`,
    ssrc: (ssrc: string) => `${prefix}ssrc:${ssrc}`,
    streamByCallId: (callId: string) => `${prefix}call:${callId}`,
    channelOwner: (channelId: string) => `${prefix}channel-owner:${channelId}`,
    viewers: (deviceId: string, channelId: string) => `${prefix}viewers:${deviceId}:${channelId}`,
    onDemandIdle: () => `${prefix}ondemand-idle`,
    queryDue: () => `${prefix}query-due`,
    deviceConfig: (id: string) => `${prefix}device:${id}:config`,
    alwaysOn: () => `${prefix}always-on`,
    alwaysOnBackoff: (deviceId: string, channelId: string) => `${prefix}always-on-backoff:${deviceId}:${channelId}`,
    streamerStreams: (streamerId: string) => `${prefix}streamer-streams:${streamerId}`,
    streamerProbe: () => `${prefix}streamer-probe`,
    streamerProbeStarted: () => `${prefix}streamer-probe-started`,
  };
}

export type RedisKeys = ReturnType<typeof redisKeys>;

/**
 * The load score of a streamer: its open receivers, with CPU as a tiebreaker worth less than one
 * stream, so equal stream counts prefer the cooler pod. Draining streamers sort after everything.
 */
export function loadScore(activeStreams: number, cpuPercent: number, draining: boolean): number {
  const tiebreak = Math.min(Math.max(cpuPercent, 0), 99.9) / 100;
  return (draining ? drainingScoreBase : 0) + activeStreams + tiebreak;
}

/** Record TTL: a streamer that misses three reports is gone. */
export function streamerRecordTtlSeconds(reportIntervalMs: number): number {
  return Math.max(2, Math.ceil((reportIntervalMs * 3) / 1000));
}
