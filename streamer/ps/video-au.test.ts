import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FinishResult, VideoAccessUnit, isH264SpsHeader, isH265ParameterSetHeader, startsAccessUnit } from './video-au.ts';

const h264Idr = Buffer.from([0, 0, 0, 1, 0x67, 0x4d, 0, 0x1e, 0, 0, 0, 1, 0x68, 0xee, 0x3c, 0x80, 0, 0, 1, 0x65, 0x88, 0x84, 0x21]);
const h264P = Buffer.from([0, 0, 0, 1, 0x41, 0x9a, 0x22, 0x33]);
const h265Idr = Buffer.from([0, 0, 0, 1, 0x40, 0x01, 0x0c, 0, 0, 0, 1, 0x42, 0x01, 0x01, 0, 0, 1, 0x44, 0x01, 0xc1, 0, 0, 1, 0x26, 0x01, 0xaf, 0x11]);

test('codec evidence from NAL headers', () => {
  assert.ok(isH264SpsHeader(0x67, 0x4d));
  assert.ok(isH264SpsHeader(0x27, 100));
  assert.ok(!isH264SpsHeader(0x67, 0x01), 'unknown profile');
  assert.ok(!isH264SpsHeader(0x40, 0x01));
  assert.ok(isH265ParameterSetHeader(0x40, 0x01));
  assert.ok(isH265ParameterSetHeader(0x42, 0x01));
  assert.ok(!isH265ParameterSetHeader(0x67, 0x4d));
});

test('NAL units that start an access unit', () => {
  assert.ok(startsAccessUnit('h264', 0x09, 0xf0, 0));
  assert.ok(startsAccessUnit('h264', 0x67, 0x4d, 0));
  assert.ok(startsAccessUnit('h264', 0x06, 0x05, 0));
  assert.ok(startsAccessUnit('h264', 0x65, 0x88, 0), 'first_mb_in_slice 0');
  assert.ok(!startsAccessUnit('h264', 0x41, 0x22, 0), 'a later slice of the same picture');
  assert.ok(startsAccessUnit('h265', 0x40, 0x01, 0x0c));
  assert.ok(startsAccessUnit('h265', 0x4e, 0x01, 0x05), 'prefix SEI');
  assert.ok(!startsAccessUnit('h265', 0x50, 0x01, 0x05), 'suffix SEI');
  assert.ok(startsAccessUnit('h265', 0x02, 0x01, 0xd0), 'first slice segment');
  assert.ok(!startsAccessUnit('h265', 0x02, 0x01, 0x50), 'dependent slice segment');
});

function feed(au: VideoAccessUnit, data: Buffer, step: number): void {
  for (let p = 0; p < data.length; p += step) au.append(data, p, Math.min(p + step, data.length));
}

test('keyframe and codec found whatever the pieces, even with the PSM declaring the wrong codec', () => {
  for (const [data, codec, key] of [
    [h264Idr, 'h264', true],
    [h265Idr, 'h265', true],
  ] as const) {
    for (let step = 1; step <= data.length; step++) {
      const au = new VideoAccessUnit(1 << 20);
      au.declared = codec === 'h264' ? 'h265' : 'h264';
      au.begin(0, 0, false);
      feed(au, data, step);
      assert.equal(au.hasPicture, true, `step ${step}`);
      assert.equal(au.finish(false), FinishResult.Emit, `step ${step}`);
      assert.equal(au.codec, codec);
      assert.equal(au.keyframe, key);
      assert.ok(au.data.equals(data));
    }
  }
});

test('waiting for a keyframe drops other frames; a picture-less unit can be carried', () => {
  const au = new VideoAccessUnit(1 << 20);
  au.declared = 'h264';
  au.begin(0, 0, false);
  au.append(h264P, 0, h264P.length);
  assert.equal(au.finish(true), FinishResult.Drop);
  const params = h264Idr.subarray(0, 16);
  const idr = h264Idr.subarray(16);
  au.begin(3600, 3600, false);
  au.append(params, 0, params.length);
  assert.equal(au.finish(true), FinishResult.Carry);
  au.begin(7200, 7200, true);
  au.append(idr, 0, idr.length);
  assert.equal(au.finish(true), FinishResult.Emit);
  assert.ok(au.data.equals(h264Idr));
  assert.equal(au.pts, 7200);
  const input = Buffer.from(h264P);
  au.begin(10800, 10800, false);
  au.append(input, 0, input.length);
  assert.equal(au.finish(true), FinishResult.Emit);
  assert.equal(au.keyframe, false);
  input.fill(0);
  assert.ok(au.data.equals(h264P), 'a copy, not a view of the input');
});

test('a unit larger than the cap is dropped and its pieces let go at once', () => {
  const au = new VideoAccessUnit(20);
  au.declared = 'h264';
  au.needKeyframe = false;
  au.begin(0, 0, false);
  au.append(h264Idr, 0, 10);
  au.append(h264Idr, 10, 23);
  assert.equal(au.oversized, true);
  au.append(h264Idr, 0, 23);
  assert.equal(au.finish(false), FinishResult.Drop);
  assert.equal(au.needKeyframe, true);
});

test('payloadStartsAu looks at the first NAL of a PES payload', () => {
  const au = new VideoAccessUnit(1 << 20);
  assert.ok(au.payloadStartsAu(h264Idr, 0, 7), 'SPS (codec told by the header itself)');
  assert.ok(au.payloadStartsAu(h265Idr, 0, 7), 'VPS');
  au.declared = 'h264';
  assert.ok(au.payloadStartsAu(h264Idr, 1, 7), '3-byte start code');
  assert.ok(!au.payloadStartsAu(h264Idr, 2, 7), 'not at a start code');
  assert.ok(!au.payloadStartsAu(Buffer.from([0, 0, 1, 0x41, 0x22]), 0, 5));
  assert.ok(au.payloadStartsAu(Buffer.from([0, 0, 1, 0x41, 0xa2]), 0, 5));
});
