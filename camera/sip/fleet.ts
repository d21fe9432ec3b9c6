/**
 * CameraFleet: many simulated devices in one process, as `gbcast camera --count N` runs them.
 *
 * The devices share one SIP stack (one UDP+TCP port; incoming requests go to the device or channel
 * named by the request URI's user part, else the To header's), or each gets its own stack with
 * `portPerDevice` (its own port and, over TCP, its own connection, as real cameras have). The video
 * and audio are loaded once and shared by every call. Devices start `startIntervalMs` apart so a
 * large fleet does not hit the platform with one burst.
 */
import dgram from 'node:dgram';
import dns from 'node:dns';
import net from 'node:net';
import type { Logger } from '../../common/logger.ts';
import { defaultPublicAddress } from '../../common/network.ts';
import { uriUser } from '../../common/sip/parse.ts';
import { SipStack, type IncomingRequest } from '../../common/sip/stack.ts';
import { g711ToneSource, loadAacSource, type AudioSource } from '../media/audio-source.ts';
import type { Pacing } from '../media/media-sender.ts';
import { loadVideoSource, type VideoSource } from '../media/video-source.ts';
import type { DeviceMedia } from './call.ts';
import { SimulatedDevice, type SimulatedDeviceOptions } from './device.ts';
import { deviceIdAt, type ServerTarget } from './ids.ts';
import type { Quirk } from './quirks.ts';

export interface FleetMediaOptions {
  /** Annex-B H.264/H.265 file. */
  video?: string;
  /** 'none', 'pcma'/'pcmu' (a generated tone) or the path of an ADTS AAC file. */
  audio?: string;
  fps?: number;
  loop?: boolean;
  pacing?: Pacing;
}

export interface CameraFleetOptions {
  server: ServerTarget;
  realm?: string;
  password: string;
  /** The first device ID; the others count the serial up. */
  firstDeviceId: string;
  count?: number;
  channels?: number;
  sipTransport?: 'udp' | 'tcp';
  /** SIP port (0: any free one). With portPerDevice, device i uses port + i (or any when 0). */
  sipPort?: number;
  portPerDevice?: boolean;
  /** Address to bind SIP and media sockets to and to advertise; default: the address that routes to the server. */
  localAddress?: string;
  expiresS?: number;
  keepaliveIntervalMs?: number;
  catalogPageSize?: number;
  quirks?: Iterable<Quirk>;
  media: FleetMediaOptions;
  /** Delay between device starts (default 10 ms). */
  startIntervalMs?: number;
  registerRetryMs?: number;
  registerRetryMaxMs?: number;
  logger: Logger;
}

export interface FleetSummary {
  devices: number;
  registered: number;
  calls: number;
  registrations: number;
  registerFailures: number;
  keepalivesSent: number;
  keepalivesFailed: number;
  queriesAnswered: number;
  controls: number;
  packets: number;
  bytes: number;
}

/** One SIP stack and the devices behind it. */
class SipHost {
  readonly stack: SipStack;
  readonly #byAddress = new Map<string, SimulatedDevice>();

  private constructor(stack: SipStack) {
    this.stack = stack;
  }

  static async open(o: { bind: string; port: number; publicAddress: string; logger: Logger }): Promise<SipHost> {
    // The stack delivers requests to the host, which needs the stack: tie the knot through a holder.
    const holder: { host?: SipHost } = {};
    const stack = await SipStack.open({
      host: o.bind,
      port: o.port,
      publicAddress: o.publicAddress,
      logger: o.logger,
      onRequest: (request) => holder.host?.dispatch(request),
    });
    holder.host = new SipHost(stack);
    return holder.host;
  }

  add(device: SimulatedDevice): void {
    for (const id of device.addresses) {
      const other = this.#byAddress.get(id);
      if (other) throw new RangeError(`ID ${id} is used by both ${other.deviceId} and ${device.deviceId}`);
    }
    for (const id of device.addresses) this.#byAddress.set(id, device);
  }

  dispatch(request: IncomingRequest): void {
    const m = request.message;
    const device = this.#byAddress.get(uriUser(m.uri) ?? '') ?? this.#byAddress.get(uriUser(m.headers.to?.uri) ?? '');
    if (device) {
      device.handleRequest(request);
      return;
    }
    if (m.method !== 'ACK') this.stack.reply(m, 404, 'Not Found');
  }
}

export class CameraFleet {
  readonly devices: readonly SimulatedDevice[];
  readonly #hosts: SipHost[];
  readonly #timers = new Set<NodeJS.Timeout>();
  #stopping: Promise<void> | undefined;

  private constructor(devices: SimulatedDevice[], hosts: SipHost[]) {
    this.devices = devices;
    this.#hosts = hosts;
  }

  /** Loads the media, opens the SIP stack(s) and starts the devices (staggered). */
  static async start(o: CameraFleetOptions): Promise<CameraFleet> {
    const media = await loadFleetMedia(o.media);
    const server = { ...o.server, host: await resolveAddress(o.server.host) };
    const anyAddress = net.isIPv6(server.host) ? '::' : '0.0.0.0';
    const unspecified = o.localAddress === undefined || o.localAddress === '0.0.0.0' || o.localAddress === '::';
    const bind = o.localAddress ?? anyAddress;
    // Contact and SDP need a real address: the one given, else the one that routes to the server.
    const publicAddress = unspecified ? await addressToward(server.host, server.port) : (o.localAddress as string);
    const mediaBind = unspecified ? undefined : o.localAddress;
    const count = o.count ?? 1;
    const hosts: SipHost[] = [];
    const devices: SimulatedDevice[] = [];
    try {
      const hostCount = o.portPerDevice ? count : 1;
      for (let i = 0; i < hostCount; i++) {
        const port = o.sipPort ? o.sipPort + i : 0;
        hosts.push(await SipHost.open({ bind, port, publicAddress, logger: o.logger }));
      }
      for (let i = 0; i < count; i++) {
        const host = hosts[o.portPerDevice ? i : 0];
        const options: SimulatedDeviceOptions = {
          deviceId: deviceIdAt(o.firstDeviceId, i),
          password: o.password,
          server,
          realm: o.realm,
          sipTransport: o.sipTransport,
          channels: o.channels,
          expiresS: o.expiresS,
          keepaliveIntervalMs: o.keepaliveIntervalMs,
          catalogPageSize: o.catalogPageSize,
          quirks: o.quirks,
          media,
          mediaIp: publicAddress,
          bindAddress: mediaBind,
          registerRetryMs: o.registerRetryMs,
          registerRetryMaxMs: o.registerRetryMaxMs,
        };
        const device = new SimulatedDevice(options, host.stack, o.logger);
        host.add(device);
        devices.push(device);
      }
    } catch (err) {
      await Promise.all(hosts.map((h) => h.stack.close()));
      throw err;
    }
    const fleet = new CameraFleet(devices, hosts);
    const interval = o.startIntervalMs ?? 10;
    devices.forEach((d, i) => {
      if (i === 0 || interval <= 0) {
        d.start();
        return;
      }
      const t = setTimeout(() => {
        fleet.#timers.delete(t);
        d.start();
      }, i * interval);
      t.unref();
      fleet.#timers.add(t);
    });
    return fleet;
  }

  /** The SIP port of the first stack (the only one unless portPerDevice). */
  get sipPort(): number {
    return this.#hosts[0].stack.port;
  }

  get publicAddress(): string {
    return this.#hosts[0].stack.publicAddress;
  }

  summary(): FleetSummary {
    const s: FleetSummary = {
      devices: this.devices.length,
      registered: 0,
      calls: 0,
      registrations: 0,
      registerFailures: 0,
      keepalivesSent: 0,
      keepalivesFailed: 0,
      queriesAnswered: 0,
      controls: 0,
      packets: 0,
      bytes: 0,
    };
    for (const d of this.devices) {
      if (d.registered) s.registered++;
      s.registrations += d.stats.registrations;
      s.registerFailures += d.stats.registerFailures;
      s.keepalivesSent += d.stats.keepalivesSent;
      s.keepalivesFailed += d.stats.keepalivesFailed;
      s.queriesAnswered += d.stats.queriesAnswered;
      s.controls += d.stats.controls;
      for (const c of d.calls()) {
        s.calls++;
        s.packets += c.stats.packets;
        s.bytes += c.stats.bytes;
      }
    }
    return s;
  }

  /** Hangs up, unregisters every device (in parallel), then closes the stacks. Idempotent. */
  stop(): Promise<void> {
    if (!this.#stopping) {
      for (const t of this.#timers) clearTimeout(t);
      this.#timers.clear();
      this.#stopping = (async () => {
        await Promise.all(this.devices.map((d) => (d.state === 'idle' ? Promise.resolve() : d.stop())));
        await Promise.all(this.#hosts.map((h) => h.stack.close()));
      })();
    }
    return this.#stopping;
  }
}

/** Loads the fleet's media once. Throws with a clear message when a file is unusable. */
export async function loadFleetMedia(o: FleetMediaOptions): Promise<DeviceMedia> {
  let video: VideoSource | undefined;
  let audio: AudioSource | undefined;
  if (o.video) {
    try {
      video = await loadVideoSource(o.video);
    } catch (err) {
      throw new Error(`video ${o.video}: ${(err as Error).message}`, { cause: err });
    }
  }
  const a = o.audio ?? 'none';
  if (a === 'pcma' || a === 'pcmu') audio = g711ToneSource(a);
  else if (a !== 'none' && a !== '') {
    try {
      audio = await loadAacSource(a);
    } catch (err) {
      throw new Error(`audio ${a}: ${(err as Error).message}`, { cause: err });
    }
  }
  if (!video && !audio) throw new Error('nothing to stream: give a video file and/or audio');
  return { video, audio, fps: o.fps, loop: o.loop ?? true, pacing: o.pacing };
}

async function resolveAddress(host: string): Promise<string> {
  if (net.isIP(host)) return host;
  return (await dns.promises.lookup(host)).address;
}

/** The local address the kernel would use to reach `host` (what the platform sees us as). */
export async function addressToward(host: string, port: number): Promise<string> {
  const socket = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.connect(port, host, () => resolve());
    });
    return socket.address().address;
  } catch {
    return defaultPublicAddress();
  } finally {
    socket.close();
  }
}
