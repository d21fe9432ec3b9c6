/**
 * Audio sources: G.711 A-law/µ-law from a generated tone, or AAC ADTS frames from a file. Like the
 * video source, a source is built once and shared; streams only keep a cursor into `frames`.
 */
import { readFile } from 'node:fs/promises';
import { AAC_FRAME_SAMPLES, newAdtsHeader, readAdtsHeader } from '../../common/codec/aac-adts.ts';
import type { AudioCodec } from '../../common/codec/frame.ts';
import { g711Tone } from './g711.ts';
import type { G711Codec } from './g711.ts';

export interface AudioSource {
  readonly codec: AudioCodec;
  readonly sampleRate: number;
  /** Frame payloads: raw G.711 samples, or whole ADTS frames (header included). */
  readonly frames: readonly Buffer[];
  /** startSample[i] = samples before frame i; startSample[frames.length] = samples in one pass. */
  readonly startSample: Float64Array;
  /** True when the source repeats seamlessly by nature (a tone) and so never ends. */
  readonly endless: boolean;
}

const toneCache = new Map<string, AudioSource>();

/**
 * A G.711 tone in frames of `frameMs` (20 or 40 ms: 160 or 320 samples at 8 kHz). The frames are
 * views into one shared second of audio.
 */
export function g711ToneSource(codec: G711Codec, frameMs: 20 | 40 = 20, frequencyHz = 1000): AudioSource {
  const key = `${codec}:${frameMs}:${frequencyHz}`;
  let source = toneCache.get(key);
  if (!source) {
    const second = g711Tone(codec, frequencyHz);
    const size = frameMs * 8;
    const frames: Buffer[] = [];
    for (let off = 0; off < second.length; off += size) frames.push(second.subarray(off, off + size));
    const startSample = new Float64Array(frames.length + 1);
    for (let i = 0; i <= frames.length; i++) startSample[i] = i * size;
    source = { codec, sampleRate: 8000, frames, startSample, endless: true };
    toneCache.set(key, source);
  }
  return source;
}

/**
 * Splits an ADTS stream into frames. Each ADTS frame holds number_of_raw_data_blocks + 1 AAC raw
 * blocks of 1024 samples. Garbage between frames is skipped by resynchronising on 0xFFF.
 */
export function parseAdts(buf: Buffer): AudioSource {
  const frames: Buffer[] = [];
  const starts: number[] = [0];
  const h = newAdtsHeader();
  let sampleRate = 0;
  let samples = 0;
  let i = 0;
  while (i + 7 <= buf.length) {
    if (!readAdtsHeader(buf, i, h) || i + h.frameLength > buf.length) {
      i++;
      continue;
    }
    if (sampleRate === 0) sampleRate = h.sampleRate;
    frames.push(buf.subarray(i, i + h.frameLength));
    samples += h.rawBlocks * AAC_FRAME_SAMPLES;
    starts.push(samples);
    i += h.frameLength;
  }
  if (frames.length === 0) throw new Error('no ADTS frames found');
  return { codec: 'aac', sampleRate, frames, startSample: Float64Array.from(starts), endless: false };
}

const aacCache = new Map<string, Promise<AudioSource>>();

/** Loads and parses an ADTS file once per process. */
export function loadAacSource(path: string): Promise<AudioSource> {
  let p = aacCache.get(path);
  if (!p) {
    p = readFile(path).then(parseAdts);
    p.catch(() => aacCache.delete(path));
    aacCache.set(path, p);
  }
  return p;
}
