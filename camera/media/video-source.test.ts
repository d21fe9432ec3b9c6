import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fixturePath } from '../../test/support/fixtures.ts';
import { detectVideoCodec, parseAnnexB, readUe } from './video-source.ts';

const fixture = (name: string): Buffer => readFileSync(fixturePath(name));

// Frame and keyframe counts as ffprobe reports them (-count_frames, frame=key_frame) for the raw files.
const FILES = [
  { name: 'avatar.h264', codec: 'h264', frames: 308, keyframes: 13, reordered: false },
  { name: 'avatar.h265', codec: 'h265', frames: 308, keyframes: 8, reordered: true },
  { name: 'bbb-480x272.h264', codec: 'h264', frames: 250, keyframes: 1, reordered: false },
  { name: 'stress-tmp.h264', codec: 'h264', frames: 1112, keyframes: 9, reordered: true },
] as const;

for (const f of FILES) {
  test(`${f.name}: access units, keyframes and NAL ranges`, () => {
    const buf = fixture(f.name);
    assert.equal(detectVideoCodec(buf), f.codec);
    const src = parseAnnexB(buf);
    assert.equal(src.codec, f.codec);
    assert.equal(src.units.length, f.frames);
    assert.equal(src.units.filter((u) => u.keyframe).length, f.keyframes);
    assert.equal(src.units[0].keyframe, true);
    let total = 0;
    for (const u of src.units) {
      total += u.data.length;
      // Every unit starts with a start code and its NAL ranges tile it in order.
      assert.ok(u.data[0] === 0 && u.data[1] === 0 && (u.data[2] === 1 || (u.data[2] === 0 && u.data[3] === 1)));
      assert.ok(u.nalRanges.length >= 2 && u.nalRanges.length % 2 === 0);
      let prev = 0;
      for (let i = 0; i < u.nalRanges.length; i += 2) {
        assert.ok(u.nalRanges[i] > prev && u.nalRanges[i + 1] > u.nalRanges[i] && u.nalRanges[i + 1] <= u.data.length);
        prev = u.nalRanges[i + 1];
      }
      assert.equal(prev, u.data.length);
    }
    assert.equal(total, src.totalBytes);
    // Units are views into the file: nothing copied.
    assert.equal(src.units[1].data.buffer, buf.buffer);

    if (f.reordered) {
      const d = src.displayIndex as Int32Array;
      assert.ok(d, 'B-frames: presentation order differs from decode order');
      assert.deepEqual([...d].sort((a, b) => a - b), [...Array(f.frames).keys()], 'a permutation');
      assert.ok(src.reorderDelay > 0);
      for (let i = 0; i < d.length; i++) assert.ok(d[i] + src.reorderDelay >= i, 'PTS ≥ DTS');
      for (let i = 0; i < d.length; i++) if (src.units[i].keyframe) assert.equal(d[i], i, 'a keyframe opens its group');
    } else {
      assert.equal(src.displayIndex, undefined);
      assert.equal(src.reorderDelay, 0);
    }
  });
}

const sc = [0, 0, 0, 1];
function annexB(...nals: number[][]): Buffer {
  return Buffer.from(nals.flatMap((n) => [...sc, ...n]));
}

test('H.264: AUD, parameter sets and SEI start the next unit; slices with first_mb_in_slice > 0 do not', () => {
  // first_mb_in_slice is ue(v): a leading 1 bit is 0, '010' is 1.
  const sps = [0x67, 0x42, 0x00, 0x1e, 0xf4]; // contents irrelevant here (POC reading gives up)
  const pps = [0x68, 0xce, 0x38, 0x80];
  const idrFirst = [0x65, 0x88, 0x84];
  const idrSecond = [0x65, 0x40, 0x84]; // first_mb_in_slice = 1
  const sei = [0x06, 0x05, 0x01, 0x80];
  const pFirst = [0x41, 0x9a, 0x02];
  const pSecond = [0x41, 0x50, 0x02];
  const aud = [0x09, 0xf0];
  const buf = annexB(sps, pps, idrFirst, idrSecond, sei, pFirst, pSecond, pFirst, aud, pFirst);
  const src = parseAnnexB(buf, 'h264');
  assert.deepEqual(
    src.units.map((u) => u.nalRanges.length / 2),
    [4, 3, 1, 2],
    '[SPS PPS IDR IDR] [SEI P P] [P] [AUD P]',
  );
  assert.deepEqual(src.units.map((u) => u.keyframe), [true, false, false, false]);
  assert.equal(src.units[1].data[4], 0x06, 'the SEI leads the second unit');
});

test('H.265: first_slice_segment_in_pic_flag splits pictures; VPS/SPS/PPS/SEI go with the next', () => {
  const vps = [0x40, 0x01, 0x0c];
  const spsN = [0x42, 0x01, 0x01];
  const ppsN = [0x44, 0x01, 0xc1];
  const prefixSei = [0x4e, 0x01, 0x05];
  const idr = (first: boolean): number[] => [0x26, 0x01, first ? 0xaf : 0x2f];
  const trail = (first: boolean): number[] => [0x02, 0x01, first ? 0xd0 : 0x50];
  const suffixSei = [0x50, 0x01, 0x05];
  const buf = annexB(vps, spsN, ppsN, prefixSei, idr(true), idr(false), suffixSei, trail(true), trail(false), prefixSei, trail(true));
  const src = parseAnnexB(buf, 'h265');
  assert.deepEqual(src.units.map((u) => u.nalRanges.length / 2), [7, 2, 2]);
  assert.deepEqual(src.units.map((u) => u.keyframe), [true, false, false]);
  assert.equal(detectVideoCodec(buf), 'h265');
});

test('detectVideoCodec refuses bytes that are not Annex-B video', () => {
  assert.throws(() => detectVideoCodec(Buffer.from('hello world, not video')));
});

test('readUe reads exp-Golomb codes', () => {
  // 1 → 0, 010 → 1, 011 → 2, 00100 → 3, 0001000 → 7
  assert.equal(readUe(Buffer.from([0b10000000]), 0), 0);
  assert.equal(readUe(Buffer.from([0b01000000]), 0), 1);
  assert.equal(readUe(Buffer.from([0b01100000]), 0), 2);
  assert.equal(readUe(Buffer.from([0b00100000]), 0), 3);
  assert.equal(readUe(Buffer.from([0b00010000, 0]), 0), 7);
  assert.equal(readUe(Buffer.from([0xff, 0b00000001, 0b11111111]), 1), 254);
  assert.equal(readUe(Buffer.from([0, 0]), 0), -1, 'runs past the end');
});
