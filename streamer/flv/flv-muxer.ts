/**
 * MediaFrames in, FLV tags out.
 *
 * Video: an Annex-B access unit is scanned once; its NAL units are written 4-byte-length-prefixed
 * straight into the one buffer of the output tag. H.264 goes out as AVC (codec id 7); H.265 either as
 * enhanced RTMP (FourCC 'hvc1') or as the legacy codec id 12 with the AVC packet layout.
 *
 * Parameter sets (SPS/PPS/VPS) go into the sequence header, which is emitted before the first frame and
 * again whenever they change, and they also stay in the coded frames where the source put them
 * (cameras repeat them before every IDR). Keeping them in-band costs a few dozen bytes per keyframe
 * and is what decoders that read the configuration once need to follow a mid-stream change: FFmpeg's
 * H.264 parser, for one, ignores a second AVC sequence header and reports errors on every slice after
 * a resolution change unless the new SPS/PPS arrive in-band. The hvcC therefore says
 * array_completeness = 0. AUD and filler data NAL units are dropped; SEI and the rest are kept.
 *
 * Tags are delivered synchronously, in order, to the sink given at construction: no array is
 * built per frame, and each media tag costs one Buffer and one small object.
 *
 * Timestamps are milliseconds from the DTS (PTS for audio) of the first frame emitted, one timeline
 * for both tracks. A track's timestamp never goes backwards: a small backward step is clamped to the
 * previous value, a step back of more than a second (a source clock reset) re-bases the timeline so
 * it continues from where it was; both are counted in `stats`.
 */
import type { AudioCodec, AudioFrame, MediaFrame, VideoCodec, VideoFrame } from '../../common/codec/frame.ts';
import { findStartCode, startCodeLength } from '../../common/codec/annexb.ts';
import { H264Nal, H265Nal } from '../../common/codec/nal.ts';
import { parseH264Sps } from '../../common/codec/h264-sps.ts';
import type { H264Sps } from '../../common/codec/h264-sps.ts';
import { parseH265Pps, parseH265Sps, parseH265Vps } from '../../common/codec/h265-params.ts';
import type { H265Pps, H265Sps, H265Vps } from '../../common/codec/h265-params.ts';
import { AAC_FRAME_SAMPLES, audioSpecificConfig, newAdtsHeader, readAdtsHeader } from '../../common/codec/aac-adts.ts';
import { BitReader, unescapeRbsp } from '../../common/codec/bit-reader.ts';
import { Amf0EcmaArray, encodeAmf0 } from './amf0.ts';
import type { Amf0Object } from './amf0.ts';
import { buildAvcDecoderConfigurationRecord, buildHevcDecoderConfigurationRecord } from './decoder-config.ts';
import { allocTag, FLV_MAX_BODY_SIZE, FLV_TAG_HEADER_SIZE, FlvTagType, makeTag } from './flv-tag.ts';
import type { FlvTag } from './flv-tag.ts';

export type HevcMode = 'enhanced' | 'legacy';

export interface FlvMuxerOptions {
  /** How H.265 is carried: enhanced RTMP FourCC 'hvc1' (default) or legacy codec id 12. */
  hevc?: HevcMode;
}

/** Receives every tag, synchronously and in order, during push(). */
export type FlvTagSink = (tag: FlvTag) => void;

/** FLV CodecID values (legacy 4-bit field). */
export const FlvVideoCodecId = {
  Avc: 7,
  /** Not in the Adobe spec: the Chinese CDN convention for HEVC. */
  HevcLegacy: 12,
} as const;

/** 'hvc1' as a big-endian 32-bit number: the enhanced RTMP FourCC and onMetaData videocodecid. */
export const HVC1_FOURCC = 0x68766331;

/** Enhanced RTMP VideoPacketType values. */
export const ExVideoPacketType = {
  SequenceStart: 0,
  CodedFrames: 1,
  SequenceEnd: 2,
  CodedFramesX: 3,
} as const;

/** FLV SoundFormat values. */
export const FlvSoundFormat = {
  G711A: 7,
  G711U: 8,
  Aac: 10,
} as const;

/**
 * First byte of an audio tag: SoundFormat << 4 | SoundRate << 2 | SoundSize << 1 | SoundType.
 * G.711 is written as decoders (and ffmpeg's own muxer) expect: rate bits 0 (8 kHz is implied),
 * 16-bit, mono. AAC is always 44 kHz/16-bit/stereo here by the spec; the AudioSpecificConfig rules.
 */
const SOUND_HEADER_PCMA = 0x72;
const SOUND_HEADER_PCMU = 0x82;
const SOUND_HEADER_AAC = 0xaf;

const FRAME_TYPE_KEY = 1;
const FRAME_TYPE_INTER = 2;

/** A step back larger than this (ms) is a source clock reset: re-base instead of clamping. */
const REBASE_BACKWARD_MS = 1000;
/** Frames over which the frame rate is measured when the SPS has no timing information. */
const FPS_MEASURE_FRAMES = 10;
/** PPS kept per stream (H.264 allows 256 ids, real encoders use one or two). */
const MAX_PPS = 16;
/** Parameter-set NAL units looked at per access unit. */
const MAX_PARAM_NALS = 16;

const TRACK_VIDEO = 0;
const TRACK_AUDIO = 1;

export interface FlvMuxerStats {
  /** Media tags emitted. */
  videoTags: number;
  audioTags: number;
  /** Video frames dropped while waiting for the first keyframe with complete parameter sets. */
  droppedBeforeKeyframe: number;
  /** Frames or parts dropped as malformed: no NAL units, bad ADTS, an SPS that does not parse, oversize. */
  droppedInvalid: number;
  /** Timestamps raised to keep a track monotonic. */
  timestampClamps: number;
  /** Timeline re-based after a large backward jump. */
  timestampRebases: number;
  sequenceHeaders: number;
  metadataTags: number;
}

interface VideoInfo {
  codecId: number;
  width: number;
  height: number;
  /** From the SPS VUI, else measured; 0 while unknown. */
  frameRate: number;
}

interface AudioInfo {
  codecId: number;
  sampleRate: number;
  stereo: boolean;
}

export class FlvMuxer {
  readonly stats: FlvMuxerStats = {
    videoTags: 0,
    audioTags: 0,
    droppedBeforeKeyframe: 0,
    droppedInvalid: 0,
    timestampClamps: 0,
    timestampRebases: 0,
    sequenceHeaders: 0,
    metadataTags: 0,
  };

  private readonly hevcMode: HevcMode;
  private readonly emit: (tag: FlvTag) => void;

  // Timeline
  private baseTicks: number | null = null;
  private readonly lastTs = [-1, -1];

  // NAL scan scratch, reused for every access unit
  private nalStarts = new Int32Array(64);
  private nalEnds = new Int32Array(64);
  private readonly paramStarts = new Int32Array(MAX_PARAM_NALS);
  private readonly paramEnds = new Int32Array(MAX_PARAM_NALS);

  // Video state
  private videoCodec: VideoCodec | null = null;
  private videoStarted = false;
  private spsNal: Buffer | null = null;
  private h264Sps: H264Sps | null = null;
  private h265Sps: H265Sps | null = null;
  private vpsNal: Buffer | null = null;
  private h265Vps: H265Vps | null = null;
  private readonly ppsNals = new Map<number, Buffer>();
  private readonly h265Pps = new Map<number, H265Pps>();
  private videoConfigDirty = false;
  private videoSeqTag: FlvTag | null = null;
  private videoInfo: VideoInfo | null = null;
  private fpsMeasureStart = -1;
  private fpsMeasureCount = 0;

  // Audio state
  private audioCodec: AudioCodec | null = null;
  private readonly adts = newAdtsHeader();
  private aacConfig = -1; // aot << 8 | sfi << 4 | channels, of the current sequence header
  private audioConfigDirty = false;
  private audioSeqTag: FlvTag | null = null;
  private audioInfo: AudioInfo | null = null;

  // Metadata
  private metadataDirty = true;
  private metadataKey = '';
  private metadataTag: FlvTag | null = null;

  constructor(options: FlvMuxerOptions, onTag: FlvTagSink) {
    this.hevcMode = options.hevc ?? 'enhanced';
    this.emit = onTag;
  }

  /** Muxes one frame; its tags (metadata and sequence headers first when due) go to onTag. */
  push(frame: MediaFrame): void {
    if (frame.kind === 'video') this.pushVideo(frame);
    else this.pushAudio(frame);
  }

  /**
   * What a consumer joining now needs before the next keyframe: the current onMetaData, video sequence
   * header and audio sequence header (those that exist), in that order.
   */
  headerTags(): FlvTag[] {
    const out: FlvTag[] = [];
    if (this.metadataTag) out.push(this.metadataTag);
    if (this.videoSeqTag) out.push(this.videoSeqTag);
    if (this.audioSeqTag) out.push(this.audioSeqTag);
    return out;
  }

  // ---------------------------------------------------------------- timeline

  private timestamp(ticks: number, track: number): number {
    if (this.baseTicks === null) this.baseTicks = ticks;
    let ts = Math.floor((ticks - this.baseTicks) / 90);
    const last = this.lastTs[track];
    if (last >= 0 && ts < last) {
      if (last - ts > REBASE_BACKWARD_MS) {
        this.baseTicks += (ts - last - 1) * 90;
        ts = last + 1;
        this.stats.timestampRebases++;
      } else {
        ts = last;
        this.stats.timestampClamps++;
      }
    } else if (ts < 0) {
      ts = 0;
      this.stats.timestampClamps++;
    }
    this.lastTs[track] = ts;
    return ts;
  }

  // ---------------------------------------------------------------- video

  private resetVideo(codec: VideoCodec): void {
    this.videoCodec = codec;
    this.videoStarted = false;
    this.spsNal = null;
    this.h264Sps = null;
    this.h265Sps = null;
    this.vpsNal = null;
    this.h265Vps = null;
    this.ppsNals.clear();
    this.h265Pps.clear();
    this.videoConfigDirty = false;
    this.videoSeqTag = null;
    this.videoInfo = null;
    this.fpsMeasureStart = -1;
    this.fpsMeasureCount = 0;
    this.metadataDirty = true;
  }

  private pushVideo(frame: VideoFrame): void {
    if (frame.codec !== this.videoCodec) this.resetVideo(frame.codec);
    const hevc = frame.codec === 'h265';
    const buf = frame.data;
    const len = buf.length;

    // One pass over the access unit: keep slice/SEI NAL offsets, note parameter sets and IRAP pictures.
    let count = 0;
    let payload = 0;
    let params = 0;
    let irap = false;
    let sc = findStartCode(buf, 0, len);
    while (sc >= 0) {
      const s = sc + startCodeLength(buf, sc);
      const next = findStartCode(buf, s, len);
      let e = next < 0 ? len : next;
      while (e > s && buf[e - 1] === 0) e--;
      sc = next;
      if (e <= s) continue;
      const b = buf[s];
      if (hevc) {
        const t = (b >> 1) & 0x3f;
        if (t === H265Nal.Vps || t === H265Nal.Sps || t === H265Nal.Pps) {
          if (params < MAX_PARAM_NALS) {
            this.paramStarts[params] = s;
            this.paramEnds[params++] = e;
          }
        }
        if (t === H265Nal.Aud || t === 38 /* FD_NUT */) continue;
        if (t >= H265Nal.IrapFirst && t <= H265Nal.IrapLast) irap = true;
      } else {
        const t = b & 0x1f;
        if (t === H264Nal.Sps || t === H264Nal.Pps) {
          if (params < MAX_PARAM_NALS) {
            this.paramStarts[params] = s;
            this.paramEnds[params++] = e;
          }
        }
        if (t === H264Nal.Aud || t === 12 /* filler data */) continue;
        if (t === H264Nal.IdrSlice) irap = true;
      }
      if (count === this.nalStarts.length) this.growNalScratch();
      this.nalStarts[count] = s;
      this.nalEnds[count++] = e;
      payload += 4 + (e - s);
    }

    if (params > 0) this.updateParameterSets(buf, params, hevc);

    if (count === 0) {
      // Parameter sets alone (some sources send them as their own unit) or nothing usable.
      if (params === 0) this.stats.droppedInvalid++;
      return;
    }
    const keyframe = frame.keyframe || irap;
    if (!this.videoStarted) {
      if (!keyframe || !this.videoConfigComplete()) {
        this.stats.droppedBeforeKeyframe++;
        return;
      }
      this.videoStarted = true;
    }

    const enhanced = hevc && this.hevcMode === 'enhanced';
    const rawDts = frame.dts;
    const ts = this.timestamp(rawDts, TRACK_VIDEO);
    const base = this.baseTicks as number;
    let cts = Math.floor((frame.pts - base) / 90) - Math.floor((rawDts - base) / 90);
    if (cts > 0x7fffff) cts = 0x7fffff;
    else if (cts < -0x800000) cts = -0x800000;

    this.measureFrameRate(rawDts);
    if (this.videoConfigDirty) this.updateVideoInfo();
    if (this.metadataDirty) this.emitMetadata(ts);
    if (this.videoConfigDirty) this.emitVideoSequenceHeader(ts);

    const headerLen = enhanced ? (cts === 0 ? 5 : 8) : 5;
    const bodySize = headerLen + payload;
    if (bodySize > FLV_MAX_BODY_SIZE) {
      this.stats.droppedInvalid++;
      return;
    }
    const out = allocTag(FlvTagType.Video, ts, bodySize);
    let o = FLV_TAG_HEADER_SIZE;
    const frameType = keyframe ? FRAME_TYPE_KEY : FRAME_TYPE_INTER;
    if (enhanced) {
      const packetType = cts === 0 ? ExVideoPacketType.CodedFramesX : ExVideoPacketType.CodedFrames;
      out[o++] = 0x80 | (frameType << 4) | packetType;
      out.writeUInt32BE(HVC1_FOURCC, o);
      o += 4;
      if (cts !== 0) {
        out.writeIntBE(cts, o, 3);
        o += 3;
      }
    } else {
      out[o++] = (frameType << 4) | (hevc ? FlvVideoCodecId.HevcLegacy : FlvVideoCodecId.Avc);
      out[o++] = 1; // AVCPacketType / HEVCPacketType: NAL units
      out.writeIntBE(cts, o, 3);
      o += 3;
    }
    const starts = this.nalStarts;
    const ends = this.nalEnds;
    for (let i = 0; i < count; i++) {
      const s = starts[i];
      const n = ends[i] - s;
      out.writeUInt32BE(n, o);
      buf.copy(out, o + 4, s, s + n);
      o += 4 + n;
    }
    this.stats.videoTags++;
    this.emit({ type: FlvTagType.Video, timestamp: ts, keyframe, isHeader: false, data: out });
  }

  private growNalScratch(): void {
    const n = this.nalStarts.length * 2;
    const s = new Int32Array(n);
    const e = new Int32Array(n);
    s.set(this.nalStarts);
    e.set(this.nalEnds);
    this.nalStarts = s;
    this.nalEnds = e;
  }

  private videoConfigComplete(): boolean {
    if (this.videoCodec === 'h265') return this.h265Sps !== null && this.vpsNal !== null && this.ppsNals.size > 0;
    return this.h264Sps !== null && this.ppsNals.size > 0;
  }

  /** Takes the access unit's parameter sets; marks the config dirty when any differs from what is held. */
  private updateParameterSets(buf: Buffer, params: number, hevc: boolean): void {
    // VPS and SPS first, so that a new SPS can drop the PPS that belonged to the old one.
    for (let i = 0; i < params; i++) {
      const s = this.paramStarts[i];
      const e = this.paramEnds[i];
      const t = hevc ? (buf[s] >> 1) & 0x3f : buf[s] & 0x1f;
      if (hevc && t === H265Nal.Vps) {
        if (sameBytes(buf, s, e, this.vpsNal)) continue;
        const vps = parseH265Vps(buf, s, e);
        if (!vps) {
          this.stats.droppedInvalid++;
          continue;
        }
        this.vpsNal = Buffer.from(buf.subarray(s, e));
        this.h265Vps = vps;
        this.videoConfigDirty = true;
      } else if (t === (hevc ? H265Nal.Sps : H264Nal.Sps)) {
        if (sameBytes(buf, s, e, this.spsNal)) continue;
        const parsed = hevc ? parseH265Sps(buf, s, e) : parseH264Sps(buf, s, e);
        if (!parsed) {
          this.stats.droppedInvalid++;
          continue;
        }
        if (this.spsNal) {
          this.ppsNals.clear();
          this.h265Pps.clear();
        }
        this.spsNal = Buffer.from(buf.subarray(s, e));
        if (hevc) this.h265Sps = parsed as H265Sps;
        else this.h264Sps = parsed as H264Sps;
        this.videoConfigDirty = true;
      }
    }
    for (let i = 0; i < params; i++) {
      const s = this.paramStarts[i];
      const e = this.paramEnds[i];
      const t = hevc ? (buf[s] >> 1) & 0x3f : buf[s] & 0x1f;
      if (t !== (hevc ? H265Nal.Pps : H264Nal.Pps)) continue;
      let id: number;
      let info: H265Pps | null = null;
      if (hevc) {
        info = parseH265Pps(buf, s, e);
        id = info ? info.ppsId : -1;
      } else {
        id = h264PpsId(buf, s, e);
      }
      if (id < 0) {
        this.stats.droppedInvalid++;
        continue;
      }
      if (sameBytes(buf, s, e, this.ppsNals.get(id) ?? null)) continue;
      if (!this.ppsNals.has(id) && this.ppsNals.size >= MAX_PPS) {
        this.ppsNals.clear();
        this.h265Pps.clear();
      }
      this.ppsNals.set(id, Buffer.from(buf.subarray(s, e)));
      if (info) this.h265Pps.set(id, info);
      this.videoConfigDirty = true;
    }
  }

  private updateVideoInfo(): void {
    let width = 0;
    let height = 0;
    let spsRate: number | null = null;
    let codecId: number = FlvVideoCodecId.Avc;
    if (this.videoCodec === 'h265' && this.h265Sps) {
      ({ width, height } = this.h265Sps);
      spsRate = this.h265Sps.frameRate;
      codecId = this.hevcMode === 'enhanced' ? HVC1_FOURCC : FlvVideoCodecId.HevcLegacy;
    } else if (this.h264Sps) {
      ({ width, height } = this.h264Sps);
      spsRate = this.h264Sps.frameRate;
    }
    const frameRate = spsRate !== null ? round3(spsRate) : (this.videoInfo?.frameRate ?? 0);
    const prev = this.videoInfo;
    if (!prev || prev.codecId !== codecId || prev.width !== width || prev.height !== height || prev.frameRate !== frameRate) {
      this.videoInfo = { codecId, width, height, frameRate };
      this.metadataDirty = true;
    }
  }

  /** Measures the frame rate from the DTS of the first frames when the SPS did not give one. */
  private measureFrameRate(dts: number): void {
    if (this.fpsMeasureCount > FPS_MEASURE_FRAMES) return;
    if (this.fpsMeasureCount === 0) this.fpsMeasureStart = dts;
    if (this.fpsMeasureCount++ < FPS_MEASURE_FRAMES) return;
    const info = this.videoInfo;
    const spsRate = this.videoCodec === 'h265' ? this.h265Sps?.frameRate : this.h264Sps?.frameRate;
    const span = dts - this.fpsMeasureStart;
    if (!info || spsRate != null || span <= 0) return;
    const fps = round3((FPS_MEASURE_FRAMES * 90000) / span);
    if (fps >= 0.1 && fps <= 1000 && fps !== info.frameRate) {
      this.videoInfo = { ...info, frameRate: fps };
      this.metadataDirty = true;
    }
  }

  private emitVideoSequenceHeader(ts: number): void {
    this.videoConfigDirty = false;
    const pps = [...this.ppsNals.keys()].sort((a, b) => a - b).map((id) => this.ppsNals.get(id) as Buffer);
    const sps = this.spsNal as Buffer;
    let record: Buffer;
    let header: Buffer;
    if (this.videoCodec === 'h265') {
      const firstPps = this.h265Pps.get([...this.ppsNals.keys()].sort((a, b) => a - b)[0]) ?? null;
      record = buildHevcDecoderConfigurationRecord(
        [this.vpsNal as Buffer],
        [sps],
        pps,
        this.h265Sps as H265Sps,
        this.h265Vps,
        firstPps,
      );
      header =
        this.hevcMode === 'enhanced'
          ? Buffer.of(0x80 | (FRAME_TYPE_KEY << 4) | ExVideoPacketType.SequenceStart, 0x68, 0x76, 0x63, 0x31)
          : Buffer.of((FRAME_TYPE_KEY << 4) | FlvVideoCodecId.HevcLegacy, 0, 0, 0, 0);
    } else {
      record = buildAvcDecoderConfigurationRecord([sps], pps, this.h264Sps as H264Sps);
      header = Buffer.of((FRAME_TYPE_KEY << 4) | FlvVideoCodecId.Avc, 0, 0, 0, 0);
    }
    const tag = makeTag(FlvTagType.Video, ts, Buffer.concat([header, record]), true, true);
    this.videoSeqTag = tag;
    this.stats.sequenceHeaders++;
    this.emit(tag);
  }

  // ---------------------------------------------------------------- audio

  private pushAudio(frame: AudioFrame): void {
    if (frame.codec !== this.audioCodec) {
      this.audioCodec = frame.codec;
      this.audioSeqTag = null;
      this.aacConfig = -1;
      this.audioConfigDirty = false;
      this.audioInfo =
        frame.codec === 'aac'
          ? null // known from the first ADTS header
          : { codecId: frame.codec === 'pcma' ? FlvSoundFormat.G711A : FlvSoundFormat.G711U, sampleRate: 8000, stereo: false };
      this.metadataDirty = true;
    }
    if (frame.codec === 'aac') {
      this.pushAac(frame);
      return;
    }
    const n = frame.data.length;
    if (n === 0 || n + 1 > FLV_MAX_BODY_SIZE) {
      this.stats.droppedInvalid++;
      return;
    }
    const ts = this.timestamp(frame.pts, TRACK_AUDIO);
    if (this.metadataDirty) this.emitMetadata(ts);
    const out = allocTag(FlvTagType.Audio, ts, 1 + n);
    out[FLV_TAG_HEADER_SIZE] = frame.codec === 'pcma' ? SOUND_HEADER_PCMA : SOUND_HEADER_PCMU;
    frame.data.copy(out, FLV_TAG_HEADER_SIZE + 1);
    this.stats.audioTags++;
    this.emit({ type: FlvTagType.Audio, timestamp: ts, keyframe: false, isHeader: false, data: out });
  }

  /** One tag per ADTS frame, header stripped; the AudioSpecificConfig is derived from the ADTS header. */
  private pushAac(frame: AudioFrame): void {
    const buf = frame.data;
    const h = this.adts;
    let o = 0;
    let index = 0;
    while (o < buf.length) {
      if (!readAdtsHeader(buf, o, h) || o + h.frameLength > buf.length) {
        this.stats.droppedInvalid++;
        return;
      }
      const start = o + h.headerLength;
      const end = o + h.frameLength;
      o = end;
      const i = index++;
      if (h.rawBlocks !== 1 || end === start) {
        // Several raw data blocks in one ADTS frame: not produced by cameras, not split here.
        this.stats.droppedInvalid++;
        continue;
      }
      const config = (h.audioObjectType << 8) | (h.samplingFrequencyIndex << 4) | h.channelConfig;
      if (config !== this.aacConfig) {
        this.aacConfig = config;
        this.audioConfigDirty = true;
        const stereo = h.channelConfig >= 2;
        const info = this.audioInfo;
        if (!info || info.sampleRate !== h.sampleRate || info.stereo !== stereo) {
          this.audioInfo = { codecId: FlvSoundFormat.Aac, sampleRate: h.sampleRate, stereo };
          this.metadataDirty = true;
        }
      }
      const ts = this.timestamp(frame.pts + Math.round((i * AAC_FRAME_SAMPLES * 90000) / h.sampleRate), TRACK_AUDIO);
      if (this.metadataDirty) this.emitMetadata(ts);
      if (this.audioConfigDirty) this.emitAacSequenceHeader(ts);
      const out = allocTag(FlvTagType.Audio, ts, 2 + end - start);
      out[FLV_TAG_HEADER_SIZE] = SOUND_HEADER_AAC;
      out[FLV_TAG_HEADER_SIZE + 1] = 1; // AACPacketType: raw
      buf.copy(out, FLV_TAG_HEADER_SIZE + 2, start, end);
      this.stats.audioTags++;
      this.emit({ type: FlvTagType.Audio, timestamp: ts, keyframe: false, isHeader: false, data: out });
    }
  }

  private emitAacSequenceHeader(ts: number): void {
    this.audioConfigDirty = false;
    const asc = audioSpecificConfig(this.adts);
    const tag = makeTag(FlvTagType.Audio, ts, Buffer.of(SOUND_HEADER_AAC, 0, asc[0], asc[1]), false, true);
    this.audioSeqTag = tag;
    this.stats.sequenceHeaders++;
    this.emit(tag);
  }

  // ---------------------------------------------------------------- metadata

  private emitMetadata(ts: number): void {
    this.metadataDirty = false;
    const meta: Amf0Object = {};
    const v = this.videoInfo;
    if (v) {
      meta.videocodecid = v.codecId;
      meta.width = v.width;
      meta.height = v.height;
      if (v.frameRate > 0) meta.framerate = v.frameRate;
    }
    const a = this.audioInfo;
    if (a) {
      meta.audiocodecid = a.codecId;
      meta.audiosamplerate = a.sampleRate;
      meta.audiosamplesize = 16;
      meta.stereo = a.stereo;
    }
    meta.encoder = 'gbcast';
    const key = JSON.stringify(meta);
    if (key === this.metadataKey) return;
    this.metadataKey = key;
    const body = encodeAmf0(['onMetaData', new Amf0EcmaArray(meta)]);
    const tag = makeTag(FlvTagType.Script, ts, body, false, true);
    this.metadataTag = tag;
    this.stats.metadataTags++;
    this.emit(tag);
  }
}

/** True when buf[s, e) holds exactly the bytes of `held`. */
function sameBytes(buf: Buffer, s: number, e: number, held: Buffer | null): boolean {
  return held !== null && held.length === e - s && buf.compare(held, 0, held.length, s, e) === 0;
}

/** pic_parameter_set_id of an H.264 PPS NAL unit, or -1. */
function h264PpsId(buf: Buffer, s: number, e: number): number {
  try {
    const id = new BitReader(unescapeRbsp(buf, s + 1, Math.min(e, s + 8))).readUe();
    return id <= 255 ? id : -1;
  } catch {
    return -1;
  }
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
