/**
 * Routes media to receivers and watches them.
 *
 * Routing: a packet goes to the receiver of its SSRC. Devices that ignore the agreed SSRC (Dahua
 * sends 0, others pad or change it) are matched by source: a source already bound to a receiver, or
 * a waiting receiver whose expected peer address (from the SDP answer) is the packet's source.
 * Anything else is dropped and counted, and remembered briefly so a receiver that times out can say
 * "packets came, with the wrong SSRC" instead of "no packets".
 *
 * Watchdog: one timer for all receivers checks once a second for receivers without media for the
 * no-media timeout, closes them, and reports why.
 */
import type net from 'node:net';
import type { ReceiverCloseReason } from '../../common/contracts.ts';
import type { Logger } from '../../common/logger.ts';
import { readRtpSsrc } from '../rtp/rtp-packet.ts';
import { RtpTcpFramer } from '../rtp/tcp-framer.ts';
import type { IngestSink } from '../ingest/rtp-port.ts';
import { formatIPv4 } from '../ingest/udp-batch-socket.ts';
import { ComponentCounters, type IngestTotals } from '../stats.ts';
import type { Receiver } from './receiver.ts';

export interface ReceiverTableOptions {
  noMediaTimeoutMs: number;
  /** An incoming TCP connection that matches no receiver within this time is closed. */
  unboundTcpTimeoutMs?: number;
  logger: Logger;
  totals: IngestTotals;
  /** Called after a receiver left the table, whatever the reason. */
  onClosed(receiver: Receiver, reason: ReceiverCloseReason, detail?: string): void;
}

interface UnmatchedSighting {
  ssrc: number;
  ip: string;
  port: number;
  lastAt: number;
  count: number;
}

const MAX_SIGHTINGS = 256;

function sourceKey(ip: string, port: number): string {
  return `${ip}:${port}`;
}

/** A UDP source as one number (IPv4 address and port), so the hot path builds no strings. */
function udpSourceKey(ip: number, port: number): number {
  return ip * 65536 + port;
}

export class ReceiverTable implements IngestSink {
  readonly #bySsrc = new Map<number, Receiver>();
  readonly #byStreamId = new Map<string, Receiver>();
  /** UDP sources (udpSourceKey) bound to a receiver after a fallback match. */
  readonly #bySource = new Map<number, Receiver>();
  /** Recent packets nobody wanted, keyed by source, bounded. */
  readonly #unmatched = new Map<string, UnmatchedSighting>();
  readonly #unboundTcp = new Set<net.Socket>();
  readonly #options: ReceiverTableOptions;
  readonly #timer: NodeJS.Timeout;

  constructor(options: ReceiverTableOptions) {
    this.#options = options;
    this.#timer = setInterval(() => this.checkTimeouts(Date.now()), 1000);
    this.#timer.unref();
  }

  get size(): number {
    return this.#byStreamId.size;
  }

  get(streamId: string): Receiver | undefined {
    return this.#byStreamId.get(streamId);
  }

  bySsrc(ssrc: number): Receiver | undefined {
    return this.#bySsrc.get(ssrc);
  }

  all(): IterableIterator<Receiver> {
    return this.#byStreamId.values();
  }

  /** Pipeline counters summed over the open receivers. */
  liveCounters(): ComponentCounters {
    const acc = new ComponentCounters();
    for (const r of this.#byStreamId.values()) r.addCounters(acc);
    return acc;
  }

  add(receiver: Receiver): void {
    this.#byStreamId.set(receiver.streamId, receiver);
    this.#bySsrc.set(receiver.ssrc, receiver);
  }

  /** Removes and closes a receiver. */
  async remove(receiver: Receiver, reason: ReceiverCloseReason, detail?: string): Promise<void> {
    if (this.#byStreamId.get(receiver.streamId) !== receiver) return;
    this.#byStreamId.delete(receiver.streamId);
    if (this.#bySsrc.get(receiver.ssrc) === receiver) this.#bySsrc.delete(receiver.ssrc);
    for (const [key, r] of this.#bySource) if (r === receiver) this.#bySource.delete(key);
    const totals = this.#options.totals;
    totals.receiversClosed[reason] = (totals.receiversClosed[reason] ?? 0) + 1;
    await receiver.close();
    this.#options.onClosed(receiver, reason, detail);
  }

  onUdpDatagram(buf: Buffer, start: number, end: number, ip: number, port: number): void {
    const totals = this.#options.totals;
    const length = end - start;
    totals.udpPackets++;
    totals.udpBytes += length;
    totals.bytesSinceReport += length;
    if (length < 12) {
      totals.dropped.malformed++;
      return;
    }
    const ssrc = readRtpSsrc(buf, start, end);
    if (ssrc < 0) {
      totals.dropped.malformed++;
      return;
    }
    let receiver = this.#bySsrc.get(ssrc);
    if (receiver === undefined) {
      receiver = this.#bySource.get(udpSourceKey(ip, port));
      if (receiver === undefined) {
        const address = formatIPv4(ip);
        receiver = this.#matchWaiting(address, port, false);
        if (receiver === undefined) {
          this.#recordUnmatched(ssrc, address, port);
          return;
        }
        this.#bindSource(receiver, address, port, ssrc);
        this.#bySource.set(udpSourceKey(ip, port), receiver);
      }
    } else if (receiver.source === undefined) {
      receiver.source = { ip: formatIPv4(ip), port };
    }
    receiver.onRtp(buf, start, end);
  }

  /** tcp-active: a connection the streamer opened to the camera, already known to be this receiver's. */
  attachOutboundTcp(receiver: Receiver, socket: net.Socket): void {
    this.#readTcp(socket, receiver);
  }

  onTcpConnection(socket: net.Socket): void {
    this.#readTcp(socket, undefined);
  }

  #readTcp(socket: net.Socket, known: Receiver | undefined): void {
    if (known) known.bindTcp(socket);
    else this.#unboundTcp.add(socket);
    const ip = socket.remoteAddress ?? '';
    const port = socket.remotePort ?? 0;
    const log = this.#options.logger;
    const totals = this.#options.totals;
    let receiver: Receiver | undefined = known;
    const timer = setTimeout(() => {
      if (receiver === undefined) {
        log.info({ ip, port }, 'closing TCP media connection that matched no receiver');
        socket.destroy();
      }
    }, this.#options.unboundTcpTimeoutMs ?? this.#options.noMediaTimeoutMs);
    timer.unref();
    const framer = new RtpTcpFramer((packet) => {
      totals.tcpPackets++;
      totals.tcpBytes += packet.length;
      totals.bytesSinceReport += packet.length;
      if (receiver === undefined) {
        const ssrc = readRtpSsrc(packet, 0);
        if (ssrc < 0) {
          totals.dropped.malformed++;
          return;
        }
        receiver = this.#bySsrc.get(ssrc) ?? this.#matchWaiting(ip, port, true);
        if (receiver === undefined) {
          totals.dropped.unbound_tcp++;
          this.#recordUnmatched(ssrc, ip, port);
          return;
        }
        clearTimeout(timer);
        this.#unboundTcp.delete(socket);
        if (receiver.ssrc !== ssrc) this.#logFallback(receiver, ip, port, ssrc);
        receiver.bindTcp(socket);
      }
      receiver.onRtp(packet, 0, packet.length);
    });
    socket.on('data', (chunk: Buffer) => framer.push(chunk));
    socket.on('error', () => socket.destroy());
    socket.once('close', () => {
      clearTimeout(timer);
      this.#unboundTcp.delete(socket);
      totals.dropped.malformed += framer.stats.resyncs;
    });
  }

  /**
   * A waiting receiver (no packets yet) that expects media from this address. For TCP the source
   * port is ephemeral, so only the address counts.
   */
  #matchWaiting(ip: string, port: number, tcp: boolean): Receiver | undefined {
    for (const r of this.#byStreamId.values()) {
      if (r.state !== 'waiting' || r.peer === undefined || r.source !== undefined) continue;
      if (r.peer.ip !== ip) continue;
      if (!tcp && r.peer.port !== undefined && r.peer.port !== port) continue;
      if (tcp !== (r.transport !== 'udp')) continue;
      return r;
    }
    return undefined;
  }

  #bindSource(receiver: Receiver, ip: string, port: number, ssrc: number): void {
    receiver.source = { ip, port };
    this.#logFallback(receiver, ip, port, ssrc);
  }

  #logFallback(receiver: Receiver, ip: string, port: number, ssrc: number): void {
    this.#options.logger.warn(
      { streamId: receiver.streamId, expectedSsrc: receiver.ssrcText, seenSsrc: ssrc, ip, port },
      'media arrives with another SSRC than agreed; matched by the expected peer address',
    );
  }

  #recordUnmatched(ssrc: number, ip: string, port: number): void {
    this.#options.totals.dropped.unknown_ssrc++;
    const key = sourceKey(ip, port);
    const seen = this.#unmatched.get(key);
    if (seen) {
      seen.count++;
      seen.ssrc = ssrc;
      seen.lastAt = Date.now();
      return;
    }
    if (this.#unmatched.size >= MAX_SIGHTINGS) {
      const oldest = this.#unmatched.keys().next().value;
      if (oldest !== undefined) this.#unmatched.delete(oldest);
    }
    this.#unmatched.set(key, { ssrc, ip, port, lastAt: Date.now(), count: 1 });
  }

  /** Why a waiting receiver got nothing: were there packets it might have been meant to get? */
  #explainSilence(receiver: Receiver): { reason: ReceiverCloseReason; detail: string } {
    const candidates = [...this.#unmatched.values()].filter(
      (s) => s.lastAt >= receiver.openedAt && (receiver.peer === undefined || receiver.peer.ip === s.ip),
    );
    if (candidates.length > 0) {
      const s = candidates[candidates.length - 1];
      return {
        reason: 'wrong-ssrc',
        detail: `${s.count} packet(s) from ${s.ip}:${s.port} with SSRC ${s.ssrc}, expected ${receiver.ssrcText}`,
      };
    }
    return {
      reason: 'no-packets',
      detail: `no RTP packet reached port for SSRC ${receiver.ssrcText}${
        receiver.peer ? ` or from ${receiver.peer.ip}` : ''
      } (firewall, NAT, or the device sent elsewhere)`,
    };
  }

  /** Runs the no-media check; exposed for tests. */
  checkTimeouts(now: number): void {
    const timeout = this.#options.noMediaTimeoutMs;
    for (const r of [...this.#byStreamId.values()]) {
      r.tick();
      if (r.packetsSinceCheck > 0) {
        r.packetsSinceCheck = 0;
        r.lastPacketAt = now;
        continue;
      }
      const since = r.lastPacketAt ?? r.openedAt;
      if (now - since < timeout) continue;
      if (r.lastPacketAt === undefined) {
        const { reason, detail } = this.#explainSilence(r);
        void this.remove(r, reason, detail);
      } else {
        void this.remove(r, 'stopped', `no media for ${Math.round((now - r.lastPacketAt) / 1000)} s`);
      }
    }
    // Forget sightings older than the timeout: they can no longer explain anything.
    for (const [key, s] of this.#unmatched) if (now - s.lastAt > timeout * 2) this.#unmatched.delete(key);
  }

  /** Stops the watchdog and closes connections that never matched. */
  stop(): void {
    clearInterval(this.#timer);
    for (const s of this.#unboundTcp) s.destroy();
    this.#unboundTcp.clear();
  }
}
