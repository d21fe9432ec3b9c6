import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseH265Pps, parseH265Sps, parseH265Vps } from './h265-params.ts';
import { splitNals } from './annexb.ts';
import { fixturePath } from '../../test/support/fixtures.ts';

const hex = (s: string) => Buffer.from(s, 'hex');

function paramSet(type: number): Buffer {
  const n = splitNals(readFileSync(fixturePath('avatar.h265'))).find((x) => ((x[0] >> 1) & 0x3f) === type);
  assert.ok(n);
  return n;
}

test('avatar.h265: Main, level 2.1 (63), 768x320, 25 fps as ffprobe reports', () => {
  const sps = parseH265Sps(paramSet(33));
  assert.ok(sps);
  assert.equal(sps.generalProfileSpace, 0);
  assert.equal(sps.generalTierFlag, 0);
  assert.equal(sps.generalProfileIdc, 1);
  assert.equal(sps.generalProfileCompatibilityFlags, 0x60000000); // Main and Main 10 compatible
  assert.equal(sps.generalConstraintIndicatorFlags, 0x900000000000); // progressive, frame-only
  assert.equal(sps.generalLevelIdc, 63);
  assert.deepEqual([sps.width, sps.height, sps.frameRate], [768, 320, 25]);
  assert.deepEqual([sps.chromaFormatIdc, sps.bitDepthLuma, sps.bitDepthChroma], [1, 8, 8]);
  assert.deepEqual([sps.maxSubLayers, sps.temporalIdNesting, sps.minSpatialSegmentationIdc], [1, true, 0]);
  assert.deepEqual(parseH265Vps(paramSet(32)), { vpsId: 0, maxSubLayers: 1, temporalIdNesting: true });
  const pps = parseH265Pps(paramSet(34));
  assert.equal(pps?.entropyCodingSyncEnabled, true);
  assert.equal(pps?.tilesEnabled, false);
});

// Made with libx265 (ffmpeg 5.1) at test-writing time; expectations are ffprobe's.
test('x265 variants: Main 10 with HRD, 4:4:4 with two temporal layers, conformance window', () => {
  const main10 = parseH265Sps(
    hex('420101022000000300900000030000030078a003c08010e4d96566924caf01680800001f480003a98300a4b370000989680004c4b440'),
  );
  assert.ok(main10);
  assert.deepEqual([main10.generalProfileIdc, main10.bitDepthLuma, main10.bitDepthChroma], [2, 10, 10]);
  assert.deepEqual([main10.width, main10.height, main10.generalLevelIdc], [1920, 1080, 120]);
  assert.equal(main10.frameRate, 30000 / 1001);

  const rext = parseH265Sps(hex('4201020408000003009e0800000300007800009000501005a2cb2b3159a4932bc05a020000030002000003006410'));
  assert.ok(rext);
  assert.deepEqual([rext.generalProfileIdc, rext.chromaFormatIdc, rext.maxSubLayers, rext.temporalIdNesting], [4, 3, 2, false]);
  assert.deepEqual([rext.width, rext.height, rext.frameRate], [1280, 720, 50]);
  assert.deepEqual(parseH265Vps(hex('40010c02ffff0408000003009e0800000300007800009598acc048')), {
    vpsId: 0,
    maxSubLayers: 2,
    temporalIdNesting: false,
  });

  const cropped = parseH265Sps(hex('42010101600000030090000003000003005aa006b201e1df96566924e5780b4040000003004000000642'));
  assert.deepEqual([cropped?.codedWidth, cropped?.width, cropped?.height], [856, 852, 480]);
});

/** Minimal RBSP writer for hand-built parameter sets. */
class Bits {
  readonly out: number[] = [];
  u(n: number, v: number): this {
    for (let i = n - 1; i >= 0; i--) this.out.push(Math.floor(v / 2 ** i) % 2);
    return this;
  }
  ue(v: number): this {
    const len = Math.floor(Math.log2(v + 1));
    return this.u(len, 0).u(len + 1, v + 1);
  }
  se(v: number): this {
    return this.ue(v > 0 ? 2 * v - 1 : -2 * v);
  }
  nal(type: number): Buffer {
    const bits = [...this.out, 1];
    while (bits.length % 8) bits.push(0);
    const b = Buffer.alloc(2 + bits.length / 8);
    b[0] = type << 1;
    b[1] = 1;
    bits.forEach((bit, i) => (b[2 + (i >> 3)] |= bit << (7 - (i & 7))));
    return b;
  }
}

/**
 * An SPS using the syntax that must be walked to reach the VUI: sub-layer profile/level, explicit
 * scaling lists, PCM, short-term RPS with inter prediction, long-term pictures, and a VUI with SAR,
 * colour description, default display window, timing, NAL+VCL HRD with sub-picture parameters, and
 * bitstream restriction.
 */
function richSps(opts: { minSpatial: number; cut?: number }): Buffer {
  const w = new Bits();
  w.u(4, 0).u(3, 2).u(1, 0); // vps id, max_sub_layers_minus1 = 2, nesting 0
  w.u(2, 0).u(1, 1).u(5, 1).u(32, 0x40000000).u(16, 0x8000).u(32, 0).u(8, 150); // general PTL, high tier
  w.u(1, 1).u(1, 1).u(1, 0).u(1, 1); // sub-layer 0: profile+level, sub-layer 1: level only
  w.u(2 * 6, 0); // reserved_zero_2bits for i = 2..7
  w.u(88, 0).u(8, 120).u(8, 90); // sub-layer 0 profile (88 bits) + level, sub-layer 1 level
  w.ue(3); // sps id
  w.ue(1); // 4:2:0
  w.ue(1920).ue(1088);
  w.u(1, 1).ue(0).ue(0).ue(0).ue(4); // conformance window: bottom 4 chroma lines = 8 luma
  w.ue(0).ue(0); // 8-bit
  w.ue(4); // log2_max_poc_lsb = 8
  w.u(1, 1); // ordering info for all sub-layers
  for (let i = 0; i < 3; i++) w.ue(4).ue(2).ue(0);
  w.ue(0).ue(3).ue(0).ue(3).ue(1).ue(1); // block sizes, hierarchy depths
  w.u(1, 1).u(1, 1); // scaling_list_enabled, data present
  for (let sizeId = 0; sizeId < 4; sizeId++) {
    for (let matrixId = 0; matrixId < 6; matrixId += sizeId === 3 ? 3 : 1) {
      if ((sizeId + matrixId) % 2 === 0 || matrixId === 0) {
        w.u(1, 1); // explicit list
        if (sizeId > 1) w.se(8);
        for (let i = 0; i < Math.min(64, 1 << (4 + (sizeId << 1))); i++) w.se(i % 3 - 1);
      } else {
        w.u(1, 0).ue(1); // predicted from the previous matrix
      }
    }
  }
  w.u(1, 0).u(1, 1); // amp, sao
  w.u(1, 1).u(4, 7).u(4, 7).ue(0).ue(1).u(1, 0); // pcm
  w.ue(3); // short-term RPS
  w.ue(2).ue(1).ue(0).u(1, 1).ue(1).u(1, 1).ue(0).u(1, 1); // set 0: 2 negative, 1 positive
  w.u(1, 1).u(1, 0).ue(0); // set 1: predicted from set 0
  w.u(1, 1).u(1, 1).u(1, 0).u(1, 0).u(1, 1); //   j=0,1 used; j=2 not used, use_delta 0; j=3 used → 3 pocs
  w.u(1, 1).u(1, 1).ue(1); // set 2: predicted from set 1 (3 pocs → 4 flags)
  w.u(1, 1).u(1, 0).u(1, 1).u(1, 1).u(1, 0).u(1, 1); //   j=0 used, j=1 delta only, j=2 used, j=3 delta only
  w.u(1, 1).ue(2).u(8, 5).u(1, 1).u(8, 9).u(1, 0); // two long-term pictures
  w.u(1, 1).u(1, 1); // temporal mvp, strong intra smoothing
  w.u(1, 1); // VUI
  w.u(1, 1).u(8, 255).u(16, 4).u(16, 3); // SAR 4:3
  w.u(1, 1).u(1, 0); // overscan
  w.u(1, 1).u(3, 5).u(1, 0).u(1, 1).u(8, 1).u(8, 1).u(8, 1); // video signal type + colour
  w.u(1, 1).ue(0).ue(0); // chroma loc
  w.u(1, 0).u(1, 0).u(1, 0);
  w.u(1, 1).ue(0).ue(0).ue(0).ue(0); // default display window
  w.u(1, 1).u(32, 1001).u(32, 60000).u(1, 1).ue(0); // timing, poc proportional
  w.u(1, 1); // HRD
  w.u(1, 1).u(1, 1).u(1, 1).u(8, 90).u(5, 20).u(1, 0).u(5, 20).u(4, 0).u(4, 0).u(4, 0).u(5, 23).u(5, 23).u(5, 23);
  for (let i = 0; i < 3; i++) {
    w.u(1, i === 0 ? 1 : 0); // fixed_pic_rate_general
    if (i !== 0) w.u(1, i === 1 ? 1 : 0); // fixed_pic_rate_within_cvs
    if (i <= 1) w.ue(0);
    else w.u(1, 0); // low_delay 0
    w.ue(1); // 2 CPBs
    for (let pass = 0; pass < 2; pass++) for (let k = 0; k < 2; k++) w.ue(1000).ue(2000).ue(30).ue(40).u(1, k);
  }
  w.u(1, 1).u(1, 0).u(1, 1).u(1, 1).ue(opts.minSpatial).ue(2).ue(1).ue(15).ue(15); // bitstream restriction
  w.u(1, 0); // sps_extension_present_flag
  const nal = w.nal(33);
  return opts.cut ? nal.subarray(0, opts.cut) : nal;
}

test('hand-built SPS: every optional structure before and inside the VUI is walked correctly', () => {
  const sps = parseH265Sps(richSps({ minSpatial: 200 }));
  assert.ok(sps);
  assert.deepEqual([sps.maxSubLayers, sps.generalTierFlag, sps.generalLevelIdc, sps.spsId], [3, 1, 150, 3]);
  assert.equal(sps.generalConstraintIndicatorFlags, 0x800000000000);
  assert.deepEqual([sps.width, sps.height, sps.codedHeight], [1920, 1080, 1088]);
  assert.deepEqual([sps.sarWidth, sps.sarHeight], [4, 3]);
  assert.equal(sps.frameRate, 60000 / 1001);
  assert.equal(sps.minSpatialSegmentationIdc, 200); // only right if the HRD was skipped bit-exactly
});

test('a VUI cut short keeps the picture fields; a cut before the VUI gives null; never throws', () => {
  const full = richSps({ minSpatial: 7 });
  let sawPartial = false;
  for (let n = 0; n <= full.length; n++) {
    const r = parseH265Sps(full.subarray(0, n));
    if (r && n < full.length) {
      sawPartial = true;
      assert.deepEqual([r.width, r.height], [1920, 1080]);
    }
  }
  assert.ok(sawPartial);
  assert.equal(parseH265Sps(full.subarray(0, 20)), null);
});

test('hostile input: wrong types, zeros, random and bit-flipped parameter sets never throw', () => {
  assert.equal(parseH265Sps(paramSet(32)), null);
  assert.equal(parseH265Vps(paramSet(33)), null);
  assert.equal(parseH265Pps(Buffer.from([0x44, 0x01])), null);
  assert.equal(parseH265Sps(Buffer.alloc(80).fill(0x42, 0, 1)), null);
  let seed = 99;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
  const real = [paramSet(32), paramSet(33), paramSet(34), richSps({ minSpatial: 1 })];
  for (let i = 0; i < 6000; i++) {
    const b = Buffer.from(real[i % real.length]);
    if (i % 3 === 0) {
      for (let k = 2; k < b.length; k++) b[k] = rand();
    } else {
      const bit = 16 + ((rand() << 8) | rand()) % ((b.length - 2) * 8);
      b[bit >> 3] ^= 0x80 >> (bit & 7);
    }
    const sps = parseH265Sps(b);
    if (sps) assert.ok(sps.width > 0 && sps.height > 0 && sps.width <= 16888);
    parseH265Vps(b);
    parseH265Pps(b);
  }
});
