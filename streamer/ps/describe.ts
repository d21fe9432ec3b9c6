/**
 * describePs: runs the demuxer over some program-stream bytes and reports what it parsed, unit by
 * unit, with the frames it emitted. For tests and for looking at captures; not for the hot path.
 */
import type { MediaFrame } from '../../common/codec/frame.ts';
import { PsDemuxer } from './ps-demuxer.ts';
import type { PsDemuxerOptions, PsDemuxerStats, PsUnit } from './ps-demuxer.ts';

export type DescribedUnit =
  | Exclude<PsUnit, { kind: 'pes' } | { kind: 'pes-end' }>
  | (Extract<PsUnit, { kind: 'pes' }> & {
      /** Payload bytes that arrived. */
      payloadBytes: number;
      /** Whether the PES ended within the input (false: cut off). */
      complete: boolean;
    });

export interface PsDescription {
  units: DescribedUnit[];
  frames: MediaFrame[];
  stats: PsDemuxerStats;
}

/**
 * `chunks` are pushed in order (e.g. one RTP payload each). With `end`, the input is taken to end at
 * a frame boundary (demuxer.end(true)), so its last frame is emitted if no PES of it was cut.
 */
export function describePs(
  chunks: Buffer | readonly Buffer[],
  opts: Omit<PsDemuxerOptions, 'onUnit'> & { end?: boolean } = {},
): PsDescription {
  const units: DescribedUnit[] = [];
  const frames: MediaFrame[] = [];
  let open: (Extract<DescribedUnit, { kind: 'pes' }> & { payloadBytes: number; complete: boolean }) | null = null;
  const demuxer = new PsDemuxer((f) => frames.push(f), {
    ...opts,
    onUnit: (u) => {
      if (u.kind === 'pes') {
        open = { ...u, payloadBytes: 0, complete: false };
        units.push(open);
      } else if (u.kind === 'pes-end') {
        if (open && open.streamId === u.streamId) {
          open.payloadBytes = u.payloadBytes;
          open.complete = true;
        }
        open = null;
      } else {
        units.push(u);
      }
    },
  });
  const list = Buffer.isBuffer(chunks) ? [chunks] : chunks;
  for (const c of list) demuxer.push(c);
  if (opts.end) demuxer.end(true);
  return { units, frames, stats: demuxer.stats };
}
