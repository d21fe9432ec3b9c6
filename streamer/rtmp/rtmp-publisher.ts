/**
 * RtmpPublisher: keeps one stream published to an RTMP server for as long as it lives.
 *
 * - Connects, publishes, and on any failure reconnects with exponential backoff and jitter until
 *   close() is called. Nothing is buffered while not publishing: media offered then is dropped.
 * - On every publish it sends the header tags first (from `headerTags()`: metadata, sequence
 *   headers), then the current GOP (`backlogTags()`, when given), then live media; without a backlog
 *   media starts at the next video keyframe. Timestamps are the tags' own, clamped so
 *   each track's timestamps never go backwards within one publish.
 * - The send queue is bounded in bytes (queue plus socket buffer). A server slower than the camera
 *   costs dropped media (counted, resuming at a keyframe), never memory. No method throws.
 */
import { EventEmitter } from 'node:events';
import { RtmpConnection } from './connection.ts';
import { ChunkStream, MAX_INTEROPERABLE_CHUNK_SIZE, MessageType, SET_DATA_FRAME, startsWithSetDataFrame } from './protocol.ts';
import { SendQueue } from './send-queue.ts';
import { silentLogger, tagBody } from './types.ts';
import type { RtmpLogger, RtmpMediaTag } from './types.ts';
import { parseRtmpUrl } from './url.ts';
import type { RtmpTarget } from './url.ts';

export interface RtmpPublisherOptions {
  /** `rtmp://host[:port]/app[/instance]/stream[?query]` */
  url: string;
  /** The tags a new publish must start with: onMetaData and the audio/video sequence headers. */
  headerTags: () => readonly RtmpMediaTag[];
  /**
   * Media from the latest video keyframe up to now (a GOP cache), sent right after the headers on
   * every publish, so the first publish (which races the camera's first keyframe) and a reconnect
   * start with the current GOP instead of waiting for the next one. Without it media starts at the
   * next keyframe.
   */
  backlogTags?: () => readonly RtmpMediaTag[];
  logger?: RtmpLogger;
  /** Bound on queued bytes, socket buffer included (default 8 MiB). */
  maxQueueBytes?: number;
  /** Deadline from TCP connect to NetStream.Publish.Start (default 10 s). */
  connectTimeoutMs?: number;
  /** Reconnect backoff (defaults 1 s, doubling up to 30 s, with jitter). */
  reconnect?: { initialDelayMs?: number; maxDelayMs?: number };
  /** Outgoing chunk size (default 65536, the largest SRS accepts; nginx-rtmp takes up to 10 MiB). */
  chunkSize?: number;
  /** Largest message accepted from the server (default 1 MiB). */
  maxServerMessageSize?: number;
  /** How long close() waits for queued data to go out (default 2 s). */
  closeFlushMs?: number;
  /**
   * Send the current video sequence header (from `headerTags()`) again right before every video
   * keyframe. nginx-rtmp keeps only AVC and AAC sequence headers for players that join mid-stream,
   * so with HEVC as codec id 12 a late player never gets the HEVC header unless it is repeated.
   * Default false.
   */
  repeatVideoHeader?: boolean;
  /**
   * Media is written to the socket in batches gathered over this many milliseconds (0: per turn
   * of the event loop). Larger values mean fewer system calls per stream and that much latency.
   */
  mergeWriteMs?: number;
}

export type RtmpPublisherState = 'idle' | 'connecting' | 'publishing' | 'disconnected' | 'closed';

export interface RtmpPublisherCounters {
  /** Connection attempts after the first one. */
  reconnects: number;
  /** Media tags dropped: while not publishing, before a keyframe, or on queue overflow. */
  queueDrops: number;
  /** Bytes handed to the socket, chunk headers included, over all connections. */
  bytesSent: number;
  /** Tags handed to the socket (headers included). */
  tagsSent: number;
}

export interface DisconnectInfo {
  reason: string;
  /** Delay before the next attempt, or null when the publisher is closing. */
  retryInMs: number | null;
}

interface PublisherEvents {
  connecting: [attempt: number];
  publishing: [streamId: number];
  disconnected: [info: DisconnectInfo];
  closed: [];
}

/** Largest FLV/RTMP body: the length fields are 24 bits (@setDataFrame adds 16 bytes to metadata). */
const MAX_BODY = 0xffffff - 16;
/** A publish that lasted this long resets the backoff. */
const STABLE_PUBLISH_MS = 10_000;

export class RtmpPublisher extends EventEmitter<PublisherEvents> {
  readonly target: RtmpTarget;
  private readonly headerTags: () => readonly RtmpMediaTag[];
  private readonly backlogTags: () => readonly RtmpMediaTag[];
  private readonly log: RtmpLogger;
  private readonly queue: SendQueue;
  private readonly connectTimeoutMs: number;
  private readonly initialDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly chunkSize: number;
  private readonly maxServerMessageSize: number;
  private readonly closeFlushMs: number;
  private readonly repeatVideoHeader: boolean;
  private readonly mergeWriteMs: number;
  /** The last video tag written was a sequence header (no need to repeat it before a keyframe). */
  private videoHeaderJustSent = false;
  /** Write to the socket while it buffers less than this. */
  private readonly lowWater: number;

  private stateValue: RtmpPublisherState = 'idle';
  private conn: RtmpConnection | null = null;
  private attempts = 0;
  private backoffStep = 0;
  private publishStartedAt = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private closing: Promise<void> | null = null;
  private peak = 0;
  /** Last timestamp sent per message type within the current publish. */
  private lastTs = [0, 0, 0];
  private readonly countersValue: RtmpPublisherCounters = { reconnects: 0, queueDrops: 0, bytesSent: 0, tagsSent: 0 };
  private readonly sendParts: Buffer[] = [SET_DATA_FRAME, SET_DATA_FRAME];

  constructor(options: RtmpPublisherOptions) {
    super();
    this.target = parseRtmpUrl(options.url);
    this.headerTags = options.headerTags;
    this.backlogTags = options.backlogTags ?? (() => []);
    this.log = options.logger ?? silentLogger;
    const maxQueueBytes = options.maxQueueBytes ?? 8 * 1024 * 1024;
    this.chunkSize = options.chunkSize ?? MAX_INTEROPERABLE_CHUNK_SIZE;
    this.queue = new SendQueue(maxQueueBytes, this.chunkSize);
    this.lowWater = Math.max(16 * 1024, Math.min(256 * 1024, Math.floor(maxQueueBytes / 4)));
    this.connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    this.initialDelayMs = Math.max(1, options.reconnect?.initialDelayMs ?? 1000);
    this.maxDelayMs = Math.max(this.initialDelayMs, options.reconnect?.maxDelayMs ?? 30_000);
    this.maxServerMessageSize = options.maxServerMessageSize ?? 1024 * 1024;
    this.closeFlushMs = options.closeFlushMs ?? 2000;
    this.repeatVideoHeader = options.repeatVideoHeader ?? false;
    this.mergeWriteMs = options.mergeWriteMs ?? 0;
  }

  get state(): RtmpPublisherState {
    return this.stateValue;
  }

  /** A snapshot of the counters. */
  get stats(): RtmpPublisherCounters {
    const c = this.countersValue;
    return {
      reconnects: c.reconnects,
      queueDrops: this.queue.drops,
      bytesSent: c.bytesSent + (this.conn?.bytesWritten ?? 0),
      tagsSent: c.tagsSent,
    };
  }

  /** Same as `stats`. */
  get counters(): RtmpPublisherCounters {
    return this.stats;
  }

  /** Bytes waiting: the send queue plus the socket's buffer. */
  get queuedBytes(): number {
    return this.queue.bytes + (this.conn?.writableLength ?? 0);
  }

  /** The largest queuedBytes seen right after accepting a tag. */
  get peakQueuedBytes(): number {
    return this.peak;
  }

  start(): void {
    if (this.stateValue !== 'idle') return;
    this.connect();
  }

  /** Offers one tag. Never throws; a tag that cannot be sent now is dropped and counted. */
  send(tag: RtmpMediaTag): void {
    if (this.closing) return;
    try {
      if (tag.data.length < 15 || tag.data.length - 15 > MAX_BODY) {
        this.queue.drops++;
        return;
      }
      if (this.stateValue !== 'publishing' || !this.conn) {
        // Headers come back from headerTags() on the next publish; media is not buffered.
        if (!tag.isHeader) this.queue.drops++;
        return;
      }
      if (this.queue.offer(tag, this.conn.writableLength) === 'queued') {
        this.pump();
        const q = this.queuedBytes;
        if (q > this.peak) this.peak = q;
      }
    } catch (err) {
      this.queue.drops++;
      this.log.error({ err }, 'rtmp publisher: tag dropped after an unexpected error');
    }
  }

  /**
   * Stops publishing: waits briefly for queued data to go out, sends FCUnpublish and deleteStream,
   * closes the connection and stops reconnecting.
   */
  close(): Promise<void> {
    if (!this.closing) this.closing = this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    const conn = this.conn;
    if (conn && this.stateValue === 'publishing') {
      const deadline = Date.now() + this.closeFlushMs;
      while (this.stateValue === 'publishing' && (this.queue.length > 0 || conn.writableLength > 0) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 10));
        this.pump();
      }
      await conn.end(Math.max(100, deadline - Date.now()));
    } else if (conn) {
      conn.close('closed by the publisher');
    }
    this.conn = null;
    this.queue.clear();
    this.stateValue = 'closed';
    this.emit('closed');
  }

  private connect(): void {
    if (this.closing) return;
    if (this.attempts > 0) this.countersValue.reconnects++;
    this.attempts++;
    this.stateValue = 'connecting';
    this.emit('connecting', this.attempts);
    const conn = new RtmpConnection({
      target: this.target,
      chunkSize: this.chunkSize,
      connectTimeoutMs: this.connectTimeoutMs,
      maxServerMessageSize: this.maxServerMessageSize,
      logger: this.log,
      mergeWriteMs: this.mergeWriteMs,
    });
    this.conn = conn;
    conn.on('publishing', (streamId) => this.onPublishing(conn, streamId));
    conn.on('drain', () => this.pump());
    conn.on('closed', (reason) => this.onClosed(conn, reason));
  }

  private onPublishing(conn: RtmpConnection, streamId: number): void {
    if (conn !== this.conn || this.closing) return;
    this.stateValue = 'publishing';
    this.publishStartedAt = Date.now();
    this.lastTs = [0, 0, 0];
    this.videoHeaderJustSent = false;
    let headers: readonly RtmpMediaTag[] = [];
    let backlog: readonly RtmpMediaTag[] = [];
    try {
      headers = this.headerTags().filter((t) => t.data.length >= 15);
      backlog = this.backlogTags().filter((t) => t.data.length >= 15);
    } catch (err) {
      this.log.error({ err }, 'rtmp publisher: headerTags() or backlogTags() threw; publishing without them');
    }
    this.queue.restart(headers, backlog);
    this.log.info({ url: this.redactedUrl(), streamId, headers: headers.length }, 'rtmp publishing');
    this.emit('publishing', streamId);
    this.pump();
  }

  private onClosed(conn: RtmpConnection, reason: string): void {
    this.countersValue.bytesSent += conn.bytesWritten;
    if (conn !== this.conn) return;
    this.conn = null;
    this.queue.clear();
    if (this.closing) return;
    if (this.stateValue === 'publishing' && Date.now() - this.publishStartedAt >= STABLE_PUBLISH_MS) this.backoffStep = 0;
    const base = Math.min(this.maxDelayMs, this.initialDelayMs * 2 ** Math.min(this.backoffStep, 30));
    this.backoffStep++;
    const delay = Math.round(base * (0.5 + Math.random() * 0.5));
    this.stateValue = 'disconnected';
    this.log.warn({ url: this.redactedUrl(), reason, retryInMs: delay }, 'rtmp disconnected');
    this.emit('disconnected', { reason, retryInMs: delay });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.connect();
    }, delay);
  }

  /** Writes queued tags while the socket buffers less than the low-water mark. */
  private pump(): void {
    const conn = this.conn;
    if (!conn || this.stateValue !== 'publishing') return;
    while (conn.writableLength < this.lowWater && conn.phase === 'publishing') {
      const tag = this.queue.shift();
      if (!tag) break;
      try {
        this.writeTag(conn, tag);
      } catch (err) {
        this.queue.drops++;
        this.log.error({ err }, 'rtmp publisher: tag dropped after an unexpected error');
      }
    }
  }

  private writeTag(conn: RtmpConnection, tag: RtmpMediaTag): void {
    if (tag.type === 9) {
      if (this.repeatVideoHeader && tag.keyframe && !tag.isHeader && !this.videoHeaderJustSent) {
        const header = this.currentVideoHeader();
        if (header) this.writeTag(conn, { ...header, timestamp: tag.timestamp });
      }
      this.videoHeaderJustSent = tag.isHeader;
    }
    const body = tagBody(tag);
    const slot = tag.type === 8 ? 0 : tag.type === 9 ? 1 : 2;
    let ts = Math.floor(tag.timestamp);
    if (!(ts >= this.lastTs[slot])) ts = this.lastTs[slot]; // also catches NaN
    this.lastTs[slot] = ts;
    let n: number;
    if (tag.type === 8) {
      n = conn.sendMessage(ChunkStream.Audio, MessageType.Audio, ts, body);
    } else if (tag.type === 9) {
      n = conn.sendMessage(ChunkStream.Video, MessageType.Video, ts, body);
    } else if (isOnMetaData(body)) {
      this.sendParts[1] = body;
      n = conn.sendMessage(ChunkStream.Data, MessageType.DataAmf0, ts, this.sendParts);
      this.sendParts[1] = SET_DATA_FRAME;
    } else {
      n = conn.sendMessage(ChunkStream.Data, MessageType.DataAmf0, ts, body);
    }
    if (n > 0) this.countersValue.tagsSent++;
  }

  private currentVideoHeader(): RtmpMediaTag | undefined {
    try {
      return this.headerTags().find((t) => t.type === 9 && t.isHeader && t.data.length >= 15);
    } catch {
      return undefined;
    }
  }

  private redactedUrl(): string {
    const t = this.target;
    const stream = t.stream.split('?')[0];
    return `rtmp://${t.host}:${t.port}/${t.app}/${stream}${t.query ? '?…' : ''}`;
  }
}

const ON_METADATA = Buffer.from('\x02\x00\x0aonMetaData', 'latin1');

/** The script tag body starts with the AMF0 string 'onMetaData' (and not already @setDataFrame). */
function isOnMetaData(body: Buffer): boolean {
  if (startsWithSetDataFrame(body)) return false;
  return body.length >= ON_METADATA.length && body.compare(ON_METADATA, 0, ON_METADATA.length, 0, ON_METADATA.length) === 0;
}
