/**
 * H.265 parameter sets (ITU-T H.265 §7.3.2): the fields of the VPS, SPS and PPS that the
 * HEVCDecoderConfigurationRecord (ISO/IEC 14496-15 §8.3.3) and a muxer need: profile/tier/level,
 * chroma format, bit depths, picture size, temporal layering, parallelism and the VUI frame rate.
 *
 * The SPS has to be walked field by field up to the VUI (scaling lists, short-term reference picture
 * sets, HRD parameters) to reach min_spatial_segmentation_idc and the timing information. Every count
 * is bounded by the limit the standard gives; truncated or inconsistent input gives null.
 */
import { BitReader, BitReaderError, unescapeRbsp } from './bit-reader.ts';
import { readAspectRatioInfo } from './vui.ts';

export interface H265Vps {
  vpsId: number;
  /** vps_max_sub_layers_minus1 + 1 */
  maxSubLayers: number;
  temporalIdNesting: boolean;
}

export interface H265Timing {
  numUnitsInTick: number;
  timeScale: number;
}

export interface H265Sps {
  vpsId: number;
  /** sps_max_sub_layers_minus1 + 1 */
  maxSubLayers: number;
  temporalIdNesting: boolean;
  generalProfileSpace: number;
  generalTierFlag: number;
  generalProfileIdc: number;
  /** 32 flags, as an unsigned 32-bit number. */
  generalProfileCompatibilityFlags: number;
  /** The 48 bits from general_progressive_source_flag on, as an unsigned number (< 2^48). */
  generalConstraintIndicatorFlags: number;
  generalLevelIdc: number;
  spsId: number;
  chromaFormatIdc: number;
  separateColourPlane: boolean;
  /** pic_width/height_in_luma_samples */
  codedWidth: number;
  codedHeight: number;
  /** Size after the conformance window. */
  width: number;
  height: number;
  bitDepthLuma: number;
  bitDepthChroma: number;
  log2MaxPocLsb: number;
  /** From the VUI bitstream restriction, 0 when absent. */
  minSpatialSegmentationIdc: number;
  sarWidth: number;
  sarHeight: number;
  timing: H265Timing | null;
  /** time_scale / num_units_in_tick from the VUI, or null. */
  frameRate: number | null;
}

export interface H265Pps {
  ppsId: number;
  spsId: number;
  dependentSliceSegmentsEnabled: boolean;
  outputFlagPresent: boolean;
  numExtraSliceHeaderBits: number;
  tilesEnabled: boolean;
  entropyCodingSyncEnabled: boolean;
}

const NAL_VPS = 32;
const NAL_SPS = 33;
const NAL_PPS = 34;

const MAX_LUMA_SIDE = 16888; // level 6.2: sqrt(MaxLumaPs × 8)

function nalReader(nal: Uint8Array, start: number, end: number, type: number): BitReader | null {
  if (end - start < 4 || ((nal[start] >> 1) & 0x3f) !== type) return null;
  return new BitReader(unescapeRbsp(nal, start + 2, end));
}

function guarded<T>(read: () => T): T | null {
  try {
    return read();
  } catch (err) {
    if (err instanceof BitReaderError) return null;
    throw err;
  }
}

/** Parses a VPS NAL unit (2-byte NAL header included). */
export function parseH265Vps(nal: Uint8Array, start = 0, end: number = nal.length): H265Vps | null {
  const r = nalReader(nal, start, end, NAL_VPS);
  if (!r) return null;
  return guarded(() => {
    const vpsId = r.readBits(4);
    r.skipBits(2 + 6); // vps_base_layer_internal_flag, vps_base_layer_available_flag, vps_max_layers_minus1
    const maxSubLayers = r.readBits(3) + 1;
    const temporalIdNesting = r.readFlag();
    if (maxSubLayers > 7) return null;
    return { vpsId, maxSubLayers, temporalIdNesting };
  });
}

/** Parses a PPS NAL unit up to entropy_coding_sync_enabled_flag. */
export function parseH265Pps(nal: Uint8Array, start = 0, end: number = nal.length): H265Pps | null {
  const r = nalReader(nal, start, end, NAL_PPS);
  if (!r) return null;
  return guarded(() => {
    const ppsId = r.readUeMax(63, 'pps_pic_parameter_set_id');
    const spsId = r.readUeMax(15, 'pps_seq_parameter_set_id');
    const dependentSliceSegmentsEnabled = r.readFlag();
    const outputFlagPresent = r.readFlag();
    const numExtraSliceHeaderBits = r.readBits(3);
    r.skipBits(2); // sign_data_hiding_enabled_flag, cabac_init_present_flag
    r.readUeMax(14, 'num_ref_idx_l0_default_active_minus1');
    r.readUeMax(14, 'num_ref_idx_l1_default_active_minus1');
    r.readSeRange(-(26 + 48), 25, 'init_qp_minus26');
    r.skipBits(2); // constrained_intra_pred_flag, transform_skip_enabled_flag
    if (r.readFlag()) r.readUeMax(6, 'diff_cu_qp_delta_depth');
    r.readSeRange(-12, 12, 'pps_cb_qp_offset');
    r.readSeRange(-12, 12, 'pps_cr_qp_offset');
    r.skipBits(4); // slice_chroma_qp_offsets_present, weighted_pred, weighted_bipred, transquant_bypass
    const tilesEnabled = r.readFlag();
    const entropyCodingSyncEnabled = r.readFlag();
    return {
      ppsId,
      spsId,
      dependentSliceSegmentsEnabled,
      outputFlagPresent,
      numExtraSliceHeaderBits,
      tilesEnabled,
      entropyCodingSyncEnabled,
    };
  });
}

/** Parses an SPS NAL unit (2-byte NAL header included) through the VUI. */
export function parseH265Sps(nal: Uint8Array, start = 0, end: number = nal.length): H265Sps | null {
  const r = nalReader(nal, start, end, NAL_SPS);
  if (!r) return null;
  return guarded(() => readSps(r));
}

function readSps(r: BitReader): H265Sps | null {
  const vpsId = r.readBits(4);
  const maxSubLayersMinus1 = r.readBits(3);
  if (maxSubLayersMinus1 > 6) return null;
  const temporalIdNesting = r.readFlag();

  // profile_tier_level(1, sps_max_sub_layers_minus1), §7.3.3
  const generalProfileSpace = r.readBits(2);
  const generalTierFlag = r.readBit();
  const generalProfileIdc = r.readBits(5);
  const generalProfileCompatibilityFlags = r.readBits(32);
  const generalConstraintIndicatorFlags = r.readBits(16) * 2 ** 32 + r.readBits(32);
  const generalLevelIdc = r.readBits(8);
  const subProfilePresent: boolean[] = [];
  const subLevelPresent: boolean[] = [];
  for (let i = 0; i < maxSubLayersMinus1; i++) {
    subProfilePresent.push(r.readFlag());
    subLevelPresent.push(r.readFlag());
  }
  if (maxSubLayersMinus1 > 0) r.skipBits(2 * (8 - maxSubLayersMinus1)); // reserved_zero_2bits
  for (let i = 0; i < maxSubLayersMinus1; i++) {
    if (subProfilePresent[i]) r.skipBits(88);
    if (subLevelPresent[i]) r.skipBits(8);
  }

  const spsId = r.readUeMax(15, 'sps_seq_parameter_set_id');
  const chromaFormatIdc = r.readUeMax(3, 'chroma_format_idc');
  const separateColourPlane = chromaFormatIdc === 3 ? r.readFlag() : false;
  const codedWidth = r.readUeMax(MAX_LUMA_SIDE, 'pic_width_in_luma_samples');
  const codedHeight = r.readUeMax(MAX_LUMA_SIDE, 'pic_height_in_luma_samples');
  if (codedWidth === 0 || codedHeight === 0) return null;
  let width = codedWidth;
  let height = codedHeight;
  if (r.readFlag()) {
    const chromaArrayType = separateColourPlane ? 0 : chromaFormatIdc;
    const subWidthC = chromaArrayType === 1 || chromaArrayType === 2 ? 2 : 1;
    const subHeightC = chromaArrayType === 1 ? 2 : 1;
    const left = r.readUeMax(codedWidth, 'conf_win_left_offset');
    const right = r.readUeMax(codedWidth, 'conf_win_right_offset');
    const top = r.readUeMax(codedHeight, 'conf_win_top_offset');
    const bottom = r.readUeMax(codedHeight, 'conf_win_bottom_offset');
    width -= subWidthC * (left + right);
    height -= subHeightC * (top + bottom);
    if (width <= 0 || height <= 0) return null;
  }
  const bitDepthLuma = 8 + r.readUeMax(8, 'bit_depth_luma_minus8');
  const bitDepthChroma = 8 + r.readUeMax(8, 'bit_depth_chroma_minus8');
  const log2MaxPocLsb = 4 + r.readUeMax(12, 'log2_max_pic_order_cnt_lsb_minus4');
  const orderingInfoAll = r.readFlag();
  for (let i = orderingInfoAll ? 0 : maxSubLayersMinus1; i <= maxSubLayersMinus1; i++) {
    r.readUeMax(16, 'sps_max_dec_pic_buffering_minus1');
    r.readUeMax(16, 'sps_max_num_reorder_pics');
    r.readUe(); // sps_max_latency_increase_plus1
  }
  r.readUeMax(3, 'log2_min_luma_coding_block_size_minus3');
  r.readUeMax(3, 'log2_diff_max_min_luma_coding_block_size');
  r.readUeMax(3, 'log2_min_luma_transform_block_size_minus2');
  r.readUeMax(3, 'log2_diff_max_min_luma_transform_block_size');
  r.readUeMax(4, 'max_transform_hierarchy_depth_inter');
  r.readUeMax(4, 'max_transform_hierarchy_depth_intra');
  if (r.readFlag() && r.readFlag()) skipScalingListData(r); // scaling_list_enabled, sps_scaling_list_data_present
  r.skipBits(2); // amp_enabled_flag, sample_adaptive_offset_enabled_flag
  if (r.readFlag()) {
    // pcm_enabled_flag
    r.skipBits(8); // pcm_sample_bit_depth_luma_minus1, pcm_sample_bit_depth_chroma_minus1
    r.readUeMax(2, 'log2_min_pcm_luma_coding_block_size_minus3');
    r.readUeMax(3, 'log2_diff_max_min_pcm_luma_coding_block_size');
    r.skipBits(1); // pcm_loop_filter_disabled_flag
  }
  const numStRps = r.readUeMax(64, 'num_short_term_ref_pic_sets');
  const numDeltaPocs: number[] = [];
  for (let i = 0; i < numStRps; i++) numDeltaPocs.push(skipStRefPicSet(r, i, numDeltaPocs));
  if (r.readFlag()) {
    // long_term_ref_pics_present_flag
    const n = r.readUeMax(32, 'num_long_term_ref_pics_sps');
    for (let i = 0; i < n; i++) r.skipBits(log2MaxPocLsb + 1);
  }
  r.skipBits(2); // sps_temporal_mvp_enabled_flag, strong_intra_smoothing_enabled_flag

  const sps: H265Sps = {
    vpsId,
    maxSubLayers: maxSubLayersMinus1 + 1,
    temporalIdNesting,
    generalProfileSpace,
    generalTierFlag,
    generalProfileIdc,
    generalProfileCompatibilityFlags,
    generalConstraintIndicatorFlags,
    generalLevelIdc,
    spsId,
    chromaFormatIdc,
    separateColourPlane,
    codedWidth,
    codedHeight,
    width,
    height,
    bitDepthLuma,
    bitDepthChroma,
    log2MaxPocLsb,
    minSpatialSegmentationIdc: 0,
    sarWidth: 1,
    sarHeight: 1,
    timing: null,
    frameRate: null,
  };
  if (r.readFlag()) {
    // A VUI that does not parse keeps what was read so far (frame rate, SAR may stay unknown).
    try {
      readVui(r, sps, maxSubLayersMinus1);
    } catch (err) {
      if (!(err instanceof BitReaderError)) throw err;
    }
  }
  return sps;
}

/** scaling_list_data(), §7.3.4 */
function skipScalingListData(r: BitReader): void {
  for (let sizeId = 0; sizeId < 4; sizeId++) {
    for (let matrixId = 0; matrixId < 6; matrixId += sizeId === 3 ? 3 : 1) {
      if (!r.readFlag()) {
        r.readUeMax(matrixId, 'scaling_list_pred_matrix_id_delta');
      } else {
        const coefNum = Math.min(64, 1 << (4 + (sizeId << 1)));
        if (sizeId > 1) r.readSeRange(-7, 247, 'scaling_list_dc_coef_minus8');
        for (let i = 0; i < coefNum; i++) r.readSeRange(-128, 127, 'scaling_list_delta_coef');
      }
    }
  }
}

/** st_ref_pic_set(idx) as it appears in the SPS, §7.3.7; returns NumDeltaPocs[idx]. */
function skipStRefPicSet(r: BitReader, idx: number, numDeltaPocs: readonly number[]): number {
  if (idx !== 0 && r.readFlag()) {
    // inter_ref_pic_set_prediction_flag: predicted from the previous set (delta_idx_minus1 is
    // only coded in slice headers, so RefRpsIdx = idx - 1 here).
    r.skipBits(1); // delta_rps_sign
    r.readUeMax(2 ** 15 - 1, 'abs_delta_rps_minus1');
    const ref = numDeltaPocs[idx - 1];
    let count = 0;
    for (let j = 0; j <= ref; j++) {
      const usedByCurr = r.readFlag();
      const useDelta = usedByCurr ? true : r.readFlag();
      if (usedByCurr || useDelta) count++;
    }
    if (count > 32) throw new BitReaderError('short-term RPS too large');
    return count;
  }
  const negative = r.readUeMax(16, 'num_negative_pics');
  const positive = r.readUeMax(16, 'num_positive_pics');
  for (let i = 0; i < negative + positive; i++) {
    r.readUeMax(2 ** 15 - 1, 'delta_poc_minus1');
    r.skipBits(1); // used_by_curr_pic_flag
  }
  return negative + positive;
}

/** vui_parameters(), Annex E.2.1 */
function readVui(r: BitReader, sps: H265Sps, maxSubLayersMinus1: number): void {
  readAspectRatioInfo(r, sps);
  if (r.readFlag()) r.skipBits(1); // overscan_appropriate_flag
  if (r.readFlag()) {
    r.skipBits(4); // video_format, video_full_range_flag
    if (r.readFlag()) r.skipBits(24); // colour description
  }
  if (r.readFlag()) {
    r.readUeMax(5, 'chroma_sample_loc_type_top_field');
    r.readUeMax(5, 'chroma_sample_loc_type_bottom_field');
  }
  r.skipBits(3); // neutral_chroma_indication_flag, field_seq_flag, frame_field_info_present_flag
  if (r.readFlag()) {
    for (let i = 0; i < 4; i++) r.readUe(); // default display window offsets
  }
  if (r.readFlag()) {
    const numUnitsInTick = r.readBits(32);
    const timeScale = r.readBits(32);
    sps.timing = { numUnitsInTick, timeScale };
    if (numUnitsInTick > 0 && timeScale > 0) {
      const fps = timeScale / numUnitsInTick;
      if (fps >= 0.1 && fps <= 1000) sps.frameRate = fps;
    }
    if (r.readFlag()) r.readUe(); // num_ticks_poc_diff_one_minus1
    if (r.readFlag()) skipHrdParameters(r, true, maxSubLayersMinus1);
  }
  if (r.readFlag()) {
    // bitstream_restriction_flag
    r.skipBits(3); // tiles_fixed_structure, motion_vectors_over_pic_boundaries, restricted_ref_pic_lists
    sps.minSpatialSegmentationIdc = r.readUeMax(4095, 'min_spatial_segmentation_idc');
  }
}

/** hrd_parameters(), Annex E.2.2 */
function skipHrdParameters(r: BitReader, commonInfPresent: boolean, maxSubLayersMinus1: number): void {
  let nalHrd = false;
  let vclHrd = false;
  let subPicHrd = false;
  if (commonInfPresent) {
    nalHrd = r.readFlag();
    vclHrd = r.readFlag();
    if (nalHrd || vclHrd) {
      subPicHrd = r.readFlag();
      if (subPicHrd) r.skipBits(8 + 5 + 1 + 5); // tick_divisor, du delay length, in-SEI flag, du output delay length
      r.skipBits(4 + 4); // bit_rate_scale, cpb_size_scale
      if (subPicHrd) r.skipBits(4); // cpb_size_du_scale
      r.skipBits(5 + 5 + 5); // initial_cpb_removal_delay_length, au_cpb_removal_delay_length, dpb_output_delay_length
    }
  }
  for (let i = 0; i <= maxSubLayersMinus1; i++) {
    const fixedGeneral = r.readFlag();
    const fixedWithinCvs = fixedGeneral ? true : r.readFlag();
    let lowDelay = false;
    if (fixedWithinCvs) r.readUeMax(2047, 'elemental_duration_in_tc_minus1');
    else lowDelay = r.readFlag();
    const cpbCount = lowDelay ? 1 : r.readUeMax(31, 'cpb_cnt_minus1') + 1;
    const perCpb = subPicHrd ? 4 : 2;
    for (let pass = 0; pass < (nalHrd ? 1 : 0) + (vclHrd ? 1 : 0); pass++) {
      for (let k = 0; k < cpbCount; k++) {
        for (let f = 0; f < perCpb; f++) r.readUe(); // bit_rate_value_minus1, cpb_size_value_minus1, [du variants]
        r.skipBits(1); // cbr_flag
      }
    }
  }
}
