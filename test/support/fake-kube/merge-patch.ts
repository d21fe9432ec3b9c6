/** JSON Merge Patch (RFC 7386): objects merge key by key, null removes, anything else replaces. */
import { clone, isObject } from './status.ts';
import type { Json } from './status.ts';

export function mergePatch(target: Json | undefined, patch: Json): Json {
  if (!isObject(patch)) return clone(patch);
  const result = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}
