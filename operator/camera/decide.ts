/**
 * The GbCamera decision, as a pure function: from the resource, its Secret and the live device in
 * the store to what to write (the credential and the configuration into the store; the status, only
 * when it changed and not too often; the finalizer). controller.ts observes and applies.
 */
import type { DeviceRecord } from '../../common/store/device-store.ts';
import type { MediaTransport } from '../../common/contracts.ts';
import { cameraFinalizer, type Condition, type GbCamera, type GbCameraStatus } from '../api/types.ts';

export interface DeviceConfigOut {
  pool?: string;
  name?: string;
  transport?: MediaTransport;
  alwaysOn: { channelId: string; rtmpUrl?: string }[];
}

export interface CameraObserved {
  camera: GbCamera;
  /** The password from the Secret; a string saying what is wrong when it cannot be read. */
  secret: { password: string } | { problem: string };
  /** The live device; undefined when it never registered (or the store cannot be read: see storeOk). */
  device: DeviceRecord | undefined;
  /** Streams of this device running now. */
  activeStreams: number;
  storeOk: boolean;
  now: number;
  /** A status whose only change is the keepalive time is written at most this often. */
  keepaliveStatusIntervalMs: number;
}

export type CameraActions =
  | { kind: 'finalize'; deviceId: string }
  | {
      kind: 'sync';
      addFinalizer: boolean;
      /** undefined: the Secret cannot be read; the device keeps whatever credential it had. */
      credential: string | undefined;
      config: DeviceConfigOut;
      status: GbCameraStatus;
      /** now: something that matters changed; later: only the keepalive time moved, too soon to write; none: nothing changed. */
      statusWrite: 'now' | 'later' | 'none';
      events: { type: 'Normal' | 'Warning'; reason: string; note: string }[];
    };

function condition(previous: Condition[] | undefined, type: string, ok: boolean, reason: string, message: string, generation: number, now: number): Condition {
  const status = ok ? 'True' : 'False';
  const before = previous?.find((c) => c.type === type);
  const lastTransitionTime = before && before.status === status ? before.lastTransitionTime : new Date(now).toISOString();
  return { type, status, reason, message, observedGeneration: generation, lastTransitionTime };
}

function iso(ms: number | undefined): string | undefined {
  return ms ? new Date(ms).toISOString() : undefined;
}

/** JSON with keys sorted at every level and undefined dropped: equal values, equal text. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonical(x)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/** Status equality that ignores the keepalive time and the conditions' transition times. */
function sameButKeepalive(a: Partial<GbCameraStatus> | undefined, b: GbCameraStatus): boolean {
  if (!a) return false;
  const strip = (s: Partial<GbCameraStatus>) => ({ ...s, lastKeepalive: undefined, conditions: s.conditions?.map((c) => ({ ...c, lastTransitionTime: undefined })) });
  return canonical(strip(a)) === canonical(strip(b));
}

export function decideCamera(o: CameraObserved): CameraActions {
  const { camera, now } = o;
  const spec = camera.spec;
  if (camera.metadata.deletionTimestamp) return { kind: 'finalize', deviceId: spec.deviceId };
  const generation = camera.metadata.generation ?? 0;
  const d = o.device;
  const previous = camera.status;
  const events: { type: 'Normal' | 'Warning'; reason: string; note: string }[] = [];
  const secretProblem = 'problem' in o.secret ? o.secret.problem : undefined;

  const status: GbCameraStatus = {
    online: d?.online ?? false,
    activeStreams: o.activeStreams,
    conditions: [],
    observedGeneration: generation,
  };
  const lastKeepalive = iso(d?.lastKeepaliveAt);
  if (lastKeepalive) status.lastKeepalive = lastKeepalive;
  if (d?.ip) status.address = `${d.transport} ${d.ip}:${d.port}`;
  if (d?.manufacturer) status.manufacturer = d.manufacturer;
  if (d?.model) status.model = d.model;
  if (d?.firmware) status.firmware = d.firmware;
  if (d?.channelCount !== undefined) status.channelCount = d.channelCount;
  if (!o.storeOk) {
    // Keep what we knew; say the store is not there.
    Object.assign(status, { ...previous, observedGeneration: generation, conditions: [] });
  }
  const ready = o.storeOk && secretProblem === undefined && status.online;
  const reason = !o.storeOk ? 'StoreUnavailable' : secretProblem !== undefined ? 'SecretUnusable' : status.online ? 'Online' : d ? 'Offline' : 'NeverRegistered';
  const message = !o.storeOk
    ? 'the device store cannot be read'
    : secretProblem !== undefined
      ? secretProblem
      : status.online
        ? `registered from ${status.address ?? 'an unknown address'}`
        : d
          ? 'the device is not registered or stopped keeping alive'
          : 'the device has not registered yet';
  status.conditions = [
    condition(previous?.conditions, 'Ready', ready, reason, message, generation, now),
    condition(previous?.conditions, 'Degraded', secretProblem !== undefined || !o.storeOk, secretProblem !== undefined ? 'SecretUnusable' : !o.storeOk ? 'StoreUnavailable' : 'AsExpected', secretProblem ?? (o.storeOk ? 'as expected' : 'the device store cannot be read'), generation, now),
  ];

  let statusWrite: 'now' | 'later' | 'none';
  if (!sameButKeepalive(previous, status)) statusWrite = 'now';
  else if (previous?.lastKeepalive === status.lastKeepalive) statusWrite = 'none';
  else {
    const written = previous?.lastKeepalive ? Date.parse(previous.lastKeepalive) : 0;
    statusWrite = now - written >= o.keepaliveStatusIntervalMs ? 'now' : 'later';
  }
  if (statusWrite === 'now' && previous && (previous.online ?? false) !== status.online) {
    events.push(status.online ? { type: 'Normal', reason: 'Online', note: message } : { type: 'Warning', reason: 'Offline', note: 'the device went offline' });
  }
  if (secretProblem !== undefined && previous?.conditions?.find((c) => c.type === 'Degraded')?.reason !== 'SecretUnusable') {
    events.push({ type: 'Warning', reason: 'SecretUnusable', note: secretProblem });
  }

  const config: DeviceConfigOut = { alwaysOn: (spec.alwaysOn ?? []).map((a) => (a.rtmpUrl ? { channelId: a.channelId, rtmpUrl: a.rtmpUrl } : { channelId: a.channelId })) };
  if (spec.pool) config.pool = spec.pool;
  if (spec.displayName) config.name = spec.displayName;
  if (spec.transport) config.transport = spec.transport;

  return {
    kind: 'sync',
    addFinalizer: !(camera.metadata.finalizers ?? []).includes(cameraFinalizer),
    credential: 'password' in o.secret ? o.secret.password : undefined,
    config,
    status,
    statusWrite,
    events,
  };
}
