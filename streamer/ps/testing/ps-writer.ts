/**
 * Test support: a small MPEG-2 Program Stream writer with the variations GB28181 devices show, to
 * build demuxer inputs from elementary-stream fixtures. Not the camera's muxer (camera/media owns
 * that); deliberately simple and explicit, one option per device quirk.
 */
import { writeRtpHeader } from '../../rtp/rtp-packet.ts';

export interface PsInputFrame {
  kind: 'video' | 'audio';
  /** 90 kHz, may exceed 2^33 (written modulo 2^33). */
  pts: number;
  dts?: number;
  keyframe?: boolean;
  data: Buffer;
}

export interface PsWriterOptions {
  /** When to write a PSM: never, before the first frame only, before keyframes (default), every frame. */
  psm?: 'none' | 'first' | 'keyframes' | 'every';
  /** stream_type declared for video (0x1B H.264 by default; declare 0x1B for H.265 data to lie). */
  videoStreamType?: number;
  /** stream_type declared for audio (0x90 by default). */
  audioStreamType?: number;
  videoStreamId?: number;
  audioStreamId?: number;
  /** Write Hikvision-style 'HK' descriptors in the PSM. */
  hkDescriptors?: boolean;
  /** System header before keyframes (default true). */
  systemHeader?: boolean;
  /** Largest video PES payload (default 65,000, as cameras cut). */
  maxPesPayload?: number;
  /** Video PES with PES_packet_length 0 (unbounded). */
  unboundedVideo?: boolean;
  /** A private stream 1 (0xBD) PES after the PSM, as Hikvision sends. */
  privateStream?: boolean;
  /** A pack header in front of every PES, not only every frame. */
  packPerPes?: boolean;
  /** Repeat the PTS on every PES of a frame. */
  ptsOnEveryPes?: boolean;
  /** Write no PTS/DTS at all. */
  noTimestamps?: boolean;
  /** Stuffing bytes in the pack header (0–7). */
  packStuffing?: number;
  /** MPEG-1 pack headers (12 bytes). */
  mpeg1Pack?: boolean;
}

const TS_WRAP = 2 ** 33;

export function encodeTimestamp(out: Buffer, p: number, prefix: number, value: number): void {
  const ts = ((value % TS_WRAP) + TS_WRAP) % TS_WRAP;
  const hi = Math.floor(ts / 2 ** 30) & 0x07;
  const lo = ts % 2 ** 30;
  out[p] = (prefix << 4) | (hi << 1) | 1;
  out[p + 1] = (lo >> 22) & 0xff;
  out[p + 2] = (((lo >> 15) & 0x7f) << 1) | 1;
  out[p + 3] = (lo >> 7) & 0xff;
  out[p + 4] = ((lo & 0x7f) << 1) | 1;
}

export function packHeader(scr: number, stuffing = 0, mpeg1 = false): Buffer {
  const ts = ((scr % TS_WRAP) + TS_WRAP) % TS_WRAP;
  const hi = Math.floor(ts / 2 ** 30) & 0x07;
  const lo = ts % 2 ** 30;
  if (mpeg1) {
    const b = Buffer.alloc(12);
    b.writeUInt32BE(0x000001ba, 0);
    encodeTimestamp(b, 4, 2, ts);
    b[9] = 0x80 | 0x00;
    b[10] = 0x01;
    b[11] = 0x01;
    return b;
  }
  const b = Buffer.alloc(14 + stuffing, 0xff);
  b.writeUInt32BE(0x000001ba, 0);
  b[4] = 0x44 | (hi << 3) | ((lo >> 28) & 0x03);
  b[5] = (lo >> 20) & 0xff;
  b[6] = (((lo >> 15) & 0x1f) << 3) | 0x04 | ((lo >> 13) & 0x03);
  b[7] = (lo >> 5) & 0xff;
  b[8] = ((lo & 0x1f) << 3) | 0x04;
  b[9] = 0x01;
  b[10] = 0x01;
  b[11] = 0x89;
  b[12] = 0xc3;
  b[13] = 0xf8 | stuffing;
  return b;
}

export function systemHeader(streams: number[]): Buffer {
  const b = Buffer.alloc(12 + streams.length * 3);
  b.writeUInt32BE(0x000001bb, 0);
  b.writeUInt16BE(b.length - 6, 4);
  b[6] = 0x80;
  b[7] = 0x01;
  b[8] = 0x01;
  b[9] = 0x04;
  b[10] = 0xe1;
  b[11] = 0xff;
  streams.forEach((id, i) => {
    b[12 + i * 3] = id;
    b[13 + i * 3] = id >= 0xe0 ? 0xe0 : 0xc0;
    b[14 + i * 3] = 0x80;
  });
  return b;
}

function descriptor(tag: number, data: number[]): Buffer {
  return Buffer.from([tag, data.length, ...data]);
}

export function psm(entries: { type: number; id: number }[], hk = false): Buffer {
  const info = hk
    ? Buffer.concat([
        descriptor(0x40, [0x48, 0x4b, 1, 0, 0x16, 0x9b, 0xa5, 0x22, 0x2e, 0xf7, 0, 0xff, 0xff, 0xff]),
        descriptor(0x41, [0x48, 0x4b, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]),
      ])
    : Buffer.alloc(0);
  const es = Buffer.concat(
    entries.map((e) => {
      const d = hk
        ? e.id >= 0xe0
          ? Buffer.concat([
              descriptor(0x42, [0x07, 0x10, 0x10, 0xea, 0x02, 0x80, 0x01, 0xe0, 0x11, 0x30, 0, 0, 0x1c, 0x20]),
              descriptor(0x2a, [0x7f, 0xff, 0, 0, 7, 8, 0x1f, 0xfe, 0x50, 0x3c]),
            ])
          : descriptor(0x43, [0, 0x90, 0xfe, 2, 0xb1, 0x13, 1, 0xf4, 3, 0xff])
        : Buffer.alloc(0);
      const h = Buffer.from([e.type, e.id, 0, 0]);
      h.writeUInt16BE(d.length, 2);
      return Buffer.concat([h, d]);
    }),
  );
  const len = 2 + 2 + info.length + 2 + es.length + 4;
  const b = Buffer.alloc(6 + len);
  b.writeUInt32BE(0x000001bc, 0);
  b.writeUInt16BE(len, 4);
  b[6] = 0xe0;
  b[7] = 0xff;
  b.writeUInt16BE(info.length, 8);
  info.copy(b, 10);
  b.writeUInt16BE(es.length, 10 + info.length);
  es.copy(b, 12 + info.length);
  return b;
}

/** A PES packet; `unbounded` writes length 0. */
export function pes(id: number, payload: Buffer, pts: number | null, dts: number | null, unbounded = false): Buffer {
  const hdl = pts === null ? 0 : dts === null ? 5 : 10;
  const b = Buffer.alloc(9 + hdl + payload.length);
  b.writeUInt32BE(0x00000100 | id, 0);
  const len = 3 + hdl + payload.length;
  if (!unbounded && len > 0xffff) throw new Error('PES too long');
  b.writeUInt16BE(unbounded ? 0 : len, 4);
  b[6] = 0x80;
  b[7] = pts === null ? 0 : dts === null ? 0x80 : 0xc0;
  b[8] = hdl;
  if (pts !== null) encodeTimestamp(b, 9, dts === null ? 2 : 3, pts);
  if (pts !== null && dts !== null) encodeTimestamp(b, 14, 1, dts);
  payload.copy(b, 9 + hdl);
  return b;
}

export class PsWriter {
  private readonly o: Required<PsWriterOptions>;
  private wrotePsm = false;

  constructor(opts: PsWriterOptions = {}) {
    this.o = {
      psm: 'keyframes',
      videoStreamType: 0x1b,
      audioStreamType: 0x90,
      videoStreamId: 0xe0,
      audioStreamId: 0xc0,
      hkDescriptors: false,
      systemHeader: true,
      maxPesPayload: 65000,
      unboundedVideo: false,
      privateStream: false,
      packPerPes: false,
      ptsOnEveryPes: false,
      noTimestamps: false,
      packStuffing: 0,
      mpeg1Pack: false,
      ...opts,
    };
  }

  /** The PS bytes of one frame: pack header, on keyframes system header and PSM, then its PES. */
  frame(f: PsInputFrame): Buffer {
    const o = this.o;
    const parts: Buffer[] = [];
    const scr = (f.dts ?? f.pts) - 3600;
    const pack = (): Buffer => packHeader(scr, o.packStuffing, o.mpeg1Pack);
    parts.push(pack());
    if (f.kind === 'video' && f.keyframe) {
      if (o.systemHeader) parts.push(systemHeader([o.videoStreamId, o.audioStreamId]));
    }
    const wantPsm =
      o.psm === 'every' ||
      (o.psm === 'keyframes' && f.kind === 'video' && f.keyframe) ||
      (o.psm === 'first' && !this.wrotePsm);
    if (wantPsm) {
      parts.push(
        psm(
          [
            { type: o.videoStreamType, id: o.videoStreamId },
            { type: o.audioStreamType, id: o.audioStreamId },
          ],
          o.hkDescriptors,
        ),
      );
      this.wrotePsm = true;
    }
    if (o.privateStream && f.kind === 'video' && f.keyframe) {
      parts.push(pes(0xbd, Buffer.from('private stream 1: vendor data \x80\x81\x82', 'latin1'), f.pts, null));
    }
    const pts = o.noTimestamps ? null : f.pts;
    const dts = o.noTimestamps || f.dts === undefined || f.dts === f.pts ? null : f.dts;
    if (f.kind === 'audio') {
      parts.push(pes(o.audioStreamId, f.data, pts, dts));
      return Buffer.concat(parts);
    }
    for (let p = 0, first = true; p < f.data.length; first = false) {
      const n = Math.min(o.maxPesPayload, f.data.length - p);
      if (!first && o.packPerPes) parts.push(pack());
      const withTs = first || o.ptsOnEveryPes;
      parts.push(pes(o.videoStreamId, f.data.subarray(p, p + n), withTs ? pts : null, withTs ? dts : null, o.unboundedVideo));
      p += n;
    }
    return Buffer.concat(parts);
  }
}

/** Cuts bytes into RTP payload-sized pieces. */
export function cut(buf: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let p = 0; p < buf.length; p += size) out.push(buf.subarray(p, Math.min(p + size, buf.length)));
  return out;
}

export interface RtpOut {
  packet: Buffer;
  payload: Buffer;
  marker: boolean;
  sequence: number;
}

/** RTP packets for a sequence of per-frame PS buffers; the marker is set on each frame's last packet. */
export function packetize(
  frames: Buffer[],
  payloadSize: number,
  opts: { ssrc?: number; firstSequence?: number; timestamps?: number[] } = {},
): RtpOut[] {
  const out: RtpOut[] = [];
  let seq = opts.firstSequence ?? 0;
  frames.forEach((f, i) => {
    const pieces = cut(f, payloadSize);
    pieces.forEach((piece, k) => {
      const marker = k === pieces.length - 1;
      const packet = Buffer.alloc(12 + piece.length);
      writeRtpHeader(packet, 0, {
        sequence: seq,
        timestamp: opts.timestamps ? opts.timestamps[i] : i * 3600,
        ssrc: opts.ssrc ?? 0x0bebdfa1,
        payloadType: 96,
        marker,
      });
      piece.copy(packet, 12);
      out.push({ packet, payload: packet.subarray(12), marker, sequence: seq & 0xffff });
      seq = (seq + 1) & 0xffff;
    });
  });
  return out;
}
