/**
 * A fake Kubernetes API server for tests: an in-process HTTP server on a free loopback port that
 * serves core/v1 (namespaces, pods, nodes, services, secrets, configmaps, events),
 * events.k8s.io/v1 events, coordination.k8s.io/v1 leases, apiextensions.k8s.io/v1 CRDs and the
 * custom resources they define, behaving as the real API server does on what an operator touches.
 * Test code only: never import it from production code.
 *
 *   const kube = await startFakeKube();
 *   const core = kube.kubeConfig().makeApiClient(CoreV1Api);
 *   ...
 *   await kube.stop();
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { randomBytes, randomUUID } from 'node:crypto';
import { KubeConfig } from '@kubernetes/client-node';
import { Api, now } from './api.ts';
import { Controllers } from './controllers.ts';
import { crdDefinition, prepareCrd, serveCrds } from './crd.ts';
import { Router } from './http.ts';
import type { FailureSpec, RequestRecord } from './http.ts';
import { Registry } from './registry.ts';
import { builtinResources } from './resources.ts';
import type { ResourceDef } from './resources.ts';
import { clone, isObject } from './status.ts';
import type { Json, JsonObject } from './status.ts';
import { Store } from './store.ts';
import { WatchHub } from './watch.ts';

export type { FailureSpec, RequestRecord } from './http.ts';
export type { Json, JsonObject, StatusBody } from './status.ts';

export interface FakeKubeOptions {
  /** Change events kept for watches and exact lists (default 1000); older resourceVersions get 410. */
  historyLimit?: number;
  /** How often a watch with allowWatchBookmarks gets a BOOKMARK (default 1000 ms; the real server: about a minute). */
  bookmarkIntervalMs?: number;
  /** Delay before the garbage collector and the namespace/CRD finalizers react to a change (default 20 ms). */
  controllerDelayMs?: number;
  /** A watch without timeoutSeconds ends after this long (default 1800 s). */
  watchTimeoutSeconds?: number;
  /** The bearer token clients must send (default: random). */
  token?: string;
  /** Namespaces that exist at start (default: default, kube-system, kube-public, kube-node-lease). */
  namespaces?: string[];
}

export interface ObjectRef {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
}

export interface FakeKube {
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
  readonly token: string;
  /** A client configuration for this server: plain HTTP, bearer token, namespace `default`. */
  kubeConfig(): KubeConfig;
  stop(): Promise<void>;
  /** Every request received, in order. */
  readonly requests: RequestRecord[];
  /** Cuts every open watch connection abruptly. */
  breakWatches(): void;
  /** Forgets the change history: a watch (or exact list) from any resourceVersion before now gets 410 Expired. */
  expireHistory(): void;
  /** The next `times` (default 1) matching requests are answered with an error Status of `status`. */
  failNext(spec: FailureSpec): void;
  /** Delays every following response by `ms` (0 to stop). */
  latency(ms: number): void;
  /** Number of watch streams open now. */
  openWatches(): number;
  /** The current resourceVersion (as a string, as the server hands them out). */
  resourceVersion(): string;
  /** Reads an object from the store, as the API would serve it (undefined when absent). */
  get(ref: ObjectRef): JsonObject | undefined;
  list(apiVersion: string, kind: string, namespace?: string): JsonObject[];
  /**
   * Writes an object straight into the store, with no validation or defaulting (as a kubelet or a
   * controller outside the test would change it): fills uid and creationTimestamp when new, keeps
   * them otherwise, takes the next resourceVersion and notifies watchers. Returns the stored object.
   */
  put(obj: JsonObject): JsonObject;
  /** Removes an object from the store at once, ignoring finalizers (watchers see DELETED). */
  remove(ref: ObjectRef): JsonObject | undefined;
  /** Creates an object through the API (validation, defaulting), e.g. a CRD read from crds/*.yaml. */
  create(obj: JsonObject): JsonObject;
  /** Resolves once the background controllers (garbage collector, finalizers) have nothing left to do. */
  settle(): Promise<void>;
}

class FakeKubeServer implements FakeKube {
  url = '';
  readonly token: string;
  private readonly server: http.Server;
  private readonly store: Store;
  private readonly registry: Registry;
  private readonly api: Api;
  private readonly hub: WatchHub;
  private readonly router: Router;
  private readonly controllers: Controllers;
  private readonly sockets = new Set<Socket>();

  constructor(opts: FakeKubeOptions) {
    this.token = opts.token ?? randomBytes(16).toString('hex');
    this.store = new Store(opts.historyLimit ?? 1000);
    this.registry = new Registry([...builtinResources(), crdDefinition()]);
    this.api = new Api(this.store, this.registry);
    this.api.crdPrepare = prepareCrd;
    serveCrds(this.store, this.registry);
    this.controllers = new Controllers(this.api, opts.controllerDelayMs ?? 20);
    this.api.onChange = () => this.controllers.kick();
    this.hub = new WatchHub(this.store, opts.bookmarkIntervalMs ?? 1000);
    this.router = new Router(this.api, this.hub, {
      token: this.token,
      hostPort: () => this.url.replace(/^http:\/\//, ''),
      watchTimeoutSeconds: opts.watchTimeoutSeconds ?? 1800,
    });
    for (const ns of opts.namespaces ?? ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
      this.api.create(this.def('v1', 'Namespace'), undefined, { metadata: { name: ns } }, { manager: 'kube-apiserver', explicitManager: true, dryRun: false, fieldValidation: 'Strict', warnings: [] });
    }
    this.server = http.createServer((req, res) => void this.router.handle(req, res));
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => resolve());
    });
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  get requests(): RequestRecord[] {
    return this.router.requests;
  }

  kubeConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'fake', server: this.url, skipTLSVerify: true }],
      users: [{ name: 'fake', token: this.token }],
      contexts: [{ name: 'fake', cluster: 'fake', user: 'fake', namespace: 'default' }],
      currentContext: 'fake',
    });
    return kc;
  }

  async stop(): Promise<void> {
    this.controllers.stop();
    this.hub.endAll();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  breakWatches(): void {
    this.hub.breakAll();
  }

  expireHistory(): void {
    this.store.expireHistory();
  }

  failNext(spec: FailureSpec): void {
    this.router.failures.push({ ...spec, left: spec.times ?? 1 });
  }

  latency(ms: number): void {
    this.router.latencyMs = ms;
  }

  openWatches(): number {
    return this.hub.count;
  }

  resourceVersion(): string {
    return String(this.store.currentRV());
  }

  private def(apiVersion: string, kind: string): ResourceDef {
    const def = this.registry.byKind(apiVersion, kind);
    if (!def) throw new Error(`fake-kube serves no ${kind} in ${apiVersion}`);
    return def;
  }

  get(ref: ObjectRef): JsonObject | undefined {
    const def = this.def(ref.apiVersion, ref.kind);
    const stored = this.store.get(def.skey, def.namespaced ? (ref.namespace ?? 'default') : undefined, ref.name);
    return stored && this.api.present(def, stored);
  }

  list(apiVersion: string, kind: string, namespace?: string): JsonObject[] {
    const def = this.def(apiVersion, kind);
    return this.store.list(def.skey, def.namespaced ? namespace : undefined).map((o) => this.api.present(def, o));
  }

  put(obj: JsonObject): JsonObject {
    const def = this.def(String(obj.apiVersion), String(obj.kind));
    const next = clone(obj);
    if (!isObject(next.metadata)) next.metadata = {};
    const m = next.metadata as JsonObject;
    if (def.namespaced) m.namespace ??= 'default';
    else delete m.namespace;
    const existing = this.store.get(def.skey, m.namespace as string | undefined, String(m.name));
    const em = existing?.metadata as JsonObject | undefined;
    m.uid ??= em?.uid ?? randomUUID();
    m.creationTimestamp ??= em?.creationTimestamp ?? now();
    if (def.generation) m.generation ??= em?.generation ?? 1;
    let stored = clone(next);
    if (def.toStorage) stored = def.toStorage(stored);
    stored.apiVersion = def.storageVersion;
    const written = this.api.systemWrite(def, stored);
    return this.api.present(def, written ?? stored);
  }

  remove(ref: ObjectRef): JsonObject | undefined {
    const def = this.def(ref.apiVersion, ref.kind);
    const gone = this.store.remove(def.skey, def.namespaced ? (ref.namespace ?? 'default') : undefined, ref.name);
    this.api.onChange();
    return gone && this.api.present(def, gone);
  }

  create(obj: JsonObject): JsonObject {
    const def = this.def(String(obj.apiVersion), String(obj.kind));
    const ns = def.namespaced ? String((obj.metadata as JsonObject | undefined)?.namespace ?? 'default') : undefined;
    return this.api.create(def, ns, obj as Json, { manager: 'fake-kube', explicitManager: true, dryRun: false, fieldValidation: 'Strict', warnings: [] }).body;
  }

  async settle(): Promise<void> {
    // Two quiet controller periods in a row: nothing is scheduled and nothing ran in between.
    for (let quiet = 0; quiet < 2; ) {
      const before = this.store.currentRV();
      await new Promise((r) => setTimeout(r, this.controllers.delayMs * 2 + 5));
      quiet = this.store.currentRV() === before ? quiet + 1 : 0;
    }
  }
}

/** Starts a fake API server on a free loopback port. */
export async function startFakeKube(options: FakeKubeOptions = {}): Promise<FakeKube> {
  const kube = new FakeKubeServer(options);
  await kube.listen();
  return kube;
}
