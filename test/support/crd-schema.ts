/**
 * A CustomResourceDefinition's schema the way the Kubernetes API server uses it, for tests and for the
 * fake API server (it depends on nothing of the fake):
 *
 * - `schemaErrors` / `crdErrors`: what the API server refuses in a CRD (a schema that is not
 *   structural, misused x-kubernetes-* extensions, defaults that do not validate, CEL rules that do not
 *   compile against the schema's types, bad names, versions, subresources or printer columns);
 * - `CompiledSchema.admit`: what it does to a custom resource on create and update: drop unknown fields
 *   (reported, as strict field validation would), apply defaults, validate the OpenAPI keywords and
 *   list types, and evaluate the x-kubernetes-validations CEL rules (transition rules with oldSelf on
 *   update).
 *
 * CEL runs on @marcbachmann/cel-js: rules are type-checked against types built from the schema (a
 * typo'd field fails at compile time, as in Kubernetes) and evaluated with the values converted the
 * Kubernetes way (integer → int, number → double, date-time → timestamp). Kubernetes' own CEL
 * libraries (lists, regex, url, quantity, ip…) are not provided: a rule using them fails to compile
 * here. The API server's cost estimate is approximated by one rule: a rule that iterates (all, exists,
 * exists_one, map, filter) needs maxItems on every list under its node. Ratcheting (unchanged invalid
 * fields allowed on update) is not done.
 */
import { Environment, Optional } from '@marcbachmann/cel-js';
import type { FieldError } from './kube-fields.ts';
import { childPath, fieldError, objectMetaErrors, showValue } from './kube-fields.ts';

export interface ValidationRule {
  rule: string;
  message?: string;
  messageExpression?: string;
  reason?: string;
  fieldPath?: string;
  optionalOldSelf?: boolean;
}

export type SchemaType = 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';

/** A JSONSchemaProps node of apiextensions.k8s.io/v1, as far as CRDs use it. */
export interface StructuralSchema {
  type?: SchemaType;
  description?: string;
  title?: string;
  format?: string;
  properties?: Record<string, StructuralSchema>;
  additionalProperties?: StructuralSchema | boolean;
  items?: StructuralSchema;
  required?: string[];
  enum?: unknown[];
  default?: unknown;
  nullable?: boolean;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  multipleOf?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minItems?: number;
  maxItems?: number;
  uniqueItems?: boolean;
  minProperties?: number;
  maxProperties?: number;
  allOf?: StructuralSchema[];
  anyOf?: StructuralSchema[];
  oneOf?: StructuralSchema[];
  not?: StructuralSchema;
  example?: unknown;
  externalDocs?: unknown;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-embedded-resource'?: boolean;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
  'x-kubernetes-validations'?: ValidationRule[];
}

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
/** Not a type guard: a schema node stays a StructuralSchema. */
const isSchema = (v: unknown): boolean => isObj(v);
const preserves = (s: StructuralSchema) => s['x-kubernetes-preserve-unknown-fields'] === true;
const intOrString = (s: StructuralSchema) => s['x-kubernetes-int-or-string'] === true;
const embedded = (s: StructuralSchema) => s['x-kubernetes-embedded-resource'] === true;

const knownKeywords = new Set([
  'type', 'description', 'title', 'format', 'properties', 'additionalProperties', 'items', 'required', 'enum',
  'default', 'nullable', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf', 'minLength',
  'maxLength', 'pattern', 'minItems', 'maxItems', 'uniqueItems', 'minProperties', 'maxProperties', 'allOf',
  'anyOf', 'oneOf', 'not', 'example', 'externalDocs', 'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-int-or-string', 'x-kubernetes-embedded-resource', 'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys', 'x-kubernetes-map-type', 'x-kubernetes-validations',
]);
const forbiddenKeywords = ['$ref', '$schema', 'id', 'definitions', 'dependencies', 'patternProperties', 'additionalItems'];
const schemaTypes = new Set<string>(['object', 'array', 'string', 'integer', 'number', 'boolean']);
const ruleReasons = new Set(['FieldValueInvalid', 'FieldValueForbidden', 'FieldValueRequired', 'FieldValueDuplicate']);
/** Schema errors after which the API server does not run the CEL rules. */
const blockingErrors = new Set<FieldError['type']>(['FieldValueTypeInvalid', 'FieldValueRequired', 'FieldValueNotSupported', 'FieldValueTooMany', 'FieldValueTooLong']);
type Phase = 'schema' | 'rules';
const iteratingMacros = new Set(['all', 'exists', 'exists_one', 'map', 'filter']);
/** ObjectMeta's fields: anything else under metadata is dropped, as the API server does. */
const objectMetaFields = new Set([
  'name', 'generateName', 'namespace', 'selfLink', 'uid', 'resourceVersion', 'generation', 'creationTimestamp',
  'deletionTimestamp', 'deletionGracePeriodSeconds', 'labels', 'annotations', 'ownerReferences', 'finalizers',
  'managedFields',
]);

// ---------------------------------------------------------------------------------------------
// The schema itself: structural, extensions used right, defaults valid, rules compiling.

export interface SchemaCheckOptions {
  /** Path of the schema in its CRD, for messages. */
  path?: string;
}

/**
 * What the API server refuses in a version's openAPIV3Schema: the structural-schema rules (a type on
 * every node unless int-or-string or preserve-unknown-fields; logical junctors only restate what is
 * specified outside them and set no type, default, description, additionalProperties or nullable;
 * metadata restricts only name and generateName), plus the rules on the x-kubernetes-* extensions, the
 * keywords CRDs may not use, defaults (pruned and valid) and CEL rules (compile against the schema).
 */
export function schemaErrors(schema: StructuralSchema, o: SchemaCheckOptions = {}): FieldError[] {
  const path = o.path ?? 'openAPIV3Schema';
  const errs: FieldError[] = [];
  if (!isSchema(schema)) return [fieldError('FieldValueRequired', path, 'a schema is required')];
  if (schema.type !== 'object') errs.push(fieldError('FieldValueInvalid', `${path}.type`, 'must be object at the root', schema.type ?? ''));
  if (schema.default !== undefined) errs.push(fieldError('FieldValueForbidden', `${path}.default`, 'must not be set at the root'));
  if (schema.nullable) errs.push(fieldError('FieldValueForbidden', `${path}.nullable`, 'must be false at the root'));
  checkNode(schema, path, { root: true, metadata: false, junctor: false }, errs);
  const meta = schema.properties?.metadata;
  if (meta) checkMetadataSchema(meta, `${path}.properties[metadata]`, errs);
  for (const [k, v] of Object.entries(schema.properties ?? {})) {
    if ((k === 'apiVersion' || k === 'kind') && v.type !== 'string') errs.push(fieldError('FieldValueInvalid', `${path}.properties[${k}].type`, 'must be string', v.type ?? ''));
  }
  if (!errs.length) {
    const compiled = new CompiledSchema(schema);
    errs.push(...compiled.compileErrors.map((e) => ({ ...e, field: e.field.replace(/^/, `${path}.`).replace(/\.$/, '') })));
    if (!compiled.compileErrors.length) errs.push(...defaultErrors(schema, path, compiled));
  }
  return errs;
}

interface NodeContext {
  root: boolean;
  metadata: boolean;
  junctor: boolean;
}

function checkNode(s: StructuralSchema, path: string, ctx: NodeContext, errs: FieldError[]): void {
  if (!isSchema(s)) {
    errs.push(fieldError('FieldValueInvalid', path, 'must be a schema object', s));
    return;
  }
  for (const k of forbiddenKeywords)
    if (k in s) errs.push(fieldError('FieldValueForbidden', `${path}.${k}`, `${k} is not supported in CustomResourceDefinition schemas`));
  for (const k of Object.keys(s))
    if (!knownKeywords.has(k) && !forbiddenKeywords.includes(k)) errs.push(fieldError('FieldValueForbidden', `${path}.${k}`, `unknown schema keyword ${k}`));
  if (s.uniqueItems === true) errs.push(fieldError('FieldValueForbidden', `${path}.uniqueItems`, 'uniqueItems cannot be set to true since the runtime complexity becomes quadratic'));
  if (s['x-kubernetes-preserve-unknown-fields'] === false) errs.push(fieldError('FieldValueInvalid', `${path}.x-kubernetes-preserve-unknown-fields`, 'must be true or undefined', false));
  if (s.type !== undefined && !schemaTypes.has(s.type)) errs.push(fieldError('FieldValueNotSupported', `${path}.type`, 'supported values: "array", "boolean", "integer", "number", "object", "string"', s.type));
  if (s.pattern !== undefined) {
    try {
      new RegExp(s.pattern, 'u');
    } catch (e) {
      errs.push(fieldError('FieldValueInvalid', `${path}.pattern`, `must be a valid regular expression: ${(e as Error).message}`, s.pattern));
    }
  }
  if (ctx.junctor) {
    for (const k of ['description', 'type', 'default', 'additionalProperties', 'nullable'] as const)
      if (s[k] !== undefined) errs.push(fieldError('FieldValueForbidden', `${path}.${k}`, `must not be used inside allOf, anyOf, oneOf or not`));
    for (const k of Object.keys(s))
      if (k.startsWith('x-kubernetes-')) errs.push(fieldError('FieldValueForbidden', `${path}.${k}`, 'must not be used inside allOf, anyOf, oneOf or not'));
  } else {
    // Structural rule 1: a type on every node, except int-or-string and preserve-unknown-fields nodes.
    if (s.type === undefined && !intOrString(s) && !preserves(s))
      errs.push(fieldError('FieldValueRequired', `${path}.type`, 'must not be empty for specified object fields and array items'));
    if (intOrString(s) && s.type !== undefined) errs.push(fieldError('FieldValueForbidden', `${path}.type`, 'must be empty with x-kubernetes-int-or-string'));
    if (s.properties && s.additionalProperties !== undefined)
      errs.push(fieldError('FieldValueForbidden', `${path}.additionalProperties`, 'additionalProperties and properties are mutual exclusive'));
    if (s.additionalProperties === false) errs.push(fieldError('FieldValueForbidden', `${path}.additionalProperties`, 'must not be false (unknown fields are pruned)'));
    checkExtensions(s, path, errs);
  }
  if ((s.properties || s.additionalProperties !== undefined) && s.type !== undefined && s.type !== 'object')
    errs.push(fieldError('FieldValueInvalid', `${path}.type`, 'must be object with properties or additionalProperties', s.type));
  if (s.items !== undefined) {
    if (Array.isArray(s.items)) errs.push(fieldError('FieldValueForbidden', `${path}.items`, 'items must be a schema object and not an array'));
    else checkNode(s.items, `${path}.items`, { ...ctx, root: false }, errs);
    if (s.type !== undefined && s.type !== 'array') errs.push(fieldError('FieldValueInvalid', `${path}.type`, 'must be array with items', s.type));
  } else if (s.type === 'array' && !ctx.junctor) {
    errs.push(fieldError('FieldValueRequired', `${path}.items`, 'must be specified for arrays'));
  }
  for (const [k, p] of Object.entries(s.properties ?? {})) checkNode(p, `${path}.properties[${k}]`, { ...ctx, root: false }, errs);
  if (isObj(s.additionalProperties)) checkNode(s.additionalProperties, `${path}.additionalProperties`, { ...ctx, root: false }, errs);
  for (const j of ['allOf', 'anyOf', 'oneOf'] as const)
    (s[j] ?? []).forEach((sub, i) => {
      checkNode(sub, `${path}.${j}[${i}]`, { ...ctx, root: false, junctor: true }, errs);
      if (!ctx.junctor) checkJunctorSpecified(s, sub, `${path}.${j}[${i}]`, errs);
    });
  if (s.not) {
    checkNode(s.not, `${path}.not`, { ...ctx, root: false, junctor: true }, errs);
    if (!ctx.junctor) checkJunctorSpecified(s, s.not, `${path}.not`, errs);
  }
  if (s.enum !== undefined && !ctx.junctor && s.type) {
    s.enum.forEach((v, i) => {
      if (!valueHasType(v, s.type as SchemaType)) errs.push(fieldError('FieldValueInvalid', `${path}.enum[${i}]`, `must be of type ${s.type}`, v));
    });
  }
}

/** Structural rule 2: what a junctor says about fields and items is also said outside of it. */
function checkJunctorSpecified(outer: StructuralSchema, inner: StructuralSchema, path: string, errs: FieldError[]): void {
  if (!isSchema(inner)) return;
  for (const [k, p] of Object.entries(inner.properties ?? {})) {
    const o = outer.properties?.[k] ?? (isObj(outer.additionalProperties) ? outer.additionalProperties : undefined);
    if (!o && !preserves(outer)) errs.push(fieldError('FieldValueRequired', `${path}.properties[${k}]`, 'must have a counterpart outside of allOf, anyOf, oneOf and not'));
    else if (o) checkJunctorSpecified(o, p, `${path}.properties[${k}]`, errs);
  }
  if (inner.items) {
    if (!outer.items && !preserves(outer)) errs.push(fieldError('FieldValueRequired', `${path}.items`, 'must have a counterpart outside of allOf, anyOf, oneOf and not'));
    else if (outer.items) checkJunctorSpecified(outer.items, inner.items, `${path}.items`, errs);
  }
  for (const j of ['allOf', 'anyOf', 'oneOf'] as const) (inner[j] ?? []).forEach((sub, i) => checkJunctorSpecified(outer, sub, `${path}.${j}[${i}]`, errs));
  if (inner.not) checkJunctorSpecified(outer, inner.not, `${path}.not`, errs);
}

function checkExtensions(s: StructuralSchema, path: string, errs: FieldError[]): void {
  const listType = s['x-kubernetes-list-type'];
  const keys = s['x-kubernetes-list-map-keys'];
  if (listType !== undefined) {
    if (s.type !== 'array') errs.push(fieldError('FieldValueInvalid', `${path}.x-kubernetes-list-type`, 'must only be used if type is array', listType));
    if (!['atomic', 'set', 'map'].includes(listType)) errs.push(fieldError('FieldValueNotSupported', `${path}.x-kubernetes-list-type`, 'supported values: "atomic", "map", "set"', listType));
  }
  if (keys !== undefined && listType !== 'map') errs.push(fieldError('FieldValueForbidden', `${path}.x-kubernetes-list-map-keys`, 'requires x-kubernetes-list-type to be map'));
  if (listType === 'map') {
    const items = s.items;
    if (!keys?.length) errs.push(fieldError('FieldValueRequired', `${path}.x-kubernetes-list-map-keys`, 'must not be empty if x-kubernetes-list-type is map'));
    if (!items || items.type !== 'object') errs.push(fieldError('FieldValueInvalid', `${path}.items.type`, 'must be object if parent array\'s x-kubernetes-list-type is map', items?.type ?? ''));
    if (keys && new Set(keys).size !== keys.length) errs.push(fieldError('FieldValueInvalid', `${path}.x-kubernetes-list-map-keys`, 'must not contain duplicate entries', keys));
    for (const k of keys ?? []) {
      const p = items?.properties?.[k];
      if (!p) {
        errs.push(fieldError('FieldValueRequired', `${path}.items.properties[${k}]`, 'entries of x-kubernetes-list-map-keys must be fields of the items'));
        continue;
      }
      if (!p.type || !['string', 'integer', 'number', 'boolean'].includes(p.type))
        errs.push(fieldError('FieldValueInvalid', `${path}.items.properties[${k}].type`, 'must be a scalar type if parent array\'s x-kubernetes-list-type is map', p.type ?? ''));
      if (!items?.required?.includes(k) && p.default === undefined)
        errs.push(fieldError('FieldValueRequired', `${path}.items.required`, `all map keys must be required or have a default value: ${k}`));
      if (p.nullable) errs.push(fieldError('FieldValueForbidden', `${path}.items.properties[${k}].nullable`, 'map keys must not be nullable'));
    }
  }
  if (listType === 'set' && s.items) {
    const t = s.items;
    const atomicObject = t.type === 'object' && t['x-kubernetes-map-type'] === 'atomic';
    const atomicList = t.type === 'array' && t['x-kubernetes-list-type'] === 'atomic';
    if (!(t.type && ['string', 'integer', 'number', 'boolean'].includes(t.type)) && !intOrString(t) && !atomicObject && !atomicList)
      errs.push(fieldError('FieldValueInvalid', `${path}.items.type`, "must be a scalar type (or atomic) if parent array's x-kubernetes-list-type is set", t.type ?? ''));
  }
  const mapType = s['x-kubernetes-map-type'];
  if (mapType !== undefined) {
    if (s.type !== 'object') errs.push(fieldError('FieldValueInvalid', `${path}.x-kubernetes-map-type`, 'must only be used if type is object', mapType));
    if (mapType !== 'atomic' && mapType !== 'granular') errs.push(fieldError('FieldValueNotSupported', `${path}.x-kubernetes-map-type`, 'supported values: "atomic", "granular"', mapType));
  }
  if (embedded(s)) {
    if (s.type !== 'object') errs.push(fieldError('FieldValueInvalid', `${path}.type`, 'must be object if x-kubernetes-embedded-resource is true', s.type ?? ''));
    if (!s.properties && !preserves(s)) errs.push(fieldError('FieldValueRequired', `${path}.properties`, 'must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields'));
    const meta = s.properties?.metadata;
    if (meta) checkMetadataSchema(meta, `${path}.properties[metadata]`, errs);
  }
}

/** Structural rule 4: under metadata, only name and generateName may be restricted. */
function checkMetadataSchema(meta: StructuralSchema, path: string, errs: FieldError[]): void {
  if (meta.type !== 'object') errs.push(fieldError('FieldValueInvalid', `${path}.type`, 'must be object', meta.type ?? ''));
  for (const k of Object.keys(meta)) {
    if (k === 'type' || k === 'properties' || k === 'description') continue;
    errs.push(fieldError('FieldValueForbidden', `${path}.${k}`, 'must not be specified for metadata: only name and generateName may be restricted'));
  }
  for (const [k, p] of Object.entries(meta.properties ?? {})) {
    if (k !== 'name' && k !== 'generateName') {
      errs.push(fieldError('FieldValueForbidden', `${path}.properties[${k}]`, 'only name and generateName may be restricted under metadata'));
      continue;
    }
    if (p.type !== 'string') errs.push(fieldError('FieldValueInvalid', `${path}.properties[${k}].type`, 'must be string', p.type ?? ''));
    for (const pk of Object.keys(p))
      if (!['type', 'description', 'pattern', 'maxLength', 'minLength', 'enum', 'format', 'x-kubernetes-validations'].includes(pk))
        errs.push(fieldError('FieldValueForbidden', `${path}.properties[${k}].${pk}`, `must not be specified for metadata.${k}`));
  }
}

/** Defaults must be pruned (no unknown fields) and valid against their own node, rules included. */
function defaultErrors(root: StructuralSchema, path: string, compiled: CompiledSchema): FieldError[] {
  const errs: FieldError[] = [];
  const walk = (s: StructuralSchema, p: string, underMeta: boolean) => {
    if (!isSchema(s)) return;
    if (s.default !== undefined) {
      if (underMeta) errs.push(fieldError('FieldValueForbidden', `${p}.default`, 'must not be set under metadata'));
      const copy = structuredClone(s.default);
      const unknown: string[] = [];
      pruneValue(copy, s, '', unknown, false);
      if (unknown.length) errs.push(fieldError('FieldValueInvalid', `${p}.default`, `must not have unknown fields: ${unknown.join(', ')}`, s.default));
      if (s.default === null && !s.nullable) errs.push(fieldError('FieldValueInvalid', `${p}.default`, 'must not be null for a non-nullable field', null));
      else {
        applyDefaultsTo(copy, s);
        for (const e of compiled.validateNode(copy, s, undefined, 'default')) errs.push({ ...e, field: `${p}.${e.field}` });
      }
    }
    for (const [k, c] of Object.entries(s.properties ?? {})) walk(c, `${p}.properties[${k}]`, underMeta || (p === path && k === 'metadata'));
    if (isObj(s.additionalProperties)) walk(s.additionalProperties, `${p}.additionalProperties`, underMeta);
    if (s.items) walk(s.items, `${p}.items`, underMeta);
  };
  walk(root, path, false);
  return errs;
}

// ---------------------------------------------------------------------------------------------
// Pruning and defaulting, the API server's order: prune, then default (nulls of non-nullable
// fields dropped or defaulted), then validate.

function pruneValue(v: unknown, s: StructuralSchema, path: string, unknown: string[], isRoot: boolean): void {
  if (Array.isArray(v)) {
    if (s.items) v.forEach((x, i) => pruneValue(x, s.items as StructuralSchema, childPath(path, i), unknown, false));
    return;
  }
  if (!isObj(v)) return;
  const keepTypeMeta = isRoot || embedded(s);
  for (const k of Object.keys(v)) {
    if (keepTypeMeta && (k === 'apiVersion' || k === 'kind')) continue;
    if (keepTypeMeta && k === 'metadata') {
      if (isObj(v.metadata))
        for (const mk of Object.keys(v.metadata))
          if (!objectMetaFields.has(mk)) {
            unknown.push(childPath(childPath(path, 'metadata'), mk));
            delete v.metadata[mk];
          }
      continue;
    }
    const p = s.properties?.[k] ?? (isObj(s.additionalProperties) ? s.additionalProperties : undefined);
    if (p) pruneValue(v[k], p, childPath(path, k), unknown, false);
    else if (!preserves(s) && s.additionalProperties !== true) {
      unknown.push(childPath(path, k));
      delete v[k];
    }
  }
}

function applyDefaultsTo(v: unknown, s: StructuralSchema): void {
  if (Array.isArray(v)) {
    if (s.items) for (const x of v) applyDefaultsTo(x, s.items);
    return;
  }
  if (!isObj(v)) return;
  for (const [k, p] of Object.entries(s.properties ?? {})) {
    if (v[k] === null && !p.nullable) delete v[k];
    if (v[k] === undefined && p.default !== undefined) v[k] = structuredClone(p.default);
  }
  for (const [k, x] of Object.entries(v)) {
    const p = s.properties?.[k] ?? (isObj(s.additionalProperties) ? s.additionalProperties : undefined);
    if (p) applyDefaultsTo(x, p);
  }
}

/** Drops the fields the schema does not know (in place); returns their paths (`spec.foo`). */
export function pruneUnknownFields(obj: unknown, schema: StructuralSchema): string[] {
  const unknown: string[] = [];
  pruneValue(obj, schema, '', unknown, true);
  return unknown;
}

/** Fills the schema's defaults in place, parents before children, as the API server does. */
export function applyDefaults(obj: unknown, schema: StructuralSchema): void {
  applyDefaultsTo(obj, schema);
}

// ---------------------------------------------------------------------------------------------
// CEL: types from the schema, rules compiled once per schema.

interface CompiledRule {
  rule: ValidationRule;
  program: (ctx: Obj) => unknown;
  message?: (ctx: Obj) => unknown;
  transition: boolean;
}

let typeCounter = 0;

function celTypeOf(s: StructuralSchema, env: Environment, name: string, root: boolean): string {
  if (intOrString(s) || (preserves(s) && !s.properties) || (embedded(s) && !s.properties)) return 'dyn';
  switch (s.type) {
    case 'string':
      if (s.format === 'date-time' || s.format === 'date') return 'timestamp';
      if (s.format === 'byte') return 'bytes';
      return 'string';
    case 'integer':
      return 'int';
    case 'number':
      return 'double';
    case 'boolean':
      return 'bool';
    case 'array':
      return s.items ? `list<${celTypeOf(s.items, env, `${name}_item`, false)}>` : 'list<dyn>';
    case 'object': {
      if (!s.properties) return isObj(s.additionalProperties) ? `map<string, ${celTypeOf(s.additionalProperties, env, `${name}_value`, false)}>` : 'map<string, dyn>';
      const fields: Record<string, string> = {};
      for (const [k, p] of Object.entries(s.properties)) {
        if (root && k === 'metadata') fields[k] = metadataCelType(env, name);
        else fields[k] = celTypeOf(p, env, `${name}_${k.replace(/\W/g, '_')}`, false);
      }
      const typeName = `${name}_${++typeCounter}`;
      env.registerType(typeName, { ctor: class {}, fields });
      return typeName;
    }
    default:
      return 'dyn';
  }
}

/** Rules see only metadata.name and metadata.generateName. */
function metadataCelType(env: Environment, name: string): string {
  const typeName = `${name}_metadata_${++typeCounter}`;
  env.registerType(typeName, { ctor: class {}, fields: { name: 'string', generateName: 'string' } });
  return typeName;
}

/** A JSON value as CEL sees it under schema s: integers as bigint, date-times as Date. */
function toCel(v: unknown, s: StructuralSchema | undefined): unknown {
  if (v === null || v === undefined) return v;
  if (!s || intOrString(s) || (preserves(s) && !s.properties)) return dynToCel(v);
  if (typeof v === 'number') return s.type === 'integer' && Number.isInteger(v) ? BigInt(v) : v;
  if (typeof v === 'string' && s.type === 'string' && (s.format === 'date-time' || s.format === 'date')) {
    const d = new Date(v);
    return Number.isNaN(d.getTime()) ? v : d;
  }
  if (Array.isArray(v)) return v.map((x) => toCel(x, s.items));
  if (isObj(v)) {
    const out: Obj = {};
    for (const [k, x] of Object.entries(v)) out[k] = toCel(x, s.properties?.[k] ?? (isObj(s.additionalProperties) ? s.additionalProperties : undefined));
    return out;
  }
  return v;
}

function dynToCel(v: unknown): unknown {
  if (typeof v === 'number') return Number.isInteger(v) ? BigInt(v) : v;
  if (Array.isArray(v)) return v.map(dynToCel);
  if (isObj(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, dynToCel(x)]));
  return v;
}

function celTypeName(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (v === null) return 'null';
  return typeof v === 'object' ? 'object' : typeof v === 'number' ? (Number.isInteger(v) ? 'integer' : 'number') : typeof v;
}

function referencesOldSelf(ast: unknown): boolean {
  if (!isObj(ast)) return false;
  if (ast.op === 'id' && ast.args === 'oldSelf') return true;
  const args = ast.args;
  if (Array.isArray(args)) return args.some((a) => (Array.isArray(a) ? a.some(referencesOldSelf) : referencesOldSelf(a)));
  return referencesOldSelf(args);
}

function usesIteratingMacro(ast: unknown): boolean {
  if (!isObj(ast)) return false;
  if (ast.op === 'rcall' && Array.isArray(ast.args) && iteratingMacros.has(ast.args[0] as string)) return true;
  const args = ast.args;
  if (Array.isArray(args)) return args.some((a) => (Array.isArray(a) ? a.some(usesIteratingMacro) : usesIteratingMacro(a)));
  return usesIteratingMacro(args);
}

function hasUnboundedList(s: StructuralSchema): boolean {
  if (!isSchema(s)) return false;
  if (s.type === 'array' && s.maxItems === undefined) return true;
  if (preserves(s) && !s.properties) return false;
  if (s.items && hasUnboundedList(s.items)) return true;
  if (isObj(s.additionalProperties) && hasUnboundedList(s.additionalProperties)) return true;
  return Object.values(s.properties ?? {}).some(hasUnboundedList);
}

/** Resolves a rule's fieldPath (`.a.b`, `['x.y']`) against the node's schema; undefined when it names no field. */
function resolveFieldPath(s: StructuralSchema, fieldPath: string): string[] | undefined {
  const parts: string[] = [];
  const re = /\.([A-Za-z_$][\w$-]*)|\['([^']*)'\]/y;
  let at = 0;
  while (at < fieldPath.length) {
    re.lastIndex = at;
    const m = re.exec(fieldPath);
    if (!m) return undefined;
    parts.push(m[1] ?? m[2]);
    at = re.lastIndex;
  }
  let node: StructuralSchema | undefined = s;
  for (const p of parts) {
    node = node?.properties?.[p] ?? (isObj(node?.additionalProperties) ? node.additionalProperties : undefined);
    if (!node) return undefined;
  }
  return parts;
}

export interface AdmitOptions {
  /** The stored object, on update: transition rules (oldSelf) run against it. */
  oldObject?: unknown;
  /** Check metadata as the API server does for every object (default true). */
  checkMetadata?: boolean;
  /** Whether the kind is namespaced (default true). */
  namespaced?: boolean;
  /** The request's namespace: filled in when the object names none, an error when it names another. */
  namespace?: string;
}

export interface AdmitResult<T = Obj> {
  /** The object after pruning and defaulting (a copy). */
  object: T;
  errors: FieldError[];
  /** Paths of the fields dropped because the schema does not know them (`spec.foo`). */
  unknownFields: string[];
}

/** A version's schema with its CEL rules compiled; `admit` does what the API server does to a custom resource. */
export class CompiledSchema {
  readonly schema: StructuralSchema;
  /** Rules that did not compile (or are misplaced), with paths inside the schema (`properties[spec]…`). */
  readonly compileErrors: FieldError[] = [];
  readonly #rules = new Map<StructuralSchema, CompiledRule[]>();
  readonly #evalEnv: Environment;

  constructor(schema: StructuralSchema) {
    this.schema = schema;
    this.#evalEnv = new Environment({ enableOptionalTypes: true, homogeneousAggregateLiterals: false })
      .registerVariable('self', 'dyn')
      .registerVariable('oldSelf', 'dyn');
    const typeEnv = new Environment({ enableOptionalTypes: true, homogeneousAggregateLiterals: false });
    this.#compile(schema, '', typeEnv, true, true);
  }

  #compile(s: StructuralSchema, path: string, typeEnv: Environment, root: boolean, correlatable: boolean): void {
    if (!isSchema(s)) return;
    const rules = s['x-kubernetes-validations'];
    if (rules?.length) {
      let checkEnv: Environment | undefined;
      let optionalEnv: Environment | undefined;
      try {
        const env = typeEnv.clone();
        const selfType = celTypeOf(s, env, 'Object', root);
        checkEnv = env.clone().registerVariable('self', selfType).registerVariable('oldSelf', selfType);
        optionalEnv = env.clone().registerVariable('self', selfType).registerVariable('oldSelf', `optional<${selfType}>`);
      } catch (e) {
        this.compileErrors.push(fieldError('FieldValueInvalid', `${path}x-kubernetes-validations`, `cannot build CEL types: ${firstLine(e)}`));
      }
      const compiled: CompiledRule[] = [];
      rules.forEach((r, i) => {
        const before = this.compileErrors.length;
        const c = this.#compileRule(r, `${path}x-kubernetes-validations[${i}]`, s, r?.optionalOldSelf ? optionalEnv : checkEnv, checkEnv, correlatable);
        if (c && this.compileErrors.length === before) compiled.push(c);
      });
      this.#rules.set(s, compiled);
    }
    for (const [k, p] of Object.entries(s.properties ?? {})) this.#compile(p, `${path}properties[${k}].`, typeEnv, false, correlatable);
    if (isObj(s.additionalProperties)) this.#compile(s.additionalProperties, `${path}additionalProperties.`, typeEnv, false, correlatable);
    if (s.items) {
      const lt = s['x-kubernetes-list-type'];
      this.#compile(s.items, `${path}items.`, typeEnv, false, correlatable && (lt === 'map' || lt === 'set'));
    }
  }

  #compileRule(
    r: ValidationRule,
    rp: string,
    s: StructuralSchema,
    checkEnv: Environment | undefined,
    messageEnv: Environment | undefined,
    correlatable: boolean,
  ): CompiledRule | undefined {
    if (typeof r?.rule !== 'string' || !r.rule.trim()) {
      this.compileErrors.push(fieldError('FieldValueRequired', `${rp}.rule`, 'rule is not specified'));
      return undefined;
    }
    if (r.message !== undefined && /[\r\n]/.test(r.message)) this.compileErrors.push(fieldError('FieldValueInvalid', `${rp}.message`, 'message must not contain line breaks', r.message));
    if (r.message === undefined && r.messageExpression === undefined && /[\r\n]/.test(r.rule))
      this.compileErrors.push(fieldError('FieldValueRequired', `${rp}.message`, 'message must be specified if rule contains line breaks'));
    if (r.reason !== undefined && !ruleReasons.has(r.reason))
      this.compileErrors.push(fieldError('FieldValueNotSupported', `${rp}.reason`, 'supported values: "FieldValueDuplicate", "FieldValueForbidden", "FieldValueInvalid", "FieldValueRequired"', r.reason));
    if (r.fieldPath !== undefined && !resolveFieldPath(s, r.fieldPath))
      this.compileErrors.push(fieldError('FieldValueInvalid', `${rp}.fieldPath`, 'fieldPath must be a valid path to a field of this schema', r.fieldPath));
    let program: CompiledRule['program'];
    let ast: unknown;
    try {
      const parsed = this.#evalEnv.parse(r.rule);
      program = parsed;
      ast = parsed.ast;
    } catch (e) {
      this.compileErrors.push(fieldError('FieldValueInvalid', `${rp}.rule`, `compilation failed: ${firstLine(e)}`, r.rule));
      return undefined;
    }
    const transition = referencesOldSelf(ast);
    if (transition && !correlatable)
      this.compileErrors.push(fieldError('FieldValueForbidden', `${rp}.rule`, 'oldSelf cannot be used on the uncorrelatable portion of the schema (inside a list that is not a map or set)'));
    if (usesIteratingMacro(ast) && hasUnboundedList(s))
      this.compileErrors.push(fieldError('FieldValueForbidden', `${rp}.rule`, 'estimated rule cost exceeds budget: a rule that iterates needs maxItems on every list under it (this checker\'s approximation of the API server\'s cost estimate)'));
    if (checkEnv) {
      let checked: { valid: boolean; type?: string; error?: Error };
      try {
        checked = checkEnv.check(r.rule);
      } catch (e) {
        checked = { valid: false, error: e as Error };
      }
      if (!checked.valid) this.compileErrors.push(fieldError('FieldValueInvalid', `${rp}.rule`, `compilation failed: ${firstLine(checked.error)}`, r.rule));
      else if (checked.type !== 'bool' && checked.type !== 'dyn')
        this.compileErrors.push(fieldError('FieldValueInvalid', `${rp}.rule`, `must evaluate to a bool, not ${checked.type}`, r.rule));
    }
    let message: CompiledRule['message'];
    if (r.messageExpression !== undefined) {
      try {
        message = this.#evalEnv.parse(r.messageExpression);
        const checked = messageEnv?.check(r.messageExpression);
        if (checked && !checked.valid) throw checked.error;
        if (checked && checked.type !== 'string' && checked.type !== 'dyn') throw new Error(`must evaluate to a string, not ${checked.type}`);
      } catch (e) {
        this.compileErrors.push(fieldError('FieldValueInvalid', `${rp}.messageExpression`, `messageExpression compilation failed: ${firstLine(e)}`, r.messageExpression));
      }
    }
    return { rule: r, program, message, transition };
  }

  /** Prune, default, validate: the API server's create (or update, with oldObject) of a custom resource. */
  admit<T = Obj>(obj: unknown, o: AdmitOptions = {}): AdmitResult<T> {
    const object = structuredClone(obj) as Obj;
    const unknownFields = pruneUnknownFields(object, this.schema);
    applyDefaults(object, this.schema);
    const errors: FieldError[] = [];
    const namespaced = o.namespaced ?? true;
    if (isObj(object) && isObj(object.metadata) && namespaced && o.namespace !== undefined) {
      if (object.metadata.namespace === undefined) object.metadata.namespace = o.namespace;
      else if (object.metadata.namespace !== o.namespace)
        errors.push(fieldError('FieldValueInvalid', 'metadata.namespace', 'the namespace of the provided object does not match the namespace sent on the request', object.metadata.namespace));
    }
    if (o.checkMetadata !== false && isObj(object)) errors.push(...objectMetaErrors(object.metadata, { namespaced, create: o.oldObject === undefined }));
    errors.push(...this.validateNode(object, this.schema, o.oldObject, ''));
    return { object: object as T, errors, unknownFields };
  }

  /**
   * OpenAPI keywords, list types and CEL rules of one value against one node (no pruning or
   * defaulting). As in the API server, the rules run only when the schema found nothing that
   * blocks them (a wrong type, a missing required field, an unsupported value, too many items or
   * too long a string); otherwise one error says that rules were not checked.
   */
  validateNode(v: unknown, s: StructuralSchema, old: unknown, path: string): FieldError[] {
    const errs: FieldError[] = [];
    const root = path === '' && s === this.schema;
    this.#validate(v, s, old, path, errs, root, 'schema');
    if (errs.some((e) => blockingErrors.has(e.type)))
      errs.push(fieldError('FieldValueInvalid', '<nil>', 'some validation rules were not checked because the object was invalid; correct the existing errors to complete validation', null));
    else this.#validate(v, s, old, path, errs, root, 'rules');
    return errs;
  }

  #validate(v: unknown, s: StructuralSchema, old: unknown, path: string, errs: FieldError[], root: boolean, phase: Phase): void {
    if (v === null) {
      if (!s.nullable && phase === 'schema') errs.push(fieldError('FieldValueTypeInvalid', path, `${path || '<root>'} in body must be of type ${s.type ?? 'object'}: "null"`, null));
      return;
    }
    if (intOrString(s)) {
      if (!(typeof v === 'string' || (typeof v === 'number' && Number.isInteger(v)))) {
        if (phase === 'schema') errs.push(fieldError('FieldValueTypeInvalid', path, `${path} in body must be of type integer or string: ${showValue(celTypeName(v))}`, v));
        return;
      }
    } else if (s.type && !valueHasType(v, s.type)) {
      if (phase === 'schema') errs.push(fieldError('FieldValueTypeInvalid', path, `${path || '<root>'} in body must be of type ${s.type}: ${showValue(celTypeName(v))}`, v));
      return;
    }
    if (phase === 'schema') {
      if (s.enum && !s.enum.some((e) => deepEqual(e, v)))
        errs.push(fieldError('FieldValueNotSupported', path, `supported values: ${s.enum.map(showValue).join(', ')}`, v));
      if (typeof v === 'string') this.#validateString(v, s, path, errs);
      else if (typeof v === 'number') validateNumber(v, s, path, errs);
      for (const j of s.allOf ?? []) this.#validate(v, { ...j, type: undefined }, old, path, errs, false, phase);
      if (s.anyOf?.length && !s.anyOf.some((j) => this.validateNode(v, j, old, path).length === 0))
        errs.push(fieldError('FieldValueInvalid', path, 'must match at least one schema in anyOf', v));
      if (s.oneOf?.length && s.oneOf.filter((j) => this.validateNode(v, j, old, path).length === 0).length !== 1)
        errs.push(fieldError('FieldValueInvalid', path, 'must match exactly one schema in oneOf', v));
      if (s.not && this.validateNode(v, s.not, old, path).length === 0) errs.push(fieldError('FieldValueInvalid', path, 'must not match the schema in not', v));
    }
    if (Array.isArray(v)) this.#validateArray(v, s, old, path, errs, phase);
    else if (isObj(v)) this.#validateObject(v, s, old, path, errs, root, phase);
    if (phase === 'rules') this.#evaluateRules(v, s, old, path, errs);
  }

  #validateString(v: string, s: StructuralSchema, path: string, errs: FieldError[]): void {
    const len = [...v].length;
    if (s.maxLength !== undefined && len > s.maxLength) errs.push(fieldError('FieldValueTooLong', path, `may not be more than ${s.maxLength} bytes`, v));
    if (s.minLength !== undefined && len < s.minLength) errs.push(fieldError('FieldValueInvalid', path, `${path} in body should be at least ${s.minLength} chars long`, v));
    if (s.pattern !== undefined && !new RegExp(s.pattern, 'u').test(v)) errs.push(fieldError('FieldValueInvalid', path, `${path} in body should match '${s.pattern}'`, v));
    if (s.format && !formatOk(s.format, v)) errs.push(fieldError('FieldValueInvalid', path, `${path} in body must be of type ${s.format}: ${showValue(v)}`, v));
  }

  #validateArray(v: unknown[], s: StructuralSchema, old: unknown, path: string, errs: FieldError[], phase: Phase): void {
    const keys = s['x-kubernetes-list-map-keys'] ?? [];
    const keyOf = (x: unknown) => (isObj(x) ? JSON.stringify(keys.map((k) => x[k] ?? s.items?.properties?.[k]?.default ?? null)) : undefined);
    const lt = s['x-kubernetes-list-type'];
    if (phase === 'schema') this.#arrayKeywords(v, s, path, errs, keyOf);
    const oldList = Array.isArray(old) ? old : undefined;
    v.forEach((x, i) => {
      let oldItem: unknown;
      if (oldList && lt === 'map') oldItem = oldList.find((y) => keyOf(y) === keyOf(x));
      else if (oldList && lt === 'set') oldItem = oldList.find((y) => deepEqual(x, y));
      if (s.items) this.#validate(x, s.items, oldItem, childPath(path, i), errs, false, phase);
    });
  }

  #arrayKeywords(v: unknown[], s: StructuralSchema, path: string, errs: FieldError[], keyOf: (x: unknown) => string | undefined): void {
    if (s.maxItems !== undefined && v.length > s.maxItems) errs.push(fieldError('FieldValueTooMany', path, `must have at most ${s.maxItems} items`, v.length));
    if (s.minItems !== undefined && v.length < s.minItems) errs.push(fieldError('FieldValueInvalid', path, `${path} in body should have at least ${s.minItems} items`, v.length));
    const lt = s['x-kubernetes-list-type'];
    if (lt === 'set' || s.uniqueItems) {
      v.forEach((x, i) => {
        if (v.findIndex((y) => deepEqual(x, y)) < i) errs.push(fieldError('FieldValueDuplicate', childPath(path, i), '', x));
      });
    }
    const keys = s['x-kubernetes-list-map-keys'] ?? [];
    if (lt === 'map') {
      const seen = new Set<string>();
      v.forEach((x, i) => {
        const k = keyOf(x);
        if (k === undefined) return;
        if (seen.has(k)) errs.push(fieldError('FieldValueDuplicate', childPath(path, i), '', Object.fromEntries(keys.map((kk) => [kk, (x as Obj)[kk]]))));
        seen.add(k);
      });
    }
  }

  #validateObject(v: Obj, s: StructuralSchema, old: unknown, path: string, errs: FieldError[], root: boolean, phase: Phase): void {
    if (phase === 'schema') {
      for (const r of s.required ?? []) if (v[r] === undefined) errs.push(fieldError('FieldValueRequired', childPath(path, r), ''));
      const n = Object.keys(v).length;
      if (s.maxProperties !== undefined && n > s.maxProperties) errs.push(fieldError('FieldValueTooMany', path, `must have at most ${s.maxProperties} items`, n));
      if (s.minProperties !== undefined && n < s.minProperties) errs.push(fieldError('FieldValueInvalid', path, `${path} in body should have at least ${s.minProperties} properties`, n));
    }
    const oldObj = isObj(old) ? old : undefined;
    for (const [k, x] of Object.entries(v)) {
      if ((root || embedded(s)) && k === 'metadata' && isObj(x)) {
        // Only name and generateName are validated against the schema; the rest is ObjectMeta's.
        const ms = s.properties?.metadata;
        for (const mk of ['name', 'generateName'])
          if (ms?.properties?.[mk] && x[mk] !== undefined) this.#validate(x[mk], ms.properties[mk], undefined, childPath(childPath(path, 'metadata'), mk), errs, false, phase);
        continue;
      }
      const p = s.properties?.[k] ?? (isObj(s.additionalProperties) ? s.additionalProperties : undefined);
      if (p) this.#validate(x, p, oldObj?.[k], childPath(path, k), errs, false, phase);
    }
  }

  #evaluateRules(v: unknown, s: StructuralSchema, old: unknown, path: string, errs: FieldError[]): void {
    const rules = this.#rules.get(s);
    if (!rules?.length) return;
    const self = toCel(v, s);
    const oldSelf = old === undefined ? undefined : toCel(old, s);
    for (const c of rules) {
      if (c.transition && old === undefined && !c.rule.optionalOldSelf) continue;
      const ctx: Obj = { self, oldSelf: c.rule.optionalOldSelf ? (oldSelf === undefined ? Optional.none() : Optional.of(oldSelf)) : oldSelf };
      const field = c.rule.fieldPath ? `${path}${c.rule.fieldPath}`.replace(/^\./, '') : path;
      const type = (c.rule.reason ?? 'FieldValueInvalid') as FieldError['type'];
      let ok: unknown;
      try {
        ok = c.program(ctx);
      } catch (e) {
        errs.push(fieldError('FieldValueInvalid', field, `${firstLine(e)} evaluating rule: ${c.rule.rule}`, celTypeName(v)));
        continue;
      }
      if (ok === true) continue;
      let detail = c.rule.message ?? `failed rule: ${c.rule.rule}`;
      if (c.message) {
        try {
          const m = c.message(ctx);
          if (typeof m === 'string' && m.trim() && !/[\r\n]/.test(m)) detail = m;
        } catch {
          // The API server falls back to message (or the rule) when messageExpression fails.
        }
      }
      errs.push(type === 'FieldValueForbidden' || type === 'FieldValueRequired' ? fieldError(type, field, detail) : fieldError(type, field, detail, celTypeName(v)));
    }
  }
}

function firstLine(e: unknown): string {
  return String((e as Error)?.message ?? e).split('\n')[0];
}

function valueHasType(v: unknown, t: SchemaType): boolean {
  switch (t) {
    case 'object':
      return isObj(v);
    case 'array':
      return Array.isArray(v);
    case 'string':
      return typeof v === 'string';
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v);
    case 'number':
      return typeof v === 'number' && Number.isFinite(v);
    case 'boolean':
      return typeof v === 'boolean';
  }
}

function validateNumber(v: number, s: StructuralSchema, path: string, errs: FieldError[]): void {
  if (s.minimum !== undefined && (s.exclusiveMinimum ? v <= s.minimum : v < s.minimum))
    errs.push(fieldError('FieldValueInvalid', path, `${path} in body should be greater than ${s.exclusiveMinimum ? '' : 'or equal to '}${s.minimum}`, v));
  if (s.maximum !== undefined && (s.exclusiveMaximum ? v >= s.maximum : v > s.maximum))
    errs.push(fieldError('FieldValueInvalid', path, `${path} in body should be less than ${s.exclusiveMaximum ? '' : 'or equal to '}${s.maximum}`, v));
  if (s.multipleOf !== undefined && v % s.multipleOf !== 0) errs.push(fieldError('FieldValueInvalid', path, `${path} in body should be a multiple of ${s.multipleOf}`, v));
  if (s.type === 'integer' && s.format === 'int32' && (v < -(2 ** 31) || v >= 2 ** 31)) errs.push(fieldError('FieldValueInvalid', path, `${path} in body must be of type int32`, v));
}

const dateTimeRe = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

function formatOk(format: string, v: string): boolean {
  switch (format) {
    case 'date-time':
      return dateTimeRe.test(v) && !Number.isNaN(Date.parse(v));
    case 'date':
      return /^\d{4}-\d{2}-\d{2}$/.test(v) && !Number.isNaN(Date.parse(v));
    case 'byte':
      return /^[A-Za-z0-9+/]*={0,2}$/.test(v) && v.length % 4 === 0;
    case 'uuid':
      return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v);
    case 'ipv4':
      return /^((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/.test(v);
    case 'hostname':
      return v.length <= 253 && v.split('.').every((l) => /^[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?$/.test(l) && l.length <= 63);
    default:
      return true;
  }
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isObj(a) && isObj(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => deepEqual(a[k], b[k]));
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// The CRD around the schemas.

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
    node = node?.properties?.[p] ?? (isObj(node?.additionalProperties) ? node.additionalProperties : undefined);
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

/** The compiled schema of a CRD's version (cached per schema object). */
export function compiledSchemaOf(crd: CustomResourceDefinition, version?: string): CompiledSchema {
  const v = version ? crd.spec.versions.find((x) => x.name === version) : crd.spec.versions.find((x) => x.storage);
  const schema = v?.schema?.openAPIV3Schema;
  if (!schema) throw new Error(`${crd.metadata.name}: no schema for version ${version ?? '(storage)'}`);
  let c = compiledCache.get(schema);
  if (!c) {
    c = new CompiledSchema(schema);
    compiledCache.set(schema, c);
  }
  return c;
}

/** Reads `.a.b.c` from an object (printer columns, scale subresource paths). */
export function readJsonPath(obj: unknown, jsonPath: string): unknown {
  let v: unknown = obj;
  for (const p of jsonPath.replace(/^\./, '').split('.')) v = isObj(v) ? v[p] : undefined;
  return v;
}

