/**
 * What the API server does to a custom resource before it validates it, in its order: drop the
 * fields the schema does not know (pruning), then fill defaults (a null in a non-nullable field is
 * dropped or defaulted).
 */
import { embedded, fieldSchema, isObj, objectMetaFields, preserves } from './types.ts';
import type { StructuralSchema } from './types.ts';

/** Pruned fields are named as the API server's warnings name them: keys joined by dots, indexes in brackets. */
const join = (path: string, key: string): string => (path ? `${path}.${key}` : key);

/**
 * Drops the fields the schema does not know (in place) and returns their paths (`spec.foo`). At the
 * root (`root`) and in embedded resources apiVersion, kind and ObjectMeta's fields are kept.
 */
export function pruneUnknownFields(obj: unknown, schema: StructuralSchema, root = true): string[] {
  const unknown: string[] = [];
  pruneValue(obj, schema, '', unknown, root);
  return unknown;
}

function pruneValue(v: unknown, s: StructuralSchema, path: string, unknown: string[], root: boolean): void {
  if (Array.isArray(v)) {
    if (s.items) v.forEach((x, i) => pruneValue(x, s.items as StructuralSchema, `${path}[${i}]`, unknown, false));
    return;
  }
  if (!isObj(v)) return;
  const keepTypeMeta = root || embedded(s);
  for (const k of Object.keys(v)) {
    if (keepTypeMeta && (k === 'apiVersion' || k === 'kind')) continue;
    if (keepTypeMeta && k === 'metadata') {
      if (isObj(v.metadata))
        for (const mk of Object.keys(v.metadata))
          if (!objectMetaFields.has(mk)) {
            unknown.push(join(join(path, 'metadata'), mk));
            delete v.metadata[mk];
          }
      continue;
    }
    const p = fieldSchema(s, k);
    if (p) pruneValue(v[k], p, join(path, k), unknown, false);
    else if (!preserves(s) && s.additionalProperties !== true) {
      unknown.push(join(path, k));
      delete v[k];
    }
  }
}

/** Fills the schema's defaults in place, parents before children, as the API server does. */
export function applyDefaults(v: unknown, s: StructuralSchema | undefined): void {
  if (!s) return;
  if (Array.isArray(v)) {
    for (const x of v) applyDefaults(x, s.items);
    return;
  }
  if (!isObj(v)) return;
  for (const [k, p] of Object.entries(s.properties ?? {})) {
    if (v[k] === null && !p.nullable) delete v[k];
    if (v[k] === undefined && p.default !== undefined) v[k] = structuredClone(p.default);
  }
  for (const [k, x] of Object.entries(v)) applyDefaults(x, fieldSchema(s, k));
}
