/**
 * CustomResourceDefinitions (apiextensions.k8s.io/v1): checked and defaulted on write, given status
 * (NamesAccepted, Established, acceptedNames, storedVersions) and the cleanup finalizer, and served:
 * every served version of an established CRD becomes a resource of the registry, with its schema
 * and subresources; deleting the CRD deletes its objects first (the finalizer), then stops serving.
 */
import { crdErrors } from '../crd-schema/index.ts';
import type { CustomResourceDefinition, StructuralSchema } from '../crd-schema/index.ts';
import { crdResourceDef } from './resources.ts';
import type { ResourceDef } from './resources.ts';
import { tableTypeInfo } from './typeinfo.ts';
import { causeOf, isObject } from './status.ts';
import type { FieldError, JsonObject } from './status.ts';
import type { Registry } from './registry.ts';
import type { Store, StoreEvent } from './store.ts';

export const crdSkey = 'apiextensions.k8s.io/customresourcedefinitions';
export const cleanupFinalizer = 'customresourcecleanup.apiextensions.k8s.io';

export function crdDefinition(): ResourceDef {
  return {
    group: 'apiextensions.k8s.io',
    version: 'v1',
    resource: 'customresourcedefinitions',
    singular: 'customresourcedefinition',
    kind: 'CustomResourceDefinition',
    listKind: 'CustomResourceDefinitionList',
    namespaced: false,
    shortNames: ['crd', 'crds'],
    categories: ['api-extensions'],
    skey: crdSkey,
    storageVersion: 'apiextensions.k8s.io/v1',
    preferred: true,
    statusSubresource: true,
    generation: true,
    unconditionalUpdate: false,
    returnDeletedObject: false,
    fields: {},
    typeInfo: tableTypeInfo({ 'spec.versions': { type: 'map', keys: ['name'], mergeKey: 'name' }, 'status.conditions': { type: 'map', keys: ['type'], mergeKey: 'type' } }),
    nameValidation: 'subdomain',
  };
}

interface CrdVersion {
  name: string;
  served: boolean;
  storage: boolean;
  schema?: { openAPIV3Schema?: StructuralSchema };
  subresources?: { status?: JsonObject; scale?: { specReplicasPath: string; statusReplicasPath: string; labelSelectorPath?: string } };
  selectableFields?: { jsonPath: string }[];
}

interface CrdSpec {
  group: string;
  names: { plural: string; singular?: string; kind: string; listKind?: string; shortNames?: string[]; categories?: string[] };
  scope: string;
  versions: CrdVersion[];
}

/** Checks and defaults a CRD being written (obj is the new object, old the stored one). */
export function prepareCrd(obj: JsonObject, old: JsonObject | undefined): FieldError[] {
  const errors = crdErrors(obj as unknown as CustomResourceDefinition).map(causeOf);
  const spec = obj.spec as unknown as CrdSpec;
  const meta = obj.metadata as JsonObject;
  if (old && isObject(obj.spec)) {
    const oldSpec = old.spec as unknown as CrdSpec;
    if (oldSpec.scope !== spec.scope) errors.push({ reason: 'FieldValueInvalid', field: 'spec.scope', message: `Invalid value: ${JSON.stringify(spec.scope)}: field is immutable` });
    if (oldSpec.group !== spec.group) errors.push({ reason: 'FieldValueInvalid', field: 'spec.group', message: `Invalid value: ${JSON.stringify(spec.group)}: field is immutable` });
  }
  if (errors.length > 0) return errors;

  // Defaults and status.
  spec.names.singular ??= spec.names.kind.toLowerCase();
  spec.names.listKind ??= `${spec.names.kind}List`;
  (obj.spec as JsonObject).conversion ??= { strategy: 'None' };
  if (!old) meta.finalizers = [...new Set([...((meta.finalizers as string[] | undefined) ?? []), cleanupFinalizer])];
  const time = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const oldStatus = isObject(old?.status) ? old.status : {};
  const stored = new Set<string>([...((oldStatus.storedVersions as string[] | undefined) ?? []), ...spec.versions.filter((v) => v.storage).map((v) => v.name)]);
  const conditions = meta.deletionTimestamp
    ? [{ type: 'Terminating', status: 'True', reason: 'InstanceDeletionInProgress', message: 'CustomResource deletion is in progress', lastTransitionTime: time }]
    : [
        { type: 'NamesAccepted', status: 'True', reason: 'NoConflicts', message: 'no conflicts found', lastTransitionTime: time },
        { type: 'Established', status: 'True', reason: 'InitialNamesAccepted', message: 'the initial names have been accepted', lastTransitionTime: time },
      ];
  const oldConditions = (oldStatus.conditions as JsonObject[] | undefined) ?? [];
  for (const c of conditions) {
    const before = oldConditions.find((o) => o.type === c.type && o.status === c.status);
    if (before) c.lastTransitionTime = String(before.lastTransitionTime);
  }
  obj.status = { conditions, acceptedNames: { ...spec.names }, storedVersions: [...stored] } as unknown as JsonObject;
  return [];
}

/** The resource definitions a stored CRD serves. */
export function crdDefs(crd: JsonObject): ResourceDef[] {
  const spec = crd.spec as unknown as CrdSpec;
  const storage = spec.versions.find((v) => v.storage)?.name ?? spec.versions[0].name;
  const served = spec.versions.filter((v) => v.served);
  return served.map((v, i) =>
    crdResourceDef({
      group: spec.group,
      version: v.name,
      storageVersion: storage,
      preferred: i === 0,
      names: spec.names,
      namespaced: spec.scope === 'Namespaced',
      schema: v.schema?.openAPIV3Schema,
      status: v.subresources?.status !== undefined,
      scale: v.subresources?.scale,
      selectableFields: (v.selectableFields ?? []).map((f) => f.jsonPath),
      crd: String((crd.metadata as JsonObject).name),
    }),
  );
}

/** Keeps the registry in step with the stored CRDs. */
export function serveCrds(store: Store, registry: Registry): void {
  store.listeners.add((e: StoreEvent) => {
    if (e.skey !== crdSkey) return;
    const name = String((e.object.metadata as JsonObject).name);
    if (e.type === 'DELETED') {
      const before = registry.all().filter((d) => d.crd === name);
      registry.replaceCrdDefs(name, []);
      for (const skey of new Set(before.map((d) => d.skey))) store.dropResource(skey);
    } else {
      registry.replaceCrdDefs(name, crdDefs(e.object));
    }
  });
}
