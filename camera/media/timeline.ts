/**
 * FrameTimeline: one stream's cursor over shared sources. It yields MediaFrames in send order (the
 * video track by DTS and the audio track by PTS, merged; video first on a tie), with 90 kHz
 * timestamps that keep increasing when the file loops.
 *
 * Video timestamps: frame n in decode order (counted over all loops) gets
 * DTS = startPts + n * 90000 / fps. PTS = DTS for files without B-frames. With B-frames the
 * source knows each frame's output position from its POC, and PTS = startPts + (loop * N +
 * displayIndex + reorderDelay) * 90000 / fps, so PTS ≥ DTS and frames present in order; the option
 * `ptsEqualsDts` sends PTS = DTS instead, as some cameras stamp such streams.
 */
import type { AudioFrame, MediaFrame } from '../../common/codec/frame.ts';
import type { AudioSource } from './audio-source.ts';
import type { IndexedVideoFrame, VideoSource } from './video-source.ts';

export interface TimelineOptions {
  /** Video frame rate, 25 by default. */
  fps?: number;
  /** Start the sources again at their end, timestamps continuing. */
  loop?: boolean;
  /** 90 kHz timestamp of the first frame (default 0). */
  startPts?: number;
  /** Stop after this many video frames (over all loops). */
  maxVideoFrames?: number;
  /** Stop once a frame's timestamp reaches startPts + durationMs (media time). */
  durationMs?: number;
  /** Send PTS = DTS even when the source has B-frames (default false: true PTS from the POC). */
  ptsEqualsDts?: boolean;
}

export class FrameTimeline {
  readonly video: VideoSource | undefined;
  readonly audio: AudioSource | undefined;
  private readonly fps: number;
  private readonly loop: boolean;
  private readonly startPts: number;
  private readonly maxVideoFrames: number;
  private readonly endPts: number;
  private readonly reorder: boolean;
  /** Video frames emitted so far, over all loops. */
  private videoCount = 0;
  private videoDone: boolean;
  private audioIndex = 0;
  private audioLoop = 0;
  private audioDone: boolean;

  constructor(video: VideoSource | undefined, audio: AudioSource | undefined, options: TimelineOptions = {}) {
    this.video = video;
    this.audio = audio;
    this.fps = options.fps ?? 25;
    if (!(this.fps > 0)) throw new Error(`bad frame rate ${this.fps}`);
    this.loop = options.loop ?? false;
    this.startPts = options.startPts ?? 0;
    this.maxVideoFrames = options.maxVideoFrames ?? Infinity;
    this.endPts = options.durationMs === undefined ? Infinity : this.startPts + options.durationMs * 90;
    this.reorder = !options.ptsEqualsDts && video?.displayIndex !== undefined;
    this.videoDone = !video || video.units.length === 0 || this.maxVideoFrames <= 0;
    this.audioDone = !audio || audio.frames.length === 0;
    // An audio-only stream with an endless tone needs some limit to ever finish; that is the caller's call.
  }

  /** 90 kHz time of video frame n. */
  private videoTime(n: number): number {
    return this.startPts + Math.round((n * 90000) / this.fps);
  }

  private audioTime(): number {
    const a = this.audio as AudioSource;
    const perPass = a.startSample[a.frames.length];
    return this.startPts + Math.round(((this.audioLoop * perPass + a.startSample[this.audioIndex]) * 90000) / a.sampleRate);
  }

  /** Time of the next video frame, or Infinity when the video track has ended. */
  private nextVideoTime(): number {
    if (this.videoDone) return Infinity;
    const t = this.videoTime(this.videoCount);
    if (t >= this.endPts) {
      this.videoDone = true;
      return Infinity;
    }
    return t;
  }

  private nextAudioTime(): number {
    if (this.audioDone) return Infinity;
    const t = this.audioTime();
    // Without video limits of its own, audio stops where the video stopped.
    const videoEnd = this.video && this.videoDone ? this.videoTime(this.videoCount) : Infinity;
    if (t >= this.endPts || t >= videoEnd) {
      this.audioDone = true;
      return Infinity;
    }
    return t;
  }

  /** 90 kHz send time (DTS for video, PTS for audio) of the next frame; Infinity at the end. */
  peekTime(): number {
    return Math.min(this.nextVideoTime(), this.nextAudioTime());
  }

  get ended(): boolean {
    return this.peekTime() === Infinity;
  }

  /** The next frame in send order, or undefined at the end. */
  next(): MediaFrame | undefined {
    const tv = this.nextVideoTime();
    const ta = this.nextAudioTime();
    if (tv === Infinity && ta === Infinity) return undefined;
    if (tv <= ta) return this.nextVideo(tv);
    return this.nextAudio(ta);
  }

  private nextVideo(t: number): IndexedVideoFrame {
    const v = this.video as VideoSource;
    const n = v.units.length;
    const index = this.videoCount % n;
    const unit = v.units[index];
    let pts = t;
    if (this.reorder) {
      const display = this.videoCount - index + (v.displayIndex as Int32Array)[index] + v.reorderDelay;
      pts = this.videoTime(display);
    }
    this.videoCount++;
    if ((!this.loop && this.videoCount >= n) || this.videoCount >= this.maxVideoFrames) this.videoDone = true;
    return { kind: 'video', codec: v.codec, pts, dts: t, keyframe: unit.keyframe, data: unit.data, nalRanges: unit.nalRanges };
  }

  private nextAudio(t: number): AudioFrame {
    const a = this.audio as AudioSource;
    const data = a.frames[this.audioIndex];
    this.audioIndex++;
    if (this.audioIndex >= a.frames.length) {
      if (this.loop || a.endless) {
        this.audioIndex = 0;
        this.audioLoop++;
      } else {
        this.audioDone = true;
      }
    }
    return { kind: 'audio', codec: a.codec, pts: t, data };
  }
}
