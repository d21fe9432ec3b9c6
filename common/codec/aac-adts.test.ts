import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { audioSpecificConfig, newAdtsHeader, parseAdtsHeader, readAdtsHeader } from './aac-adts.ts';
import { fixturePath } from '../../test/support/fixtures.ts';

/** An ADTS header built field by field. */
function adts(o: { profile?: number; sfi?: number; ch?: number; len?: number; crc?: boolean; blocks?: number; mpeg2?: boolean }): Buffer {
  const b = Buffer.alloc(o.crc ? 9 : 7);
  const len = o.len ?? 100;
  b[0] = 0xff;
  b[1] = 0xf0 | (o.mpeg2 ? 0x08 : 0) | (o.crc ? 0 : 1);
  b[2] = ((o.profile ?? 1) << 6) | ((o.sfi ?? 4) << 2) | ((o.ch ?? 2) >> 2);
  b[3] = (((o.ch ?? 2) & 3) << 6) | ((len >> 11) & 3);
  b[4] = (len >> 3) & 0xff;
  b[5] = ((len & 7) << 5) | 0x1f;
  b[6] = 0xfc | ((o.blocks ?? 1) - 1);
  return b;
}

test('avatar.aac: AAC LC 44.1 kHz stereo; every frame header parses and the frames tile the file', () => {
  const buf = readFileSync(fixturePath('avatar.aac'));
  const h = newAdtsHeader();
  let o = 0;
  let frames = 0;
  while (o < buf.length) {
    assert.ok(readAdtsHeader(buf, o, h), `header at ${o}`);
    assert.deepEqual([h.audioObjectType, h.sampleRate, h.channelConfig, h.headerLength, h.rawBlocks], [2, 44100, 2, 7, 1]);
    o += h.frameLength;
    frames++;
  }
  assert.equal(o, buf.length);
  assert.equal(frames, 1102); // ffprobe -count_frames
  assert.deepEqual([...audioSpecificConfig(h)], [0x12, 0x10]);
});

test('header fields: CRC, MPEG-2 id, 13-bit frame length, raw blocks, channel config 7', () => {
  const h = parseAdtsHeader(adts({ profile: 0, sfi: 11, ch: 7, len: 8191, crc: true, blocks: 3, mpeg2: true }));
  assert.deepEqual(h, {
    mpegVersion: 2,
    audioObjectType: 1,
    samplingFrequencyIndex: 11,
    sampleRate: 8000,
    channelConfig: 7,
    headerLength: 9,
    frameLength: 8191,
    rawBlocks: 3,
  });
  // AAC LC 8 kHz mono: 00010 1011 0001 000
  assert.deepEqual([...audioSpecificConfig({ audioObjectType: 2, samplingFrequencyIndex: 11, channelConfig: 1 })], [0x15, 0x88]);
  // AAC LC 48 kHz stereo: 00010 0011 0010 000
  assert.deepEqual([...audioSpecificConfig({ audioObjectType: 2, samplingFrequencyIndex: 3, channelConfig: 2 })], [0x11, 0x90]);
});

test('invalid headers are rejected', () => {
  assert.equal(parseAdtsHeader(adts({ sfi: 13 })), null); // reserved frequency index
  assert.equal(parseAdtsHeader(adts({ len: 6 })), null); // shorter than its header
  assert.equal(parseAdtsHeader(adts({ crc: true, len: 8 })), null);
  const layer = adts({});
  layer[1] |= 0x02;
  assert.equal(parseAdtsHeader(layer), null);
  assert.equal(parseAdtsHeader(Buffer.from([0xff, 0xf1, 0x50])), null); // truncated
  assert.equal(parseAdtsHeader(Buffer.from([0xfe, 0xf1, 0x50, 0x80, 0x10, 0x1f, 0xfc])), null);
  const h = newAdtsHeader();
  assert.equal(readAdtsHeader(adts({}), 1, h), false);
  assert.equal(readAdtsHeader(adts({}), -1, h), false);
  assert.equal(readAdtsHeader(adts({}), 0, h, 6), false);
});
