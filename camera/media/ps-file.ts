/**
 * The whole timeline muxed into one PS byte stream, without RTP: for ffprobe checks, for feeding a
 * PS demuxer in tests, and for writing sample files.
 */
import type { AudioSource } from './audio-source.ts';
import { PsMuxer } from './ps-muxer.ts';
import type { PsMuxerOptions } from './ps-muxer.ts';
import { FrameTimeline } from './timeline.ts';
import type { TimelineOptions } from './timeline.ts';
import type { VideoSource } from './video-source.ts';

export interface PsFileResult {
  ps: Buffer;
  videoFrames: number;
  audioFrames: number;
}

export function muxToPs(
  video: VideoSource | undefined,
  audio: AudioSource | undefined,
  options: TimelineOptions & Omit<PsMuxerOptions, 'video' | 'audio'> = {},
): PsFileResult {
  const timeline = new FrameTimeline(video, audio, options);
  if (!video && audio?.endless && options.durationMs === undefined) throw new Error('an endless tone needs durationMs');
  const muxer = new PsMuxer({ ...options, video: video?.codec, audio: audio?.codec });
  const parts: Buffer[] = [];
  let videoFrames = 0;
  let audioFrames = 0;
  for (let f = timeline.next(); f; f = timeline.next()) {
    parts.push(muxer.mux(f));
    if (f.kind === 'video') videoFrames++;
    else audioFrames++;
  }
  return { ps: Buffer.concat(parts), videoFrames, audioFrames };
}
