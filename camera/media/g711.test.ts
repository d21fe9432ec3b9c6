import { test } from 'node:test';
import assert from 'node:assert/strict';
import { g711Tone, linearToAlaw, linearToUlaw } from './g711.ts';
import { g711ToneSource } from './audio-source.ts';

// Decoders written from the G.711 tables (segment, mantissa → reconstruction level), independent of
// the encoders under test.
function alawToLinear(code: number): number {
  const c = code ^ 0x55;
  const seg = (c >> 4) & 7;
  const mant = c & 0x0f;
  const mag = seg === 0 ? mant * 16 + 8 : (mant * 16 + 0x108) * 2 ** (seg - 1);
  return c & 0x80 ? mag : -mag;
}

function ulawToLinear(code: number): number {
  const c = ~code & 0xff;
  const seg = (c >> 4) & 7;
  const mant = c & 0x0f;
  const mag = (mant * 8 + 0x84) * 2 ** seg - 0x84;
  return c & 0x80 ? -mag : mag;
}

test('A-law: known codes, every code survives decode → encode, error within half a step', () => {
  assert.equal(linearToAlaw(0), 0xd5);
  assert.equal(linearToAlaw(-1), 0x55);
  assert.equal(linearToAlaw(32767), 0xaa);
  assert.equal(linearToAlaw(-32768), 0x2a);
  for (let c = 0; c < 256; c++) assert.equal(linearToAlaw(alawToLinear(c)), c, `code ${c}`);
  let prev = -Infinity;
  for (let x = -32768; x <= 32767; x++) {
    const y = alawToLinear(linearToAlaw(x));
    assert.ok(y >= prev, 'monotonic');
    prev = y;
    const seg = (linearToAlaw(x) ^ 0x55) >> 4 & 7;
    const step = seg <= 1 ? 16 : 16 * 2 ** (seg - 1);
    assert.ok(Math.abs(y - x) <= step / 2 + 1, `${x} → ${y}`);
  }
});

test('µ-law: known codes, every code survives decode → encode, error within half a step', () => {
  assert.equal(linearToUlaw(0), 0xff);
  assert.equal(linearToUlaw(-1), 0x7f);
  assert.equal(linearToUlaw(32767), 0x80);
  assert.equal(linearToUlaw(-32768), 0x00);
  for (let c = 0; c < 256; c++) {
    // 0x7F is "negative zero": it decodes to 0, which encodes as 0xFF.
    assert.equal(linearToUlaw(ulawToLinear(c)), c === 0x7f ? 0xff : c, `code ${c}`);
  }
  let prev = -Infinity;
  for (let x = -32768; x <= 32767; x++) {
    const y = ulawToLinear(linearToUlaw(x));
    assert.ok(y >= prev, 'monotonic');
    prev = y;
    const seg = (~linearToUlaw(x) >> 4) & 7;
    const step = 8 * 2 ** seg;
    if (Math.abs(x) < 32124) assert.ok(Math.abs(y - x) <= step / 2 + 4, `${x} → ${y}`);
  }
});

test('the tone is a sine of the asked frequency and amplitude, and loops seamlessly', () => {
  for (const codec of ['pcma', 'pcmu'] as const) {
    const decode = codec === 'pcma' ? alawToLinear : ulawToLinear;
    const tone = g711Tone(codec, 1000, 0.5);
    assert.equal(tone.length, 8000);
    const pcm = Array.from(tone, decode);
    let crossings = 0;
    for (let i = 0; i < pcm.length; i++) {
      const a = pcm[i];
      const b = pcm[(i + 1) % pcm.length]; // across the loop point too
      if (a < 0 && b >= 0) crossings++;
    }
    assert.equal(crossings, 1000);
    const peak = Math.max(...pcm);
    assert.ok(Math.abs(peak - 16384) < 1200, `peak ${peak}`);
  }
});

test('tone sources: 20 and 40 ms frames are views into one shared second', () => {
  const a20 = g711ToneSource('pcma', 20);
  assert.equal(a20.frames.length, 50);
  assert.equal(a20.frames[0].length, 160);
  assert.equal(a20.startSample[50], 8000);
  assert.equal(a20.endless, true);
  const a40 = g711ToneSource('pcma', 40);
  assert.equal(a40.frames.length, 25);
  assert.equal(a40.frames[0].length, 320);
  assert.equal(g711ToneSource('pcma', 20), a20, 'cached');
  assert.equal(a20.frames[1].buffer, a20.frames[0].buffer);
  const u = g711ToneSource('pcmu', 20);
  assert.equal(u.codec, 'pcmu');
  assert.equal(u.frames[0][0], linearToUlaw(0));
});
