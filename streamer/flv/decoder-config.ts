/**
 * Decoder configuration records (ISO/IEC 14496-15) that FLV/RTMP sequence headers carry:
 * AVCDecoderConfigurationRecord (§5.3.3.1) and HEVCDecoderConfigurationRecord (§8.3.3.1).
 * NAL units are length-prefixed with 4 bytes (lengthSizeMinusOne = 3) in the frames that follow.
 */
import type { H264Sps } from '../../common/codec/h264-sps.ts';
import type { H265Sps, H265Vps, H265Pps } from '../../common/codec/h265-params.ts';

/** Profiles whose avcC carries the chroma format / bit depth extension (14496-15 §5.3.3.1.2). */
const AVCC_EXTENSION_PROFILES = new Set([100, 110, 122, 144]);

function paramSetBytes(list: readonly Uint8Array[]): number {
  let n = 0;
  for (const p of list) n += 2 + p.length;
  return n;
}

/**
 * avcC from SPS and PPS NAL units (NAL header byte included, emulation prevention kept, no start
 * code). Profile, compatibility and level come from `sps`, which describes sps[0].
 */
export function buildAvcDecoderConfigurationRecord(
  spsNals: readonly Uint8Array[],
  ppsNals: readonly Uint8Array[],
  sps: H264Sps,
): Buffer {
  if (spsNals.length === 0 || spsNals.length > 31) throw new RangeError('avcC needs 1 to 31 SPS');
  if (ppsNals.length === 0 || ppsNals.length > 255) throw new RangeError('avcC needs 1 to 255 PPS');
  const ext = AVCC_EXTENSION_PROFILES.has(sps.profileIdc);
  const size = 6 + paramSetBytes(spsNals) + 1 + paramSetBytes(ppsNals) + (ext ? 4 : 0);
  const b = Buffer.allocUnsafe(size);
  let o = 0;
  b[o++] = 1; // configurationVersion
  b[o++] = sps.profileIdc;
  b[o++] = sps.constraintFlags;
  b[o++] = sps.levelIdc;
  b[o++] = 0xfc | 3; // reserved '111111' + lengthSizeMinusOne
  b[o++] = 0xe0 | spsNals.length; // reserved '111' + numOfSequenceParameterSets
  for (const p of spsNals) {
    b.writeUInt16BE(p.length, o);
    b.set(p, o + 2);
    o += 2 + p.length;
  }
  b[o++] = ppsNals.length;
  for (const p of ppsNals) {
    b.writeUInt16BE(p.length, o);
    b.set(p, o + 2);
    o += 2 + p.length;
  }
  if (ext) {
    b[o++] = 0xfc | sps.chromaFormatIdc;
    b[o++] = 0xf8 | (sps.bitDepthLuma - 8);
    b[o++] = 0xf8 | (sps.bitDepthChroma - 8);
    b[o++] = 0; // numOfSequenceParameterSetExt
  }
  return b;
}

/** NAL unit types of the hvcC arrays. */
const HEVC_VPS = 32;
const HEVC_SPS = 33;
const HEVC_PPS = 34;

/**
 * hvcC from VPS, SPS and PPS NAL units (2-byte NAL header included, no start code). The fields come
 * from `sps` (describing spsNals[0]), `vps` (temporal layers) and `pps` (parallelism type).
 * array_completeness is 0: parameter sets may also appear in the coded frames (the muxer keeps them).
 */
export function buildHevcDecoderConfigurationRecord(
  vpsNals: readonly Uint8Array[],
  spsNals: readonly Uint8Array[],
  ppsNals: readonly Uint8Array[],
  sps: H265Sps,
  vps: H265Vps | null,
  pps: H265Pps | null,
): Buffer {
  if (vpsNals.length === 0 || spsNals.length === 0 || ppsNals.length === 0) {
    throw new RangeError('hvcC needs at least one VPS, SPS and PPS');
  }
  const arrays: [number, readonly Uint8Array[]][] = [
    [HEVC_VPS, vpsNals],
    [HEVC_SPS, spsNals],
    [HEVC_PPS, ppsNals],
  ];
  let size = 23;
  for (const [, list] of arrays) size += 3 + paramSetBytes(list);
  const b = Buffer.allocUnsafe(size);

  let parallelismType = 0; // mixed or unknown
  if (sps.minSpatialSegmentationIdc > 0 && pps) {
    if (pps.entropyCodingSyncEnabled && pps.tilesEnabled) parallelismType = 0;
    else if (pps.entropyCodingSyncEnabled) parallelismType = 3; // wavefront
    else if (pps.tilesEnabled) parallelismType = 2; // tiles
    else parallelismType = 1; // slices
  }
  const numTemporalLayers = Math.max(sps.maxSubLayers, vps?.maxSubLayers ?? 0);

  let o = 0;
  b[o++] = 1; // configurationVersion
  b[o++] = (sps.generalProfileSpace << 6) | (sps.generalTierFlag << 5) | sps.generalProfileIdc;
  b.writeUInt32BE(sps.generalProfileCompatibilityFlags >>> 0, o);
  o += 4;
  b.writeUIntBE(sps.generalConstraintIndicatorFlags, o, 6);
  o += 6;
  b[o++] = sps.generalLevelIdc;
  b.writeUInt16BE(0xf000 | sps.minSpatialSegmentationIdc, o);
  o += 2;
  b[o++] = 0xfc | parallelismType;
  b[o++] = 0xfc | sps.chromaFormatIdc;
  b[o++] = 0xf8 | (sps.bitDepthLuma - 8);
  b[o++] = 0xf8 | (sps.bitDepthChroma - 8);
  b.writeUInt16BE(0, o); // avgFrameRate: unspecified
  o += 2;
  // constantFrameRate (2) = 0, numTemporalLayers (3), temporalIdNested (1), lengthSizeMinusOne (2) = 3
  b[o++] = ((numTemporalLayers & 7) << 3) | ((sps.temporalIdNesting ? 1 : 0) << 2) | 3;
  b[o++] = arrays.length;
  for (const [type, list] of arrays) {
    b[o++] = type; // array_completeness = 0, reserved = 0
    b.writeUInt16BE(list.length, o);
    o += 2;
    for (const p of list) {
      b.writeUInt16BE(p.length, o);
      b.set(p, o + 2);
      o += 2 + p.length;
    }
  }
  return b;
}
