/**
 * Discovery documents: /version, /api (APIVersions), /api/v1 and /apis/{group}/{version}
 * (APIResourceList with verbs, scope, kind, short names and the status and scale subresources),
 * /apis (APIGroupList) and /apis/{group} (APIGroup), built from what the registry serves now.
 */
import { apiVersionOf, resourceVerbs } from './resources.ts';
import type { Registry } from './registry.ts';
import type { JsonObject } from './status.ts';

export const serverVersion = {
  major: '1', minor: '33', gitVersion: 'v1.33.0-fake', gitCommit: '0000000000000000000000000000000000000000', gitTreeState: 'clean',
  buildDate: '2025-04-23T00:00:00Z', goVersion: 'go1.24.2', compiler: 'gc', platform: 'linux/amd64',
};

/** Kubernetes version order: v2 > v1 > v1beta2 > v1beta1 > v1alpha1 > anything else (alphabetical). */
export function versionPriority(a: string, b: string): number {
  const parse = (v: string): [number, number, number] | undefined => {
    const m = v.match(/^v(\d+)(?:(alpha|beta)(\d+))?$/);
    if (!m) return undefined;
    return [Number(m[1]), m[2] === undefined ? 3 : m[2] === 'beta' ? 2 : 1, Number(m[3] ?? 0)];
  };
  const pa = parse(a);
  const pb = parse(b);
  if (pa && !pb) return -1;
  if (!pa && pb) return 1;
  if (!pa || !pb) return a.localeCompare(b);
  if (pa[1] !== pb[1]) return pb[1] - pa[1];
  if (pa[0] !== pb[0]) return pb[0] - pa[0];
  return pb[2] - pa[2];
}

export function apiVersions(hostPort: string): JsonObject {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: hostPort }] };
}

function groupDoc(registry: Registry, group: string): JsonObject {
  const versions = registry.groupVersions(group).sort(versionPriority).map((version) => ({ groupVersion: `${group}/${version}`, version }));
  return { name: group, versions, preferredVersion: versions[0] };
}

export function apiGroupList(registry: Registry): JsonObject {
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: registry.groups().map((g) => groupDoc(registry, g)) };
}

export function apiGroup(registry: Registry, group: string): JsonObject | undefined {
  if (!registry.groups().includes(group)) return undefined;
  return { kind: 'APIGroup', apiVersion: 'v1', ...groupDoc(registry, group) };
}

export function resourceList(registry: Registry, group: string, version: string): JsonObject | undefined {
  const defs = registry.all().filter((d) => d.group === group && d.version === version);
  if (defs.length === 0) return undefined;
  const resources: JsonObject[] = [];
  for (const d of defs) {
    const entry: JsonObject = { name: d.resource, singularName: d.singular, namespaced: d.namespaced, kind: d.kind, verbs: [...resourceVerbs] };
    if (d.shortNames.length > 0) entry.shortNames = d.shortNames;
    if (d.categories.length > 0) entry.categories = d.categories;
    resources.push(entry);
    if (d.statusSubresource) resources.push({ name: `${d.resource}/status`, singularName: '', namespaced: d.namespaced, kind: d.kind, verbs: ['get', 'patch', 'update'] });
    if (d.scale) resources.push({ name: `${d.resource}/scale`, singularName: '', namespaced: d.namespaced, group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: ['get', 'patch', 'update'] });
  }
  const doc: JsonObject = { kind: 'APIResourceList', groupVersion: apiVersionOf({ group, version }), resources };
  if (group !== '') doc.apiVersion = 'v1';
  return doc;
}
