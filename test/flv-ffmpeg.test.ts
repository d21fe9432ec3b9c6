/**
 * The FLV muxer's output checked by FFmpeg 5.1: the file must decode without a single error and
 * ffprobe must count exactly the frames that were muxed, with the right codec, size and rate.
 *
 * FFmpeg 5.1 knows neither HEVC FLV carriage (legacy codec id 12 is reported as an unknown codec with
 * tag 0x000c; enhanced 'hvc1' tags are misread as Screen Video), so H.265 is checked by taking the
 * FLV apart (hvcC arrays + length-prefixed NAL units → Annex-B) and decoding that with FFmpeg's HEVC
 * decoder, and the hvcC is compared with the one FFmpeg writes into MP4.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { MediaFrame } from '../common/codec/frame.ts';
import { fixturePath } from './support/fixtures.ts';
import { hevcAnnexBFromFlv } from './support/media-check.ts';
import { FlvMuxer } from '../streamer/flv/flv-muxer.ts';
import type { HevcMode } from '../streamer/flv/flv-muxer.ts';
import { flvFileHeader } from '../streamer/flv/flv-tag.ts';
import { readFlv } from './support/flv-reader.ts';
import { aacFramesFromAdts, g711Tone, interleave, videoFramesFromAnnexB } from '../streamer/flv/testing/fixture-frames.ts';

const run = promisify(execFile);
const dir = mkdtempSync(path.join(tmpdir(), 'gbcast-flv-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const fixture = (name: string) => readFileSync(fixturePath(name));
const START = 90000 * 3600; // an hour into the camera's clock

function muxToFile(name: string, frames: MediaFrame[], hevc: HevcMode = 'enhanced'): { file: string; muxer: FlvMuxer } {
  const parts: Buffer[] = [
    flvFileHeader(frames.some((f) => f.kind === 'video'), frames.some((f) => f.kind === 'audio')),
  ];
  const muxer = new FlvMuxer({ hevc }, (t) => parts.push(t.data));
  for (const f of frames) muxer.push(f);
  const file = path.join(dir, name);
  writeFileSync(file, Buffer.concat(parts));
  return { file, muxer };
}

async function decodeErrors(file: string, format?: string): Promise<string> {
  const args = ['-v', 'error', ...(format ? ['-f', format] : []), '-i', file, '-f', 'null', '-'];
  const { stderr } = await run('ffmpeg', args, { maxBuffer: 1 << 24 });
  return stderr;
}

interface ProbedStream {
  codec_name: string;
  codec_type: string;
  width?: number;
  height?: number;
  sample_rate?: string;
  channels?: number;
  nb_read_frames?: string;
  r_frame_rate?: string;
  codec_tag?: string;
}

async function probe(file: string, format?: string): Promise<ProbedStream[]> {
  const args = ['-v', 'error', '-count_frames', '-show_streams', '-of', 'json', ...(format ? ['-f', format] : []), file];
  const { stdout } = await run('ffprobe', args, { maxBuffer: 1 << 24 });
  return (JSON.parse(stdout) as { streams: ProbedStream[] }).streams;
}

test('H.264 (no B-frames) + G.711A tone: decodes cleanly, every frame counted', async () => {
  const video = videoFramesFromAnnexB('h264', fixture('avatar.h264'), 25, START);
  const audio = g711Tone('pcma', 12, { startTicks: START });
  const { file, muxer } = muxToFile('avc-pcma.flv', interleave<MediaFrame>(video, audio));
  assert.equal(muxer.stats.videoTags, 308);
  assert.equal(await decodeErrors(file), '');
  const [v, a] = await probe(file);
  assert.deepEqual([v.codec_name, v.width, v.height, v.r_frame_rate, v.nb_read_frames], ['h264', 768, 320, '25/1', '308']);
  assert.deepEqual([a.codec_name, a.sample_rate, a.channels, a.nb_read_frames], ['pcm_alaw', '8000', 1, String(audio.length)]);
});

test('H.264 with B-frames and cropping + AAC (3 ADTS frames per input frame): decodes cleanly', async () => {
  const video = videoFramesFromAnnexB('h264', fixture('stress-tmp.h264'), 25, START);
  const audio = aacFramesFromAdts(fixture('avatar.aac'), 3, START);
  const { file } = muxToFile('avc-aac.flv', interleave<MediaFrame>(video, audio));
  assert.equal(await decodeErrors(file), '');
  const [v, a] = await probe(file);
  assert.deepEqual([v.codec_name, v.width, v.height, v.nb_read_frames], ['h264', 852, 480, String(video.length)]);
  assert.deepEqual([a.codec_name, a.sample_rate, a.channels, a.nb_read_frames], ['aac', '44100', 2, '1102']);
  // Presentation order survives: decoded frames come out with strictly increasing timestamps.
  const { stdout } = await run('ffprobe', ['-v', 'error', '-select_streams', 'v', '-show_entries', 'frame=pts', '-of', 'csv=p=0', file], { maxBuffer: 1 << 24 });
  const pts = stdout.split('\n').filter((l) => /^\d+/.test(l)).map((l) => Number.parseInt(l, 10));
  assert.equal(pts.length, video.length);
  for (let i = 1; i < pts.length; i++) assert.ok(pts[i] > pts[i - 1], `frame ${i}: ${pts[i]} after ${pts[i - 1]}`);
});

test('a resolution change mid-stream (480x272 then 768x320) + G.711U decodes cleanly', async () => {
  const first = videoFramesFromAnnexB('h264', fixture('bbb-480x272.h264'), 25, START);
  const second = videoFramesFromAnnexB('h264', fixture('avatar.h264'), 25, first.at(-1)!.dts + 3600);
  const audio = g711Tone('pcmu', 22, { startTicks: START });
  const { file, muxer } = muxToFile('avc-switch.flv', interleave<MediaFrame>([...first, ...second], audio));
  assert.equal(muxer.stats.sequenceHeaders, 2);
  assert.equal(muxer.stats.metadataTags, 3); // video, video + audio, then the new size
  assert.equal(await decodeErrors(file), '');
  // ffprobe 5.1 segfaults on any onMetaData tag after the first packets (even one FFmpeg wrote), so
  // the frames are counted from FFmpeg's decoder output instead: one line per decoded frame.
  const { stdout } = await run('ffmpeg', ['-v', 'error', '-i', file, '-autoscale', '0', '-f', 'framecrc', '-'], { maxBuffer: 1 << 24 });
  const lines = stdout.split('\n').filter((l) => /^\d+,/.test(l));
  const sizes = new Map<string, number>();
  for (const l of lines.filter((x) => x.startsWith('0,'))) {
    const size = l.split(',')[4].trim();
    sizes.set(size, (sizes.get(size) ?? 0) + 1);
  }
  // rawvideo yuv420p frame sizes: 480x272 and 768x320
  assert.deepEqual(Object.fromEntries(sizes), { [String(480 * 272 * 1.5)]: first.length, [String(768 * 320 * 1.5)]: second.length });
  assert.equal(lines.filter((x) => x.startsWith('1,')).length > 0, true);
});

for (const mode of ['enhanced', 'legacy'] as const) {
  test(`H.265 ${mode}: the NAL units and hvcC carried in the FLV decode cleanly (FFmpeg 5.1 cannot read the FLV itself)`, async () => {
    const video = videoFramesFromAnnexB('h265', fixture('avatar.h265'), 25, START);
    const { file } = muxToFile(`hevc-${mode}.flv`, video, mode);
    const es = path.join(dir, `hevc-${mode}.h265`);
    const { annexB, carriage } = hevcAnnexBFromFlv(readFileSync(file));
    assert.equal(carriage, mode === 'enhanced' ? 'hevc-enhanced' : 'hevc-legacy');
    writeFileSync(es, annexB);
    assert.equal(await decodeErrors(es, 'hevc'), '');
    const [v] = await probe(es, 'hevc');
    assert.deepEqual([v.codec_name, v.width, v.height, v.nb_read_frames], ['hevc', 768, 320, '308']);
  });
}

test('FFmpeg 5.1 and codec id 12: it sees an unknown video codec with tag 0x000c (documents why the test above exists)', async () => {
  const video = videoFramesFromAnnexB('h265', fixture('avatar.h265'), 25, START).slice(0, 30);
  const { file } = muxToFile('hevc-legacy-probe.flv', video, 'legacy');
  const { stdout } = await run('ffprobe', ['-v', 'quiet', '-show_streams', '-of', 'json', file]);
  const [v] = (JSON.parse(stdout) as { streams: ProbedStream[] }).streams;
  // If a newer FFmpeg learns codec 12 this fails: then the FLV itself can be decoded in the test above.
  assert.deepEqual([v.codec_type, v.codec_name, v.codec_tag], ['video', undefined, '0x000c']);
});

/** The payload of the first box of `type` found in an MP4 file. */
function mp4Box(file: string, type: string): Buffer {
  const buf = readFileSync(file);
  const at = buf.indexOf(type, 0, 'latin1');
  assert.ok(at > 4, `${type} in ${file}`);
  return buf.subarray(at + 4, at - 4 + buf.readUInt32BE(at - 4));
}

test('the hvcC equals the one FFmpeg writes for an hev1 MP4; the avcC matches FFmpeg field for field', async () => {
  const h265 = path.join(dir, 'ref.h265.mp4');
  await run('ffmpeg', ['-v', 'error', '-y', '-r', '25', '-i', fixturePath('avatar.h265'), '-c', 'copy', '-tag:v', 'hev1', h265]);
  const ours265 = readFlv(readFileSync(muxToFile('hevc-ref.flv', videoFramesFromAnnexB('h265', fixture('avatar.h265')).slice(0, 2)).file)).tags[1];
  assert.deepEqual(ours265.body.subarray(5), mp4Box(h265, 'hvcC'));

  const h264 = path.join(dir, 'ref.h264.mp4');
  await run('ffmpeg', ['-v', 'error', '-y', '-r', '25', '-i', fixturePath('avatar.h264'), '-c', 'copy', h264]);
  const ref = mp4Box(h264, 'avcC');
  const avccTag = readFlv(readFileSync(muxToFile('avc-ref.flv', videoFramesFromAnnexB('h264', fixture('avatar.h264')).slice(0, 2)).file)).tags[1];
  const avcc = avccTag.body.subarray(5);
  assert.deepEqual(avcc.subarray(0, 6), ref.subarray(0, 6)); // version, profile, compatibility, level, sizes
  assert.deepEqual(avcc.subarray(-4), ref.subarray(-4)); // chroma format, bit depths, no SPS ext
  // FFmpeg's parser keeps the zero byte of a following 4-byte start code on the PPS; the NAL units
  // themselves are equal apart from that trailing zero.
  const spsLen = avcc.readUInt16BE(6);
  assert.deepEqual(avcc.subarray(6, 8 + spsLen), ref.subarray(6, 8 + spsLen));
});
