/**
 * The streamer's Prometheus metrics. Counters are read at scrape time from the plain totals the hot
 * path increments (stats.ts) and from live receivers; labels are bounded enumerations (transport,
 * reason, codec), never stream ids.
 */
import type { Registry } from 'prom-client';
import { scrapedCounter, scrapedGauge } from '../common/metrics.ts';
import type { Streamer } from './streamer.ts';
import { dropReasons } from './stats.ts';
import { readUdpDrops } from '../common/udp-kernel-drops.ts';

export function registerStreamerMetrics(registry: Registry, streamer: Streamer): void {
  const t = streamer.totals;
  const live = () => streamer.table.liveCounters();
  scrapedCounter(registry, 'gbcast_streamer_rtp_packets_total', 'RTP packets received.', 'transport', () => ({
    udp: t.udpPackets,
    tcp: t.tcpPackets,
  }));
  scrapedCounter(registry, 'gbcast_streamer_rtp_bytes_total', 'RTP bytes received.', 'transport', () => ({
    udp: t.udpBytes,
    tcp: t.tcpBytes,
  }));
  scrapedCounter(registry, 'gbcast_streamer_rtp_lost_packets_total', 'RTP packets detected lost (sequence gaps).', undefined, () => t.lost);
  scrapedCounter(registry, 'gbcast_streamer_rtp_reordered_packets_total', 'RTP packets that arrived out of order and were put back in order.', undefined, () => t.retired.reordered + live().reordered);
  scrapedCounter(registry, 'gbcast_streamer_rtp_dropped_packets_total', 'RTP packets dropped, by reason.', 'reason', () => {
    const l = live();
    const out: Record<string, number> = {};
    for (const r of dropReasons) out[r] = t.dropped[r];
    out.duplicate += t.retired.duplicates + l.duplicates;
    out.late += t.retired.late + l.late;
    return out;
  });
  scrapedCounter(registry, 'gbcast_streamer_frames_out_total', 'Frames demuxed and forwarded, by codec.', 'codec', () => ({ ...t.framesOut }));
  scrapedCounter(registry, 'gbcast_streamer_frames_dropped_total', 'Frames dropped as damaged (loss), oversized or undecodable.', undefined, () => t.retired.framesDropped + live().framesDropped);
  scrapedCounter(registry, 'gbcast_streamer_ps_resyncs_total', 'Times the PS demuxer skipped garbage to find the next start code.', undefined, () => t.retired.psResyncs + live().psResyncs);
  scrapedCounter(registry, 'gbcast_streamer_ps_malformed_total', 'Malformed PS headers or PES packets.', undefined, () => t.retired.psMalformed + live().psMalformed);
  scrapedCounter(registry, 'gbcast_streamer_ps_unsupported_streams_total', 'Elementary streams of unsupported types seen (skipped).', undefined, () => t.retired.psUnsupportedStreams + live().psUnsupportedStreams);
  scrapedCounter(registry, 'gbcast_streamer_rtmp_reconnects_total', 'RTMP publisher reconnects.', undefined, () => t.retired.rtmpReconnects + live().rtmpReconnects);
  scrapedCounter(registry, 'gbcast_streamer_rtmp_queue_drops_total', 'FLV tags dropped by RTMP publishers (slow or unreachable server).', undefined, () => t.retired.rtmpQueueDrops + live().rtmpQueueDrops);
  scrapedCounter(registry, 'gbcast_streamer_http_flv_viewer_skips_total', 'HTTP-FLV viewers skipped forward to a keyframe because they fell behind.', undefined, () => t.retired.flvViewerSkips + live().flvViewerSkips);
  scrapedCounter(registry, 'gbcast_streamer_http_flv_viewer_drops_total', 'HTTP-FLV viewers disconnected because they stayed behind.', undefined, () => t.retired.flvViewerDrops + live().flvViewerDrops);
  scrapedCounter(registry, 'gbcast_streamer_receivers_closed_total', 'Receivers closed, by reason.', 'reason', () => ({ ...t.receiversClosed }));
  scrapedGauge(registry, 'gbcast_streamer_receivers', 'Receivers open (waiting or receiving).', () => streamer.table.size);
  scrapedGauge(registry, 'gbcast_streamer_http_flv_viewers', 'HTTP-FLV viewers connected.', () => live().viewers);
  scrapedGauge(registry, 'gbcast_streamer_draining', '1 while the streamer refuses new receivers.', () => (streamer.draining ? 1 : 0));
  scrapedCounter(registry, 'gbcast_streamer_udp_kernel_drops_total', 'Datagrams the kernel dropped on the media port because its receive buffer was full (raise net.core.rmem_max).', undefined, () => readUdpDrops(streamer.rtpPort));
  scrapedGauge(registry, 'gbcast_streamer_udp_recv_buffer_bytes', 'SO_RCVBUF granted by the kernel for the media socket.', () => streamer.udpRecvBufferBytes);
}
