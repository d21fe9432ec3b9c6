/**
 * PsMuxer: MediaFrame → MPEG-2 Program Stream bytes (ISO/IEC 13818-1 §2.5), laid out the way a
 * Hikvision camera lays out its GB28181 stream (see the structure test against the fixture
 * `hikvision-first-rtp-packet.bin`):
 *
 *   video frame:  pack header (BA) [system header (BB), PSM (BC) on keyframes]
 *                 one video PES (E0) per NAL unit, each NAL with a 4-byte start code, the PTS
 *                 (and DTS when it differs) on the first PES of the frame only
 *                 [private stream 1 PES (BD) on keyframes, `privateStream` quirk]
 *   audio frame:  pack header (BA), audio PES (C0); an audio-only stream adds the system header
 *                 and PSM once a second, as the audio-only fixture does
 *
 * Every PES header has the flags byte 0x8C (PES_priority, data_alignment_indicator) and 0..3 0xFF
 * stuffing bytes so that the whole PES packet is a multiple of 4 bytes long, as the camera does.
 * A PES carries at most `maxPesPayload` (65,000) payload bytes; bigger NAL units (or frames, with
 * `pesPerNal: false`) are split over several PES packets, the PTS on the first.
 *
 * Quirk switches reproduce what devices in the field do: see PsQuirks.
 */
import type { AudioCodec, MediaFrame, VideoCodec } from '../../common/codec/frame.ts';
import { forEachNal } from '../../common/codec/annexb.ts';
import { crc32Mpeg2 } from './crc32.ts';
import type { IndexedVideoFrame } from './video-source.ts';

/** PSM stream_type values used by GB28181 (ISO/IEC 13818-1 table 2-34 plus GB28181's 0x9x). */
export const StreamType = {
  H264: 0x1b,
  H265: 0x24,
  Aac: 0x0f,
  G711A: 0x90,
  G711U: 0x91,
} as const;

export const StreamId = {
  Video: 0xe0,
  Audio: 0xc0,
  PrivateStream1: 0xbd,
  PrivateStream2: 0xbf,
} as const;

export const StartCode = {
  Pack: 0xba,
  SystemHeader: 0xbb,
  Psm: 0xbc,
} as const;

export function videoStreamType(codec: VideoCodec): number {
  return codec === 'h264' ? StreamType.H264 : StreamType.H265;
}

export function audioStreamType(codec: AudioCodec): number {
  return codec === 'aac' ? StreamType.Aac : codec === 'pcma' ? StreamType.G711A : StreamType.G711U;
}

export interface PsQuirks {
  /** Never send a program stream map (the receiver must sniff the codec). */
  noPsm?: boolean;
  /** Send the program stream map with the first keyframe only. */
  psmOnce?: boolean;
  /**
   * Hikvision style: a private stream 1 (BD) PES after each keyframe's video, listed (with BF) in
   * the system header, and descriptors tagged "HK" in the PSM's program_stream_info.
   */
  privateStream?: boolean;
  /** Video PES packets with PES_packet_length 0 (unbounded): one PES per frame, never split. */
  videoPesLengthZero?: boolean;
  /** Declare H.264 (0x1B) in the PSM whatever the video codec really is. */
  lyingPsm?: boolean;
  /** Audio PES packets without a pack header of their own (seen from Hikvision in SRS's tests). */
  audioWithoutPackHeader?: boolean;
  /** Store the PSM CRC32 little-endian, as the Hikvision fixture does. */
  psmCrcLittleEndian?: boolean;
}

export interface PsMuxerOptions {
  video?: VideoCodec;
  audio?: AudioCodec;
  quirks?: PsQuirks;
  /** One PES per NAL unit (camera style, default) or one PES per frame (split at maxPesPayload). */
  pesPerNal?: boolean;
  /** Maximum PES payload in bytes, default 65,000. */
  maxPesPayload?: number;
  /** Pack header stuffing bytes, 0..7 (default 6, like the Hikvision fixture). */
  packStuffing?: number;
  /** program_mux_rate / rate_bound in units of 50 bytes/s (default 20,000 = 8 Mbit/s). */
  muxRate?: number;
}

const TWO_30 = 2 ** 30;
const TWO_33 = 2 ** 33;

/** Writes a 33-bit PTS or DTS in the 5-byte PES form with the 4-bit prefix (0010, 0011, 0001). */
export function writePesTimestamp(out: Uint8Array, o: number, prefix: number, ts: number): void {
  const v = ts >= 0 ? ts % TWO_33 : (ts % TWO_33) + TWO_33;
  const hi = Math.floor(v / TWO_30);
  const lo = v - hi * TWO_30;
  out[o] = (prefix << 4) | (hi << 1) | 1;
  out[o + 1] = (lo >>> 22) & 0xff;
  out[o + 2] = (((lo >>> 15) & 0x7f) << 1) | 1;
  out[o + 3] = (lo >>> 7) & 0xff;
  out[o + 4] = ((lo & 0x7f) << 1) | 1;
}

/** Writes an MPEG-2 pack header (14 bytes + stuffing) with SCR base = scr, extension 0. Returns the end. */
export function writePackHeader(out: Uint8Array, o: number, scr: number, muxRate: number, stuffing: number): number {
  const v = scr >= 0 ? scr % TWO_33 : (scr % TWO_33) + TWO_33;
  const hi = Math.floor(v / TWO_30);
  const lo = v - hi * TWO_30;
  out[o] = 0;
  out[o + 1] = 0;
  out[o + 2] = 1;
  out[o + 3] = StartCode.Pack;
  out[o + 4] = 0x40 | (hi << 3) | 0x04 | ((lo >>> 28) & 0x03);
  out[o + 5] = (lo >>> 20) & 0xff;
  out[o + 6] = (((lo >>> 15) & 0x1f) << 3) | 0x04 | ((lo >>> 13) & 0x03);
  out[o + 7] = (lo >>> 5) & 0xff;
  out[o + 8] = ((lo & 0x1f) << 3) | 0x04; // SCR extension bits 8..7 = 0
  out[o + 9] = 0x01; // SCR extension bits 6..0 = 0, marker
  out[o + 10] = (muxRate >>> 14) & 0xff;
  out[o + 11] = (muxRate >>> 6) & 0xff;
  out[o + 12] = ((muxRate & 0x3f) << 2) | 0x03;
  out[o + 13] = 0xf8 | stuffing;
  for (let i = 0; i < stuffing; i++) out[o + 14 + i] = 0xff;
  return o + 14 + stuffing;
}

interface SystemHeaderStream {
  id: number;
  /** P-STD buffer size bound in bytes. */
  bufferBytes: number;
}

function buildSystemHeader(rateBound: number, audioBound: number, videoBound: number, streams: SystemHeaderStream[]): Buffer {
  const out = Buffer.alloc(12 + 3 * streams.length);
  out.writeUInt32BE(0x000001bb, 0);
  out.writeUInt16BE(6 + 3 * streams.length, 4);
  out[6] = 0x80 | ((rateBound >>> 15) & 0x7f);
  out[7] = (rateBound >>> 7) & 0xff;
  out[8] = ((rateBound & 0x7f) << 1) | 1;
  out[9] = audioBound << 2; // fixed_flag 0, CSPS_flag 0
  out[10] = 0xe0 | videoBound; // system_audio_lock, system_video_lock, marker
  out[11] = 0x7f; // packet_rate_restriction_flag 0, reserved
  let o = 12;
  for (const s of streams) {
    // Audio streams count their buffer in units of 128 bytes, others in 1024 (P-STD_buffer_bound_scale).
    const scale = s.id >= 0xc0 && s.id <= 0xdf ? 0 : 1;
    const size = Math.min(0x1fff, Math.ceil(s.bufferBytes / (scale ? 1024 : 128)));
    out[o] = s.id;
    out[o + 1] = 0xc0 | (scale << 5) | (size >>> 8);
    out[o + 2] = size & 0xff;
    o += 3;
  }
  return out;
}

interface PsmStream {
  type: number;
  id: number;
  descriptors?: Buffer;
}

function buildPsm(streams: PsmStream[], programInfo: Buffer, crcLittleEndian: boolean): Buffer {
  let mapLength = 0;
  for (const s of streams) mapLength += 4 + (s.descriptors?.length ?? 0);
  const length = 2 + 2 + programInfo.length + 2 + mapLength + 4;
  const out = Buffer.alloc(6 + length);
  out.writeUInt32BE(0x000001bc, 0);
  out.writeUInt16BE(length, 4);
  out[6] = 0xe0; // current_next_indicator 1, single_extension_stream_flag 1, reserved 1, version 0
  out[7] = 0xff; // reserved, marker
  out.writeUInt16BE(programInfo.length, 8);
  programInfo.copy(out, 10);
  let o = 10 + programInfo.length;
  out.writeUInt16BE(mapLength, o);
  o += 2;
  for (const s of streams) {
    const d = s.descriptors ?? Buffer.alloc(0);
    out[o] = s.type;
    out[o + 1] = s.id;
    out.writeUInt16BE(d.length, o + 2);
    d.copy(out, o + 4);
    o += 4 + d.length;
  }
  const crc = crc32Mpeg2(out, 0, o);
  if (crcLittleEndian) out.writeUInt32LE(crc, o);
  else out.writeUInt32BE(crc, o);
  return out;
}

/** Two descriptors shaped like Hikvision's (tag, length, "HK", vendor bytes); the contents are ours. */
const HK_PROGRAM_INFO = Buffer.from([
  0x40, 0x0e, 0x48, 0x4b, 0x01, 0x00, 0x20, 0x26, 0x01, 0x01, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff,
  0x41, 0x12, 0x48, 0x4b, 0x67, 0x62, 0x63, 0x61, 0x73, 0x74, 0x2d, 0x63, 0x61, 0x6d, 0x65, 0x72, 0x61, 0x00, 0x00, 0x00,
]);

/** Payload of the private stream 1 PES: opaque vendor data, free of start code emulation. */
const PRIVATE_PAYLOAD = (() => {
  const b = Buffer.alloc(96);
  b[0] = 0x00;
  b[1] = 0x02;
  b[2] = 0x00;
  b[3] = 0x5c;
  let x = 0x2545f491;
  for (let i = 4; i < b.length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = (x >>> 16) & 0xff || 0x5a;
  }
  return b;
})();

/** Shared scratch for muxTransient(): muxing is synchronous, so all muxers of a process share one. */
let scratch = Buffer.allocUnsafe(256 * 1024);
/** Reusable NAL range list for frames that arrive without nalRanges. */
let scanRanges = new Int32Array(256);

export class PsMuxer {
  readonly video: VideoCodec | undefined;
  readonly audio: AudioCodec | undefined;
  readonly quirks: Readonly<PsQuirks>;
  private readonly pesPerNal: boolean;
  private readonly maxPesPayload: number;
  private readonly packStuffing: number;
  private readonly muxRate: number;
  private readonly systemHeader: Buffer;
  private readonly psm: Buffer;
  private psmSent = false;
  /** Audio-only streams: PTS of the last frame that carried the system header and PSM. */
  private lastHeadersPts = -1;

  constructor(options: PsMuxerOptions) {
    this.video = options.video;
    this.audio = options.audio;
    this.quirks = { ...options.quirks };
    this.pesPerNal = options.pesPerNal ?? true;
    this.maxPesPayload = options.maxPesPayload ?? 65000;
    if (this.maxPesPayload < 16 || this.maxPesPayload > 65535 - 32) throw new Error(`bad maxPesPayload ${this.maxPesPayload}`);
    this.packStuffing = options.packStuffing ?? 6;
    if (!(this.packStuffing >= 0 && this.packStuffing <= 7)) throw new Error(`bad packStuffing ${this.packStuffing}`);
    this.muxRate = options.muxRate ?? 20000;

    const hs: SystemHeaderStream[] = [];
    const ms: PsmStream[] = [];
    if (this.video) {
      hs.push({ id: StreamId.Video, bufferBytes: 1024 * 1024 });
      ms.push({ type: this.quirks.lyingPsm ? StreamType.H264 : videoStreamType(this.video), id: StreamId.Video });
    }
    if (this.audio) {
      hs.push({ id: StreamId.Audio, bufferBytes: 4096 });
      ms.push({ type: audioStreamType(this.audio), id: StreamId.Audio });
    }
    if (this.quirks.privateStream) {
      hs.push({ id: StreamId.PrivateStream1, bufferBytes: 128 * 1024 }, { id: StreamId.PrivateStream2, bufferBytes: 128 * 1024 });
    }
    this.systemHeader = buildSystemHeader(this.muxRate, this.audio ? 1 : 0, this.video ? 1 : 0, hs);
    this.psm = buildPsm(ms, this.quirks.privateStream ? HK_PROGRAM_INFO : Buffer.alloc(0), !!this.quirks.psmCrcLittleEndian);
  }

  /** The system header this muxer writes on keyframes. */
  get systemHeaderBytes(): Buffer {
    return this.systemHeader;
  }

  /** The program stream map this muxer writes on keyframes. */
  get psmBytes(): Buffer {
    return this.psm;
  }

  /** PS bytes of one frame in a Buffer of its own. */
  mux(frame: MediaFrame): Buffer {
    const view = this.muxTransient(frame);
    const out = Buffer.allocUnsafe(view.length);
    view.copy(out);
    return out;
  }

  /**
   * PS bytes of one frame as a view into a scratch buffer shared by all muxers of the process: valid
   * until the next muxTransient() call anywhere. The sending path copies it into RTP packets at once.
   */
  muxTransient(frame: MediaFrame): Buffer {
    const ranges = frame.kind === 'video' && this.pesPerNal && !this.quirks.videoPesLengthZero ? this.nalRangesOf(frame) : undefined;
    const bound = this.maxSize(frame, ranges ? ranges.length / 2 : 0);
    if (scratch.length < bound) scratch = Buffer.allocUnsafe(Math.max(bound, scratch.length * 2));
    const end = this.write(frame, scratch, 0, ranges);
    return scratch.subarray(0, end);
  }

  private nalRangesOf(frame: IndexedVideoFrame): Int32Array {
    if (frame.nalRanges) return frame.nalRanges;
    let n = 0;
    forEachNal(frame.data, (s, e) => {
      if (n + 2 > scanRanges.length) {
        const bigger = new Int32Array(scanRanges.length * 2);
        bigger.set(scanRanges);
        scanRanges = bigger;
      }
      scanRanges[n++] = s;
      scanRanges[n++] = e;
    });
    return scanRanges.subarray(0, n);
  }

  /** An upper bound of the bytes write() produces. */
  private maxSize(frame: MediaFrame, nalCount: number): number {
    const len = frame.data.length;
    // Per PES: 6 + 3 + 10 (PTS+DTS) + 3 (stuffing) + 4 (start code added per NAL) = 26 bytes at most.
    const pesCount = nalCount + 1 + Math.ceil(len / this.maxPesPayload) + 1;
    return len + 26 * pesCount + 22 + this.systemHeader.length + this.psm.length + 32 + PRIVATE_PAYLOAD.length;
  }

  private write(frame: MediaFrame, out: Buffer, o: number, ranges: Int32Array | undefined): number {
    if (frame.kind === 'audio') {
      if (!this.quirks.audioWithoutPackHeader || !this.video) o = writePackHeader(out, o, frame.pts, this.muxRate, this.packStuffing);
      // An audio-only stream has no keyframes to hang the headers on: repeat them once a second.
      if (!this.video && (this.lastHeadersPts < 0 || frame.pts - this.lastHeadersPts >= 90000)) {
        this.lastHeadersPts = frame.pts;
        o = this.writeHeaders(out, o);
      }
      return this.writePes(out, o, StreamId.Audio, frame.data, 0, frame.data.length, false, frame.pts, frame.pts, false);
    }
    o = writePackHeader(out, o, frame.dts, this.muxRate, this.packStuffing);
    if (frame.keyframe) o = this.writeHeaders(out, o);
    const data = frame.data;
    if (ranges) {
      for (let i = 0; i < ranges.length; i += 2) {
        o = this.writePes(out, o, StreamId.Video, data, ranges[i], ranges[i + 1], true, i === 0 ? frame.pts : -1, frame.dts, false);
      }
    } else {
      o = this.writePes(out, o, StreamId.Video, data, 0, data.length, false, frame.pts, frame.dts, !!this.quirks.videoPesLengthZero);
    }
    if (frame.keyframe && this.quirks.privateStream) {
      o = this.writePes(out, o, StreamId.PrivateStream1, PRIVATE_PAYLOAD, 0, PRIVATE_PAYLOAD.length, false, frame.pts, frame.pts, false);
    }
    return o;
  }

  /** The system header, and the PSM unless a quirk says otherwise. */
  private writeHeaders(out: Buffer, o: number): number {
    this.systemHeader.copy(out, o);
    o += this.systemHeader.length;
    if (!this.quirks.noPsm && !(this.quirks.psmOnce && this.psmSent)) {
      this.psm.copy(out, o);
      o += this.psm.length;
      this.psmSent = true;
    }
    return o;
  }

  /**
   * Writes src[start, end) (preceded by a 4-byte start code when `startCode`) as one or more PES
   * packets. pts < 0 means no timestamps. `lengthZero` writes one PES with PES_packet_length 0.
   */
  private writePes(
    out: Buffer,
    o: number,
    id: number,
    src: Buffer,
    start: number,
    end: number,
    startCode: boolean,
    pts: number,
    dts: number,
    lengthZero: boolean,
  ): number {
    let total = end - start + (startCode ? 4 : 0);
    let pos = start;
    let first = true;
    while (first || total > 0) {
      const payload = lengthZero ? total : Math.min(total, this.maxPesPayload);
      const withTs = first && pts >= 0;
      const tsLen = withTs ? (dts !== pts ? 10 : 5) : 0;
      const stuffing = (4 - ((9 + tsLen + payload) & 3)) & 3;
      out[o] = 0;
      out[o + 1] = 0;
      out[o + 2] = 1;
      out[o + 3] = id;
      const pesLength = lengthZero ? 0 : 3 + tsLen + stuffing + payload;
      out[o + 4] = pesLength >>> 8;
      out[o + 5] = pesLength & 0xff;
      out[o + 6] = first ? 0x8c : 0x88; // '10', PES_priority, data_alignment_indicator on the first piece
      out[o + 7] = tsLen === 10 ? 0xc0 : tsLen === 5 ? 0x80 : 0x00;
      out[o + 8] = tsLen + stuffing;
      o += 9;
      if (tsLen === 10) {
        writePesTimestamp(out, o, 0x3, pts);
        writePesTimestamp(out, o + 5, 0x1, dts);
      } else if (tsLen === 5) {
        writePesTimestamp(out, o, 0x2, pts);
      }
      o += tsLen;
      for (let i = 0; i < stuffing; i++) out[o++] = 0xff;
      let left = payload;
      if (first && startCode) {
        out[o] = 0;
        out[o + 1] = 0;
        out[o + 2] = 0;
        out[o + 3] = 1;
        o += 4;
        left -= 4;
      }
      src.copy(out, o, pos, pos + left);
      o += left;
      pos += left;
      total -= payload;
      first = false;
    }
    return o;
  }
}
