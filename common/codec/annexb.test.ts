import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findStartCode, splitNals, startCodeLength } from './annexb.ts';

test('finds 3- and 4-byte start codes and splits NAL units without copying', () => {
  const buf = Buffer.from([0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 1, 0x65, 4, 5, 0, 0]);
  assert.equal(findStartCode(buf, 0), 0);
  assert.equal(startCodeLength(buf, 0), 4);
  const nals = splitNals(buf);
  assert.deepEqual(
    nals.map((n) => [...n]),
    [
      [0x67, 1, 2],
      [0x68, 3],
      [0x65, 4, 5],
    ],
  );
  assert.equal(nals[0].buffer, buf.buffer);
});

test('ignores leading garbage and handles no start code', () => {
  assert.deepEqual(splitNals(Buffer.from([1, 2, 3, 4])), []);
  const nals = splitNals(Buffer.from([9, 9, 0, 0, 1, 0x41, 7]));
  assert.deepEqual(nals.map((n) => [...n]), [[0x41, 7]]);
});
