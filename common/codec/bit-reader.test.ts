import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BitReader, BitReaderError, unescapeRbsp } from './bit-reader.ts';

test('unescapeRbsp drops the 03 of every 00 00 03 and nothing else', () => {
  const esc = Buffer.from([0x67, 0, 0, 3, 1, 0, 0, 3, 0, 0, 3, 3, 0, 3, 0, 0]);
  assert.deepEqual([...unescapeRbsp(esc)], [0x67, 0, 0, 1, 0, 0, 0, 0, 3, 0, 3, 0, 0]);
  assert.deepEqual([...unescapeRbsp(esc, 1, 5)], [0, 0, 1]);
  assert.deepEqual([...unescapeRbsp(Buffer.from([1, 2, 3]))], [1, 2, 3]);
  assert.equal(unescapeRbsp(Buffer.alloc(0)).length, 0);
});

test('reads fixed-width fields MSB first, across byte boundaries, up to 32 bits', () => {
  const r = new BitReader(Buffer.from([0b10110011, 0b01010101, 0xde, 0xad, 0xbe, 0xef]));
  assert.equal(r.readBit(), 1);
  assert.equal(r.readBits(3), 0b011);
  assert.equal(r.readBits(8), 0b00110101);
  assert.equal(r.bitsLeft, 36);
  r.skipBits(4);
  assert.equal(r.byteAligned, true);
  assert.equal(r.readBits(32), 0xdeadbeef);
  assert.equal(r.bitsLeft, 0);
  assert.throws(() => r.readBit(), BitReaderError);
});

test('exp-Golomb: ue and se code numbers 0..8', () => {
  // ue: 1, 010, 011, 00100, 00101, 00110, 00111, 0001000, 0001001 → 0..8
  const bits = '1' + '010' + '011' + '00100' + '00101' + '00110' + '00111' + '0001000' + '0001001';
  const bytes = Buffer.alloc(Math.ceil(bits.length / 8));
  for (let i = 0; i < bits.length; i++) if (bits[i] === '1') bytes[i >> 3] |= 0x80 >> (i & 7);
  const r = new BitReader(bytes);
  assert.deepEqual(Array.from({ length: 9 }, () => r.readUe()), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
  const s = new BitReader(bytes);
  assert.deepEqual(Array.from({ length: 9 }, () => s.readSe()), [0, 1, -1, 2, -2, 3, -3, 4, -4]);
});

test('ue of 32 bits decodes 2^32 - 2 and longer codes are rejected', () => {
  // 31 zeros, a one, 31 ones → 2^31 - 1 + 2^31 - 1
  const r = new BitReader(Buffer.from([0, 0, 0, 1, 0xff, 0xff, 0xff, 0xfe]));
  assert.equal(r.readUe(), 2 ** 32 - 2);
  assert.throws(() => new BitReader(Buffer.alloc(8)).readUe(), BitReaderError);
  assert.throws(() => new BitReader(Buffer.from([0, 1])).readUe(), BitReaderError); // truncated suffix
});

test('range-checked reads and reads past the end throw BitReaderError', () => {
  assert.throws(() => new BitReader(Buffer.from([0b00111000])).readUeMax(5, 'x'), /x = 6 exceeds 5/);
  assert.throws(() => new BitReader(Buffer.from([0b00111000])).readSeRange(-2, 2, 'y'), /y = -3/);
  assert.throws(() => new BitReader(Buffer.from([1])).readBits(9), BitReaderError);
  assert.throws(() => new BitReader(Buffer.from([1])).skipBits(9), BitReaderError);
  assert.throws(() => new BitReader(Buffer.from([1, 2, 3, 4, 5])).readBits(33), BitReaderError);
  const sub = new BitReader(Buffer.from([0xff, 0x00, 0xff]), 1, 2);
  assert.equal(sub.readBits(8), 0);
  assert.throws(() => sub.readBit(), BitReaderError);
});
