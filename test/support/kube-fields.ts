/**
 * Field errors as the Kubernetes API server words them, and the checks every object's metadata gets
 * (names, labels, annotations, finalizers, owner references). No dependencies: crd-schema/,
 * kube-schemas.ts and the fake API server share it.
 */

export type FieldErrorType =
  | 'FieldValueInvalid'
  | 'FieldValueRequired'
  | 'FieldValueNotSupported'
  | 'FieldValueDuplicate'
  | 'FieldValueTooMany'
  | 'FieldValueTooLong'
  | 'FieldValueForbidden'
  | 'FieldValueTypeInvalid'
  | 'FieldValueNotFound';

export interface FieldError {
  type: FieldErrorType;
  /** The field's path, as the API server writes it: `spec.alwaysOn[1].channelId`. */
  field: string;
  /** The offending value, when the message shows one. */
  value?: unknown;
  detail: string;
}

const labelOf: Record<FieldErrorType, string> = {
  FieldValueInvalid: 'Invalid value',
  FieldValueRequired: 'Required value',
  FieldValueNotSupported: 'Unsupported value',
  FieldValueDuplicate: 'Duplicate value',
  FieldValueTooMany: 'Too many',
  FieldValueTooLong: 'Too long',
  FieldValueForbidden: 'Forbidden',
  FieldValueTypeInvalid: 'Invalid value',
  FieldValueNotFound: 'Not found',
};

/** A value the API server prints with Go's %#v, as it does a list's duplicate keys: `map[string]interface {}{"name":"a"}`. */
export class GoValue {
  readonly value: unknown;
  constructor(value: unknown) {
    this.value = value;
  }
}

function goSyntax(v: unknown): string {
  if (v === null || v === undefined) return 'interface {}(nil)';
  if (Array.isArray(v)) return `[]interface {}{${v.map(goSyntax).join(', ')}}`;
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `map[string]interface {}{${Object.keys(o).sort().map((k) => `${JSON.stringify(k)}:${goSyntax(o[k])}`).join(', ')}}`;
  }
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

/** A value as an error message shows it: strings quoted, null as "null" (as Go does), objects as compact JSON. */
export function showValue(v: unknown): string {
  if (v instanceof GoValue) return goSyntax(v.value);
  if (typeof v === 'bigint') return v.toString();
  if (v === undefined) return '<nil>';
  if (v === null) return '"null"';
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? Number(x) : x));
}

/** The message without the field, as a Status cause carries it: `Invalid value: -1: spec.replicas in body should be …`. */
export function fieldErrorBody(e: FieldError): string {
  const showsValue = e.type !== 'FieldValueRequired' && e.type !== 'FieldValueForbidden' && e.type !== 'FieldValueTooLong' && 'value' in e;
  return [labelOf[e.type], ...(showsValue ? [showValue(e.value)] : []), ...(e.detail ? [e.detail] : [])].join(': ');
}

/** `spec.image: Required value`, `spec.replicas: Invalid value: -1: spec.replicas in body should be …`. */
export function formatFieldError(e: FieldError): string {
  return `${e.field ? `${e.field}: ` : ''}${fieldErrorBody(e)}`;
}

export function fieldError(type: FieldErrorType, field: string, detail: string, ...value: [unknown?]): FieldError {
  return value.length ? { type, field, value: value[0], detail } : { type, field, detail };
}

/** `a.b` + `c` → `a.b.c`; `a` + 3 → `a[3]`; keys that are not identifiers go in brackets. */
export function childPath(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  if (!/^[A-Za-z_$][\w$-]*$/.test(key)) return `${parent}[${key}]`;
  return parent ? `${parent}.${key}` : key;
}

// ---------------------------------------------------------------------------------------------
// Names (k8s.io/apimachinery validation, rewritten from their documented rules).

const dns1123LabelRe = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const dns1035LabelRe = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const qualifiedNamePartRe = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const labelValueRe = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** A DNS label (RFC 1123): at most 63 lowercase alphanumerics or '-', alphanumeric at both ends. */
export function isDns1123Label(s: string): boolean {
  return s.length <= 63 && dns1123LabelRe.test(s);
}

/** A DNS subdomain (RFC 1123): labels joined by dots, at most 253 characters. */
export function isDns1123Subdomain(s: string): boolean {
  return s.length > 0 && s.length <= 253 && s.split('.').every((l) => dns1123LabelRe.test(l));
}

/** A DNS-1035 label (Service names): like a DNS label but starting with a letter. */
export function isDns1035Label(s: string): boolean {
  return s.length <= 63 && dns1035LabelRe.test(s);
}

/** A qualified name (label and annotation keys, finalizers): `[prefix/]name`, name ≤ 63, prefix a DNS subdomain. */
export function isQualifiedName(s: string): boolean {
  const parts = s.split('/');
  if (parts.length > 2) return false;
  const name = parts[parts.length - 1];
  if (parts.length === 2 && !isDns1123Subdomain(parts[0])) return false;
  return name.length > 0 && name.length <= 63 && qualifiedNamePartRe.test(name);
}

/** A label value: empty, or ≤ 63 alphanumerics, '-', '_' or '.', alphanumeric at both ends. */
export function isLabelValue(s: string): boolean {
  return s.length <= 63 && labelValueRe.test(s);
}

/** A key of a Secret's or ConfigMap's data: alphanumerics, '-', '_' or '.', at most 253. */
export function isConfigMapKey(s: string): boolean {
  return s.length > 0 && s.length <= 253 && /^[-._a-zA-Z0-9]+$/.test(s) && s !== '.' && s !== '..';
}

/** A port name (IANA_SVC_NAME): ≤ 15 lowercase alphanumerics or '-', a letter somewhere, no '--', no '-' at the ends. */
export function isIanaSvcName(s: string): boolean {
  return s.length >= 1 && s.length <= 15 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(s) && /[a-z]/.test(s) && !s.includes('--');
}

export type NameRule = 'subdomain' | 'label' | 'dns1035' | 'path-segment';

function nameProblem(name: string, rule: NameRule): string | undefined {
  switch (rule) {
    case 'subdomain':
      return isDns1123Subdomain(name)
        ? undefined
        : "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
    case 'label':
      return isDns1123Label(name)
        ? undefined
        : "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character";
    case 'dns1035':
      return isDns1035Label(name)
        ? undefined
        : "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character";
    case 'path-segment':
      return name === '.' || name === '..' || /[/%]/.test(name) ? 'may not be "." or "..", nor contain "/" or "%"' : undefined;
  }
}

export interface ObjectMetaOptions {
  namespaced: boolean;
  /** How the kind's names are checked (Services: dns1035, Namespaces: label, most others: subdomain). */
  nameRule?: NameRule;
  /** On create a name may come from generateName; on update it must be there. Default true. */
  create?: boolean;
  path?: string;
}

const totalAnnotationSizeLimit = 256 * 1024;

/** The checks the API server gives every object's metadata. */
export function objectMetaErrors(meta: unknown, o: ObjectMetaOptions): FieldError[] {
  const path = o.path ?? 'metadata';
  const errs: FieldError[] = [];
  if (meta === undefined || meta === null) return [fieldError('FieldValueRequired', path, '')];
  if (typeof meta !== 'object' || Array.isArray(meta)) return [fieldError('FieldValueInvalid', path, 'must be an object', meta)];
  const m = meta as Record<string, unknown>;
  const rule = o.nameRule ?? 'subdomain';
  const name = m.name;
  const generateName = m.generateName;
  if (typeof name === 'string' && name !== '') {
    const p = nameProblem(name, rule);
    if (p) errs.push(fieldError('FieldValueInvalid', `${path}.name`, p, name));
  } else if (name !== undefined && typeof name !== 'string') {
    errs.push(fieldError('FieldValueInvalid', `${path}.name`, 'must be a string', name));
  } else if (o.create === false || typeof generateName !== 'string' || generateName === '') {
    errs.push(fieldError('FieldValueRequired', `${path}.name`, 'name or generateName is required'));
  } else {
    // generateName gets a random suffix of 5 characters: its prefix must be valid once a character is added.
    const p = nameProblem(`${generateName.replace(/-$/, '')}a`, rule);
    if (p) errs.push(fieldError('FieldValueInvalid', `${path}.generateName`, p, generateName));
  }
  if (o.namespaced) {
    if (typeof m.namespace !== 'string' || m.namespace === '') errs.push(fieldError('FieldValueRequired', `${path}.namespace`, ''));
    else if (!isDns1123Label(m.namespace)) errs.push(fieldError('FieldValueInvalid', `${path}.namespace`, nameProblem(m.namespace, 'label') ?? '', m.namespace));
  } else if (m.namespace !== undefined && m.namespace !== '') {
    errs.push(fieldError('FieldValueForbidden', `${path}.namespace`, 'not allowed on this type'));
  }
  errs.push(...stringMapErrors(m.labels, `${path}.labels`, true));
  errs.push(...stringMapErrors(m.annotations, `${path}.annotations`, false));
  if (m.annotations && typeof m.annotations === 'object') {
    let size = 0;
    for (const [k, v] of Object.entries(m.annotations)) size += k.length + (typeof v === 'string' ? v.length : 0);
    if (size > totalAnnotationSizeLimit) errs.push(fieldError('FieldValueTooLong', `${path}.annotations`, `may not be more than ${totalAnnotationSizeLimit} bytes`));
  }
  if (m.finalizers !== undefined) {
    if (!Array.isArray(m.finalizers)) errs.push(fieldError('FieldValueInvalid', `${path}.finalizers`, 'must be a list', m.finalizers));
    else
      m.finalizers.forEach((f, i) => {
        if (typeof f !== 'string' || !isQualifiedName(f)) errs.push(fieldError('FieldValueInvalid', `${path}.finalizers[${i}]`, 'must be a qualified name', f));
      });
  }
  if (m.ownerReferences !== undefined) {
    if (!Array.isArray(m.ownerReferences)) errs.push(fieldError('FieldValueInvalid', `${path}.ownerReferences`, 'must be a list', m.ownerReferences));
    else {
      let controllers = 0;
      m.ownerReferences.forEach((r: Record<string, unknown>, i) => {
        const rp = `${path}.ownerReferences[${i}]`;
        for (const k of ['apiVersion', 'kind', 'name', 'uid'])
          if (typeof r?.[k] !== 'string' || r[k] === '') errs.push(fieldError('FieldValueRequired', `${rp}.${k}`, `${k} must not be empty`));
        if (r?.controller === true) controllers++;
      });
      if (controllers > 1) errs.push(fieldError('FieldValueInvalid', `${path}.ownerReferences`, 'Only one reference can have Controller set to true', m.ownerReferences));
    }
  }
  return errs;
}

function stringMapErrors(v: unknown, path: string, labels: boolean): FieldError[] {
  if (v === undefined || v === null) return [];
  if (typeof v !== 'object' || Array.isArray(v)) return [fieldError('FieldValueInvalid', path, 'must be a map of strings', v)];
  const errs: FieldError[] = [];
  for (const [k, val] of Object.entries(v)) {
    if (!isQualifiedName(k)) errs.push(fieldError('FieldValueInvalid', path, "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (with an optional DNS subdomain prefix and '/')", k));
    if (typeof val !== 'string') errs.push(fieldError('FieldValueInvalid', `${path}[${k}]`, 'must be a string', val));
    else if (labels && !isLabelValue(val))
      errs.push(fieldError('FieldValueInvalid', `${path}[${k}]`, "a valid label must be an empty string or consist of at most 63 alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character", val));
  }
  return errs;
}
