/**
 * Cuts a TCP byte stream into RTP (or RTCP) packets.
 *
 * Two framings occur on GB28181 TCP connections, and are recognised per frame:
 * - RFC 4571: a 2-byte big-endian length, then the packet;
 * - RTSP interleaved (RFC 2326 §10.12): '$' (0x24), a channel byte, a 2-byte length, then the packet.
 *
 * A frame is plausible when its length is at least 8 (the smallest RTCP packet) and the packet
 * starts with an RTP/RTCP version-2 byte. When the bytes at a frame boundary are not plausible the
 * framer skips forward one byte at a time to the next plausible boundary and counts one resync per
 * run of skipped bytes. While skipping (and once an SSRC is known) a candidate must also carry the
 * SSRC of the last good packet, which makes a false boundary inside garbage very unlikely.
 *
 * Packets are handed out as views of the caller's chunk when they lie inside it; a packet that
 * straddles chunks is copied once into a buffer of its own. Every buffer handed out stays valid
 * (nothing is reused), so later stages may keep views of it. At most one frame (65,535 + 4 bytes)
 * is buffered.
 */

export const MAX_TCP_FRAME = 0xffff + 4;
/** RFC 4571 frames carry no channel; their packets are reported with this channel number. */
export const RFC4571_CHANNEL = -1;

/** Smallest acceptable packet: an RTCP receiver report without report blocks. */
const MIN_PACKET = 8;
/** Header bytes needed to decide on a frame: '$' + channel + length + a full RTP header. */
const MAX_DECISION = 4 + 12;

export interface TcpFramerStats {
  /** Packets handed out. */
  packets: number;
  /** Of those, packets that came in '$' interleaved frames. */
  interleaved: number;
  /** Packets that straddled chunks and were copied. */
  copied: number;
  /** Runs of bytes skipped because they did not form a plausible frame. */
  resyncs: number;
  /** Bytes skipped in those runs. */
  skippedBytes: number;
}

export type TcpPacketSink = (packet: Buffer, channel: number) => void;

const RESULT_FRAME = 1;
const RESULT_NEED = 0;
const RESULT_BAD = -1;

export class RtpTcpFramer {
  readonly stats: TcpFramerStats = { packets: 0, interleaved: 0, copied: 0, resyncs: 0, skippedBytes: 0 };

  private readonly sink: TcpPacketSink;
  /** Undecided bytes at a frame boundary that straddle chunks (fewer than MAX_DECISION). */
  private readonly hdr = Buffer.alloc(MAX_DECISION);
  private hdrLen = 0;
  /** A frame being completed from the following chunks. */
  private partial: Buffer | null = null;
  private partialLen = 0;
  private partialChannel = RFC4571_CHANNEL;
  /** Skipping garbage: a resync is in progress. */
  private hunting = false;
  /** Bytes skipped in the current resync; past a limit the SSRC is no longer required. */
  private huntBytes = 0;
  /** SSRC of the last good RTP packet, -1 before the first. */
  private lastSsrc = -1;
  /** Framing of the last good frame: tried first for the next one. */
  private lastInterleaved = false;
  // Result of classify() when it returns RESULT_FRAME.
  private cHeader = 0;
  private cLength = 0;
  private cChannel = RFC4571_CHANNEL;

  constructor(sink: TcpPacketSink) {
    this.sink = sink;
  }

  /** Bytes held between chunks (an undecided header or a partial frame). */
  get bufferedBytes(): number {
    return this.hdrLen + (this.partial ? this.partialLen : 0);
  }

  /** Forgets any partial frame and the learned SSRC (for a new connection). */
  reset(): void {
    this.hdrLen = 0;
    this.partial = null;
    this.partialLen = 0;
    this.hunting = false;
    this.lastSsrc = -1;
    this.lastInterleaved = false;
  }

  push(chunk: Buffer): void {
    const n = chunk.length;
    let p = 0;
    while (p < n) {
      if (this.partial) {
        const part = this.partial;
        const k = Math.min(part.length - this.partialLen, n - p);
        chunk.copy(part, this.partialLen, p, p + k);
        p += k;
        this.partialLen += k;
        if (this.partialLen === part.length) {
          this.partial = null;
          this.partialLen = 0;
          this.emit(part, this.partialChannel, true);
        }
        continue;
      }
      if (this.hdrLen > 0) {
        this.hdr[this.hdrLen++] = chunk[p++];
        this.drainHeader();
        continue;
      }
      const r = this.classify(chunk, p, n);
      if (r === RESULT_FRAME) {
        const s = p + this.cHeader;
        const e = s + this.cLength;
        if (e <= n) {
          this.emit(chunk.subarray(s, e), this.cChannel, false);
          p = e;
        } else {
          this.startPartial(chunk, s, n);
          p = n;
        }
      } else if (r === RESULT_NEED) {
        chunk.copy(this.hdr, 0, p, n);
        this.hdrLen = n - p;
        p = n;
      } else {
        this.skipByte();
        p++;
      }
    }
  }

  /** Decides on the bytes gathered in hdr: waits, skips garbage, or starts a frame. */
  private drainHeader(): void {
    while (this.hdrLen > 0) {
      const r = this.classify(this.hdr, 0, this.hdrLen);
      if (r === RESULT_NEED) return;
      if (r === RESULT_BAD) {
        this.skipByte();
        this.hdr.copyWithin(0, 1, this.hdrLen);
        this.hdrLen--;
        continue;
      }
      const s = this.cHeader;
      const have = this.hdrLen - s;
      this.hdrLen = 0;
      if (have >= this.cLength) {
        // The whole (tiny) packet sits in hdr: hand out a copy, since hdr is reused.
        this.emit(Buffer.from(this.hdr.subarray(s, s + this.cLength)), this.cChannel, true);
        const rest = have - this.cLength;
        if (rest > 0) {
          this.hdr.copyWithin(0, s + this.cLength, s + this.cLength + rest);
          this.hdrLen = rest;
        }
      } else {
        this.startPartial(this.hdr, s, s + have);
      }
    }
  }

  private startPartial(src: Buffer, s: number, e: number): void {
    const part = Buffer.allocUnsafe(this.cLength);
    src.copy(part, 0, s, e);
    this.partial = part;
    this.partialLen = e - s;
    this.partialChannel = this.cChannel;
  }

  private skipByte(): void {
    if (!this.hunting) {
      this.hunting = true;
      this.huntBytes = 0;
      this.stats.resyncs++;
    }
    this.huntBytes++;
    this.stats.skippedBytes++;
  }

  private emit(pkt: Buffer, channel: number, copied: boolean): void {
    this.hunting = false;
    this.lastInterleaved = channel !== RFC4571_CHANNEL;
    const b1 = pkt[1];
    if (pkt.length >= 12 && !(b1 >= 200 && b1 <= 207)) {
      this.lastSsrc = ((pkt[8] << 24) | (pkt[9] << 16) | (pkt[10] << 8) | pkt[11]) >>> 0;
    }
    this.stats.packets++;
    if (channel !== RFC4571_CHANNEL) this.stats.interleaved++;
    if (copied) this.stats.copied++;
    this.sink(pkt, channel);
  }

  /** Is a frame boundary at b[p]? Sets cHeader/cLength/cChannel on RESULT_FRAME. */
  private classify(b: Buffer, p: number, end: number): number {
    let r1: number;
    let r2: number;
    if (this.lastInterleaved) {
      r1 = this.tryInterleaved(b, p, end);
      if (r1 === RESULT_FRAME) return r1;
      r2 = this.try4571(b, p, end);
    } else {
      r1 = this.try4571(b, p, end);
      if (r1 === RESULT_FRAME) return r1;
      r2 = this.tryInterleaved(b, p, end);
    }
    if (r1 === RESULT_NEED) return RESULT_NEED;
    return r2;
  }

  private try4571(b: Buffer, p: number, end: number): number {
    if (end - p < 3) return RESULT_NEED;
    const len = (b[p] << 8) | b[p + 1];
    if (len < MIN_PACKET || b[p + 2] >> 6 !== 2) return RESULT_BAD;
    const r = this.checkSsrc(b, p + 2, end, len);
    if (r !== RESULT_FRAME) return r;
    this.cHeader = 2;
    this.cLength = len;
    this.cChannel = RFC4571_CHANNEL;
    return RESULT_FRAME;
  }

  private tryInterleaved(b: Buffer, p: number, end: number): number {
    if (b[p] !== 0x24) return RESULT_BAD;
    if (end - p < 5) return RESULT_NEED;
    const len = (b[p + 2] << 8) | b[p + 3];
    if (len < MIN_PACKET || b[p + 4] >> 6 !== 2) return RESULT_BAD;
    const r = this.checkSsrc(b, p + 4, end, len);
    if (r !== RESULT_FRAME) return r;
    this.cHeader = 4;
    this.cLength = len;
    this.cChannel = b[p + 1];
    return RESULT_FRAME;
  }

  /**
   * While resynchronising, a candidate RTP packet must carry the last good SSRC, unless the resync
   * has already skipped more than two maximum frames (the sender may have changed its SSRC).
   */
  private checkSsrc(b: Buffer, pkt: number, end: number, len: number): number {
    if (!this.hunting || this.lastSsrc < 0 || this.huntBytes > 2 * MAX_TCP_FRAME) return RESULT_FRAME;
    if (end - pkt < 12) return RESULT_NEED;
    const b1 = b[pkt + 1];
    if (b1 >= 200 && b1 <= 207) {
      // RTCP: the sender's SSRC follows the 4-byte header.
      const ssrc = ((b[pkt + 4] << 24) | (b[pkt + 5] << 16) | (b[pkt + 6] << 8) | b[pkt + 7]) >>> 0;
      return ssrc === this.lastSsrc ? RESULT_FRAME : RESULT_BAD;
    }
    if (len < 12) return RESULT_BAD;
    const ssrc = ((b[pkt + 8] << 24) | (b[pkt + 9] << 16) | (b[pkt + 10] << 8) | b[pkt + 11]) >>> 0;
    return ssrc === this.lastSsrc ? RESULT_FRAME : RESULT_BAD;
  }
}
