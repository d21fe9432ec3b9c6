/**
 * One stream: RTP packets in, FLV tags out to RTMP and HTTP-FLV viewers.
 *
 *   RTP packet → (UDP: reorder window | TCP: gap check) → PS demuxer → FLV muxer → RTMP publisher
 *                                                                              └→ HTTP-FLV viewers
 *
 * The receiver does not own sockets: the receiver table hands it packets that match its SSRC or
 * its expected peer. It does own the camera's TCP connection once one is bound to it.
 */
import type net from 'node:net';
import type { MediaFrame } from '../../common/codec/frame.ts';
import type {
  HevcFlvMode,
  MediaTransport,
  PeerAddress,
  ReceiverCloseReason,
  ReceiverInfo,
} from '../../common/contracts.ts';
import type { Logger } from '../../common/logger.ts';
import { RtpPacket } from '../rtp/rtp-packet.ts';
import { ReorderBuffer, SequenceGapDetector } from '../rtp/reorder-buffer.ts';
import { PsDemuxer } from '../ps/ps-demuxer.ts';
import { FlvMuxer } from '../flv/flv-muxer.ts';
import type { FlvTag } from '../flv/flv-tag.ts';
import { FlvBroadcaster, type GopCacheMode } from '../http-flv/flv-broadcaster.ts';
import { RtmpPublisher } from '../rtmp/rtmp-publisher.ts';
import type { ComponentCounters, IngestTotals } from '../stats.ts';

export interface ReceiverOptions {
  streamId: string;
  ssrc: number;
  ssrcText: string;
  transport: MediaTransport;
  rtmpUrl?: string;
  hevc: HevcFlvMode;
  peer?: PeerAddress;
  reorderWindow: number;
  rtmpQueueBytes: number;
  rtmpMergeWriteMs: number;
  flvViewerMaxPendingBytes: number;
  gopCache?: GopCacheMode;
  gopCacheIdleMs?: number;
}

interface ReceiverContext {
  logger: Logger;
  totals: IngestTotals;
  onClose(receiver: Receiver, reason: ReceiverCloseReason, detail?: string): void;
}

/** One FLV rendition: a muxer and the viewers (and maybe the RTMP target) fed by it. */
interface FlvOutput {
  readonly muxer: FlvMuxer;
  readonly viewers: FlvBroadcaster;
  publisher?: RtmpPublisher;
}

/** RTCP packet types 200–204 read as RTP payload types 72–76 (marker bit set). */
function isRtcpPayloadType(pt: number): boolean {
  return pt >= 72 && pt <= 76;
}

export class Receiver {
  readonly streamId: string;
  readonly ssrc: number;
  readonly ssrcText: string;
  readonly transport: MediaTransport;
  readonly rtmpUrl: string | undefined;
  readonly hevc: HevcFlvMode;
  readonly openedAt = Date.now();
  peer: PeerAddress | undefined;
  /** Where media actually comes from (bound on the first matching packet or connection). */
  source: PeerAddress | undefined;
  state: 'waiting' | 'receiving' = 'waiting';
  closed = false;
  /** Set by the watchdog from `packetsSinceCheck`, so the hot path never reads the clock. */
  lastPacketAt: number | undefined;
  packetsSinceCheck = 0;
  packets = 0;
  bytes = 0;
  lost = 0;
  framesOut = 0;
  videoCodec: string | undefined;
  audioCodec: string | undefined;
  tcpSocket: net.Socket | undefined;

  readonly #options: ReceiverOptions;
  readonly #ctx: ReceiverContext;
  readonly #log: Logger;
  /** UDP: datagrams held in sequence order (the datagram is the item; it is reparsed on delivery). */
  readonly #reorder: ReorderBuffer<Buffer> | undefined;
  /** TCP: in order already; only gaps are detected. */
  readonly #gaps: SequenceGapDetector | undefined;
  /** Reused for every packet: parsing allocates nothing. */
  readonly #pkt = new RtpPacket();
  readonly #demuxer: PsDemuxer;
  readonly #outputs = new Map<HevcFlvMode, FlvOutput>();
  #primary: FlvOutput;
  /** Tracks the stream map declared, for HTTP-FLV file headers written before the first frames. */
  #tracks: { video: boolean; audio: boolean } | undefined;

  constructor(options: ReceiverOptions, ctx: ReceiverContext) {
    this.#options = options;
    this.#ctx = ctx;
    this.streamId = options.streamId;
    this.ssrc = options.ssrc;
    this.ssrcText = options.ssrcText;
    this.transport = options.transport;
    this.rtmpUrl = options.rtmpUrl;
    this.hevc = options.hevc;
    this.peer = options.peer;
    this.#log = ctx.logger.child({ streamId: options.streamId, ssrc: options.ssrcText });
    // The muxers copy what they keep, so frames can be assembled in one reused buffer.
    this.#demuxer = new PsDemuxer((frame) => this.#onFrame(frame), {
      reuseFrameBuffer: true,
      onTracks: (declared) => {
        // Only video is taken from the stream map: cameras declare audio they never send, and a
        // player told to expect audio that never comes (flv.js, mpegts.js) may never start.
        const tracks = { video: declared.video, audio: false };
        this.#tracks = tracks;
        for (const out of this.#outputs.values()) out.viewers.expectTracks(tracks);
      },
    });
    if (options.transport === 'udp') {
      this.#reorder = new ReorderBuffer<Buffer>(
        {
          // Only packets that were held or arrived out of order come here (see onRtp): parse again.
          deliver: (datagram) => {
            if (this.#pkt.parse(datagram, 0, datagram.length)) this.#onOrderedPacket(this.#pkt);
          },
          loss: (count) => this.#onLoss(count),
          reset: () => this.#demuxer.signalLoss(),
        },
        { window: options.reorderWindow },
      );
    } else {
      this.#gaps = new SequenceGapDetector();
    }
    this.#primary = this.#output(options.hevc);
    // Connect to the RTMP server now, while the camera is still being INVITEd, so the publish is
    // up when the first keyframe arrives instead of losing the first GOP to the handshake.
    if (this.rtmpUrl) this.#primary.publisher = this.#startPublisher(this.#primary);
  }

  /**
   * One RTP packet (without any TCP framing) that the table routed here: a whole UDP datagram, or a
   * view of a TCP chunk.
   */
  onRtp(buf: Buffer, start: number, end: number): void {
    const totals = this.#ctx.totals;
    const pkt = this.#pkt;
    if (!pkt.parse(buf, start, end)) {
      totals.dropped.malformed++;
      return;
    }
    if (isRtcpPayloadType(pkt.payloadType)) {
      totals.dropped.rtcp++;
      return;
    }
    this.packets++;
    this.packetsSinceCheck++;
    this.bytes += end - start;
    if (this.state === 'waiting') this.state = 'receiving';
    if (this.#reorder) {
      if (this.#reorder.acceptInOrder(pkt.sequence)) {
        this.#onOrderedPacket(pkt);
        return;
      }
      // Held or delivered later: the item must be the packet alone.
      this.#reorder.push(pkt.sequence, start === 0 && end === buf.length ? buf : buf.subarray(start, end));
      return;
    }
    const missing = this.#gaps!.check(pkt.sequence);
    if (missing < 0) return;
    if (missing > 0) this.#onLoss(missing);
    this.#onOrderedPacket(pkt);
  }

  #onOrderedPacket(pkt: RtpPacket): void {
    this.#demuxer.push(pkt.buf, pkt.payloadOffset, pkt.payloadEnd);
    if (pkt.marker) this.#demuxer.endOfFrame();
  }

  #onLoss(count: number): void {
    this.lost += count;
    this.#ctx.totals.lost += count;
    this.#demuxer.signalLoss();
  }

  #onFrame(frame: MediaFrame): void {
    this.framesOut++;
    this.#ctx.totals.framesOut[frame.codec]++;
    if (frame.kind === 'video') this.videoCodec = frame.codec;
    else this.audioCodec = frame.codec;
    for (const out of this.#outputs.values()) out.muxer.push(frame);
  }

  #output(mode: HevcFlvMode): FlvOutput {
    let out = this.#outputs.get(mode);
    if (out) return out;
    const viewers = new FlvBroadcaster({
      maxPendingBytes: this.#options.flvViewerMaxPendingBytes,
      tracks: this.#tracks,
      gopCache: this.#options.gopCache,
      gopCacheIdleMs: this.#options.gopCacheIdleMs,
      // The first publish races the camera's first keyframe, and a reconnect wants one at once:
      // until the publish is up, the GOP is the backlog it starts with.
      gopDemand: () => out?.publisher !== undefined && out.publisher.state !== 'publishing',
    });
    const muxer = new FlvMuxer({ hevc: mode }, (tag) => this.#onTag(out!, tag));
    out = { muxer, viewers };
    this.#outputs.set(mode, out);
    return out;
  }

  #onTag(out: FlvOutput, tag: FlvTag): void {
    out.viewers.publish(tag);
    out.publisher?.send(tag);
  }

  #startPublisher(out: FlvOutput): RtmpPublisher {
    const publisher = new RtmpPublisher({
      url: this.rtmpUrl!,
      headerTags: () => out.muxer.headerTags(),
      backlogTags: () => out.viewers.gopTags(),
      logger: this.#log,
      maxQueueBytes: this.#options.rtmpQueueBytes,
      // nginx-rtmp caches only AVC/AAC sequence headers: players joining an H.265 (id 12) stream
      // mid-way need the header again before every keyframe. A few dozen bytes per GOP.
      repeatVideoHeader: true,
      mergeWriteMs: this.#options.rtmpMergeWriteMs,
    });
    publisher.on('publishing', () => this.#log.info({ rtmpUrl: this.rtmpUrl }, 'publishing RTMP'));
    publisher.on('disconnected', (info) =>
      this.#log.warn({ rtmpUrl: this.rtmpUrl, reason: info.reason, retryInMs: info.retryInMs }, 'RTMP disconnected'),
    );
    publisher.start();
    return publisher;
  }

  /**
   * The FLV rendition for an HTTP-FLV viewer. H.264 streams have one rendition whatever the mode;
   * an H.265 stream gets a second muxer only when a viewer asks for the other carriage.
   */
  viewersFor(mode: HevcFlvMode | undefined): FlvBroadcaster {
    if (mode === undefined || mode === this.hevc || this.videoCodec === 'h264') return this.#primary.viewers;
    return this.#output(mode).viewers;
  }

  get viewerCount(): number {
    let n = 0;
    for (const out of this.#outputs.values()) n += out.viewers.viewerCount;
    return n;
  }

  /** Binds the camera's TCP connection; a newer connection replaces an older one (camera reconnect). */
  bindTcp(socket: net.Socket): void {
    if (this.tcpSocket && this.tcpSocket !== socket) this.tcpSocket.destroy();
    this.tcpSocket = socket;
    this.source = { ip: socket.remoteAddress ?? '', port: socket.remotePort };
    socket.once('close', () => {
      if (this.tcpSocket === socket && !this.closed) {
        this.tcpSocket = undefined;
        this.#ctx.onClose(this, 'connection-closed', 'the camera closed the TCP media connection');
      }
    });
  }

  info(): ReceiverInfo {
    const rtmp = this.#primary.publisher;
    return {
      streamId: this.streamId,
      ssrc: this.ssrcText,
      transport: this.transport,
      rtmpUrl: this.rtmpUrl,
      peer: this.peer,
      source: this.source,
      state: this.state,
      openedAt: this.openedAt,
      lastPacketAt: this.lastPacketAt,
      packets: this.packets,
      bytes: this.bytes,
      lost: this.lost,
      videoCodec: this.videoCodec,
      audioCodec: this.audioCodec,
      framesOut: this.framesOut,
      viewers: this.viewerCount,
      rtmp: rtmp
        ? { state: rtmp.state, reconnects: rtmp.stats.reconnects, queueDrops: rtmp.stats.queueDrops }
        : undefined,
    };
  }

  /** Once a second from the watchdog: releases reordered packets held past their time (a pause). */
  tick(): void {
    this.#reorder?.poll();
  }

  /** Adds the counters of this receiver's pipeline stages into `acc`. */
  addCounters(acc: ComponentCounters): void {
    const seq = (this.#reorder ?? this.#gaps)!.stats;
    acc.reordered += seq.reordered;
    acc.duplicates += seq.duplicates;
    acc.late += seq.late;
    const ps = this.#demuxer.stats;
    acc.framesDropped += ps.droppedFrames;
    acc.psResyncs += ps.resyncs;
    acc.psMalformed += ps.malformed;
    acc.psUnsupportedStreams += ps.unsupportedStreams;
    for (const out of this.#outputs.values()) {
      acc.flvViewerSkips += out.viewers.stats.skips;
      acc.flvViewerDrops += out.viewers.stats.drops;
      if (!this.closed) acc.viewers += out.viewers.viewerCount;
      if (out.publisher) {
        acc.rtmpReconnects += out.publisher.stats.reconnects;
        acc.rtmpQueueDrops += out.publisher.stats.queueDrops;
      }
    }
  }

  /** Stops everything this receiver owns. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.tcpSocket?.destroy();
    const closing: Promise<void>[] = [];
    for (const out of this.#outputs.values()) {
      out.viewers.close();
      if (out.publisher) closing.push(out.publisher.close());
    }
    this.addCounters(this.#ctx.totals.retired);
    await Promise.allSettled(closing);
  }
}
