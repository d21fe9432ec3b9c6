/**
 * The GbCamera shell: observe (the camera from the cache, its Secret, the live device and its
 * streams from the store), call the pure decision, apply it: credential and configuration into the
 * store, the finalizer, the status (rate-limited across all cameras), Events.
 */
import type { Logger } from '../../common/logger.ts';
import type { StoreBackend } from '../../common/store/backend.ts';
import type { DeviceRecord } from '../../common/store/device-store.ts';
import { cameraFinalizer, type GbCamera } from '../api/types.ts';
import type { KubeClient } from '../kube/client.ts';
import { isNotFound, resources } from '../kube/client.ts';
import { addFinalizer, removeFinalizer } from '../kube/objects.ts';
import { TokenBucket } from '../kube/work-queue.ts';
import type { EventSink, ObjectCache } from '../reconcile.ts';
import { decideCamera } from './decide.ts';

export interface CameraControllerOptions {
  client: KubeClient;
  backend: StoreBackend;
  cameras: ObjectCache<GbCamera>;
  events: EventSink;
  logger: Logger;
  keepaliveStatusIntervalMs: number;
  statusWritesPerSecond: number;
  now?: () => number;
}

/** Unchanged credentials and configurations are written to the store again after this long. */
const rewriteAfterMs = 10 * 60_000;

/** Streams per device, read at most once per this long for all cameras together. */
const streamCountTtlMs = 2000;

export class CameraController {
  readonly #o: CameraControllerOptions;
  readonly #now: () => number;
  readonly #statusWrites: TokenBucket;
  #streamCounts: { at: number; counts: Map<string, number> } | undefined;
  /** Per device: the credential and configuration last written to the store, and when. */
  readonly #written = new Map<string, { value: string; at: number }>();

  constructor(options: CameraControllerOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#statusWrites = new TokenBucket(options.statusWritesPerSecond, Math.max(1, Math.ceil(options.statusWritesPerSecond * 2)), this.#now);
  }

  /** The camera keys (namespace/name) of a device, for events from the store. */
  keysOfDevice(deviceId: string): string[] {
    return this.#o.cameras
      .list()
      .filter((c) => c.spec.deviceId === deviceId)
      .map((c) => `${c.metadata.namespace}/${c.metadata.name}`);
  }

  async reconcile(key: string): Promise<{ requeueAfterMs?: number } | void> {
    const o = this.#o;
    const [namespace, name] = key.split('/');
    const camera = o.cameras.getByName(name, namespace);
    if (!camera) return;
    const now = this.#now();
    let device: DeviceRecord | undefined;
    let storeOk = true;
    let activeStreams = 0;
    try {
      device = await o.backend.devices.get(camera.spec.deviceId);
      activeStreams = (await this.#streamCountsNow(now)).get(camera.spec.deviceId) ?? 0;
    } catch (err) {
      storeOk = false;
      o.logger.warn({ camera: key, err: (err as Error).message }, 'cannot read the device store');
    }
    const actions = decideCamera({
      camera,
      secret: await this.#password(camera),
      device,
      activeStreams,
      storeOk,
      now,
      keepaliveStatusIntervalMs: o.keepaliveStatusIntervalMs,
    });

    if (actions.kind === 'finalize') {
      await o.backend.devices.deleteCredential(actions.deviceId);
      await o.backend.devices.deleteConfig(actions.deviceId);
      await removeFinalizer(o.client, resources.gbCameras, camera, cameraFinalizer);
      this.#written.delete(actions.deviceId);
      o.logger.info({ camera: key, deviceId: actions.deviceId }, 'camera removed: credential and configuration deleted');
      return;
    }
    if (actions.addFinalizer) await addFinalizer(o.client, resources.gbCameras, camera, cameraFinalizer);
    if (storeOk) {
      // Unchanged values are not written again on every requeue (each config write also wakes signaling's
      // always-on check), but are rewritten now and then in case the store lost them (a Redis restart).
      const written = JSON.stringify([actions.credential, actions.config]);
      const last = this.#written.get(camera.spec.deviceId);
      if (!last || last.value !== written || now - last.at >= rewriteAfterMs) {
        if (actions.credential !== undefined) await o.backend.devices.setCredential(camera.spec.deviceId, actions.credential);
        await o.backend.devices.setConfig(camera.spec.deviceId, actions.config);
        this.#written.set(camera.spec.deviceId, { value: written, at: now });
      }
    }
    for (const e of actions.events) o.events.emit(camera, e.type, e.reason, e.note);
    if (actions.statusWrite === 'now') {
      // Across all cameras: a wave of changes (a site's power cut) is spread out, not sent at once.
      const wait = this.#statusWrites.reserve();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      await o.client.patchStatus(resources.gbCameras, name, { status: actions.status }, { namespace });
      return { requeueAfterMs: o.keepaliveStatusIntervalMs };
    }
    if (actions.statusWrite === 'later') {
      const written = camera.status?.lastKeepalive ? Date.parse(camera.status.lastKeepalive) : now;
      return { requeueAfterMs: Math.max(1000, written + o.keepaliveStatusIntervalMs - now) };
    }
    return { requeueAfterMs: o.keepaliveStatusIntervalMs };
  }

  async #password(camera: GbCamera): Promise<{ password: string } | { problem: string }> {
    const ref = camera.spec.passwordSecretRef;
    const where = `Secret ${camera.metadata.namespace}/${ref.name}`;
    try {
      const secret = await this.#o.client.get(resources.secrets, ref.name, camera.metadata.namespace);
      const encoded = secret.data?.[ref.key];
      const plain = secret.stringData?.[ref.key];
      const password = plain ?? (encoded === undefined ? undefined : Buffer.from(encoded, 'base64').toString('utf8'));
      if (password === undefined) return { problem: `${where} has no key "${ref.key}"` };
      if (password === '') return { problem: `${where} key "${ref.key}" is empty` };
      return { password };
    } catch (err) {
      if (isNotFound(err)) return { problem: `${where} does not exist` };
      throw err;
    }
  }

  async #streamCountsNow(now: number): Promise<Map<string, number>> {
    if (this.#streamCounts && now - this.#streamCounts.at < streamCountTtlMs) return this.#streamCounts.counts;
    const counts = new Map<string, number>();
    for (const s of await this.#o.backend.streams.list()) counts.set(s.deviceId, (counts.get(s.deviceId) ?? 0) + 1);
    this.#streamCounts = { at: now, counts };
    return counts;
  }
}
