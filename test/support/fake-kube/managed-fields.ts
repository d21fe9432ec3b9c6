/**
 * Field management as server-side apply does it: field sets (FieldsV1: `f:name`, `k:{"name":"c"}`,
 * `v:"x"`, `.`), metadata.managedFields entries per manager/operation/subresource, ownership moved by
 * ordinary writes (operation Update), and apply (operation Apply): merge by the type's list and map
 * semantics, conflicts with other managers' differing fields unless forced, and removal of the fields
 * a manager stopped applying that nobody else owns.
 */
import { clone, deepEqual, isObject, KubeError } from './status.ts';
import type { Json, JsonObject, StatusCause } from './status.ts';
import type { TypeInfo } from './typeinfo.ts';

export interface ManagedFieldsEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time: string;
  fieldsType: 'FieldsV1';
  fieldsV1: JsonObject;
  subresource?: string;
}

type FieldPath = string[];
const SEP = '\u0001';
const enc = (p: FieldPath): string => p.join(SEP);
const dec = (s: string): FieldPath => s.split(SEP);

/** metadata fields the server owns; they never appear in field sets. */
const serverMeta = new Set(['name', 'namespace', 'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'managedFields', 'selfLink', 'generateName']);

function managedView(obj: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(obj)) {
    if (k === 'apiVersion' || k === 'kind') continue;
    if (k === 'metadata' && isObject(v)) {
      const meta: JsonObject = {};
      for (const [mk, mv] of Object.entries(v)) if (!serverMeta.has(mk)) meta[mk] = mv;
      if (Object.keys(meta).length > 0) out.metadata = meta;
      continue;
    }
    out[k] = v;
  }
  return out;
}

function itemKey(item: Json, keys: string[]): string {
  const o: JsonObject = {};
  for (const k of [...keys].sort()) if (isObject(item) && item[k] !== undefined) o[k] = item[k];
  return `k:${JSON.stringify(o)}`;
}

/** The set of leaf paths an object (or applied configuration) sets. */
export function fieldSet(obj: JsonObject, info: TypeInfo): Set<string> {
  const out = new Set<string>();
  walkSet(managedView(obj), info, [], [], out);
  return out;
}

function walkSet(value: Json, info: TypeInfo, typePath: string[], path: FieldPath, out: Set<string>): void {
  if (isObject(value)) {
    if (Object.keys(value).length === 0 || (typePath.length > 0 && info.atomicMap(typePath))) {
      if (path.length > 0) out.add(enc(path));
      return;
    }
    for (const [k, v] of Object.entries(value)) walkSet(v, info, [...typePath, k], [...path, `f:${k}`], out);
    return;
  }
  if (Array.isArray(value)) {
    const kind = info.list(typePath);
    if (kind.type === 'map') {
      for (const item of value) {
        const itemPath = [...path, itemKey(item, kind.keys)];
        out.add(enc([...itemPath, '.']));
        if (isObject(item)) for (const [k, v] of Object.entries(item)) walkSet(v, info, [...typePath, '[]', k], [...itemPath, `f:${k}`], out);
      }
      return;
    }
    if (kind.type === 'set') {
      for (const item of value) out.add(enc([...path, `v:${JSON.stringify(item)}`]));
      return;
    }
  }
  out.add(enc(path));
}

function matchesKey(item: Json, keyEl: string): boolean {
  const want = JSON.parse(keyEl.slice(2)) as JsonObject;
  return isObject(item) && Object.entries(want).every(([k, v]) => deepEqual(item[k], v));
}

/** The value at a field path; undefined when absent. */
export function valueAt(obj: Json | undefined, path: FieldPath): Json | undefined {
  let node: Json | undefined = obj;
  for (const el of path) {
    if (node === undefined) return undefined;
    if (el === '.') continue;
    if (el.startsWith('f:')) node = isObject(node) ? node[el.slice(2)] : undefined;
    else if (el.startsWith('k:')) node = Array.isArray(node) ? node.find((i) => matchesKey(i, el)) : undefined;
    else if (el.startsWith('v:')) {
      const v = JSON.parse(el.slice(2)) as Json;
      node = Array.isArray(node) && node.some((i) => deepEqual(i, v)) ? v : undefined;
    }
  }
  return node;
}

function removeAt(obj: JsonObject, path: FieldPath): void {
  const last = path[path.length - 1];
  const target = last === '.' ? path.slice(0, -1) : path;
  const parent = valueAt(obj, target.slice(0, -1));
  const el = target[target.length - 1];
  if (el.startsWith('f:') && isObject(parent)) delete parent[el.slice(2)];
  else if (el.startsWith('k:') && Array.isArray(parent)) {
    const i = parent.findIndex((x) => matchesKey(x, el));
    if (i >= 0) parent.splice(i, 1);
  } else if (el.startsWith('v:') && Array.isArray(parent)) {
    const v = JSON.parse(el.slice(2)) as Json;
    const i = parent.findIndex((x) => deepEqual(x, v));
    if (i >= 0) parent.splice(i, 1);
  }
}

export function toFieldsV1(set: Set<string>): JsonObject {
  const root: JsonObject = {};
  for (const s of [...set].sort()) {
    let node = root;
    for (const el of dec(s)) node = (node[el] ??= {}) as JsonObject;
  }
  return root;
}

export function fromFieldsV1(fields: JsonObject): Set<string> {
  const out = new Set<string>();
  const walk = (node: JsonObject, path: FieldPath): void => {
    const keys = Object.keys(node);
    if (keys.length === 0 && path.length > 0) out.add(enc(path));
    for (const k of keys) {
      if (k === '.') out.add(enc([...path, '.']));
      else walk(isObject(node[k]) ? (node[k] as JsonObject) : {}, [...path, k]);
    }
  };
  walk(fields, []);
  return out;
}

/** `.spec.replicas`, `.spec.containers[name="c"].image`: paths as conflict messages print them. */
export function printPath(s: string): string {
  let out = '';
  for (const el of dec(s)) {
    if (el === '.') continue;
    if (el.startsWith('f:')) out += `.${el.slice(2)}`;
    else if (el.startsWith('k:')) {
      const keys = JSON.parse(el.slice(2)) as JsonObject;
      out += `[${Object.entries(keys).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}]`;
    } else if (el.startsWith('v:')) out += `[${el.slice(2)}]`;
  }
  return out;
}

interface Entry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time: string;
  subresource?: string;
  set: Set<string>;
}

function readEntries(obj: JsonObject | undefined): Entry[] {
  const mf = isObject(obj?.metadata) ? (obj.metadata as JsonObject).managedFields : undefined;
  if (!Array.isArray(mf)) return [];
  return mf.filter(isObject).map((e) => ({
    manager: String(e.manager ?? ''),
    operation: e.operation === 'Apply' ? 'Apply' : 'Update',
    apiVersion: String(e.apiVersion ?? ''),
    time: String(e.time ?? ''),
    subresource: typeof e.subresource === 'string' ? e.subresource : undefined,
    set: fromFieldsV1(isObject(e.fieldsV1) ? e.fieldsV1 : {}),
  }));
}

function writeEntries(obj: JsonObject, entries: Entry[]): void {
  const meta = (obj.metadata ??= {}) as JsonObject;
  const out: Json[] = [];
  for (const e of entries) {
    if (e.set.size === 0) continue;
    const entry: JsonObject = { manager: e.manager, operation: e.operation, apiVersion: e.apiVersion, time: e.time, fieldsType: 'FieldsV1', fieldsV1: toFieldsV1(e.set) };
    if (e.subresource) entry.subresource = e.subresource;
    out.push(entry);
  }
  if (out.length > 0) meta.managedFields = out;
  else delete meta.managedFields;
}

const sameEntry = (e: Entry, manager: string, operation: string, subresource: string | undefined): boolean =>
  e.manager === manager && e.operation === operation && (e.subresource ?? '') === (subresource ?? '');

export interface WriteContext {
  manager: string;
  apiVersion: string;
  subresource?: string;
  now: string;
  info: TypeInfo;
}

/**
 * An ordinary write (create, update, merge/JSON/strategic patch): the writer takes the fields whose
 * values it changed, other managers lose them, and fields that disappeared leave every set.
 * Returns the new object with metadata.managedFields set.
 */
export function recordUpdate(old: JsonObject | undefined, next: JsonObject, ctx: WriteContext): JsonObject {
  const result = clone(next);
  const entries = readEntries(old);
  const oldSet = old ? fieldSet(old, ctx.info) : new Set<string>();
  const newSet = fieldSet(next, ctx.info);
  const changed = new Set<string>();
  for (const p of newSet) if (!oldSet.has(p) || !deepEqual(valueAt(managedView(old ?? {}), dec(p)), valueAt(managedView(next), dec(p)))) changed.add(p);
  const removed = [...oldSet].filter((p) => !newSet.has(p));
  for (const e of entries) {
    for (const p of changed) e.set.delete(p);
    for (const p of removed) e.set.delete(p);
  }
  if (changed.size > 0) {
    let mine = entries.find((e) => sameEntry(e, ctx.manager, 'Update', ctx.subresource));
    if (!mine) {
      mine = { manager: ctx.manager, operation: 'Update', apiVersion: ctx.apiVersion, time: ctx.now, subresource: ctx.subresource, set: new Set() };
      entries.push(mine);
    }
    for (const p of changed) mine.set.add(p);
    mine.time = ctx.now;
    mine.apiVersion = ctx.apiVersion;
  }
  writeEntries(result, entries);
  return result;
}

/** Merges an applied configuration into the live object by the type's list/map semantics. */
export function mergeApplied(live: Json | undefined, applied: Json, info: TypeInfo, typePath: string[] = []): Json {
  if (isObject(applied) && !(typePath.length > 0 && info.atomicMap(typePath))) {
    const result: JsonObject = isObject(live) ? { ...live } : {};
    for (const [k, v] of Object.entries(applied)) result[k] = mergeApplied(result[k], v, info, [...typePath, k]);
    return result;
  }
  if (Array.isArray(applied)) {
    const kind = info.list(typePath);
    if (kind.type === 'map') {
      const result = Array.isArray(live) ? [...live] : [];
      for (const item of applied) {
        const key = itemKey(item, kind.keys);
        const i = result.findIndex((x) => itemKey(x, kind.keys) === key);
        if (i >= 0) result[i] = mergeApplied(result[i], item, info, [...typePath, '[]']);
        else result.push(clone(item));
      }
      return result;
    }
    if (kind.type === 'set') {
      const result = Array.isArray(live) ? [...live] : [];
      for (const v of applied) if (!result.some((x) => deepEqual(x, v))) result.push(clone(v));
      return result;
    }
  }
  return clone(applied);
}

export interface ApplyContext extends WriteContext {
  force: boolean;
}

/**
 * Server-side apply of `applied` (already stripped of what this endpoint ignores) onto `live`
 * (undefined: create). Throws 409 Conflict listing the fields other managers own with other values.
 */
export function applyConfig(live: JsonObject | undefined, applied: JsonObject, ctx: ApplyContext, names: { group: string; resource: string; name: string }): JsonObject {
  const entries = readEntries(live);
  const newSet = fieldSet(applied, ctx.info);
  const liveView = managedView(live ?? {});
  const appliedView = managedView(applied);
  let mine = entries.find((e) => sameEntry(e, ctx.manager, 'Apply', ctx.subresource));
  const conflicts: { manager: string; apiVersion: string; path: string }[] = [];
  for (const e of entries) {
    if (e === mine) continue;
    for (const p of newSet) {
      if (!e.set.has(p) || p.endsWith(`${SEP}.`)) continue;
      if (!deepEqual(valueAt(liveView, dec(p)), valueAt(appliedView, dec(p)))) conflicts.push({ manager: e.manager, apiVersion: e.apiVersion, path: p });
    }
  }
  if (conflicts.length > 0 && !ctx.force) throw applyConflict(conflicts, names);
  for (const c of conflicts) for (const e of entries) if (e !== mine && e.manager === c.manager) e.set.delete(c.path);

  const merged = mergeApplied(live ?? {}, applied, ctx.info) as JsonObject;
  const previous = mine?.set ?? new Set<string>();
  for (const p of previous) {
    if (newSet.has(p)) continue;
    const prefix = p.endsWith(`${SEP}.`) ? p.slice(0, -2) : p;
    const ownedElsewhere = entries.some((e) => e !== mine && [...e.set].some((q) => q === p || q.startsWith(prefix + SEP) || q === prefix));
    if (!ownedElsewhere) removeAt(merged, dec(p));
  }
  if (!mine) {
    mine = { manager: ctx.manager, operation: 'Apply', apiVersion: ctx.apiVersion, time: ctx.now, subresource: ctx.subresource, set: newSet };
    entries.push(mine);
  }
  mine.set = newSet;
  mine.time = ctx.now;
  mine.apiVersion = ctx.apiVersion;
  // Fields that vanished from the object (removed above) leave every set.
  const remaining = fieldSet(merged, ctx.info);
  for (const e of entries) for (const p of [...e.set]) if (!remaining.has(p) && !newSet.has(p)) e.set.delete(p);
  writeEntries(merged, entries);
  return merged;
}

function applyConflict(conflicts: { manager: string; apiVersion: string; path: string }[], names: { group: string; resource: string; name: string }): KubeError {
  const causes: StatusCause[] = conflicts.map((c) => ({ reason: 'FieldManagerConflict', message: `conflict with "${c.manager}" using ${c.apiVersion}`, field: printPath(c.path) }));
  let message: string;
  if (conflicts.length === 1) {
    const c = conflicts[0];
    message = `Apply failed with 1 conflict: conflict with "${c.manager}" using ${c.apiVersion}: ${printPath(c.path)}`;
  } else {
    const byManager = new Map<string, string[]>();
    for (const c of conflicts) byManager.set(`"${c.manager}" using ${c.apiVersion}`, [...(byManager.get(`"${c.manager}" using ${c.apiVersion}`) ?? []), printPath(c.path)]);
    message = `Apply failed with ${conflicts.length} conflicts: ` + [...byManager].map(([who, paths]) => `conflicts with ${who}:\n${paths.map((p) => `- ${p}`).join('\n')}`).join('\n');
  }
  const details = names.group === '' ? { name: names.name, kind: names.resource, causes } : { name: names.name, group: names.group, kind: names.resource, causes };
  return new KubeError(409, 'Conflict', message, details);
}
