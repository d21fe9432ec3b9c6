/**
 * Our first RTP packet of a keyframe against the first RTP packet of a real Hikvision camera
 * (fixtures/hikvision-first-rtp-packet.bin): same RTP header form, same sequence of PS units, same
 * field layout (pack stuffing, marker bits, PES flags, PES header stuffing to a 4-byte multiple).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fixturePath } from '../../test/support/fixtures.ts';
import { PsMuxer } from './ps-muxer.ts';
import { RtpPacketizer } from './rtp-packetizer.ts';
import { parseRtpHeader, walkPs } from './test-parser.ts';
import type { PesUnit, PsUnit, PsmUnit, SystemHeaderUnit, PackUnit } from './test-parser.ts';
import { parseAnnexB } from './video-source.ts';
import type { IndexedVideoFrame } from './video-source.ts';

const fixture = readFileSync(fixturePath('hikvision-first-rtp-packet.bin'));

function byKind<K extends PsUnit['kind']>(units: PsUnit[], kind: K): Extract<PsUnit, { kind: K }>[] {
  return units.filter((u) => u.kind === kind) as Extract<PsUnit, { kind: K }>[];
}

/** NAL type of the first NAL in a PES payload that starts with a 4-byte start code, or -1. */
function firstNalType(buf: Uint8Array, pes: PesUnit): number {
  const p = pes.payloadOffset;
  if (pes.payloadLength < 5 || buf[p] !== 0 || buf[p + 1] !== 0 || buf[p + 2] !== 0 || buf[p + 3] !== 1) return -1;
  return buf[p + 4] & 0x1f;
}

test('the test parser reads the fixture as its README describes it', () => {
  assert.equal(fixture.length, 256);
  const rtp = parseRtpHeader(fixture);
  assert.equal(rtp.version, 2);
  assert.equal(rtp.payloadType, 96);
  assert.equal(rtp.ssrc, 0x0bebdfa1);
  assert.equal(rtp.sequence, 0);
  assert.equal(rtp.marker, false);

  const units = walkPs(fixture, rtp.payloadOffset);
  assert.deepEqual(
    units.map((u) => (u.kind === 'pes' ? `pes:${u.id.toString(16)}` : u.kind)),
    ['pack', 'system', 'psm', 'pes:e0', 'pes:e0', 'pes:e0', 'pes:e0'],
  );
  const [pack] = byKind(units, 'pack');
  assert.equal(pack.markersOk, true);
  assert.equal(pack.stuffingLength, 6);
  const [sys] = byKind(units, 'system');
  assert.equal(sys.markersOk, true);
  assert.deepEqual(sys.streams.map((s) => s.id), [0xe0, 0xc0, 0xbd, 0xbf], 'lists the private stream 0xBD');
  const [psm] = byKind(units, 'psm');
  assert.ok(psm.programInfo.some((d) => d.data[0] === 0x48 && d.data[1] === 0x4b), 'an HK descriptor');
  // The README says "declaring H.264 (0x1B) and G.711A (0x90)": the H.264 part holds, but the audio
  // entry's stream_type byte is 0x0F (AAC); 0x90 only appears inside its vendor descriptor (tag 0x43).
  // SRS's test, where the packet comes from, shows ADTS frames in the camera's audio PES.
  assert.deepEqual(psm.streams.map((s) => [s.type, s.id]), [[0x1b, 0xe0], [0x0f, 0xc0]]);
  // Hikvision stores the PSM CRC little-endian: the bytes are the right CRC, reversed.
  assert.notEqual(psm.crcStored, psm.crcComputed);
  assert.equal(Buffer.from(fixture.subarray(psm.offset + 6 + psm.length - 4, psm.offset + 6 + psm.length)).readUInt32LE(0), psm.crcComputed);

  const pes = byKind(units, 'pes');
  assert.deepEqual(pes.map((p) => firstNalType(fixture, p)), [7, 8, 6, 5], 'SPS, PPS, SEI, then the IDR NAL header');
  assert.deepEqual(pes.map((p) => p.truncated), [false, false, false, true], 'the IDR PES is cut off');
  assert.equal(pes[0].pts, pack.scr, 'SCR = PTS of the frame');
});

test('our first keyframe packet has the structure of the Hikvision one', () => {
  const source = parseAnnexB(readFileSync(fixturePath('bbb-480x272.h264')));
  const unit = source.units[0];
  assert.equal(unit.keyframe, true);
  const pts = 109496722; // the fixture's, so the timestamp fields compare too
  const frame: IndexedVideoFrame = { kind: 'video', codec: 'h264', pts, dts: pts, keyframe: true, data: unit.data, nalRanges: unit.nalRanges };
  const muxer = new PsMuxer({ video: 'h264', audio: 'aac', quirks: { privateStream: true } });
  const packetizer = new RtpPacketizer({ ssrc: 0x0bebdfa1, payloadSize: 1400 });
  const packets = packetizer.packetize(muxer.mux(frame), 0);
  const ours = packets.subarray(0, packetizer.stride);

  const theirRtp = parseRtpHeader(fixture);
  const ourRtp = parseRtpHeader(ours);
  for (const k of ['version', 'padding', 'extension', 'csrcCount', 'marker', 'payloadType', 'payloadOffset'] as const) {
    assert.equal(ourRtp[k], theirRtp[k], `RTP ${k}`);
  }
  assert.equal(ours.length, 1412, 'a full first packet, as the original 1,412-byte fixture');

  const theirs = walkPs(fixture, theirRtp.payloadOffset);
  const mine = walkPs(ours, ourRtp.payloadOffset);
  const shape = (units: PsUnit[]): string[] => units.map((u) => (u.kind === 'pes' ? `pes:${u.id.toString(16)}` : u.kind));
  assert.deepEqual(shape(mine), shape(theirs), 'pack, system header, PSM, then the video PES sequence');

  // Pack header: MPEG-2 form, markers, the same stuffing length, SCR from the frame's DTS.
  const [tp, mp] = [byKind(theirs, 'pack')[0], byKind(mine, 'pack')[0]] as PackUnit[];
  assert.equal(mp.markersOk, tp.markersOk);
  assert.equal(mp.stuffingLength, tp.stuffingLength);
  assert.equal(mp.scr, tp.scr);
  assert.equal(mp.scrExtension, tp.scrExtension);
  assert.ok(mp.stuffing.every((b) => b === 0xff));

  // System header: same flags and the same stream list.
  const [ts, ms] = [byKind(theirs, 'system')[0], byKind(mine, 'system')[0]] as SystemHeaderUnit[];
  for (const k of ['markersOk', 'audioBound', 'videoBound', 'fixed', 'csps', 'audioLock', 'videoLock', 'packetRateRestriction', 'reservedBits'] as const) {
    assert.equal(ms[k], ts[k], `system header ${k}`);
  }
  assert.equal(ms.rateBound, mp.muxRate, 'rate_bound = program_mux_rate, as the camera does');
  assert.equal(ts.rateBound, tp.muxRate);
  assert.deepEqual(ms.streams.map((s) => [s.id, s.fixedBits, s.scale]), ts.streams.map((s) => [s.id, s.fixedBits, s.scale]));

  // PSM: same layout and stream entries; HK descriptors in program_stream_info; our CRC is big-endian.
  const [tm, mm] = [byKind(theirs, 'psm')[0], byKind(mine, 'psm')[0]] as PsmUnit[];
  assert.equal(mm.currentNext, tm.currentNext);
  assert.equal(mm.markerOk, tm.markerOk);
  assert.deepEqual(mm.programInfo.map((d) => [d.tag, d.data[0], d.data[1]]), tm.programInfo.map((d) => [d.tag, d.data[0], d.data[1]]));
  assert.deepEqual(mm.streams.map((s) => [s.type, s.id]), tm.streams.map((s) => [s.type, s.id]));
  assert.equal(mm.crcStored, mm.crcComputed);

  // PES sequence: one NAL per PES with a 4-byte start code, flags 0x8C, PTS on the first only,
  // 0xFF stuffing in the header padding each PES packet to a multiple of 4 bytes.
  const [tpes, mpes] = [byKind(theirs, 'pes'), byKind(mine, 'pes')];
  assert.deepEqual(mpes.map((p) => firstNalType(ours, p)), tpes.map((p) => firstNalType(fixture, p)));
  assert.deepEqual(mpes.map((p) => p.flags1), tpes.map((p) => p.flags1));
  assert.deepEqual(mpes.map((p) => p.flags2), tpes.map((p) => p.flags2));
  assert.deepEqual(mpes.map((p) => p.pts), tpes.map((p) => p.pts));
  assert.deepEqual(mpes.map((p) => p.truncated), tpes.map((p) => p.truncated));
  for (const [units, label] of [[tpes, 'theirs'], [mpes, 'ours']] as const) {
    for (const p of units) {
      assert.equal((6 + p.length) % 4, 0, `${label}: PES packet length is a multiple of 4`);
      assert.equal(p.stuffing.length, p.headerDataLength - (p.pts === undefined ? 0 : 5));
      assert.ok(p.stuffing.length <= 3);
      assert.equal(p.stuffing[0] ?? 0xff, 0xff);
      assert.equal(p.timestampMarkersOk, true);
    }
  }
});

test('psmCrcLittleEndian stores the CRC the way the fixture does', () => {
  const muxer = new PsMuxer({ video: 'h264', audio: 'aac', quirks: { psmCrcLittleEndian: true } });
  const psm = muxer.psmBytes;
  const [unit] = walkPs(psm) as PsmUnit[];
  assert.equal(psm.readUInt32LE(psm.length - 4), unit.crcComputed);
  assert.notEqual(unit.crcStored, unit.crcComputed);
});
