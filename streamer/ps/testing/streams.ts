/**
 * Test support: program streams built from fixtures, with the frames a demuxer must return.
 */
import { readFileSync } from 'node:fs';
import type { AudioFrame, MediaFrame, VideoCodec, VideoFrame } from '../../../common/codec/frame.ts';
import { fixturePath } from '../../../test/support/fixtures.ts';
import { splitAccessUnits } from './access-units.ts';
import type { AccessUnit } from './access-units.ts';
import { PsWriter } from './ps-writer.ts';
import type { PsWriterOptions } from './ps-writer.ts';

const cache = new Map<string, AccessUnit[]>();

/** Access units of an Annex-B fixture (cached). */
export function fixtureAccessUnits(name: string, codec: VideoCodec): AccessUnit[] {
  let aus = cache.get(name);
  if (!aus) {
    aus = splitAccessUnits(readFileSync(fixturePath(name)), codec);
    cache.set(name, aus);
  }
  return aus;
}

export interface BuiltStream {
  /** The PS bytes of each frame (video frames, each followed by its audio frame if any). */
  frames: Buffer[];
  /** The whole stream. */
  bytes: Buffer;
  video: VideoFrame[];
  audio: AudioFrame[];
}

export interface BuildOptions {
  codec: VideoCodec;
  units: AccessUnit[];
  writer?: PsWriterOptions;
  /** PTS/DTS of the first frame (default 90000). */
  base?: number;
  /** Give frames a PTS ahead of the DTS, cycling 0/1/2 frames (default true). */
  reorder?: boolean;
  /** Add a G.711 PES of 320 bytes after each video frame. */
  audio?: 'pcma' | 'pcmu';
}

/** A deterministic A-law-looking byte pattern without 00 00 01 in it. */
export function toneBytes(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = 0x55 ^ ((Math.round(40 * Math.sin((i + seed) / 3)) + 128) & 0xff) | 0x01;
  return b;
}

export function buildStream(o: BuildOptions): BuiltStream {
  const base = o.base ?? 90000;
  const w = new PsWriter({
    ...(o.audio ? { audioStreamType: o.audio === 'pcma' ? 0x90 : 0x91 } : {}),
    ...o.writer,
  });
  const frames: Buffer[] = [];
  const video: VideoFrame[] = [];
  const audio: AudioFrame[] = [];
  o.units.forEach((u, i) => {
    const dts = base + i * 3600;
    const pts = o.reorder === false ? dts : dts + (i % 3) * 3600;
    frames.push(w.frame({ kind: 'video', pts, dts, keyframe: u.keyframe, data: u.data }));
    video.push({ kind: 'video', codec: o.codec, pts, dts, keyframe: u.keyframe, data: u.data });
    if (o.audio) {
      const data = toneBytes(320, i);
      frames.push(w.frame({ kind: 'audio', pts: dts, data }));
      audio.push({ kind: 'audio', codec: o.audio, pts: dts, data });
    }
  });
  return { frames, bytes: Buffer.concat(frames), video, audio };
}

/** Splits demuxer output by kind. */
export function byKind(frames: MediaFrame[]): { video: VideoFrame[]; audio: AudioFrame[] } {
  return {
    video: frames.filter((f): f is VideoFrame => f.kind === 'video'),
    audio: frames.filter((f): f is AudioFrame => f.kind === 'audio'),
  };
}

/** A short description of the first difference between two frame lists, or null. */
export function diffFrames(got: readonly MediaFrame[], want: readonly MediaFrame[]): string | null {
  for (let i = 0; i < Math.max(got.length, want.length); i++) {
    const g = got[i];
    const w = want[i];
    if (!g || !w) return `frame ${i}: got ${g ? 'a frame' : 'nothing'}, want ${w ? 'a frame' : 'nothing'} (got ${got.length}, want ${want.length})`;
    const gv = g.kind === 'video' ? `${g.codec} pts ${g.pts} dts ${g.dts} key ${g.keyframe}` : `${g.codec} pts ${g.pts}`;
    const wv = w.kind === 'video' ? `${w.codec} pts ${w.pts} dts ${w.dts} key ${w.keyframe}` : `${w.codec} pts ${w.pts}`;
    if (g.kind !== w.kind || gv !== wv) return `frame ${i}: got ${g.kind} ${gv}, want ${w.kind} ${wv}`;
    if (!g.data.equals(w.data)) return `frame ${i}: data differs (${g.data.length} vs ${w.data.length} bytes)`;
  }
  return null;
}
