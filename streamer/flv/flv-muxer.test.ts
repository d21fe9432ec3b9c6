import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { AudioFrame, MediaFrame, VideoFrame } from '../../common/codec/frame.ts';
import { splitNals } from '../../common/codec/annexb.ts';
import { fixturePath } from '../../test/support/fixtures.ts';
import { decodeAmf0, Amf0EcmaArray } from './amf0.ts';
import { FlvMuxer, HVC1_FOURCC } from './flv-muxer.ts';
import type { FlvMuxerOptions } from './flv-muxer.ts';
import { flvFileHeader, flvTagBody } from './flv-tag.ts';
import type { FlvTag } from './flv-tag.ts';
import { readFlvTags, readLengthPrefixedNals, readVideoTagHeader } from '../../test/support/flv-reader.ts';
import { aacFramesFromAdts, g711Tone, videoFramesFromAnnexB } from './testing/fixture-frames.ts';

const fixture = (name: string) => readFileSync(fixturePath(name));
const avatar264 = videoFramesFromAnnexB('h264', fixture('avatar.h264'));
const bbb = videoFramesFromAnnexB('h264', fixture('bbb-480x272.h264'));
const stress = videoFramesFromAnnexB('h264', fixture('stress-tmp.h264')).slice(0, 120);
const avatar265 = videoFramesFromAnnexB('h265', fixture('avatar.h265'));

function mux(frames: MediaFrame[], options: FlvMuxerOptions = {}): { tags: FlvTag[]; muxer: FlvMuxer } {
  const tags: FlvTag[] = [];
  const muxer = new FlvMuxer(options, (t) => tags.push(t));
  for (const f of frames) muxer.push(f);
  return { tags, muxer };
}

function metadataOf(tag: FlvTag): Record<string, unknown> {
  const [name, arr] = decodeAmf0(flvTagBody(tag));
  assert.equal(name, 'onMetaData');
  assert.ok(arr instanceof Amf0EcmaArray);
  return arr.entries;
}

const media = (tags: FlvTag[], type: 8 | 9) => tags.filter((t) => t.type === type && !t.isHeader);
const nalType264 = (n: Buffer) => n[0] & 0x1f;
const nalType265 = (n: Buffer) => (n[0] >> 1) & 0x3f;

test('tag framing: header, timestamp with extension byte, PreviousTagSize; file header', () => {
  const { tags } = mux(g711Tone('pcma', 0.02, { startTicks: 0 }));
  const t = tags[tags.length - 1];
  assert.deepEqual([...t.data.subarray(0, 11)], [8, 0, 0, 161, 0, 0, 0, 0, 0, 0, 0]);
  assert.equal(t.data.readUInt32BE(t.data.length - 4), 11 + 161);
  assert.equal(flvTagBody(t).length, 161);
  assert.equal(flvTagBody(t).buffer, t.data.buffer); // a view, not a copy
  assert.deepEqual([...flvFileHeader(true, true)], [0x46, 0x4c, 0x56, 1, 5, 0, 0, 0, 9, 0, 0, 0, 0]);
  assert.equal(flvFileHeader(true, false)[4], 1);
  assert.equal(flvFileHeader(false, true)[4], 4);
  // 2^24 + 5 ms: lower 24 bits, then the extension byte
  const late = mux([{ kind: 'audio', codec: 'pcmu', pts: 0, data: Buffer.alloc(8) }, { kind: 'audio', codec: 'pcmu', pts: (2 ** 24 + 5) * 90, data: Buffer.alloc(8) }]).tags.at(-1)!;
  assert.deepEqual([...late.data.subarray(4, 8)], [0, 0, 5, 1]);
  assert.equal(late.timestamp, 2 ** 24 + 5);
});

test('H.264: metadata, AVC sequence header from the SPS/PPS, then length-prefixed frames without AUD', () => {
  const { tags, muxer } = mux(avatar264);
  assert.equal(tags[0].type, 18);
  assert.deepEqual(metadataOf(tags[0]), { videocodecid: 7, width: 768, height: 320, framerate: 25, encoder: 'gbcast' });
  const seq = tags[1];
  assert.deepEqual([seq.type, seq.isHeader, seq.keyframe, seq.timestamp], [9, true, true, 0]);
  const body = flvTagBody(seq);
  assert.deepEqual([...body.subarray(0, 5)], [0x17, 0, 0, 0, 0]);
  const nals = splitNals(fixture('avatar.h264'));
  const sps = nals.find((n) => nalType264(n) === 7)!;
  const pps = nals.find((n) => nalType264(n) === 8)!;
  const expected = Buffer.concat([
    Buffer.from([1, 100, 0, 32, 0xff, 0xe1]),
    Buffer.from([sps.length >> 8, sps.length & 0xff]),
    sps,
    Buffer.from([1, pps.length >> 8, pps.length & 0xff]),
    pps,
    Buffer.from([0xfd, 0xf8, 0xf8, 0]), // high profile: chroma 4:2:0, 8-bit, no SPS ext
  ]);
  assert.deepEqual(body.subarray(5), expected);

  const frames = media(tags, 9);
  assert.equal(frames.length, avatar264.length);
  assert.equal(muxer.stats.sequenceHeaders, 1); // the SPS repeats every GOP, unchanged
  frames.forEach((tag, i) => {
    const h = readVideoTagHeader(flvTagBody(tag));
    assert.equal(h.codecId, 7);
    assert.equal(h.packetType, 1);
    assert.equal(h.frameType, avatar264[i].keyframe ? 1 : 2);
    assert.equal(tag.keyframe, avatar264[i].keyframe);
    assert.equal(tag.timestamp, i * 40);
    const got = readLengthPrefixedNals(flvTagBody(tag), h.dataOffset);
    const want = splitNals(avatar264[i].data).filter((n) => nalType264(n) !== 9);
    assert.deepEqual(got, want);
  });
  assert.deepEqual(muxer.headerTags(), [tags[0], tags[1]]);
});

test('composition time is PTS - DTS in ms, signed 24-bit', () => {
  const { tags } = mux(stress);
  const frames = media(tags, 9);
  let reordered = 0;
  frames.forEach((tag, i) => {
    const cts = readVideoTagHeader(flvTagBody(tag)).compositionTime;
    assert.equal(cts, Math.floor(stress[i].pts / 90) - Math.floor(stress[i].dts / 90));
    if (cts !== 80) reordered++;
  });
  assert.ok(reordered > 10, 'B-frames give varying offsets');
  // PTS before DTS (broken source) still encodes as a negative SI24.
  const key = avatar264[0];
  const neg = mux([{ ...key, pts: 9000, dts: 18000 }]).tags.at(-1)!;
  assert.equal(readVideoTagHeader(flvTagBody(neg)).compositionTime, -100);
});

test('nothing before the first keyframe with parameter sets; frames resume at it', () => {
  const firstKey = avatar264.findIndex((f, i) => i > 0 && f.keyframe);
  const { tags, muxer } = mux(avatar264.slice(3));
  const v = media(tags, 9);
  assert.equal(v[0].keyframe, true);
  assert.equal(v.length, avatar264.length - firstKey);
  assert.equal(muxer.stats.droppedBeforeKeyframe, firstKey - 3);
  assert.deepEqual(tags.slice(0, 2).map((t) => t.type), [18, 9]);
  // A keyframe without any SPS/PPS seen yet is not a start either.
  const keyOnly = { ...avatar264[firstKey], data: Buffer.concat(splitNals(avatar264[firstKey].data).filter((n) => nalType264(n) === 5).map((n) => Buffer.concat([Buffer.from([0, 0, 0, 1]), n]))) };
  const r = mux([keyOnly]);
  assert.equal(r.tags.length, 0);
  assert.equal(r.muxer.stats.droppedBeforeKeyframe, 1);
});

test('resolution change mid-stream: new metadata and sequence header before the first new keyframe', () => {
  const shift = bbb.at(-1)!.dts + 3600;
  const second = avatar264.slice(0, 30).map((f) => ({ ...f, pts: f.pts + shift, dts: f.dts + shift }));
  const { tags, muxer } = mux([...bbb, ...second]);
  const headers = tags.filter((t) => t.isHeader);
  assert.deepEqual(headers.map((t) => t.type), [18, 9, 18, 9]);
  assert.deepEqual([metadataOf(headers[0]).width, metadataOf(headers[0]).height], [480, 272]);
  assert.deepEqual([metadataOf(headers[2]).width, metadataOf(headers[2]).height], [768, 320]);
  const i = tags.indexOf(headers[3]);
  assert.equal(tags[i + 1].keyframe, true);
  assert.equal(tags[i + 1].timestamp, Math.floor(shift / 90));
  assert.equal(flvTagBody(headers[3])[6], 100); // profile
  assert.equal(flvTagBody(headers[3])[8], 32); // level of the new SPS
  assert.deepEqual(muxer.headerTags(), [headers[2], headers[3]]);
});

test('several PPS are all carried in the avcC, ordered by id', () => {
  const key = avatar264[0];
  const nals = splitNals(key.data);
  const pps0 = nals.find((n) => nalType264(n) === 8)!;
  // pic_parameter_set_id ue(1) = '010': rewrite the first bits of a copy (the rest is irrelevant here)
  const pps1 = Buffer.from([0x68, 0x5f, 0xff]);
  const sc = Buffer.from([0, 0, 0, 1]);
  const data = Buffer.concat(nals.flatMap((n) => (nalType264(n) === 8 ? [sc, pps1, sc, n] : [sc, n])));
  const { tags } = mux([{ ...key, data }]);
  const body = flvTagBody(tags[1]);
  let o = 5 + 6;
  o += 2 + body.readUInt16BE(o);
  assert.equal(body[o], 2);
  assert.deepEqual(body.subarray(o + 3, o + 3 + pps0.length), pps0);
  assert.deepEqual(body.subarray(o + 3 + pps0.length + 2, o + 3 + pps0.length + 2 + 3), pps1);
});

test('H.265 enhanced: hvc1 SequenceStart with hvcC, CodedFramesX when CTS is 0, CodedFrames otherwise', () => {
  const { tags } = mux(avatar265, { hevc: 'enhanced' });
  assert.equal(metadataOf(tags[0]).videocodecid, HVC1_FOURCC);
  assert.equal(HVC1_FOURCC, 1752589105);
  const seq = flvTagBody(tags[1]);
  assert.deepEqual([...seq.subarray(0, 5)], [0x90, 0x68, 0x76, 0x63, 0x31]);
  const hvcc = seq.subarray(5);
  // configurationVersion, Main profile, compatibility Main+Main10, progressive+frame-only, level 63,
  // min_spatial 0, parallelism 0, 4:2:0, 8/8-bit, avgFrameRate 0, 1 layer, nested, 4-byte lengths, 3 arrays
  assert.deepEqual(
    [...hvcc.subarray(0, 23)],
    [1, 0x01, 0x60, 0, 0, 0, 0x90, 0, 0, 0, 0, 0, 63, 0xf0, 0, 0xfc, 0xfd, 0xf8, 0xf8, 0, 0, 0x0f, 3],
  );
  const nals = splitNals(fixture('avatar.h265'));
  let o = 23;
  for (const type of [32, 33, 34]) {
    assert.deepEqual([hvcc[o], hvcc.readUInt16BE(o + 1)], [type, 1]); // array_completeness 0
    const len = hvcc.readUInt16BE(o + 3);
    assert.deepEqual(hvcc.subarray(o + 5, o + 5 + len), nals.find((n) => nalType265(n) === type));
    o += 5 + len;
  }
  assert.equal(o, hvcc.length);

  const frames = media(tags, 9);
  assert.equal(frames.length, avatar265.length);
  let withCts = 0;
  frames.forEach((tag, i) => {
    const body = flvTagBody(tag);
    const h = readVideoTagHeader(body);
    const cts = Math.floor(avatar265[i].pts / 90) - Math.floor(avatar265[i].dts / 90);
    assert.equal(h.enhanced, true);
    assert.equal(h.fourCc, 'hvc1');
    assert.equal(h.frameType, avatar265[i].keyframe ? 1 : 2);
    assert.equal(h.packetType, cts === 0 ? 3 : 1);
    assert.equal(h.compositionTime, cts);
    if (cts !== 0) withCts++;
    const got = readLengthPrefixedNals(body, h.dataOffset);
    assert.deepEqual(got, splitNals(avatar265[i].data).filter((n) => nalType265(n) !== 35));
  });
  assert.ok(withCts > 100);
});

test('H.265 legacy: codec id 12 with the AVC packet layout', () => {
  const { tags } = mux(avatar265, { hevc: 'legacy' });
  assert.equal(metadataOf(tags[0]).videocodecid, 12);
  const seq = flvTagBody(tags[1]);
  assert.deepEqual([...seq.subarray(0, 6)], [0x1c, 0, 0, 0, 0, 1]);
  const enhancedRecord = flvTagBody(mux(avatar265.slice(0, 1), { hevc: 'enhanced' }).tags[1]).subarray(5);
  assert.deepEqual(seq.subarray(5), enhancedRecord);
  const frames = media(tags, 9);
  frames.forEach((tag, i) => {
    const h = readVideoTagHeader(flvTagBody(tag));
    assert.deepEqual([h.enhanced, h.codecId, h.packetType, h.frameType], [false, 12, 1, avatar265[i].keyframe ? 1 : 2]);
  });
});

test('G.711: sound header 0x72 (A-law) / 0x82 (µ-law), samples copied, metadata 8 kHz mono', () => {
  for (const [codec, header, id] of [['pcma', 0x72, 7], ['pcmu', 0x82, 8]] as const) {
    const tone = g711Tone(codec, 1);
    const { tags } = mux(tone);
    assert.deepEqual(metadataOf(tags[0]), { audiocodecid: id, audiosamplerate: 8000, audiosamplesize: 16, stereo: false, encoder: 'gbcast' });
    const a = media(tags, 8);
    assert.equal(a.length, 50);
    a.forEach((t, i) => {
      const body = flvTagBody(t);
      assert.equal(body[0], header);
      assert.deepEqual(body.subarray(1), tone[i].data);
      assert.equal(t.timestamp, i * 20);
    });
  }
});

test('AAC: AudioSpecificConfig sequence header, then one raw frame per ADTS frame, header stripped', () => {
  const adts = fixture('avatar.aac');
  const frames = aacFramesFromAdts(adts, 3);
  const { tags, muxer } = mux(frames);
  assert.deepEqual(metadataOf(tags[0]), { audiocodecid: 10, audiosamplerate: 44100, audiosamplesize: 16, stereo: true, encoder: 'gbcast' });
  assert.deepEqual([...flvTagBody(tags[1])], [0xaf, 0, 0x12, 0x10]);
  assert.equal(tags[1].isHeader, true);
  const raw = media(tags, 8);
  assert.equal(raw.length, 1102);
  assert.equal(muxer.stats.sequenceHeaders, 1);
  // third frame of the first AudioFrame: 2 × 1024 samples later
  assert.deepEqual(raw.slice(0, 4).map((t) => t.timestamp), [0, 23, 46, 69]);
  const first = flvTagBody(raw[0]);
  const len = ((adts[3] & 3) << 11) | (adts[4] << 3) | (adts[5] >> 5);
  assert.deepEqual([...first.subarray(0, 2)], [0xaf, 1]);
  assert.deepEqual(first.subarray(2), adts.subarray(7, len));
});

test('timestamps: one timeline from the first frame, monotonic per track, clamp small steps back, re-base big ones', () => {
  const a = (ms: number): AudioFrame => ({ kind: 'audio', codec: 'pcma', pts: 900000 + ms * 90, data: Buffer.alloc(160) });
  const v = avatar264.slice(0, 3).map((f, i): VideoFrame => ({ ...f, dts: 900000 + (10 + i * 40) * 90, pts: 900000 + (10 + i * 40) * 90 }));
  const { tags, muxer } = mux([a(0), v[0], a(20), a(15), v[1], a(-4000), a(-3980), v[2]]);
  const ts = (type: 8 | 9) => media(tags, type).map((t) => t.timestamp);
  assert.deepEqual(ts(8), [0, 20, 20, 21, 41]);
  assert.equal(muxer.stats.timestampClamps, 1);
  assert.equal(muxer.stats.timestampRebases, 1);
  assert.deepEqual(ts(9).slice(0, 2), [10, 50]);
  // Audio earlier than the first video frame that set the base is clamped to 0.
  const r = mux([v[0], a(0)]);
  assert.deepEqual(r.tags.filter((t) => !t.isHeader).map((t) => t.timestamp), [0, 0]);
  assert.equal(r.muxer.stats.timestampClamps, 1);
});

/** Annex-B from NAL units. */
const annexB = (...nals: Buffer[]) => Buffer.concat(nals.flatMap((n) => [Buffer.from([0, 0, 0, 1]), n]));

test('frame rate measured from DTS when the SPS has no VUI timing; metadata re-emitted once', () => {
  // Baseline SPS without VUI: 352x288 (hand-assembled), any PPS, slices the muxer does not read.
  const sps = Buffer.from([0x67, 0x42, 0x00, 0x1e, 0xf4, 0x0b, 0x04, 0xb2]);
  const pps = Buffer.from([0x68, 0xce, 0x38, 0x80]);
  const frames: VideoFrame[] = Array.from({ length: 20 }, (_, i) => ({
    kind: 'video',
    codec: 'h264',
    dts: i * 3000,
    pts: i * 3000,
    keyframe: i % 10 === 0,
    data: i % 10 === 0 ? annexB(sps, pps, Buffer.from([0x65, 0x88, 1, 2])) : annexB(Buffer.from([0x41, 0x9a, 3])),
  }));
  const { tags, muxer } = mux(frames);
  const metas = tags.filter((t) => t.type === 18).map(metadataOf);
  assert.deepEqual(metas, [
    { videocodecid: 7, width: 352, height: 288, encoder: 'gbcast' },
    { videocodecid: 7, width: 352, height: 288, framerate: 30, encoder: 'gbcast' },
  ]);
  assert.equal(muxer.stats.metadataTags, 2);
  assert.equal(media(tags, 9).length, 20);
});

test('hostile input: garbage, truncated and oversized frames are counted, never thrown', () => {
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
  const tags: FlvTag[] = [];
  const muxer = new FlvMuxer({ hevc: 'enhanced' }, (t) => tags.push(t));
  const real = [...avatar264.slice(0, 5), ...avatar265.slice(0, 5)];
  for (let i = 0; i < 3000; i++) {
    const base = real[i % real.length];
    const data = Buffer.from(base.data.subarray(0, 1 + (rand() * 97) % Math.min(base.data.length, 400)));
    for (let k = 0; k < 1 + (i % 5); k++) data[(rand() * 31) % data.length] = rand();
    muxer.push({ ...base, data, dts: i * 3600, pts: i * 3600 + (rand() - 128) * 90 });
    const audio = Buffer.from(Array.from({ length: rand() }, rand));
    if (i % 3 === 0) audio[0] = 0xff;
    muxer.push({ kind: 'audio', codec: i % 2 ? 'aac' : 'pcmu', pts: i * 3600, data: audio });
  }
  muxer.push({ kind: 'audio', codec: 'aac', pts: 0, data: Buffer.alloc(0) });
  muxer.push({ ...avatar264[0], data: Buffer.alloc(0) });
  assert.ok(muxer.stats.droppedInvalid > 0);
  for (const t of tags) {
    // every emitted tag is well-formed
    assert.equal(readFlvTags(t.data).tags.length, 1);
  }
});
