/**
 * Test-only: a deliberately simple, independent reader of RTP headers and MPEG-PS structure, used
 * to compare what our muxer writes with what a real camera wrote (the Hikvision fixture). It reads
 * every field the layout has, including marker bits, so a test can compare the form and not only
 * the values. Not for production: it trusts its input and stops at the first thing it cannot read.
 */

export interface RtpHeaderInfo {
  version: number;
  padding: boolean;
  extension: boolean;
  csrcCount: number;
  marker: boolean;
  payloadType: number;
  sequence: number;
  timestamp: number;
  ssrc: number;
  /** Offset of the payload in the buffer. */
  payloadOffset: number;
}

export function parseRtpHeader(buf: Uint8Array, at = 0): RtpHeaderInfo {
  const b0 = buf[at];
  const b1 = buf[at + 1];
  const csrcCount = b0 & 0x0f;
  return {
    version: b0 >> 6,
    padding: (b0 & 0x20) !== 0,
    extension: (b0 & 0x10) !== 0,
    csrcCount,
    marker: (b1 & 0x80) !== 0,
    payloadType: b1 & 0x7f,
    sequence: (buf[at + 2] << 8) | buf[at + 3],
    timestamp: ((buf[at + 4] << 24) | (buf[at + 5] << 16) | (buf[at + 6] << 8) | buf[at + 7]) >>> 0,
    ssrc: ((buf[at + 8] << 24) | (buf[at + 9] << 16) | (buf[at + 10] << 8) | buf[at + 11]) >>> 0,
    payloadOffset: at + 12 + 4 * csrcCount,
  };
}

export interface PackUnit {
  kind: 'pack';
  offset: number;
  /** '01' prefix (MPEG-2) and all five marker bits set. */
  markersOk: boolean;
  scr: number;
  scrExtension: number;
  muxRate: number;
  stuffingLength: number;
  stuffing: number[];
}

export interface SystemHeaderUnit {
  kind: 'system';
  offset: number;
  length: number;
  markersOk: boolean;
  rateBound: number;
  audioBound: number;
  fixed: boolean;
  csps: boolean;
  audioLock: boolean;
  videoLock: boolean;
  videoBound: number;
  packetRateRestriction: boolean;
  reservedBits: number;
  streams: { id: number; fixedBits: number; scale: number; sizeBound: number }[];
}

export interface Descriptor {
  tag: number;
  data: Uint8Array;
}

export interface PsmUnit {
  kind: 'psm';
  offset: number;
  length: number;
  currentNext: boolean;
  version: number;
  markerOk: boolean;
  programInfo: Descriptor[];
  streams: { type: number; id: number; descriptors: Descriptor[] }[];
  /** CRC32 as stored, read big-endian. */
  crcStored: number;
  /** CRC-32/MPEG-2 over the PSM, computed here bit by bit (independently of crc32.ts). */
  crcComputed: number;
}

export interface PesUnit {
  kind: 'pes';
  offset: number;
  id: number;
  /** PES_packet_length as written (0 = unbounded). */
  length: number;
  /** The byte after the length ('10' + scrambling, priority, alignment, copyright, original). */
  flags1: number;
  /** PTS_DTS_flags and the other extension flags. */
  flags2: number;
  headerDataLength: number;
  pts?: number;
  dts?: number;
  /** Timestamp marker bits and prefixes as the standard requires. */
  timestampMarkersOk: boolean;
  /** Header bytes after the timestamps (stuffing). */
  stuffing: number[];
  payloadOffset: number;
  /** Payload bytes present in the buffer (less than declared when truncated). */
  payloadLength: number;
  truncated: boolean;
}

export type PsUnit = PackUnit | SystemHeaderUnit | PsmUnit | PesUnit;

function crcBitwise(buf: Uint8Array, start: number, end: number): number {
  let crc = 0xffffffff;
  for (let i = start; i < end; i++) {
    crc ^= buf[i] << 24;
    for (let k = 0; k < 8; k++) crc = crc & 0x80000000 ? (crc << 1) ^ 0x04c11db7 : crc << 1;
  }
  return crc >>> 0;
}

function readTimestamp(buf: Uint8Array, o: number): { value: number; prefix: number; markersOk: boolean } {
  const value =
    ((buf[o] >> 1) & 0x07) * 2 ** 30 + ((buf[o + 1] << 22) | ((buf[o + 2] >> 1) << 15) | (buf[o + 3] << 7) | (buf[o + 4] >> 1));
  const markersOk = (buf[o] & 1) === 1 && (buf[o + 2] & 1) === 1 && (buf[o + 4] & 1) === 1;
  return { value, prefix: buf[o] >> 4, markersOk };
}

function readDescriptors(buf: Uint8Array, start: number, end: number): Descriptor[] {
  const out: Descriptor[] = [];
  let o = start;
  while (o + 2 <= end) {
    const len = buf[o + 1];
    out.push({ tag: buf[o], data: buf.subarray(o + 2, Math.min(end, o + 2 + len)) });
    o += 2 + len;
  }
  return out;
}

function isStartCode(buf: Uint8Array, o: number): boolean {
  return buf[o] === 0 && buf[o + 1] === 0 && buf[o + 2] === 1;
}

/** Walks the PS structure in buf[start, end). Stops at the end, at a truncated unit, or at garbage. */
export function walkPs(buf: Uint8Array, start = 0, end: number = buf.length): PsUnit[] {
  const units: PsUnit[] = [];
  let o = start;
  while (o + 4 <= end && isStartCode(buf, o)) {
    const id = buf[o + 3];
    if (id === 0xba) {
      if (o + 14 > end) break;
      const b = (i: number): number => buf[o + i];
      const markersOk = (b(4) & 0xc4) === 0x44 && (b(6) & 0x04) === 0x04 && (b(8) & 0x04) === 0x04 && (b(9) & 0x01) === 1 && (b(12) & 0x03) === 0x03;
      const scr =
        ((b(4) >> 3) & 0x07) * 2 ** 30 +
        (((b(4) & 0x03) << 28) | (b(5) << 20) | ((b(6) >> 3) << 15) | ((b(6) & 0x03) << 13) | (b(7) << 5) | (b(8) >> 3));
      const scrExtension = ((b(8) & 0x03) << 7) | (b(9) >> 1);
      const muxRate = (b(10) << 14) | (b(11) << 6) | (b(12) >> 2);
      const stuffingLength = b(13) & 0x07;
      const stuffing = Array.from(buf.subarray(o + 14, Math.min(end, o + 14 + stuffingLength)));
      units.push({ kind: 'pack', offset: o, markersOk, scr, scrExtension, muxRate, stuffingLength, stuffing });
      o += 14 + stuffingLength;
      continue;
    }
    if (o + 6 > end) break;
    const length = (buf[o + 4] << 8) | buf[o + 5];
    if (id === 0xbb) {
      if (o + 6 + length > end) break;
      const b = (i: number): number => buf[o + i];
      const streams: SystemHeaderUnit['streams'] = [];
      for (let s = o + 12; s + 3 <= o + 6 + length; s += 3) {
        streams.push({ id: buf[s], fixedBits: buf[s + 1] >> 6, scale: (buf[s + 1] >> 5) & 1, sizeBound: ((buf[s + 1] & 0x1f) << 8) | buf[s + 2] });
      }
      units.push({
        kind: 'system',
        offset: o,
        length,
        markersOk: (b(6) & 0x80) !== 0 && (b(8) & 1) === 1 && (b(10) & 0x20) !== 0,
        rateBound: ((b(6) & 0x7f) << 15) | (b(7) << 7) | (b(8) >> 1),
        audioBound: b(9) >> 2,
        fixed: (b(9) & 2) !== 0,
        csps: (b(9) & 1) !== 0,
        audioLock: (b(10) & 0x80) !== 0,
        videoLock: (b(10) & 0x40) !== 0,
        videoBound: b(10) & 0x1f,
        packetRateRestriction: (b(11) & 0x80) !== 0,
        reservedBits: b(11) & 0x7f,
        streams,
      });
      o += 6 + length;
      continue;
    }
    if (id === 0xbc) {
      if (o + 6 + length > end) break;
      const infoLength = (buf[o + 8] << 8) | buf[o + 9];
      const programInfo = readDescriptors(buf, o + 10, o + 10 + infoLength);
      let m = o + 10 + infoLength;
      const mapLength = (buf[m] << 8) | buf[m + 1];
      m += 2;
      const mapEnd = m + mapLength;
      const streams: PsmUnit['streams'] = [];
      while (m + 4 <= mapEnd) {
        const esInfo = (buf[m + 2] << 8) | buf[m + 3];
        streams.push({ type: buf[m], id: buf[m + 1], descriptors: readDescriptors(buf, m + 4, m + 4 + esInfo) });
        m += 4 + esInfo;
      }
      const crcAt = o + 6 + length - 4;
      units.push({
        kind: 'psm',
        offset: o,
        length,
        currentNext: (buf[o + 6] & 0x80) !== 0,
        version: buf[o + 6] & 0x1f,
        markerOk: (buf[o + 7] & 1) === 1,
        programInfo,
        streams,
        crcStored: ((buf[crcAt] << 24) | (buf[crcAt + 1] << 16) | (buf[crcAt + 2] << 8) | buf[crcAt + 3]) >>> 0,
        crcComputed: crcBitwise(buf, o, crcAt),
      });
      o += 6 + length;
      continue;
    }
    // A PES packet (this reader assumes the MPEG-2 PES header with only PTS/DTS flags).
    if (o + 9 > end) break;
    const flags1 = buf[o + 6];
    const flags2 = buf[o + 7];
    const headerDataLength = buf[o + 8];
    let h = o + 9;
    let pts: number | undefined;
    let dts: number | undefined;
    let timestampMarkersOk = true;
    if ((flags2 & 0xc0) === 0x80) {
      const t = readTimestamp(buf, h);
      pts = t.value;
      timestampMarkersOk = t.markersOk && t.prefix === 0x2;
      h += 5;
    } else if ((flags2 & 0xc0) === 0xc0) {
      const t = readTimestamp(buf, h);
      const d = readTimestamp(buf, h + 5);
      pts = t.value;
      dts = d.value;
      timestampMarkersOk = t.markersOk && d.markersOk && t.prefix === 0x3 && d.prefix === 0x1;
      h += 10;
    }
    const payloadOffset = o + 9 + headerDataLength;
    const stuffing = Array.from(buf.subarray(h, Math.min(end, payloadOffset)));
    let declaredEnd: number;
    if (length === 0) {
      // Unbounded: up to the next pack/system/PES start code.
      let n = payloadOffset;
      while (n + 4 <= end && !(isStartCode(buf, n) && buf[n + 3] >= 0xb9)) n++;
      declaredEnd = n + 4 <= end ? n : end;
    } else {
      declaredEnd = o + 6 + length;
    }
    const truncated = declaredEnd > end;
    const payloadEnd = Math.min(end, declaredEnd);
    units.push({
      kind: 'pes',
      offset: o,
      id,
      length,
      flags1,
      flags2,
      headerDataLength,
      pts,
      dts,
      timestampMarkersOk,
      stuffing,
      payloadOffset,
      payloadLength: Math.max(0, payloadEnd - payloadOffset),
      truncated,
    });
    if (truncated) break;
    o = declaredEnd;
  }
  return units;
}

/** RTP packets of a buffer laid out by RtpPacketizer (prefixLength 0/2/4) as [start, end) ranges. */
export function splitFramed(buf: Uint8Array, prefixLength: 0 | 2 | 4, stride: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let o = 0;
  while (o < buf.length) {
    if (prefixLength === 0) {
      const e = Math.min(buf.length, o + stride);
      out.push([o, e]);
      o = e;
    } else {
      const len = (buf[o + prefixLength - 2] << 8) | buf[o + prefixLength - 1];
      out.push([o + prefixLength, o + prefixLength + len]);
      o += prefixLength + len;
    }
  }
  return out;
}
