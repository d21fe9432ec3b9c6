/** Shapes of the signaling API's answers, as the console uses them (see /openapi.json). */
import type { GbcastEvent, MediaTransport, StreamerRecord } from '../common/contracts.ts';
import type { ChannelRecord, DeviceRecord } from '../common/store/device-store.ts';

export type { GbcastEvent, MediaTransport };
export type Streamer = StreamerRecord;

/** Devices and channels as the API returns them: the store's records. */
export type Device = DeviceRecord;
export type Channel = ChannelRecord;

export interface DevicePage {
  devices: Device[];
  next?: string;
  scanned?: number;
}

export interface Stream {
  streamId: string;
  deviceId: string;
  channelId: string;
  transport: MediaTransport;
  streamerId: string;
  rtmpUrl?: string;
  flvUrl: string;
  state: 'inviting' | 'live';
  createdAt: number;
  streamer?: { id: string; address: string; port: number };
  ageMs?: number;
  bitrateIn?: number;
  bytesIn?: number;
  viewers?: number;
  flvViewers?: number;
  rtmpViewers?: number;
  receiverState?: 'waiting' | 'receiving';
  videoCodec?: string;
  audioCodec?: string;
  streamerReachable?: boolean;
}

export interface PlayResult {
  streamId: string;
  flvUrl: string;
  rtmpUrl?: string;
  transport: MediaTransport;
  reused: boolean;
  streamer: { id: string; address: string; port: number };
}

export interface Summary {
  devices: { total: number; online: number };
  streams: number;
  streamers: { total: number; draining: number };
}

export type PtzAction = 'left' | 'right' | 'up' | 'down' | 'up-left' | 'up-right' | 'down-left' | 'down-right' | 'zoom-in' | 'zoom-out' | 'stop';
