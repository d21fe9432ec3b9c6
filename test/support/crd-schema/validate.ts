/**
 * A version's schema compiled, and what the API server does with it to a custom resource on create
 * and update: prune, default, then validate, in the server's passes and words:
 *
 * 1. the OpenAPI keywords (kube-openapi's validator: types, formats, enum, bounds, lengths, patterns,
 *    item and property counts, required, allOf/anyOf/oneOf/not);
 * 2. the list types (duplicates in set and map lists);
 * 3. the x-kubernetes-validations CEL rules (cel.ts), but only when passes 1 and 2 found nothing that
 *    blocks them (a wrong type or format, a missing required field, an unsupported value, too many
 *    items or too long a string); otherwise one error says that the rules were not checked.
 *
 * Ratcheting (unchanged invalid fields allowed on update) is not done.
 */
import type { FieldError } from '../kube-fields.ts';
import { GoValue, childPath, fieldError, objectMetaErrors } from '../kube-fields.ts';
import { SchemaRules } from './cel.ts';
import { applyDefaults, pruneUnknownFields } from './prune-default.ts';
import { deepEqual, embedded, fieldSchema, intOrString, isObj, jsonTypeName, valueHasType } from './types.ts';
import type { Obj, StructuralSchema } from './types.ts';

/** Errors after which the API server does not run the CEL rules. */
const blockingErrors = new Set<FieldError['type']>(['FieldValueTypeInvalid', 'FieldValueRequired', 'FieldValueNotSupported', 'FieldValueTooMany', 'FieldValueTooLong']);
type Pass = 'schema' | 'lists' | 'rules';

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
  /** What the API server refuses in the schema's CEL rules, with paths under the `path` given. */
  readonly compileErrors: FieldError[];
  readonly #rules: SchemaRules;

  constructor(schema: StructuralSchema, path = 'openAPIV3Schema') {
    this.schema = schema;
    this.#rules = new SchemaRules(schema, path);
    this.compileErrors = this.#rules.errors;
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
    errors.push(...this.validate(object, o.oldObject));
    return { object: object as T, errors, unknownFields };
  }

  /** Validates a pruned and defaulted object (`old`: the stored one, on update); errors at its root name the field `<nil>`. */
  validate(obj: unknown, old?: unknown): FieldError[] {
    const errs = this.#schemaPasses(obj, this.schema, old, '', true);
    if (errs.some((e) => blockingErrors.has(e.type)))
      errs.push(fieldError('FieldValueInvalid', '<nil>', 'some validation rules were not checked because the object was invalid; correct the existing errors to complete validation', null));
    else this.#validate(obj, this.schema, old, '', errs, true, 'rules');
    return errs.map((e) => (e.field === '' ? { ...e, field: '<nil>' } : e));
  }

  /**
   * A default, as the API server checks it in a CRD: the OpenAPI keywords and list types, and only
   * when those pass the CEL rules (with oldSelf the default itself). Errors under `path`.
   */
  validateDefault(v: unknown, s: StructuralSchema, path: string): FieldError[] {
    const errs = this.#schemaPasses(v, s, undefined, path, false);
    if (!errs.length) this.#validate(v, s, v, path, errs, false, 'rules');
    return errs;
  }

  #schemaPasses(v: unknown, s: StructuralSchema, old: unknown, path: string, root: boolean): FieldError[] {
    const errs: FieldError[] = [];
    this.#validate(v, s, old, path, errs, root, 'schema');
    this.#validate(v, s, old, path, errs, root, 'lists');
    return errs;
  }

  #validate(v: unknown, s: StructuralSchema, old: unknown, path: string, errs: FieldError[], root: boolean, pass: Pass): void {
    const inBody = `${path} in body`;
    if (v === null) {
      // kube-openapi checks null only against a node with a type (int-or-string has two).
      const types = intOrString(s) ? 'integer,string' : s.type;
      if (types && !s.nullable && pass === 'schema') errs.push(fieldError('FieldValueTypeInvalid', path, `${inBody} must be of type ${types}: "null"`, 'null'));
      return;
    }
    const actual = jsonTypeName(v);
    if (intOrString(s) ? actual !== 'integer' && actual !== 'string' : s.type && !valueHasType(v, s.type)) {
      const types = intOrString(s) ? 'integer,string' : s.type;
      if (pass === 'schema') errs.push(fieldError('FieldValueTypeInvalid', path, `${inBody} must be of type ${types}: ${JSON.stringify(actual)}`, actual));
      return;
    }
    if (pass === 'rules') this.#rules.evaluate(v, s, old, path, errs);
    if (pass === 'schema') this.#keywords(v, s, old, path, errs);
    if (Array.isArray(v)) this.#validateArray(v, s, old, path, errs, pass);
    else if (isObj(v)) this.#validateObject(v, s, old, path, errs, root, pass);
  }

  /** Keywords on the value itself, in kube-openapi's order: junctors, string, format, number, enum. */
  #keywords(v: unknown, s: StructuralSchema, old: unknown, path: string, errs: FieldError[]): void {
    this.#junctors(v, s, old, path, errs);
    const inBody = `${path} in body`;
    if (typeof v === 'string') {
      const len = [...v].length;
      if (s.minLength !== undefined && len < s.minLength) errs.push(fieldError('FieldValueInvalid', path, `${inBody} should be at least ${s.minLength} chars long`, v));
      if (s.maxLength !== undefined && len > s.maxLength) errs.push(fieldError('FieldValueTooLong', path, `may not be more than ${s.maxLength} bytes`, v));
      if (s.pattern !== undefined && !new RegExp(s.pattern, 'u').test(v)) errs.push(fieldError('FieldValueInvalid', path, `${inBody} should match '${s.pattern}'`, v));
      if (s.format && !formatOk(s.format, v)) errs.push(fieldError('FieldValueTypeInvalid', path, `${inBody} must be of type ${s.format}: ${JSON.stringify(v)}`, v));
    } else if (typeof v === 'number') {
      if (s.multipleOf !== undefined && !isMultiple(v, s.multipleOf)) errs.push(fieldError('FieldValueInvalid', path, `${inBody} should be a multiple of ${s.multipleOf}`, v));
      if (s.maximum !== undefined && (s.exclusiveMaximum ? v >= s.maximum : v > s.maximum))
        errs.push(fieldError('FieldValueInvalid', path, `${inBody} should be less than ${s.exclusiveMaximum ? '' : 'or equal to '}${s.maximum}`, v));
      if (s.minimum !== undefined && (s.exclusiveMinimum ? v <= s.minimum : v < s.minimum))
        errs.push(fieldError('FieldValueInvalid', path, `${inBody} should be greater than ${s.exclusiveMinimum ? '' : 'or equal to '}${s.minimum}`, v));
    }
    if (s.enum && !s.enum.some((e) => deepEqual(e, v))) {
      const quoted = s.enum.map((e) => JSON.stringify(typeof e === 'string' ? e : JSON.stringify(e)));
      errs.push(fieldError('FieldValueNotSupported', path, `supported values: ${quoted.join(', ')}`, v));
    }
  }

  /**
   * allOf, anyOf, oneOf and not, as kube-openapi reports them: the branches' own errors, and a
   * composite error the API server puts at `<nil>` with an empty value.
   */
  #junctors(v: unknown, s: StructuralSchema, old: unknown, path: string, errs: FieldError[]): void {
    const branch = (j: StructuralSchema): FieldError[] => {
      const e: FieldError[] = [];
      this.#validate(v, j, old, path, e, false, 'schema');
      return e;
    };
    const composite = (detail: string) => errs.push(fieldError('FieldValueInvalid', '<nil>', `${JSON.stringify(path)} ${detail}`, ''));
    const fewest = (results: FieldError[][]) => results.reduce((a, b) => (b.length < a.length ? b : a));
    if (s.anyOf?.length) {
      const results = s.anyOf.map(branch);
      if (!results.some((r) => !r.length)) {
        composite('must validate at least one schema (anyOf)');
        errs.push(...fewest(results));
      }
    }
    if (s.oneOf?.length) {
      const results = s.oneOf.map(branch);
      const valid = results.filter((r) => !r.length).length;
      if (valid !== 1) composite(`must validate one and only one schema (oneOf). ${valid ? `Found ${valid} valid alternatives` : 'Found none valid'}`);
      if (!valid) errs.push(...fewest(results));
    }
    if (s.allOf?.length) {
      const results = s.allOf.map(branch);
      for (const r of results) errs.push(...r);
      const valid = results.filter((r) => !r.length).length;
      if (valid !== results.length) composite(`must validate all the schemas (allOf)${valid ? '' : '. None validated'}`);
    }
    if (s.not && !branch(s.not).length) composite('must not validate the schema (not)');
  }

  #validateArray(v: unknown[], s: StructuralSchema, old: unknown, path: string, errs: FieldError[], pass: Pass): void {
    const lt = s['x-kubernetes-list-type'];
    const keys = s['x-kubernetes-list-map-keys'] ?? [];
    const keyOf = (x: unknown) => (isObj(x) ? JSON.stringify(keys.map((k) => x[k] ?? s.items?.properties?.[k]?.default ?? null)) : undefined);
    if (pass === 'schema') {
      if (s.minItems !== undefined && v.length < s.minItems) errs.push(fieldError('FieldValueInvalid', path, `${path} in body should have at least ${s.minItems} items`, v.length));
      if (s.maxItems !== undefined && v.length > s.maxItems) errs.push(fieldError('FieldValueTooMany', path, `must have at most ${s.maxItems} items`, v.length));
    }
    if (pass === 'lists' && lt === 'set')
      v.forEach((x, i) => {
        if (v.findIndex((y) => deepEqual(x, y)) < i) errs.push(fieldError('FieldValueDuplicate', childPath(path, i), '', new GoValue(x)));
      });
    if (pass === 'lists' && lt === 'map') {
      const seen = new Set<string>();
      v.forEach((x, i) => {
        const k = keyOf(x);
        if (k === undefined) return;
        if (seen.has(k)) errs.push(fieldError('FieldValueDuplicate', childPath(path, i), '', new GoValue(Object.fromEntries(keys.map((kk) => [kk, (x as Obj)[kk]])))));
        seen.add(k);
      });
    }
    // Only map lists correlate old items with new ones (transition rules).
    const oldList = lt === 'map' && Array.isArray(old) ? old : undefined;
    v.forEach((x, i) => {
      if (s.items) this.#validate(x, s.items, oldList?.find((y) => keyOf(y) === keyOf(x)), childPath(path, i), errs, false, pass);
    });
  }

  #validateObject(v: Obj, s: StructuralSchema, old: unknown, path: string, errs: FieldError[], root: boolean, pass: Pass): void {
    if (pass === 'schema') {
      const n = Object.keys(v).length;
      if (s.maxProperties !== undefined && n > s.maxProperties) errs.push(fieldError('FieldValueTooMany', path, `must have at most ${s.maxProperties} items`, n));
      if (s.minProperties !== undefined && n < s.minProperties) errs.push(fieldError('FieldValueInvalid', path, `${path} in body should have at least ${s.minProperties} properties`, n));
      for (const r of s.required ?? []) if (v[r] === undefined) errs.push(fieldError('FieldValueRequired', childPath(path, r), ''));
    }
    // An atomic map does not correlate its fields with the old ones (transition rules).
    const oldObj = isObj(old) && s['x-kubernetes-map-type'] !== 'atomic' ? old : undefined;
    for (const [k, x] of Object.entries(v)) {
      if ((root || embedded(s)) && k === 'metadata' && isObj(x)) {
        // Only name and generateName are validated against the schema; the rest is ObjectMeta's.
        const ms = s.properties?.metadata;
        for (const mk of ['name', 'generateName'])
          if (ms?.properties?.[mk] && x[mk] !== undefined) this.#validate(x[mk], ms.properties[mk], undefined, childPath(childPath(path, 'metadata'), mk), errs, false, pass);
        continue;
      }
      const p = fieldSchema(s, k);
      if (p) this.#validate(x, p, oldObj?.[k], childPath(path, k), errs, false, pass);
    }
  }
}

function isMultiple(v: number, factor: number): boolean {
  if (Number.isInteger(v) && Number.isInteger(factor)) return v % factor === 0;
  const q = factor < 1 ? v * (1 / factor) : v / factor;
  return Math.abs(q - Math.round(q)) < 1e-9;
}

const dateTimeRe = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** The string formats CRDs support that this checker knows; any other format passes. */
function formatOk(format: string, v: string): boolean {
  switch (format.replaceAll('-', '')) {
    case 'datetime':
      return dateTimeRe.test(v) && !Number.isNaN(Date.parse(v));
    case 'date':
      return /^\d{4}-\d{2}-\d{2}$/.test(v) && !Number.isNaN(Date.parse(v));
    case 'byte':
      return /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(v);
    case 'uuid':
      return /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i.test(v);
    case 'ipv4':
      return /^((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/.test(v);
    case 'hostname':
      return v.length <= 253 && v.split('.').every((l) => /^[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?$/.test(l) && l.length <= 63);
    case 'duration':
      return /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(v);
    default:
      return true;
  }
}
