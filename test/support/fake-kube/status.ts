/**
 * Status bodies as the API server writes them (kind Status, apiVersion v1, status Failure), and the
 * error type the fake's handlers throw to answer with one.
 */
import type { FieldError as ValidationError } from '../kube-fields.ts';
import { fieldErrorBody } from '../kube-fields.ts';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export interface StatusBody {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure' | 'Success';
  message: string;
  reason: string;
  details?: StatusDetails;
  code: number;
}

/** A failure answered with its Status body; thrown by handlers, caught by the router. */
export class KubeError extends Error {
  readonly status: StatusBody;
  readonly headers: Record<string, string>;
  constructor(code: number, reason: string, message: string, details?: StatusDetails, headers: Record<string, string> = {}) {
    super(message);
    this.status = statusBody(code, reason, message, details);
    this.headers = headers;
  }
  get code(): number {
    return this.status.code;
  }
}

export function statusBody(code: number, reason: string, message: string, details?: StatusDetails): StatusBody {
  // Field order as the real server writes it: ..., reason, details, code.
  const body = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason } as StatusBody;
  if (details !== undefined) body.details = details;
  body.code = code;
  return body;
}

/** The "group resource" as messages print it: `pods`, `leases.coordination.k8s.io`. */
export function qualifiedResource(group: string, resource: string): string {
  return group === '' ? resource : `${resource}.${group}`;
}

export function notFound(group: string, resource: string, name: string): KubeError {
  return new KubeError(404, 'NotFound', `${qualifiedResource(group, resource)} "${name}" not found`, detailsOf(group, resource, name));
}

export function alreadyExists(group: string, resource: string, name: string): KubeError {
  return new KubeError(409, 'AlreadyExists', `${qualifiedResource(group, resource)} "${name}" already exists`, detailsOf(group, resource, name));
}

export function conflict(group: string, resource: string, name: string, why: string): KubeError {
  return new KubeError(409, 'Conflict', `Operation cannot be fulfilled on ${qualifiedResource(group, resource)} "${name}": ${why}`, detailsOf(group, resource, name));
}

export const modifiedMessage = 'the object has been modified; please apply your changes to the latest version and try again';

/** One field error, as field.Error prints: `spec.x: Invalid value: 3: must be ...`. */
export interface FieldError {
  /** FieldValueInvalid, FieldValueRequired, FieldValueNotSupported, FieldValueTypeInvalid, FieldValueForbidden, FieldValueTooLong, FieldValueTooMany, FieldValueDuplicate */
  reason: string;
  field: string;
  /** The message without the field path: `Invalid value: 3: ...`. */
  message: string;
}

/** A field error of the shared validation code (kube-fields.ts, crd-schema/) as a Status cause. */
export function causeOf(e: ValidationError): FieldError {
  return { reason: e.type, field: e.field, message: fieldErrorBody(e) };
}

/** 422 Invalid: `Kind.group "name" is invalid: field: message` (several errors in brackets). */
export function invalid(group: string, kind: string, name: string, errors: FieldError[]): KubeError {
  const qualifiedKind = group === '' ? kind : `${kind}.${group}`;
  const parts = errors.map((e) => (e.field ? `${e.field}: ${e.message}` : e.message));
  const list = parts.length === 1 ? parts[0] : `[${parts.join(', ')}]`;
  const details: StatusDetails = { name, group, kind, causes: errors.map((e) => ({ reason: e.reason, message: e.message, field: e.field })) };
  if (group === '') delete details.group;
  return new KubeError(422, 'Invalid', `${qualifiedKind} "${name}" is invalid: ${list}`, details);
}

export function badRequest(message: string): KubeError {
  return new KubeError(400, 'BadRequest', message);
}

export function methodNotAllowed(): KubeError {
  return new KubeError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource', {});
}

export function pathNotFound(): KubeError {
  return new KubeError(404, 'NotFound', 'the server could not find the requested resource', {});
}

export function expired(message: string): KubeError {
  return new KubeError(410, 'Expired', message);
}

/** The reason the real server gives for a bare status code (used by fault injection). */
export function reasonFor(code: number): string {
  const reasons: Record<number, string> = {
    400: 'BadRequest', 401: 'Unauthorized', 403: 'Forbidden', 404: 'NotFound', 405: 'MethodNotAllowed', 406: 'NotAcceptable',
    409: 'Conflict', 410: 'Gone', 413: 'RequestEntityTooLarge', 415: 'UnsupportedMediaType', 422: 'Invalid',
    429: 'TooManyRequests', 500: 'InternalError', 503: 'ServiceUnavailable', 504: 'Timeout',
  };
  return reasons[code] ?? 'Unknown';
}

function detailsOf(group: string, resource: string, name: string): StatusDetails {
  return group === '' ? { name, kind: resource } : { name, group, kind: resource };
}

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function clone<T>(v: T): T {
  return structuredClone(v);
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => deepEqual(x, bb[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const ak = Object.keys(ao);
  if (ak.length !== Object.keys(bo).length) return false;
  return ak.every((k) => Object.hasOwn(bo, k) && deepEqual(ao[k], bo[k]));
}
