/**
 * What the fake knows about each resource it serves: names, scope, subresources, storage, the rules
 * its registry strategy follows in the real server (generation, unconditional update, what DELETE
 * returns), supported field selectors, list types, and built-in defaulting and validation.
 */
import { randomInt } from 'node:crypto';
import { invalid } from './status.ts';
import type { FieldError, Json, JsonObject } from './status.ts';
import { namespaceTable, nodeTable, podTable, schemaTypeInfo, serviceTable, tableTypeInfo } from './typeinfo.ts';
import type { TypeInfo } from './typeinfo.ts';
import type { StructuralSchema } from '../crd-schema/index.ts';

export interface ScaleSpec {
  specReplicasPath: string;
  statusReplicasPath: string;
  labelSelectorPath?: string;
}

/** What built-in hooks may look at. */
export interface HookContext {
  list(skey: string): JsonObject[];
}

export interface ResourceDef {
  group: string;
  version: string;
  resource: string;
  singular: string;
  kind: string;
  listKind: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  /** The storage resource (`group/resource`); two served resources may share one (events). */
  skey: string;
  /** The apiVersion objects are stored with. */
  storageVersion: string;
  /** Whether this version is the group's preferred one in discovery. */
  preferred: boolean;
  statusSubresource: boolean;
  scale?: ScaleSpec;
  /** metadata.generation is kept (starts at 1, grows on spec changes). */
  generation: boolean;
  /** PUT without metadata.resourceVersion is allowed (false for custom resources and CRDs). */
  unconditionalUpdate: boolean;
  /** DELETE answers with the deleted object (else a Status Success). */
  returnDeletedObject: boolean;
  /** Field selectors beyond metadata.name and metadata.namespace, with how to read them. */
  fields: Record<string, (obj: JsonObject) => string | undefined>;
  typeInfo: TypeInfo;
  /** For custom resources: the version's structural schema. */
  schema?: StructuralSchema;
  /** For custom resources: the CRD's name. */
  crd?: string;
  toStorage?(obj: JsonObject): JsonObject;
  fromStorage?(obj: JsonObject): JsonObject;
  /** Built-in defaulting on create (and update when `onUpdate`). */
  defaults?(obj: JsonObject, ctx: HookContext, old?: JsonObject): void;
  /** Built-in validation. */
  validate?(obj: JsonObject, old: JsonObject | undefined, ctx: HookContext): FieldError[];
  nameValidation: 'subdomain' | 'label' | 'dns1035';
}

export function apiVersionOf(def: { group: string; version: string }): string {
  return def.group === '' ? def.version : `${def.group}/${def.version}`;
}

export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const i = apiVersion.indexOf('/');
  return i < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) };
}

export function get(obj: Json | undefined, path: string): Json | undefined {
  let node = obj;
  for (const p of path.split('.').filter((s) => s !== '')) {
    if (typeof node !== 'object' || node === null || Array.isArray(node)) return undefined;
    node = node[p];
  }
  return node;
}

export function set(obj: JsonObject, path: string, value: Json): void {
  const parts = path.split('.').filter((s) => s !== '');
  let node = obj;
  for (const p of parts.slice(0, -1)) {
    if (typeof node[p] !== 'object' || node[p] === null || Array.isArray(node[p])) node[p] = {};
    node = node[p] as JsonObject;
  }
  node[parts[parts.length - 1]] = value;
}

const str = (path: string) => (obj: JsonObject): string | undefined => {
  const v = get(obj, path);
  return v === undefined || v === null ? undefined : String(v);
};

const verbsAll = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
export const resourceVerbs = verbsAll;

interface BuiltinInput {
  group: string;
  version: string;
  resource: string;
  kind: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  status?: boolean;
  generation?: boolean;
  returnDeletedObject?: boolean;
  fields?: Record<string, (obj: JsonObject) => string | undefined>;
  typeInfo?: TypeInfo;
  skey?: string;
  storageVersion?: string;
  nameValidation?: ResourceDef['nameValidation'];
  defaults?: ResourceDef['defaults'];
  validate?: ResourceDef['validate'];
  toStorage?: ResourceDef['toStorage'];
  fromStorage?: ResourceDef['fromStorage'];
  unconditionalUpdate?: boolean;
}

function builtin(b: BuiltinInput): ResourceDef {
  return {
    group: b.group,
    version: b.version,
    resource: b.resource,
    singular: b.kind.toLowerCase(),
    kind: b.kind,
    listKind: `${b.kind}List`,
    namespaced: b.namespaced,
    shortNames: b.shortNames ?? [],
    categories: b.categories ?? [],
    skey: b.skey ?? `${b.group}/${b.resource}`,
    storageVersion: b.storageVersion ?? apiVersionOf(b),
    preferred: true,
    statusSubresource: b.status ?? false,
    generation: b.generation ?? false,
    unconditionalUpdate: b.unconditionalUpdate ?? true,
    returnDeletedObject: b.returnDeletedObject ?? false,
    fields: b.fields ?? {},
    typeInfo: b.typeInfo ?? tableTypeInfo({}),
    nameValidation: b.nameValidation ?? 'subdomain',
    defaults: b.defaults,
    validate: b.validate,
    toStorage: b.toStorage,
    fromStorage: b.fromStorage,
  };
}

// ---------------------------------------------------------------------------------------------
// Built-in defaulting and validation (the parts an operator meets)

function defaultPod(obj: JsonObject, _ctx: HookContext, old?: JsonObject): void {
  // A created pod starts Pending whatever status it was sent with; the kubelet writes it later.
  if (!old) obj.status = {};
  const spec = (obj.spec ??= {}) as JsonObject;
  spec.restartPolicy ??= 'Always';
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.schedulerName ??= 'default-scheduler';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.securityContext ??= {};
  for (const list of ['containers', 'initContainers']) {
    const containers = spec[list];
    if (!Array.isArray(containers)) continue;
    for (const c of containers) {
      if (typeof c !== 'object' || c === null || Array.isArray(c)) continue;
      const image = typeof c.image === 'string' ? c.image : '';
      const tagged = /:[^/]+$/.test(image) && !image.endsWith(':latest');
      c.imagePullPolicy ??= tagged || image.includes('@') ? 'IfNotPresent' : 'Always';
      c.terminationMessagePath ??= '/dev/termination-log';
      c.terminationMessagePolicy ??= 'File';
      c.resources ??= {};
      if (Array.isArray(c.ports)) for (const p of c.ports) if (typeof p === 'object' && p !== null && !Array.isArray(p)) p.protocol ??= 'TCP';
    }
  }
  const status = (obj.status ??= {}) as JsonObject;
  status.phase ??= 'Pending';
  status.qosClass ??= 'BestEffort';
}

function validatePod(obj: JsonObject): FieldError[] {
  const errors: FieldError[] = [];
  const containers = get(obj, 'spec.containers');
  if (!Array.isArray(containers) || containers.length === 0) {
    errors.push({ reason: 'FieldValueRequired', field: 'spec.containers', message: 'Required value' });
    return errors;
  }
  containers.forEach((c, i) => {
    if (!get(c, 'name')) errors.push({ reason: 'FieldValueRequired', field: `spec.containers[${i}].name`, message: 'Required value' });
    if (!get(c, 'image')) errors.push({ reason: 'FieldValueRequired', field: `spec.containers[${i}].image`, message: 'Required value' });
  });
  return errors;
}

function validatePodUpdate(obj: JsonObject, old: JsonObject | undefined): FieldError[] {
  const errors = validatePod(obj);
  if (old) {
    // Pod updates may not change fields other than images, activeDeadlineSeconds, tolerations (additions)
    // and terminationGracePeriodSeconds; the fake checks the common case: containers other than image.
    const strip = (p: JsonObject): string => {
      const spec = structuredClone(p.spec ?? {}) as JsonObject;
      for (const c of (spec.containers as JsonObject[] | undefined) ?? []) delete c.image;
      delete spec.activeDeadlineSeconds;
      delete spec.tolerations;
      delete spec.terminationGracePeriodSeconds;
      return JSON.stringify(spec);
    };
    if (strip(obj) !== strip(old)) {
      errors.push({ reason: 'FieldValueForbidden', field: 'spec', message: 'Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)' });
    }
  }
  return errors;
}

function defaultService(obj: JsonObject, ctx: HookContext, old?: JsonObject): void {
  if (!old) obj.status = { loadBalancer: {} };
  const spec = (obj.spec ??= {}) as JsonObject;
  spec.type ??= 'ClusterIP';
  spec.sessionAffinity ??= 'None';
  if (spec.type !== 'ExternalName') {
    spec.clusterIP ??= (get(old, 'spec.clusterIP') as string | undefined) ?? `10.96.${randomInt(0, 255)}.${randomInt(1, 254)}`;
    spec.clusterIPs ??= [spec.clusterIP];
    spec.ipFamilies ??= ['IPv4'];
    spec.ipFamilyPolicy ??= 'SingleStack';
    spec.internalTrafficPolicy ??= 'Cluster';
  }
  if (spec.type === 'NodePort' || spec.type === 'LoadBalancer') spec.externalTrafficPolicy ??= 'Cluster';
  const used = new Set<number>();
  for (const s of ctx.list('/services')) {
    if (get(s, 'metadata.uid') === get(obj, 'metadata.uid')) continue;
    for (const p of (get(s, 'spec.ports') as JsonObject[] | undefined) ?? []) if (typeof p.nodePort === 'number') used.add(p.nodePort);
  }
  const oldPorts = (get(old, 'spec.ports') as JsonObject[] | undefined) ?? [];
  for (const p of (spec.ports as JsonObject[] | undefined) ?? []) {
    p.protocol ??= 'TCP';
    p.targetPort ??= p.port ?? null;
    if ((spec.type === 'NodePort' || spec.type === 'LoadBalancer') && p.nodePort === undefined) {
      const before = oldPorts.find((o) => o.port === p.port && (o.protocol ?? 'TCP') === p.protocol);
      let port = typeof before?.nodePort === 'number' ? before.nodePort : 30000;
      while (!before && used.has(port)) port++;
      p.nodePort = port;
      used.add(port);
    }
  }
}

function validateService(obj: JsonObject, _old: JsonObject | undefined, ctx: HookContext): FieldError[] {
  const errors: FieldError[] = [];
  const type = get(obj, 'spec.type');
  const ports = (get(obj, 'spec.ports') as JsonObject[] | undefined) ?? [];
  if (type !== 'ExternalName' && get(obj, 'spec.clusterIP') !== 'None' && ports.length === 0) {
    errors.push({ reason: 'FieldValueRequired', field: 'spec.ports', message: 'Required value' });
  }
  const taken = new Map<number, string>();
  for (const s of ctx.list('/services')) {
    if (get(s, 'metadata.uid') === get(obj, 'metadata.uid')) continue;
    for (const p of (get(s, 'spec.ports') as JsonObject[] | undefined) ?? []) if (typeof p.nodePort === 'number') taken.set(p.nodePort, String(get(s, 'metadata.name')));
  }
  ports.forEach((p, i) => {
    if (typeof p.nodePort === 'number') {
      if (p.nodePort < 30000 || p.nodePort > 32767) {
        errors.push({ reason: 'FieldValueInvalid', field: `spec.ports[${i}].nodePort`, message: `Invalid value: ${p.nodePort}: provided port is not in the valid range. The range of valid ports is 30000-32767` });
      } else if (taken.has(p.nodePort)) {
        errors.push({ reason: 'FieldValueInvalid', field: `spec.ports[${i}].nodePort`, message: `Invalid value: ${p.nodePort}: provided port is already allocated` });
      }
    }
  });
  return errors;
}

function defaultSecret(obj: JsonObject): void {
  obj.type ??= 'Opaque';
  const stringData = obj.stringData;
  if (stringData && typeof stringData === 'object' && !Array.isArray(stringData)) {
    const data = (obj.data ??= {}) as JsonObject;
    for (const [k, v] of Object.entries(stringData)) data[k] = Buffer.from(String(v)).toString('base64');
  }
  delete obj.stringData;
}

function defaultNamespace(obj: JsonObject): void {
  const meta = obj.metadata as JsonObject;
  const labels = (meta.labels ??= {}) as JsonObject;
  labels['kubernetes.io/metadata.name'] = meta.name ?? null;
  obj.spec ??= { finalizers: ['kubernetes'] };
  const status = (obj.status ??= {}) as JsonObject;
  status.phase ??= 'Active';
}

// core/v1 Event <-> events.k8s.io/v1 Event: one storage (core form), renamed fields.
const eventRenames: [string, string][] = [
  ['involvedObject', 'regarding'],
  ['message', 'note'],
  ['reportingComponent', 'reportingController'],
  ['source', 'deprecatedSource'],
  ['firstTimestamp', 'deprecatedFirstTimestamp'],
  ['lastTimestamp', 'deprecatedLastTimestamp'],
  ['count', 'deprecatedCount'],
];

function renameFields(obj: JsonObject, pairs: [string, string][]): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(obj)) {
    const pair = pairs.find(([from]) => from === k);
    out[pair ? pair[1] : k] = v;
  }
  return out;
}

function validateEventsV1(obj: JsonObject): FieldError[] {
  const errors: FieldError[] = [];
  for (const f of ['eventTime', 'reportingController', 'reportingInstance', 'action', 'reason']) {
    if (!obj[f]) errors.push({ reason: 'FieldValueRequired', field: f, message: 'Required value' });
  }
  return errors;
}

export function builtinResources(): ResourceDef[] {
  const core = (r: Omit<BuiltinInput, 'group' | 'version'>): ResourceDef => builtin({ group: '', version: 'v1', ...r });
  return [
    core({
      resource: 'namespaces', kind: 'Namespace', namespaced: false, shortNames: ['ns'], status: true, nameValidation: 'label',
      fields: { 'status.phase': str('status.phase') }, typeInfo: tableTypeInfo(namespaceTable), defaults: defaultNamespace,
    }),
    core({
      resource: 'pods', kind: 'Pod', namespaced: true, shortNames: ['po'], categories: ['all'], status: true, returnDeletedObject: true,
      typeInfo: tableTypeInfo(podTable), defaults: defaultPod, validate: validatePodUpdate,
      fields: {
        'spec.nodeName': str('spec.nodeName'), 'spec.restartPolicy': str('spec.restartPolicy'), 'spec.schedulerName': str('spec.schedulerName'),
        'spec.serviceAccountName': str('spec.serviceAccountName'), 'spec.hostNetwork': (o) => String(get(o, 'spec.hostNetwork') ?? false),
        'status.phase': str('status.phase'), 'status.podIP': str('status.podIP'), 'status.nominatedNodeName': str('status.nominatedNodeName'),
      },
    }),
    core({
      resource: 'nodes', kind: 'Node', namespaced: false, shortNames: ['no'], status: true, typeInfo: tableTypeInfo(nodeTable),
      fields: { 'spec.unschedulable': (o) => String(get(o, 'spec.unschedulable') ?? false) },
    }),
    core({
      resource: 'services', kind: 'Service', namespaced: true, shortNames: ['svc'], categories: ['all'], status: true, returnDeletedObject: true,
      nameValidation: 'dns1035', typeInfo: tableTypeInfo(serviceTable), defaults: defaultService, validate: validateService,
    }),
    core({ resource: 'secrets', kind: 'Secret', namespaced: true, fields: { type: str('type') }, defaults: defaultSecret }),
    core({ resource: 'configmaps', kind: 'ConfigMap', namespaced: true, shortNames: ['cm'] }),
    core({
      resource: 'events', kind: 'Event', namespaced: true, shortNames: ['ev'],
      fields: Object.fromEntries(
        ['involvedObject.kind', 'involvedObject.namespace', 'involvedObject.name', 'involvedObject.uid', 'involvedObject.apiVersion', 'involvedObject.resourceVersion', 'involvedObject.fieldPath', 'reason', 'reportingComponent', 'source', 'type']
          .map((f) => [f, f === 'source' ? str('source.component') : str(f)]),
      ),
    }),
    builtin({
      group: 'events.k8s.io', version: 'v1', resource: 'events', kind: 'Event', namespaced: true, shortNames: ['ev'], skey: '/events', storageVersion: 'v1',
      fields: Object.fromEntries(
        ['regarding.kind', 'regarding.namespace', 'regarding.name', 'regarding.uid', 'regarding.apiVersion', 'regarding.resourceVersion', 'regarding.fieldPath', 'reason', 'reportingController', 'type']
          .map((f) => [f, (o: JsonObject) => str(f)(renameFields(o, eventRenames))]),
      ),
      toStorage: (o) => renameFields(o, eventRenames.map(([a, b]) => [b, a])),
      fromStorage: (o) => renameFields(o, eventRenames),
      validate: (o) => validateEventsV1(renameFields(o, eventRenames)),
    }),
    builtin({ group: 'coordination.k8s.io', version: 'v1', resource: 'leases', kind: 'Lease', namespaced: true }),
  ];
}

export function crdResourceDef(input: {
  group: string;
  version: string;
  storageVersion: string;
  preferred: boolean;
  names: { plural: string; singular?: string; kind: string; listKind?: string; shortNames?: string[]; categories?: string[] };
  namespaced: boolean;
  schema?: StructuralSchema;
  status: boolean;
  scale?: ScaleSpec;
  selectableFields: string[];
  crd: string;
}): ResourceDef {
  const n = input.names;
  return {
    group: input.group,
    version: input.version,
    resource: n.plural,
    singular: n.singular ?? n.kind.toLowerCase(),
    kind: n.kind,
    listKind: n.listKind ?? `${n.kind}List`,
    namespaced: input.namespaced,
    shortNames: n.shortNames ?? [],
    categories: n.categories ?? [],
    skey: `${input.group}/${n.plural}`,
    storageVersion: `${input.group}/${input.storageVersion}`,
    preferred: input.preferred,
    statusSubresource: input.status,
    scale: input.scale,
    generation: true,
    unconditionalUpdate: false,
    returnDeletedObject: true,
    fields: Object.fromEntries(input.selectableFields.map((f) => [f.replace(/^\./, ''), str(f.replace(/^\./, ''))])),
    typeInfo: schemaTypeInfo(input.schema),
    schema: input.schema,
    crd: input.crd,
    nameValidation: 'subdomain',
  };
}

const subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const label = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const dns1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

/** metadata.name checks, worded as the real validation words them. */
export function validateName(def: ResourceDef, name: string): FieldError[] {
  const errors: FieldError[] = [];
  if (def.nameValidation === 'subdomain') {
    if (name.length > 253) errors.push({ reason: 'FieldValueInvalid', field: 'metadata.name', message: `Invalid value: ${JSON.stringify(name)}: must be no more than 253 characters` });
    if (!subdomain.test(name)) {
      errors.push({ reason: 'FieldValueInvalid', field: 'metadata.name', message: `Invalid value: ${JSON.stringify(name)}: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')` });
    }
  } else if (def.nameValidation === 'label') {
    if (name.length > 63 || !label.test(name)) {
      errors.push({ reason: 'FieldValueInvalid', field: 'metadata.name', message: `Invalid value: ${JSON.stringify(name)}: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')` });
    }
  } else if (name.length > 63 || !dns1035.test(name)) {
    errors.push({ reason: 'FieldValueInvalid', field: 'metadata.name', message: `Invalid value: ${JSON.stringify(name)}: a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')` });
  }
  return errors;
}

export function invalidFor(def: ResourceDef, name: string, errors: FieldError[]): Error {
  return invalid(def.group, def.kind, name, errors);
}
