/**
 * The CustomResourceDefinition around the schemas: what the API server refuses in one (names, group,
 * scope, versions, subresources, printer columns, and every version's schema, structural.ts), and a
 * version's compiled schema for admitting its custom resources (cached per schema object).
 */
import type { FieldError } from '../kube-fields.ts';
import { fieldError } from '../kube-fields.ts';
import { schemaErrors } from './structural.ts';
import { fieldSchema, isObj } from './types.ts';
import type { Obj, StructuralSchema } from './types.ts';
import { CompiledSchema } from './validate.ts';

export interface CustomResourceDefinition {
  apiVersion: string;
  kind: string;
  metadata: { name: string; [k: string]: unknown };
  spec: {
    group: string;
    scope: 'Namespaced' | 'Cluster';
    names: { kind: string; listKind?: string; plural: string; singular?: string; shortNames?: string[]; categories?: string[] };
    preserveUnknownFields?: boolean;
    versions: CrdVersion[];
    [k: string]: unknown;
  };
}

export interface CrdVersion {
  name: string;
  served: boolean;
  storage: boolean;
  deprecated?: boolean;
  schema?: { openAPIV3Schema?: StructuralSchema };
  subresources?: {
    status?: Obj;
    scale?: { specReplicasPath: string; statusReplicasPath: string; labelSelectorPath?: string };
  };
  additionalPrinterColumns?: { name: string; type: string; format?: string; description?: string; priority?: number; jsonPath: string }[];
  [k: string]: unknown;
}

const columnTypes = new Set(['integer', 'number', 'string', 'boolean', 'date']);

/** Schema node at a simple JSON path (`.spec.replicas`), or undefined. */
export function schemaAt(root: StructuralSchema, jsonPath: string): StructuralSchema | undefined {
  let node: StructuralSchema | undefined = root;
  for (const p of jsonPath.replace(/^\./, '').split('.')) {
    if (!p) return undefined;
    node = fieldSchema(node, p);
    if (!node) return undefined;
  }
  return node;
}

/** What the API server refuses in a CustomResourceDefinition (beyond its OpenAPI shape). */
export function crdErrors(crd: CustomResourceDefinition): FieldError[] {
  const errs: FieldError[] = [];
  const spec = crd?.spec;
  if (!isObj(spec)) return [fieldError('FieldValueRequired', 'spec', '')];
  const names = spec.names ?? ({} as CustomResourceDefinition['spec']['names']);
  if (!spec.group || !spec.group.includes('.') || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(spec.group))
    errs.push(fieldError('FieldValueInvalid', 'spec.group', 'should be a domain with at least one dot', spec.group));
  if (crd.metadata?.name !== `${names.plural}.${spec.group}`)
    errs.push(fieldError('FieldValueInvalid', 'metadata.name', `must be spec.names.plural+"."+spec.group`, crd.metadata?.name));
  if (spec.scope !== 'Namespaced' && spec.scope !== 'Cluster') errs.push(fieldError('FieldValueNotSupported', 'spec.scope', 'supported values: "Cluster", "Namespaced"', spec.scope));
  const lowerLabel = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
  if (!names.plural || !lowerLabel.test(names.plural)) errs.push(fieldError('FieldValueInvalid', 'spec.names.plural', 'must be a lowercase DNS label', names.plural));
  if (names.singular !== undefined && !lowerLabel.test(names.singular)) errs.push(fieldError('FieldValueInvalid', 'spec.names.singular', 'must be a lowercase DNS label', names.singular));
  if (!names.kind || !/^[A-Z][A-Za-z0-9]*$/.test(names.kind)) errs.push(fieldError('FieldValueInvalid', 'spec.names.kind', 'must be a CamelCase name', names.kind));
  if (names.listKind !== undefined && (names.listKind === names.kind || !/^[A-Z][A-Za-z0-9]*$/.test(names.listKind)))
    errs.push(fieldError('FieldValueInvalid', 'spec.names.listKind', 'must be a CamelCase name other than kind', names.listKind));
  (names.shortNames ?? []).forEach((n, i) => {
    if (!lowerLabel.test(n)) errs.push(fieldError('FieldValueInvalid', `spec.names.shortNames[${i}]`, 'must be a lowercase DNS label', n));
  });
  (names.categories ?? []).forEach((n, i) => {
    if (!lowerLabel.test(n)) errs.push(fieldError('FieldValueInvalid', `spec.names.categories[${i}]`, 'must be a lowercase DNS label', n));
  });
  if (spec.preserveUnknownFields === true) errs.push(fieldError('FieldValueInvalid', 'spec.preserveUnknownFields', 'must be false in v1', true));
  const versions = Array.isArray(spec.versions) ? spec.versions : [];
  if (!versions.length) errs.push(fieldError('FieldValueRequired', 'spec.versions', 'must have exactly one version marked as storage version'));
  if (versions.filter((v) => v.storage).length !== 1) errs.push(fieldError('FieldValueInvalid', 'spec.versions', 'must have exactly one version marked as storage version', versions.map((v) => v.name)));
  if (new Set(versions.map((v) => v.name)).size !== versions.length) errs.push(fieldError('FieldValueInvalid', 'spec.versions', 'must contain unique version names', versions.map((v) => v.name)));
  versions.forEach((v, i) => {
    const vp = `spec.versions[${i}]`;
    if (!/^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(v.name ?? '')) errs.push(fieldError('FieldValueInvalid', `${vp}.name`, 'must be a DNS-1035 label', v.name));
    const schema = v.schema?.openAPIV3Schema;
    if (!schema) {
      errs.push(fieldError('FieldValueRequired', `${vp}.schema.openAPIV3Schema`, 'schemas are required'));
      return;
    }
    errs.push(...schemaErrors(schema, { path: `${vp}.schema.openAPIV3Schema` }));
    const scale = v.subresources?.scale;
    if (scale) {
      const sp = `${vp}.subresources.scale`;
      if (!/^\.spec\.[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*$/.test(scale.specReplicasPath ?? ''))
        errs.push(fieldError('FieldValueInvalid', `${sp}.specReplicasPath`, 'should be a json path under .spec', scale.specReplicasPath));
      else if (schemaAt(schema, scale.specReplicasPath)?.type !== 'integer')
        errs.push(fieldError('FieldValueInvalid', `${sp}.specReplicasPath`, 'should point to an integer field of the schema', scale.specReplicasPath));
      if (!/^\.status\.[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*$/.test(scale.statusReplicasPath ?? ''))
        errs.push(fieldError('FieldValueInvalid', `${sp}.statusReplicasPath`, 'should be a json path under .status', scale.statusReplicasPath));
      else if (schemaAt(schema, scale.statusReplicasPath)?.type !== 'integer')
        errs.push(fieldError('FieldValueInvalid', `${sp}.statusReplicasPath`, 'should point to an integer field of the schema', scale.statusReplicasPath));
      if (scale.labelSelectorPath !== undefined) {
        if (!/^\.(spec|status)\.[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*$/.test(scale.labelSelectorPath))
          errs.push(fieldError('FieldValueInvalid', `${sp}.labelSelectorPath`, 'should be a json path under either .spec or .status', scale.labelSelectorPath));
        else if (schemaAt(schema, scale.labelSelectorPath)?.type !== 'string')
          errs.push(fieldError('FieldValueInvalid', `${sp}.labelSelectorPath`, 'should point to a string field of the schema (the serialized selector)', scale.labelSelectorPath));
      }
    }
    if (v.subresources?.status && !schema.properties?.status) errs.push(fieldError('FieldValueInvalid', `${vp}.subresources.status`, 'the schema has no status to serve', {}));
    (v.additionalPrinterColumns ?? []).forEach((c, j) => {
      const cp = `${vp}.additionalPrinterColumns[${j}]`;
      if (!c.name) errs.push(fieldError('FieldValueRequired', `${cp}.name`, ''));
      if (!columnTypes.has(c.type)) errs.push(fieldError('FieldValueNotSupported', `${cp}.type`, 'supported values: "boolean", "date", "integer", "number", "string"', c.type));
      if (c.priority !== undefined && c.priority < 0) errs.push(fieldError('FieldValueInvalid', `${cp}.priority`, 'must be >= 0', c.priority));
      if (!/^\.[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*$/.test(c.jsonPath ?? '')) errs.push(fieldError('FieldValueInvalid', `${cp}.jsonPath`, 'must be a simple JSON path', c.jsonPath));
      else if (!c.jsonPath.startsWith('.metadata.')) {
        const node = schemaAt(schema, c.jsonPath);
        const expect: Record<string, string[]> = { integer: ['integer'], number: ['number', 'integer'], string: ['string'], boolean: ['boolean'], date: ['string'] };
        if (!node) errs.push(fieldError('FieldValueInvalid', `${cp}.jsonPath`, 'names no field of the schema', c.jsonPath));
        else if (node.type && !expect[c.type]?.includes(node.type)) errs.push(fieldError('FieldValueInvalid', `${cp}.type`, `the column's field is of type ${node.type}`, c.type));
      }
    });
    if (new Set((v.additionalPrinterColumns ?? []).map((c) => c.name)).size !== (v.additionalPrinterColumns ?? []).length)
      errs.push(fieldError('FieldValueDuplicate', `${vp}.additionalPrinterColumns`, 'column names must be unique'));
  });
  return errs;
}

const compiledCache = new WeakMap<StructuralSchema, CompiledSchema>();

/** A schema compiled for admitting custom resources (cached per schema object). */
export function compileSchema(schema: StructuralSchema): CompiledSchema {
  const c = compiledCache.get(schema) ?? new CompiledSchema(schema);
  compiledCache.set(schema, c);
  return c;
}

/** The compiled schema of a CRD's version (its storage version by default). */
export function compiledSchemaOf(crd: CustomResourceDefinition, version?: string): CompiledSchema {
  const v = version ? crd.spec.versions.find((x) => x.name === version) : crd.spec.versions.find((x) => x.storage);
  const schema = v?.schema?.openAPIV3Schema;
  if (!schema) throw new Error(`${crd.metadata.name}: no schema for version ${version ?? '(storage)'}`);
  return compileSchema(schema);
}
