/**
 * Process-wide totals the hot path increments as plain fields; metrics.ts reads them at scrape time.
 */
export const dropReasons = ['unknown_ssrc', 'malformed', 'rtcp', 'duplicate', 'late', 'unbound_tcp'] as const;
export type DropReason = (typeof dropReasons)[number];

export class IngestTotals {
  udpPackets = 0;
  tcpPackets = 0;
  udpBytes = 0;
  tcpBytes = 0;
  lost = 0;
  reordered = 0;
  readonly dropped: Record<DropReason, number> = {
    unknown_ssrc: 0,
    malformed: 0,
    rtcp: 0,
    duplicate: 0,
    late: 0,
    unbound_tcp: 0,
  };
  readonly framesOut: Record<string, number> = { h264: 0, h265: 0, pcma: 0, pcmu: 0, aac: 0 };
  /** Counters of receivers that have closed (live ones are summed at scrape time). */
  readonly retired = new ComponentCounters();
  readonly receiversClosed: Record<string, number> = {};
  /** Bytes received since the last load report (reset by the reporter). */
  bytesSinceReport = 0;
}

/**
 * Counters kept inside the pipeline stages of each receiver (reorder buffer, demuxer, publisher,
 * viewers). Summed over live receivers at scrape time, and into IngestTotals.retired when one closes.
 */
export class ComponentCounters {
  reordered = 0;
  duplicates = 0;
  late = 0;
  /** Frames dropped because they were damaged by loss, oversized or undecodable. */
  framesDropped = 0;
  psResyncs = 0;
  psMalformed = 0;
  psUnsupportedStreams = 0;
  rtmpReconnects = 0;
  rtmpQueueDrops = 0;
  flvViewerSkips = 0;
  flvViewerDrops = 0;
  viewers = 0;
}
