/** Camera-like H.264 for the stage benchmarks. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fixturePath } from '../../test/support/fixtures.ts';

/**
 * `seconds` of H.264 at 2 Mbit/s, 25 fps, no B-frames, a keyframe every 2 s, encoded with ffmpeg
 * from the stress-tmp.h264 fixture (852x480). Without ffmpeg (or with useFfmpeg false) the fixture
 * as it is (about 0.7 Mbit/s).
 */
export function h264At2Mbps(seconds: number, useFfmpeg: boolean): Buffer {
  const src = fixturePath('stress-tmp.h264');
  if (!useFfmpeg) return readFileSync(src);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gbcast-bench-'));
  try {
    const out = path.join(dir, 'camera.h264');
    const input = path.join(dir, 'source.h264');
    // Raw H.264 cannot be looped by seeking: repeat the bytes (Annex-B streams concatenate).
    const once = readFileSync(src);
    writeFileSync(input, Buffer.concat(new Array<Buffer>(Math.max(1, Math.ceil((seconds * 25) / 1000))).fill(once)));
    execFileSync('ffmpeg', [
      '-hide_banner', '-loglevel', 'error', '-r', '25', '-i', input,
      '-t', String(seconds), '-an', '-c:v', 'libx264', '-preset', 'veryfast', '-profile:v', 'main',
      '-bf', '0', '-g', '50', '-b:v', '2M', '-maxrate', '2M', '-bufsize', '1M',
      '-f', 'h264', out,
    ]);
    return readFileSync(out);
  } catch (err) {
    console.error(`ffmpeg failed (${(err as Error).message.split('\n')[0]}); using the fixture as it is`);
    return readFileSync(src);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
