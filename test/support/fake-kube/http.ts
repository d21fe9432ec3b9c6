/**
 * The HTTP side: routes API paths to the operations (collections, objects, the status and scale
 * subresources, the legacy /watch/ prefix), discovery, bearer-token authentication, Status bodies for
 * failures, warnings, and the test hooks that sit in front of everything (request log, injected
 * failures, latency).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseYaml } from 'yaml';
import type { Api, WriteOptions } from './api.ts';
import { apiGroup, apiGroupList, apiVersions, resourceList, serverVersion } from './discovery.ts';
import { apiVersionOf } from './resources.ts';
import type { ResourceDef } from './resources.ts';
import { badRequest, isObject, KubeError, methodNotAllowed, pathNotFound, reasonFor, statusBody } from './status.ts';
import type { Json, JsonObject } from './status.ts';
import type { WatchHub } from './watch.ts';

export interface RequestRecord {
  method: string;
  /** The URL path, without the query. */
  path: string;
  query: string;
  contentType?: string;
  fieldManager?: string;
  watch: boolean;
  /** The status code answered (for watches: 200 once the stream starts). */
  status?: number;
}

export interface FailureSpec {
  /** GET, POST, PUT, PATCH, DELETE; any when absent. */
  method?: string;
  /** A RegExp tested against the path (with query), or a substring of the path; any when absent. */
  pathPattern?: string | RegExp;
  status: number;
  /** How many matching requests fail (default 1). */
  times?: number;
  reason?: string;
  message?: string;
}

export interface HttpOptions {
  token: string;
  hostPort(): string;
  watchTimeoutSeconds: number;
}

const maxBody = 3 * 1024 * 1024;

export class Router {
  private readonly api: Api;
  private readonly hub: WatchHub;
  private readonly opts: HttpOptions;
  readonly requests: RequestRecord[] = [];
  readonly failures: (FailureSpec & { left: number })[] = [];
  latencyMs = 0;

  constructor(api: Api, hub: WatchHub, opts: HttpOptions) {
    this.api = api;
    this.hub = hub;
    this.opts = opts;
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const method = (req.method ?? 'GET').toUpperCase();
    const record: RequestRecord = {
      method,
      path: url.pathname,
      query: url.search,
      contentType: req.headers['content-type'],
      fieldManager: url.searchParams.get('fieldManager') ?? undefined,
      watch: url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1' || url.pathname.includes('/watch/'),
    };
    this.requests.push(record);
    try {
      const raw = await readBody(req);
      if (this.latencyMs > 0) await new Promise((r) => setTimeout(r, this.latencyMs));
      const failure = this.failures.find((f) => f.left > 0 && (!f.method || f.method.toUpperCase() === method) && matchesPath(f.pathPattern, url.pathname + url.search, url.pathname));
      if (failure) {
        failure.left--;
        const reason = failure.reason ?? reasonFor(failure.status);
        throw new KubeError(failure.status, reason, failure.message ?? `injected failure: ${method} ${url.pathname}`, undefined, failure.status === 429 || failure.status === 503 ? { 'Retry-After': '1' } : {});
      }
      if (req.headers.authorization !== `Bearer ${this.opts.token}`) throw new KubeError(401, 'Unauthorized', 'Unauthorized');
      const out = this.route(req, res, method, url, raw, record);
      if (out) {
        record.status = out.code;
        send(res, out.code, out.body, out.warnings);
      } else {
        record.status = 200;
      }
    } catch (e) {
      const err = e instanceof KubeError ? e : new KubeError(500, 'InternalError', `Internal error occurred: ${(e as Error).message}`);
      if (!(e instanceof KubeError)) console.error('fake-kube internal error', e);
      record.status = err.code;
      if (!res.headersSent) send(res, err.code, err.status as unknown as JsonObject, [], err.headers);
      else res.end();
    }
  }

  private route(req: IncomingMessage, res: ServerResponse, method: string, url: URL, raw: string, record: RequestRecord): { code: number; body: Json; warnings?: string[] } | undefined {
    const segs = url.pathname.split('/').filter((s) => s !== '').map(decodeURIComponent);
    const q = url.searchParams;
    if (method === 'GET') {
      if (url.pathname === '/version' || url.pathname === '/version/') return { code: 200, body: serverVersion };
      if (['/healthz', '/livez', '/readyz'].includes(url.pathname)) return { code: 200, body: 'ok' };
      if (segs.length === 1 && segs[0] === 'api') return { code: 200, body: apiVersions(this.opts.hostPort()) };
      if (segs.length === 2 && segs[0] === 'api' && segs[1] === 'v1') return { code: 200, body: resourceList(this.api.registry, '', 'v1') as JsonObject };
      if (segs.length === 1 && segs[0] === 'apis') return { code: 200, body: apiGroupList(this.api.registry) };
      if (segs.length === 2 && segs[0] === 'apis') {
        const doc = apiGroup(this.api.registry, segs[1]);
        if (!doc) throw pathNotFound();
        return { code: 200, body: doc };
      }
      if (segs.length === 3 && segs[0] === 'apis') {
        const doc = resourceList(this.api.registry, segs[1], segs[2]);
        if (!doc) throw pathNotFound();
        return { code: 200, body: doc };
      }
    }
    let group: string;
    let version: string;
    let rest: string[];
    if (segs[0] === 'api' && segs[1] === 'v1') {
      group = '';
      version = 'v1';
      rest = segs.slice(2);
    } else if (segs[0] === 'apis' && segs.length >= 4) {
      group = segs[1];
      version = segs[2];
      rest = segs.slice(3);
    } else {
      throw pathNotFound();
    }
    let watch = q.get('watch') === 'true' || q.get('watch') === '1';
    if (rest[0] === 'watch') {
      watch = true;
      rest = rest.slice(1);
    }
    let namespace: string | undefined;
    if (rest[0] === 'namespaces' && rest.length >= 3 && this.api.registry.find(group, version, rest[2])?.namespaced) {
      namespace = rest[1];
      rest = rest.slice(2);
    }
    const [resource, name, subresource, ...extra] = rest;
    const def = resource ? this.api.registry.find(group, version, resource) : undefined;
    if (!def || extra.length > 0) throw pathNotFound();
    if (def.namespaced && namespace === undefined && name !== undefined) throw pathNotFound();
    if (subresource !== undefined && !(subresource === 'status' && def.statusSubresource) && !(subresource === 'scale' && def.scale) && !(subresource === 'finalize' && def.resource === 'namespaces')) throw pathNotFound();

    const opts = this.writeOptions(req, q);
    const result = (r: { code: number; body: JsonObject }): { code: number; body: Json; warnings: string[] } => ({ ...r, warnings: opts.warnings });

    if (name === undefined) {
      if (method === 'GET' && watch) {
        this.startWatch(req, res, def, namespace, q);
        record.watch = true;
        return undefined;
      }
      if (method === 'GET') return { code: 200, body: this.api.list(def, namespace, queryOf(q)) };
      if (method === 'POST') return result(this.api.create(def, namespace, decode(raw, req), opts));
      if (method === 'DELETE') return result(this.api.deleteCollection(def, namespace, queryOf(q), deleteOptions(raw, q), opts));
      throw methodNotAllowed();
    }
    if (watch && method === 'GET') {
      const one = new URLSearchParams(q);
      one.set('fieldSelector', [`metadata.name=${name}`, q.get('fieldSelector')].filter(Boolean).join(','));
      this.startWatch(req, res, def, namespace, one);
      return undefined;
    }
    const force = q.get('force') === 'true';
    if (subresource === 'scale') {
      if (method === 'GET') return { code: 200, body: this.api.getScale(def, namespace, name) };
      if (method === 'PUT') return result(this.api.writeScale(def, namespace, name, decode(raw, req), undefined, opts));
      if (method === 'PATCH') return result(this.api.writeScale(def, namespace, name, undefined, { raw, contentType: req.headers['content-type'] ?? '' }, opts));
      throw methodNotAllowed();
    }
    if (subresource === 'finalize') {
      if (method !== 'PUT') throw methodNotAllowed();
      const body = decode(raw, req);
      const current = this.api.get(def, undefined, name);
      current.spec = isObject(body) && isObject(body.spec) ? body.spec : {};
      if (isObject(body) && isObject(body.metadata)) (current.metadata as JsonObject).resourceVersion = body.metadata.resourceVersion ?? null;
      return result(this.api.update(def, undefined, name, current, undefined, opts));
    }
    switch (method) {
      case 'GET':
        return { code: 200, body: this.api.get(def, namespace, name) };
      case 'PUT':
        return result(this.api.update(def, namespace, name, decode(raw, req), subresource, opts));
      case 'PATCH':
        return result(this.api.patch(def, namespace, name, raw, req.headers['content-type'] ?? '', subresource, opts, force));
      case 'DELETE':
        if (subresource) throw methodNotAllowed();
        return result(this.api.delete(def, namespace, name, deleteOptions(raw, q), opts));
      default:
        throw methodNotAllowed();
    }
  }

  private writeOptions(req: IncomingMessage, q: URLSearchParams): WriteOptions {
    const explicit = q.get('fieldManager');
    if (explicit !== null && explicit.length > 128) throw badRequest('fieldManager: Too long: may not be more than 128 bytes');
    const agent = String(req.headers['user-agent'] ?? 'unknown').split('/')[0] || 'unknown';
    const dryRun = q.getAll('dryRun');
    if (dryRun.some((d) => d !== 'All')) throw badRequest(`dryRun: Unsupported value: "${dryRun.find((d) => d !== 'All')}": supported values: "All"`);
    return {
      manager: explicit ?? agent,
      explicitManager: explicit !== null && explicit !== '',
      dryRun: dryRun.includes('All'),
      fieldValidation: q.get('fieldValidation') ?? 'Warn',
      warnings: [],
    };
  }

  private startWatch(req: IncomingMessage, res: ServerResponse, def: ResourceDef, namespace: string | undefined, q: URLSearchParams): void {
    const lq = queryOf(q);
    const matches = this.api.matcher(def, namespace, lq);
    const rv = q.get('resourceVersion') ?? '';
    const sendInitial = q.get('sendInitialEvents');
    const bookmarks = q.get('allowWatchBookmarks') === 'true';
    if (sendInitial === 'true' && (!bookmarks || q.get('resourceVersionMatch') !== 'NotOlderThan')) {
      throw new KubeError(422, 'Invalid', 'ListOptions.meta.k8s.io "" is invalid: sendInitialEvents: Forbidden: sendInitialEvents requires setting allowWatchBookmarks=true and resourceVersionMatch=NotOlderThan', { group: 'meta.k8s.io', kind: 'ListOptions', causes: [{ reason: 'FieldValueForbidden', message: 'Forbidden: sendInitialEvents requires setting allowWatchBookmarks=true and resourceVersionMatch=NotOlderThan', field: 'sendInitialEvents' }] });
    }
    if (rv !== '' && !/^\d+$/.test(rv)) throw badRequest(`invalid resource version: ${rv}`);
    const fromState = rv === '' || rv === '0' || sendInitial === 'true';
    const initial = fromState ? this.api.store.list(def.skey).filter(matches) : undefined;
    const timeout = q.get('timeoutSeconds') !== null ? Number(q.get('timeoutSeconds')) : this.opts.watchTimeoutSeconds;
    this.hub.serve(req, res, {
      skey: def.skey,
      kind: def.kind,
      apiVersion: apiVersionOf(def),
      matches,
      present: (o) => this.api.present(def, o),
      initial,
      resourceVersion: fromState ? undefined : Number(rv),
      initialEventsEndBookmark: sendInitial === 'true',
      allowBookmarks: bookmarks,
      timeoutSeconds: Number.isFinite(timeout) && timeout > 0 ? timeout : this.opts.watchTimeoutSeconds,
    });
  }
}

function matchesPath(pattern: string | RegExp | undefined, withQuery: string, path: string): boolean {
  if (pattern === undefined) return true;
  if (typeof pattern === 'string') return path.includes(pattern);
  return pattern.test(withQuery);
}

function queryOf(q: URLSearchParams) {
  return {
    labelSelector: q.get('labelSelector'),
    fieldSelector: q.get('fieldSelector'),
    resourceVersion: q.get('resourceVersion'),
    resourceVersionMatch: q.get('resourceVersionMatch'),
    limit: q.get('limit'),
    continue: q.get('continue'),
  };
}

function decode(raw: string, req: IncomingMessage): Json {
  if (raw.trim() === '') throw badRequest('the request body is empty');
  const type = (req.headers['content-type'] ?? 'application/json').split(';')[0].trim();
  try {
    return (type.includes('yaml') ? parseYaml(raw) : JSON.parse(raw)) as Json;
  } catch (e) {
    throw badRequest(`the body of the request could not be decoded: ${(e as Error).message}`);
  }
}

function deleteOptions(raw: string, q: URLSearchParams): JsonObject {
  let options: JsonObject = {};
  if (raw.trim() !== '') {
    try {
      const parsed = JSON.parse(raw) as Json;
      if (isObject(parsed)) options = parsed;
    } catch {
      throw badRequest('the DeleteOptions in the request body could not be decoded');
    }
  }
  const policy = q.get('propagationPolicy');
  if (policy !== null) options.propagationPolicy = policy;
  if (q.get('orphanDependents') !== null) options.orphanDependents = q.get('orphanDependents') === 'true';
  if (q.get('gracePeriodSeconds') !== null) options.gracePeriodSeconds = Number(q.get('gracePeriodSeconds'));
  return options;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > maxBody) reject(new KubeError(413, 'RequestEntityTooLarge', 'Request entity too large: limit is 3145728'));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, code: number, body: Json, warnings: string[] = [], headers: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const h: Record<string, string | string[]> = { 'Content-Type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json', 'Content-Length': String(Buffer.byteLength(text)), ...headers };
  if (warnings.length > 0) h.Warning = warnings.map((w) => `299 - ${JSON.stringify(w)}`);
  res.writeHead(code, h);
  res.end(text);
}

export { statusBody };
