/** Stream sessions in this process (the StreamStore contract, ../stream-store.ts). */
import type { StreamerRecord } from '../../contracts.ts';
import type { StreamSession, StreamStore } from '../stream-store.ts';
import { Schedule } from './schedule.ts';
import type { StreamerPool } from './streamer-pool.ts';

export class MemoryStreamStore implements StreamStore {
  readonly #pool: StreamerPool;
  readonly #sessions = new Map<string, StreamSession>();
  /** Streamer id → its sessions' ids. */
  readonly #byStreamer = new Map<string, Set<string>>();
  /** `{deviceId}:{channelId}` → stream id. */
  readonly #channelStreams = new Map<string, string>();
  readonly #ssrcs = new Map<string, string>();
  readonly #callIds = new Map<string, string>();
  /** `{deviceId}:{channelId}` → viewers (absent = 0). */
  readonly #viewers = new Map<string, number>();
  readonly #idleStops = new Schedule();

  constructor(pool: StreamerPool) {
    this.#pool = pool;
  }

  async pickStreamer(pool: string): Promise<StreamerRecord | undefined> {
    return this.#pool.pick(pool);
  }

  async unreserveStreamer(pool: string, streamerId: string): Promise<void> {
    const scores = this.#pool.scores.get(pool);
    const score = scores?.get(streamerId);
    if (scores && score !== undefined) scores.set(streamerId, score - 1);
  }

  async listStreamers(): Promise<StreamerRecord[]> {
    const out: StreamerRecord[] = [];
    for (const pool of this.#pool.scores.keys()) out.push(...this.#pool.liveRecords(pool));
    return out;
  }

  async claimSsrc(ssrc: string, streamId: string): Promise<boolean> {
    if (this.#ssrcs.has(ssrc)) return false;
    this.#ssrcs.set(ssrc, streamId);
    return true;
  }

  async claimChannel(deviceId: string, channelId: string, streamId: string): Promise<{ claimed: boolean; streamId: string }> {
    const key = channelKey(deviceId, channelId);
    const holder = this.#channelStreams.get(key);
    if (holder !== undefined) return { claimed: false, streamId: holder };
    this.#channelStreams.set(key, streamId);
    return { claimed: true, streamId };
  }

  async channelStreamId(deviceId: string, channelId: string): Promise<string | undefined> {
    return this.#channelStreams.get(channelKey(deviceId, channelId));
  }

  async viewerJoined(deviceId: string, channelId: string): Promise<number> {
    const key = channelKey(deviceId, channelId);
    const count = (this.#viewers.get(key) ?? 0) + 1;
    this.#viewers.set(key, count);
    this.#idleStops.delete(key);
    return count;
  }

  async viewerLeft(deviceId: string, channelId: string): Promise<number> {
    const key = channelKey(deviceId, channelId);
    const count = (this.#viewers.get(key) ?? 0) - 1;
    if (count <= 0) {
      this.#viewers.delete(key);
      return 0;
    }
    this.#viewers.set(key, count);
    return count;
  }

  async viewerCount(deviceId: string, channelId: string): Promise<number> {
    return this.#viewers.get(channelKey(deviceId, channelId)) ?? 0;
  }

  async scheduleIdleStop(deviceId: string, channelId: string, at: number): Promise<void> {
    this.#idleStops.set(channelKey(deviceId, channelId), at);
  }

  async takeDueIdleStops(now: number, limit = 500): Promise<[string, string][]> {
    return this.#idleStops.takeDue(now, limit).map((m) => {
      const at = m.indexOf(':');
      return [m.slice(0, at), m.slice(at + 1)];
    });
  }

  async save(session: StreamSession): Promise<void> {
    const old = this.#sessions.get(session.streamId);
    if (old && old.streamerId !== session.streamerId) this.#unindex(old);
    this.#sessions.set(session.streamId, copySession(session));
    let ids = this.#byStreamer.get(session.streamerId);
    if (!ids) this.#byStreamer.set(session.streamerId, (ids = new Set()));
    ids.add(session.streamId);
  }

  async update(streamId: string, fields: Partial<StreamSession>): Promise<void> {
    const session = this.#sessions.get(streamId);
    if (!session) return;
    const target = session as unknown as Record<string, unknown>;
    for (const [k, v] of Object.entries(fields)) if (v !== undefined) target[k] = v;
  }

  async get(streamId: string): Promise<StreamSession | undefined> {
    const session = this.#sessions.get(streamId);
    return session ? copySession(session) : undefined;
  }

  async byCallId(callId: string): Promise<StreamSession | undefined> {
    const streamId = this.#callIds.get(callId);
    return streamId === undefined ? undefined : this.get(streamId);
  }

  async indexCallId(callId: string, streamId: string): Promise<void> {
    this.#callIds.set(callId, streamId);
  }

  async listOnStreamer(streamerId: string): Promise<StreamSession[]> {
    const out: StreamSession[] = [];
    for (const id of this.#byStreamer.get(streamerId) ?? []) {
      const s = this.#sessions.get(id);
      if (s) out.push(copySession(s));
    }
    return out.sort((a, b) => a.createdAt - b.createdAt);
  }

  async list(): Promise<StreamSession[]> {
    return [...this.#sessions.values()].map(copySession).sort((a, b) => a.createdAt - b.createdAt);
  }

  async remove(session: Pick<StreamSession, 'streamId' | 'deviceId' | 'channelId' | 'ssrc' | 'callId'>): Promise<boolean> {
    const stored = this.#sessions.get(session.streamId);
    if (stored) this.#unindex(stored);
    const removed = this.#sessions.delete(session.streamId);
    const channel = channelKey(session.deviceId, session.channelId);
    if (this.#channelStreams.get(channel) === session.streamId) this.#channelStreams.delete(channel);
    if (this.#ssrcs.get(session.ssrc) === session.streamId) this.#ssrcs.delete(session.ssrc);
    this.#callIds.delete(session.callId);
    return removed;
  }

  #unindex(session: StreamSession): void {
    const ids = this.#byStreamer.get(session.streamerId);
    ids?.delete(session.streamId);
    if (ids?.size === 0) this.#byStreamer.delete(session.streamerId);
  }

  /** Entry counts, for the memory-bound checks. */
  sizes(): Record<string, number> {
    return {
      sessions: this.#sessions.size,
      streamerIndexes: this.#byStreamer.size,
      channelStreams: this.#channelStreams.size,
      ssrcs: this.#ssrcs.size,
      callIds: this.#callIds.size,
      viewers: this.#viewers.size,
      idleStops: this.#idleStops.size,
    };
  }
}

function channelKey(deviceId: string, channelId: string): string {
  return `${deviceId}:${channelId}`;
}

/** Every field spelled out, in the shape RedisStreamStore returns (absent ones undefined). */
function copySession(s: StreamSession): StreamSession {
  return {
    streamId: s.streamId,
    deviceId: s.deviceId,
    channelId: s.channelId,
    ssrc: s.ssrc,
    transport: s.transport,
    streamerId: s.streamerId,
    streamerUrl: s.streamerUrl,
    streamerStartedAt: s.streamerStartedAt,
    streamerAddress: s.streamerAddress,
    streamerPort: s.streamerPort,
    rtmpUrl: s.rtmpUrl,
    flvUrl: s.flvUrl,
    state: s.state,
    createdAt: s.createdAt,
    callId: s.callId,
    fromTag: s.fromTag,
    toTag: s.toTag,
    cseq: s.cseq,
    sipTransport: s.sipTransport,
    sipIp: s.sipIp,
    sipPort: s.sipPort,
    remoteTarget: s.remoteTarget,
  };
}
