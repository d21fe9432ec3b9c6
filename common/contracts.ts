/**
 * Shapes that cross process boundaries: the streamer's HTTP API, its Redis record, and the events
 * channel. Parts import these types instead of each other.
 */

export type MediaTransport = 'udp' | 'tcp-passive' | 'tcp-active';
export const mediaTransports: readonly MediaTransport[] = ['udp', 'tcp-passive', 'tcp-active'];

/** How H.265 is carried in FLV for one target: enhanced RTMP (FourCC hvc1) or legacy codec id 12. */
export type HevcFlvMode = 'enhanced' | 'legacy';

/** A streamer's load record, refreshed every 2 s with a short TTL (see common/redis/keys.ts). */
export interface StreamerRecord {
  id: string;
  pool: string;
  /** Public address devices send media to (goes into the SDP c= line). */
  address: string;
  /** Public RTP port, UDP and TCP on the same number. */
  port: number;
  /** Base URL of the streamer's internal HTTP API, e.g. http://10.0.3.7:8081 */
  url: string;
  /** Receivers open, including those still waiting for their first packet. */
  activeStreams: number;
  /** Media bits per second received over the last report interval. */
  bitrateIn: number;
  /** Process CPU use over the last interval, in percent of one core. */
  cpuPercent: number;
  draining: boolean;
  /** Milliseconds since the epoch when this record was written. */
  updatedAt: number;
  /**
   * When this streamer process started (ms since the epoch), also in its /healthz answer: a
   * different value under the same id means the process restarted and lost its receivers.
   */
  startedAt?: number;
  /** Version of gbcast that wrote the record. */
  version: string;
}

/** POST /api/v1/receivers */
export interface OpenReceiverRequest {
  streamId: string;
  /** The SDP y= value: a decimal string of up to 10 digits (devices may pad it with zeros). */
  ssrc: string;
  transport: MediaTransport;
  /** Where to publish RTMP; omitted means HTTP-FLV only. */
  rtmpUrl?: string;
  /** H.265 carriage for the RTMP target (default legacy: codec id 12). */
  hevc?: HevcFlvMode;
  /** The camera's media address as far as signaling knows it; required for tcp-active before media can flow. */
  peer?: PeerAddress;
}

export interface PeerAddress {
  ip: string;
  port?: number;
}

export interface OpenReceiverResponse {
  streamId: string;
  ssrc: string;
  transport: MediaTransport;
  /** Public address and port to put into the SDP offer. */
  address: string;
  port: number;
}

/** Why a receiver closed itself or was closed. */
export type ReceiverCloseReason =
  /** No RTP packet at all arrived for this receiver within the no-media timeout. */
  | 'no-packets'
  /** Packets arrived, but with an SSRC that matched no receiver (and not from the expected peer). */
  | 'wrong-ssrc'
  /** Media flowed, then stopped for longer than the timeout. */
  | 'stopped'
  /** The TCP connection to or from the camera closed. */
  | 'connection-closed'
  /** tcp-active: the streamer could not connect to the camera. */
  | 'connect-failed'
  /** Closed through the API (DELETE). */
  | 'deleted'
  /** The streamer is shutting down. */
  | 'shutdown';

export interface ReceiverInfo {
  streamId: string;
  ssrc: string;
  transport: MediaTransport;
  rtmpUrl?: string;
  peer?: PeerAddress;
  /** Where media actually comes from, once it does. */
  source?: PeerAddress;
  state: 'waiting' | 'receiving';
  openedAt: number;
  lastPacketAt?: number;
  packets: number;
  bytes: number;
  lost: number;
  videoCodec?: string;
  audioCodec?: string;
  width?: number;
  height?: number;
  framesOut: number;
  viewers: number;
  rtmp?: { state: string; reconnects: number; queueDrops: number };
}

/** Messages on the events channel (JSON). Signaling consumes receiver.closed to send BYE. */
export type GbcastEvent =
  | {
      type: 'receiver.closed';
      streamerId: string;
      streamId: string;
      reason: ReceiverCloseReason;
      detail?: string;
      at: number;
    }
  | { type: 'receiver.receiving'; streamerId: string; streamId: string; at: number }
  | { type: 'streamer.draining'; streamerId: string; pool: string; at: number }
  | { type: 'device.online'; deviceId: string; at: number }
  | { type: 'device.offline'; deviceId: string; reason: DeviceOfflineReason; at: number };

/** Why a device went offline: it unregistered, its registration expired, or it missed its keepalives. */
export type DeviceOfflineReason = 'unregistered' | 'expired' | 'keepalive-timeout';
