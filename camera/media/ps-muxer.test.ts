import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { AudioFrame, VideoCodec } from '../../common/codec/frame.ts';
import { fixturePath } from '../../test/support/fixtures.ts';
import { crc32Mpeg2 } from './crc32.ts';
import { PsMuxer, StreamType } from './ps-muxer.ts';
import type { PsMuxerOptions } from './ps-muxer.ts';
import { walkPs } from './test-parser.ts';
import type { PesUnit, PsUnit, PsmUnit, SystemHeaderUnit } from './test-parser.ts';
import { parseAnnexB } from './video-source.ts';
import type { IndexedVideoFrame } from './video-source.ts';

const bbb = parseAnnexB(readFileSync(fixturePath('bbb-480x272.h264')));
const hevc = parseAnnexB(readFileSync(fixturePath('avatar.h265')));

function vframe(index: number, pts = index * 3600, source = bbb, dts = pts): IndexedVideoFrame {
  const u = source.units[index];
  return { kind: 'video', codec: source.codec, pts, dts, keyframe: u.keyframe, data: u.data, nalRanges: u.nalRanges };
}

const kinds = (units: PsUnit[]): string[] => units.map((u) => (u.kind === 'pes' ? `pes:${u.id.toString(16)}` : u.kind));
const pesOf = (units: PsUnit[], id?: number): PesUnit[] => units.filter((u): u is PesUnit => u.kind === 'pes' && (id === undefined || u.id === id));
const psmOf = (units: PsUnit[]): PsmUnit | undefined => units.find((u): u is PsmUnit => u.kind === 'psm');

/** The elementary stream bytes carried by the PES packets of one stream id. */
function esBytes(buf: Buffer, units: PsUnit[], id: number): Buffer {
  return Buffer.concat(pesOf(units, id).map((p) => buf.subarray(p.payloadOffset, p.payloadOffset + p.payloadLength)));
}

/** NAL payloads of Annex-B bytes (start code lengths differ between file and PS; contents must not). */
function nals(buf: Buffer): string[] {
  return parseAnnexB(Buffer.concat([buf, Buffer.from([0, 0, 1, 0x09, 0xf0])]), 'h264').units.flatMap((u) =>
    Array.from({ length: u.nalRanges.length / 2 }, (_, i) => u.data.subarray(u.nalRanges[2 * i], u.nalRanges[2 * i + 1]).toString('hex')),
  );
}

test('CRC-32/MPEG-2: the catalogue check value, and the PSM carries a correct CRC', () => {
  assert.equal(crc32Mpeg2(Buffer.from('123456789')), 0x0376e6e7);
  for (const opts of [{ video: 'h264', audio: 'pcma' }, { video: 'h265', audio: 'aac', quirks: { privateStream: true } }] as PsMuxerOptions[]) {
    const m = new PsMuxer(opts);
    const [psm] = walkPs(m.psmBytes) as PsmUnit[];
    assert.equal(psm.crcStored, psm.crcComputed, 'matches the bitwise CRC in the test parser');
    // The CRC over the whole section including its CRC is 0 for a correct MPEG-2 CRC.
    assert.equal(crc32Mpeg2(m.psmBytes), 0);
  }
});

test('stream types for every codec, in the PSM and the system header', () => {
  const cases: Array<[VideoCodec | undefined, PsMuxerOptions['audio'], number[]]> = [
    ['h264', 'pcma', [StreamType.H264, StreamType.G711A]],
    ['h265', 'pcmu', [StreamType.H265, StreamType.G711U]],
    ['h264', 'aac', [0x1b, 0x0f]],
    ['h265', undefined, [0x24]],
    [undefined, 'pcma', [0x90]],
  ];
  for (const [video, audio, types] of cases) {
    const m = new PsMuxer({ video, audio });
    const [psm] = walkPs(m.psmBytes) as PsmUnit[];
    assert.deepEqual(psm.streams.map((s) => s.type), types);
    assert.deepEqual(psm.streams.map((s) => s.id), [...(video ? [0xe0] : []), ...(audio ? [0xc0] : [])]);
    const [sys] = walkPs(m.systemHeaderBytes) as SystemHeaderUnit[];
    assert.equal(sys.videoBound, video ? 1 : 0);
    assert.equal(sys.audioBound, audio ? 1 : 0);
    assert.deepEqual(sys.streams.map((s) => s.id), psm.streams.map((s) => s.id));
  }
});

test('keyframe: pack, system header, PSM, one PES per NAL with the PTS on the first; the NALs survive', () => {
  const m = new PsMuxer({ video: 'h264', audio: 'pcma' });
  const frame = vframe(0, 123456);
  const ps = m.mux(frame);
  const units = walkPs(ps);
  assert.deepEqual(kinds(units), ['pack', 'system', 'psm', 'pes:e0', 'pes:e0', 'pes:e0', 'pes:e0']);
  assert.equal(units.length, 3 + frame.nalRanges!.length / 2);
  const pes = pesOf(units);
  assert.deepEqual(pes.map((p) => p.pts), [123456, undefined, undefined, undefined]);
  assert.deepEqual(pes.map((p) => p.dts), [undefined, undefined, undefined, undefined], 'no DTS when it equals the PTS');
  assert.equal(units[0].kind === 'pack' && units[0].scr, 123456);
  assert.deepEqual(nals(esBytes(ps, units, 0xe0)), nals(frame.data));
  for (const p of pes) assert.equal(ps.readUInt32BE(p.payloadOffset), 1, '4-byte start code');
  // Without nalRanges the muxer finds the NAL units itself: same bytes.
  const bare = { ...frame, nalRanges: undefined };
  assert.deepEqual(new PsMuxer({ video: 'h264', audio: 'pcma' }).mux(bare), ps);
});

test('non-keyframes: a pack header and the PES packets only', () => {
  const m = new PsMuxer({ video: 'h264' });
  m.mux(vframe(0));
  const units = walkPs(m.mux(vframe(1)));
  assert.equal(units[0].kind, 'pack');
  assert.ok(units.slice(1).every((u) => u.kind === 'pes' && u.id === 0xe0));
});

test('PTS and DTS both written when they differ; 33-bit wrap', () => {
  const m = new PsMuxer({ video: 'h265' });
  const units = walkPs(m.mux(vframe(3, 7200 + 2 ** 33 + 5, hevc, 3600 + 2 ** 33 + 5)));
  const [first] = pesOf(units);
  assert.equal(first.flags2, 0xc0);
  assert.equal(first.pts, 7205);
  assert.equal(first.dts, 3605);
  assert.equal(first.timestampMarkersOk, true);
  assert.equal(units[0].kind === 'pack' && units[0].scr, 3605, 'SCR from the DTS');
  const big = walkPs(m.mux(vframe(1, 2 ** 33 - 1, hevc)));
  assert.equal(pesOf(big)[0].pts, 2 ** 33 - 1);
});

test('audio: its own pack header and one C0 PES with PTS, aligned to 4 bytes', () => {
  const m = new PsMuxer({ video: 'h264', audio: 'pcma' });
  const data = Buffer.alloc(160, 0xd5);
  const frame: AudioFrame = { kind: 'audio', codec: 'pcma', pts: 90000, data };
  const ps = m.mux(frame);
  const units = walkPs(ps);
  assert.deepEqual(kinds(units), ['pack', 'pes:c0']);
  const [pes] = pesOf(units);
  assert.equal(pes.pts, 90000);
  assert.equal(pes.flags1, 0x8c);
  assert.equal((6 + pes.length) % 4, 0);
  assert.deepEqual(esBytes(ps, units, 0xc0), data);
});

test('a NAL unit bigger than 65,000 bytes is split over PES packets, the PTS on the first', () => {
  const big = Buffer.alloc(150_000 + 4);
  big.writeUInt32BE(1, 0);
  big[4] = 0x65; // IDR slice header byte
  big[5] = 0x88;
  for (let i = 6; i < big.length; i++) big[i] = (i * 7) % 251 || 1;
  const frame: IndexedVideoFrame = { kind: 'video', codec: 'h264', pts: 0, dts: 0, keyframe: true, data: big };
  const ps = new PsMuxer({ video: 'h264' }).mux(frame);
  const units = walkPs(ps);
  const pes = pesOf(units, 0xe0);
  // 4 start code bytes + 150,000 NAL bytes = 150,004 = 65,000 + 65,000 + 20,004
  assert.deepEqual(pes.map((p) => p.payloadLength), [65000, 65000, 20004]);
  assert.deepEqual(pes.map((p) => p.pts), [0, undefined, undefined]);
  assert.deepEqual(pes.map((p) => p.flags1), [0x8c, 0x88, 0x88], 'data_alignment only where the NAL starts');
  assert.ok(pes.every((p) => 6 + p.length <= 65535));
  assert.deepEqual(esBytes(ps, units, 0xe0), big);
  // One PES per frame mode splits the same way, at 65,000 bytes of payload, with the bytes as given.
  const perFrame = new PsMuxer({ video: 'h264', pesPerNal: false, maxPesPayload: 30000 }).mux(frame);
  const pu = walkPs(perFrame);
  assert.deepEqual(pesOf(pu).map((p) => p.payloadLength), [30000, 30000, 30000, 30000, 30000, 4]);
  assert.deepEqual(esBytes(perFrame, pu, 0xe0), big);
});

test('quirk noPsm: never a PSM (the system header stays)', () => {
  const m = new PsMuxer({ video: 'h264', quirks: { noPsm: true } });
  for (let i = 0; i < 3; i++) {
    const units = walkPs(m.mux(vframe(0, i * 3600)));
    assert.equal(psmOf(units), undefined);
    assert.ok(units.some((u) => u.kind === 'system'));
  }
});

test('quirk psmOnce: the PSM with the first keyframe only', () => {
  const normal = new PsMuxer({ video: 'h264' });
  const once = new PsMuxer({ video: 'h264', quirks: { psmOnce: true } });
  const seen = [0, 1, 2].map((i) => [psmOf(walkPs(normal.mux(vframe(0, i * 3600)))) !== undefined, psmOf(walkPs(once.mux(vframe(0, i * 3600)))) !== undefined]);
  assert.deepEqual(seen, [[true, true], [true, false], [true, false]]);
});

test('quirk privateStream: BD PES after the keyframe video, BD/BF in the system header, HK descriptors', () => {
  const m = new PsMuxer({ video: 'h264', audio: 'pcma', quirks: { privateStream: true } });
  const ps = m.mux(vframe(0, 3600));
  const units = walkPs(ps);
  const last = units[units.length - 1] as PesUnit;
  assert.equal(last.kind, 'pes');
  assert.equal(last.id, 0xbd);
  assert.equal(last.pts, 3600);
  const sys = units.find((u) => u.kind === 'system') as SystemHeaderUnit;
  assert.deepEqual(sys.streams.map((s) => s.id), [0xe0, 0xc0, 0xbd, 0xbf]);
  const psm = psmOf(units) as PsmUnit;
  assert.ok(psm.programInfo.length > 0 && psm.programInfo.every((d) => d.data[0] === 0x48 && d.data[1] === 0x4b));
  assert.equal(psm.crcStored, psm.crcComputed);
  // Not on other frames, and absent without the quirk.
  assert.equal(pesOf(walkPs(m.mux(vframe(1))), 0xbd).length, 0);
  assert.equal(pesOf(walkPs(new PsMuxer({ video: 'h264' }).mux(vframe(0))), 0xbd).length, 0);
  // The private payload never fakes a start code.
  for (let i = last.payloadOffset; i + 2 < last.payloadOffset + last.payloadLength; i++) {
    assert.ok(!(ps[i] === 0 && ps[i + 1] === 0 && ps[i + 2] === 1));
  }
});

test('quirk videoPesLengthZero: one unbounded video PES per frame holding the whole access unit', () => {
  const m = new PsMuxer({ video: 'h264', audio: 'pcma', quirks: { videoPesLengthZero: true } });
  const frame = vframe(0);
  const ps = m.mux(frame);
  const units = walkPs(ps);
  const pes = pesOf(units, 0xe0);
  assert.equal(pes.length, 1);
  assert.equal(pes[0].length, 0);
  assert.equal(pes[0].pts, 0);
  assert.deepEqual(esBytes(ps, units, 0xe0), frame.data);
  // Audio PES keep their length.
  const audio = walkPs(m.mux({ kind: 'audio', codec: 'pcma', pts: 0, data: Buffer.alloc(160, 0xd5) }));
  assert.equal(pesOf(audio, 0xc0)[0].length > 0, true);
});

test('quirk lyingPsm: H.265 sent, H.264 declared', () => {
  const honest = psmOf(walkPs(new PsMuxer({ video: 'h265' }).mux(vframe(0, 0, hevc)))) as PsmUnit;
  const liar = new PsMuxer({ video: 'h265', quirks: { lyingPsm: true } });
  const ps = liar.mux(vframe(0, 0, hevc));
  const units = walkPs(ps);
  assert.equal(honest.streams[0].type, 0x24);
  assert.equal((psmOf(units) as PsmUnit).streams[0].type, 0x1b);
  const first = pesOf(units)[0];
  assert.equal((ps[first.payloadOffset + 4] >> 1) & 0x3f, 32, 'the payload is still an H.265 VPS');
});

test('quirk audioWithoutPackHeader: audio PES straight after the previous frame', () => {
  const m = new PsMuxer({ video: 'h264', audio: 'aac', quirks: { audioWithoutPackHeader: true } });
  const units = walkPs(m.mux({ kind: 'audio', codec: 'aac', pts: 1800, data: Buffer.from([0xff, 0xf1, 0x50, 0x80, 0x01, 0x7f, 0xfc, 0x21]) }));
  assert.deepEqual(kinds(units), ['pes:c0']);
});

test('pack header stuffing and mux rate are configurable', () => {
  const m = new PsMuxer({ video: 'h264', packStuffing: 0, muxRate: 12345 });
  const [pack] = walkPs(m.mux(vframe(0)));
  assert.ok(pack.kind === 'pack' && pack.stuffingLength === 0 && pack.muxRate === 12345 && pack.markersOk);
  assert.throws(() => new PsMuxer({ video: 'h264', packStuffing: 8 }));
  assert.throws(() => new PsMuxer({ video: 'h264', maxPesPayload: 70000 }));
});

test('muxTransient reuses one scratch buffer; mux returns a buffer of its own', () => {
  const m = new PsMuxer({ video: 'h264' });
  const a = m.muxTransient(vframe(1));
  const copy = Buffer.from(a);
  const b = m.muxTransient(vframe(2));
  assert.equal(a.buffer, b.buffer);
  const own = m.mux(vframe(1));
  assert.deepEqual(own, copy);
  assert.notEqual(own.buffer, b.buffer);
});

test('audio-only streams repeat the system header and PSM once a second', () => {
  const m = new PsMuxer({ audio: 'pcma' });
  const withPsm: number[] = [];
  for (let i = 0; i < 150; i++) {
    const units = walkPs(m.mux({ kind: 'audio', codec: 'pcma', pts: i * 1800, data: Buffer.alloc(160, 0xd5) }));
    assert.equal(units[0].kind, 'pack');
    if (psmOf(units)) {
      withPsm.push(i);
      assert.deepEqual(kinds(units), ['pack', 'system', 'psm', 'pes:c0']);
    }
  }
  assert.deepEqual(withPsm, [0, 50, 100]);
});
