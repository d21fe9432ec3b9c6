import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeAmf0 } from '../flv/amf0.ts';
import { ChunkReader, RtmpProtocolError } from './chunk-reader.ts';
import type { RtmpMessage } from './chunk-reader.ts';
import { ChunkWriter } from './chunk-writer.ts';

function hex(s: string): Buffer {
  return Buffer.from(s.replace(/\s+/g, ''), 'hex');
}
function u24(n: number): string {
  return n.toString(16).padStart(6, '0');
}

// What a server sends a publisher after connect, written out by hand (not by our writer):
const status = encodeAmf0(['onStatus', 0, null, { level: 'status', code: 'NetStream.Publish.Start', description: 'x'.repeat(100) }]);
const result = encodeAmf0(['_result', 1, { fmsVer: 'FMS/3,0,1,123', capabilities: 31 }, { level: 'status', code: 'NetConnection.Connect.Success', description: 'y'.repeat(150) }]);
assert.ok(status.length > 128 && status.length < 256 && result.length > 256);
const serverBytes = Buffer.concat([
  hex('02 000000 000004 05 00000000 004c4b40'), // Window Acknowledgement Size 5,000,000
  hex('02 000000 000005 06 00000000 004c4b40 02'), // Set Peer Bandwidth, dynamic
  // onStatus on csid 5, stream 1, in two 128-byte chunks with a Ping Request (csid 2, fmt 1) between them
  hex(`05 000000 ${u24(status.length)} 14 01000000`),
  status.subarray(0, 128),
  hex('42 000000 000006 04 0006 0000abcd'),
  hex('c5'),
  status.subarray(128),
  hex('02 000000 000004 01 00000000 00001000'), // Set Chunk Size 4096
  hex(`03 000000 ${u24(result.length)} 14 00000000`), // _result in one chunk now
  result,
  // fmt 1, fmt 2 (delta only) and fmt 3 (all inherited) new messages on csid 2
  hex('42 000005 000006 04 0006 0000abcc'),
  hex('82 000010 0006 0000abce'),
  hex('c2 0006 0000abcf'),
  // an extended timestamp, repeated on the fmt 3 continuation chunk after another chunk size change
  hex('02 000000 000004 01 00000000 00000002'),
  hex('06 ffffff 000003 12 01000000 01020304 6162 c6 01020304 63'),
]);

const expected: Array<Omit<RtmpMessage, 'payload'> & { payload: string }> = [
  { csid: 2, type: 5, streamId: 0, timestamp: 0, payload: '004c4b40' },
  { csid: 2, type: 6, streamId: 0, timestamp: 0, payload: '004c4b4002' },
  { csid: 2, type: 4, streamId: 0, timestamp: 0, payload: '00060000abcd' },
  { csid: 5, type: 20, streamId: 1, timestamp: 0, payload: status.toString('hex') },
  { csid: 2, type: 1, streamId: 0, timestamp: 0, payload: '00001000' },
  { csid: 3, type: 20, streamId: 0, timestamp: 0, payload: result.toString('hex') },
  { csid: 2, type: 4, streamId: 0, timestamp: 5, payload: '00060000abcc' },
  { csid: 2, type: 4, streamId: 0, timestamp: 21, payload: '00060000abce' },
  { csid: 2, type: 4, streamId: 0, timestamp: 37, payload: '00060000abcf' },
  { csid: 2, type: 1, streamId: 0, timestamp: 0, payload: '00000002' },
  { csid: 6, type: 18, streamId: 1, timestamp: 0x01020304, payload: '616263' },
];

function readAll(pieces: Buffer[]): Array<Omit<RtmpMessage, 'payload'> & { payload: string }> {
  const r = new ChunkReader();
  const got = [];
  for (const p of pieces) for (const m of r.push(p)) got.push({ ...m, payload: m.payload.toString('hex') });
  return got;
}

test('reads hand-written server messages: control, interleaved chunks, fmt 2/3, extended timestamps', () => {
  assert.deepEqual(readAll([serverBytes]), expected);
});

test('yields the same messages for every split of the input into two and into single bytes', () => {
  for (let i = 0; i <= serverBytes.length; i++) {
    assert.deepEqual(readAll([serverBytes.subarray(0, i), serverBytes.subarray(i)]), expected, `split at ${i}`);
  }
  const bytes = [];
  for (let i = 0; i < serverBytes.length; i++) bytes.push(serverBytes.subarray(i, i + 1));
  assert.deepEqual(readAll(bytes), expected);
});

test('yields the same messages for random three-way splits', () => {
  let seed = 7;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  for (let k = 0; k < 2000; k++) {
    const [a, b] = [rnd(serverBytes.length + 1), rnd(serverBytes.length + 1)].sort((x, y) => x - y);
    assert.deepEqual(readAll([serverBytes.subarray(0, a), serverBytes.subarray(a, b), serverBytes.subarray(b)]), expected);
  }
});

test('reads back what the chunk writer produces, extended timestamps included', () => {
  const w = new ChunkWriter();
  w.setChunkSize(100);
  const r = new ChunkReader();
  r.push(hex('02 000000 000004 01 00000000 00000064'));
  const msgs: Array<[number, number, number]> = [
    [6, 0, 1000],
    [6, 40, 1],
    [6, 0xfffff0, 250],
    [6, 0x1000010, 300],
    [4, 0x1000020, 5],
    [6, 0x1000030, 0],
    [6, 0x1000040, 201],
  ];
  const out: Buffer[] = [];
  for (const [csid, ts, len] of msgs) w.write(out, csid, 9, 1, ts, Buffer.alloc(len, ts & 0xff));
  const got = r.push(Buffer.concat(out));
  assert.deepEqual(
    got.map((m) => [m.csid, m.timestamp, m.payload.length, m.payload.every((b) => b === (m.timestamp & 0xff))]),
    msgs.map(([csid, ts, len]) => [csid, ts, len, true]),
  );
});

test('hostile input: clear errors, no allocation beyond the limits', () => {
  const cases: Array<[string, Buffer, RegExp]> = [
    ['fmt 3 on an unknown chunk stream', hex('c3 00 00 00'), /no previous header/],
    ['fmt 1 on an unknown chunk stream', hex('43 000000 000001 14 00'), /no previous header/],
    ['a giant message length', hex('03 000000 ffffff 14 00000000'), /exceeds the 1048576-byte limit/],
    ['a chunk size of zero', hex('02 000000 000004 01 00000000 00000000'), /invalid chunk size 0/],
    ['a chunk size with the top bit set', hex('02 000000 000004 01 00000000 ffffffff'), /invalid chunk size/],
    ['a huge chunk size', hex('02 000000 000004 01 00000000 7fffffff'), /exceeds the 16777216-byte limit/],
    ['a short Set Chunk Size', hex('02 000000 000002 01 00000000 0001'), /shorter than 4 bytes/],
    [
      'a new header in the middle of a message',
      Buffer.concat([hex('03 000000 0000c8 14 00000000'), Buffer.alloc(128), hex('03 000000 000001 14 00000000 bb')]),
      /interrupts an unfinished message/,
    ],
  ];
  for (const [what, bytes, re] of cases) {
    const r = new ChunkReader();
    assert.throws(() => r.push(bytes), (e: unknown) => e instanceof RtmpProtocolError && re.test(e.message), what);
    assert.throws(() => r.push(hex('02')), RtmpProtocolError, `${what}: stays failed`);
  }
  // many chunk streams, each holding a partial large message
  const r = new ChunkReader({ maxMessageSize: 1000 });
  r.push(hex('02 000000 000004 01 00000000 00000001'));
  assert.throws(() => {
    for (let csid = 3; csid < 63; csid++) r.push(hex(`${csid.toString(16).padStart(2, '0')} 000000 0003e8 14 00000000 00`));
  }, /too many bytes held/);
  const r2 = new ChunkReader({ maxChunkStreams: 4 });
  assert.throws(() => {
    for (let csid = 3; csid < 63; csid++) r2.push(hex(`${csid.toString(16).padStart(2, '0')} 000000 000000 14 00000000`));
  }, /more than 4 chunk streams/);
});

test('Abort discards the partial message on that chunk stream', () => {
  const r = new ChunkReader();
  const got = r.push(
    hex('02 000000 000004 01 00000000 00000002  04 000000 000010 09 01000000 0102  02 000000 000004 02 00000000 0000 c2 0004  04 000000 000001 09 01000000 ff'),
  );
  assert.deepEqual(
    got.map((m) => [m.csid, m.type, m.payload.toString('hex')]),
    [
      [2, 1, '00000002'],
      [2, 2, '00000004'],
      [4, 9, 'ff'],
    ],
  );
});
