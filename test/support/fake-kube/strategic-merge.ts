/**
 * Strategic merge patch for core types: like a merge patch, except that lists with a patchMergeKey
 * merge element by element (`$patch: delete` removes an element, `$patch: replace` replaces the whole
 * list or map), merge-strategy primitive lists (finalizers) take a union, `$deleteFromPrimitiveList/x`
 * removes values, `$retainKeys` clears the keys it does not name, and `$setElementOrder/x` orders.
 */
import { PatchError } from './json-patch.ts';
import { clone, deepEqual, isObject } from './status.ts';
import type { Json, JsonObject } from './status.ts';
import type { TypeInfo } from './typeinfo.ts';

export function strategicMergePatch(target: Json | undefined, patch: Json, info: TypeInfo, path: string[] = []): Json | undefined {
  if (!isObject(patch)) return clone(patch);
  const directive = patch.$patch;
  if (directive === 'delete') return undefined;
  const body: JsonObject = { ...patch };
  delete body.$patch;
  if (directive === 'replace') return clone(stripDirectives(body));
  if (directive !== undefined) throw new PatchError(`unknown patch type "${String(directive)}"`);

  let result: JsonObject = isObject(target) ? { ...target } : {};
  const retain = body.$retainKeys;
  delete body.$retainKeys;
  if (retain !== undefined) {
    if (!Array.isArray(retain)) throw new PatchError('$retainKeys must be a list');
    result = Object.fromEntries(Object.entries(result).filter(([k]) => retain.includes(k)));
  }
  const orders: Record<string, Json> = {};
  for (const [key, value] of Object.entries(body)) {
    if (key.startsWith('$setElementOrder/')) {
      orders[key.slice('$setElementOrder/'.length)] = value;
      continue;
    }
    if (key.startsWith('$deleteFromPrimitiveList/')) {
      const field = key.slice('$deleteFromPrimitiveList/'.length);
      if (!Array.isArray(value)) throw new PatchError(`${key} must be a list`);
      const current = result[field];
      if (Array.isArray(current)) result[field] = current.filter((v) => !value.some((d) => deepEqual(d, v)));
      continue;
    }
    if (value === null) {
      delete result[key];
      continue;
    }
    const childPath = [...path, key];
    if (Array.isArray(value)) {
      result[key] = mergeList(result[key], value, info, childPath);
    } else {
      const merged = strategicMergePatch(result[key], value, info, childPath);
      if (merged === undefined) delete result[key];
      else result[key] = merged;
    }
  }
  for (const [field, order] of Object.entries(orders)) {
    const list = result[field];
    if (Array.isArray(list) && Array.isArray(order)) result[field] = applyOrder(list, order, info.list([...path, field]));
  }
  return result;
}

function stripDirectives(v: Json): Json {
  if (Array.isArray(v)) return v.filter((x) => !(isObject(x) && x.$patch !== undefined && Object.keys(x).length === 1)).map(stripDirectives);
  if (!isObject(v)) return v;
  return Object.fromEntries(Object.entries(v).filter(([k]) => !k.startsWith('$')).map(([k, x]) => [k, stripDirectives(x)]));
}

function mergeList(target: Json | undefined, patch: Json[], info: TypeInfo, path: string[]): Json {
  const kind = info.list(path);
  const replace = patch.some((x) => isObject(x) && x.$patch === 'replace');
  if (replace) return clone(patch.filter((x) => !(isObject(x) && x.$patch === 'replace')).map(stripDirectives));
  const current = Array.isArray(target) ? [...target] : [];
  if (kind.type === 'set') {
    for (const v of patch) if (!current.some((c) => deepEqual(c, v))) current.push(clone(v));
    return current;
  }
  if (kind.type !== 'map') return clone(patch.map(stripDirectives));
  const key = kind.mergeKey;
  for (const item of patch) {
    if (!isObject(item) || !(key in item)) throw new PatchError(`map: ${JSON.stringify(item)} does not contain declared merge key: ${key}`);
    const at = current.findIndex((c) => isObject(c) && deepEqual(c[key], item[key]));
    if (item.$patch === 'delete') {
      if (at >= 0) current.splice(at, 1);
      continue;
    }
    if (at >= 0) {
      const merged = strategicMergePatch(current[at], item, info, [...path, '[]']);
      if (merged === undefined) current.splice(at, 1);
      else current[at] = merged;
    } else {
      current.push(stripDirectives(item));
    }
  }
  return current;
}

function applyOrder(list: Json[], order: Json[], kind: ReturnType<TypeInfo['list']>): Json[] {
  const keyOf = (x: Json): Json => (kind.type === 'map' && isObject(x) ? (x[kind.mergeKey] ?? null) : x);
  const ordered: Json[] = [];
  const rest = [...list];
  for (const o of order) {
    const want = keyOf(o);
    const i = rest.findIndex((x) => deepEqual(keyOf(x), want));
    if (i >= 0) ordered.push(...rest.splice(i, 1));
  }
  return [...ordered, ...rest];
}
