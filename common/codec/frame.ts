/**
 * The unit that flows between the media stages: one access unit of one track.
 *
 * Timestamps are on the 90 kHz clock of MPEG systems and RTP, already unwrapped past 33 bits,
 * so they grow monotonically for the life of a stream (a JavaScript number holds 2^53 exactly).
 */
export type VideoCodec = 'h264' | 'h265';
export type AudioCodec = 'pcma' | 'pcmu' | 'aac';

export interface VideoFrame {
  readonly kind: 'video';
  readonly codec: VideoCodec;
  /** Presentation time, 90 kHz. */
  readonly pts: number;
  /** Decode time, 90 kHz; equals pts when the stream carries no DTS. */
  readonly dts: number;
  /** True when the access unit holds an IDR/IRAP picture (decoding can start here). */
  readonly keyframe: boolean;
  /**
   * The access unit in Annex-B form: NAL units each preceded by a 3- or 4-byte start code.
   * A producer may reuse this buffer for its next frame (the PS demuxer with reuseFrameBuffer):
   * consumers copy what they keep beyond the call that handed them the frame.
   */
  readonly data: Buffer;
}

export interface AudioFrame {
  readonly kind: 'audio';
  readonly codec: AudioCodec;
  /** Presentation time, 90 kHz. */
  readonly pts: number;
  /**
   * pcma/pcmu: raw 8-bit samples, 8 kHz mono.
   * aac: one or more complete ADTS frames (header included).
   */
  readonly data: Buffer;
}

export type MediaFrame = VideoFrame | AudioFrame;

/** 90 kHz ticks to whole milliseconds, for FLV/RTMP. */
export function ticksToMs(ticks: number): number {
  return Math.floor(ticks / 90);
}
