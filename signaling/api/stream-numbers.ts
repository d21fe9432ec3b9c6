/**
 * Live numbers for GET /api/v1/streams: what each stream's streamer says about its receiver
 * (bytes in, HTTP-FLV viewers, codecs, state) and the RTMP viewers the play hooks counted in Redis.
 *
 * Each distinct streamer is asked once per request (`GET {streamerUrl}/api/v1/receivers`) with a
 * short timeout, all at once; a streamer that does not answer leaves its streams without numbers
 * instead of failing the list. The streamer counts bytes, not a bitrate: the bitrate is the
 * difference between two readings at least `minSampleMs` apart (kept per stream in this process,
 * only for streams that still run), and on the first reading the average since the receiver opened.
 */
import type { ReceiverInfo } from '../../common/contracts.ts';

/** What the numbers need of a stream session (any store's). */
export interface SessionRef {
  streamId: string;
  streamerUrl: string;
  createdAt: number;
}

export interface StreamNumbers {
  /** Media bits per second received by the streamer. */
  bitrateIn?: number;
  bytesIn?: number;
  /** HTTP-FLV viewers on the streamer. */
  flvViewers?: number;
  /** RTMP viewers counted by the play hooks. */
  rtmpViewers: number;
  /** flvViewers + rtmpViewers. */
  viewers: number;
  ageMs: number;
  receiverState?: ReceiverInfo['state'];
  videoCodec?: string;
  audioCodec?: string;
  lastPacketAt?: number;
  /** False when the streamer could not be asked (dead, slow); the streamer's numbers are then absent. */
  streamerReachable: boolean;
}

interface Sample {
  bytes: number;
  at: number;
  bitrate: number;
}

export type FetchReceivers = (streamerUrl: string, timeoutMs: number) => Promise<ReceiverInfo[]>;

export const fetchReceivers: FetchReceivers = async (streamerUrl, timeoutMs) => {
  const res = await fetch(`${streamerUrl}/api/v1/receivers`, { signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) throw new Error(`streamer answered ${res.status}`);
  const body = (await res.json()) as { receivers?: ReceiverInfo[] };
  return Array.isArray(body.receivers) ? body.receivers : [];
};

export class StreamNumbersReader {
  readonly #samples = new Map<string, Sample>();
  readonly #timeoutMs: number;
  readonly #minSampleMs: number;
  readonly #fetch: FetchReceivers;

  constructor(options: { timeoutMs?: number; minSampleMs?: number; fetch?: FetchReceivers } = {}) {
    this.#timeoutMs = options.timeoutMs ?? 1000;
    this.#minSampleMs = options.minSampleMs ?? 1000;
    this.#fetch = options.fetch ?? fetchReceivers;
  }

  async read<S extends SessionRef>(
    sessions: S[],
    rtmpViewers: (session: S) => Promise<number>,
    now = Date.now(),
  ): Promise<Map<string, StreamNumbers>> {
    const urls = [...new Set(sessions.map((s) => s.streamerUrl).filter(Boolean))];
    const byUrl = new Map<string, Map<string, ReceiverInfo> | undefined>();
    const [, viewerCounts] = await Promise.all([
      Promise.all(
        urls.map(async (url) => {
          try {
            byUrl.set(url, new Map((await this.#fetch(url, this.#timeoutMs)).map((r) => [r.streamId, r])));
          } catch {
            byUrl.set(url, undefined);
          }
        }),
      ),
      Promise.all(sessions.map((s) => rtmpViewers(s).catch(() => 0))),
    ]);
    const out = new Map<string, StreamNumbers>();
    sessions.forEach((session, i) => {
      const receivers = byUrl.get(session.streamerUrl);
      const receiver = receivers?.get(session.streamId);
      const rtmp = viewerCounts[i];
      const numbers: StreamNumbers = { rtmpViewers: rtmp, viewers: rtmp, ageMs: Math.max(0, now - session.createdAt), streamerReachable: receivers !== undefined };
      if (receiver) {
        numbers.bytesIn = receiver.bytes;
        numbers.bitrateIn = this.#bitrate(session.streamId, receiver, now);
        numbers.flvViewers = receiver.viewers;
        numbers.viewers = rtmp + receiver.viewers;
        numbers.receiverState = receiver.state;
        numbers.videoCodec = receiver.videoCodec;
        numbers.audioCodec = receiver.audioCodec;
        numbers.lastPacketAt = receiver.lastPacketAt;
      }
      out.set(session.streamId, numbers);
    });
    // Forget streams that ended (the list is every running stream).
    for (const id of this.#samples.keys()) if (!out.has(id)) this.#samples.delete(id);
    return out;
  }

  #bitrate(streamId: string, receiver: ReceiverInfo, now: number): number {
    const previous = this.#samples.get(streamId);
    if (previous && receiver.bytes >= previous.bytes) {
      if (now - previous.at < this.#minSampleMs) return previous.bitrate;
      const bitrate = Math.round(((receiver.bytes - previous.bytes) * 8 * 1000) / (now - previous.at));
      this.#samples.set(streamId, { bytes: receiver.bytes, at: now, bitrate });
      return bitrate;
    }
    const since = receiver.openedAt > 0 && receiver.openedAt < now ? now - receiver.openedAt : 0;
    const bitrate = since > 0 ? Math.round((receiver.bytes * 8 * 1000) / since) : 0;
    this.#samples.set(streamId, { bytes: receiver.bytes, at: now, bitrate });
    return bitrate;
  }
}
