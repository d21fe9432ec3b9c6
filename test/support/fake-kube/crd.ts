/**
 * CustomResourceDefinitions (apiextensions.k8s.io/v1): checked and defaulted on write, given status
 * (NamesAccepted, Established, acceptedNames, storedVersions) and the cleanup finalizer, and served:
 * every served version of an established CRD becomes a resource of the registry, with its schema
 * and subresources; deleting the CRD deletes its objects first (the finalizer), then stops serving.
 */
import { checkSchema } from './schema.ts';
import type { StructuralSchema } from './schema.ts';
import { crdResourceDef } from './resources.ts';
import type { ResourceDef } from './resources.ts';
import { tableTypeInfo } from './typeinfo.ts';
import { isObject } from './status.ts';
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

const required = (field: string): FieldError => ({ reason: 'FieldValueRequired', field, message: 'Required value' });

/** Checks and defaults a CRD being written (obj is the new object, old the stored one). */
export function prepareCrd(obj: JsonObject, old: JsonObject | undefined): FieldError[] {
  const errors: FieldError[] = [];
  const spec = obj.spec as unknown as CrdSpec | undefined;
  const meta = obj.metadata as JsonObject;
  if (!isObject(spec)) return [required('spec')];
  if (!spec.group) errors.push(required('spec.group'));
  else if (!spec.group.includes('.')) errors.push({ reason: 'FieldValueInvalid', field: 'spec.group', message: `Invalid value: "${spec.group}": should be a domain with at least one dot` });
  if (!isObject(spec.names)) return [...errors, required('spec.names')];
  if (!spec.names.plural) errors.push(required('spec.names.plural'));
  if (!spec.names.kind) errors.push(required('spec.names.kind'));
  if (spec.scope !== 'Namespaced' && spec.scope !== 'Cluster') errors.push({ reason: 'FieldValueNotSupported', field: 'spec.scope', message: `Unsupported value: ${JSON.stringify(spec.scope ?? '')}: supported values: "Cluster", "Namespaced"` });
  if (spec.names.plural && spec.group && meta.name !== `${spec.names.plural}.${spec.group}`) {
    errors.push({ reason: 'FieldValueInvalid', field: 'metadata.name', message: `Invalid value: ${JSON.stringify(meta.name)}: must be spec.names.plural+"."+spec.group` });
  }
  if (!Array.isArray(spec.versions) || spec.versions.length === 0) errors.push(required('spec.versions'));
  else {
    const storage = spec.versions.filter((v) => v.storage);
    if (storage.length !== 1) errors.push({ reason: 'FieldValueInvalid', field: 'spec.versions', message: `Invalid value: []apiextensions.CustomResourceDefinitionVersion{...}: must have exactly one version marked as storage version` });
    spec.versions.forEach((v, i) => {
      const schema = v.schema?.openAPIV3Schema;
      if (!schema) errors.push({ reason: 'FieldValueRequired', field: `spec.versions[${i}].schema.openAPIV3Schema`, message: 'Required value: schemas are required' });
      else {
        if (schema.type !== 'object') errors.push({ reason: 'FieldValueInvalid', field: `spec.versions[${i}].schema.openAPIV3Schema.type`, message: `Invalid value: ${JSON.stringify(schema.type ?? '')}: must be object at the root` });
        errors.push(...checkSchema(schema, `spec.versions[${i}].schema.openAPIV3Schema`));
      }
      const scale = v.subresources?.scale;
      if (scale) {
        if (!scale.specReplicasPath?.startsWith('.spec.')) errors.push({ reason: 'FieldValueInvalid', field: `spec.versions[${i}].subresources.scale.specReplicasPath`, message: `Invalid value: ${JSON.stringify(scale.specReplicasPath ?? '')}: should be a json path under .spec` });
        if (!scale.statusReplicasPath?.startsWith('.status.')) errors.push({ reason: 'FieldValueInvalid', field: `spec.versions[${i}].subresources.scale.statusReplicasPath`, message: `Invalid value: ${JSON.stringify(scale.statusReplicasPath ?? '')}: should be a json path under .status` });
      }
    });
  }
  if (old) {
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
