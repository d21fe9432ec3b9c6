/**
 * CRD structural schemas (openAPIV3Schema): pruning of unknown fields, defaulting, and validation
 * (types, formats, required, enum, bounds, lengths, patterns, item counts, nullable, int-or-string,
 * preserve-unknown-fields, additionalProperties, allOf/anyOf/oneOf/not, and the CEL rules of
 * x-kubernetes-validations), producing field errors worded as the real API server words them.
 */
import { compileRule, evaluateRule, usesOldSelf } from './cel.ts';
import { clone, deepEqual, isObject } from './status.ts';
import type { FieldError, Json, JsonObject } from './status.ts';

export interface ValidationRule {
  rule: string;
  message?: string;
  messageExpression?: string;
  reason?: string;
  fieldPath?: string;
  optionalOldSelf?: boolean;
}

export interface StructuralSchema {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  description?: string;
  properties?: Record<string, StructuralSchema>;
  additionalProperties?: StructuralSchema | boolean;
  items?: StructuralSchema;
  required?: string[];
  enum?: Json[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  multipleOf?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
  minItems?: number;
  maxItems?: number;
  minProperties?: number;
  maxProperties?: number;
  nullable?: boolean;
  default?: Json;
  allOf?: StructuralSchema[];
  anyOf?: StructuralSchema[];
  oneOf?: StructuralSchema[];
  not?: StructuralSchema;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-embedded-resource'?: boolean;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
  'x-kubernetes-validations'?: ValidationRule[];
}

const objectMetaFields = new Set([
  'name', 'generateName', 'namespace', 'selfLink', 'uid', 'resourceVersion', 'generation', 'creationTimestamp',
  'deletionTimestamp', 'deletionGracePeriodSeconds', 'labels', 'annotations', 'ownerReferences', 'finalizers', 'managedFields',
]);

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

// ---------------------------------------------------------------------------------------------
// Pruning

/**
 * Drops fields the schema does not specify (unless x-kubernetes-preserve-unknown-fields), in place,
 * and returns their paths. At the root (and in embedded resources) apiVersion, kind and the known
 * ObjectMeta fields are kept.
 */
export function prune(value: Json, schema: StructuralSchema, root = true, path = ''): string[] {
  const pruned: string[] = [];
  walkPrune(value, schema, root, path, pruned);
  return pruned;
}

function walkPrune(value: Json, schema: StructuralSchema | undefined, root: boolean, path: string, pruned: string[]): void {
  if (!schema) return;
  if (Array.isArray(value)) {
    value.forEach((v, i) => walkPrune(v, schema.items, false, `${path}[${i}]`, pruned));
    return;
  }
  if (!isObject(value)) return;
  const embedded = root || schema['x-kubernetes-embedded-resource'] === true;
  const preserve = schema['x-kubernetes-preserve-unknown-fields'] === true;
  for (const key of Object.keys(value)) {
    const childPath = join(path, key);
    if (embedded && (key === 'apiVersion' || key === 'kind')) continue;
    if (embedded && key === 'metadata') {
      const meta = value.metadata;
      if (isObject(meta)) {
        for (const mk of Object.keys(meta)) {
          if (!objectMetaFields.has(mk)) {
            delete meta[mk];
            pruned.push(join(childPath, mk));
          }
        }
      }
      continue;
    }
    const child = schema.properties?.[key] ?? (typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined);
    if (child) walkPrune(value[key], child, false, childPath, pruned);
    else if (!preserve && schema.additionalProperties !== true) {
      delete value[key];
      pruned.push(childPath);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Defaulting

/**
 * Applies `default` values, in place: a property that is absent (or null without nullable: true)
 * gets its schema's default, and defaulting recurses into objects, list items and map values.
 */
export function applyDefaults(value: Json, schema: StructuralSchema | undefined): void {
  if (!schema) return;
  if (Array.isArray(value)) {
    for (const item of value) applyDefaults(item, schema.items);
    return;
  }
  if (!isObject(value)) return;
  for (const [key, prop] of Object.entries(schema.properties ?? {})) {
    const present = Object.hasOwn(value, key);
    if (present && value[key] === null && !prop.nullable) {
      if (prop.default !== undefined) value[key] = clone(prop.default);
      else delete value[key];
    } else if (!present && prop.default !== undefined) {
      value[key] = clone(prop.default);
    }
    if (Object.hasOwn(value, key)) applyDefaults(value[key], prop);
  }
  if (typeof schema.additionalProperties === 'object') {
    for (const key of Object.keys(value)) {
      if (!schema.properties?.[key]) applyDefaults(value[key], schema.additionalProperties);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Validation

function show(v: Json | undefined): string {
  if (v === undefined || v === null) return '"null"';
  if (Array.isArray(v)) return '"array"';
  if (typeof v === 'object') return '"object"';
  if (typeof v === 'string') return JSON.stringify(v);
  return String(v);
}

function typeName(v: Json): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

const formatChecks: Record<string, (v: Json) => boolean> = {
  int32: (v) => typeof v !== 'number' || (v >= -2147483648 && v <= 2147483647),
  int64: (v) => typeof v !== 'number' || Math.abs(v) <= 2 ** 63,
  'date-time': (v) => typeof v !== 'string' || /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/.test(v),
  date: (v) => typeof v !== 'string' || /^\d{4}-\d{2}-\d{2}$/.test(v),
  byte: (v) => typeof v !== 'string' || /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(v),
  uuid: (v) => typeof v !== 'string' || /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v),
  ipv4: (v) => typeof v !== 'string' || /^((25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(25[0-5]|2[0-4]\d|1?\d?\d)$/.test(v),
  hostname: (v) => typeof v !== 'string' || /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/i.test(v),
  duration: (v) => typeof v !== 'string' || /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(v),
};

export interface ValidateOptions {
  /** The previous object on an update, for transition rules (oldSelf). */
  old?: Json;
}

/** Validates `value` against `schema`; returns field errors with paths like `spec.items[0].name`. */
export function validate(value: Json, schema: StructuralSchema, opts: ValidateOptions = {}): FieldError[] {
  const errors: FieldError[] = [];
  walkValidate(value, opts.old, schema, '', errors, true);
  return errors;
}

function walkValidate(value: Json, old: Json | undefined, schema: StructuralSchema, path: string, errors: FieldError[], root: boolean): void {
  const inBody = path === '' ? 'body' : `${path} in body`;
  if (value === null) {
    if (!schema.nullable && (schema.type !== undefined || schema['x-kubernetes-int-or-string'])) {
      errors.push({ reason: 'FieldValueTypeInvalid', field: path, message: `Invalid value: "null": ${inBody} must be of type ${schema.type ?? 'integer'}: "null"` });
    }
    return;
  }
  const actual = typeName(value);
  if (schema['x-kubernetes-int-or-string']) {
    if (actual !== 'integer' && actual !== 'string') {
      errors.push({ reason: 'FieldValueTypeInvalid', field: path, message: `Invalid value: ${show(value)}: ${inBody} must be of type integer: "${actual}"` });
      return;
    }
  } else if (schema.type !== undefined) {
    const fits = schema.type === actual || (schema.type === 'number' && actual === 'integer');
    if (!fits) {
      errors.push({ reason: 'FieldValueTypeInvalid', field: path, message: `Invalid value: "${actual}": ${inBody} must be of type ${schema.type}: "${actual}"` });
      return;
    }
  }
  if (schema.enum && !schema.enum.some((e) => deepEqual(e, value))) {
    errors.push({ reason: 'FieldValueNotSupported', field: path, message: `Unsupported value: ${JSON.stringify(value)}: supported values: ${schema.enum.map((e) => JSON.stringify(e)).join(', ')}` });
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && (schema.exclusiveMinimum ? value <= schema.minimum : value < schema.minimum)) {
      errors.push({ reason: 'FieldValueInvalid', field: path, message: `Invalid value: ${value}: ${inBody} should be greater than ${schema.exclusiveMinimum ? '' : 'or equal to '}${schema.minimum}` });
    }
    if (schema.maximum !== undefined && (schema.exclusiveMaximum ? value >= schema.maximum : value > schema.maximum)) {
      errors.push({ reason: 'FieldValueInvalid', field: path, message: `Invalid value: ${value}: ${inBody} should be less than ${schema.exclusiveMaximum ? '' : 'or equal to '}${schema.maximum}` });
    }
    if (schema.multipleOf !== undefined && Math.abs(value / schema.multipleOf - Math.round(value / schema.multipleOf)) > 1e-9) {
      errors.push({ reason: 'FieldValueInvalid', field: path, message: `Invalid value: ${value}: ${inBody} should be a multiple of ${schema.multipleOf}` });
    }
  }
  if (schema.format && formatChecks[schema.format] && !formatChecks[schema.format](value)) {
    errors.push({ reason: 'FieldValueInvalid', field: path, message: `Invalid value: ${show(value)}: ${inBody} must be of type ${schema.format}: ${JSON.stringify(String(value))}` });
  }
  if (typeof value === 'string') {
    const length = [...value].length;
    if (schema.minLength !== undefined && length < schema.minLength) {
      errors.push({ reason: 'FieldValueInvalid', field: path, message: `Invalid value: ${show(value)}: ${inBody} should be at least ${schema.minLength} chars long` });
    }
    if (schema.maxLength !== undefined && length > schema.maxLength) {
      errors.push({ reason: 'FieldValueTooLong', field: path, message: `Too long: may not be more than ${schema.maxLength} bytes` });
    }
    if (schema.pattern !== undefined && !new RegExp(schema.pattern, 'u').test(value)) {
      errors.push({ reason: 'FieldValueInvalid', field: path, message: `Invalid value: ${show(value)}: ${inBody} should match '${schema.pattern}'` });
    }
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) {
      errors.push({ reason: 'FieldValueInvalid', field: path, message: `Invalid value: ${value.length}: ${inBody} should have at least ${schema.minItems} items` });
    }
    if (schema.maxItems !== undefined && value.length > schema.maxItems) {
      errors.push({ reason: 'FieldValueTooMany', field: path, message: `Too many: ${value.length}: must have at most ${schema.maxItems} items` });
    }
    listUniqueness(value, schema, path, errors);
    if (schema.items) {
      const oldItems = correlateItems(value, old, schema);
      value.forEach((item, i) => walkValidate(item, oldItems[i], schema.items as StructuralSchema, `${path}[${i}]`, errors, false));
    }
  }
  if (isObject(value)) {
    const count = Object.keys(value).length;
    if (schema.minProperties !== undefined && count < schema.minProperties) {
      errors.push({ reason: 'FieldValueInvalid', field: path, message: `Invalid value: ${count}: ${inBody} should have at least ${schema.minProperties} properties` });
    }
    if (schema.maxProperties !== undefined && count > schema.maxProperties) {
      errors.push({ reason: 'FieldValueTooMany', field: path, message: `Too many: ${count}: must have at most ${schema.maxProperties} items` });
    }
    for (const req of schema.required ?? []) {
      if (!Object.hasOwn(value, req)) errors.push({ reason: 'FieldValueRequired', field: join(path, req), message: 'Required value' });
    }
    const oldObj = isObject(old) ? old : undefined;
    for (const [key, v] of Object.entries(value)) {
      if (root && (key === 'apiVersion' || key === 'kind' || key === 'metadata')) continue;
      const child = schema.properties?.[key] ?? (typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined);
      if (child) walkValidate(v, oldObj?.[key], child, join(path, key), errors, false);
    }
  }
  for (const sub of schema.allOf ?? []) walkValidate(value, old, sub, path, errors, false);
  if (schema.anyOf && !schema.anyOf.some((s) => validate(value, s).length === 0)) {
    errors.push({ reason: 'FieldValueInvalid', field: path, message: `Invalid value: ${show(value)}: ${inBody} must validate at least one schema (anyOf)` });
  }
  if (schema.oneOf && schema.oneOf.filter((s) => validate(value, s).length === 0).length !== 1) {
    errors.push({ reason: 'FieldValueInvalid', field: path, message: `Invalid value: ${show(value)}: ${inBody} must validate one and only one schema (oneOf)` });
  }
  if (schema.not && validate(value, schema.not).length === 0) {
    errors.push({ reason: 'FieldValueInvalid', field: path, message: `Invalid value: ${show(value)}: ${inBody} must not validate the schema (not)` });
  }
  for (const rule of schema['x-kubernetes-validations'] ?? []) {
    const transition = usesOldSelf(rule.rule);
    if (transition && old === undefined && !rule.optionalOldSelf) continue;
    const outcome = evaluateRule(rule, value, transition ? old : undefined, schema);
    if (outcome.ok) continue;
    const field = rule.fieldPath ? path + (rule.fieldPath.startsWith('.') || rule.fieldPath.startsWith('[') ? rule.fieldPath : `.${rule.fieldPath}`) : path;
    const text = outcome.error ?? outcome.message ?? rule.message ?? `failed rule: ${rule.rule}`;
    const reason = outcome.error ? 'FieldValueInvalid' : (rule.reason ?? 'FieldValueInvalid');
    errors.push({ reason, field: field.replace(/^\./, ''), message: ruleMessage(reason, value, text) });
  }
}

function ruleMessage(reason: string, value: Json, text: string): string {
  switch (reason) {
    case 'FieldValueRequired':
      return `Required value: ${text}`;
    case 'FieldValueForbidden':
      return `Forbidden: ${text}`;
    case 'FieldValueDuplicate':
      return `Duplicate value: ${show(value)}: ${text}`;
    default:
      return `Invalid value: ${show(value)}: ${text}`;
  }
}

function listUniqueness(value: Json[], schema: StructuralSchema, path: string, errors: FieldError[]): void {
  const type = schema['x-kubernetes-list-type'];
  if (type === 'set') {
    value.forEach((v, i) => {
      if (value.findIndex((w) => deepEqual(v, w)) !== i) errors.push({ reason: 'FieldValueDuplicate', field: `${path}[${i}]`, message: `Duplicate value: ${show(v)}` });
    });
  } else if (type === 'map') {
    const keys = schema['x-kubernetes-list-map-keys'] ?? [];
    const keyOf = (v: Json): string => JSON.stringify(keys.map((k) => (isObject(v) ? (v[k] ?? null) : null)));
    value.forEach((v, i) => {
      if (value.findIndex((w) => keyOf(w) === keyOf(v)) !== i) {
        const shown = isObject(v) ? `map[string]interface {}{${keys.map((k) => `"${k}":${JSON.stringify(v[k])}`).join(', ')}}` : show(v);
        errors.push({ reason: 'FieldValueDuplicate', field: `${path}[${i}]`, message: `Duplicate value: ${shown}` });
      }
    });
  }
}

/** Old list items that correspond to the new ones (map lists by key, sets by value), for oldSelf. */
function correlateItems(value: Json[], old: Json | undefined, schema: StructuralSchema): (Json | undefined)[] {
  if (!Array.isArray(old)) return [];
  const type = schema['x-kubernetes-list-type'];
  if (type === 'map') {
    const keys = schema['x-kubernetes-list-map-keys'] ?? [];
    const keyOf = (v: Json): string => JSON.stringify(keys.map((k) => (isObject(v) ? (v[k] ?? null) : null)));
    return value.map((v) => old.find((o) => keyOf(o) === keyOf(v)));
  }
  if (type === 'set') return value.map((v) => old.find((o) => deepEqual(o, v)));
  return [];
}

// ---------------------------------------------------------------------------------------------
// Checks on the schema itself, at CRD creation

/** Compiles every CEL rule and checks structural basics; returns errors under `pathPrefix`. */
export function checkSchema(schema: StructuralSchema, pathPrefix: string): FieldError[] {
  const errors: FieldError[] = [];
  const walk = (s: StructuralSchema, path: string, root: boolean): void => {
    if (!root && s.type === undefined && !s['x-kubernetes-preserve-unknown-fields'] && !s['x-kubernetes-int-or-string']) {
      errors.push({ reason: 'FieldValueRequired', field: `${path}.type`, message: 'Required value: must not be empty for specified object fields' });
    }
    s['x-kubernetes-validations']?.forEach((r, i) => {
      try {
        compileRule(r.rule);
      } catch (e) {
        errors.push({ reason: 'FieldValueInvalid', field: `${path}.x-kubernetes-validations[${i}].rule`, message: `Invalid value: ${JSON.stringify(r.rule)}: compilation failed: ${(e as Error).message.split('\n')[0]}` });
      }
    });
    for (const [k, p] of Object.entries(s.properties ?? {})) walk(p, `${path}.properties[${k}]`, false);
    if (s.items) walk(s.items, `${path}.items`, false);
    if (typeof s.additionalProperties === 'object') walk(s.additionalProperties, `${path}.additionalProperties`, false);
  };
  walk(schema, pathPrefix, true);
  return errors;
}

export function isJsonObject(v: Json | undefined): v is JsonObject {
  return isObject(v);
}
