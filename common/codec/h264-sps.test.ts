import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseH264Sps } from './h264-sps.ts';
import { splitNals } from './annexb.ts';
import { fixturePath } from '../../test/support/fixtures.ts';

const hex = (s: string) => Buffer.from(s, 'hex');

function firstSps(fixture: string): Buffer {
  const sps = splitNals(readFileSync(fixturePath(fixture))).find((n) => (n[0] & 0x1f) === 7);
  assert.ok(sps, `no SPS in ${fixture}`);
  return sps;
}

// Values as ffprobe 5.1 reports them for each stream.
test('fixtures: profile, level, size and frame rate match ffprobe', () => {
  const cases = [
    { f: 'avatar.h264', profile: 100, level: 32, w: 768, h: 320, fps: 25 },
    { f: 'bbb-480x272.h264', profile: 100, level: 21, w: 480, h: 272, fps: 25 },
    { f: 'stress-tmp.h264', profile: 100, level: 30, w: 852, h: 480, fps: 25 },
  ];
  for (const c of cases) {
    const sps = parseH264Sps(firstSps(c.f));
    assert.ok(sps, c.f);
    assert.equal(sps.profileIdc, c.profile, c.f);
    assert.equal(sps.levelIdc, c.level, c.f);
    assert.equal(sps.width, c.w, c.f);
    assert.equal(sps.height, c.h, c.f);
    assert.equal(sps.frameRate, c.fps, c.f);
    assert.equal(sps.chromaFormatIdc, 1);
    assert.equal(sps.bitDepthLuma, 8);
  }
  // 852 wide is 54 macroblocks cropped by 12 luma samples (6 chroma units); SAR from the VUI.
  const stress = parseH264Sps(firstSps('stress-tmp.h264'));
  assert.equal(stress?.codedWidth, 864);
  assert.deepEqual([stress?.sarWidth, stress?.sarHeight], [640, 639]);
  const avatar = parseH264Sps(firstSps('avatar.h264'));
  assert.deepEqual(avatar?.timing, { numUnitsInTick: 1, timeScale: 50, fixedFrameRate: false });
  assert.equal(avatar?.picOrderCntType, 0);
  assert.equal(avatar?.log2MaxPocLsb, 6);
  assert.equal(parseH264Sps(firstSps('bbb-480x272.h264'))?.picOrderCntType, 2);
});

// Made with libx264 (ffmpeg 5.1) at test-writing time; expectations are ffprobe's.
test('x264 variants: scaling matrices, 4:2:2 10-bit interlaced, baseline', () => {
  const cqm = parseH264Sps(hex('67640028acd940780227e5c04400000fa40003a9803c60c658'));
  assert.ok(cqm);
  assert.equal(cqm.codedHeight, 1088);
  assert.deepEqual([cqm.width, cqm.height], [1920, 1080]);
  assert.equal(cqm.frameRate, 60000 / 2002);

  const hi422 = parseH264Sps(hex('677a0028b6cd94078044fcb808800001f4800075300f8b16cb'));
  assert.ok(hi422);
  assert.equal(hi422.profileIdc, 122);
  assert.equal(hi422.chromaFormatIdc, 2);
  assert.equal(hi422.bitDepthLuma, 10);
  assert.equal(hi422.bitDepthChroma, 10);
  assert.equal(hi422.frameMbsOnly, false);
  assert.deepEqual([hi422.width, hi422.height], [1920, 1080]); // 68 field MB pairs, crop in units of 4 lines

  const base = parseH264Sps(hex('6742c00cd9016096c044000003000400000300783c50a920'));
  assert.ok(base);
  assert.equal(base.profileIdc, 66);
  assert.equal(base.constraintFlags, 0xc0);
  assert.deepEqual([base.width, base.height, base.frameRate], [352, 288, 15]);
});

test('truncation at every length gives null or a result, never a throw', () => {
  for (const sps of [firstSps('avatar.h264'), firstSps('stress-tmp.h264'), hex('677a0028b6cd94078044fcb808800001f4800075300f8b16cb')]) {
    for (let n = 0; n <= sps.length; n++) {
      const r = parseH264Sps(sps.subarray(0, n));
      if (r) assert.ok(r.width > 0 && r.height > 0);
    }
    // Cut inside the SPS body proper (before the VUI): no result.
    assert.equal(parseH264Sps(sps.subarray(0, 5)), null);
  }
});

test('hostile input: wrong NAL type, zeros, random and bit-flipped SPS never throw', () => {
  assert.equal(parseH264Sps(Buffer.from([0x68, 0x64, 0, 0x20, 0xff])), null); // a PPS header
  assert.equal(parseH264Sps(Buffer.alloc(64, 0).fill(0x67, 0, 1)), null); // ue with > 31 leading zeros
  assert.equal(parseH264Sps(Buffer.from([0x67])), null);
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
  const real = firstSps('stress-tmp.h264');
  for (let i = 0; i < 5000; i++) {
    const b = Buffer.from(real);
    if (i % 2) {
      for (let k = 1; k < b.length; k++) b[k] = rand();
    } else {
      const bit = 8 + (rand() * 256 + rand()) % ((b.length - 1) * 8);
      b[bit >> 3] ^= 0x80 >> (bit & 7);
    }
    const r = parseH264Sps(b);
    if (r) {
      assert.ok(r.width > 0 && r.width <= 16384 && r.height > 0 && r.height <= 32768);
      assert.ok(r.frameRate === null || (r.frameRate > 0 && r.frameRate <= 1000));
    }
  }
});

/** Minimal RBSP writer for hand-built parameter sets. */
function bits(): { u(n: number, v: number): void; ue(v: number): void; bytes(header: number): Buffer } {
  const out: number[] = [];
  const w = {
    u(n: number, v: number) {
      for (let i = n - 1; i >= 0; i--) out.push(Math.floor(v / 2 ** i) % 2);
    },
    ue(v: number) {
      const len = Math.floor(Math.log2(v + 1));
      w.u(len, 0);
      w.u(len + 1, v + 1);
    },
    bytes(header: number) {
      out.push(1); // rbsp_stop_one_bit
      while (out.length % 8) out.push(0);
      const b = Buffer.alloc(1 + out.length / 8);
      b[0] = header;
      out.forEach((bit, i) => (b[1 + (i >> 3)] |= bit << (7 - (i & 7))));
      return b;
    },
  };
  return w;
}

function baselineSps(widthMbsMinus1: number, crop?: [number, number, number, number], pocType = 2): Buffer {
  const w = bits();
  w.u(8, 66);
  w.u(8, 0);
  w.u(8, 30);
  w.ue(0); // sps id
  w.ue(0); // log2_max_frame_num_minus4
  w.ue(pocType);
  if (pocType === 1) {
    w.u(1, 0);
    w.ue(1); // offset_for_non_ref_pic = -1 (se)
    w.ue(2); // offset_for_top_to_bottom_field = 1
    w.ue(3); // cycle of 3
    w.ue(1);
    w.ue(2);
    w.ue(3);
  }
  w.ue(1); // max_num_ref_frames
  w.u(1, 0);
  w.ue(widthMbsMinus1);
  w.ue(8); // 9 map units → 144 lines
  w.u(1, 1); // frame_mbs_only
  w.u(1, 1); // direct_8x8_inference
  w.u(1, crop ? 1 : 0);
  if (crop) crop.forEach((c) => w.ue(c));
  w.u(1, 0); // no VUI
  return w.bytes(0x67);
}

test('hand-built SPS: POC type 1 cycle, cropping, no VUI; oversize and over-cropped are rejected', () => {
  const plain = parseH264Sps(baselineSps(10));
  assert.deepEqual([plain?.width, plain?.height, plain?.frameRate, plain?.timing], [176, 144, null, null]);
  const cropped = parseH264Sps(baselineSps(10, [1, 2, 3, 4]));
  assert.deepEqual([cropped?.width, cropped?.height], [176 - 6, 144 - 14]);
  const poc1 = parseH264Sps(baselineSps(10, undefined, 1));
  assert.deepEqual([poc1?.picOrderCntType, poc1?.width, poc1?.height], [1, 176, 144]);
  assert.equal(parseH264Sps(baselineSps(1023))?.width, 16384);
  assert.equal(parseH264Sps(baselineSps(1024)), null);
  assert.equal(parseH264Sps(baselineSps(10, [44, 44, 0, 0])), null);
});
