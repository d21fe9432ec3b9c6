/** NAL unit type numbers and classification for H.264 (ITU-T H.264 table 7-1) and H.265 (table 7-1). */
import type { VideoCodec } from './frame.ts';

export const H264Nal = {
  NonIdrSlice: 1,
  IdrSlice: 5,
  Sei: 6,
  Sps: 7,
  Pps: 8,
  Aud: 9,
} as const;

export const H265Nal = {
  /** BLA_W_LP .. CRA_NUT (16..21) are IRAP pictures: random access points. */
  IrapFirst: 16,
  IrapLast: 21,
  IdrWRadl: 19,
  IdrNLp: 20,
  Cra: 21,
  Vps: 32,
  Sps: 33,
  Pps: 34,
  Aud: 35,
  PrefixSei: 39,
  SuffixSei: 40,
} as const;

/** NAL type from the first byte(s) of a NAL unit (the byte after the start code). */
export function h264NalType(firstByte: number): number {
  return firstByte & 0x1f;
}

export function h265NalType(firstByte: number): number {
  return (firstByte >> 1) & 0x3f;
}

export function nalType(codec: VideoCodec, firstByte: number): number {
  return codec === 'h264' ? h264NalType(firstByte) : h265NalType(firstByte);
}

/** True for a NAL unit that starts a decodable picture (IDR for H.264, IRAP for H.265). */
export function isRandomAccessNal(codec: VideoCodec, firstByte: number): boolean {
  if (codec === 'h264') return h264NalType(firstByte) === H264Nal.IdrSlice;
  const t = h265NalType(firstByte);
  return t >= H265Nal.IrapFirst && t <= H265Nal.IrapLast;
}

/** True for a VCL (picture slice) NAL unit. */
export function isVclNal(codec: VideoCodec, firstByte: number): boolean {
  if (codec === 'h264') {
    const t = h264NalType(firstByte);
    return t >= 1 && t <= 5;
  }
  return h265NalType(firstByte) < 32;
}
