import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Amf0EcmaArray, Amf0Error, decodeAmf0, encodeAmf0 } from './amf0.ts';

test('round-trips the values of an RTMP connect command', () => {
  const values = ['connect', 1, { app: 'live', tcUrl: 'rtmp://h/live', fpad: false, capabilities: 15 }, null];
  assert.deepEqual(decodeAmf0(encodeAmf0(values)), values);
});

test('encodes onMetaData as an ECMA array', () => {
  const buf = encodeAmf0(['onMetaData', new Amf0EcmaArray({ width: 1280, height: 720 })]);
  assert.equal(buf[13], 0x08);
  const [, meta] = decodeAmf0(buf);
  assert.ok(meta instanceof Amf0EcmaArray);
  assert.deepEqual(meta.entries, { width: 1280, height: 720 });
});

test('a truncated buffer yields the complete values before the cut or Amf0Error, never garbage', () => {
  const values = ['_result', 1, { level: 'status' }];
  const buf = encodeAmf0(values);
  let errors = 0;
  for (let n = 1; n < buf.length; n++) {
    try {
      const got = decodeAmf0(buf.subarray(0, n));
      assert.deepEqual(got, values.slice(0, got.length));
    } catch (err) {
      assert.ok(err instanceof Amf0Error);
      errors++;
    }
  }
  assert.ok(errors > buf.length - 4);
});
