/**
 * A small REST client for the Kubernetes API: the requests a controller makes (get, list, create,
 * delete, patches, server-side apply, status and scale subresources, watch), authenticated by the
 * kubeconfig (`KubeConfig.applyToHTTPSOptions` covers tokens, exec plugins, client certificates and
 * in-cluster service accounts), typed by a resource descriptor. Failures are `KubeError`s carrying
 * the HTTP code and the Status reason.
 */
import http from 'node:http';
import https from 'node:https';
import { createInterface } from 'node:readline';
import type { KubeConfig } from '@kubernetes/client-node';
import type { GbCamera, GbStreamServer } from '../api/types.ts';
import { group as gbGroup, version as gbVersion } from '../api/types.ts';
import type { KubeEvent, KubeList, KubeObject, Lease, Node, Pod, Scale, Secret, Service, Status, WatchEvent } from './types.ts';

/** The one field manager of everything the operator applies. */
export const fieldManager = 'gbcast-operator';

/**
 * A kind of object and where it lives in the API. `T` is only a type tag: the client's methods
 * return `T` for the descriptor they are given.
 */
export interface ResourceDescriptor<T extends KubeObject = KubeObject> {
  /** '' for the core group. */
  readonly group: string;
  readonly version: string;
  readonly plural: string;
  readonly namespaced: boolean;
  readonly kind: string;
  /** Never set: carries `T`. */
  readonly __type?: T;
}

function resource<T extends KubeObject>(group: string, version: string, plural: string, kind: string, namespaced = true): ResourceDescriptor<T> {
  return { group, version, plural, kind, namespaced };
}

export const resources = {
  pods: resource<Pod>('', 'v1', 'pods', 'Pod'),
  services: resource<Service>('', 'v1', 'services', 'Service'),
  nodes: resource<Node>('', 'v1', 'nodes', 'Node', false),
  secrets: resource<Secret>('', 'v1', 'secrets', 'Secret'),
  leases: resource<Lease>('coordination.k8s.io', 'v1', 'leases', 'Lease'),
  events: resource<KubeEvent>('events.k8s.io', 'v1', 'events', 'Event'),
  gbStreamServers: resource<GbStreamServer & KubeObject>(gbGroup, gbVersion, 'gbstreamservers', 'GbStreamServer'),
  gbCameras: resource<GbCamera & KubeObject>(gbGroup, gbVersion, 'gbcameras', 'GbCamera'),
} as const;

/** `apiVersion` of a resource's objects (`v1`, `coordination.k8s.io/v1`). */
export function apiVersionOf(res: ResourceDescriptor<KubeObject>): string {
  return res.group ? `${res.group}/${res.version}` : res.version;
}

/** An error answer of the API server (or a transport failure, code 0). */
export class KubeError extends Error {
  /** HTTP status; 0 when no answer came (connection refused, reset, timeout). */
  readonly code: number;
  /** The Status reason: NotFound, AlreadyExists, Conflict, Expired, Gone, Invalid, Forbidden... */
  readonly reason: string;
  readonly status: Status | undefined;

  constructor(code: number, reason: string, message: string, status?: Status, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KubeError';
    this.code = code;
    this.reason = reason;
    this.status = status;
  }

  static fromStatus(status: Status, httpCode?: number): KubeError {
    const code = status.code ?? httpCode ?? 0;
    return new KubeError(code, status.reason ?? reasonOfCode(code), status.message ?? `HTTP ${code}`, status);
  }
}

function reasonOfCode(code: number): string {
  return (
    {
      400: 'BadRequest',
      401: 'Unauthorized',
      403: 'Forbidden',
      404: 'NotFound',
      405: 'MethodNotAllowed',
      409: 'Conflict',
      410: 'Expired',
      415: 'UnsupportedMediaType',
      422: 'Invalid',
      429: 'TooManyRequests',
      500: 'InternalError',
      503: 'ServiceUnavailable',
      504: 'Timeout',
    }[code] ?? (code ? `HTTP${code}` : 'Transport')
  );
}

export function isKubeError(err: unknown, code?: number): err is KubeError {
  return err instanceof KubeError && (code === undefined || err.code === code);
}

export const isNotFound = (err: unknown): boolean => isKubeError(err, 404);
export const isAlreadyExists = (err: unknown): boolean => isKubeError(err, 409) && err.reason === 'AlreadyExists';
/** 410: a watch's or list's resourceVersion (or a continue token) is older than the server keeps. */
export const isGone = (err: unknown): boolean => isKubeError(err, 410);
/**
 * The object changed under us: 409 Conflict (a stale resourceVersion, or an apply conflict with
 * another manager), or a JSON patch that no longer applies, i.e. its `test` operation failed. The
 * API server answers the latter with a bare 422 "the server rejected our request due to an error in
 * our request" (no details: the patch library's words are dropped), unlike a validation error's 422
 * ("... is invalid: ...", with causes). Our JSON patches only fail to apply when a test fails.
 */
export function isConflict(err: unknown): boolean {
  if (!(err instanceof KubeError)) return false;
  if (err.code === 409) return err.reason !== 'AlreadyExists';
  if (err.code !== 422) return false;
  const patchFailed = /the server rejected our request due to an error in our request|test(ing)? .*fail/i;
  return patchFailed.test(err.message) || (err.status?.details?.causes ?? []).some((c) => patchFailed.test(c.message ?? ''));
}

export interface RequestOptions {
  signal?: AbortSignal;
}

export interface ListOptions extends RequestOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Page size; every page is fetched (a 410 on a continue token restarts the list). */
  limit?: number;
}

export interface WriteOptions extends RequestOptions {
  /** Overrides the object's own namespace (create) or names it (patches, delete). */
  namespace?: string;
  dryRun?: boolean;
  fieldManager?: string;
}

export interface ApplyOptions extends WriteOptions {
  /** Take fields other managers own (conflicts are errors otherwise). The operator forces. */
  force?: boolean;
}

export interface DeleteOptions extends WriteOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: 'Foreground' | 'Background' | 'Orphan';
  preconditions?: { uid?: string; resourceVersion?: string };
}

export interface JsonPatchOp {
  op: 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test';
  path: string;
  value?: unknown;
  from?: string;
}

export interface WatchOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Start after this version ('' or undefined: the server's choice, usually "now" with synthetic ADDs). */
  resourceVersion?: string;
  allowWatchBookmarks?: boolean;
  /** The server ends the watch after this long (a fresh watch is then started by the caller). */
  timeoutSeconds?: number;
}

export interface WatchHandle {
  /** Ends the watch; `done` then resolves. */
  abort(): void;
  /**
   * Resolves when the server ends the stream or `abort()` is called; rejects with a KubeError when
   * the watch cannot start (e.g. 410 for a too old resourceVersion) or the connection fails.
   */
  readonly done: Promise<void>;
}

export interface KubeClientOptions {
  /** Every request but watches fails after this long (default 30 s). */
  requestTimeoutMs?: number;
  userAgent?: string;
}

interface RawResponse {
  statusCode: number;
  body: string;
}

type Query = Record<string, string | number | boolean | undefined>;

export class KubeClient {
  readonly server: string;
  readonly #kc: KubeConfig;
  readonly #requestTimeoutMs: number;
  readonly #userAgent: string;
  readonly #plainAgent = new http.Agent({ keepAlive: true });
  /** Keep-alive TLS agents by their TLS settings (client-node's own agents close every connection). */
  readonly #tlsAgents = new Map<string, https.Agent>();

  static fromKubeConfig(kc: KubeConfig, options: KubeClientOptions = {}): KubeClient {
    return new KubeClient(kc, options);
  }

  constructor(kc: KubeConfig, options: KubeClientOptions = {}) {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('the kubeconfig has no current cluster');
    this.server = cluster.server.replace(/\/+$/, '');
    this.#kc = kc;
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.#userAgent = options.userAgent ?? 'gbcast-operator';
  }

  /** The REST path of a collection, an object or one of its subresources. */
  path(res: ResourceDescriptor<KubeObject>, namespace?: string, name?: string, subresource?: string): string {
    let p = res.group ? `/apis/${res.group}/${res.version}` : `/api/${res.version}`;
    if (res.namespaced && namespace) p += `/namespaces/${encodeURIComponent(namespace)}`;
    p += `/${res.plural}`;
    if (name !== undefined) {
      if (!name) throw new Error(`${res.kind}: empty name`);
      p += `/${encodeURIComponent(name)}`;
      if (subresource) p += `/${subresource}`;
    }
    return p;
  }

  async get<T extends KubeObject>(res: ResourceDescriptor<T>, name: string, namespace?: string, options: RequestOptions = {}): Promise<T> {
    return this.#json<T>('GET', this.#objectPath(res, name, namespace), {}, undefined, undefined, options.signal);
  }

  /** `get`, with undefined for 404. */
  async tryGet<T extends KubeObject>(res: ResourceDescriptor<T>, name: string, namespace?: string, options: RequestOptions = {}): Promise<T | undefined> {
    try {
      return await this.get(res, name, namespace, options);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Every object (all pages). `metadata.resourceVersion` of the result is where a watch continues. */
  async list<T extends KubeObject>(res: ResourceDescriptor<T>, options: ListOptions = {}): Promise<KubeList<T>> {
    const path = this.#collectionPath(res, options.namespace);
    for (let restarts = 0; ; restarts++) {
      const items: T[] = [];
      let cont: string | undefined;
      let first: KubeList<T> | undefined;
      try {
        do {
          const page: KubeList<T> = await this.#json<KubeList<T>>(
            'GET',
            path,
            { labelSelector: options.labelSelector, fieldSelector: options.fieldSelector, limit: options.limit ?? 500, continue: cont },
            undefined,
            undefined,
            options.signal,
          );
          // Every page comes from the first one's snapshot (same resourceVersion).
          first ??= page;
          items.push(...(page.items ?? []));
          cont = page.metadata?.continue || undefined;
        } while (cont);
      } catch (err) {
        // A continue token expired between pages: list again from the start.
        if (isGone(err) && cont && restarts < 3) continue;
        throw err;
      }
      const kind = first.kind?.endsWith('List') ? first.kind.slice(0, -4) : res.kind;
      const apiVersion = first.apiVersion ?? apiVersionOf(res);
      // Items of a list carry no kind/apiVersion on the wire: fill them in, as everything else sees objects whole.
      for (const item of items) {
        item.apiVersion ??= apiVersion;
        item.kind ??= kind;
      }
      return { apiVersion: first.apiVersion, kind: first.kind, metadata: { resourceVersion: first.metadata?.resourceVersion }, items };
    }
  }

  async create<T extends KubeObject>(res: ResourceDescriptor<T>, obj: T, options: WriteOptions = {}): Promise<T> {
    const namespace = options.namespace ?? obj.metadata.namespace;
    return this.#json<T>('POST', this.#collectionPath(res, namespace, true), writeQuery(options), 'application/json', withType(res, obj), options.signal);
  }

  /** PUT: replaces the object; a stale metadata.resourceVersion is a 409. */
  async replace<T extends KubeObject>(res: ResourceDescriptor<T>, obj: T, options: WriteOptions = {}): Promise<T> {
    const namespace = options.namespace ?? obj.metadata.namespace;
    return this.#json<T>('PUT', this.#objectPath(res, obj.metadata.name, namespace), writeQuery(options), 'application/json', withType(res, obj), options.signal);
  }

  /** Deletes; answers the object (graceful deletion, finalizers) or a Status. 404 is an error. */
  async delete<T extends KubeObject>(res: ResourceDescriptor<T>, name: string, options: DeleteOptions = {}): Promise<T | Status> {
    const body: Record<string, unknown> = { apiVersion: 'v1', kind: 'DeleteOptions' };
    if (options.gracePeriodSeconds !== undefined) body.gracePeriodSeconds = options.gracePeriodSeconds;
    if (options.propagationPolicy) body.propagationPolicy = options.propagationPolicy;
    if (options.preconditions) body.preconditions = options.preconditions;
    if (options.dryRun) body.dryRun = ['All'];
    return this.#json<T | Status>('DELETE', this.#objectPath(res, name, options.namespace), {}, 'application/json', body, options.signal);
  }

  /** JSON merge patch (RFC 7386): objects merge, arrays and scalars replace, null removes. */
  async patchMerge<T extends KubeObject>(res: ResourceDescriptor<T>, name: string, patch: unknown, options: WriteOptions & { subresource?: string } = {}): Promise<T> {
    return this.#patch(res, name, 'application/merge-patch+json', patch, options);
  }

  /** JSON patch (RFC 6902); a failed `test` op is a 422 (see isConflict). */
  async patchJson<T extends KubeObject>(res: ResourceDescriptor<T>, name: string, ops: JsonPatchOp[], options: WriteOptions & { subresource?: string } = {}): Promise<T> {
    return this.#patch(res, name, 'application/json-patch+json', ops, options);
  }

  /**
   * Server-side apply: `obj` is the whole intent of our field manager (fields it stops naming are
   * removed if no one else owns them). Creates the object when it is missing.
   */
  async apply<T extends KubeObject>(res: ResourceDescriptor<T>, obj: T, options: ApplyOptions = {}): Promise<T> {
    return this.#apply(res, obj, options);
  }

  /** Server-side apply of the status subresource (`obj` carries apiVersion, kind, metadata.name and status). */
  async applyStatus<T extends KubeObject>(res: ResourceDescriptor<T>, obj: T, options: ApplyOptions = {}): Promise<T> {
    return this.#apply(res, obj, options, 'status');
  }

  /** Merge patch of the status subresource. */
  async patchStatus<T extends KubeObject>(res: ResourceDescriptor<T>, name: string, patch: unknown, options: WriteOptions = {}): Promise<T> {
    return this.#patch(res, name, 'application/merge-patch+json', patch, { ...options, subresource: 'status' });
  }

  async getScale(res: ResourceDescriptor<KubeObject>, name: string, namespace?: string, options: RequestOptions = {}): Promise<Scale> {
    return this.#json<Scale>('GET', this.#objectPath(res, name, namespace, 'scale'), {}, undefined, undefined, options.signal);
  }

  async patchScale(res: ResourceDescriptor<KubeObject>, name: string, replicas: number, options: WriteOptions = {}): Promise<Scale> {
    return this.#json<Scale>(
      'PATCH',
      this.#objectPath(res, name, options.namespace, 'scale'),
      writeQuery(options),
      'application/merge-patch+json',
      { spec: { replicas } },
      options.signal,
    );
  }

  /**
   * Watches a collection from `resourceVersion`. Every event (including BOOKMARK and ERROR) goes to
   * `onEvent`, in order; a throwing `onEvent` ends the watch with that error.
   */
  watch<T extends KubeObject>(res: ResourceDescriptor<T>, options: WatchOptions, onEvent: (event: WatchEvent<T>) => void): WatchHandle {
    const controller = new AbortController();
    const query: Query = {
      watch: 'true',
      resourceVersion: options.resourceVersion || undefined,
      allowWatchBookmarks: options.allowWatchBookmarks ? 'true' : undefined,
      timeoutSeconds: options.timeoutSeconds,
      labelSelector: options.labelSelector,
      fieldSelector: options.fieldSelector,
    };
    const path = this.#collectionPath(res, options.namespace);
    // Silence from the server for longer than its own timeout plus a margin means a dead connection.
    const idleMs = ((options.timeoutSeconds ?? 300) + 60) * 1000;
    const done = this.#stream(path, query, controller.signal, idleMs, (line) => {
      let event: WatchEvent<T>;
      try {
        event = JSON.parse(line) as WatchEvent<T>;
      } catch {
        throw new KubeError(0, 'BadWatchEvent', `watch ${path}: not JSON: ${line.slice(0, 200)}`);
      }
      if (event.type !== 'ERROR' && event.type !== 'BOOKMARK' && event.object) {
        event.object.apiVersion ??= apiVersionOf(res);
        event.object.kind ??= res.kind;
      }
      onEvent(event);
    });
    return { abort: () => controller.abort(), done };
  }

  /** A request with a JSON body and answer, for anything the typed methods do not cover. */
  async request<R>(method: string, path: string, options: { query?: Query; contentType?: string; body?: unknown; signal?: AbortSignal } = {}): Promise<R> {
    return this.#json<R>(method, path, options.query ?? {}, options.contentType, options.body, options.signal);
  }

  /** Closes idle keep-alive connections. */
  close(): void {
    this.#plainAgent.destroy();
    for (const agent of this.#tlsAgents.values()) agent.destroy();
    this.#tlsAgents.clear();
  }

  // -------------------------------------------------------------------------------------------

  #collectionPath(res: ResourceDescriptor<KubeObject>, namespace: string | undefined, needNamespace = false): string {
    if (res.namespaced && needNamespace && !namespace) throw new Error(`${res.kind} is namespaced: no namespace given`);
    return this.path(res, namespace);
  }

  #objectPath(res: ResourceDescriptor<KubeObject>, name: string, namespace: string | undefined, subresource?: string): string {
    if (res.namespaced && !namespace) throw new Error(`${res.kind} ${name} is namespaced: no namespace given`);
    return this.path(res, namespace, name, subresource);
  }

  async #patch<T extends KubeObject>(res: ResourceDescriptor<T>, name: string, contentType: string, body: unknown, options: WriteOptions & { subresource?: string }): Promise<T> {
    return this.#json<T>('PATCH', this.#objectPath(res, name, options.namespace, options.subresource), writeQuery(options), contentType, body, options.signal);
  }

  async #apply<T extends KubeObject>(res: ResourceDescriptor<T>, obj: T, options: ApplyOptions, subresource?: string): Promise<T> {
    const namespace = options.namespace ?? obj.metadata.namespace;
    const body = withType(res, obj);
    // resourceVersion in an apply is a precondition; managedFields must not be sent. Both are
    // easy to carry over by accident from an object read back.
    const { resourceVersion: _rv, managedFields: _mf, ...metadata } = body.metadata;
    const query = { ...writeQuery({ ...options, fieldManager: options.fieldManager ?? fieldManager }), force: options.force ? 'true' : undefined };
    return this.#json<T>(
      'PATCH',
      this.#objectPath(res, obj.metadata.name, namespace, subresource),
      query,
      // JSON is YAML: the server parses it as such.
      'application/apply-patch+yaml',
      { ...body, metadata },
      options.signal,
    );
  }

  async #json<R>(method: string, path: string, query: Query, contentType: string | undefined, body: unknown, signal: AbortSignal | undefined): Promise<R> {
    const timeout = AbortSignal.timeout(this.#requestTimeoutMs);
    const res = await this.#send(method, path, query, contentType, body === undefined ? undefined : JSON.stringify(body), signal ? AbortSignal.any([signal, timeout]) : timeout);
    if (res.statusCode >= 400) throw errorOf(res, method, path);
    if (!res.body) return undefined as R;
    try {
      return JSON.parse(res.body) as R;
    } catch {
      throw new KubeError(res.statusCode, 'BadResponse', `${method} ${path}: answer is not JSON: ${res.body.slice(0, 200)}`);
    }
  }

  async #requestOptions(method: string, url: URL, contentType: string | undefined): Promise<https.RequestOptions> {
    const opts: https.RequestOptions = { method, headers: {} };
    try {
      await this.#kc.applyToHTTPSOptions(opts);
    } catch (err) {
      // client-node refuses to build an agent for plain http without skipTLSVerify; the
      // credentials are in place by then, and plain http needs no TLS settings.
      if (url.protocol !== 'http:') throw err;
    }
    if (url.protocol === 'http:') opts.agent = this.#plainAgent;
    else if (!this.#kc.getCurrentCluster()?.proxyUrl) opts.agent = this.#tlsAgent(opts);
    const headers = opts.headers as http.OutgoingHttpHeaders;
    headers.accept = 'application/json';
    headers['user-agent'] = this.#userAgent;
    if (contentType) headers['content-type'] = contentType;
    return opts;
  }

  #tlsAgent(opts: https.RequestOptions): https.Agent {
    const tls = { ca: opts.ca, cert: opts.cert, key: opts.key, pfx: opts.pfx, passphrase: opts.passphrase, rejectUnauthorized: opts.rejectUnauthorized, servername: opts.servername };
    // Rotated credentials (new certificate files) get a new agent; the old one's sockets idle out.
    const key = JSON.stringify(Object.values(tls).map((v) => (Buffer.isBuffer(v) ? v.toString('base64') : v)));
    let agent = this.#tlsAgents.get(key);
    if (!agent) {
      agent = new https.Agent({ keepAlive: true, ...tls });
      this.#tlsAgents.set(key, agent);
    }
    return agent;
  }

  #url(path: string, query: Query): URL {
    const url = new URL(this.server + path);
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') url.searchParams.set(k, String(v));
    return url;
  }

  async #send(method: string, path: string, query: Query, contentType: string | undefined, body: string | undefined, signal: AbortSignal): Promise<RawResponse> {
    const url = this.#url(path, query);
    const opts = await this.#requestOptions(method, url, contentType);
    // Node frames a DELETE's body neither by length nor by chunks unless told the length.
    if (body !== undefined) (opts.headers as http.OutgoingHttpHeaders)['content-length'] = Buffer.byteLength(body);
    const lib = url.protocol === 'http:' ? http : https;
    return new Promise<RawResponse>((resolve, reject) => {
      const fail = (err: Error) => {
        signal.removeEventListener('abort', onAbort);
        reject(transportError(method, path, err, signal));
      };
      const onAbort = () => req.destroy(new Error('aborted'));
      const req = lib.request(url, opts, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          signal.removeEventListener('abort', onAbort);
          resolve({ statusCode: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', fail);
      });
      req.on('error', fail);
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
      req.end(body);
    });
  }

  async #stream(path: string, query: Query, signal: AbortSignal, idleMs: number, onLine: (line: string) => void): Promise<void> {
    const url = this.#url(path, query);
    const opts = await this.#requestOptions('GET', url, undefined);
    const lib = url.protocol === 'http:' ? http : https;
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      let idle: NodeJS.Timeout | undefined;
      const onAbort = () => finish();
      const finish = (err?: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(idle);
        signal.removeEventListener('abort', onAbort);
        req.destroy();
        if (err && !signal.aborted) reject(err);
        else resolve();
      };
      const touch = () => {
        clearTimeout(idle);
        idle = setTimeout(() => finish(new KubeError(0, 'Timeout', `watch ${path}: nothing from the server for ${idleMs} ms`)), idleMs);
      };
      const req = lib.request(url, opts, (res) => {
        const code = res.statusCode ?? 0;
        if (code !== 200) {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => finish(errorOf({ statusCode: code, body: Buffer.concat(chunks).toString('utf8') }, 'GET', path)));
          res.on('error', (err) => finish(transportError('GET', path, err, signal)));
          return;
        }
        touch();
        res.on('data', touch);
        res.on('error', (err) => finish(transportError('GET', path, err, signal)));
        const lines = createInterface({ input: res, crlfDelay: Infinity });
        lines.on('line', (line) => {
          if (settled || !line.trim()) return;
          try {
            onLine(line);
          } catch (err) {
            finish(err);
          }
        });
        lines.on('error', (err) => finish(transportError('GET', path, err, signal)));
        lines.on('close', () => finish());
      });
      req.on('error', (err) => finish(transportError('GET', path, err, signal)));
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
      req.end();
    });
  }
}

function writeQuery(options: WriteOptions): Query {
  return { fieldManager: options.fieldManager, dryRun: options.dryRun ? 'All' : undefined };
}

function withType<T extends KubeObject>(res: ResourceDescriptor<T>, obj: T): T {
  return { ...obj, apiVersion: obj.apiVersion ?? apiVersionOf(res), kind: obj.kind ?? res.kind };
}

function errorOf(res: RawResponse, method: string, path: string): KubeError {
  let status: Status | undefined;
  try {
    const parsed = JSON.parse(res.body) as Status;
    if (parsed && parsed.kind === 'Status') status = parsed;
  } catch {
    // not JSON: a proxy's page, an empty body
  }
  if (status) {
    const err = KubeError.fromStatus(status, res.statusCode);
    err.message = `${method} ${path}: ${err.message}`;
    return err;
  }
  return new KubeError(res.statusCode, reasonOfCode(res.statusCode), `${method} ${path}: HTTP ${res.statusCode} ${res.body.slice(0, 200)}`);
}

function transportError(method: string, path: string, err: Error, signal: AbortSignal): KubeError {
  const why = signal.aborted && signal.reason instanceof Error ? signal.reason.message : err.message;
  return new KubeError(0, signal.aborted ? 'Aborted' : 'Transport', `${method} ${path}: ${why}`, undefined, { cause: err });
}
