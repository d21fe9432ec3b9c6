/**
 * The stream side of the store: which channel streams where, the SIP dialog that carries it, the
 * SSRCs in use, on-demand viewer counts, and the least-loaded streamer pick.
 *
 * Any signaling replica can end any stream (an API call, the device's BYE, a streamer's no-media
 * event): everything needed to send the BYE and close the receiver is in the session record.
 * Implementations: `RedisStreamStore` (common/redis/stream-store.ts) and `MemoryStreamStore`
 * (common/store/memory/); every method is atomic.
 */
import type { MediaTransport, StreamerRecord } from '../contracts.ts';

export interface StreamSession {
  streamId: string;
  deviceId: string;
  channelId: string;
  ssrc: string;
  transport: MediaTransport;
  streamerId: string;
  /** The streamer's internal API base URL. */
  streamerUrl: string;
  /** The streamer process's start time from its record when picked: a restarted streamer lost the stream. */
  streamerStartedAt?: number;
  streamerAddress: string;
  streamerPort: number;
  rtmpUrl?: string;
  flvUrl: string;
  /** 'inviting' until the device answered 200 and was ACKed, then 'live'. */
  state: 'inviting' | 'live';
  createdAt: number;
  /** The dialog, for the BYE: Call-ID, our From tag, the device's To tag, our last CSeq. */
  callId: string;
  fromTag: string;
  toTag?: string;
  cseq: number;
  /** Where the device's SIP packets come from and which transport they use. */
  sipTransport: 'UDP' | 'TCP';
  sipIp: string;
  sipPort: number;
  /** The request URI for in-dialog requests (the device's Contact, else the INVITE's URI). */
  remoteTarget: string;
}

export interface StreamStore {
  /**
   * The least-loaded live, non-draining streamer of `pool`, reserved: its load counts one more
   * stream at once, so a burst of plays spreads across the pool before the streamers' next reports.
   * Streamers whose record expired are skipped (and dropped from the pool); draining ones are
   * skipped. Undefined when none is left.
   */
  pickStreamer(pool: string): Promise<StreamerRecord | undefined>;

  /** Gives back a reservation that did not become a stream (the load counts one stream less). */
  unreserveStreamer(pool: string, streamerId: string): Promise<void>;

  /** Live streamers of every pool (records not expired), for the API. */
  listStreamers(): Promise<StreamerRecord[]>;

  /** Claims an SSRC for a stream; false when any stream (even this one) holds it already. */
  claimSsrc(ssrc: string, streamId: string): Promise<boolean>;

  /**
   * Claims the channel for a new stream: `{claimed: true, streamId}` when this call made the
   * claim, else `{claimed: false, streamId: <the holder>}` (play is idempotent per channel).
   */
  claimChannel(deviceId: string, channelId: string, streamId: string): Promise<{ claimed: boolean; streamId: string }>;

  /** The id of the channel's running (or starting) stream. */
  channelStreamId(deviceId: string, channelId: string): Promise<string | undefined>;

  /** An RTMP server reported a viewer of the channel: the new count; a pending idle stop is cancelled. */
  viewerJoined(deviceId: string, channelId: string): Promise<number>;

  /** A viewer left: the new count, never below 0. */
  viewerLeft(deviceId: string, channelId: string): Promise<number>;

  viewerCount(deviceId: string, channelId: string): Promise<number>;

  /** Stop the channel's stream at `at` unless a viewer comes back before (replaces an earlier time). */
  scheduleIdleStop(deviceId: string, channelId: string, at: number): Promise<void>;

  /** Idle stops that are due (time ≤ now), as [deviceId, channelId], earliest first; each handed to one caller only. */
  takeDueIdleStops(now: number, limit?: number): Promise<[string, string][]>;

  /** Stores the session and lists it. */
  save(session: StreamSession): Promise<void>;

  /** Changes fields of a saved session (undefined values are ignored). */
  update(streamId: string, fields: Partial<StreamSession>): Promise<void>;

  get(streamId: string): Promise<StreamSession | undefined>;

  /** Finds the stream of a SIP dialog (a device's BYE). */
  byCallId(callId: string): Promise<StreamSession | undefined>;

  indexCallId(callId: string, streamId: string): Promise<void>;

  /** Every saved session, oldest first. */
  list(): Promise<StreamSession[]>;

  /** The saved sessions on one streamer, oldest first (kept as an index: no scan of every stream). */
  listOnStreamer(streamerId: string): Promise<StreamSession[]>;

  /**
   * Removes a stream and everything that pointed at it: the session, its listing (also on its
   * streamer), its Call-ID index, and the channel and SSRC claims only while they still name this stream. True for the
   * one caller that removed a listed stream (the one that must send the BYE and close the
   * receiver), false when it was already gone.
   */
  remove(session: Pick<StreamSession, 'streamId' | 'deviceId' | 'channelId' | 'ssrc' | 'callId'>): Promise<boolean>;
}
