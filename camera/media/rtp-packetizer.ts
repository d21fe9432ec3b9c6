/**
 * RtpPacketizer: the PS bytes of one frame → RTP packets (RFC 3550), all written into one Buffer:
 *
 *   framing 'none'         packets back to back; datagram i is
 *                          buffer[i * stride, min((i + 1) * stride, buffer.length))
 *   framing 'rfc4571'      each packet preceded by its 16-bit big-endian length (RFC 4571), the
 *                          whole buffer is one TCP write
 *   framing 'interleaved'  each packet preceded by '$', a channel byte and the 16-bit length
 *                          (RTSP interleaved framing, RFC 2326 §10.12)
 *
 * Header: V=2, no padding/extension/CSRC, payload type 96 by default, the marker bit on the last
 * packet of the frame, all packets of a frame share the timestamp (the frame's PTS mod 2^32) and the
 * sequence number increases by one per packet, wrapping at 2^16.
 */

export const RtpFraming = {
  None: 'none',
  Rfc4571: 'rfc4571',
  Interleaved: 'interleaved',
} as const;
export type RtpFraming = (typeof RtpFraming)[keyof typeof RtpFraming];

export const RTP_HEADER_LENGTH = 12;

export interface RtpPacketizerOptions {
  ssrc: number;
  payloadType?: number;
  /** Maximum RTP payload per packet in bytes, default 1400. */
  payloadSize?: number;
  framing?: RtpFraming;
  /** Channel byte for interleaved framing (default 0). */
  channel?: number;
  /** Sequence number of the first packet (default 0). */
  firstSequence?: number;
}

export class RtpPacketizer {
  readonly ssrc: number;
  readonly payloadType: number;
  readonly payloadSize: number;
  readonly framing: RtpFraming;
  readonly channel: number;
  /** Bytes in front of each packet: 0, 2 (RFC 4571) or 4 (interleaved). */
  readonly prefixLength: number;
  /** Bytes from the start of one full packet (prefix included) to the next. */
  readonly stride: number;
  /** Sequence number the next packet will carry. */
  sequence: number;

  constructor(options: RtpPacketizerOptions) {
    this.ssrc = options.ssrc >>> 0;
    this.payloadType = options.payloadType ?? 96;
    this.payloadSize = options.payloadSize ?? 1400;
    if (!(this.payloadSize >= 1 && this.payloadSize <= 65535 - RTP_HEADER_LENGTH)) throw new Error(`bad RTP payload size ${this.payloadSize}`);
    if (!(this.payloadType >= 0 && this.payloadType <= 127)) throw new Error(`bad payload type ${this.payloadType}`);
    this.framing = options.framing ?? RtpFraming.None;
    this.channel = options.channel ?? 0;
    this.prefixLength = this.framing === RtpFraming.Rfc4571 ? 2 : this.framing === RtpFraming.Interleaved ? 4 : 0;
    this.stride = this.prefixLength + RTP_HEADER_LENGTH + this.payloadSize;
    this.sequence = (options.firstSequence ?? 0) & 0xffff;
  }

  /** Number of packets a payload of `length` bytes takes. */
  packetCount(length: number): number {
    return Math.max(1, Math.ceil(length / this.payloadSize));
  }

  /** Size of the buffer packetize() returns for a payload of `length` bytes. */
  outputLength(length: number): number {
    return this.packetCount(length) * (this.prefixLength + RTP_HEADER_LENGTH) + length;
  }

  /**
   * All packets of one frame in one new Buffer. `timestamp` is on the 90 kHz clock (taken mod 2^32);
   * `marker` sets the marker bit on the last packet.
   */
  packetize(payload: Buffer, timestamp: number, marker = true): Buffer {
    const count = this.packetCount(payload.length);
    const out = Buffer.allocUnsafe(count * (this.prefixLength + RTP_HEADER_LENGTH) + payload.length);
    const ts = timestamp >>> 0;
    const b0 = 0x80;
    const pt = this.payloadType;
    const ssrc = this.ssrc;
    let seq = this.sequence;
    let o = 0;
    let p = 0;
    for (let i = 0; i < count; i++) {
      const n = Math.min(this.payloadSize, payload.length - p);
      const size = RTP_HEADER_LENGTH + n;
      if (this.prefixLength === 2) {
        out[o] = size >>> 8;
        out[o + 1] = size & 0xff;
        o += 2;
      } else if (this.prefixLength === 4) {
        out[o] = 0x24;
        out[o + 1] = this.channel;
        out[o + 2] = size >>> 8;
        out[o + 3] = size & 0xff;
        o += 4;
      }
      out[o] = b0;
      out[o + 1] = marker && i === count - 1 ? pt | 0x80 : pt;
      out[o + 2] = seq >>> 8;
      out[o + 3] = seq & 0xff;
      out[o + 4] = ts >>> 24;
      out[o + 5] = (ts >>> 16) & 0xff;
      out[o + 6] = (ts >>> 8) & 0xff;
      out[o + 7] = ts & 0xff;
      out[o + 8] = ssrc >>> 24;
      out[o + 9] = (ssrc >>> 16) & 0xff;
      out[o + 10] = (ssrc >>> 8) & 0xff;
      out[o + 11] = ssrc & 0xff;
      o += RTP_HEADER_LENGTH;
      payload.copy(out, o, p, p + n);
      o += n;
      p += n;
      seq = (seq + 1) & 0xffff;
    }
    this.sequence = seq;
    return out;
  }
}
