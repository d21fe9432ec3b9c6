/**
 * FFmpeg reads the PS we write: codec, size and the exact number of video frames, no decoder or
 * muxer error for the video, and frames leaving the decoder in presentation order one frame apart
 * (which checks the PTS derived from the POC for files with B-frames). ffmpeg 5.1 does not know the
 * GB28181 G.711 stream types (0x90/0x91) and takes that audio for MP2: only video is checked there.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { fixturePath } from '../../test/support/fixtures.ts';
import { g711ToneSource, parseAdts } from './audio-source.ts';
import type { AudioSource } from './audio-source.ts';
import { muxToPs } from './ps-file.ts';
import type { PsQuirks } from './ps-muxer.ts';
import { parseAnnexB } from './video-source.ts';

const run = promisify(execFile);
let dir = '';

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'gbcast-ps-'));
});
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface Probe {
  streams: Array<{ codec_type: string; codec_name: string; width?: number; height?: number; nb_read_frames?: string; sample_rate?: string }>;
}

async function writePs(name: string, video: string, audio: AudioSource | undefined, opts: { maxVideoFrames?: number; loop?: boolean; quirks?: PsQuirks } = {}) {
  const source = parseAnnexB(await readFile(fixturePath(video)));
  const result = muxToPs(source, audio, opts);
  const file = path.join(dir, name);
  await writeFile(file, result.ps);
  return { file, ...result };
}

async function probe(file: string): Promise<Probe> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-show_streams', '-count_frames', '-of', 'json', file], { maxBuffer: 1 << 24 });
  return JSON.parse(stdout) as Probe;
}

/** stderr of decoding the video stream to nothing: must be empty. */
async function decodeErrors(file: string, map = '0:v'): Promise<string> {
  const { stderr } = await run('ffmpeg', ['-hide_banner', '-v', 'error', '-i', file, '-map', map, '-f', 'null', '-'], { maxBuffer: 1 << 24 });
  return stderr;
}

/** PTS of the decoded video frames in output order. */
async function framePts(file: string): Promise<number[]> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-select_streams', 'v', '-show_entries', 'frame=pts', '-of', 'default=nw=1:nk=1', file], {
    maxBuffer: 1 << 24,
  });
  return stdout.split('\n').filter((l) => /^\d+$/.test(l)).map(Number);
}

function assertConsecutive(pts: number[], count: number): void {
  assert.equal(pts.length, count);
  for (let i = 1; i < pts.length; i++) assert.equal(pts[i] - pts[i - 1], 3600, `frame ${i} presents one frame after the previous`);
}

test('avatar.h264 + AAC: H.264 768x320, every frame, AAC 44.1 kHz, no errors', async () => {
  const aac = parseAdts(await readFile(fixturePath('avatar.aac')));
  const { file, videoFrames, audioFrames } = await writePs('avatar-h264-aac.ps', 'avatar.h264', aac);
  assert.equal(videoFrames, 308);
  assert.ok(audioFrames > 500);
  const p = await probe(file);
  const v = p.streams.find((s) => s.codec_type === 'video');
  const a = p.streams.find((s) => s.codec_type === 'audio');
  assert.deepEqual([v?.codec_name, v?.width, v?.height, Number(v?.nb_read_frames)], ['h264', 768, 320, videoFrames]);
  assert.deepEqual([a?.codec_name, a?.sample_rate, Number(a?.nb_read_frames)], ['aac', '44100', audioFrames]);
  assert.equal(await decodeErrors(file, '0'), '', 'both streams decode cleanly');
  assertConsecutive(await framePts(file), videoFrames);
});

test('bbb-480x272.h264 + G.711A: H.264 480x272, every frame, video decodes cleanly', async () => {
  const { file, videoFrames } = await writePs('bbb-g711a.ps', 'bbb-480x272.h264', g711ToneSource('pcma', 20));
  assert.equal(videoFrames, 250);
  const p = await probe(file);
  const v = p.streams.find((s) => s.codec_type === 'video');
  assert.deepEqual([v?.codec_name, v?.width, v?.height, Number(v?.nb_read_frames)], ['h264', 480, 272, 250]);
  assert.ok(p.streams.some((s) => s.codec_type === 'audio'), 'an audio stream (misread as MP2 by ffmpeg 5.1)');
  assert.equal(await decodeErrors(file), '');
});

test('avatar.h265 (B-frames) + G.711U 40 ms: HEVC 768x320, every frame, presentation order right', async () => {
  const { file, videoFrames } = await writePs('avatar-h265.ps', 'avatar.h265', g711ToneSource('pcmu', 40));
  assert.equal(videoFrames, 308);
  const p = await probe(file);
  const v = p.streams.find((s) => s.codec_type === 'video');
  assert.deepEqual([v?.codec_name, v?.width, v?.height, Number(v?.nb_read_frames)], ['hevc', 768, 320, 308]);
  assert.equal(await decodeErrors(file), '');
  assertConsecutive(await framePts(file), 308);
});

test('looped H.265 with Hikvision quirks: 2.5 passes decode as one continuous stream', async () => {
  const { file, videoFrames } = await writePs('avatar-h265-loop.ps', 'avatar.h265', undefined, {
    loop: true,
    maxVideoFrames: 770,
    quirks: { privateStream: true, psmCrcLittleEndian: true },
  });
  assert.equal(videoFrames, 770);
  const p = await probe(file);
  const v = p.streams.find((s) => s.codec_type === 'video');
  assert.deepEqual([v?.codec_name, Number(v?.nb_read_frames)], ['hevc', 770]);
  assert.equal(await decodeErrors(file), '');
  // The last partial pass stops in decode order, so its final B-frames are missing: check the full passes.
  const pts = await framePts(file);
  assertConsecutive(pts.slice(0, 616), 616);
});
