/**
 * The API operations on the object store, with the real registry's rules: create (generateName, uid,
 * creationTimestamp, generation 1, 409 AlreadyExists, namespace must exist and not be terminating),
 * get, list (selectors, resourceVersion / resourceVersionMatch, limit / continue), update (optimistic
 * concurrency, status subresource separation, generation on spec changes only, no-op writes not
 * stored), patch (merge, JSON, strategic, server-side apply), delete (finalizers, deletionTimestamp,
 * propagation policies, preconditions), the scale subresource, and custom resource validation.
 */
import { randomUUID, randomInt } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import { applyConfig, recordUpdate } from './managed-fields.ts';
import { jsonPatch, PatchError } from './json-patch.ts';
import { mergePatch } from './merge-patch.ts';
import { strategicMergePatch } from './strategic-merge.ts';
import { applyDefaults, compileSchema, pruneUnknownFields } from '../crd-schema/index.ts';
import { matchFields, matchLabels, parseFieldSelector, parseLabelSelector } from './selectors.ts';
import { apiVersionOf, get as getPath, set as setPath, validateName } from './resources.ts';
import type { HookContext, ResourceDef } from './resources.ts';
import type { Registry } from './registry.ts';
import type { Store } from './store.ts';
import {
  alreadyExists, badRequest, causeOf, clone, conflict, deepEqual, expired, invalid, isObject, KubeError, modifiedMessage, notFound,
} from './status.ts';
import type { FieldError, Json, JsonObject } from './status.ts';

export interface WriteOptions {
  /** metadata.managedFields manager (fieldManager, else from the User-Agent). */
  manager: string;
  /** fieldManager was given explicitly. */
  explicitManager: boolean;
  dryRun: boolean;
  /** fieldValidation: Ignore, Warn (default), Strict. */
  fieldValidation: string;
  warnings: string[];
}

export interface Result {
  code: number;
  body: JsonObject;
}

export interface ListQuery {
  labelSelector?: string | null;
  fieldSelector?: string | null;
  resourceVersion?: string | null;
  resourceVersionMatch?: string | null;
  limit?: string | null;
  continue?: string | null;
}

const generateChars = 'bcdfghjklmnpqrstvwxz2456789';

export function now(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}

function meta(obj: JsonObject): JsonObject {
  if (!isObject(obj.metadata)) obj.metadata = {};
  return obj.metadata as JsonObject;
}

function listOptionsInvalid(errors: FieldError[]): KubeError {
  return invalid('meta.k8s.io', 'ListOptions', '', errors);
}

export class Api {
  readonly store: Store;
  readonly registry: Registry;
  /** Called after every stored change that may need the controllers (GC, namespace, CRD cleanup). */
  onChange: () => void = () => {};
  /** CRD hooks, installed by crd.ts. */
  crdPrepare?: (obj: JsonObject, old: JsonObject | undefined) => FieldError[];

  constructor(store: Store, registry: Registry) {
    this.store = store;
    this.registry = registry;
  }

  private hookContext(): HookContext {
    return { list: (skey) => this.store.list(skey) };
  }

  // -------------------------------------------------------------------------------------------
  // Presentation and storage forms

  /** Storage form → served form for `def` (apiVersion, kind, conversion, read-time defaulting). */
  present(def: ResourceDef, stored: JsonObject): JsonObject {
    let obj = clone(stored);
    if (def.fromStorage) obj = def.fromStorage(obj);
    obj = { apiVersion: apiVersionOf(def), kind: def.kind, ...obj };
    obj.apiVersion = apiVersionOf(def);
    obj.kind = def.kind;
    if (def.schema) applyDefaults(obj, def.schema);
    return obj;
  }

  private toStorage(def: ResourceDef, obj: JsonObject): JsonObject {
    let out = clone(obj);
    if (def.toStorage) out = def.toStorage(out);
    out.apiVersion = def.storageVersion;
    out.kind = def.kind;
    return out;
  }

  // -------------------------------------------------------------------------------------------
  // Reads

  get(def: ResourceDef, namespace: string | undefined, name: string): JsonObject {
    const stored = this.store.get(def.skey, def.namespaced ? namespace : undefined, name);
    if (!stored) throw notFound(def.group, def.resource, name);
    return this.present(def, stored);
  }

  matcher(def: ResourceDef, namespace: string | undefined, q: ListQuery): (obj: JsonObject) => boolean {
    const labels = parseLabelSelector(q.labelSelector);
    const fields = parseFieldSelector(q.fieldSelector, (f) => f === 'metadata.name' || f === 'metadata.namespace' || f in def.fields);
    return (stored) => {
      const m = meta(stored);
      if (namespace !== undefined && def.namespaced && m.namespace !== namespace) return false;
      if (!matchLabels(labels, m.labels as Record<string, string> | undefined)) return false;
      const served = def.fromStorage ? def.fromStorage(stored) : stored;
      return matchFields(fields, (f) => {
        if (f === 'metadata.name') return m.name as string;
        if (f === 'metadata.namespace') return (m.namespace as string | undefined) ?? '';
        return def.fields[f](def.fromStorage ? stored : served);
      });
    };
  }

  list(def: ResourceDef, namespace: string | undefined, q: ListQuery): JsonObject {
    const matches = this.matcher(def, namespace, q);
    const rvText = q.resourceVersion ?? '';
    const match = q.resourceVersionMatch ?? '';
    if (match !== '' && rvText === '') throw listOptionsInvalid([{ reason: 'FieldValueForbidden', field: 'resourceVersionMatch', message: 'Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided' }]);
    if (match !== '' && match !== 'Exact' && match !== 'NotOlderThan') throw listOptionsInvalid([{ reason: 'FieldValueNotSupported', field: 'resourceVersionMatch', message: `Unsupported value: "${match}": supported values: "Exact", "NotOlderThan"` }]);
    if (match === 'Exact' && rvText === '0') throw listOptionsInvalid([{ reason: 'FieldValueForbidden', field: 'resourceVersionMatch', message: 'Forbidden: resourceVersionMatch "exact" is forbidden for resourceVersion "0"' }]);
    const current = this.store.currentRV();
    let at = current;
    let items: JsonObject[] | undefined;
    let start = '';
    if (q.continue) {
      let token: { rv: number; start: string };
      try {
        token = JSON.parse(Buffer.from(q.continue, 'base64url').toString()) as { rv: number; start: string };
      } catch {
        throw badRequest('continue key is not valid: invalid continue token');
      }
      items = this.store.listAt(def.skey, token.rv);
      if (!items) throw expired('The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.');
      at = token.rv;
      start = token.start;
    } else if (rvText !== '' && rvText !== '0') {
      const rv = Number(rvText);
      if (!Number.isInteger(rv) || rv < 0) throw badRequest(`invalid resource version: ${rvText}`);
      if (rv > current) {
        throw new KubeError(504, 'Timeout', `Too large resource version: ${rv}, current: ${current}`, { causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }], retryAfterSeconds: 1 });
      }
      const exact = match === 'Exact' || (match === '' && q.limit);
      if (exact) {
        items = this.store.listAt(def.skey, rv);
        if (!items) throw expired('The resourceVersion for the provided list is too old.');
        at = rv;
      }
    }
    items ??= this.store.list(def.skey);
    let selected = items.filter(matches);
    if (start) selected = selected.filter((o) => `${meta(o).namespace ?? ''}/${meta(o).name}` > start);
    const listMeta: JsonObject = { resourceVersion: String(at) };
    const limit = q.limit ? Number(q.limit) : 0;
    if (limit > 0 && selected.length > limit) {
      const rest = selected.length - limit;
      selected = selected.slice(0, limit);
      const last = meta(selected[selected.length - 1]);
      listMeta.continue = Buffer.from(JSON.stringify({ rv: at, start: `${last.namespace ?? ''}/${last.name}` })).toString('base64url');
      listMeta.remainingItemCount = rest;
    }
    return { kind: def.listKind, apiVersion: apiVersionOf(def), metadata: listMeta, items: selected.map((o) => this.present(def, o)) };
  }

  // -------------------------------------------------------------------------------------------
  // Writes

  private checkTypeMeta(def: ResourceDef, body: JsonObject): void {
    const expectedApiVersion = apiVersionOf(def);
    if (body.apiVersion !== undefined && body.apiVersion !== expectedApiVersion) {
      throw badRequest(`the API version in the data (${String(body.apiVersion)}) does not match the expected API version (${expectedApiVersion})`);
    }
    if (body.kind !== undefined && body.kind !== def.kind) {
      throw badRequest(`the kind in the data (${String(body.kind)}) does not match the expected kind (${def.kind})`);
    }
  }

  private checkNamespace(def: ResourceDef, body: JsonObject, namespace: string | undefined): void {
    const m = meta(body);
    if (def.namespaced) {
      if (m.namespace !== undefined && m.namespace !== '' && m.namespace !== namespace) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      m.namespace = namespace ?? null;
    } else {
      delete m.namespace;
    }
  }

  private namespaceMustAccept(def: ResourceDef, namespace: string | undefined, name: string): void {
    if (!def.namespaced || namespace === undefined) return;
    const ns = this.store.get('/namespaces', undefined, namespace);
    if (!ns) throw notFound('', 'namespaces', namespace);
    if (meta(ns).deletionTimestamp) {
      throw new KubeError(403, 'Forbidden', `${def.group === '' ? def.resource : `${def.resource}.${def.group}`} "${name}" is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`,
        { name, group: def.group || undefined, kind: def.resource, causes: [{ reason: 'NamespaceTerminating', message: `namespace ${namespace} is being terminated`, field: 'metadata.namespace' }] });
    }
  }

  /** Pruning, defaulting and validation; throws 422 Invalid (or 400 with fieldValidation=Strict). */
  private admit(def: ResourceDef, obj: JsonObject, old: JsonObject | undefined, opts: WriteOptions): void {
    const name = String(meta(obj).name ?? '');
    const errors: FieldError[] = [];
    if (def.schema) {
      const pruned = pruneUnknownFields(obj, def.schema);
      if (pruned.length > 0) {
        if (opts.fieldValidation === 'Strict') throw badRequest(`strict decoding error: ${pruned.map((p) => `unknown field "${p}"`).join(', ')}`);
        if (opts.fieldValidation !== 'Ignore') for (const p of pruned) opts.warnings.push(`unknown field "${p}"`);
      }
      applyDefaults(obj, def.schema);
      errors.push(...compileSchema(def.schema).validate(obj, old && this.present(def, old)).map(causeOf));
    } else if (def.defaults) {
      def.defaults(obj, this.hookContext(), old && this.present(def, old));
    }
    if (def.validate) errors.push(...def.validate(obj, old && this.present(def, old), this.hookContext()));
    if (this.crdPrepare && def.group === 'apiextensions.k8s.io' && def.resource === 'customresourcedefinitions') errors.push(...this.crdPrepare(obj, old));
    const m = meta(obj);
    if (old && isObject(old.metadata) && old.metadata.deletionTimestamp) {
      const before = (old.metadata.finalizers as string[] | undefined) ?? [];
      const added = ((m.finalizers as string[] | undefined) ?? []).filter((f) => !before.includes(f));
      if (added.length > 0) errors.push({ reason: 'FieldValueForbidden', field: 'metadata.finalizers', message: `Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{${added.map((f) => JSON.stringify(f)).join(', ')}}` });
    }
    if (errors.length > 0) throw invalid(def.group, def.kind, name, errors);
  }

  create(def: ResourceDef, namespace: string | undefined, body: Json, opts: WriteOptions): Result {
    if (!isObject(body)) throw badRequest('the body of the request must be a JSON object');
    const obj = clone(body);
    this.checkTypeMeta(def, obj);
    obj.apiVersion = apiVersionOf(def);
    obj.kind = def.kind;
    this.checkNamespace(def, obj, namespace);
    const m = meta(obj);
    if (!m.name && typeof m.generateName === 'string' && m.generateName !== '') {
      let suffix = '';
      for (let i = 0; i < 5; i++) suffix += generateChars[randomInt(generateChars.length)];
      m.name = m.generateName + suffix;
    }
    const name = typeof m.name === 'string' ? m.name : '';
    if (name === '') throw invalid(def.group, def.kind, '', [{ reason: 'FieldValueRequired', field: 'metadata.name', message: 'Required value: name or generateName is required' }]);
    const nameErrors = validateName(def, name);
    if (nameErrors.length > 0) throw invalid(def.group, def.kind, name, nameErrors);
    if (m.resourceVersion !== undefined && m.resourceVersion !== '') throw new KubeError(500, 'InternalError', 'resourceVersion should not be set on objects to be created', { causes: [{ message: 'resourceVersion should not be set on objects to be created' }] });
    this.namespaceMustAccept(def, namespace, name);
    return this.finishCreate(def, obj, opts, false);
  }

  /** The second half of a create (also used by apply on an absent object). */
  private finishCreate(def: ResourceDef, obj: JsonObject, opts: WriteOptions, managedDone: boolean): Result {
    const m = meta(obj);
    const name = String(m.name);
    m.uid = randomUUID();
    m.creationTimestamp = now();
    delete m.deletionTimestamp;
    delete m.deletionGracePeriodSeconds;
    delete m.selfLink;
    if (def.generation) m.generation = 1;
    else delete m.generation;
    if (def.statusSubresource && def.crd) delete obj.status;
    this.admit(def, obj, undefined, opts);
    const namespace = def.namespaced ? (m.namespace as string) : undefined;
    if (this.store.get(def.skey, namespace, name)) throw alreadyExists(def.group, def.resource, name);
    const withFields = managedDone ? obj : recordUpdate(undefined, obj, { manager: opts.manager, apiVersion: apiVersionOf(def), now: now(), info: def.typeInfo });
    const stored = this.toStorage(def, withFields);
    if (opts.dryRun) {
      meta(stored).resourceVersion = String(this.store.currentRV());
      return { code: 201, body: this.present(def, stored) };
    }
    const written = this.store.write(def.skey, stored);
    this.onChange();
    return { code: 201, body: this.present(def, written) };
  }

  /** PUT on the object or its status subresource. */
  update(def: ResourceDef, namespace: string | undefined, name: string, body: Json, subresource: string | undefined, opts: WriteOptions): Result {
    if (!isObject(body)) throw badRequest('the body of the request must be a JSON object');
    const obj = clone(body);
    this.checkTypeMeta(def, obj);
    const m = meta(obj);
    if (m.name !== undefined && m.name !== name) throw badRequest(`the name of the object (${String(m.name)}) does not match the name on the URL (${name})`);
    m.name = name;
    this.checkNamespace(def, obj, namespace);
    const stored = this.store.get(def.skey, def.namespaced ? namespace : undefined, name);
    if (!stored) throw notFound(def.group, def.resource, name);
    const rv = m.resourceVersion;
    if (rv === undefined || rv === '') {
      if (!def.unconditionalUpdate) throw invalid(def.group, def.kind, name, [{ reason: 'FieldValueInvalid', field: 'metadata.resourceVersion', message: 'Invalid value: 0x0: must be specified for an update' }]);
    } else if (rv !== meta(stored).resourceVersion) {
      throw conflict(def.group, def.resource, name, modifiedMessage);
    }
    return this.finishUpdate(def, stored, obj, subresource, opts, false);
  }

  /**
   * Builds the new object from the candidate by the endpoint's rules, admits it, records field
   * ownership and stores it (not when nothing changed).
   */
  private finishUpdate(def: ResourceDef, stored: JsonObject, candidate: JsonObject, subresource: string | undefined, opts: WriteOptions, managedDone: boolean): Result {
    const old = this.present(def, stored);
    const oldMeta = meta(old);
    let next: JsonObject;
    if (subresource === 'status') {
      // A status write changes status only: everything else is taken from the stored object.
      next = clone(old);
      if (candidate.status !== undefined) next.status = clone(candidate.status);
      else delete next.status;
      if (managedDone) meta(next).managedFields = meta(candidate).managedFields ?? null;
    } else {
      next = clone(candidate);
      const m = meta(next);
      for (const k of ['uid', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds']) {
        if (oldMeta[k] !== undefined) m[k] = oldMeta[k];
        else delete m[k];
      }
      if (!managedDone) m.managedFields = oldMeta.managedFields ?? null;
      if (m.managedFields === null) delete m.managedFields;
      if (def.statusSubresource) {
        if (old.status !== undefined) next.status = clone(old.status);
        else delete next.status;
      }
    }
    const m = meta(next);
    m.resourceVersion = oldMeta.resourceVersion ?? null;
    if (m.managedFields === null) delete m.managedFields;
    delete m.selfLink;
    this.admit(def, next, stored, opts);
    if (def.generation) {
      const strip = (o: JsonObject): JsonObject => {
        const c = { ...o };
        delete c.metadata;
        delete c.apiVersion;
        delete c.kind;
        if (def.statusSubresource) delete c.status;
        return c;
      };
      const gen = typeof oldMeta.generation === 'number' ? oldMeta.generation : 1;
      m.generation = subresource === 'status' || deepEqual(strip(next), strip(old)) ? gen : gen + 1;
    }
    const withFields = managedDone ? next : recordUpdate(old, next, { manager: opts.manager, apiVersion: apiVersionOf(def), subresource, now: now(), info: def.typeInfo });
    const same = (a: JsonObject): JsonObject => {
      const c = clone(a);
      delete meta(c).managedFields;
      return c;
    };
    if (deepEqual(same(withFields), same(old))) return { code: 200, body: old };
    const toStore = this.toStorage(def, withFields);
    if (opts.dryRun) return { code: 200, body: this.present(def, toStore) };
    const finalizers = (meta(toStore).finalizers as string[] | undefined) ?? [];
    if (meta(toStore).deletionTimestamp && finalizers.length === 0) {
      const gone = this.store.remove(def.skey, meta(toStore).namespace as string | undefined, String(meta(toStore).name));
      this.onChange();
      return { code: 200, body: this.present(def, { ...toStore, metadata: { ...meta(toStore), resourceVersion: gone ? meta(gone).resourceVersion ?? null : null } }) };
    }
    const written = this.store.write(def.skey, toStore);
    this.onChange();
    return { code: 200, body: this.present(def, written) };
  }

  patch(def: ResourceDef, namespace: string | undefined, name: string, raw: string, contentType: string, subresource: string | undefined, opts: WriteOptions, force: boolean): Result {
    const type = contentType.split(';')[0].trim().toLowerCase();
    const accepted = ['application/json-patch+json', 'application/merge-patch+json', 'application/apply-patch+yaml'];
    if (def.typeInfo.strategic) accepted.splice(2, 0, 'application/strategic-merge-patch+json');
    if (!accepted.includes(type)) {
      throw new KubeError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`);
    }
    if (type === 'application/apply-patch+yaml') return this.apply(def, namespace, name, raw, subresource, opts, force);
    if (force) throw invalid('meta.k8s.io', 'PatchOptions', '', [{ reason: 'FieldValueForbidden', field: 'force', message: 'Forbidden: may not be specified for non-apply patch' }]);
    let patch: Json;
    try {
      patch = JSON.parse(raw) as Json;
    } catch (e) {
      throw badRequest(`error decoding patch: ${(e as Error).message}`);
    }
    const stored = this.store.get(def.skey, def.namespaced ? namespace : undefined, name);
    if (!stored) throw notFound(def.group, def.resource, name);
    const current = this.present(def, stored);
    let patched: Json | undefined;
    try {
      if (type === 'application/json-patch+json') patched = jsonPatch(current, patch);
      else if (type === 'application/merge-patch+json') patched = mergePatch(current, patch);
      else patched = strategicMergePatch(current, patch, def.typeInfo);
    } catch (e) {
      // As the real handler: a patch it cannot read is 400 BadRequest; one that does not apply (a
      // failed test, a missing path) is apimachinery's generic 422 (NewGenericServerResponse with no
      // resource and isUnexpectedResponse=false): a fixed message, empty details, and the patch
      // library's own words dropped.
      if (e instanceof PatchError && e.malformed) throw badRequest(e.message);
      if (e instanceof PatchError) throw new KubeError(422, 'Invalid', 'the server rejected our request due to an error in our request', {});
      throw e;
    }
    if (!isObject(patched)) throw badRequest('the patched object is not a JSON object');
    this.checkTypeMeta(def, patched);
    const pm = meta(patched);
    if (pm.name !== name) throw badRequest(`the name of the object (${String(pm.name)}) does not match the name on the URL (${name})`);
    if (pm.resourceVersion !== undefined && pm.resourceVersion !== null && pm.resourceVersion !== meta(current).resourceVersion) {
      throw conflict(def.group, def.resource, name, modifiedMessage);
    }
    if (def.namespaced && pm.namespace !== namespace) throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    return this.finishUpdate(def, stored, patched, subresource, opts, false);
  }

  apply(def: ResourceDef, namespace: string | undefined, name: string, raw: string, subresource: string | undefined, opts: WriteOptions, force: boolean): Result {
    if (!opts.explicitManager) {
      throw invalid('meta.k8s.io', 'PatchOptions', '', [{ reason: 'FieldValueRequired', field: 'fieldManager', message: 'Required value: is required for apply patch' }]);
    }
    let applied: unknown;
    try {
      applied = parseYaml(raw);
    } catch (e) {
      throw badRequest(`error decoding YAML: ${(e as Error).message}`);
    }
    if (!isObject(applied)) throw badRequest('the applied configuration must be an object');
    const config = clone(applied);
    if (!config.apiVersion || !config.kind) throw badRequest('apiVersion and kind must be set in the applied configuration');
    this.checkTypeMeta(def, config);
    const m = meta(config);
    if (m.name !== undefined && m.name !== name) throw badRequest(`the name of the object (${String(m.name)}) does not match the name on the URL (${name})`);
    m.name = name;
    this.checkNamespace(def, config, namespace);
    if (subresource === 'status') {
      for (const k of Object.keys(config)) if (!['apiVersion', 'kind', 'metadata', 'status'].includes(k)) delete config[k];
      for (const k of Object.keys(m)) if (!['name', 'namespace'].includes(k)) delete m[k];
    } else if (def.statusSubresource) {
      delete config.status;
    }
    if (def.schema) {
      const pruned = pruneUnknownFields(config, def.schema);
      if (pruned.length > 0 && opts.fieldValidation === 'Strict') throw badRequest(`strict decoding error: ${pruned.map((p) => `unknown field "${p}"`).join(', ')}`);
    }
    const stored = this.store.get(def.skey, def.namespaced ? namespace : undefined, name);
    const names = { group: def.group, resource: def.resource, name };
    const ctx = { manager: opts.manager, apiVersion: apiVersionOf(def), subresource, now: now(), info: def.typeInfo, force };
    if (!stored) {
      if (subresource) throw notFound(def.group, def.resource, name);
      this.namespaceMustAccept(def, namespace, name);
      const merged = applyConfig(undefined, config, ctx, names);
      merged.apiVersion = apiVersionOf(def);
      merged.kind = def.kind;
      const r = this.finishCreate(def, merged, opts, true);
      return r;
    }
    const live = this.present(def, stored);
    const merged = applyConfig(live, config, ctx, names);
    return this.finishUpdate(def, stored, merged, subresource, opts, true);
  }

  // -------------------------------------------------------------------------------------------
  // Delete

  delete(def: ResourceDef, namespace: string | undefined, name: string, options: JsonObject, opts: Pick<WriteOptions, 'dryRun'>): Result {
    const stored = this.store.get(def.skey, def.namespaced ? namespace : undefined, name);
    if (!stored) throw notFound(def.group, def.resource, name);
    const m = meta(stored);
    const pre = isObject(options.preconditions) ? options.preconditions : {};
    if (typeof pre.uid === 'string' && pre.uid !== m.uid) {
      throw conflict(def.group, def.resource, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${String(m.uid)}`);
    }
    if (typeof pre.resourceVersion === 'string' && pre.resourceVersion !== m.resourceVersion) {
      throw conflict(def.group, def.resource, name, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in meta: ${String(m.resourceVersion)}`);
    }
    let policy = typeof options.propagationPolicy === 'string' ? options.propagationPolicy : undefined;
    if (policy === undefined && options.orphanDependents === true) policy = 'Orphan';
    if (policy !== undefined && !['Foreground', 'Background', 'Orphan'].includes(policy)) {
      throw invalid('meta.k8s.io', 'DeleteOptions', '', [{ reason: 'FieldValueNotSupported', field: 'propagationPolicy', message: `Unsupported value: "${policy}": supported values: "Foreground", "Background", "Orphan", "nil"` }]);
    }
    const finalizers = [...((m.finalizers as string[] | undefined) ?? [])];
    const deleting = Boolean(m.deletionTimestamp);
    if (policy === 'Foreground' && !finalizers.includes('foregroundDeletion')) {
      finalizers.push('foregroundDeletion');
      const i = finalizers.indexOf('orphan');
      if (i >= 0) finalizers.splice(i, 1);
    } else if (policy === 'Orphan' && !finalizers.includes('orphan')) {
      finalizers.push('orphan');
      const i = finalizers.indexOf('foregroundDeletion');
      if (i >= 0) finalizers.splice(i, 1);
    } else if (policy === 'Background') {
      for (const f of ['orphan', 'foregroundDeletion']) {
        const i = finalizers.indexOf(f);
        if (i >= 0 && !deleting) finalizers.splice(i, 1);
      }
    }
    const isNamespace = def.group === '' && def.resource === 'namespaces';
    if (finalizers.length > 0 || isNamespace) {
      const next = clone(stored);
      const nm = meta(next);
      if (finalizers.length > 0) nm.finalizers = finalizers;
      if (!deleting) {
        nm.deletionTimestamp = now();
        nm.deletionGracePeriodSeconds = 0;
        if (typeof nm.generation === 'number' && nm.generation > 0) nm.generation += 1;
        if (isNamespace) (next.status as JsonObject).phase = 'Terminating';
      }
      // The real handler answers 200 with the object still there, 202 only when the request set
      // orphanDependents=false (kept that way for old clients).
      const code = options.orphanDependents === false ? 202 : 200;
      if (opts.dryRun) return { code, body: this.present(def, next) };
      const written = deepEqual(next, stored) ? stored : this.store.write(def.skey, next);
      this.onChange();
      return { code, body: this.present(def, written) };
    }
    if (opts.dryRun) return { code: 200, body: this.present(def, stored) };
    const gone = this.store.remove(def.skey, m.namespace as string | undefined, name) as JsonObject;
    this.onChange();
    if (def.returnDeletedObject) return { code: 200, body: this.present(def, gone) };
    const details: JsonObject = { name, kind: def.resource, uid: m.uid ?? null };
    if (def.group !== '') details.group = def.group;
    return { code: 200, body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details } };
  }

  deleteCollection(def: ResourceDef, namespace: string | undefined, q: ListQuery, options: JsonObject, opts: Pick<WriteOptions, 'dryRun'>): Result {
    const list = this.list(def, namespace, { labelSelector: q.labelSelector, fieldSelector: q.fieldSelector });
    const items: Json[] = [];
    for (const item of list.items as JsonObject[]) {
      const im = meta(item);
      try {
        items.push(this.delete(def, im.namespace as string | undefined, String(im.name), options, opts).body);
      } catch (e) {
        if (!(e instanceof KubeError && e.code === 404)) throw e;
      }
    }
    return { code: 200, body: { kind: def.listKind, apiVersion: apiVersionOf(def), metadata: { resourceVersion: String(this.store.currentRV()) }, items } };
  }

  // -------------------------------------------------------------------------------------------
  // Scale subresource (autoscaling/v1 Scale)

  getScale(def: ResourceDef, namespace: string | undefined, name: string): JsonObject {
    const obj = this.get(def, namespace, name);
    const scale = def.scale as NonNullable<ResourceDef['scale']>;
    const m = meta(obj);
    const status: JsonObject = { replicas: (getPath(obj, scale.statusReplicasPath) as number | undefined) ?? 0 };
    if (scale.labelSelectorPath) {
      const sel = getPath(obj, scale.labelSelectorPath);
      if (typeof sel === 'string') status.selector = sel;
    }
    const sm: JsonObject = { name: m.name ?? null, uid: m.uid ?? null, resourceVersion: m.resourceVersion ?? null, creationTimestamp: m.creationTimestamp ?? null };
    if (m.namespace) sm.namespace = m.namespace;
    return { kind: 'Scale', apiVersion: 'autoscaling/v1', metadata: sm, spec: { replicas: (getPath(obj, scale.specReplicasPath) as number | undefined) ?? 0 }, status };
  }

  /** PUT (body = Scale) or PATCH (raw patch of the Scale) on /scale. */
  writeScale(def: ResourceDef, namespace: string | undefined, name: string, body: Json | undefined, patch: { raw: string; contentType: string } | undefined, opts: WriteOptions): Result {
    let scale = this.getScale(def, namespace, name);
    if (patch) {
      const type = patch.contentType.split(';')[0].trim();
      let p: Json;
      try {
        p = JSON.parse(patch.raw) as Json;
      } catch (e) {
        throw badRequest(`error decoding patch: ${(e as Error).message}`);
      }
      try {
        if (type === 'application/json-patch+json') scale = jsonPatch(scale, p) as JsonObject;
        else if (type === 'application/merge-patch+json') scale = mergePatch(scale, p) as JsonObject;
        else throw new KubeError(415, 'UnsupportedMediaType', 'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json');
      } catch (e) {
        if (e instanceof PatchError && e.malformed) throw badRequest(e.message);
        if (e instanceof PatchError) throw new KubeError(422, 'Invalid', 'the server rejected our request due to an error in our request', {});
        throw e;
      }
    } else {
      if (!isObject(body)) throw badRequest('the body of the request must be a Scale object');
      const rv = isObject(body.metadata) ? body.metadata.resourceVersion : undefined;
      if (typeof rv === 'string' && rv !== '' && rv !== meta(scale).resourceVersion) throw conflict(def.group, def.resource, name, modifiedMessage);
      scale = body;
    }
    const replicas = getPath(scale, 'spec.replicas');
    if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
      throw invalid('autoscaling', 'Scale', name, [{ reason: 'FieldValueInvalid', field: 'spec.replicas', message: `Invalid value: ${JSON.stringify(replicas ?? null)}: must be greater than or equal to 0` }]);
    }
    const stored = this.store.get(def.skey, def.namespaced ? namespace : undefined, name);
    if (!stored) throw notFound(def.group, def.resource, name);
    const candidate = this.present(def, stored);
    setPath(candidate, (def.scale as NonNullable<ResourceDef['scale']>).specReplicasPath, replicas);
    this.finishUpdate(def, stored, candidate, 'scale', opts, false);
    return { code: 200, body: this.getScale(def, namespace, name) };
  }

  // -------------------------------------------------------------------------------------------
  // For controllers and tests: writes without admission

  /** Stores an object as given (storage form); deletes it when it is being deleted without finalizers. */
  systemWrite(def: ResourceDef, obj: JsonObject): JsonObject | undefined {
    const m = meta(obj);
    const finalizers = (m.finalizers as string[] | undefined) ?? [];
    if (m.deletionTimestamp && finalizers.length === 0) {
      const gone = this.store.remove(def.skey, m.namespace as string | undefined, String(m.name));
      this.onChange();
      return gone;
    }
    const written = this.store.write(def.skey, obj);
    this.onChange();
    return written;
  }
}
