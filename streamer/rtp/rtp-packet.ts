/**
 * RTP fixed header (RFC 3550 §5.1), parsed in place: the packet keeps a reference to the caller's
 * buffer and the payload is the range [payloadOffset, payloadEnd) of it. Nothing is copied.
 *
 *  0                   1                   2                   3
 *  V=2|P|X|  CC   |M|     PT      |       sequence number         |
 *  timestamp                                                      |
 *  SSRC                                                           |
 *  CSRC list (CC × 4 bytes), then if X: profile(16) length(16, in 32-bit words) + extension
 *  payload …, then if P: padding whose last byte counts the padding bytes (itself included)
 */

export const RTP_HEADER_MIN = 12;

const EMPTY = Buffer.alloc(0);

export class RtpPacket {
  /** The buffer the packet was parsed from (not copied). */
  buf: Buffer = EMPTY;
  /** Offset of the first header byte in buf. */
  offset = 0;
  /** End of the packet in buf (exclusive), padding included. */
  end = 0;
  sequence = 0;
  timestamp = 0;
  ssrc = 0;
  marker = false;
  payloadType = 0;
  csrcCount = 0;
  /** Header extension profile (the 16 bits before its length), or -1 without an extension. */
  extensionProfile = -1;
  /** Padding bytes removed from the end of the payload (0 without padding). */
  paddingLength = 0;
  payloadOffset = 0;
  payloadEnd = 0;

  get payloadLength(): number {
    return this.payloadEnd - this.payloadOffset;
  }

  /** A view of the payload (no copy). */
  payload(): Buffer {
    return this.buf.subarray(this.payloadOffset, this.payloadEnd);
  }

  /**
   * Parses buf[offset, end) into this object, reusing it (no allocation). Returns false for a
   * malformed packet: shorter than its header, version other than 2, CSRC list or extension past the
   * end, or a padding count of 0 or larger than the payload. On false the fields are unspecified.
   */
  parse(buf: Buffer, offset = 0, end: number = buf.length): boolean {
    if (end > buf.length) end = buf.length;
    if (offset < 0 || end - offset < RTP_HEADER_MIN) return false;
    const b0 = buf[offset];
    if (b0 >> 6 !== 2) return false;
    const cc = b0 & 0x0f;
    let p = offset + RTP_HEADER_MIN + cc * 4;
    if (p > end) return false;
    let extensionProfile = -1;
    if (b0 & 0x10) {
      if (p + 4 > end) return false;
      extensionProfile = (buf[p] << 8) | buf[p + 1];
      p += 4 + ((buf[p + 2] << 8) | buf[p + 3]) * 4;
      if (p > end) return false;
    }
    let payloadEnd = end;
    let paddingLength = 0;
    if (b0 & 0x20) {
      paddingLength = buf[end - 1];
      if (paddingLength === 0 || paddingLength > end - p) return false;
      payloadEnd = end - paddingLength;
    }
    const b1 = buf[offset + 1];
    this.buf = buf;
    this.offset = offset;
    this.end = end;
    this.marker = (b1 & 0x80) !== 0;
    this.payloadType = b1 & 0x7f;
    this.sequence = (buf[offset + 2] << 8) | buf[offset + 3];
    this.timestamp = buf.readUInt32BE(offset + 4);
    this.ssrc = buf.readUInt32BE(offset + 8);
    this.csrcCount = cc;
    this.extensionProfile = extensionProfile;
    this.paddingLength = paddingLength;
    this.payloadOffset = p;
    this.payloadEnd = payloadEnd;
    return true;
  }
}

/**
 * Parses the RTP packet in buf[offset, end) into a new RtpPacket, or returns null when it is
 * malformed (see RtpPacket.parse). Hot paths can keep one RtpPacket and call parse() instead.
 */
export function parseRtpHeader(buf: Buffer, offset = 0, end: number = buf.length): RtpPacket | null {
  const pkt = new RtpPacket();
  return pkt.parse(buf, offset, end) ? pkt : null;
}

/**
 * The SSRC of the RTP packet at buf[offset], for routing a packet before parsing it fully.
 * Returns -1 when fewer than 12 bytes are there or the version is not 2.
 */
export function readRtpSsrc(buf: Uint8Array, offset = 0, end: number = buf.length): number {
  if (offset < 0 || end - offset < RTP_HEADER_MIN || end > buf.length) return -1;
  if (buf[offset] >> 6 !== 2) return -1;
  return ((buf[offset + 8] << 24) | (buf[offset + 9] << 16) | (buf[offset + 10] << 8) | buf[offset + 11]) >>> 0;
}

/** Writes an RTP header (no CSRC, no extension) into out at offset; for tests, tools and the camera. */
export function writeRtpHeader(
  out: Buffer,
  offset: number,
  h: { sequence: number; timestamp: number; ssrc: number; payloadType: number; marker?: boolean },
): number {
  out[offset] = 0x80;
  out[offset + 1] = (h.marker ? 0x80 : 0) | (h.payloadType & 0x7f);
  out.writeUInt16BE(h.sequence & 0xffff, offset + 2);
  out.writeUInt32BE(h.timestamp >>> 0, offset + 4);
  out.writeUInt32BE(h.ssrc >>> 0, offset + 8);
  return offset + RTP_HEADER_MIN;
}
