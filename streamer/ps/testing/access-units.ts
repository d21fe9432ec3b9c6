/**
 * Test support: cuts an Annex-B elementary stream (a fixture file) into access units, each the exact
 * byte range of the file from its first start code to the next unit's, so that a demuxer test can
 * compare its output byte for byte with what went in.
 *
 * Written independently of the demuxer's own logic, from the rule of H.264 §7.4.1.2.3 and
 * H.265 §7.4.2.4.4: after a picture's slices, an AUD, parameter set, (prefix) SEI or the first slice
 * of the next picture begins a new access unit.
 */
import type { VideoCodec } from '../../../common/codec/frame.ts';
import { findStartCode, startCodeLength } from '../../../common/codec/annexb.ts';

export interface AccessUnit {
  data: Buffer;
  keyframe: boolean;
}

function nalInfo(codec: VideoCodec, b: Buffer, p: number): { vcl: boolean; auStart: boolean; key: boolean } {
  if (codec === 'h264') {
    const t = b[p] & 0x1f;
    const vcl = t >= 1 && t <= 5;
    const firstSlice = vcl && (b[p + 1] & 0x80) !== 0;
    return { vcl, auStart: firstSlice || (t >= 6 && t <= 9) || (t >= 14 && t <= 18), key: t === 5 };
  }
  const t = (b[p] >> 1) & 0x3f;
  const vcl = t < 32;
  const firstSlice = vcl && (b[p + 2] & 0x80) !== 0;
  return {
    vcl,
    auStart: firstSlice || (t >= 32 && t <= 35) || t === 39 || (t >= 41 && t <= 44) || (t >= 48 && t <= 55),
    key: t >= 16 && t <= 21,
  };
}

export function splitAccessUnits(es: Buffer, codec: VideoCodec): AccessUnit[] {
  const units: AccessUnit[] = [];
  let auStart = -1;
  let hasVcl = false;
  let key = false;
  let sc = findStartCode(es, 0);
  while (sc >= 0) {
    const nal = sc + startCodeLength(es, sc);
    const info = nalInfo(codec, es, nal);
    if (auStart < 0) {
      auStart = sc;
    } else if (hasVcl && info.auStart) {
      units.push({ data: es.subarray(auStart, sc), keyframe: key });
      auStart = sc;
      hasVcl = false;
      key = false;
    }
    if (info.vcl) hasVcl = true;
    if (info.key) key = true;
    sc = findStartCode(es, nal);
  }
  if (auStart >= 0) units.push({ data: es.subarray(auStart), keyframe: key });
  return units;
}
