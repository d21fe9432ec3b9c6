/**
 * `gbcast all`: signaling (with the console) and one streamer in one process, sharing one store.
 * Without Redis the store is the in-process one, so a single machine needs nothing else; with Redis
 * this process is an ordinary node of a cluster (its signaling and its streamer join the others').
 * With the demo, simulated cameras register to it over loopback.
 */
import { randomBytes } from 'node:crypto';
import type { ConfigOf } from '../common/config.ts';
import { createLogger, type Logger } from '../common/logger.ts';
import { defaultPublicAddress } from '../common/network.ts';
import { createMemoryBackend, openRedisBackend, type StoreBackend } from '../common/store/backend.ts';
import { Signaling, type SignalingConfig } from '../signaling/signaling.ts';
import { Streamer, type StreamerConfig } from '../streamer/streamer.ts';
import type { allOptions } from './config.ts';
import { DemoCameras } from './demo.ts';

export type AllConfig = ConfigOf<typeof allOptions>;

export interface AllLoggers {
  signaling: Logger;
  streamer: Logger;
  demo: Logger;
  all: Logger;
}

export function allLoggers(level: AllConfig['logLevel']): AllLoggers {
  return {
    signaling: createLogger('signaling', level),
    streamer: createLogger('streamer', level),
    demo: createLogger('camera', level),
    all: createLogger('all', level),
  };
}

/** The part-specific configurations, from the combined one. */
export function splitConfig(c: AllConfig, password: string, publicAddress: string): { signaling: SignalingConfig; streamer: StreamerConfig } {
  const signaling = { ...c, password, publicAddress } as unknown as SignalingConfig;
  const streamer = {
    ...c,
    publicAddress,
    httpPort: c.streamerHttpPort,
    redisUrl: undefined,
  } as unknown as StreamerConfig;
  return { signaling, streamer };
}

export class AllInOne {
  readonly config: AllConfig;
  readonly password: string;
  readonly generatedPassword: boolean;
  readonly publicAddress: string;
  readonly #log: AllLoggers;
  #backend: StoreBackend | undefined;
  #signaling: Signaling | undefined;
  #streamer: Streamer | undefined;
  #demo: DemoCameras | undefined;
  #stopping: Promise<void> | undefined;

  constructor(config: AllConfig, loggers: AllLoggers) {
    this.config = config;
    this.#log = loggers;
    this.generatedPassword = config.password === undefined;
    this.password = config.password ?? randomBytes(9).toString('base64url');
    this.publicAddress = config.publicAddress ?? defaultPublicAddress();
  }

  get signaling(): Signaling {
    if (!this.#signaling) throw new Error('not started');
    return this.#signaling;
  }

  get streamer(): Streamer {
    if (!this.#streamer) throw new Error('not started');
    return this.#streamer;
  }

  get demo(): DemoCameras | undefined {
    return this.#demo;
  }

  get backend(): StoreBackend {
    if (!this.#backend) throw new Error('not started');
    return this.#backend;
  }

  /** Starts the store, the streamer, signaling, then the demo cameras; undoes what started on failure. */
  async start(): Promise<void> {
    const c = this.config;
    const parts = splitConfig(c, this.password, this.publicAddress);
    try {
      this.#backend = c.redisUrl
        ? await openRedisBackend({ url: c.redisUrl, prefix: c.redisPrefix, logger: this.#log.all, name: 'gbcast-all', autoPipelining: true, waitMs: 10_000 })
        : createMemoryBackend({ logger: this.#log.all });
      // The streamer first: its first load report makes it pickable before any camera can register.
      this.#streamer = new Streamer(parts.streamer, this.#log.streamer, { backend: this.#backend });
      await this.#streamer.start();
      this.#signaling = new Signaling(parts.signaling, this.#log.signaling, { backend: this.#backend });
      await this.#signaling.start();
      if (c.demo) {
        this.#demo = await DemoCameras.start({
          serverId: c.serverId,
          sipPort: this.#signaling.sipPort,
          realm: c.realm,
          password: this.password,
          cameras: c.demoCameras,
          channels: c.demoChannels,
          firstDeviceId: c.demoDeviceId,
          video: c.demoVideo,
          audio: c.demoAudio,
          logger: this.#log.demo,
        });
      }
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  /** What a person needs to use it: where the console is and how devices register. */
  describe(): Record<string, unknown> {
    const s = this.signaling;
    const consoleUrl = `http://${this.publicAddress}:${new URL(s.httpUrl).port}/`;
    return {
      console: consoleUrl,
      api: `${consoleUrl}openapi.json`,
      sip: `sip:${this.config.serverId}@${this.publicAddress}:${s.sipPort}`,
      realm: s.realm,
      devicePassword: this.generatedPassword ? this.password : '(--password)',
      mediaPort: this.streamer.publicPort,
      store: this.#backend?.kind === 'redis' ? 'redis' : 'in-process (nothing kept after a restart)',
      demoCameras: this.#demo ? this.config.demoCameras : 0,
    };
  }

  /**
   * Demo cameras hang up and unregister, this node's streams end with a BYE (the streamer is going
   * away with the process), then signaling, the streamer and the store stop. Idempotent.
   */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      // Nothing may start streams again while the cameras hang up and this node's streams end.
      await this.#signaling?.stopKeeping();
      await this.#demo?.stop().catch((err: unknown) => this.#log.all.warn({ err }, 'demo cameras did not stop cleanly'));
      if (this.#signaling && this.#streamer) await this.#endOwnStreams(this.#signaling, this.#streamer.config.streamerId);
      await this.#signaling?.stop();
      await this.#streamer?.stop(0);
      await this.#backend?.close();
    })();
    return this.#stopping;
  }

  async #endOwnStreams(signaling: Signaling, streamerId: string): Promise<void> {
    try {
      const own = (await signaling.streamStore.list()).filter((s) => s.streamerId === streamerId);
      await Promise.allSettled(own.map((s) => signaling.streams.end(s.streamId, 'shutdown')));
    } catch (err) {
      this.#log.all.warn({ err }, 'could not end the streams of this node');
    }
  }
}
