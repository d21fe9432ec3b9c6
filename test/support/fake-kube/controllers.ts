/**
 * What kube-controller-manager and the apiextensions server do in the background, shortly after a
 * change: the garbage collector (dependents whose owners are all gone are deleted; a foreground
 * deletion waits for dependents that block it; an orphaning deletion strips the owner references
 * first), the namespace controller (a terminating namespace is emptied, then removed), and the CRD
 * cleanup finalizer (a deleted CRD's objects are deleted before the CRD goes).
 */
import type { Api } from './api.ts';
import { cleanupFinalizer, crdSkey } from './crd.ts';
import { splitApiVersion } from './resources.ts';
import type { ResourceDef } from './resources.ts';
import { clone, isObject, KubeError } from './status.ts';
import type { JsonObject } from './status.ts';

interface OwnerRef {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  blockOwnerDeletion?: boolean;
}

function meta(o: JsonObject): JsonObject {
  return o.metadata as JsonObject;
}

function finalizersOf(o: JsonObject): string[] {
  return (meta(o).finalizers as string[] | undefined) ?? [];
}

export class Controllers {
  private readonly api: Api;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private again = false;
  delayMs: number;
  /** Stop reacting (tests can pause the controllers to look at intermediate states). */
  paused = false;

  constructor(api: Api, delayMs: number) {
    this.api = api;
    this.delayMs = delayMs;
  }

  kick(): void {
    if (this.paused) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.runOnce();
    }, this.delayMs);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.paused = true;
  }

  private runOnce(): void {
    this.running = true;
    this.again = false;
    try {
      for (let round = 0; round < 20 && this.pass(); round++) {
        // repeat while something changed
      }
    } finally {
      this.running = false;
    }
    if (this.again) this.kick();
  }

  private defFor(skey: string): ResourceDef | undefined {
    return this.api.registry.storageDef(skey);
  }

  private everything(): { def: ResourceDef; obj: JsonObject }[] {
    const out: { def: ResourceDef; obj: JsonObject }[] = [];
    for (const skey of this.api.registry.storageKeys()) {
      const def = this.defFor(skey);
      if (!def) continue;
      for (const obj of this.api.store.list(skey)) out.push({ def, obj });
    }
    return out;
  }

  private remove(def: ResourceDef, obj: JsonObject, propagationPolicy: string): boolean {
    try {
      this.api.delete(def, meta(obj).namespace as string | undefined, String(meta(obj).name), { propagationPolicy }, { dryRun: false });
      return true;
    } catch (e) {
      if (e instanceof KubeError && e.code === 404) return false;
      throw e;
    }
  }

  private dropFinalizer(def: ResourceDef, obj: JsonObject, finalizer: string): void {
    const next = clone(obj);
    meta(next).finalizers = finalizersOf(obj).filter((f) => f !== finalizer);
    if ((meta(next).finalizers as string[]).length === 0) delete meta(next).finalizers;
    this.api.systemWrite(def, next);
  }

  /** One pass over the store; true when it changed something. */
  private pass(): boolean {
    let changed = false;
    const all = this.everything();
    const byUid = new Map<string, { def: ResourceDef; obj: JsonObject }>();
    for (const entry of all) byUid.set(String(meta(entry.obj).uid), entry);

    const ownerState = (ref: OwnerRef, dependentNs: string | undefined): 'absent' | 'solid' | 'waiting' => {
      const { group } = splitApiVersion(ref.apiVersion);
      // An owner of a kind this server does not serve cannot be checked: it is left alone.
      if (!this.api.registry.byGroupKind(group, ref.kind)) return 'solid';
      const found = byUid.get(ref.uid);
      if (!found) return 'absent';
      const om = meta(found.obj);
      if (found.def.group !== group || found.def.kind !== ref.kind || om.name !== ref.name) return 'absent';
      if (found.def.namespaced && om.namespace !== dependentNs) return 'absent';
      if (om.deletionTimestamp && finalizersOf(found.obj).includes('foregroundDeletion')) return 'waiting';
      return 'solid';
    };

    // Garbage collection of dependents.
    for (const { def, obj } of all) {
      const m = meta(obj);
      const refs = (m.ownerReferences as unknown as OwnerRef[] | undefined) ?? [];
      if (refs.length === 0) continue;
      const states = refs.map((r) => ownerState(r, m.namespace as string | undefined));
      if (states.includes('solid')) {
        if (states.some((s) => s !== 'solid')) {
          const next = clone(obj);
          meta(next).ownerReferences = refs.filter((_, i) => states[i] === 'solid') as unknown as JsonObject[];
          this.api.systemWrite(def, next);
          changed = true;
        }
        continue;
      }
      if (m.deletionTimestamp) continue;
      const policy = states.includes('waiting') ? 'Foreground' : 'Background';
      changed = this.remove(def, obj, policy) || changed;
    }

    const fresh = this.everything();
    const dependentsOf = (uid: string): { def: ResourceDef; obj: JsonObject; ref: OwnerRef }[] => {
      const out: { def: ResourceDef; obj: JsonObject; ref: OwnerRef }[] = [];
      for (const e of fresh) {
        const ref = ((meta(e.obj).ownerReferences as unknown as OwnerRef[] | undefined) ?? []).find((r) => r.uid === uid);
        if (ref) out.push({ ...e, ref });
      }
      return out;
    };

    for (const { def, obj } of fresh) {
      const m = meta(obj);
      if (!m.deletionTimestamp) continue;
      const finalizers = finalizersOf(obj);
      // Orphan: strip the owner reference from every dependent, then let the owner go.
      if (finalizers.includes('orphan')) {
        for (const d of dependentsOf(String(m.uid))) {
          const next = clone(d.obj);
          const kept = ((meta(next).ownerReferences as unknown as OwnerRef[]) ?? []).filter((r) => r.uid !== m.uid);
          if (kept.length > 0) meta(next).ownerReferences = kept as unknown as JsonObject[];
          else delete meta(next).ownerReferences;
          this.api.systemWrite(d.def, next);
        }
        this.dropFinalizer(def, obj, 'orphan');
        changed = true;
        continue;
      }
      // Foreground: wait until no dependent that blocks owner deletion is left.
      if (finalizers.includes('foregroundDeletion')) {
        const deps = dependentsOf(String(m.uid));
        for (const d of deps) if (!meta(d.obj).deletionTimestamp) changed = this.remove(d.def, d.obj, 'Foreground') || changed;
        if (!deps.some((d) => d.ref.blockOwnerDeletion === true)) {
          this.dropFinalizer(def, obj, 'foregroundDeletion');
          changed = true;
        }
        continue;
      }
      // Namespace controller.
      if (def.group === '' && def.resource === 'namespaces') {
        const ns = String(m.name);
        const inside = fresh.filter((e) => e.def.namespaced && meta(e.obj).namespace === ns);
        for (const e of inside) if (!meta(e.obj).deletionTimestamp) changed = this.remove(e.def, e.obj, 'Background') || changed;
        if (inside.length === 0 && finalizers.length === 0) {
          this.api.store.remove(def.skey, undefined, ns);
          this.api.onChange();
          changed = true;
        }
        continue;
      }
      // CRD cleanup.
      if (def.skey === crdSkey && finalizers.includes(cleanupFinalizer)) {
        const served = this.api.registry.all().filter((d) => d.crd === m.name);
        const skeys = new Set(served.map((d) => d.skey));
        const instances = fresh.filter((e) => skeys.has(e.def.skey));
        for (const e of instances) if (!meta(e.obj).deletionTimestamp) changed = this.remove(e.def, e.obj, 'Background') || changed;
        if (instances.length === 0) {
          this.dropFinalizer(def, obj, cleanupFinalizer);
          changed = true;
        } else if (!isObject(obj.status) || !JSON.stringify(obj.status).includes('Terminating')) {
          const next = clone(obj);
          next.status = { ...(isObject(obj.status) ? obj.status : {}), conditions: [{ type: 'Terminating', status: 'True', reason: 'InstanceDeletionInProgress', message: 'CustomResource deletion is in progress', lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') }] };
          this.api.systemWrite(def, next);
          changed = true;
        }
      }
    }
    return changed;
  }
}
