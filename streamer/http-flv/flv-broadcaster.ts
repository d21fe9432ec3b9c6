/**
 * One stream's HTTP-FLV fan-out: FLV tags in (`publish`), any number of viewers out.
 *
 * - A GOP cache holds the tags from the latest video keyframe on, bounded in bytes; a GOP that outgrows
 *   it is dropped (the headers stay) and caching resumes at the next keyframe.
 * - A new viewer gets the FLV file header, the current header tags (onMetaData, sequence headers), the
 *   cached GOP, then live tags. With no keyframe cached yet it waits, without a byte written, until the
 *   next one (so its file header can state which tracks exist).
 * - Every viewer is written the same tag Buffers: no per-viewer copies.
 * - A viewer whose unsent bytes (`writableLength`) pass `maxPendingBytes` is not written to any more and
 *   is moved forward to the next keyframe: it skips the rest of the GOP, audio included, so its decoder
 *   never sees a hole inside a GOP. One that is still behind after `maxSkipsInRow` keyframes in a row or
 *   `maxBehindMs` is closed. So a viewer holds at most maxPendingBytes + one GOP burst + one tag.
 * - Audio-only streams have no keyframes: there every audio tag is a place to start or resume.
 *
 * Timestamps are passed through: a late joiner's first media tag carries the stream's clock, not 0
 * (players take the first tag as their origin).
 */
import type { FlvTag } from '../flv/flv-tag.ts';
import { flvFileHeader, FlvTagType } from '../flv/flv-tag.ts';

/** What the broadcaster writes to: an http.ServerResponse, or anything with the same few members. */
export interface FlvViewerSink {
  write(chunk: Buffer): boolean;
  end(): void;
  destroy?(): void;
  readonly writableLength: number;
  on(event: 'close' | 'error' | 'drain', listener: (...args: unknown[]) => void): unknown;
}

export type GopCacheMode = 'always' | 'on-demand' | 'off';

export interface FlvBroadcasterOptions {
  /** Unsent bytes above which a viewer is skipped to the next keyframe. Default 1 MiB. */
  maxPendingBytes?: number;
  /** Bytes of the GOP cache. Default 4 MiB. */
  maxGopBytes?: number;
  /**
   * When the GOP cache (a new viewer's instant start, the RTMP publisher's backlog) is kept:
   * 'always', 'off', or 'on-demand' (default): while the stream has viewers, for `gopCacheIdleMs`
   * after the last one left, and whenever `gopDemand()` says so. A GOP costs its size in memory
   * (about 0.5 MB at 2 Mbit/s with 2 s between keyframes) and the garbage collector the work of
   * keeping it alive; most streams pushed to an RTMP server are never watched here.
   */
  gopCache?: GopCacheMode;
  /** 'on-demand': how long the cache outlives the last viewer. Default 5 minutes. */
  gopCacheIdleMs?: number;
  /** 'on-demand': another reason to keep the cache (the RTMP publisher before it publishes). */
  gopDemand?: () => boolean;
  /** Consecutive skips after which a viewer is closed. Default 3. */
  maxSkipsInRow?: number;
  /** Time a viewer may stay skipped before it is closed. Default 10 s. */
  maxBehindMs?: number;
  /** Clock, for tests. */
  now?: () => number;
  /**
   * The tracks the stream will have, when known up front (from the PS stream map). Without it they
   * are inferred from the tags seen so far, which can only be wrong at the very start of a stream:
   * a viewer that starts on audio before the first video tag gets a file header without video.
   */
  tracks?: { video: boolean; audio: boolean };
}

export interface FlvBroadcasterStats {
  /** Viewers that have been attached. */
  viewersServed: number;
  /** Times a viewer was moved forward to the next keyframe because it fell behind. */
  skips: number;
  /** Viewers closed for staying behind. */
  drops: number;
  /** GOPs that outgrew the cache. */
  gopOverflows: number;
  tagsPublished: number;
}

interface Viewer {
  readonly sink: FlvViewerSink;
  /** File header written. */
  started: boolean;
  /** Receiving live tags; false while waiting for a keyframe (new, or skipped). */
  live: boolean;
  headersVersion: number;
  skipsInRow: number;
  behindSince: number;
  /** Extra pending bytes tolerated until the next keyframe: the burst written when it joined. */
  allowance: number;
}

const SLOT_META = 0;
const SLOT_VIDEO = 1;
const SLOT_AUDIO = 2;

export class FlvBroadcaster {
  readonly stats: FlvBroadcasterStats = { viewersServed: 0, skips: 0, drops: 0, gopOverflows: 0, tagsPublished: 0 };

  private readonly maxPendingBytes: number;
  private readonly maxGopBytes: number;
  private readonly gopCache: GopCacheMode;
  private readonly gopCacheIdleMs: number;
  private readonly gopDemand: () => boolean;
  /** When the last viewer left (or -Infinity). */
  private lastViewerAt = -Infinity;
  private readonly maxSkipsInRow: number;
  private readonly maxBehindMs: number;
  private readonly now: () => number;

  private readonly viewers = new Map<FlvViewerSink, Viewer>();
  private readonly headers: (FlvTag | null)[] = [null, null, null];
  private headersVersion = 0;
  private gop: FlvTag[] = [];
  private gopSize = 0;
  private hasVideo = false;
  private hasAudio = false;
  private expectVideo = false;
  private closed = false;

  constructor(options: FlvBroadcasterOptions = {}) {
    this.maxPendingBytes = options.maxPendingBytes ?? 1024 * 1024;
    this.maxGopBytes = options.maxGopBytes ?? 4 * 1024 * 1024;
    this.gopCache = options.gopCache ?? 'on-demand';
    this.gopCacheIdleMs = options.gopCacheIdleMs ?? 5 * 60_000;
    this.gopDemand = options.gopDemand ?? (() => false);
    this.maxSkipsInRow = options.maxSkipsInRow ?? 3;
    this.maxBehindMs = options.maxBehindMs ?? 10_000;
    this.now = options.now ?? Date.now;
    if (options.tracks) this.expectTracks(options.tracks);
  }

  /** Declares the stream's tracks (see FlvBroadcasterOptions.tracks); can be called once they are known. */
  expectTracks(tracks: { video: boolean; audio: boolean }): void {
    this.expectVideo = tracks.video;
    if (tracks.video) this.hasVideo = true;
    if (tracks.audio) this.hasAudio = true;
  }

  get viewerCount(): number {
    return this.viewers.size;
  }

  /** Bytes held by the GOP cache. */
  get gopBytes(): number {
    return this.gopSize;
  }

  /**
   * The cached media from the latest video keyframe up to now (empty when none is cached). The
   * RTMP publisher starts every publish with it. The array is the live cache: read it at once.
   */
  gopTags(): readonly FlvTag[] {
    return this.gop;
  }

  /** Decided at each keyframe: cache the GOP it starts? */
  private wantGop(): boolean {
    if (this.gopCache !== 'on-demand') return this.gopCache === 'always';
    return this.viewers.size > 0 || this.now() - this.lastViewerAt < this.gopCacheIdleMs || this.gopDemand();
  }

  private detach(sink: FlvViewerSink): void {
    if (this.viewers.delete(sink)) this.lastViewerAt = this.now();
  }

  /** Attaches a viewer; it is detached when it closes or errors, or by close(). */
  addViewer(sink: FlvViewerSink): void {
    if (this.closed) {
      sink.end();
      return;
    }
    if (this.viewers.has(sink)) return;
    const v: Viewer = { sink, started: false, live: false, headersVersion: -1, skipsInRow: 0, behindSince: 0, allowance: 0 };
    this.viewers.set(sink, v);
    this.stats.viewersServed++;
    const detach = () => this.detach(sink);
    sink.on('close', detach);
    sink.on('error', detach);
    if (this.gop.length > 0) {
      this.begin(v);
      let burst = 0;
      for (const tag of this.gop) {
        sink.write(tag.data);
        burst += tag.data.length;
      }
      v.allowance = burst;
    } else if (!this.hasVideo && !this.expectVideo && this.hasAudio) {
      this.begin(v); // audio only: the next audio tag is a fine start
    }
  }

  /** Feeds one tag from the muxer. */
  publish(tag: FlvTag): void {
    if (this.closed) return;
    this.stats.tagsPublished++;
    if (tag.isHeader) {
      this.publishHeader(tag);
      return;
    }
    const video = tag.type === FlvTagType.Video;
    if (video) this.hasVideo = true;
    else if (tag.type === FlvTagType.Audio) this.hasAudio = true;
    const keyframe = video && tag.keyframe;
    const syncPoint = keyframe || (!this.hasVideo && !this.expectVideo && tag.type === FlvTagType.Audio);

    if (keyframe) {
      if (this.wantGop()) {
        this.gop = [tag];
        this.gopSize = tag.data.length;
      } else if (this.gop.length > 0) {
        this.gop = [];
        this.gopSize = 0;
      }
    } else if (this.gop.length > 0) {
      this.gop.push(tag);
      this.gopSize += tag.data.length;
      if (this.gopSize > this.maxGopBytes) {
        this.gop = [];
        this.gopSize = 0;
        this.stats.gopOverflows++;
      }
    }

    for (const v of this.viewers.values()) {
      if (v.live) {
        if (v.sink.writableLength > this.maxPendingBytes + v.allowance) {
          this.fallBehind(v);
          continue;
        }
        if (syncPoint) {
          v.skipsInRow = 0;
          v.allowance = 0;
        }
        v.sink.write(tag.data);
      } else if (v.started && this.now() - v.behindSince > this.maxBehindMs) {
        this.drop(v);
      } else if (syncPoint) {
        if (v.started && v.sink.writableLength > this.maxPendingBytes) {
          this.fallBehind(v); // still backed up at this keyframe: another skip
          continue;
        }
        this.begin(v);
        v.sink.write(tag.data);
      }
    }
  }

  /** Ends every viewer (destroying those too far behind to ever flush) and refuses new ones. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const v of this.viewers.values()) {
      if (v.sink.writableLength > this.maxPendingBytes + v.allowance && v.sink.destroy) v.sink.destroy();
      else v.sink.end();
    }
    this.viewers.clear();
    this.gop = [];
    this.gopSize = 0;
  }

  private publishHeader(tag: FlvTag): void {
    const slot = tag.type === FlvTagType.Script ? SLOT_META : tag.type === FlvTagType.Video ? SLOT_VIDEO : SLOT_AUDIO;
    this.headers[slot] = tag;
    this.headersVersion++;
    if (slot === SLOT_VIDEO) this.hasVideo = true;
    else if (slot === SLOT_AUDIO) this.hasAudio = true;
    for (const v of this.viewers.values()) {
      if (v.live) {
        v.sink.write(tag.data);
        v.headersVersion = this.headersVersion;
      }
    }
  }

  /** Makes a viewer live: file header the first time, header tags when they changed since it last had them. */
  private begin(v: Viewer): void {
    if (!v.started) {
      v.sink.write(flvFileHeader(this.hasVideo, this.hasAudio));
      v.started = true;
    }
    if (v.headersVersion !== this.headersVersion) {
      for (const h of this.headers) if (h) v.sink.write(h.data);
      v.headersVersion = this.headersVersion;
    }
    v.live = true;
    v.behindSince = 0;
  }

  private fallBehind(v: Viewer): void {
    this.stats.skips++;
    v.skipsInRow++;
    if (v.live) {
      v.live = false;
      v.behindSince = this.now();
    }
    if (v.skipsInRow >= this.maxSkipsInRow) this.drop(v);
  }

  private drop(v: Viewer): void {
    this.stats.drops++;
    this.detach(v.sink);
    if (v.sink.destroy) v.sink.destroy();
    else v.sink.end();
  }
}
