/**
 * MPEG-2 Program Stream demuxer for GB28181: RTP payload bytes in, MediaFrames out.
 *
 * Feed it the payload of each RTP packet in sequence order (`push`), tell it when packets were lost
 * (`signalLoss`) and, if you like, when a packet had the marker bit (`endOfFrame`). It emits whole
 * video access units (Annex-B) and audio frames (G.711 per PES, AAC per ADTS frame) to the sink.
 *
 * How it reads the stream: a state machine over a queue of views of the pushed buffers.
 *   SYNC       a unit starts here: pack header, system header, PSM, PES, or something to skip
 *   PAYLOAD    inside a PES of known length: its bytes go to the video unit, the audio PES or nowhere
 *   UNBOUNDED  inside a video PES of length 0: it ends where the next PS unit starts
 *   SKIP       inside a unit we do not read (system header, private streams, padding, other streams)
 *   HUNT       searching for the next unit start after garbage, loss, or at the start of the stream
 * A unit start found by searching (HUNT, UNBOUNDED) must be 00 00 01 followed by a PS stream id and a
 * header of consistent structure; Annex-B video cannot contain such a sequence (its NAL header byte
 * after 00 00 01 is below 0x80), so video data never ends an unbounded PES by accident. Through
 * garbage (bytes where a unit should have started), the marker bits must be right too.
 * Garbage between units is skipped and counted without harming the frame in progress; when the
 * skipped bytes held Annex-B start codes, they were probably part of it, and it is treated as lost.
 *
 * Access units: a unit ends when a video PES arrives with another PTS, or one whose payload starts
 * with a NAL unit that begins an access unit (AUD, parameter sets, SEI, first slice of a picture)
 * once the current unit holds a picture; or on the marker bit, once the marker has proved to fall
 * on unit boundaries in this stream (devices set it inconsistently, so it is trusted only after it
 * agreed with the boundaries found from the PES three times, and never again once it disagreed).
 * A pack header by itself does not end a unit: some muxers put one in front of every PES of a frame.
 *
 * The bytes pushed must not be modified afterwards: frames are assembled from views of them and
 * copied once, when emitted.
 */
import type { AudioCodec, MediaFrame, VideoCodec } from '../../common/codec/frame.ts';
import { AudioPesAssembler } from './audio-pes.ts';
import { ByteQueue } from './byte-queue.ts';
import {
  MALFORMED,
  MAX_PSM_LENGTH,
  PesHeaderInfo,
  StreamId,
  StreamType,
  isAudioStreamId,
  isSearchableUnitId,
  isVideoStreamId,
  parsePackHeader,
  parsePesHeader,
  parsePsm,
  parseSystemHeaderStreams,
  psmSize,
  readUnitLength,
  systemHeaderPlausible,
} from './ps-headers.ts';
import type { PackHeaderInfo, PsmInfo, SystemHeaderStream } from './ps-headers.ts';
import { TimestampUnwrapper, TrackTimeline } from './timestamps.ts';
import { FinishResult, VideoAccessUnit } from './video-au.ts';

export interface PsDemuxerStats {
  /** Pack headers. */
  packs: number;
  systemHeaders: number;
  psms: number;
  /** PES packets of the video stream and of the audio stream. */
  pesVideo: number;
  pesAudio: number;
  /** PES and other units skipped: private streams, padding, other or unsupported streams. */
  pesSkipped: number;
  framesVideo: number;
  framesAudio: number;
  /**
   * Frames not emitted: damaged by loss or garbage, waiting for a keyframe, codec unknown, too
   * large. Includes oversizedFrames.
   */
  droppedFrames: number;
  /** Frames dropped for exceeding maxFrameBytes. */
  oversizedFrames: number;
  /** Times garbage was found where a unit should start (each followed by a search). */
  resyncs: number;
  /** Bytes skipped while searching. */
  skippedBytes: number;
  /** Malformed headers, PSMs, ADTS frames, and markers that proved wrong after being trusted. */
  malformed: number;
  /** Streams (id + type) that are declared or present but not supported; counted once each. */
  unsupportedStreams: number;
  /** signalLoss() calls. */
  losses: number;
  /** Time stamp discontinuities smoothed over. */
  timestampJumps: number;
  /** Video frames emitted early on a trusted marker bit. */
  markerFlushes: number;
}

/** What the demuxer saw, for debugging and tests (see describePs). */
export type PsUnit =
  | { kind: 'pack'; mpeg1: boolean; scr: number; stuffing: number; size: number }
  | { kind: 'end-code' }
  | { kind: 'system-header'; length: number; streams: SystemHeaderStream[] }
  | { kind: 'psm'; length: number; psm: PsmInfo | null }
  | {
      kind: 'pes';
      streamId: number;
      pesLength: number;
      headerSize: number;
      pts: number;
      dts: number;
      mpeg1: boolean;
      /** Up to 16 payload bytes that had arrived with the header. */
      payloadHead: Buffer;
    }
  | { kind: 'pes-end'; streamId: number; payloadBytes: number }
  | { kind: 'skip'; streamId: number; length: number }
  | { kind: 'malformed'; streamId: number }
  | { kind: 'resync'; skipped: number };

export interface PsDemuxerOptions {
  /** Largest video frame accepted; larger ones are dropped and counted. Default 8 MiB. */
  maxFrameBytes?: number;
  /**
   * Assemble video frames in one reused buffer instead of a new one per frame. The sink must then
   * be done with `frame.data` when it returns (copy what it keeps), as the FLV muxer is.
   */
  reuseFrameBuffer?: boolean;
  /**
   * Called when a stream map declares a different set of supported tracks: which tracks the stream
   * will carry, known before their first frames (an HTTP-FLV file header needs it).
   */
  onTracks?: (tracks: { video: boolean; audio: boolean }) => void;
  /** A time stamp step larger than this (ms) is smoothed over as a discontinuity. Default 10,000. */
  maxTimestampJumpMs?: number;
  /** Audio codec assumed when no PSM declares one and the data is not ADTS. Default pcma. */
  defaultAudioCodec?: 'pcma' | 'pcmu';
  /** Called for each unit parsed (debugging; costs an object per unit). */
  onUnit?: (unit: PsUnit) => void;
  /** Called once per stream id + stream type that is not supported. */
  onUnsupported?: (streamId: number, streamType: number) => void;
}

export type FrameSink = (frame: MediaFrame) => void;

const S_SYNC = 0;
const S_HUNT = 1;
const S_PAYLOAD = 2;
const S_UNBOUNDED = 3;
const S_SKIP = 4;

const T_DISCARD = 0;
const T_VIDEO = 1;
const T_AUDIO = 2;
const WAIT = -1;

/** Payload bytes looked at to tell whether a PES starts an access unit: start code + 3 bytes. */
const PEEK = 7;
/** Marker confirmations before it may end frames. */
const MARKER_TRUST = 3;
/** Audio PES declared AAC but not ADTS, in a row, before the data is taken for G.711. */
const AAC_MISMATCH_LIMIT = 3;

function videoCodecOf(streamType: number): VideoCodec | null {
  if (streamType === StreamType.H264) return 'h264';
  if (streamType === StreamType.H265) return 'h265';
  return null;
}

function audioCodecOf(streamType: number): AudioCodec | null {
  if (streamType === StreamType.G711A) return 'pcma';
  if (streamType === StreamType.G711U) return 'pcmu';
  if (streamType === StreamType.Aac) return 'aac';
  return null;
}

export class PsDemuxer {
  readonly stats: PsDemuxerStats = {
    packs: 0,
    systemHeaders: 0,
    psms: 0,
    pesVideo: 0,
    pesAudio: 0,
    pesSkipped: 0,
    framesVideo: 0,
    framesAudio: 0,
    droppedFrames: 0,
    oversizedFrames: 0,
    resyncs: 0,
    skippedBytes: 0,
    malformed: 0,
    unsupportedStreams: 0,
    losses: 0,
    timestampJumps: 0,
    markerFlushes: 0,
  };

  private readonly sink: FrameSink;
  private readonly onUnit: ((unit: PsUnit) => void) | undefined;
  private readonly onUnsupported: ((streamId: number, streamType: number) => void) | undefined;
  private readonly defaultAudio: AudioCodec;

  private readonly q = new ByteQueue();
  private state = S_HUNT;
  /** The current search was started by garbage (not by loss or the start of the stream). */
  private huntGarbage = false;
  /** The search skipped Annex-B start codes: what it skipped was probably video. */
  private huntSawNal = false;
  private huntSkipped = 0;
  /** Set by findUnitStart when it finds nothing: bytes that can be consumed. */
  private safe = 0;

  private remaining = 0;
  private target = T_DISCARD;
  private pesId = 0;
  private pesBytes = 0;
  private readonly pes = new PesHeaderInfo();
  private markerBitsWrong = false;
  private readonly pack: PackHeaderInfo = { mpeg1: false, scr: 0, stuffing: 0 };

  private readonly video: VideoAccessUnit;
  private readonly audio = new AudioPesAssembler();
  private readonly unwrapper = new TimestampUnwrapper();
  private readonly videoLine: TrackTimeline;
  private readonly audioLine: TrackTimeline;
  private carryVideo = false;

  private videoId = -1;
  private audioId = -1;
  /** stream_type per stream id from the PSM, -1 when undeclared. */
  private readonly declared = new Int16Array(256).fill(-1);
  private readonly reported = new Set<number>();
  private readonly onTracks: ((tracks: { video: boolean; audio: boolean }) => void) | undefined;
  /** Tracks the last stream map declared: bit 0 video, bit 1 audio; -1 before any. */
  private declaredTracks = -1;
  private audioSniffed: AudioCodec | null = null;
  private aacMismatches = 0;

  private markerTrust = 0;
  private markerSerial = -1;
  private markerSize = 0;
  private markerFlushPending = false;
  private markerFlushedPts = -1;
  /** The last packet pushed carried the marker bit and ended at a unit boundary. */
  private markerAtEnd = false;

  // Bound once, to avoid a closure per call on the hot path.
  private readonly payloadView = (buf: Buffer, start: number, end: number): void => this.onPayload(buf, start, end);
  private readonly audioSink = (codec: AudioCodec, pts: number, data: Buffer, duration: number): void => {
    this.audioLine.setLast(pts, duration);
    this.stats.framesAudio++;
    this.sink({ kind: 'audio', codec, pts, data });
  };

  constructor(sink: FrameSink, opts: PsDemuxerOptions = {}) {
    this.sink = sink;
    this.onUnit = opts.onUnit;
    this.onUnsupported = opts.onUnsupported;
    this.onTracks = opts.onTracks;
    this.defaultAudio = opts.defaultAudioCodec ?? 'pcma';
    this.video = new VideoAccessUnit(opts.maxFrameBytes ?? 8 * 1024 * 1024, opts.reuseFrameBuffer ?? false);
    const jump = (opts.maxTimestampJumpMs ?? 10_000) * 90;
    this.videoLine = new TrackTimeline({ maxForwardJump: jump, maxBackwardJump: 90_000, defaultDuration: 3600 });
    this.audioLine = new TrackTimeline({ maxForwardJump: jump, maxBackwardJump: 90_000, defaultDuration: 1800 });
  }

  /** Bytes held while waiting for the rest of a header (bounded by the largest header, ~4 KiB). */
  get queuedBytes(): number {
    return this.q.length;
  }

  /** Bytes of the video frame being assembled (bounded by maxFrameBytes). */
  get pendingFrameBytes(): number {
    return this.video.size;
  }

  /** Whether endOfFrame() currently ends frames (the marker proved reliable so far). */
  get markerTrusted(): boolean {
    return this.markerTrust >= MARKER_TRUST;
  }

  /** The video codec in use (sniffed, else declared), or null before it is known. */
  get videoCodec(): VideoCodec | null {
    return this.video.codecGuess;
  }

  /** Feeds buf[start, end), the next bytes of the program stream (an RTP payload). */
  push(buf: Buffer, start = 0, end: number = buf.length): void {
    if (start < 0) start = 0;
    if (end > buf.length) end = buf.length;
    if (end <= start) return;
    this.markerAtEnd = false;
    this.q.push(buf, start, end);
    this.pump();
  }

  /** Packets were lost before the next push: the frame in progress is damaged. */
  signalLoss(): void {
    this.stats.losses++;
    if (this.video.abandon()) this.stats.droppedFrames++;
    this.carryVideo = false;
    this.video.needKeyframe = true;
    this.video.waitAuStart = true;
    if (this.audio.drop()) this.stats.droppedFrames++;
    this.q.clear();
    this.state = S_HUNT;
    this.huntGarbage = false;
    this.huntSawNal = false;
    this.huntSkipped = 0;
    this.remaining = 0;
    this.target = T_DISCARD;
    this.markerSerial = -1;
    this.markerFlushPending = false;
  }

  /**
   * The last packet pushed had the RTP marker bit: a hint that the video frame is complete. Acted on
   * only once the marker has proved reliable in this stream; see the file comment.
   */
  endOfFrame(): void {
    this.markerAtEnd = this.state === S_SYNC && this.q.length === 0;
    const v = this.video;
    if (!v.active || !v.hasPicture || v.damaged) return;
    if ((this.state === S_PAYLOAD || this.state === S_UNBOUNDED) && this.target === T_VIDEO) {
      if (this.state === S_PAYLOAD) this.markerTrust = -Infinity; // marker in the middle of a video PES
      return;
    }
    if (this.state !== S_SYNC || this.q.length > 0) return;
    if (this.markerTrust >= MARKER_TRUST) {
      this.markerFlushedPts = v.pts;
      this.markerFlushPending = true;
      this.stats.markerFlushes++;
      this.flushVideo(true);
    } else {
      this.markerSerial = v.serial;
      this.markerSize = v.size;
    }
  }

  /**
   * End of the stream: forgets partial data and decides on the frame in progress. A live stream may
   * stop anywhere, so that frame is emitted only when the last packet pushed carried the marker bit
   * and ended at a unit boundary. Pass `complete` when the input is known to end at a frame boundary
   * (a file, a test): the frame is then emitted if no PES of it was cut.
   */
  end(complete = false): void {
    if (this.state === S_UNBOUNDED && complete) {
      const n = this.q.length;
      this.q.forEachView(n, this.payloadView);
      this.q.skip(n);
      this.endPes();
      this.state = S_SYNC;
    } else if (this.state === S_PAYLOAD || this.state === S_UNBOUNDED) {
      if (this.target === T_VIDEO && this.video.abandon()) this.stats.droppedFrames++;
      if (this.target === T_AUDIO && this.audio.drop()) this.stats.droppedFrames++;
    }
    if (complete || this.markerAtEnd) this.flushVideo(false);
    else if (this.video.abandon()) this.stats.droppedFrames++;
    this.carryVideo = false;
    this.markerAtEnd = false;
    this.q.clear();
    this.state = S_HUNT;
    this.huntGarbage = false;
    this.target = T_DISCARD;
  }

  private pump(): void {
    const q = this.q;
    for (;;) {
      switch (this.state) {
        case S_SYNC:
          if (!this.parseUnit()) return;
          break;
        case S_PAYLOAD: {
          if (q.length === 0) return;
          const s = q.headStart;
          const k = Math.min(this.remaining, q.headEnd - s);
          this.onPayload(q.headBuf, s, s + k);
          q.skip(k);
          this.remaining -= k;
          if (this.remaining === 0) {
            this.endPes();
            this.state = S_SYNC;
          }
          break;
        }
        case S_UNBOUNDED:
          if (!this.scanUnbounded()) return;
          break;
        case S_SKIP: {
          const k = Math.min(this.remaining, q.length);
          q.skip(k);
          this.remaining -= k;
          if (this.remaining > 0) return;
          this.state = S_SYNC;
          break;
        }
        default:
          if (!this.hunt()) return;
      }
    }
  }

  /** Makes n bytes at the head contiguous, or returns false when fewer have arrived. */
  private need(n: number): boolean {
    if (this.q.length < n) return false;
    this.q.contiguous(n);
    return true;
  }

  /** SYNC: parses the unit at the head of the queue. Returns false to wait for more bytes. */
  private parseUnit(): boolean {
    if (!this.need(4)) return false;
    const q = this.q;
    const b0 = q.cbuf;
    const o0 = q.coff;
    const id = b0[o0 + 3];
    if (b0[o0] !== 0 || b0[o0 + 1] !== 0 || b0[o0 + 2] !== 1 || id < StreamId.ProgramEnd) {
      this.startHunt(true);
      return true;
    }
    if (id === StreamId.Pack) {
      let r = parsePackHeader(q.cbuf, q.coff, 4, false, this.pack);
      while (r < 0) {
        if (!this.need(-r)) return false;
        r = parsePackHeader(q.cbuf, q.coff, -r, false, this.pack);
      }
      if (r === MALFORMED) return this.malformedUnit(id);
      this.stats.packs++;
      this.onUnit?.({ kind: 'pack', mpeg1: this.pack.mpeg1, scr: this.pack.scr, stuffing: this.pack.stuffing, size: r });
      // The stuffing bytes may not have arrived yet.
      this.skipUnit(r);
      return true;
    }
    if (id === StreamId.ProgramEnd) {
      this.onUnit?.({ kind: 'end-code' });
      q.skip(4);
      return true;
    }
    if (!this.need(6)) return false;
    const len = readUnitLength(q.cbuf, q.coff);
    if (id === StreamId.SystemHeader) {
      if (len < 6) return this.malformedUnit(id);
      this.stats.systemHeaders++;
      if (this.onUnit) {
        if (len <= 512 && !this.need(6 + len)) return false;
        this.onUnit({ kind: 'system-header', length: len, streams: len <= 512 ? parseSystemHeaderStreams(q.cbuf, q.coff) : [] });
      }
      this.skipUnit(6 + len);
      return true;
    }
    if (id === StreamId.ProgramStreamMap) {
      const size = psmSize(q.cbuf, q.coff, 6);
      if (size <= 0) return this.malformedUnit(id);
      if (!this.need(size)) return false;
      const psm = parsePsm(q.cbuf, q.coff, false);
      this.stats.psms++;
      if (psm) this.applyPsm(psm);
      else this.stats.malformed++;
      this.onUnit?.({ kind: 'psm', length: len, psm });
      q.skip(size);
      return true;
    }
    if (isVideoStreamId(id) || isAudioStreamId(id)) return this.parsePes(id);
    // Private streams, padding, and ids we do not read: skip by length.
    this.stats.pesSkipped++;
    this.onUnit?.({ kind: 'skip', streamId: id, length: len });
    this.skipUnit(6 + len);
    return true;
  }

  private skipUnit(n: number): void {
    this.remaining = n;
    this.state = S_SKIP;
  }

  private malformedUnit(id: number): boolean {
    this.stats.malformed++;
    this.onUnit?.({ kind: 'malformed', streamId: id });
    if (isVideoStreamId(id) && (this.videoId < 0 || id === this.videoId)) this.videoLost();
    this.startHunt(true);
    return true;
  }

  private parsePes(id: number): boolean {
    const q = this.q;
    const h = this.pes;
    let r = parsePesHeader(q.cbuf, q.coff, 6, false, h);
    while (r < 0) {
      if (!this.need(-r)) return false;
      r = parsePesHeader(q.cbuf, q.coff, -r, false, h);
    }
    if (r === MALFORMED) return this.malformedUnit(id);
    let target = T_DISCARD;
    // Wrong marker bits around a time stamp: used anyway (devices get them wrong), but counted.
    if (!h.markersOk) this.markerBitsWrong = true;
    if (isVideoStreamId(id)) {
      if (this.videoId < 0) this.videoId = id;
      if (id === this.videoId) {
        target = this.onVideoPes(h, r);
        if (target === WAIT) return false;
        this.stats.pesVideo++;
      } else {
        this.reportUnsupported(id, this.declared[id]);
        this.stats.pesSkipped++;
      }
    } else {
      if (this.audioId < 0) this.audioId = id;
      const type = this.declared[id];
      if (id !== this.audioId || (type >= 0 && audioCodecOf(type) === null)) {
        this.reportUnsupported(id, type);
        this.stats.pesSkipped++;
      } else {
        this.stats.pesAudio++;
        if (this.audio.active && this.audio.drop()) this.stats.droppedFrames++;
        this.audio.begin(h.pts >= 0 ? this.unwrapper.unwrap(h.pts) : -1);
        target = T_AUDIO;
      }
    }
    if (this.onUnit) {
      const head = Math.min(16, q.length - r, h.payloadLength >= 0 ? h.payloadLength : 16);
      q.contiguous(r + head);
      this.onUnit({
        kind: 'pes',
        streamId: id,
        pesLength: h.pesLength,
        headerSize: r,
        pts: h.pts,
        dts: h.dts,
        mpeg1: h.mpeg1,
        payloadHead: Buffer.from(q.cbuf.subarray(q.coff + r, q.coff + r + head)),
      });
    }
    if (this.markerBitsWrong) {
      this.markerBitsWrong = false;
      this.stats.malformed++;
    }
    q.skip(r);
    this.target = target;
    this.pesId = id;
    this.pesBytes = 0;
    if (h.payloadLength < 0) {
      this.state = S_UNBOUNDED;
    } else if (h.payloadLength === 0) {
      this.endPes();
    } else {
      this.remaining = h.payloadLength;
      this.state = S_PAYLOAD;
    }
    return true;
  }

  /** Decides what a video PES means for the unit being assembled. Returns the payload target or WAIT. */
  private onVideoPes(h: PesHeaderInfo, headerSize: number): number {
    const v = this.video;
    // Unwrapping the same value twice is harmless, so this may run again after a WAIT.
    const pts = h.pts >= 0 ? this.unwrapper.unwrap(h.pts) : -1;
    const dts = h.dts >= 0 ? this.unwrapper.unwrap(h.dts) : pts;
    const newByPts = v.active && pts >= 0 && v.pts >= 0 && pts !== v.pts;
    let startsAu = false;
    if (v.waitAuStart || this.markerFlushPending || (v.active && !newByPts && v.hasPicture)) {
      const peek = h.payloadLength >= 0 ? Math.min(PEEK, h.payloadLength) : PEEK;
      if (this.q.length < headerSize + peek) return WAIT;
      this.q.contiguous(headerSize + peek);
      startsAu = v.payloadStartsAu(this.q.cbuf, this.q.coff + headerSize, peek);
    }
    if (this.markerFlushPending) {
      this.markerFlushPending = false;
      if (!v.waitAuStart && ((pts >= 0 && pts === this.markerFlushedPts) || (pts < 0 && !startsAu))) {
        // The trusted marker cut a frame: never trust it again; what follows is damaged.
        this.markerTrust = -Infinity;
        this.stats.malformed++;
        v.needKeyframe = true;
        v.waitAuStart = true;
      }
    }
    if (v.waitAuStart) {
      if (!startsAu) return T_DISCARD;
      v.waitAuStart = false;
      if (v.active) this.flushVideo(false);
      this.beginVideo(pts, dts);
      return T_VIDEO;
    }
    if (!v.active) {
      this.beginVideo(pts, dts);
      return T_VIDEO;
    }
    const newAu = newByPts || (v.hasPicture && startsAu);
    if (this.markerSerial === v.serial) {
      if (newAu && this.markerSize === v.size) {
        if (this.markerTrust >= 0) this.markerTrust++;
      } else {
        this.markerTrust = -Infinity;
      }
      this.markerSerial = -1;
    }
    if (newAu) {
      this.flushVideo(true);
      this.beginVideo(pts, dts);
    } else if (v.pts < 0 && pts >= 0) {
      v.setTimes(pts, dts);
    }
    return T_VIDEO;
  }

  private beginVideo(pts: number, dts: number): void {
    this.video.begin(pts, dts, this.carryVideo);
    this.carryVideo = false;
  }

  private onPayload(buf: Buffer, start: number, end: number): void {
    this.pesBytes += end - start;
    if (this.target === T_VIDEO) {
      this.video.append(buf, start, end);
    } else if (this.target === T_AUDIO) {
      if (!this.audio.append(buf, start, end)) {
        this.stats.droppedFrames++;
        this.target = T_DISCARD;
      }
    }
  }

  private endPes(): void {
    this.onUnit?.({ kind: 'pes-end', streamId: this.pesId, payloadBytes: this.pesBytes });
    if (this.target === T_AUDIO) this.emitAudio();
    this.target = T_DISCARD;
  }

  private flushVideo(allowCarry: boolean): void {
    const v = this.video;
    if (!v.active) return;
    const oversized = v.oversized;
    v.oversized = false;
    const r = v.finish(allowCarry);
    if (r === FinishResult.Carry) {
      this.carryVideo = true;
      return;
    }
    this.carryVideo = false;
    if (r === FinishResult.Drop) {
      this.stats.droppedFrames++;
      if (oversized) this.stats.oversizedFrames++;
      return;
    }
    if (r !== FinishResult.Emit) return;
    const line = this.videoLine;
    const before = line.jumps;
    if (v.pts >= 0) line.map(v.pts, v.dts >= 0 ? v.dts : v.pts, true);
    else line.synthesize();
    this.stats.timestampJumps += line.jumps - before;
    this.stats.framesVideo++;
    this.sink({ kind: 'video', codec: v.codec, pts: line.pts, dts: line.dts, keyframe: v.keyframe, data: v.data });
  }

  /** The video unit in progress lost bytes (garbage inside it, or a broken header). */
  private videoLost(): void {
    if (this.video.abandon()) this.stats.droppedFrames++;
    this.carryVideo = false;
    this.video.needKeyframe = true;
    this.video.waitAuStart = true;
    this.markerSerial = -1;
  }

  private emitAudio(): void {
    const a = this.audio;
    if (a.size === 0) {
      a.drop();
      return;
    }
    const codec = this.audioCodec();
    const line = this.audioLine;
    const before = line.jumps;
    let pts: number;
    if (a.pts >= 0) {
      line.map(a.pts, a.pts, false);
      pts = line.pts;
    } else {
      pts = line.started ? Math.round(line.next) : 0;
    }
    this.stats.timestampJumps += line.jumps - before;
    const badBefore = a.badAdts;
    a.finish(codec, pts, this.audioSink);
    this.stats.malformed += a.badAdts - badBefore;
  }

  /** The audio codec: PSM, unless the data contradicts it; without a PSM, sniffed once. */
  private audioCodec(): AudioCodec {
    if (this.audioSniffed) return this.audioSniffed;
    const declared = this.audioId >= 0 ? audioCodecOf(this.declared[this.audioId]) : null;
    if (declared === 'aac') {
      if (this.audio.startsWithAdts()) {
        this.aacMismatches = 0;
      } else if (++this.aacMismatches >= AAC_MISMATCH_LIMIT) {
        this.audioSniffed = this.defaultAudio;
        return this.audioSniffed;
      }
      return 'aac';
    }
    if (declared) return declared;
    this.audioSniffed = this.audio.isAdts() ? 'aac' : this.defaultAudio;
    return this.audioSniffed;
  }

  private applyPsm(psm: PsmInfo): void {
    let video = false;
    let audio = false;
    for (const e of psm.entries) {
      if (isVideoStreamId(e.streamId) && videoCodecOf(e.streamType)) video = true;
      else if (isAudioStreamId(e.streamId) && audioCodecOf(e.streamType) !== null) audio = true;
    }
    const tracks = (video ? 1 : 0) | (audio ? 2 : 0);
    if (tracks !== this.declaredTracks) {
      this.declaredTracks = tracks;
      this.onTracks?.({ video, audio });
    }
    for (const e of psm.entries) {
      const id = e.streamId;
      const type = e.streamType;
      const changed = this.declared[id] !== type;
      this.declared[id] = type;
      if (isVideoStreamId(id)) {
        if (this.videoId < 0) this.videoId = id;
        if (id === this.videoId) {
          const codec = videoCodecOf(type);
          this.video.declared = codec;
          if (!codec) this.reportUnsupported(id, type);
        }
      } else if (isAudioStreamId(id)) {
        if (this.audioId < 0) this.audioId = id;
        if (audioCodecOf(type) === null) this.reportUnsupported(id, type);
        else if (changed && id === this.audioId) this.audioSniffed = null;
      }
    }
  }

  private reportUnsupported(id: number, type: number): void {
    const key = (id << 16) | (type & 0xffff);
    if (this.reported.has(key) || this.reported.size > 1024) return;
    this.reported.add(key);
    this.stats.unsupportedStreams++;
    this.onUnsupported?.(id, type);
  }

  private startHunt(garbage: boolean): void {
    this.state = S_HUNT;
    this.huntGarbage = garbage;
    this.huntSawNal = false;
    this.huntSkipped = 0;
    if (garbage) this.stats.resyncs++;
  }

  /** HUNT: skips to the next unit start. Returns false to wait for more bytes. */
  private hunt(): boolean {
    // Through garbage, candidates must pass the strict checks; after a loss or at the start, the
    // bytes are PS data, where 00 00 01 + stream id only occurs at unit starts.
    const r = this.findUnitStart(true, this.huntGarbage);
    const n = r >= 0 ? r : this.safe;
    if (n > 0) {
      this.q.skip(n);
      this.stats.skippedBytes += n;
      this.huntSkipped += n;
    }
    if (r < 0) return false;
    if (this.huntGarbage && this.huntSawNal && this.video.active) this.videoLost();
    if (this.huntSkipped > 0) this.onUnit?.({ kind: 'resync', skipped: this.huntSkipped });
    this.state = S_SYNC;
    return true;
  }

  /** UNBOUNDED: hands on payload up to the next unit start. Returns false to wait for more bytes. */
  private scanUnbounded(): boolean {
    const r = this.findUnitStart(false, false);
    const n = r >= 0 ? r : this.safe;
    if (n > 0) {
      this.q.forEachView(n, this.payloadView);
      this.q.skip(n);
    }
    if (r < 0) return false;
    this.endPes();
    this.state = S_SYNC;
    return true;
  }

  /**
   * Offset of the next plausible unit start in the queue, or -1 with `safe` set to the bytes that
   * certainly precede any unit start (all but a possible partial start code at the end).
   */
  private findUnitStart(hunting: boolean, strict: boolean): number {
    const q = this.q;
    const views = q.views;
    let base = 0;
    for (let k = 0; k < views; k++) {
      const buf = q.viewBuf(k);
      const s = q.viewStart(k);
      const e = q.viewEnd(k);
      let i = s;
      for (;;) {
        const j = find3(buf, i, e);
        if (j < 0) break;
        const at = base + (j - s);
        const v = this.checkCandidate(at, hunting, strict);
        if (v > 0) return at;
        if (v === 0) {
          this.safe = at;
          return -1;
        }
        i = j + 1;
      }
      // Start codes that straddle into the next view.
      for (let j = Math.max(i, e - 2); j < e; j++) {
        if (buf[j] !== 0) continue;
        const at = base + (j - s);
        if (at + 3 > q.length) {
          this.safe = at;
          return -1;
        }
        if (q.byteAt(at + 1) !== 0 || q.byteAt(at + 2) !== 1) continue;
        const v = this.checkCandidate(at, hunting, strict);
        if (v > 0) return at;
        if (v === 0) {
          this.safe = at;
          return -1;
        }
      }
      base += e - s;
    }
    this.safe = q.length;
    return -1;
  }

  /** 1: a plausible unit start at offset `at`; 0: cannot tell yet; -1: not one. */
  private checkCandidate(at: number, hunting: boolean, strict: boolean): number {
    const q = this.q;
    const avail = q.length - at;
    if (avail < 4) return 0;
    const id = q.byteAt(at + 3);
    if (!isSearchableUnitId(id)) {
      if (hunting && id < StreamId.ProgramEnd) this.huntSawNal = true;
      return -1;
    }
    let n = Math.min(avail, 24);
    for (;;) {
      q.contiguousAt(at, n);
      const r = this.validate(q.cbuf, q.coff, n, id, strict);
      if (r > 0) return 1;
      if (r === MALFORMED) return -1;
      if (-r > avail) return 0;
      n = -r;
    }
  }

  /**
   * Check of the header at b[o] (n bytes available): positive if plausible, -need, or MALFORMED.
   * `strict` (searching through garbage) adds the marker bits; the end of an unbounded PES is found
   * in video data, which cannot hold 00 00 01 followed by a stream id, so the fixed structure is
   * enough there (and tolerates devices that get marker bits wrong).
   */
  private validate(b: Buffer, o: number, n: number, id: number, strict: boolean): number {
    if (id === StreamId.Pack) return parsePackHeader(b, o, n, strict);
    if (id === StreamId.SystemHeader) {
      if (strict) return systemHeaderPlausible(b, o, n);
      if (n < 6) return -6;
      const len = readUnitLength(b, o);
      return len >= 6 && (len - 6) % 3 === 0 ? 1 : MALFORMED;
    }
    if (n < 6) return -6;
    const len = readUnitLength(b, o);
    if (id === StreamId.ProgramStreamMap) {
      if (n < 8) return -8;
      return len >= 6 && len <= MAX_PSM_LENGTH && (!strict || (b[o + 7] & 0x01) === 1) ? 1 : MALFORMED;
    }
    if (id === StreamId.Padding) {
      if (n < 7) return -7;
      return len > 0 && (!strict || b[o + 6] === 0xff) ? 1 : MALFORMED;
    }
    if (id === StreamId.PrivateStream2) return len > 0 ? 1 : MALFORMED;
    if (id === StreamId.PrivateStream1) {
      if (n < 9) return -9;
      return (b[o + 6] & 0xc0) === 0x80 && len >= 3 + b[o + 8] ? 1 : MALFORMED;
    }
    return parsePesHeader(b, o, n, strict, this.scratchPes);
  }

  private readonly scratchPes = new PesHeaderInfo();
}

/** Offset of the next 00 00 01 whose three bytes lie in buf[from, end), or -1. */
export function find3(buf: Uint8Array, from: number, end: number): number {
  let i = from + 2;
  while (i < end) {
    const c = buf[i];
    if (c > 1) i += 3;
    else if (c === 1) {
      if (buf[i - 1] === 0 && buf[i - 2] === 0) return i - 2;
      i += 3;
    } else i += 1;
  }
  return -1;
}
