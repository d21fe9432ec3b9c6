/**
 * MediaSender: drives one stream. It takes frames from a FrameTimeline, muxes each into PS
 * (PsMuxer), cuts it into RTP packets (RtpPacketizer) and hands them to a transport, either
 *
 *   'realtime'  each frame when its time comes (DTS for video, PTS for audio, relative to the
 *               first frame), woken by the shared FrameScheduler; if the process falls behind by
 *               more than a second the clock is re-based instead of bursting the backlog. When
 *               the transport's queue exceeds maxQueuedBytes (a stalled TCP peer), frames are
 *               dropped until the next keyframe, as a camera's encoder buffer would.
 *   'flood'     as fast as the transport drains: waits on TCP backpressure and on the UDP send
 *               queue, and yields to the event loop every few packets so receivers (and other
 *               streams) in the same process get to run.
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { MediaFrame } from '../../common/codec/frame.ts';
import type { PsMuxer } from './ps-muxer.ts';
import type { RtpPacketizer } from './rtp-packetizer.ts';
import { sharedScheduler } from './scheduler.ts';
import type { FrameScheduler, ScheduledTask } from './scheduler.ts';
import type { FrameTimeline } from './timeline.ts';
import type { PacketTransport } from './transports.ts';
import { RTP_HEADER_LENGTH } from './rtp-packetizer.ts';

export type Pacing = 'realtime' | 'flood';

/** Why a sender stopped: media ended, stop() was called, the peer closed, or a socket error. */
export type EndReason = 'end' | 'stopped' | 'closed' | 'error';

export interface MediaStats {
  /** RTP packets sent. */
  packets: number;
  /** RTP bytes sent (headers and payload; TCP framing prefixes not counted). */
  bytes: number;
  /** Frames sent (video + audio). */
  frames: number;
  videoFrames: number;
  audioFrames: number;
  keyframes: number;
  /** Frames skipped because the transport could not keep up (real-time pacing only). */
  droppedFrames: number;
  /** Times the real-time clock was re-based after the process fell behind. */
  clockResets: number;
}

export interface MediaSenderOptions {
  timeline: FrameTimeline;
  muxer: PsMuxer;
  packetizer: RtpPacketizer;
  transport: PacketTransport;
  pacing?: Pacing;
  scheduler?: FrameScheduler;
  /** Real-time pacing: queue size above which frames are dropped until a keyframe (default 4 MiB). */
  maxQueuedBytes?: number;
  /** Flood pacing: packets sent between yields to the event loop (default 16). */
  floodBurstPackets?: number;
  /** Real-time pacing: how late (ms) a frame may be before the clock is re-based (default 1000). */
  maxLagMs?: number;
  /** Count into this object instead of a new one. */
  stats?: MediaStats;
}

export function emptyStats(): MediaStats {
  return { packets: 0, bytes: 0, frames: 0, videoFrames: 0, audioFrames: 0, keyframes: 0, droppedFrames: 0, clockResets: 0 };
}

export class MediaSender implements ScheduledTask {
  readonly stats: MediaStats;
  /** Resolves when sending ends, with the reason. */
  readonly done: Promise<EndReason>;
  readonly transport: PacketTransport;
  private readonly timeline: FrameTimeline;
  private readonly muxer: PsMuxer;
  private readonly packetizer: RtpPacketizer;
  private readonly pacing: Pacing;
  private readonly scheduler: FrameScheduler;
  private readonly maxQueuedBytes: number;
  private readonly floodBurstPackets: number;
  private readonly maxLagMs: number;
  private state: 'idle' | 'running' | 'ended' = 'idle';
  private resolveDone!: (r: EndReason) => void;
  private dropping = false;
  /** First frame's 90 kHz time and the wall clock (ms) it was (re-)anchored to. */
  private t0 = 0;
  private wall0 = 0;

  constructor(options: MediaSenderOptions) {
    this.stats = options.stats ?? emptyStats();
    this.timeline = options.timeline;
    this.muxer = options.muxer;
    this.packetizer = options.packetizer;
    this.transport = options.transport;
    this.pacing = options.pacing ?? 'realtime';
    this.scheduler = options.scheduler ?? sharedScheduler;
    this.maxQueuedBytes = options.maxQueuedBytes ?? 4 * 1024 * 1024;
    this.floodBurstPackets = options.floodBurstPackets ?? 16;
    this.maxLagMs = options.maxLagMs ?? 1000;
    if (this.packetizer.framing !== this.transport.framing) {
      throw new Error(`packetizer framing ${this.packetizer.framing} does not suit the transport (${this.transport.framing})`);
    }
    this.done = new Promise((r) => (this.resolveDone = r));
    this.transport.lost.then((err) => this.finish(err ? 'error' : 'closed'));
  }

  get running(): boolean {
    return this.state === 'running';
  }

  start(): void {
    if (this.state !== 'idle') return;
    this.state = 'running';
    if (this.pacing === 'flood') {
      this.flood().catch(() => this.finish('error'));
    } else {
      const t = this.timeline.peekTime();
      this.t0 = t === Infinity ? 0 : t;
      this.wall0 = performance.now();
      this.tick(this.wall0);
    }
  }

  /** Stops sending and closes the transport. */
  async stop(): Promise<void> {
    this.finish('stopped');
    await this.transport.close();
  }

  private finish(reason: EndReason): void {
    if (this.state === 'ended') return;
    this.state = 'ended';
    this.scheduler.cancel(this);
    this.resolveDone(reason);
  }

  /** Real-time pacing: send what is due, then ask to be woken for the next frame. */
  tick(now: number): void {
    if (this.state !== 'running') return;
    const slack = this.scheduler.coalesceMs;
    for (;;) {
      const t = this.timeline.peekTime();
      if (t === Infinity) {
        this.finish('end');
        return;
      }
      const due = this.wall0 + (t - this.t0) / 90;
      if (due > now + slack) {
        this.scheduler.schedule(this, due);
        return;
      }
      if (now - due > this.maxLagMs) {
        this.wall0 += now - due;
        this.stats.clockResets++;
      }
      try {
        this.sendFrame(this.timeline.next() as MediaFrame, true);
      } catch {
        this.finish('error');
      }
      if (this.state !== 'running') return;
    }
  }

  private async flood(): Promise<void> {
    let burst = 0;
    while (this.state === 'running') {
      const frame = this.timeline.next();
      if (!frame) {
        this.finish('end');
        return;
      }
      const before = this.stats.packets;
      const ok = this.sendFrame(frame, false);
      burst += this.stats.packets - before;
      if (!ok) {
        burst = 0;
        await this.transport.writable();
      } else if (burst >= this.floodBurstPackets) {
        burst = 0;
        await yieldToLoop();
      }
    }
  }

  /** Returns false when the transport asks the caller to wait. */
  private sendFrame(frame: MediaFrame, realtime: boolean): boolean {
    const keyframe = frame.kind === 'video' && frame.keyframe;
    if (realtime) {
      if (this.dropping && keyframe && this.transport.queuedBytes < this.maxQueuedBytes / 2) this.dropping = false;
      else if (!this.dropping && this.transport.queuedBytes > this.maxQueuedBytes) this.dropping = true;
      if (this.dropping) {
        this.stats.droppedFrames++;
        return true;
      }
    }
    const ps = this.muxer.muxTransient(frame);
    const packets = this.packetizer.packetize(ps, frame.pts);
    const count = this.packetizer.packetCount(ps.length);
    const s = this.stats;
    s.packets += count;
    s.bytes += ps.length + count * RTP_HEADER_LENGTH;
    s.frames++;
    if (frame.kind === 'video') {
      s.videoFrames++;
      if (keyframe) s.keyframes++;
    } else {
      s.audioFrames++;
    }
    return this.transport.send(packets, this.packetizer.stride);
  }
}
