import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChunkWriter } from './chunk-writer.ts';

function hex(s: string): Buffer {
  return Buffer.from(s.replace(/\s+/g, ''), 'hex');
}

function write(w: ChunkWriter, csid: number, type: number, streamId: number, ts: number, payload: Buffer | Buffer[]): Buffer {
  const out: Buffer[] = [];
  const n = w.write(out, csid, type, streamId, ts, payload);
  const all = Buffer.concat(out);
  assert.equal(n, all.length);
  return all;
}

test('a small message goes out as one fmt 0 chunk, then fmt 1 with the delta', () => {
  const w = new ChunkWriter();
  assert.deepEqual(write(w, 2, 1, 0, 0, hex('00010000')), hex('02 000000 000004 01 00000000 00010000'));
  const body = Buffer.from('abc');
  assert.deepEqual(write(w, 6, 9, 1, 1000, body), Buffer.concat([hex('06 0003e8 000003 09 01000000'), body]));
  assert.deepEqual(write(w, 6, 9, 1, 1040, body), Buffer.concat([hex('46 000028 000003 09'), body]));
  // a timestamp going back, or another message stream, needs a full header again
  assert.deepEqual(write(w, 6, 9, 1, 1000, body), Buffer.concat([hex('06 0003e8 000003 09 01000000'), body]));
  assert.deepEqual(write(w, 6, 9, 2, 1000, body), Buffer.concat([hex('06 0003e8 000003 09 02000000'), body]));
});

test('splits a message into chunks with fmt 3 headers and sends the payload as views', () => {
  const w = new ChunkWriter();
  w.setChunkSize(4);
  const payload = Buffer.from('0123456789');
  const out: Buffer[] = [];
  w.write(out, 4, 8, 1, 5, payload);
  assert.deepEqual(Buffer.concat(out), Buffer.concat([hex('04 000005 00000a 08 01000000'), Buffer.from('0123'), hex('c4'), Buffer.from('4567'), hex('c4'), Buffer.from('89')]));
  for (const b of out.filter((_, i) => i % 2 === 1)) assert.equal(b.buffer, payload.buffer, 'payload is not copied');
});

test('payload parts are chunked across part boundaries', () => {
  const w = new ChunkWriter();
  w.setChunkSize(4);
  const got = write(w, 5, 18, 1, 0, [Buffer.from('ab'), Buffer.alloc(0), Buffer.from('cdefg')]);
  assert.deepEqual(got, Buffer.concat([hex('05 000000 000007 12 01000000'), Buffer.from('abcd'), hex('c5'), Buffer.from('efg')]));
});

test('extended timestamps: 0xFFFFFF in the header, the value after it, repeated on every fmt 3 chunk', () => {
  const w = new ChunkWriter();
  w.setChunkSize(3);
  const ts = 0x01000000;
  const got = write(w, 6, 9, 1, ts, Buffer.from('1234567'));
  assert.deepEqual(
    got,
    hex('06 ffffff 000007 09 01000000 01000000 313233  c6 01000000 343536  c6 01000000 37'),
  );
  // the next message is a small delta: no extended field even though the absolute time is large
  assert.deepEqual(write(w, 6, 9, 1, ts + 40, Buffer.from('xy')), Buffer.concat([hex('46 000028 000002 09'), Buffer.from('xy')]));
  // exactly 0xFFFFFF is already extended
  const w2 = new ChunkWriter();
  assert.deepEqual(write(w2, 3, 20, 0, 0xffffff, Buffer.from('z')), hex('03 ffffff 000001 14 00000000 00ffffff 7a'));
  // a delta of 0xFFFFFF or more is extended too (fmt 1)
  assert.deepEqual(write(w2, 3, 20, 0, 0xffffff * 2, Buffer.from('z')), hex('43 ffffff 000001 14 00ffffff 7a'));
});

test('timestamps wrap modulo 2^32 without going to fmt 0', () => {
  const w = new ChunkWriter();
  write(w, 6, 9, 1, 2 ** 32 - 10, Buffer.from('a'));
  assert.deepEqual(write(w, 6, 9, 1, 2 ** 32 + 30, Buffer.from('b')), Buffer.concat([hex('46 000028 000001 09'), Buffer.from('b')]));
});

test('two- and three-byte basic headers for chunk stream ids 64 and up', () => {
  const w = new ChunkWriter();
  assert.deepEqual(write(w, 64, 8, 1, 0, Buffer.alloc(0)), hex('00 00 000000 000000 08 01000000'));
  assert.deepEqual(write(w, 319, 8, 1, 0, Buffer.alloc(0)), hex('00 ff 000000 000000 08 01000000'));
  assert.deepEqual(write(w, 320, 8, 1, 0, Buffer.alloc(0)), hex('01 00 01 000000 000000 08 01000000'));
  assert.deepEqual(write(w, 65599, 8, 1, 0, Buffer.alloc(0)), hex('01 ff ff 000000 000000 08 01000000'));
  w.setChunkSize(1);
  assert.deepEqual(write(w, 320, 8, 1, 0, Buffer.from('ab')), hex('41 00 01 000000 000002 08 61 c1 00 01 62'));
});

test('refuses what cannot be framed', () => {
  const w = new ChunkWriter();
  assert.throws(() => w.write([], 1, 8, 1, 0, Buffer.alloc(1)), RangeError);
  assert.throws(() => w.write([], 65600, 8, 1, 0, Buffer.alloc(1)), RangeError);
  assert.throws(() => w.write([], 4, 8, 1, 0, Buffer.alloc(0x1000000)), RangeError);
  assert.throws(() => w.setChunkSize(0), RangeError);
});
