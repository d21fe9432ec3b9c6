/**
 * H.264 sequence parameter set (ITU-T H.264 §7.3.2.1.1) and the parts of the VUI (Annex E) that a
 * muxer needs: profile/level for the AVCDecoderConfigurationRecord, picture size, and frame rate.
 *
 * Input comes from the network, so the parser bounds every loop and count by the limits the standard
 * sets, and any inconsistency or truncation gives null: the caller counts it and waits for the next SPS.
 */
import { BitReader, BitReaderError, unescapeRbsp } from './bit-reader.ts';
import { readAspectRatioInfo } from './vui.ts';

export interface H264Timing {
  numUnitsInTick: number;
  timeScale: number;
  fixedFrameRate: boolean;
}

export interface H264Sps {
  profileIdc: number;
  /** constraint_set0..5 flags and the 2 reserved bits, as the byte that follows profile_idc. */
  constraintFlags: number;
  levelIdc: number;
  spsId: number;
  /** 1 (4:2:0) unless a high profile says otherwise. */
  chromaFormatIdc: number;
  separateColourPlane: boolean;
  bitDepthLuma: number;
  bitDepthChroma: number;
  log2MaxFrameNum: number;
  picOrderCntType: number;
  /** Only meaningful when picOrderCntType is 0. */
  log2MaxPocLsb: number;
  frameMbsOnly: boolean;
  /** Size of the decoded picture before cropping (whole macroblocks). */
  codedWidth: number;
  codedHeight: number;
  /** Display size: coded size minus the frame cropping rectangle. */
  width: number;
  height: number;
  /** Sample aspect ratio from the VUI, 1:1 when absent. */
  sarWidth: number;
  sarHeight: number;
  timing: H264Timing | null;
  /** Frames per second from the VUI timing (time_scale / (2 × num_units_in_tick)), or null. */
  frameRate: number | null;
}

/** Profiles whose SPS carries chroma_format_idc, bit depths and scaling matrices (§7.3.2.1.1). */
const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

/** Largest picture dimension accepted, in macroblocks (level 6.2 allows 8192x4320; leave headroom). */
const MAX_MBS_PER_SIDE = 1024;

/**
 * Parses the SPS NAL unit in nal[start, end): the 1-byte NAL header followed by the escaped RBSP.
 * Returns null when the bytes are not a valid SPS.
 */
export function parseH264Sps(nal: Uint8Array, start = 0, end: number = nal.length): H264Sps | null {
  if (end - start < 4 || (nal[start] & 0x1f) !== 7) return null;
  const rbsp = unescapeRbsp(nal, start + 1, end);
  try {
    return readSps(new BitReader(rbsp));
  } catch (err) {
    if (err instanceof BitReaderError) return null;
    throw err;
  }
}

function readSps(r: BitReader): H264Sps | null {
  const profileIdc = r.readBits(8);
  const constraintFlags = r.readBits(8);
  const levelIdc = r.readBits(8);
  const spsId = r.readUeMax(31, 'seq_parameter_set_id');

  let chromaFormatIdc = 1;
  let separateColourPlane = false;
  let bitDepthLuma = 8;
  let bitDepthChroma = 8;
  if (HIGH_PROFILES.has(profileIdc)) {
    chromaFormatIdc = r.readUeMax(3, 'chroma_format_idc');
    if (chromaFormatIdc === 3) separateColourPlane = r.readFlag();
    bitDepthLuma = 8 + r.readUeMax(6, 'bit_depth_luma_minus8');
    bitDepthChroma = 8 + r.readUeMax(6, 'bit_depth_chroma_minus8');
    r.skipBits(1); // qpprime_y_zero_transform_bypass_flag
    if (r.readFlag()) {
      const lists = chromaFormatIdc === 3 ? 12 : 8;
      for (let i = 0; i < lists; i++) {
        if (r.readFlag()) skipScalingList(r, i < 6 ? 16 : 64);
      }
    }
  }

  const log2MaxFrameNum = 4 + r.readUeMax(12, 'log2_max_frame_num_minus4');
  const picOrderCntType = r.readUeMax(2, 'pic_order_cnt_type');
  let log2MaxPocLsb = 0;
  if (picOrderCntType === 0) {
    log2MaxPocLsb = 4 + r.readUeMax(12, 'log2_max_pic_order_cnt_lsb_minus4');
  } else if (picOrderCntType === 1) {
    r.skipBits(1); // delta_pic_order_always_zero_flag
    r.readSe(); // offset_for_non_ref_pic
    r.readSe(); // offset_for_top_to_bottom_field
    const cycle = r.readUeMax(255, 'num_ref_frames_in_pic_order_cnt_cycle');
    for (let i = 0; i < cycle; i++) r.readSe();
  }
  r.readUeMax(32, 'max_num_ref_frames');
  r.skipBits(1); // gaps_in_frame_num_value_allowed_flag
  const widthMbs = r.readUeMax(MAX_MBS_PER_SIDE - 1, 'pic_width_in_mbs_minus1') + 1;
  const heightMapUnits = r.readUeMax(MAX_MBS_PER_SIDE - 1, 'pic_height_in_map_units_minus1') + 1;
  const frameMbsOnly = r.readFlag();
  if (!frameMbsOnly) r.skipBits(1); // mb_adaptive_frame_field_flag
  r.skipBits(1); // direct_8x8_inference_flag

  const codedWidth = widthMbs * 16;
  const codedHeight = (frameMbsOnly ? 1 : 2) * heightMapUnits * 16;
  let width = codedWidth;
  let height = codedHeight;
  if (r.readFlag()) {
    // frame_cropping_flag: offsets are in chroma sample units (§7.4.2.1.1, CropUnitX/CropUnitY).
    const chromaArrayType = separateColourPlane ? 0 : chromaFormatIdc;
    const subWidthC = chromaArrayType === 1 || chromaArrayType === 2 ? 2 : 1;
    const subHeightC = chromaArrayType === 1 ? 2 : 1;
    const cropUnitX = chromaArrayType === 0 ? 1 : subWidthC;
    const cropUnitY = (chromaArrayType === 0 ? 1 : subHeightC) * (frameMbsOnly ? 1 : 2);
    const left = r.readUeMax(codedWidth, 'frame_crop_left_offset');
    const right = r.readUeMax(codedWidth, 'frame_crop_right_offset');
    const top = r.readUeMax(codedHeight, 'frame_crop_top_offset');
    const bottom = r.readUeMax(codedHeight, 'frame_crop_bottom_offset');
    width -= cropUnitX * (left + right);
    height -= cropUnitY * (top + bottom);
    if (width <= 0 || height <= 0) return null;
  }

  const sps: H264Sps = {
    profileIdc,
    constraintFlags,
    levelIdc,
    spsId,
    chromaFormatIdc,
    separateColourPlane,
    bitDepthLuma,
    bitDepthChroma,
    log2MaxFrameNum,
    picOrderCntType,
    log2MaxPocLsb,
    frameMbsOnly,
    codedWidth,
    codedHeight,
    width,
    height,
    sarWidth: 1,
    sarHeight: 1,
    timing: null,
    frameRate: null,
  };

  if (r.bitsLeft > 0 && r.readFlag()) {
    // The VUI is optional to the muxer: a truncated or odd VUI keeps the fields read so far.
    try {
      readVui(r, sps);
    } catch (err) {
      if (!(err instanceof BitReaderError)) throw err;
    }
  }
  return sps;
}

function skipScalingList(r: BitReader, size: number): void {
  let last = 8;
  let next = 8;
  for (let j = 0; j < size; j++) {
    if (next !== 0) {
      const delta = r.readSeRange(-128, 127, 'delta_scale');
      next = (last + delta + 256) % 256;
    }
    if (next !== 0) last = next;
  }
}

/** Annex E.1.1 up to the timing information; the HRD and restriction fields after it are not needed. */
function readVui(r: BitReader, sps: H264Sps): void {
  readAspectRatioInfo(r, sps);
  if (r.readFlag()) r.skipBits(1); // overscan_info_present_flag → overscan_appropriate_flag
  if (r.readFlag()) {
    r.skipBits(4); // video_format, video_full_range_flag
    if (r.readFlag()) r.skipBits(24); // colour_primaries, transfer_characteristics, matrix_coefficients
  }
  if (r.readFlag()) {
    r.readUeMax(5, 'chroma_sample_loc_type_top_field');
    r.readUeMax(5, 'chroma_sample_loc_type_bottom_field');
  }
  if (r.readFlag()) {
    const numUnitsInTick = r.readBits(32);
    const timeScale = r.readBits(32);
    const fixedFrameRate = r.readFlag();
    sps.timing = { numUnitsInTick, timeScale, fixedFrameRate };
    if (numUnitsInTick > 0 && timeScale > 0) {
      const fps = timeScale / (2 * numUnitsInTick);
      if (fps >= 0.1 && fps <= 1000) sps.frameRate = fps;
    }
  }
}
