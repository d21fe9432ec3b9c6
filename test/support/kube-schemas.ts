/**
 * Validation of the manifests the operator writes, before any API server sees them:
 *
 * - built-in objects (Pod, Service, Lease, Event in core/v1 and events.k8s.io/v1, Secret, Node, …):
 *   the Kubernetes OpenAPI schema through kubernetes-models (types, enums, required fields, formats),
 *   unknown fields through @kubernetes/client-node's type tables (kubernetes-models does not report
 *   them, the API server drops them or refuses them under strict field validation), and the checks the
 *   API server makes beyond the schema that an operator can get wrong (names, labels, ports and their
 *   ranges, NodePort rules, probes, env, selectors, event fields);
 * - CustomResourceDefinitions: the apiextensions.k8s.io/v1 schema (kubernetes-models) plus
 *   the structural-schema and CRD rules of crd-schema/;
 * - our custom resources: pruned, defaulted and validated against their CRD, CEL rules included.
 *
 * Every function returns messages worded like the API server's (`spec.ports[0].port: Invalid value: …`);
 * an empty list means valid.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { parse } from 'yaml';
import type { AdmitOptions, CustomResourceDefinition } from './crd-schema/index.ts';
import { compiledSchemaOf, crdErrors } from './crd-schema/index.ts';
import type { FieldError } from './kube-fields.ts';
import { fieldError, formatFieldError, isConfigMapKey, isDns1123Label, isIanaSvcName, isLabelValue, isQualifiedName, objectMetaErrors } from './kube-fields.ts';
import type { NameRule } from './kube-fields.ts';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

interface ModelClass {
  new (data: unknown): { validate(): void };
}
interface AjvError {
  instancePath: string;
  message?: string;
  params?: Record<string, unknown>;
}

/** The module of kubernetes-models that holds a kind: `kubernetes-models/v1/Pod`, `kubernetes-models/coordination.k8s.io/v1/Lease`. */
export function kubeModelModule(apiVersion: string, kind: string): string {
  return `kubernetes-models/${apiVersion}/${kind}`;
}

const modelCache = new Map<string, ModelClass | null>();

/** The kubernetes-models class of an apiVersion and kind, or undefined when there is none. */
export async function kubeModelFor(apiVersion: string, kind: string): Promise<ModelClass | undefined> {
  const key = `${apiVersion}/${kind}`;
  if (!modelCache.has(key)) {
    let cls: ModelClass | null = null;
    if (/^([a-z0-9.-]+\/)?v\d+((alpha|beta)\d+)?$/.test(apiVersion) && /^[A-Z][A-Za-z0-9]*$/.test(kind)) {
      try {
        const mod = (await import(kubeModelModule(apiVersion, kind))) as Record<string, unknown>;
        cls = (mod[kind] as ModelClass | undefined) ?? null;
      } catch {
        cls = null;
      }
    }
    modelCache.set(key, cls);
  }
  return modelCache.get(key) ?? undefined;
}

const clusterScoped = new Set([
  'Namespace', 'Node', 'PersistentVolume', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition',
  'StorageClass', 'PriorityClass', 'IngressClass', 'RuntimeClass', 'CSIDriver', 'CSINode', 'VolumeAttachment',
  'ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration', 'APIService', 'CertificateSigningRequest',
  'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding', 'FlowSchema', 'PriorityLevelConfiguration',
]);

function nameRuleOf(kind: string): NameRule {
  if (kind === 'Service') return 'dns1035';
  if (kind === 'Namespace') return 'label';
  if (/^(Cluster)?Role(Binding)?$/.test(kind)) return 'path-segment';
  return 'subdomain';
}

// ---------------------------------------------------------------------------------------------
// Unknown fields, from @kubernetes/client-node's attribute tables.

interface AttributeType {
  baseName: string;
  type: string;
}
type ClientModel = { getAttributeTypeMap(): AttributeType[] };
const clientModels = k8s as unknown as Record<string, ClientModel | undefined>;
const leafTypes = new Set(['string', 'number', 'boolean', 'Date', 'any', 'IntOrString', 'object']);

function clientModelName(apiVersion: string, kind: string): string | undefined {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['core', apiVersion];
  const ver = version.charAt(0).toUpperCase() + version.slice(1);
  const prefix = group.split('.')[0];
  for (const name of [`${prefix.charAt(0).toUpperCase()}${prefix.slice(1)}${ver}${kind}`, `${ver}${kind}`])
    if (typeof clientModels[name]?.getAttributeTypeMap === 'function') return name;
  return undefined;
}

function findUnknownFields(v: unknown, type: string, path: string, out: string[]): void {
  if (v === null || v === undefined || leafTypes.has(type)) return;
  const list = /^Array<(.+)>$/.exec(type);
  if (list) {
    if (Array.isArray(v)) v.forEach((x, i) => findUnknownFields(x, list[1], `${path}[${i}]`, out));
    return;
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) {
    if (isObj(v)) for (const [k, x] of Object.entries(v)) findUnknownFields(x, map[1], `${path}[${k}]`, out);
    return;
  }
  const model = clientModels[type];
  if (!isObj(v) || typeof model?.getAttributeTypeMap !== 'function') return;
  const attrs = new Map(model.getAttributeTypeMap().map((a) => [a.baseName, a.type]));
  for (const [k, x] of Object.entries(v)) {
    const t = attrs.get(k);
    const p = path ? `${path}.${k}` : k;
    if (t === undefined) out.push(p);
    else findUnknownFields(x, t, p, out);
  }
}

/** Fields of a built-in object that its type does not have (`spec.containers[0].imagePullPolicyy`). */
export function unknownKubeFields(obj: unknown): string[] {
  if (!isObj(obj) || typeof obj.apiVersion !== 'string' || typeof obj.kind !== 'string') return [];
  const name = clientModelName(obj.apiVersion, obj.kind);
  if (!name) return [];
  const out: string[] = [];
  findUnknownFields(obj, name, '', out);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Built-in objects.

export interface KubeObjectOptions {
  /** Creating (name may come from generateName) or updating; default create. */
  create?: boolean;
}

function ajvPath(instancePath: string): string {
  return instancePath
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), '');
}

/**
 * Validates a built-in object: the kind's OpenAPI schema (kubernetes-models), unknown fields, metadata
 * and the API server's own checks for the kinds the operator writes. Resolves to the problems found.
 */
export async function validateKubeObject(obj: unknown, o: KubeObjectOptions = {}): Promise<string[]> {
  if (!isObj(obj)) return ['the object must be a JSON object'];
  const { apiVersion, kind } = obj;
  if (typeof apiVersion !== 'string' || typeof kind !== 'string') return ['apiVersion and kind are required'];
  const model = await kubeModelFor(apiVersion, kind);
  if (!model) return [`no Kubernetes schema for ${apiVersion} ${kind}`];
  const problems: string[] = [];
  try {
    new model(obj).validate();
  } catch (e) {
    const errors = (e as { errors?: AjvError[] }).errors;
    if (!errors) problems.push(String((e as Error).message));
    else
      for (const err of errors) {
        if (err.message?.includes('must match exactly one schema in "oneOf"')) continue;
        const extra = err.params?.allowedValues ? ` (${(err.params.allowedValues as unknown[]).join(', ')})` : '';
        problems.push(`${ajvPath(err.instancePath) || '<root>'}: ${err.message ?? 'invalid'}${extra}`);
      }
  }
  for (const f of unknownKubeFields(obj)) problems.push(`unknown field "${f}"`);
  const namespaced = !clusterScoped.has(kind);
  const meta = isObj(obj.metadata) ? { ...obj.metadata } : obj.metadata;
  // A namespaced object without a namespace gets the one of the request's URL.
  if (isObj(meta) && namespaced && meta.namespace === undefined) meta.namespace = 'default';
  const errs: FieldError[] = objectMetaErrors(meta, { namespaced, nameRule: nameRuleOf(kind), create: o.create !== false });
  errs.push(...semanticErrors(obj, apiVersion, kind));
  problems.push(...errs.map(formatFieldError));
  return problems;
}

/** Throws with every problem of a built-in object. */
export async function assertValidKubeObject(obj: unknown, o: KubeObjectOptions = {}): Promise<void> {
  const problems = await validateKubeObject(obj, o);
  if (problems.length) {
    const id = isObj(obj) ? `${String(obj.kind)} ${String((obj.metadata as Obj | undefined)?.name ?? (obj.metadata as Obj | undefined)?.generateName ?? '')}` : 'object';
    throw new Error(`${id} is invalid:\n  ${problems.join('\n  ')}`);
  }
}

function semanticErrors(obj: Obj, apiVersion: string, kind: string): FieldError[] {
  const errs: FieldError[] = [];
  const spec = isObj(obj.spec) ? obj.spec : undefined;
  switch (`${apiVersion}/${kind}`) {
    case 'v1/Pod':
      if (spec) podSpecErrors(spec, 'spec', errs);
      else errs.push(fieldError('FieldValueRequired', 'spec', ''));
      break;
    case 'apps/v1/Deployment':
    case 'apps/v1/StatefulSet':
    case 'apps/v1/DaemonSet':
    case 'apps/v1/ReplicaSet':
    case 'batch/v1/Job':
      workloadErrors(spec, kind, errs);
      break;
    case 'v1/Service':
      serviceErrors(spec, errs);
      break;
    case 'coordination.k8s.io/v1/Lease':
      if (spec) {
        if (spec.leaseDurationSeconds !== undefined && !((spec.leaseDurationSeconds as number) > 0))
          errs.push(fieldError('FieldValueInvalid', 'spec.leaseDurationSeconds', 'must be greater than 0', spec.leaseDurationSeconds));
        if (spec.leaseTransitions !== undefined && !((spec.leaseTransitions as number) >= 0))
          errs.push(fieldError('FieldValueInvalid', 'spec.leaseTransitions', 'must be greater than or equal to 0', spec.leaseTransitions));
      }
      break;
    case 'v1/Event':
      coreEventErrors(obj, errs);
      break;
    case 'events.k8s.io/v1/Event':
      eventsV1Errors(obj, errs);
      break;
    case 'v1/Secret':
    case 'v1/ConfigMap':
      dataKeyErrors(obj, kind, errs);
      break;
    case 'autoscaling/v2/HorizontalPodAutoscaler':
      if (spec) {
        const min = (spec.minReplicas as number | undefined) ?? 1;
        if (min < 1) errs.push(fieldError('FieldValueInvalid', 'spec.minReplicas', 'must be greater than or equal to 1', min));
        if ((spec.maxReplicas as number) < min) errs.push(fieldError('FieldValueInvalid', 'spec.maxReplicas', 'must be greater than or equal to `minReplicas`', spec.maxReplicas));
      }
      break;
  }
  return errs;
}

const portOk = (p: unknown) => typeof p === 'number' && Number.isInteger(p) && p >= 1 && p <= 65535;
const protocols = ['TCP', 'UDP', 'SCTP'];

function intOrNamedPortErrors(p: unknown, path: string, errs: FieldError[]): void {
  if (typeof p === 'number' ? !portOk(p) : typeof p !== 'string' || !isIanaSvcName(p))
    errs.push(fieldError('FieldValueInvalid', path, typeof p === 'number' ? 'must be between 1 and 65535, inclusive' : 'must be a port number or an IANA_SVC_NAME (at most 15 lowercase alphanumerics or -, with a letter)', p));
}

function probeErrors(probe: unknown, path: string, errs: FieldError[]): void {
  if (!isObj(probe)) return;
  const handlers = ['exec', 'httpGet', 'tcpSocket', 'grpc'].filter((h) => probe[h] !== undefined);
  if (handlers.length !== 1) errs.push(fieldError(handlers.length ? 'FieldValueForbidden' : 'FieldValueRequired', path, 'must specify exactly one handler type (exec, httpGet, tcpSocket or grpc)'));
  for (const h of ['httpGet', 'tcpSocket'])
    if (isObj(probe[h])) intOrNamedPortErrors((probe[h] as Obj).port, `${path}.${h}.port`, errs);
  for (const k of ['periodSeconds', 'timeoutSeconds', 'successThreshold', 'failureThreshold'])
    if (probe[k] !== undefined && !((probe[k] as number) >= 1)) errs.push(fieldError('FieldValueInvalid', `${path}.${k}`, 'must be greater than or equal to 1', probe[k]));
  if (probe.initialDelaySeconds !== undefined && !((probe.initialDelaySeconds as number) >= 0))
    errs.push(fieldError('FieldValueInvalid', `${path}.initialDelaySeconds`, 'must be greater than or equal to 0', probe.initialDelaySeconds));
}

/** Quantity ("500m", "1Gi", "2") as a number, or undefined when it is not one. */
export function parseQuantity(q: unknown): number | undefined {
  if (typeof q === 'number') return q;
  if (typeof q !== 'string') return undefined;
  const m = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E))?$/.exec(q);
  if (!m) return undefined;
  const scale: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60, n: 1e-9, u: 1e-6, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };
  return Number(m[1]) * (m[2] ? 10 ** Number(m[2].slice(1)) : m[3] ? scale[m[3]] : 1);
}

function containerErrors(c: Obj, path: string, errs: FieldError[], hostPorts: Map<string, string>, hostNetwork: boolean): void {
  if (typeof c.name !== 'string' || !isDns1123Label(c.name)) errs.push(fieldError(c.name ? 'FieldValueInvalid' : 'FieldValueRequired', `${path}.name`, 'must be a lowercase RFC 1123 label', c.name));
  if (typeof c.image !== 'string' || !c.image.trim()) errs.push(fieldError('FieldValueRequired', `${path}.image`, ''));
  const portNames = new Set<string>();
  ((c.ports as Obj[] | undefined) ?? []).forEach((p, i) => {
    const pp = `${path}.ports[${i}]`;
    if (typeof p.containerPort === 'number' && !portOk(p.containerPort)) errs.push(fieldError('FieldValueInvalid', `${pp}.containerPort`, 'must be between 1 and 65535, inclusive', p.containerPort));
    if (p.hostPort !== undefined && p.hostPort !== 0 && !portOk(p.hostPort)) errs.push(fieldError('FieldValueInvalid', `${pp}.hostPort`, 'must be between 1 and 65535, inclusive', p.hostPort));
    if (hostNetwork && p.hostPort !== undefined && p.hostPort !== p.containerPort)
      errs.push(fieldError('FieldValueInvalid', `${pp}.hostPort`, 'must match `containerPort` when `hostNetwork` is true', p.hostPort));
    const proto = (p.protocol as string | undefined) ?? 'TCP';
    if (!protocols.includes(proto)) errs.push(fieldError('FieldValueNotSupported', `${pp}.protocol`, 'supported values: "SCTP", "TCP", "UDP"', proto));
    if (p.name !== undefined) {
      if (typeof p.name !== 'string' || !isIanaSvcName(p.name)) errs.push(fieldError('FieldValueInvalid', `${pp}.name`, 'must be an IANA_SVC_NAME (at most 15 lowercase alphanumerics or -, with a letter)', p.name));
      else if (portNames.has(p.name)) errs.push(fieldError('FieldValueDuplicate', `${pp}.name`, '', p.name));
      portNames.add(p.name as string);
    }
    if (typeof p.hostPort === 'number' && p.hostPort !== 0) {
      const key = `${p.hostPort}/${proto}/${(p.hostIP as string | undefined) ?? ''}`;
      if (hostPorts.has(key)) errs.push(fieldError('FieldValueDuplicate', `${pp}.hostPort`, `hostPort conflicts with ${hostPorts.get(key)}`, `${p.hostPort}/${proto}`));
      hostPorts.set(key, `${pp}.hostPort`);
    }
  });
  const envNames = new Set<string>();
  ((c.env as Obj[] | undefined) ?? []).forEach((e, i) => {
    const ep = `${path}.env[${i}]`;
    if (typeof e.name !== 'string' || !e.name || !/^[\x20-\x7e]+$/.test(e.name) || e.name.includes('='))
      errs.push(fieldError('FieldValueInvalid', `${ep}.name`, "a valid environment variable name must consist only of printable ASCII characters other than '='", e.name));
    if (e.value !== undefined && e.value !== '' && e.valueFrom !== undefined) errs.push(fieldError('FieldValueInvalid', `${ep}.valueFrom`, 'may not be specified when `value` is not empty', ''));
    if (isObj(e.valueFrom)) {
      const sources = ['fieldRef', 'resourceFieldRef', 'configMapKeyRef', 'secretKeyRef', 'fileKeyRef'].filter((s) => (e.valueFrom as Obj)[s] !== undefined);
      if (sources.length !== 1) errs.push(fieldError('FieldValueInvalid', `${ep}.valueFrom`, 'must specify exactly one of fieldRef, resourceFieldRef, configMapKeyRef, secretKeyRef or fileKeyRef', ''));
    }
    envNames.add(e.name as string);
  });
  const res = isObj(c.resources) ? c.resources : {};
  const limits = isObj(res.limits) ? res.limits : {};
  for (const [r, q] of Object.entries(isObj(res.requests) ? res.requests : {})) {
    const req = parseQuantity(q);
    const lim = parseQuantity(limits[r]);
    if (req !== undefined && lim !== undefined && req > lim) errs.push(fieldError('FieldValueInvalid', `${path}.resources.requests[${r}]`, `must be less than or equal to ${r} limit of ${String(limits[r])}`, q));
  }
  for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe']) probeErrors(c[probe], `${path}.${probe}`, errs);
}

function podSpecErrors(spec: Obj, path: string, errs: FieldError[]): void {
  const containers = Array.isArray(spec.containers) ? (spec.containers as Obj[]) : [];
  if (!containers.length) errs.push(fieldError('FieldValueRequired', `${path}.containers`, ''));
  const hostPorts = new Map<string, string>();
  const names = new Map<string, string>();
  const hostNetwork = spec.hostNetwork === true;
  for (const [list, items] of [['initContainers', (spec.initContainers as Obj[] | undefined) ?? []], ['containers', containers]] as const)
    items.forEach((c, i) => {
      const cp = `${path}.${list}[${i}]`;
      containerErrors(c, cp, errs, hostPorts, hostNetwork);
      if (typeof c.name === 'string') {
        if (names.has(c.name)) errs.push(fieldError('FieldValueDuplicate', `${cp}.name`, '', c.name));
        names.set(c.name, cp);
      }
    });
  const volumes = new Set<string>();
  ((spec.volumes as Obj[] | undefined) ?? []).forEach((v, i) => {
    if (typeof v.name !== 'string' || !isDns1123Label(v.name)) errs.push(fieldError('FieldValueInvalid', `${path}.volumes[${i}].name`, 'must be a lowercase RFC 1123 label', v.name));
    else if (volumes.has(v.name)) errs.push(fieldError('FieldValueDuplicate', `${path}.volumes[${i}].name`, '', v.name));
    volumes.add(v.name as string);
  });
  containers.forEach((c, i) =>
    ((c.volumeMounts as Obj[] | undefined) ?? []).forEach((m, j) => {
      if (!volumes.has(m.name as string)) errs.push(fieldError('FieldValueNotFound', `${path}.containers[${i}].volumeMounts[${j}].name`, '', m.name));
    }),
  );
  if (spec.restartPolicy !== undefined && !['Always', 'OnFailure', 'Never'].includes(spec.restartPolicy as string))
    errs.push(fieldError('FieldValueNotSupported', `${path}.restartPolicy`, 'supported values: "Always", "Never", "OnFailure"', spec.restartPolicy));
  if (spec.terminationGracePeriodSeconds !== undefined && !((spec.terminationGracePeriodSeconds as number) >= 0))
    errs.push(fieldError('FieldValueInvalid', `${path}.terminationGracePeriodSeconds`, 'must be greater than or equal to 0', spec.terminationGracePeriodSeconds));
  labelMapErrors(spec.nodeSelector, `${path}.nodeSelector`, errs);
  ((spec.tolerations as Obj[] | undefined) ?? []).forEach((t, i) => {
    const tp = `${path}.tolerations[${i}]`;
    const op = (t.operator as string | undefined) ?? 'Equal';
    if (!['Equal', 'Exists'].includes(op)) errs.push(fieldError('FieldValueNotSupported', `${tp}.operator`, 'supported values: "Equal", "Exists"', op));
    if (op === 'Exists' && t.value) errs.push(fieldError('FieldValueInvalid', `${tp}.operator`, 'value must be empty when `operator` is \'Exists\'', t.value));
    if (!t.key && op !== 'Exists') errs.push(fieldError('FieldValueInvalid', `${tp}.operator`, 'operator must be Exists when `key` is empty, which means "match all values and all keys"', op));
    if (t.effect !== undefined && !['NoSchedule', 'PreferNoSchedule', 'NoExecute'].includes(t.effect as string))
      errs.push(fieldError('FieldValueNotSupported', `${tp}.effect`, 'supported values: "NoExecute", "NoSchedule", "PreferNoSchedule"', t.effect));
  });
}

function labelMapErrors(m: unknown, path: string, errs: FieldError[]): void {
  if (!isObj(m)) return;
  for (const [k, v] of Object.entries(m)) {
    if (!isQualifiedName(k)) errs.push(fieldError('FieldValueInvalid', path, 'must be a qualified name', k));
    if (typeof v !== 'string' || !isLabelValue(v)) errs.push(fieldError('FieldValueInvalid', `${path}[${k}]`, 'must be a valid label value', v));
  }
}

function workloadErrors(spec: Obj | undefined, kind: string, errs: FieldError[]): void {
  if (!spec) return void errs.push(fieldError('FieldValueRequired', 'spec', ''));
  const template = isObj(spec.template) ? spec.template : undefined;
  const podSpec = template && isObj(template.spec) ? template.spec : undefined;
  if (!podSpec) return void errs.push(fieldError('FieldValueRequired', 'spec.template.spec', ''));
  podSpecErrors(podSpec, 'spec.template.spec', errs);
  if (kind !== 'Job') {
    const selector = isObj(spec.selector) ? spec.selector : undefined;
    const matchLabels = isObj(selector?.matchLabels) ? (selector.matchLabels as Record<string, unknown>) : {};
    const labels = isObj((template?.metadata as Obj | undefined)?.labels) ? ((template?.metadata as Obj).labels as Record<string, unknown>) : {};
    if (!selector) errs.push(fieldError('FieldValueRequired', 'spec.selector', ''));
    else if (Object.entries(matchLabels).some(([k, v]) => labels[k] !== v))
      errs.push(fieldError('FieldValueInvalid', 'spec.template.metadata.labels', '`selector` does not match template `labels`', labels));
  }
}

/** The default NodePort range of a cluster (kube-apiserver --service-node-port-range). */
export const defaultNodePortRange = { min: 30000, max: 32767 } as const;

function serviceErrors(spec: Obj | undefined, errs: FieldError[]): void {
  if (!spec) return void errs.push(fieldError('FieldValueRequired', 'spec', ''));
  const type = (spec.type as string | undefined) ?? 'ClusterIP';
  const ports = Array.isArray(spec.ports) ? (spec.ports as Obj[]) : [];
  if (!ports.length && type !== 'ExternalName' && spec.clusterIP !== 'None') errs.push(fieldError('FieldValueRequired', 'spec.ports', ''));
  const names = new Set<string>();
  const seen = new Set<string>();
  const nodePorts = new Set<string>();
  ports.forEach((p, i) => {
    const pp = `spec.ports[${i}]`;
    if (ports.length > 1 && !p.name) errs.push(fieldError('FieldValueRequired', `${pp}.name`, ''));
    if (p.name !== undefined) {
      if (typeof p.name !== 'string' || !isDns1123Label(p.name)) errs.push(fieldError('FieldValueInvalid', `${pp}.name`, 'must be a lowercase RFC 1123 label', p.name));
      else if (names.has(p.name)) errs.push(fieldError('FieldValueDuplicate', `${pp}.name`, '', p.name));
      names.add(p.name as string);
    }
    if (typeof p.port === 'number' && !portOk(p.port)) errs.push(fieldError('FieldValueInvalid', `${pp}.port`, 'must be between 1 and 65535, inclusive', p.port));
    const proto = (p.protocol as string | undefined) ?? 'TCP';
    if (!protocols.includes(proto)) errs.push(fieldError('FieldValueNotSupported', `${pp}.protocol`, 'supported values: "SCTP", "TCP", "UDP"', proto));
    const key = `${String(p.port)}/${proto}`;
    if (seen.has(key)) errs.push(fieldError('FieldValueDuplicate', pp, '', { port: p.port, protocol: proto }));
    seen.add(key);
    if (p.targetPort !== undefined) intOrNamedPortErrors(p.targetPort, `${pp}.targetPort`, errs);
    if (p.nodePort !== undefined && p.nodePort !== 0) {
      if (type !== 'NodePort' && type !== 'LoadBalancer') errs.push(fieldError('FieldValueForbidden', `${pp}.nodePort`, `may not be used when \`type\` is '${type}'`));
      else if (typeof p.nodePort !== 'number' || p.nodePort < defaultNodePortRange.min || p.nodePort > defaultNodePortRange.max)
        errs.push(fieldError('FieldValueInvalid', `${pp}.nodePort`, `provided port is not in the valid range. The range of valid ports is ${defaultNodePortRange.min}-${defaultNodePortRange.max}`, p.nodePort));
      const nk = `${String(p.nodePort)}/${proto}`;
      if (nodePorts.has(nk)) errs.push(fieldError('FieldValueDuplicate', `${pp}.nodePort`, '', p.nodePort));
      nodePorts.add(nk);
    }
  });
  if (spec.externalTrafficPolicy !== undefined) {
    if (type !== 'NodePort' && type !== 'LoadBalancer')
      errs.push(fieldError('FieldValueInvalid', 'spec.externalTrafficPolicy', "may only be set when `type` is 'NodePort' or 'LoadBalancer'", spec.externalTrafficPolicy));
    else if (!['Cluster', 'Local'].includes(spec.externalTrafficPolicy as string))
      errs.push(fieldError('FieldValueNotSupported', 'spec.externalTrafficPolicy', 'supported values: "Cluster", "Local"', spec.externalTrafficPolicy));
  }
  if (type === 'ExternalName' && !spec.externalName) errs.push(fieldError('FieldValueRequired', 'spec.externalName', ''));
  labelMapErrors(spec.selector, 'spec.selector', errs);
}

const eventTypes = ['Normal', 'Warning'];

function coreEventErrors(ev: Obj, errs: FieldError[]): void {
  const involved = isObj(ev.involvedObject) ? ev.involvedObject : undefined;
  const ns = (ev.metadata as Obj | undefined)?.namespace ?? 'default';
  if (!involved) errs.push(fieldError('FieldValueRequired', 'involvedObject', ''));
  else if (involved.namespace !== undefined && involved.namespace !== ns)
    errs.push(fieldError('FieldValueInvalid', 'involvedObject.namespace', 'does not match event.namespace', involved.namespace));
  if (ev.type !== undefined && !eventTypes.includes(ev.type as string)) errs.push(fieldError('FieldValueNotSupported', 'type', 'supported values: "Normal", "Warning"', ev.type));
  if (ev.eventTime !== undefined) {
    // A new-style event sent through core/v1 gets the events.k8s.io/v1 checks.
    for (const k of ['reportingComponent', 'reportingInstance', 'action', 'reason'])
      if (!ev[k]) errs.push(fieldError('FieldValueRequired', k, ''));
  }
  for (const k of ['reason', 'action', 'reportingInstance']) lengthCheck(ev[k], k, 128, errs);
}

function eventsV1Errors(ev: Obj, errs: FieldError[]): void {
  if (!ev.eventTime) errs.push(fieldError('FieldValueRequired', 'eventTime', ''));
  for (const k of ['reportingController', 'reportingInstance', 'action', 'reason']) {
    if (!ev[k]) errs.push(fieldError('FieldValueRequired', k, ''));
    lengthCheck(ev[k], k, 128, errs);
  }
  if (typeof ev.reportingController === 'string' && ev.reportingController && !isQualifiedName(ev.reportingController))
    errs.push(fieldError('FieldValueInvalid', 'reportingController', 'must be a qualified name (e.g. gbcast.io/operator)', ev.reportingController));
  if (!eventTypes.includes(ev.type as string)) errs.push(fieldError(ev.type ? 'FieldValueNotSupported' : 'FieldValueRequired', 'type', 'supported values: "Normal", "Warning"', ev.type));
  if (typeof ev.note === 'string' && Buffer.byteLength(ev.note) > 1024) errs.push(fieldError('FieldValueTooLong', 'note', 'may not be more than 1024 bytes'));
  const regarding = isObj(ev.regarding) ? ev.regarding : undefined;
  const ns = (ev.metadata as Obj | undefined)?.namespace ?? 'default';
  if (regarding?.namespace !== undefined && regarding.namespace !== ns) errs.push(fieldError('FieldValueInvalid', 'regarding.namespace', 'does not match event.namespace', regarding.namespace));
  if (isObj(ev.series)) {
    if (!((ev.series.count as number) >= 2)) errs.push(fieldError('FieldValueInvalid', 'series.count', 'should be at least 2', ev.series.count));
    if (!ev.series.lastObservedTime) errs.push(fieldError('FieldValueRequired', 'series.lastObservedTime', ''));
  }
}

function lengthCheck(v: unknown, path: string, max: number, errs: FieldError[]): void {
  if (typeof v === 'string' && v.length > max) errs.push(fieldError('FieldValueTooLong', path, `may not be more than ${max} bytes`));
}

function dataKeyErrors(obj: Obj, kind: string, errs: FieldError[]): void {
  let size = 0;
  for (const field of ['data', 'stringData', 'binaryData']) {
    const m = obj[field];
    if (!isObj(m)) continue;
    for (const [k, v] of Object.entries(m)) {
      if (!isConfigMapKey(k)) errs.push(fieldError('FieldValueInvalid', field, "a valid config key must consist of alphanumeric characters, '-', '_' or '.'", k));
      if (typeof v === 'string') size += field === 'data' && kind === 'Secret' ? Math.floor((v.length * 3) / 4) : v.length;
      if (kind === 'Secret' && field === 'data' && typeof v === 'string' && !/^[A-Za-z0-9+/]*={0,2}$/.test(v))
        errs.push(fieldError('FieldValueInvalid', `${field}[${k}]`, 'must be base64', '<redacted>'));
    }
  }
  if (size > 1024 * 1024) errs.push(fieldError('FieldValueTooLong', kind === 'Secret' ? 'data' : '', 'may not be more than 1048576 bytes'));
}

// ---------------------------------------------------------------------------------------------
// CustomResourceDefinitions and our custom resources.

/** The repository's crds/ folder. */
export const crdDir = fileURLToPath(new URL('../../crds/', import.meta.url));

/** Reads a CRD (or any single-document YAML) from a file. */
export function loadYaml<T = unknown>(path: string): T {
  return parse(readFileSync(path, 'utf8')) as T;
}

/** Reads every document of a multi-document YAML file (examples: a Secret and its cameras). */
export function loadYamlDocuments(path: string): unknown[] {
  return readFileSync(path, 'utf8')
    .split(/^---\s*$/m)
    .map((d) => parse(d) as unknown)
    .filter((d) => d !== null && d !== undefined);
}

/** Our two CRDs, read from crds/. */
export function gbcastCrds(): { streamServer: CustomResourceDefinition; camera: CustomResourceDefinition } {
  return {
    streamServer: loadYaml<CustomResourceDefinition>(`${crdDir}gbcast.io_gbstreamservers.yaml`),
    camera: loadYaml<CustomResourceDefinition>(`${crdDir}gbcast.io_gbcameras.yaml`),
  };
}

/**
 * Validates a CustomResourceDefinition: its apiextensions.k8s.io/v1 OpenAPI schema, then what the API
 * server checks beyond it (structural schemas, extensions, defaults, CEL rules, names, versions,
 * subresources, printer columns).
 */
export async function validateCrdManifest(crd: unknown): Promise<string[]> {
  const problems = await validateKubeObject(crd);
  if (isObj(crd) && isObj(crd.spec)) problems.push(...crdErrors(crd as unknown as CustomResourceDefinition).map(formatFieldError));
  return problems;
}

export interface CustomResourceValidation<T> {
  /** The object as stored: unknown fields dropped, defaults filled. */
  object: T;
  errors: string[];
  /** Fields the schema does not know; the API server drops them (and refuses the request under strict field validation). */
  unknownFields: string[];
}

/** Admits a custom resource as the API server would for this CRD: prune, default, validate (CEL included). */
export function validateCustomResource<T = Obj>(crd: CustomResourceDefinition, obj: unknown, o: AdmitOptions = {}): CustomResourceValidation<T> {
  if (!isObj(obj)) return { object: obj as T, errors: ['the object must be a JSON object'], unknownFields: [] };
  const errors: string[] = [];
  const [group, version] = String(obj.apiVersion ?? '').split('/');
  if (group !== crd.spec.group || !crd.spec.versions.some((v) => v.name === version && v.served))
    errors.push(`apiVersion ${String(obj.apiVersion)} is not served by ${crd.metadata.name}`);
  if (obj.kind !== crd.spec.names.kind) errors.push(`kind ${String(obj.kind)} is not ${crd.spec.names.kind}`);
  // The request's namespace: the object's own, or the client's default when it names none.
  const namespace = isObj(obj.metadata) && typeof obj.metadata.namespace === 'string' ? obj.metadata.namespace : 'default';
  const r = compiledSchemaOf(crd, version).admit<T>(obj, { namespaced: crd.spec.scope === 'Namespaced', namespace, ...o });
  return { object: r.object, errors: [...errors, ...r.errors.map(formatFieldError)], unknownFields: r.unknownFields };
}

/**
 * Validates any manifest: our custom resources against our CRDs (unknown fields count as errors, as
 * with kubectl's strict validation), CRDs as CRDs, everything else as a built-in object.
 */
export async function validateManifest(obj: unknown, o: KubeObjectOptions & AdmitOptions = {}): Promise<string[]> {
  if (!isObj(obj)) return ['the object must be a JSON object'];
  if (typeof obj.apiVersion === 'string' && obj.apiVersion.startsWith('gbcast.io/')) {
    const crds = gbcastCrds();
    const crd = obj.kind === 'GbCamera' ? crds.camera : crds.streamServer;
    const r = validateCustomResource(crd, obj, o);
    return [...r.errors, ...r.unknownFields.map((f) => `unknown field "${f}"`)];
  }
  if (obj.apiVersion === 'apiextensions.k8s.io/v1' && obj.kind === 'CustomResourceDefinition') return validateCrdManifest(obj);
  return validateKubeObject(obj, o);
}
