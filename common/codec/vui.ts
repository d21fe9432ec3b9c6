/** Parts of the VUI syntax that H.264 (Annex E.1.1) and H.265 (Annex E.2.1) share. */
import type { BitReader } from './bit-reader.ts';

/** Table E-1 of both standards: sample aspect ratios for aspect_ratio_idc 1..16. */
const SAR_TABLE: readonly (readonly [number, number])[] = [
  [0, 0], [1, 1], [12, 11], [10, 11], [16, 11], [40, 33], [24, 11], [20, 11], [32, 11],
  [80, 33], [18, 11], [15, 11], [64, 33], [160, 99], [4, 3], [3, 2], [2, 1],
];

/**
 * aspect_ratio_info_present_flag and what follows it (the first VUI fields): sets sarWidth and
 * sarHeight when the stream states a known or explicit ratio, leaves them otherwise.
 */
export function readAspectRatioInfo(r: BitReader, out: { sarWidth: number; sarHeight: number }): void {
  if (!r.readFlag()) return;
  const idc = r.readBits(8);
  if (idc === 255) {
    const w = r.readBits(16);
    const h = r.readBits(16);
    if (w > 0 && h > 0) {
      out.sarWidth = w;
      out.sarHeight = h;
    }
  } else if (idc >= 1 && idc < SAR_TABLE.length) {
    [out.sarWidth, out.sarHeight] = SAR_TABLE[idc];
  }
}
