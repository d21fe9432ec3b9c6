/**
 * MPEG-2 Program Stream (ISO/IEC 13818-1 §2.5.3–2.5.5) and PES (§2.4.3.6) headers, parsed from
 * contiguous bytes at an offset. These are pure functions: the demuxer decides where to call them.
 *
 * Parse results use one convention: a positive number is the size of the complete, valid header;
 * a negative number -n asks for at least n bytes (counted from the start code) before trying again;
 * MALFORMED (0) means the bytes are not a valid header.
 *
 * `strict` adds the marker-bit checks of the standard. The demuxer is lenient where a header is
 * expected (devices get marker bits wrong) and strict when it searches for a header in bytes that may
 * be garbage or elementary-stream data.
 */

export const MALFORMED = 0;

export const StreamId = {
  ProgramEnd: 0xb9,
  Pack: 0xba,
  SystemHeader: 0xbb,
  ProgramStreamMap: 0xbc,
  PrivateStream1: 0xbd,
  Padding: 0xbe,
  PrivateStream2: 0xbf,
  AudioFirst: 0xc0,
  AudioLast: 0xdf,
  VideoFirst: 0xe0,
  VideoLast: 0xef,
} as const;

/** stream_type values of the program stream map that GB28181 devices use. */
export const StreamType = {
  Mpeg4Video: 0x10,
  H264: 0x1b,
  H265: 0x24,
  Aac: 0x0f,
  G711A: 0x90,
  G711U: 0x91,
  G7221: 0x92,
  G7231: 0x93,
  G729: 0x99,
  Svac: 0x80,
} as const;

export function isVideoStreamId(id: number): boolean {
  return id >= StreamId.VideoFirst && id <= StreamId.VideoLast;
}

export function isAudioStreamId(id: number): boolean {
  return id >= StreamId.AudioFirst && id <= StreamId.AudioLast;
}

/**
 * Stream ids that may legitimately follow 00 00 01 where a PS unit starts, and that a search for the
 * next unit accepts: pack, system header, PSM, private 1, padding, private 2, audio, video.
 */
export function isSearchableUnitId(id: number): boolean {
  return id >= StreamId.Pack && id <= StreamId.VideoLast;
}

/** A 33-bit PTS/DTS/SCR base in the 5-byte PES layout (4-bit prefix, 3 + 15 + 15 bits, markers). */
export function readTimestamp(b: Uint8Array, p: number): number {
  return (
    ((b[p] >> 1) & 0x07) * 0x40000000 + ((((b[p + 1] << 8) | b[p + 2]) >> 1) << 15) + (((b[p + 3] << 8) | b[p + 4]) >> 1)
  );
}

function timestampMarkersOk(b: Uint8Array, p: number): boolean {
  return (b[p] & 1) === 1 && (b[p + 2] & 1) === 1 && (b[p + 4] & 1) === 1;
}

export interface PackHeaderInfo {
  mpeg1: boolean;
  /** System clock reference base, 90 kHz. */
  scr: number;
  stuffing: number;
}

/** The pack header at b[o] (00 00 01 BA): 14 + stuffing bytes (MPEG-2) or 12 (MPEG-1). */
export function parsePackHeader(b: Uint8Array, o: number, avail: number, strict: boolean, out?: PackHeaderInfo): number {
  if (avail < 5) return -5;
  const b4 = b[o + 4];
  if ((b4 & 0xc0) === 0x40) {
    if (avail < 14) return -14;
    if (strict) {
      if ((b4 & 0x04) === 0 || (b[o + 6] & 0x04) === 0 || (b[o + 8] & 0x04) === 0) return MALFORMED;
      if ((b[o + 9] & 0x01) === 0 || (b[o + 12] & 0x03) !== 0x03) return MALFORMED;
    }
    const stuffing = b[o + 13] & 0x07;
    if (out) {
      out.mpeg1 = false;
      out.stuffing = stuffing;
      // SCR base: 3 bits, marker, 15 bits, marker, 15 bits (the extension follows).
      out.scr =
        ((b4 >> 3) & 0x07) * 0x40000000 +
        (((b4 & 0x03) << 28) | (b[o + 5] << 20) | ((b[o + 6] >> 3) << 15) | ((b[o + 6] & 0x03) << 13) | (b[o + 7] << 5) | (b[o + 8] >> 3));
    }
    return 14 + stuffing;
  }
  if ((b4 & 0xf0) === 0x20) {
    if (avail < 12) return -12;
    if (strict && ((b4 & 0x01) === 0 || (b[o + 6] & 0x01) === 0 || (b[o + 8] & 0x01) === 0 || (b[o + 9] & 0x80) === 0)) {
      return MALFORMED;
    }
    if (out) {
      out.mpeg1 = true;
      out.stuffing = 0;
      out.scr = readTimestamp(b, o + 4);
    }
    return 12;
  }
  return MALFORMED;
}

/**
 * The 16-bit length after the stream id of a unit that has one (everything but the pack header and
 * the end code): the header is 6 + length bytes long.
 */
export function readUnitLength(b: Uint8Array, o: number): number {
  return (b[o + 4] << 8) | b[o + 5];
}

/** Checks the fixed part of a system header (00 00 01 BB), for the search. */
export function systemHeaderPlausible(b: Uint8Array, o: number, avail: number): number {
  if (avail < 12) return -12;
  const len = readUnitLength(b, o);
  if (len < 6 || (len - 6) % 3 !== 0) return MALFORMED;
  if ((b[o + 6] & 0x80) === 0 || (b[o + 8] & 0x01) === 0 || (b[o + 10] & 0x20) === 0) return MALFORMED;
  return 6 + len;
}

export interface SystemHeaderStream {
  streamId: number;
  bufferBound: number;
}

/** Stream entries of a complete system header at b[o] (6 + length bytes available). */
export function parseSystemHeaderStreams(b: Uint8Array, o: number): SystemHeaderStream[] {
  const end = o + 6 + readUnitLength(b, o);
  const out: SystemHeaderStream[] = [];
  for (let p = o + 12; p + 3 <= end && b[p] & 0x80; p += 3) {
    const scale = (b[p + 1] & 0x20) !== 0 ? 1024 : 128;
    out.push({ streamId: b[p], bufferBound: (((b[p + 1] & 0x1f) << 8) | b[p + 2]) * scale });
  }
  return out;
}

export interface Descriptor {
  tag: number;
  /** The descriptor's payload (a view of the input). */
  data: Uint8Array;
}

export interface PsmEntry {
  streamType: number;
  streamId: number;
  descriptors: Descriptor[];
}

export interface PsmInfo {
  version: number;
  /** program_stream_info descriptors; Hikvision puts 'HK' ones here. */
  descriptors: Descriptor[];
  entries: PsmEntry[];
}

/** Largest PSM accepted (the standard caps it at 1018 bytes; devices stay far below). */
export const MAX_PSM_LENGTH = 4096;

function readDescriptors(b: Uint8Array, p: number, end: number, out: Descriptor[]): boolean {
  while (p + 2 <= end) {
    const len = b[p + 1];
    if (p + 2 + len > end) return false;
    out.push({ tag: b[p], data: b.subarray(p + 2, p + 2 + len) });
    p += 2 + len;
  }
  return p === end;
}

/** Size check for a PSM at b[o]: how many bytes the whole map needs. */
export function psmSize(b: Uint8Array, o: number, avail: number): number {
  if (avail < 6) return -6;
  const len = readUnitLength(b, o);
  if (len < 6 || len > MAX_PSM_LENGTH) return MALFORMED;
  return 6 + len;
}

/**
 * A complete PSM at b[o] (00 00 01 BC, 6 + length bytes available). Returns null when its inner
 * lengths do not fit. Descriptors whose lengths overrun are tolerated (the entry keeps what parsed).
 */
export function parsePsm(b: Uint8Array, o: number, strict: boolean): PsmInfo | null {
  const len = readUnitLength(b, o);
  const end = o + 6 + len;
  if (len < 6) return null;
  if (strict && (b[o + 7] & 0x01) === 0) return null;
  const infoLen = (b[o + 8] << 8) | b[o + 9];
  let p = o + 10;
  if (p + infoLen + 2 > end) return null;
  const info: PsmInfo = { version: b[o + 6] & 0x1f, descriptors: [], entries: [] };
  readDescriptors(b, p, p + infoLen, info.descriptors);
  p += infoLen;
  const mapLen = (b[p] << 8) | b[p + 1];
  p += 2;
  if (p + mapLen > end) return null;
  // Some devices count only the 4-byte entry heads in elementary_stream_map_length; when the
  // map is shorter than the space before the CRC, read entries up to the CRC.
  const mapEnd = strict ? p + mapLen : Math.max(p + mapLen, end - 4);
  while (p + 4 <= mapEnd) {
    const esInfoLen = (b[p + 2] << 8) | b[p + 3];
    const entry: PsmEntry = { streamType: b[p], streamId: b[p + 1], descriptors: [] };
    const dEnd = p + 4 + esInfoLen;
    if (dEnd > mapEnd) return null;
    readDescriptors(b, p + 4, dEnd, entry.descriptors);
    info.entries.push(entry);
    p = dEnd;
  }
  return info;
}

/** PES header fields, filled in place by parsePesHeader. */
export class PesHeaderInfo {
  streamId = 0;
  /** PES_packet_length: bytes after the length field; 0 = unbounded (video only). */
  pesLength = 0;
  /** Bytes from the start code to the payload. */
  headerSize = 0;
  /** Payload bytes, or -1 when unbounded. */
  payloadLength = 0;
  /** 33-bit PTS or -1. */
  pts = -1;
  /** 33-bit DTS or -1. */
  dts = -1;
  mpeg1 = false;
  /** The time stamps' prefix and marker bits are right (checked always; rejected only when strict). */
  markersOk = true;
}

/**
 * The PES header at b[o] (00 00 01 id, id in C0–EF or BD), MPEG-2 form or the MPEG-1 form
 * (stuffing, STD buffer, PTS/DTS). A length of 0 is accepted for video ids only.
 */
export function parsePesHeader(b: Uint8Array, o: number, avail: number, strict: boolean, out: PesHeaderInfo): number {
  if (avail < 9) return -9;
  const id = b[o + 3];
  const len = readUnitLength(b, o);
  if (len === 0 && !isVideoStreamId(id)) return MALFORMED;
  const b6 = b[o + 6];
  out.streamId = id;
  out.pesLength = len;
  out.pts = -1;
  out.dts = -1;
  if ((b6 & 0xc0) === 0x80) {
    const flags = b[o + 7];
    const hdl = b[o + 8];
    const size = 9 + hdl;
    if (len !== 0 && 3 + hdl > len) return MALFORMED;
    const ptsDts = flags >> 6;
    if (ptsDts === 1) return MALFORMED;
    if (ptsDts >= 2 && hdl < (ptsDts === 3 ? 10 : 5)) return MALFORMED;
    if (avail < size) return -size;
    out.markersOk = true;
    if (ptsDts >= 2) {
      let ok = b[o + 9] >> 4 === ptsDts && timestampMarkersOk(b, o + 9);
      out.pts = readTimestamp(b, o + 9);
      if (ptsDts === 3) {
        ok = ok && b[o + 14] >> 4 === 1 && timestampMarkersOk(b, o + 14);
        out.dts = readTimestamp(b, o + 14);
      }
      if (!ok) {
        if (strict) return MALFORMED;
        out.markersOk = false;
      }
    }
    out.mpeg1 = false;
    out.headerSize = size;
    out.payloadLength = len === 0 ? -1 : len - 3 - hdl;
    return size;
  }
  // MPEG-1: up to 16 stuffing bytes, an optional 2-byte STD buffer field, then the time stamps.
  if (len === 0) return MALFORMED;
  const need = 6 + Math.min(len, 28);
  if (avail < need) return -need;
  const end = o + 6 + len;
  let p = o + 6;
  let stuffing = 0;
  while (p < end && b[p] === 0xff) {
    if (++stuffing > 16) return MALFORMED;
    p++;
  }
  if (p < end && (b[p] & 0xc0) === 0x40) p += 2;
  if (p >= end) return MALFORMED;
  const c = b[p] >> 4;
  out.markersOk = true;
  if (c === 2) {
    if (p + 5 > end) return MALFORMED;
    out.markersOk = timestampMarkersOk(b, p);
    out.pts = readTimestamp(b, p);
    p += 5;
  } else if (c === 3) {
    if (p + 10 > end) return MALFORMED;
    out.markersOk = timestampMarkersOk(b, p) && b[p + 5] >> 4 === 1 && timestampMarkersOk(b, p + 5);
    out.pts = readTimestamp(b, p);
    out.dts = readTimestamp(b, p + 5);
    p += 10;
  } else if (b[p] === 0x0f) {
    p += 1;
  } else {
    return MALFORMED;
  }
  if (strict && !out.markersOk) return MALFORMED;
  out.mpeg1 = true;
  out.headerSize = p - o;
  out.payloadLength = end - p;
  return p - o;
}
