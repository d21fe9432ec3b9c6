/**
 * What the API server refuses in a version's openAPIV3Schema: the structural-schema rules (a type on
 * every node unless int-or-string or preserve-unknown-fields; logical junctors only restate what is
 * specified outside them and set no type, default, description, additionalProperties or nullable;
 * metadata restricts only name and generateName), the rules on the x-kubernetes-* extensions, the
 * keywords CRDs may not use, defaults (pruned and valid) and CEL rules (compile against the schema,
 * cel.ts).
 */
import type { FieldError } from '../kube-fields.ts';
import { fieldError } from '../kube-fields.ts';
import { applyDefaults, pruneUnknownFields } from './prune-default.ts';
import { embedded, intOrString, isObj, isSchema, preserves, valueHasType } from './types.ts';
import type { SchemaType, StructuralSchema } from './types.ts';
import { CompiledSchema } from './validate.ts';

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

export interface SchemaCheckOptions {
  /** Path of the schema in its CRD, for messages. */
  path?: string;
}

/** What the API server refuses in a version's openAPIV3Schema (see the top of this file). */
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
    const compiled = new CompiledSchema(schema, path);
    errs.push(...compiled.compileErrors);
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

/** Defaults must be pruned (no unknown fields) and valid against their own node, rules included (CompiledSchema.validateDefault). */
function defaultErrors(root: StructuralSchema, path: string, compiled: CompiledSchema): FieldError[] {
  const errs: FieldError[] = [];
  const walk = (s: StructuralSchema, p: string, underMeta: boolean) => {
    if (!isSchema(s)) return;
    if (s.default !== undefined) {
      if (underMeta) errs.push(fieldError('FieldValueForbidden', `${p}.default`, 'must not be set under metadata'));
      const copy = structuredClone(s.default);
      const unknown = pruneUnknownFields(copy, s, false);
      if (unknown.length) errs.push(fieldError('FieldValueInvalid', `${p}.default`, `must not have unknown fields: ${unknown.join(', ')}`, s.default));
      if (s.default === null && !s.nullable) errs.push(fieldError('FieldValueInvalid', `${p}.default`, 'must not be null for a non-nullable field', null));
      else {
        applyDefaults(copy, s);
        for (const e of compiled.validateDefault(copy, s, 'default')) errs.push({ ...e, field: `${p}.${e.field}` });
      }
    }
    for (const [k, c] of Object.entries(s.properties ?? {})) walk(c, `${p}.properties[${k}]`, underMeta || (p === path && k === 'metadata'));
    if (isObj(s.additionalProperties)) walk(s.additionalProperties, `${p}.additionalProperties`, underMeta);
    if (s.items) walk(s.items, `${p}.items`, underMeta);
  };
  walk(root, path, false);
  return errs;
}

