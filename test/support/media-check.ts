/**
 * What a real decoder makes of FLV we produced: FFmpeg decodes it, ffprobe counts the frames.
 *
 * FFmpeg 5.1 (Debian 12) knows neither HEVC carriage in FLV (legacy codec id 12, enhanced 'hvc1'),
 * so for H.265 the video is taken out of the FLV (hvcC parameter sets + length-prefixed NAL units →
 * Annex-B) and decoded with FFmpeg's HEVC decoder; that checks the bytes as a decoder sees them.
 */
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { readFlv, readLengthPrefixedNals, readVideoTagHeader } from './flv-reader.ts';

const run = promisify(execFile);

export interface DecodeReport {
  /** What FFmpeg printed at level error (empty when the stream decoded cleanly). */
  errors: string;
  videoCodec?: string;
  width?: number;
  height?: number;
  videoFrames: number;
  audioCodec?: string;
  audioSampleRate?: number;
  audioFrames: number;
  /** How the FLV carried the video: 'avc', 'hevc-legacy' (id 12), 'hevc-enhanced' (hvc1). */
  carriage?: 'avc' | 'hevc-legacy' | 'hevc-enhanced';
}

interface ProbeStream {
  codec_type: string;
  codec_name: string;
  width?: number;
  height?: number;
  sample_rate?: string;
  nb_read_frames?: string;
}

async function probe(file: string, format?: string): Promise<ProbeStream[]> {
  const args = ['-v', 'error', ...(format ? ['-f', format] : []), '-count_frames', '-show_entries',
    'stream=codec_type,codec_name,width,height,sample_rate,nb_read_frames', '-of', 'json', file];
  const { stdout } = await run('ffprobe', args, { maxBuffer: 1 << 24 });
  return (JSON.parse(stdout) as { streams: ProbeStream[] }).streams;
}

async function decodeErrors(file: string, format?: string): Promise<string> {
  const { stderr } = await run('ffmpeg', ['-v', 'error', ...(format ? ['-f', format] : []), '-i', file, '-f', 'null', '-'], {
    maxBuffer: 1 << 24,
  });
  return stderr.trim();
}

const START_CODE = Buffer.from([0, 0, 0, 1]);

/** H.265 video of an FLV (legacy id 12 or enhanced hvc1) as an Annex-B byte stream. */
export function hevcAnnexBFromFlv(flv: Buffer): { annexB: Buffer; carriage: 'hevc-legacy' | 'hevc-enhanced'; frames: number } {
  const parts: Buffer[] = [];
  let carriage: 'hevc-legacy' | 'hevc-enhanced' = 'hevc-legacy';
  let frames = 0;
  for (const tag of readFlv(flv).tags) {
    if (tag.type !== 9) continue;
    const h = readVideoTagHeader(tag.body);
    if (h.enhanced) carriage = 'hevc-enhanced';
    const isConfig = h.enhanced ? h.packetType === 0 : h.packetType === 0;
    const isFrames = h.enhanced ? h.packetType === 1 || h.packetType === 3 : h.packetType === 1;
    if (isConfig) {
      // HEVCDecoderConfigurationRecord: 22 fixed bytes, numOfArrays, then arrays of NAL units.
      const rec = tag.body.subarray(h.dataOffset);
      let o = 23;
      for (let a = 0, n = rec[22]; a < n; a++) {
        const count = rec.readUInt16BE(o + 1);
        o += 3;
        for (let i = 0; i < count; i++) {
          const len = rec.readUInt16BE(o);
          parts.push(START_CODE, rec.subarray(o + 2, o + 2 + len));
          o += 2 + len;
        }
      }
    } else if (isFrames) {
      frames++;
      for (const nal of readLengthPrefixedNals(tag.body, h.dataOffset)) parts.push(START_CODE, nal);
    }
  }
  return { annexB: Buffer.concat(parts), carriage, frames };
}

/** Decodes an FLV file we produced (or that an RTMP server recorded from us) and counts frames. */
export async function decodeFlv(file: string): Promise<DecodeReport> {
  const flv = await readFile(file);
  const videoTag = readFlv(flv).tags.find((t) => t.type === 9);
  const vh = videoTag ? readVideoTagHeader(videoTag.body) : undefined;
  const hevc = vh !== undefined && (vh.enhanced || vh.codecId === 12);
  const report: DecodeReport = { errors: '', videoFrames: 0, audioFrames: 0 };
  if (hevc) {
    const { annexB, carriage } = hevcAnnexBFromFlv(flv);
    const h265 = `${file}.h265`;
    await writeFile(h265, annexB);
    report.carriage = carriage;
    report.errors = await decodeErrors(h265, 'hevc');
    const [v] = await probe(h265, 'hevc');
    Object.assign(report, { videoCodec: v?.codec_name, width: v?.width, height: v?.height, videoFrames: Number(v?.nb_read_frames ?? 0) });
  } else {
    if (vh) report.carriage = 'avc';
  }
  // Audio (and AVC video) straight from the FLV; FFmpeg skips the HEVC stream it does not know.
  const streams = await probe(file);
  const errors = hevc ? '' : await decodeErrors(file);
  report.errors = [report.errors, errors].filter(Boolean).join('\n');
  for (const s of streams) {
    if (s.codec_type === 'video' && !hevc) {
      Object.assign(report, { videoCodec: s.codec_name, width: s.width, height: s.height, videoFrames: Number(s.nb_read_frames ?? 0) });
    } else if (s.codec_type === 'audio') {
      Object.assign(report, { audioCodec: s.codec_name, audioSampleRate: Number(s.sample_rate), audioFrames: Number(s.nb_read_frames ?? 0) });
    }
  }
  return report;
}
