/**
 * What server-side apply and strategic merge patch need to know about a type: which lists are maps
 * keyed by some fields (x-kubernetes-list-type: map / patchMergeKey), which are sets, which are atomic,
 * and which maps are atomic. Paths are field names, with `[]` for "an element of this list".
 */
import type { StructuralSchema } from '../crd-schema/index.ts';

export type ListKind = { type: 'map'; keys: string[]; mergeKey: string } | { type: 'set' } | { type: 'atomic' };

export interface TypeInfo {
  list(path: readonly string[]): ListKind;
  /** A map or struct replaced as a whole (x-kubernetes-map-type: atomic). */
  atomicMap(path: readonly string[]): boolean;
  /** Whether strategic merge patch is served (core types only). */
  strategic: boolean;
}

/** Lists every object shares: metadata.finalizers is a set, ownerReferences keyed by uid. */
function metadataList(path: readonly string[]): ListKind | undefined {
  if (path.length === 2 && path[0] === 'metadata') {
    if (path[1] === 'finalizers') return { type: 'set' };
    if (path[1] === 'ownerReferences') return { type: 'map', keys: ['uid'], mergeKey: 'uid' };
    if (path[1] === 'managedFields') return { type: 'atomic' };
  }
  return undefined;
}

/**
 * Core types: a table of the list fields that carry patchMergeKey (and listType=map) in the
 * Kubernetes API types, for the resources the fake serves. Keys are dotted paths with `[]`.
 */
export function tableTypeInfo(table: Record<string, ListKind>): TypeInfo {
  return {
    strategic: true,
    list(path) {
      const meta = metadataList(path);
      if (meta) return meta;
      return table[path.join('.')] ?? { type: 'atomic' };
    },
    atomicMap: () => false,
  };
}

const containerLists: Record<string, ListKind> = {
  'env': { type: 'map', keys: ['name'], mergeKey: 'name' },
  'ports': { type: 'map', keys: ['containerPort', 'protocol'], mergeKey: 'containerPort' },
  'volumeMounts': { type: 'map', keys: ['mountPath'], mergeKey: 'mountPath' },
  'volumeDevices': { type: 'map', keys: ['devicePath'], mergeKey: 'devicePath' },
  'resizePolicy': { type: 'atomic' },
};

function withPrefix(prefix: string, lists: Record<string, ListKind>): Record<string, ListKind> {
  return Object.fromEntries(Object.entries(lists).map(([k, v]) => [`${prefix}.${k}`, v]));
}

const podSpecLists: Record<string, ListKind> = {
  'containers': { type: 'map', keys: ['name'], mergeKey: 'name' },
  'initContainers': { type: 'map', keys: ['name'], mergeKey: 'name' },
  'ephemeralContainers': { type: 'map', keys: ['name'], mergeKey: 'name' },
  'volumes': { type: 'map', keys: ['name'], mergeKey: 'name' },
  'imagePullSecrets': { type: 'map', keys: ['name'], mergeKey: 'name' },
  'hostAliases': { type: 'map', keys: ['ip'], mergeKey: 'ip' },
  'topologySpreadConstraints': { type: 'map', keys: ['topologyKey', 'whenUnsatisfiable'], mergeKey: 'topologyKey' },
  'resourceClaims': { type: 'map', keys: ['name'], mergeKey: 'name' },
  'schedulingGates': { type: 'map', keys: ['name'], mergeKey: 'name' },
  ...withPrefix('containers[]', containerLists),
  ...withPrefix('initContainers[]', containerLists),
  ...withPrefix('ephemeralContainers[]', containerLists),
};

export const podTable: Record<string, ListKind> = {
  ...withPrefix('spec', podSpecLists),
  'status.conditions': { type: 'map', keys: ['type'], mergeKey: 'type' },
  'status.podIPs': { type: 'map', keys: ['ip'], mergeKey: 'ip' },
  'status.hostIPs': { type: 'map', keys: ['ip'], mergeKey: 'ip' },
};

export const nodeTable: Record<string, ListKind> = {
  'spec.podCIDRs': { type: 'set' },
  'status.conditions': { type: 'map', keys: ['type'], mergeKey: 'type' },
  'status.addresses': { type: 'map', keys: ['type'], mergeKey: 'type' },
};

export const serviceTable: Record<string, ListKind> = {
  'spec.ports': { type: 'map', keys: ['port', 'protocol'], mergeKey: 'port' },
  'spec.clusterIPs': { type: 'atomic' },
  'status.conditions': { type: 'map', keys: ['type'], mergeKey: 'type' },
};

export const namespaceTable: Record<string, ListKind> = {
  'status.conditions': { type: 'map', keys: ['type'], mergeKey: 'type' },
};

/** Custom resources: list and map types from the CRD's structural schema. */
export function schemaTypeInfo(schema: StructuralSchema | undefined): TypeInfo {
  const at = (path: readonly string[]): StructuralSchema | undefined => {
    let s = schema;
    for (const p of path) {
      if (!s) return undefined;
      if (p === '[]') s = s.items;
      else s = s.properties?.[p] ?? (typeof s.additionalProperties === 'object' ? s.additionalProperties : undefined);
    }
    return s;
  };
  return {
    strategic: false,
    list(path) {
      const meta = metadataList(path);
      if (meta) return meta;
      const s = at(path);
      const t = s?.['x-kubernetes-list-type'];
      if (t === 'map') {
        const keys = s?.['x-kubernetes-list-map-keys'] ?? [];
        return { type: 'map', keys, mergeKey: keys[0] ?? '' };
      }
      if (t === 'set') return { type: 'set' };
      return { type: 'atomic' };
    },
    atomicMap(path) {
      return at(path)?.['x-kubernetes-map-type'] === 'atomic';
    },
  };
}
