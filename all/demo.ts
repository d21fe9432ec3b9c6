/**
 * The demo's simulated cameras: `gbcast camera` devices run inside this process, registering to our
 * own SIP port over loopback exactly as real cameras would (digest auth, keepalives, catalog,
 * INVITE → PS over RTP to the streamer). Nothing here takes a shortcut around the protocol.
 */
import { join } from 'node:path';
import type { Logger } from '../common/logger.ts';
import { packageRoot } from '../common/package-root.ts';
import { CameraFleet, loadFleetMedia } from '../camera/sip/fleet.ts';
import { checkDeviceRange } from '../camera/sip/ids.ts';

/** The bundled test pattern and its beep (demo/make-media.sh). */
export const demoVideoPath = join(packageRoot, 'demo', 'media', 'test-pattern-360p.h264');
export const demoAudioPath = join(packageRoot, 'demo', 'media', 'test-beep.aac');

export interface DemoOptions {
  serverId: string;
  sipPort: number;
  password: string;
  realm?: string;
  cameras: number;
  channels: number;
  firstDeviceId: string;
  video?: string;
  /** pcma, pcmu, none, or an ADTS AAC file; the bundled beep by default. */
  audio?: string;
  logger: Logger;
}

export class DemoCameras {
  readonly #fleet: CameraFleet;

  private constructor(fleet: CameraFleet) {
    this.#fleet = fleet;
  }

  /** Throws a readable error when the options cannot work (bad ID range, unreadable video). */
  static async start(o: DemoOptions): Promise<DemoCameras> {
    const range = checkDeviceRange(o.firstDeviceId, o.cameras);
    if (range) throw new Error(`demo cameras: ${range}`);
    const media = { video: o.video ?? demoVideoPath, audio: o.audio ?? demoAudioPath, fps: 25, loop: true };
    await loadFleetMedia(media);
    const fleet = await CameraFleet.start({
      server: { id: o.serverId, host: '127.0.0.1', port: o.sipPort },
      realm: o.realm,
      password: o.password,
      firstDeviceId: o.firstDeviceId,
      count: o.cameras,
      channels: o.channels,
      sipTransport: 'udp',
      localAddress: '127.0.0.1',
      expiresS: 3600,
      keepaliveIntervalMs: 20_000,
      media,
      startIntervalMs: 50,
      logger: o.logger,
    });
    return new DemoCameras(fleet);
  }

  get summary(): ReturnType<CameraFleet['summary']> {
    return this.#fleet.summary();
  }

  /** Hangs up every call (BYE) and unregisters every camera. */
  stop(): Promise<void> {
    return this.#fleet.stop();
  }
}
