/**
 * Owner references and finalizers. Finalizers are changed with JSON patches whose `test` operation
 * pins the state they were computed from: a concurrent change makes the patch fail (409/422,
 * `isConflict`) instead of being overwritten, and the helpers then read the object again and retry.
 */
import { isConflict, isNotFound, type JsonPatchOp, type KubeClient, type ResourceDescriptor } from './client.ts';
import type { KubeObject, OwnerReference } from './types.ts';

/** A reference from a dependent to `owner`; `controller` marks the owner that manages it. */
export function ownerRef(owner: KubeObject, controller = true): OwnerReference {
  if (!owner.apiVersion || !owner.kind) throw new Error(`owner ${owner.metadata.name} has no apiVersion/kind`);
  if (!owner.metadata.uid) throw new Error(`owner ${owner.kind} ${owner.metadata.name} has no uid (not read from the API?)`);
  return { apiVersion: owner.apiVersion, kind: owner.kind, name: owner.metadata.name, uid: owner.metadata.uid, controller, blockOwnerDeletion: true };
}

/** The owner reference marked controller, if any. */
export function controllerOf(obj: KubeObject): OwnerReference | undefined {
  return obj.metadata.ownerReferences?.find((r) => r.controller);
}

/** Whether `owner` (by uid) is the controller of `obj`. */
export function isControlledBy(obj: KubeObject, owner: KubeObject): boolean {
  const ref = controllerOf(obj);
  return ref !== undefined && ref.uid === owner.metadata.uid;
}

/**
 * A key mapper for Controller watches: the key (namespace/name) of the object's controlling owner
 * when that owner is a `res` (same group and kind), else none.
 */
export function controllerKey(res: ResourceDescriptor<KubeObject>): (obj: KubeObject) => string | undefined {
  return (obj) => {
    const ref = controllerOf(obj);
    if (!ref || ref.kind !== res.kind || groupOf(ref.apiVersion) !== res.group) return undefined;
    return obj.metadata.namespace && res.namespaced ? `${obj.metadata.namespace}/${ref.name}` : ref.name;
  };
}

function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

export function hasFinalizer(obj: KubeObject, finalizer: string): boolean {
  return obj.metadata.finalizers?.includes(finalizer) ?? false;
}

export function isDeleting(obj: KubeObject): boolean {
  return Boolean(obj.metadata.deletionTimestamp);
}

export interface FinalizerOptions {
  /** Reads and tries again this many times on a conflict (default 3). */
  retries?: number;
  signal?: AbortSignal;
}

/**
 * Adds `finalizer` unless present; answers the object as written (or `obj` when nothing changed).
 * Throws the conflict when it persists through the retries.
 */
export async function addFinalizer<T extends KubeObject>(client: KubeClient, res: ResourceDescriptor<T>, obj: T, finalizer: string, options: FinalizerOptions = {}): Promise<T> {
  return withRetries(client, res, obj, options, async (current) => {
    if (hasFinalizer(current, finalizer)) return current;
    const list = current.metadata.finalizers;
    const ops: JsonPatchOp[] = list?.length
      ? [
          { op: 'test', path: '/metadata/finalizers', value: list },
          { op: 'add', path: '/metadata/finalizers/-', value: finalizer },
        ]
      : [
          { op: 'test', path: '/metadata/resourceVersion', value: current.metadata.resourceVersion },
          { op: 'add', path: '/metadata/finalizers', value: [finalizer] },
        ];
    return client.patchJson(res, current.metadata.name, ops, { namespace: current.metadata.namespace, signal: options.signal });
  });
}

/**
 * Removes `finalizer` if present; answers the object as written, or undefined when the object is
 * gone (the last finalizer of a deleted object was removed, or it was not there at all).
 */
export async function removeFinalizer<T extends KubeObject>(client: KubeClient, res: ResourceDescriptor<T>, obj: T, finalizer: string, options: FinalizerOptions = {}): Promise<T | undefined> {
  try {
    return await withRetries(client, res, obj, options, async (current) => {
      const list = current.metadata.finalizers ?? [];
      if (!list.includes(finalizer)) return current;
      const ops: JsonPatchOp[] = [
        { op: 'test', path: '/metadata/finalizers', value: list },
        { op: 'replace', path: '/metadata/finalizers', value: list.filter((f) => f !== finalizer) },
      ];
      return client.patchJson(res, current.metadata.name, ops, { namespace: current.metadata.namespace, signal: options.signal });
    });
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

async function withRetries<T extends KubeObject>(client: KubeClient, res: ResourceDescriptor<T>, obj: T, options: FinalizerOptions, attempt: (current: T) => Promise<T>): Promise<T> {
  const retries = options.retries ?? 3;
  let current = obj;
  for (let i = 0; ; i++) {
    try {
      return await attempt(current);
    } catch (err) {
      if (!isConflict(err) || i >= retries) throw err;
      current = await client.get(res, obj.metadata.name, obj.metadata.namespace, { signal: options.signal });
    }
  }
}
