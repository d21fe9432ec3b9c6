/**
 * A fake kubelet (and scheduler) on the fake API server, for the operator's end-to-end tests: the
 * Pods the operator creates become real `gbcast streamer` processes.
 *
 * - Nodes: registers each node (labels, addresses, Ready) through the API.
 * - Scheduler: a pod without spec.nodeName is bound to a Ready node that matches its nodeSelector
 *   and has its hostPorts (protocol/port) free (pods on the node, terminating ones included, and
 *   processes still exiting); the fewest pods wins. None fits: PodScheduled False, Unschedulable,
 *   with the reasons per node, retried when pods go or nodes change.
 * - Kubelet: for each pod bound to one of its nodes it runs `node bin/gbcast.js streamer` (the
 *   image and command are not run; the first container is taken to be a streamer; the built dist/
 *   must exist) with the container's environment resolved as Kubernetes does (values with $(VAR)
 *   expansion, fieldRef, secretKeyRef, configMapKeyRef, envFrom), and writes the pod's status
 *   through the status subresource: Pending, then Running, podIP/hostIP, containerStatuses,
 *   conditions PodScheduled/Initialized/ContainersReady/Ready following the readinessProbe.
 *   A process that exits is restarted (restartPolicy Always/OnFailure) with backoff and
 *   restartCount+1. A pod being deleted gets SIGTERM, SIGKILL after its grace period, then is
 *   deleted with gracePeriodSeconds=0; a pod deleted outright (no graceful deletion) gets the same
 *   signals.
 *
 * Addresses, all on loopback: node i has InternalIP 127.0.0.(i+1) unless given; every pod gets its
 * own address 127.A.B.C (pods in a cluster do not share one: the streamer's HTTP port is the same
 * 8081 in every pod). The streamer's HTTP binds the pod IP and its media port binds the pod IP, or
 * the node's InternalIP when that port is a hostPort (what the node's hostPort mapping does), unless
 * the pod sets GBCAST_HTTP_HOST/GBCAST_RTP_HOST itself.
 *
 * kube-proxy: a NodePort (or LoadBalancer) Service's node ports listen on each node's InternalIP
 * and forward TCP connections and UDP datagrams to a Ready pod its selector picks (on that node
 * only with externalTrafficPolicy Local). Unlike the real one it does not keep the client's source
 * address: the pod sees the datagrams coming from the node's address.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { isNotFound, KubeClient, resources } from '../../operator/kube/client.ts';
import { Informer, keyOf } from '../../operator/kube/informer.ts';
import type { Container, ContainerState, ContainerStatus, Node, Pod, PodCondition, Probe, Service } from '../../operator/kube/types.ts';
import type { FakeKube, JsonObject } from './fake-kube/index.ts';
import { repoRoot } from './fixtures.ts';
import { pipeTo } from './tcp-proxy.ts';

export interface FakeNodeSpec {
  name: string;
  /** Default 127.0.0.(position + 1). */
  internalIP?: string;
  externalIP?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** Cordoned: nothing new is scheduled on it. */
  unschedulable?: boolean;
}

export interface FakeKubeletOptions {
  nodes: FakeNodeSpec[];
  /** Environment added to every process under the pod's own (e.g. GBCAST_LOG_LEVEL). */
  env?: Record<string, string>;
  /** Restart backoff, doubling from initialMs to maxMs (default 250 ms to 4 s; the real kubelet's 10 s to 5 min is too slow for tests). */
  restartBackoffMs?: { initialMs?: number; maxMs?: number };
  /** How often unschedulable pods are tried again besides on changes (default 500 ms). */
  scheduleRetryMs?: number;
  /** Forward NodePort Services (default true). */
  nodePorts?: boolean;
}

export interface FakeKubelet {
  readonly nodes: readonly { name: string; internalIP: string; externalIP?: string }[];
  /** Sends `signal` (default SIGKILL) to the pod's process; false when it has none running. */
  kill(podName: string, signal?: NodeJS.Signals, namespace?: string): boolean;
  /** The pod's process id, while one runs. */
  pid(podName: string, namespace?: string): number | undefined;
  /** How often the pod's process was restarted. */
  restarts(podName: string, namespace?: string): number;
  /** Every output line of the pod's processes so far (kept after the pod is gone). */
  logs(podName: string, namespace?: string): string[];
  /** `namespace/name` of the pods with a process running now. */
  running(): string[];
  /** Kills every process and stops watching. */
  stop(): Promise<void>;
}

interface NodeInfo {
  name: string;
  internalIP: string;
  externalIP?: string;
}

interface ProbeState {
  timer?: NodeJS.Timeout;
  successes: number;
  failures: number;
}

/** One pod's life on a node. */
interface Runtime {
  key: string;
  uid: string;
  name: string;
  namespace: string;
  pod: Pod;
  node: NodeInfo;
  podIP: string;
  child?: ChildProcess;
  exited?: Promise<void>;
  /** The container's start (ms) of the current run. */
  runningSince?: number;
  restartCount: number;
  state: ContainerState;
  lastState?: ContainerState;
  started: boolean;
  ready: boolean;
  phase: 'Pending' | 'Running' | 'Succeeded' | 'Failed';
  startTime: string;
  transitions: Map<string, { status: string; at: string }>;
  terminating: boolean;
  /** The pod object is gone from the API. */
  deleted: boolean;
  readiness: ProbeState;
  liveness: ProbeState;
  restartTimer?: NodeJS.Timeout;
  backoffMs: number;
  logs: string[];
  statusDirty: boolean;
  statusWriting: boolean;
  /** hostPorts this pod holds on its node, as `PROTO/port` (kept until its process has exited). */
  hostPorts: string[];
}

const bin = path.join(repoRoot, 'bin', 'gbcast.js');
const isoNow = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

export async function startFakeKubelet(kube: FakeKube, options: FakeKubeletOptions): Promise<FakeKubelet> {
  if (!existsSync(path.join(repoRoot, 'dist', 'cli', 'main.js'))) {
    throw new Error('the fake kubelet runs the built gbcast: run `npm run build` first (dist/cli/main.js is missing)');
  }
  const kubelet = new Kubelet(kube, options);
  await kubelet.start();
  return kubelet;
}

class Kubelet implements FakeKubelet {
  readonly nodes: NodeInfo[];
  readonly #kube: FakeKube;
  readonly #options: FakeKubeletOptions;
  readonly #client: KubeClient;
  readonly #pods: Informer<Pod>;
  readonly #nodeInformer: Informer<Node>;
  readonly #services: Informer<Service>;
  readonly #nodePorts: NodePorts;
  readonly #runtimes = new Map<string, Runtime>();
  readonly #logs = new Map<string, string[]>();
  readonly #restarts = new Map<string, number>();
  /** Pods bound by us that the informer may not show bound yet: uid → node. */
  readonly #assumed = new Map<string, string>();
  readonly #echo = Boolean(process.env.GBCAST_TEST_LOGS);
  #scheduling = false;
  #scheduleAgain = false;
  #scheduleTimer: NodeJS.Timeout | undefined;
  #stopped = false;
  #ipCounter = 0;
  readonly #ipOctet = 1 + (process.pid % 250);

  constructor(kube: FakeKube, options: FakeKubeletOptions) {
    this.#kube = kube;
    this.#options = options;
    this.#client = KubeClient.fromKubeConfig(kube.kubeConfig(), { requestTimeoutMs: 10_000, userAgent: 'fake-kubelet' });
    this.nodes = options.nodes.map((n, i) => ({ name: n.name, internalIP: n.internalIP ?? `127.0.0.${i + 1}`, externalIP: n.externalIP }));
    this.#pods = new Informer(this.#client, resources.pods, { resyncMs: 0, relistMs: 0, backoff: { initialMs: 50, maxMs: 1000 } });
    this.#nodeInformer = new Informer(this.#client, resources.nodes, { resyncMs: 0, relistMs: 0, backoff: { initialMs: 50, maxMs: 1000 } });
    this.#services = new Informer(this.#client, resources.services, { resyncMs: 0, relistMs: 0, backoff: { initialMs: 50, maxMs: 1000 } });
    this.#nodePorts = new NodePorts(this.nodes, this.#services, this.#pods, (line) => this.#log('kube-system/kube-proxy', line));
  }

  async start(): Promise<void> {
    for (const [i, spec] of this.#options.nodes.entries()) await this.#registerNode(spec, this.nodes[i]);
    this.#nodeInformer.addHandlers({ add: () => this.#kickScheduler(), update: () => this.#kickScheduler(), delete: () => this.#kickScheduler() });
    this.#pods.addHandlers({
      add: (pod) => this.#onPod(pod),
      update: (_old, pod) => this.#onPod(pod),
      delete: (pod) => this.#onPodGone(pod),
    });
    this.#nodeInformer.start();
    this.#pods.start();
    const informers = [this.#nodeInformer.synced, this.#pods.synced];
    if (this.#options.nodePorts ?? true) {
      const sync = () => this.#nodePorts.sync();
      this.#services.addHandlers({ add: sync, update: sync, delete: sync });
      this.#services.start();
      informers.push(this.#services.synced);
    }
    await Promise.all(informers);
    this.#scheduleTimer = setInterval(() => this.#kickScheduler(), this.#options.scheduleRetryMs ?? 500);
    this.#kickScheduler();
  }

  // -------------------------------------------------------------------------------------------
  // Test surface

  kill(podName: string, signal: NodeJS.Signals = 'SIGKILL', namespace?: string): boolean {
    const rt = this.#find(podName, namespace);
    if (!rt?.child || rt.child.exitCode !== null || rt.child.signalCode !== null) return false;
    return rt.child.kill(signal);
  }

  pid(podName: string, namespace?: string): number | undefined {
    const rt = this.#find(podName, namespace);
    return rt?.child && rt.child.exitCode === null && rt.child.signalCode === null ? rt.child.pid : undefined;
  }

  restarts(podName: string, namespace?: string): number {
    for (const [key, n] of this.#restarts) if (matches(key, podName, namespace)) return n;
    return 0;
  }

  logs(podName: string, namespace?: string): string[] {
    for (const [key, lines] of this.#logs) if (matches(key, podName, namespace)) return [...lines];
    return [];
  }

  running(): string[] {
    return [...this.#runtimes.values()].filter((rt) => rt.child && rt.child.exitCode === null && rt.child.signalCode === null).map((rt) => rt.key);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#scheduleTimer);
    await Promise.all([this.#pods.stop(), this.#nodeInformer.stop(), this.#services.stop()]);
    await this.#nodePorts.close();
    const exits: Promise<void>[] = [];
    for (const rt of this.#runtimes.values()) {
      this.#stopProbes(rt);
      clearTimeout(rt.restartTimer);
      if (rt.child && rt.child.exitCode === null && rt.child.signalCode === null) {
        rt.child.kill('SIGKILL');
        if (rt.exited) exits.push(rt.exited);
      }
    }
    await Promise.all(exits);
    this.#client.close();
  }

  #find(podName: string, namespace?: string): Runtime | undefined {
    for (const rt of this.#runtimes.values()) if (rt.name === podName && (!namespace || rt.namespace === namespace)) return rt;
    return undefined;
  }

  // -------------------------------------------------------------------------------------------
  // Nodes

  async #registerNode(spec: FakeNodeSpec, info: NodeInfo): Promise<void> {
    const node: Node = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name: spec.name,
        labels: { 'kubernetes.io/hostname': spec.name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', ...spec.labels },
        ...(spec.annotations ? { annotations: spec.annotations } : {}),
      },
      spec: spec.unschedulable ? { unschedulable: true } : {},
    };
    const existing = await this.#client.tryGet(resources.nodes, spec.name);
    if (!existing) await this.#client.create(resources.nodes, node);
    const now = isoNow();
    const addresses = [
      { type: 'InternalIP' as const, address: info.internalIP },
      ...(info.externalIP ? [{ type: 'ExternalIP' as const, address: info.externalIP }] : []),
      { type: 'Hostname' as const, address: spec.name },
    ];
    await this.#client.patchStatus(resources.nodes, spec.name, {
      status: {
        addresses,
        conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status', lastHeartbeatTime: now, lastTransitionTime: now }],
        capacity: { cpu: '8', memory: '16Gi', pods: '110' },
        allocatable: { cpu: '8', memory: '16Gi', pods: '110' },
        nodeInfo: { kubeletVersion: 'v1.31.0-fake', containerRuntimeVersion: 'fake://1', operatingSystem: 'linux', architecture: 'amd64' },
      },
    });
  }

  // -------------------------------------------------------------------------------------------
  // Scheduler

  #kickScheduler(): void {
    if (this.#stopped) return;
    if (this.#scheduling) {
      this.#scheduleAgain = true;
      return;
    }
    this.#scheduling = true;
    void this.#scheduleAll().finally(() => {
      this.#scheduling = false;
      if (this.#scheduleAgain && !this.#stopped) {
        this.#scheduleAgain = false;
        this.#kickScheduler();
      }
    });
  }

  async #scheduleAll(): Promise<void> {
    for (const uid of this.#assumed.keys()) {
      const pod = this.#pods.list((p) => p.metadata.uid === uid)[0];
      if (!pod || pod.spec.nodeName) this.#assumed.delete(uid);
    }
    const pending = this.#pods.list((p) => !p.spec.nodeName && !p.metadata.deletionTimestamp && !this.#assumed.has(p.metadata.uid ?? ''));
    pending.sort((a, b) => (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? ''));
    for (const pod of pending) {
      if (this.#stopped) return;
      try {
        await this.#schedule(pod);
      } catch (err) {
        this.#log(keyOf(pod), `scheduler: ${(err as Error).message}`);
      }
    }
  }

  async #schedule(pod: Pod): Promise<void> {
    const nodes = this.#nodeInformer.list();
    const reasons = new Map<string, number>();
    const fits: { node: Node; pods: number }[] = [];
    for (const node of nodes) {
      const why = this.#unfit(pod, node);
      if (why) reasons.set(why, (reasons.get(why) ?? 0) + 1);
      else fits.push({ node, pods: this.#podsOn(node.metadata.name).length });
    }
    if (fits.length === 0) {
      const message = `0/${nodes.length} nodes are available: ${[...reasons].map(([why, n]) => `${n} ${why}`).sort().join(', ')}.`;
      const current = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
      if (current?.status === 'False' && current.message === message) return;
      await this.#client
        .patchStatus(resources.pods, pod.metadata.name, { status: { conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message, lastProbeTime: null, lastTransitionTime: isoNow() }] } }, { namespace: pod.metadata.namespace })
        .catch((err: unknown) => {
          if (!isNotFound(err)) throw err;
        });
      return;
    }
    fits.sort((a, b) => a.pods - b.pods);
    const target = fits[0].node.metadata.name;
    this.#assumed.set(pod.metadata.uid ?? '', target);
    try {
      await this.#bind(pod, target);
    } catch (err) {
      this.#assumed.delete(pod.metadata.uid ?? '');
      if (!isNotFound(err)) throw err;
    }
  }

  /** Why `pod` cannot go on `node` (the scheduler's words), or undefined when it fits. */
  #unfit(pod: Pod, node: Node): string | undefined {
    const ready = node.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
    if (!ready) return 'node(s) were not ready';
    if (node.spec?.unschedulable) return 'node(s) were unschedulable';
    for (const [k, v] of Object.entries(pod.spec.nodeSelector ?? {})) {
      if (node.metadata.labels?.[k] !== v) return "node(s) didn't match Pod's node affinity/selector";
    }
    const wanted = hostPortsOf(pod);
    if (wanted.length > 0) {
      const taken = new Set<string>();
      for (const other of this.#podsOn(node.metadata.name)) if (other.metadata.uid !== pod.metadata.uid) for (const p of hostPortsOf(other)) taken.add(p);
      for (const rt of this.#runtimes.values()) if (rt.node.name === node.metadata.name && rt.uid !== pod.metadata.uid) for (const p of rt.hostPorts) taken.add(p);
      if (wanted.some((p) => taken.has(p))) return "node(s) didn't have free ports for the requested pod ports";
    }
    return undefined;
  }

  /** Pods on the node: bound (terminating included) or assumed, not finished. */
  #podsOn(nodeName: string): Pod[] {
    return this.#pods.list((p) => {
      const on = p.spec.nodeName ?? this.#assumed.get(p.metadata.uid ?? '');
      return on === nodeName && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed';
    });
  }

  async #bind(pod: Pod, nodeName: string): Promise<void> {
    const namespace = pod.metadata.namespace ?? 'default';
    try {
      await this.#client.request('POST', `${this.#client.path(resources.pods, namespace, pod.metadata.name, 'binding')}`, {
        contentType: 'application/json',
        body: { apiVersion: 'v1', kind: 'Binding', metadata: { name: pod.metadata.name, namespace, uid: pod.metadata.uid }, target: { apiVersion: 'v1', kind: 'Node', name: nodeName } },
      });
    } catch (err) {
      // The fake API server may not serve pods/binding: write the binding straight into its store,
      // as the real one would (spec.nodeName, condition PodScheduled).
      if (!isNotFound(err) && !(err instanceof Error && /405|MethodNotAllowed/.test(err.message))) throw err;
      const current = this.#kube.get({ apiVersion: 'v1', kind: 'Pod', namespace, name: pod.metadata.name }) as unknown as Pod | undefined;
      if (!current || current.metadata.uid !== pod.metadata.uid || current.spec.nodeName) throw err;
      const conditions = (current.status?.conditions ?? []).filter((c) => c.type !== 'PodScheduled');
      conditions.push({ type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: isoNow() });
      this.#kube.put({ ...current, spec: { ...current.spec, nodeName }, status: { ...current.status, conditions } } as unknown as JsonObject);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Kubelet

  #onPod(pod: Pod): void {
    if (this.#stopped) return;
    const uid = pod.metadata.uid ?? '';
    const rt = this.#runtimes.get(uid);
    if (rt) {
      rt.pod = pod;
      if (pod.metadata.deletionTimestamp && !rt.terminating) void this.#terminate(rt, graceOf(pod));
      return;
    }
    if (!pod.spec.nodeName) {
      if (!pod.metadata.deletionTimestamp) this.#kickScheduler();
      return;
    }
    const node = this.nodes.find((n) => n.name === pod.spec.nodeName);
    if (!node) return;
    if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') return;
    if (pod.metadata.deletionTimestamp) {
      // Deleted before it ever ran here: nothing to stop.
      void this.#finishDeletion(pod);
      return;
    }
    const key = keyOf(pod);
    const logs = this.#logs.get(key) ?? [];
    this.#logs.set(key, logs);
    const fresh: Runtime = {
      key,
      uid,
      name: pod.metadata.name,
      namespace: pod.metadata.namespace ?? 'default',
      pod,
      node,
      podIP: '',
      restartCount: 0,
      state: { waiting: { reason: 'ContainerCreating' } },
      started: false,
      ready: false,
      phase: 'Pending',
      startTime: isoNow(),
      transitions: new Map(),
      terminating: false,
      deleted: false,
      readiness: { successes: 0, failures: 0 },
      liveness: { successes: 0, failures: 0 },
      backoffMs: this.#options.restartBackoffMs?.initialMs ?? 250,
      logs,
      statusDirty: false,
      statusWriting: false,
      hostPorts: hostPortsOf(pod),
    };
    this.#runtimes.set(uid, fresh);
    void this.#startPod(fresh);
  }

  #onPodGone(pod: Pod): void {
    const rt = this.#runtimes.get(pod.metadata.uid ?? '');
    this.#assumed.delete(pod.metadata.uid ?? '');
    if (rt) {
      rt.deleted = true;
      if (!rt.terminating) void this.#terminate(rt, graceOf(pod));
    }
    this.#kickScheduler();
  }

  async #startPod(rt: Runtime): Promise<void> {
    try {
      rt.podIP = await this.#allocatePodIP(rt.pod);
    } catch (err) {
      this.#log(rt.key, `kubelet: ${(err as Error).message}`);
      return;
    }
    this.#writeStatus(rt);
    await this.#runContainer(rt);
  }

  async #runContainer(rt: Runtime): Promise<void> {
    if (rt.terminating || this.#stopped) return;
    const container = rt.pod.spec.containers[0];
    let env: Record<string, string>;
    try {
      env = await this.#environment(rt, container);
    } catch (err) {
      rt.state = { waiting: { reason: 'CreateContainerConfigError', message: (err as Error).message } };
      this.#log(rt.key, `kubelet: ${(err as Error).message}`);
      this.#writeStatus(rt);
      this.#scheduleRestart(rt, false);
      return;
    }
    if (rt.terminating || this.#stopped) return;
    const child = spawn(process.execPath, [bin, 'streamer'], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    rt.child = child;
    rt.runningSince = Date.now();
    rt.exited = new Promise<void>((resolve) => child.once('exit', (code, signal) => {
      this.#onExit(rt, child, code, signal);
      resolve();
    }));
    child.once('error', (err) => this.#log(rt.key, `kubelet: cannot start the process: ${err.message}`));
    for (const [stream, tag] of [[child.stdout!, ''], [child.stderr!, ' stderr']] as const) {
      createInterface({ input: stream }).on('line', (line) => this.#log(rt.key, line, tag));
    }
    rt.state = { running: { startedAt: isoNow() } };
    rt.started = true;
    rt.phase = 'Running';
    const probe = container.readinessProbe;
    rt.ready = false;
    if (!probe) rt.ready = true;
    this.#writeStatus(rt);
    if (probe) this.#startProbe(rt, probe, rt.readiness, (ok) => this.#onReadiness(rt, ok, probe));
    if (container.livenessProbe) {
      const live = container.livenessProbe;
      this.#startProbe(rt, live, rt.liveness, (ok) => this.#onLiveness(rt, ok, live));
    }
  }

  #onExit(rt: Runtime, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (rt.child !== child) return;
    this.#stopProbes(rt);
    const exitCode = code ?? 128 + (signal ? signalNumber(signal) : 0);
    const terminated: ContainerState = {
      terminated: {
        exitCode,
        ...(signal ? { signal: signalNumber(signal) } : {}),
        reason: exitCode === 0 ? 'Completed' : 'Error',
        startedAt: rt.state.running?.startedAt,
        finishedAt: isoNow(),
      },
    };
    this.#log(rt.key, `kubelet: process exited (${signal ?? `code ${code}`})`);
    rt.ready = false;
    rt.started = false;
    rt.state = terminated;
    if (rt.terminating || this.#stopped) return;
    const policy = rt.pod.spec.restartPolicy ?? 'Always';
    if (policy === 'Always' || (policy === 'OnFailure' && exitCode !== 0)) {
      rt.lastState = terminated;
      rt.state = { waiting: { reason: 'CrashLoopBackOff', message: `back-off ${rt.backoffMs} ms restarting failed container` } };
      this.#writeStatus(rt);
      this.#scheduleRestart(rt, Date.now() - (rt.runningSince ?? 0) > 10_000);
    } else {
      rt.phase = exitCode === 0 ? 'Succeeded' : 'Failed';
      this.#writeStatus(rt);
    }
  }

  #scheduleRestart(rt: Runtime, ranLong: boolean): void {
    const initial = this.#options.restartBackoffMs?.initialMs ?? 250;
    const max = this.#options.restartBackoffMs?.maxMs ?? 4000;
    if (ranLong) rt.backoffMs = initial;
    const delay = rt.backoffMs;
    rt.backoffMs = Math.min(max, rt.backoffMs * 2);
    rt.restartTimer = setTimeout(() => {
      if (rt.terminating || this.#stopped) return;
      if (rt.lastState) {
        rt.restartCount++;
        this.#restarts.set(rt.key, rt.restartCount);
      }
      void this.#runContainer(rt);
    }, delay);
  }

  /** SIGTERM, SIGKILL after the grace period, then the pod's deletion is finished. */
  async #terminate(rt: Runtime, graceSeconds: number): Promise<void> {
    rt.terminating = true;
    this.#stopProbes(rt);
    clearTimeout(rt.restartTimer);
    const child = rt.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      this.#log(rt.key, `kubelet: stopping the process (SIGTERM, SIGKILL after ${graceSeconds} s)`);
      child.kill('SIGTERM');
      const timer = setTimeout(() => {
        if (child.exitCode === null && child.signalCode === null) {
          this.#log(rt.key, 'kubelet: grace period over: SIGKILL');
          child.kill('SIGKILL');
        }
      }, graceSeconds * 1000);
      await rt.exited;
      clearTimeout(timer);
    }
    this.#runtimes.delete(rt.uid);
    if (!rt.deleted && !this.#stopped) await this.#finishDeletion(rt.pod);
    this.#kickScheduler();
  }

  async #finishDeletion(pod: Pod): Promise<void> {
    try {
      await this.#client.delete(resources.pods, pod.metadata.name, { namespace: pod.metadata.namespace, gracePeriodSeconds: 0, preconditions: { uid: pod.metadata.uid } });
    } catch (err) {
      if (!isNotFound(err) && !(err instanceof Error && /Precondition/.test(err.message))) this.#log(keyOf(pod), `kubelet: cannot delete the pod: ${(err as Error).message}`);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Probes

  #startProbe(rt: Runtime, probe: Probe, state: ProbeState, onResult: (ok: boolean) => void): void {
    state.successes = 0;
    state.failures = 0;
    const periodMs = (probe.periodSeconds ?? 10) * 1000;
    const run = async () => {
      if (rt.terminating || this.#stopped || !rt.child) return;
      const child = rt.child;
      const ok = await this.#probeOnce(rt, probe);
      if (rt.child !== child || rt.terminating || this.#stopped) return;
      onResult(ok);
      state.timer = setTimeout(run, periodMs);
    };
    state.timer = setTimeout(run, (probe.initialDelaySeconds ?? 0) * 1000);
  }

  #stopProbes(rt: Runtime): void {
    clearTimeout(rt.readiness.timer);
    clearTimeout(rt.liveness.timer);
  }

  async #probeOnce(rt: Runtime, probe: Probe): Promise<boolean> {
    const container = rt.pod.spec.containers[0];
    const timeoutMs = (probe.timeoutSeconds ?? 1) * 1000;
    const portOf = (port: number | string) => (typeof port === 'number' ? port : (container.ports?.find((p) => p.name === port)?.containerPort ?? Number(port)));
    if (probe.httpGet) {
      const host = probe.httpGet.host ?? rt.podIP;
      const url = `${(probe.httpGet.scheme ?? 'HTTP').toLowerCase()}://${host}:${portOf(probe.httpGet.port)}${probe.httpGet.path ?? '/'}`;
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
        await res.arrayBuffer();
        return res.status >= 200 && res.status < 400;
      } catch {
        return false;
      }
    }
    if (probe.tcpSocket) {
      const port = portOf(probe.tcpSocket.port);
      return new Promise((resolve) => {
        const s = net.connect(port, probe.tcpSocket!.host ?? rt.podIP);
        const done = (ok: boolean) => {
          s.destroy();
          resolve(ok);
        };
        s.setTimeout(timeoutMs, () => done(false));
        s.once('connect', () => done(true));
        s.once('error', () => done(false));
      });
    }
    return true;
  }

  #onReadiness(rt: Runtime, ok: boolean, probe: Probe): void {
    const s = rt.readiness;
    if (ok) {
      s.failures = 0;
      s.successes++;
      if (!rt.ready && s.successes >= (probe.successThreshold ?? 1)) {
        rt.ready = true;
        this.#writeStatus(rt);
      }
    } else {
      s.successes = 0;
      s.failures++;
      if (rt.ready && s.failures >= (probe.failureThreshold ?? 3)) {
        rt.ready = false;
        this.#writeStatus(rt);
      }
    }
  }

  #onLiveness(rt: Runtime, ok: boolean, probe: Probe): void {
    const s = rt.liveness;
    if (ok) {
      s.failures = 0;
      return;
    }
    s.failures++;
    if (s.failures >= (probe.failureThreshold ?? 3) && rt.child) {
      this.#log(rt.key, 'kubelet: liveness probe failed: restarting the container');
      s.failures = 0;
      const child = rt.child;
      child.kill('SIGTERM');
      setTimeout(() => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }, graceOf(rt.pod) * 1000).unref();
    }
  }

  // -------------------------------------------------------------------------------------------
  // Status

  #writeStatus(rt: Runtime): void {
    if (rt.deleted || this.#stopped) return;
    rt.statusDirty = true;
    if (rt.statusWriting) return;
    rt.statusWriting = true;
    void (async () => {
      try {
        while (rt.statusDirty && !rt.deleted && !this.#stopped) {
          rt.statusDirty = false;
          try {
            await this.#client.patchStatus(resources.pods, rt.name, { status: this.#status(rt) }, { namespace: rt.namespace });
          } catch (err) {
            if (isNotFound(err)) rt.deleted = true;
            else this.#log(rt.key, `kubelet: cannot write the status: ${(err as Error).message}`);
          }
        }
      } finally {
        rt.statusWriting = false;
      }
    })();
  }

  #status(rt: Runtime): Record<string, unknown> {
    const condition = (type: string, ok: boolean, reason?: string, message?: string): PodCondition => {
      const status = ok ? 'True' : 'False';
      let t = rt.transitions.get(type);
      if (!t || t.status !== status) {
        t = { status, at: isoNow() };
        rt.transitions.set(type, t);
      }
      return { type, status, lastProbeTime: null, lastTransitionTime: t.at, ...(reason ? { reason } : {}), ...(message ? { message } : {}) };
    };
    const containers = rt.pod.spec.containers;
    const notReady = rt.ready ? undefined : `containers with unready status: [${containers[0].name}]`;
    const statuses: ContainerStatus[] = containers.map((c: Container, i: number) => {
      const image = c.image ?? '';
      if (i > 0) {
        // Only the first container runs; the others are reported as running alongside it.
        return { name: c.name, ready: rt.ready, started: rt.started, restartCount: 0, image, imageID: `fake://${image}`, containerID: `fake://${rt.uid}/${c.name}`, state: rt.started ? { running: { startedAt: rt.startTime } } : { waiting: { reason: 'ContainerCreating' } } };
      }
      return {
        name: c.name,
        ready: rt.ready,
        started: rt.started,
        restartCount: rt.restartCount,
        image,
        imageID: `fake://${image}`,
        ...(rt.child?.pid ? { containerID: `fake://${rt.child.pid}` } : {}),
        state: rt.state,
        ...(rt.lastState ? { lastState: rt.lastState } : {}),
      };
    });
    return {
      phase: rt.phase,
      hostIP: rt.node.internalIP,
      hostIPs: [{ ip: rt.node.internalIP }],
      ...(rt.podIP ? { podIP: rt.podIP, podIPs: [{ ip: rt.podIP }] } : {}),
      startTime: rt.startTime,
      conditions: [
        condition('PodReadyToStartContainers', true),
        condition('Initialized', true),
        condition('Ready', rt.ready, rt.ready ? undefined : 'ContainersNotReady', notReady),
        condition('ContainersReady', rt.ready, rt.ready ? undefined : 'ContainersNotReady', notReady),
        condition('PodScheduled', true),
      ],
      containerStatuses: statuses,
      qosClass: 'BestEffort',
    };
  }

  // -------------------------------------------------------------------------------------------
  // Environment and addresses

  async #environment(rt: Runtime, container: Container): Promise<Record<string, string>> {
    const pod = rt.pod;
    const vars = new Map<string, string>();
    const lookup = (name: string) => vars.get(name);
    for (const from of (container.envFrom as { prefix?: string; secretRef?: { name: string; optional?: boolean }; configMapRef?: { name: string; optional?: boolean } }[] | undefined) ?? []) {
      const data = from.secretRef
        ? await this.#secretData(rt.namespace, from.secretRef.name, from.secretRef.optional)
        : from.configMapRef
          ? await this.#configMapData(rt.namespace, from.configMapRef.name, from.configMapRef.optional)
          : {};
      for (const [k, v] of Object.entries(data)) vars.set(`${from.prefix ?? ''}${k}`, v);
    }
    for (const e of container.env ?? []) {
      let value: string | undefined;
      if (e.value !== undefined) value = expandVars(e.value, lookup);
      else if (e.valueFrom?.fieldRef) value = fieldValue(pod, rt, e.valueFrom.fieldRef.fieldPath);
      else if (e.valueFrom?.secretKeyRef) {
        const ref = e.valueFrom.secretKeyRef;
        const data = await this.#secretData(rt.namespace, ref.name, ref.optional);
        if (data[ref.key] === undefined && !ref.optional) throw new Error(`couldn't find key ${ref.key} in Secret ${rt.namespace}/${ref.name}`);
        value = data[ref.key];
      } else if (e.valueFrom?.configMapKeyRef) {
        const ref = e.valueFrom.configMapKeyRef;
        const data = await this.#configMapData(rt.namespace, ref.name, ref.optional);
        if (data[ref.key] === undefined && !ref.optional) throw new Error(`couldn't find key ${ref.key} in ConfigMap ${rt.namespace}/${ref.name}`);
        value = data[ref.key];
      } else if (e.valueFrom?.resourceFieldRef) value = '0';
      else value = '';
      if (value !== undefined) vars.set(e.name, value);
    }
    // Where the streamer binds: its pod's own address; the media port on the node's address when
    // it is a hostPort (as the node's port mapping would deliver it).
    const rtpPort = Number(vars.get('GBCAST_RTP_PORT'));
    const mapped = container.ports?.find((p) => p.containerPort === rtpPort && p.hostPort);
    if (!vars.has('GBCAST_RTP_HOST')) vars.set('GBCAST_RTP_HOST', mapped ? rt.node.internalIP : rt.podIP);
    if (mapped && mapped.hostPort !== rtpPort) vars.set('GBCAST_RTP_PORT', String(mapped.hostPort));
    if (!vars.has('GBCAST_HTTP_HOST')) vars.set('GBCAST_HTTP_HOST', rt.podIP);
    return {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/tmp',
      HOSTNAME: pod.metadata.name,
      ...this.#options.env,
      ...Object.fromEntries(vars),
    };
  }

  async #secretData(namespace: string, name: string, optional?: boolean): Promise<Record<string, string>> {
    const secret = await this.#client.tryGet(resources.secrets, name, namespace);
    if (!secret) {
      if (optional) return {};
      throw new Error(`secret "${name}" not found`);
    }
    return Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
  }

  async #configMapData(namespace: string, name: string, optional?: boolean): Promise<Record<string, string>> {
    try {
      const cm = await this.#client.request<{ data?: Record<string, string> }>('GET', `/api/v1/namespaces/${encodeURIComponent(namespace)}/configmaps/${encodeURIComponent(name)}`);
      return cm.data ?? {};
    } catch (err) {
      if (isNotFound(err)) {
        if (optional) return {};
        throw new Error(`configmap "${name}" not found`);
      }
      throw err;
    }
  }

  /** A loopback address of the pod's own where every port of its containers is free. */
  async #allocatePodIP(pod: Pod): Promise<string> {
    const ports = pod.spec.containers.flatMap((c) => (c.ports ?? []).map((p) => ({ port: p.containerPort, udp: p.protocol === 'UDP' })));
    for (let tries = 0; tries < 200; tries++) {
      const n = ++this.#ipCounter;
      const ip = `127.${this.#ipOctet}.${Math.floor(n / 250) % 250}.${(n % 250) + 1}`;
      if (await allFree(ip, ports)) return ip;
    }
    throw new Error('no free loopback address for the pod');
  }

  #log(key: string, line: string, tag = ''): void {
    const lines = this.#logs.get(key) ?? [];
    this.#logs.set(key, lines);
    lines.push(line);
    if (this.#echo) process.stderr.write(`[pod ${key}${tag}] ${line}\n`);
  }
}

// ---------------------------------------------------------------------------------------------

function matches(key: string, name: string, namespace?: string): boolean {
  return namespace ? key === `${namespace}/${name}` : key.endsWith(`/${name}`);
}

function graceOf(pod: Pod): number {
  return pod.metadata.deletionGracePeriodSeconds ?? pod.spec.terminationGracePeriodSeconds ?? 30;
}

/** The pod's host ports as `PROTO/port`. */
function hostPortsOf(pod: Pod): string[] {
  return pod.spec.containers.flatMap((c) => (c.ports ?? []).filter((p) => p.hostPort).map((p) => `${p.protocol ?? 'TCP'}/${p.hostPort}`));
}

function fieldValue(pod: Pod, rt: Runtime, fieldPath: string): string {
  const label = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fieldPath);
  if (label) return (label[1] === 'labels' ? pod.metadata.labels : pod.metadata.annotations)?.[label[2]] ?? '';
  switch (fieldPath) {
    case 'metadata.name':
      return pod.metadata.name;
    case 'metadata.namespace':
      return pod.metadata.namespace ?? 'default';
    case 'metadata.uid':
      return pod.metadata.uid ?? '';
    case 'spec.nodeName':
      return pod.spec.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec.serviceAccountName ?? 'default';
    case 'status.podIP':
    case 'status.podIPs':
      return rt.podIP;
    case 'status.hostIP':
    case 'status.hostIPs':
      return rt.node.internalIP;
    default:
      throw new Error(`unsupported fieldRef ${fieldPath}`);
  }
}

/**
 * Kubernetes' expansion of an env value: `$(VAR)` becomes VAR's value when VAR is defined (earlier
 * in the list), else stays as written; `$$` is a literal `$`.
 */
export function expandVars(input: string, lookup: (name: string) => string | undefined): string {
  let out = '';
  for (let i = 0; i < input.length; i++) {
    const c = input[i];
    if (c !== '$' || i + 1 >= input.length) {
      out += c;
      continue;
    }
    const next = input[i + 1];
    if (next === '$') {
      out += '$';
      i++;
    } else if (next === '(') {
      const close = input.indexOf(')', i + 2);
      if (close < 0) {
        out += input.slice(i);
        break;
      }
      const name = input.slice(i + 2, close);
      out += lookup(name) ?? `$(${name})`;
      i = close;
    } else {
      out += c + next;
      i++;
    }
  }
  return out;
}

const signals: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGTERM: 15 };

function signalNumber(signal: NodeJS.Signals): number {
  return signals[signal] ?? 0;
}

async function allFree(ip: string, ports: { port: number; udp: boolean }[]): Promise<boolean> {
  for (const { port, udp } of ports) {
    const free = udp
      ? await new Promise<boolean>((resolve) => {
          const s = dgram.createSocket('udp4');
          s.once('error', () => resolve(false));
          s.bind(port, ip, () => s.close(() => resolve(true)));
        })
      : await new Promise<boolean>((resolve) => {
          const s = net.createServer();
          s.once('error', () => resolve(false));
          s.listen(port, ip, () => s.close(() => resolve(true)));
        });
    if (!free) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// kube-proxy, NodePort Services only

interface Listener {
  key: string;
  close(): Promise<void>;
}

class NodePorts {
  readonly #nodes: NodeInfo[];
  readonly #services: Informer<Service>;
  readonly #pods: Informer<Pod>;
  readonly #log: (line: string) => void;
  readonly #listeners = new Map<string, Listener>();
  #closed = false;

  constructor(nodes: NodeInfo[], services: Informer<Service>, pods: Informer<Pod>, log: (line: string) => void) {
    this.#nodes = nodes;
    this.#services = services;
    this.#pods = pods;
    this.#log = log;
  }

  /** Opens the node ports Services ask for and closes those no longer asked for. */
  sync(): void {
    if (this.#closed) return;
    const wanted = new Map<string, { node: NodeInfo; protocol: string; nodePort: number; service: string; port: number }>();
    for (const svc of this.#services.list()) {
      if (svc.spec.type !== 'NodePort' && svc.spec.type !== 'LoadBalancer') continue;
      for (const p of svc.spec.ports ?? []) {
        if (!p.nodePort) continue;
        for (const node of this.#nodes) {
          const protocol = p.protocol ?? 'TCP';
          wanted.set(`${node.internalIP}/${protocol}/${p.nodePort}`, { node, protocol, nodePort: p.nodePort, service: keyOf(svc), port: p.port });
        }
      }
    }
    for (const [key, l] of this.#listeners) {
      if (!wanted.has(key)) {
        this.#listeners.delete(key);
        void l.close();
      }
    }
    for (const [key, w] of wanted) {
      if (this.#listeners.has(key)) continue;
      const target = () => this.#target(w.service, w.port, w.node);
      const listener = w.protocol === 'UDP' ? this.#udp(key, w.node.internalIP, w.nodePort, target) : this.#tcp(key, w.node.internalIP, w.nodePort, target);
      this.#listeners.set(key, listener);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#listeners.values()].map((l) => l.close()));
    this.#listeners.clear();
  }

  /** A Ready endpoint of the Service's port (on `node` when the Service keeps traffic local). */
  #target(serviceKey: string, port: number, node: NodeInfo): { host: string; port: number } | undefined {
    const svc = this.#services.get(serviceKey);
    if (!svc?.spec.selector) return undefined;
    const sp = svc.spec.ports?.find((p) => p.port === port);
    if (!sp) return undefined;
    const local = svc.spec.externalTrafficPolicy === 'Local';
    const pods = this.#pods.list((p) => {
      if (p.metadata.namespace !== svc.metadata.namespace || p.metadata.deletionTimestamp || !p.status?.podIP) return false;
      if (local && p.spec.nodeName !== node.name) return false;
      if (p.status.conditions?.find((c) => c.type === 'Ready')?.status !== 'True') return false;
      return Object.entries(svc.spec.selector ?? {}).every(([k, v]) => p.metadata.labels?.[k] === v);
    });
    const pod = pods[0];
    if (!pod) return undefined;
    const tp = sp.targetPort ?? sp.port;
    const targetPort = typeof tp === 'number' ? tp : (pod.spec.containers.flatMap((c) => c.ports ?? []).find((p) => p.name === tp)?.containerPort ?? Number(tp));
    return { host: pod.status!.podIP!, port: targetPort };
  }

  #tcp(key: string, host: string, port: number, target: () => { host: string; port: number } | undefined): Listener {
    const sockets = new Set<net.Socket>();
    const server = net.createServer((client) => {
      const t = target();
      if (!t) {
        client.destroy();
        return;
      }
      pipeTo(client, t.port, t.host, sockets);
    });
    server.on('error', (err) => this.#log(`cannot listen on ${key}: ${err.message}`));
    server.listen(port, host);
    return {
      key,
      close: () =>
        new Promise<void>((resolve) => {
          for (const s of sockets) s.destroy();
          if (!server.listening) return resolve();
          server.close(() => resolve());
        }),
    };
  }

  #udp(key: string, host: string, port: number, target: () => { host: string; port: number } | undefined): Listener {
    const front = dgram.createSocket('udp4');
    /** One upstream socket per client address, so answers find their way back. */
    const sessions = new Map<string, { socket: dgram.Socket; idle: NodeJS.Timeout }>();
    const end = (id: string) => {
      const s = sessions.get(id);
      if (!s) return;
      sessions.delete(id);
      clearTimeout(s.idle);
      s.socket.close();
    };
    front.on('error', (err) => this.#log(`cannot listen on ${key}: ${err.message}`));
    front.on('message', (msg, rinfo) => {
      const t = target();
      if (!t) return;
      const id = `${rinfo.address}:${rinfo.port}`;
      let s = sessions.get(id);
      if (!s) {
        const socket = dgram.createSocket('udp4');
        socket.on('message', (answer) => front.send(answer, rinfo.port, rinfo.address));
        socket.on('error', () => end(id));
        socket.bind(0, host);
        s = { socket, idle: setTimeout(() => end(id), 60_000) };
        sessions.set(id, s);
      }
      s.idle.refresh();
      s.socket.send(msg, t.port, t.host);
    });
    front.bind(port, host);
    return {
      key,
      close: async () => {
        for (const id of [...sessions.keys()]) end(id);
        await new Promise<void>((resolve) => {
          try {
            front.close(() => resolve());
          } catch {
            resolve();
          }
        });
      },
    };
  }
}
