/**
 * On-demand streams, the seed's "EasyDSS asks for video when a viewer clicks": an RTMP server
 * reports each viewer through its play hooks (nginx-rtmp on_play/on_play_done, SRS on_play/on_stop,
 * ZLMediaKit on_play/on_stream_none_reader). The first viewer of a channel starts its stream,
 * published to that RTMP server under the name the viewer asked for; when the last one leaves, the
 * stream stops `idleMs` later unless a viewer came back. Counts and idle deadlines live in Redis,
 * so any replica may take any hook and any replica's sweeper stops the stream.
 */
import type { Logger } from '../common/logger.ts';
import type { DeviceStore } from '../common/store/device-store.ts';
import type { StreamStore } from '../common/store/stream-store.ts';
import { PlayError, type Streams } from './streams.ts';

export interface OnDemandOptions {
  /** How long a stream outlives its last viewer. */
  idleMs: number;
  /** Where streams are published, overriding the viewer's own tcUrl (e.g. the RTMP server's in-cluster address). */
  rtmpBase?: string;
}

export interface HookViewer {
  /** The stream name the viewer asked for: `{channelId}` or `{deviceId}_{channelId}`. */
  name: string;
  /** The viewer's rtmp://host[:port]/app, from the hook. */
  tcUrl?: string;
}

export type HookResult = { ok: true; streamId: string } | { ok: false; status: number; reason: string; message: string };

export class OnDemand {
  readonly #options: OnDemandOptions;
  readonly #streams: Streams;
  readonly #devices: DeviceStore;
  readonly #store: StreamStore;
  readonly #log: Logger;

  constructor(options: OnDemandOptions, streams: Streams, devices: DeviceStore, store: StreamStore, log: Logger) {
    this.#options = options;
    this.#streams = streams;
    this.#devices = devices;
    this.#store = store;
    this.#log = log;
  }

  /** `{channelId}` (the device found from the catalogs) or `{deviceId}_{channelId}`. */
  async resolve(name: string): Promise<{ deviceId: string; channelId: string } | undefined> {
    const clean = name.split('?')[0];
    const underscore = clean.indexOf('_');
    if (underscore > 0) return { deviceId: clean.slice(0, underscore), channelId: clean.slice(underscore + 1) };
    const owner = await this.#devices.channelOwner(clean);
    if (owner) return { deviceId: owner, channelId: clean };
    // A camera without a catalog entry for itself is played by its own id.
    if (await this.#devices.get(clean)) return { deviceId: clean, channelId: clean };
    return undefined;
  }

  async viewerJoined(viewer: HookViewer): Promise<HookResult> {
    const target = await this.resolve(viewer.name);
    if (!target) return { ok: false, status: 404, reason: 'unknown-channel', message: `no device has a channel ${viewer.name}` };
    const viewers = await this.#store.viewerJoined(target.deviceId, target.channelId);
    const base = this.#options.rtmpBase ?? viewer.tcUrl;
    if (!base) return { ok: false, status: 400, reason: 'no-rtmp-url', message: 'the hook carried no tcUrl and no --on-demand-rtmp-base is set' };
    const rtmpUrl = `${base.replace(/\/+$/, '')}/${viewer.name}`;
    try {
      const played = await this.#streams.play(target.deviceId, target.channelId, { rtmpUrl });
      this.#log.info({ ...target, viewers, streamId: played.streamId, reused: played.reused }, 'on-demand viewer joined');
      return { ok: true, streamId: played.streamId };
    } catch (err) {
      await this.#store.viewerLeft(target.deviceId, target.channelId);
      if (err instanceof PlayError) return { ok: false, status: err.status, reason: err.reason, message: err.message };
      throw err;
    }
  }

  async viewerLeft(viewer: HookViewer): Promise<void> {
    const target = await this.resolve(viewer.name);
    if (!target) return;
    const left = await this.#store.viewerLeft(target.deviceId, target.channelId);
    if (left === 0) await this.#store.scheduleIdleStop(target.deviceId, target.channelId, Date.now() + this.#options.idleMs);
  }

  /** Stops streams whose idle time ran out with no viewer back. Called by every replica's sweeper. */
  async sweep(now: number): Promise<number> {
    let stopped = 0;
    for (const [deviceId, channelId] of await this.#store.takeDueIdleStops(now)) {
      if ((await this.#store.viewerCount(deviceId, channelId)) > 0) continue;
      // Always-on channels stream without viewers.
      if ((await this.#devices.getConfig(deviceId))?.alwaysOn.some((c) => c.channelId === channelId)) continue;
      const streamId = await this.#store.channelStreamId(deviceId, channelId);
      if (streamId && (await this.#streams.end(streamId, 'no-viewers'))) {
        stopped++;
        this.#log.info({ deviceId, channelId, streamId }, 'on-demand stream stopped: no viewers');
      }
    }
    return stopped;
  }
}
