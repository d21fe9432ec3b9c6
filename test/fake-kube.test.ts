/**
 * The API server fake (test/support/fake-kube) against documented Kubernetes behaviour, driven by the
 * real @kubernetes/client-node client (and raw fetch where the client cannot say something). Each test
 * names the rule it checks, in our words, from the Kubernetes documentation (API Concepts, API
 * conventions, Server-Side Apply, Garbage Collection, Finalizers, CustomResourceDefinitions).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  ApiException, ApiextensionsV1Api, CoordinationV1Api, CoreV1Api, CustomObjectsApi, EventsV1Api, PatchStrategy, VersionApi, Watch,
  loadYaml, makeInformer, setHeaderOptions,
} from '@kubernetes/client-node';
import type { KubeConfig, KubernetesObject, V1CustomResourceDefinition, V1Pod } from '@kubernetes/client-node';
import { startFakeKube } from './support/fake-kube/index.ts';
import type { FakeKube, JsonObject, StatusBody } from './support/fake-kube/index.ts';
import { waitFor } from './support/wait.ts';

const group = 'test.gbcast.io';
const version = 'v1';
const plural = 'widgets';

/** A sample CRD exercising what ours will use: status and scale subresources, defaults, CEL rules, list types. */
function widgetCrd(): JsonObject {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${group}` },
    spec: {
      group,
      scope: 'Namespaced',
      names: { plural, singular: 'widget', kind: 'Widget', shortNames: ['wd'] },
      versions: [{
        name: version,
        served: true,
        storage: true,
        subresources: { status: {}, scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas', labelSelectorPath: '.status.selector' } },
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: {
                type: 'object',
                required: ['size'],
                'x-kubernetes-validations': [{ rule: 'self.min <= self.max', message: 'min must be <= max' }],
                properties: {
                  size: { type: 'integer', format: 'int32', minimum: 0, maximum: 10 },
                  replicas: { type: 'integer', minimum: 0, default: 1 },
                  min: { type: 'integer', default: 0 },
                  max: { type: 'integer', default: 5 },
                  color: { type: 'string', enum: ['red', 'green', 'blue'], default: 'red' },
                  name: { type: 'string', minLength: 1, maxLength: 8, pattern: '^[a-z]+$' },
                  tags: { type: 'array', maxItems: 3, items: { type: 'string' }, 'x-kubernetes-list-type': 'set' },
                  ports: {
                    type: 'array', 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'],
                    items: { type: 'object', required: ['name'], properties: { name: { type: 'string' }, port: { type: 'integer' } } },
                  },
                  free: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
                  extra: { type: 'object', additionalProperties: { type: 'string' } },
                  note: { type: 'string', nullable: true },
                  immutableId: { type: 'string', 'x-kubernetes-validations': [{ rule: 'self == oldSelf', message: 'immutableId is immutable' }] },
                  names: { type: 'array', items: { type: 'string' }, 'x-kubernetes-validations': [{ rule: 'self.size() <= 2', messageExpression: '"at most 2 names, got " + string(self.size())' }] },
                },
              },
              status: { type: 'object', properties: { replicas: { type: 'integer' }, selector: { type: 'string' }, phase: { type: 'string' } } },
            },
          },
        },
      }],
    },
  };
}

function widget(name: string, spec: JsonObject = { size: 1 }, extra: JsonObject = {}): JsonObject {
  return { apiVersion: `${group}/${version}`, kind: 'Widget', metadata: { name, ...extra }, spec };
}

function pod(name: string, labels: Record<string, string> = {}, nodeName?: string): V1Pod {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, labels }, spec: { nodeName, containers: [{ name: 'main', image: 'busybox:1.36' }] } };
}

/** The Status body of a failed client call. */
async function failure(p: Promise<unknown>): Promise<StatusBody> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ApiException) return (typeof e.body === 'string' ? JSON.parse(e.body) : e.body) as StatusBody;
    throw e;
  }
  assert.fail('the call succeeded');
}

let kube: FakeKube;
let kc: KubeConfig;
let core: CoreV1Api;
let custom: CustomObjectsApi;

async function raw(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<{ status: number; json: JsonObject; headers: Headers }> {
  const res = await fetch(kube.url + path, {
    method,
    headers: { authorization: `Bearer ${kube.token}`, 'content-type': contentType },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as JsonObject) : {}, headers: res.headers };
}

interface Collected {
  events: { type: string; object: JsonObject }[];
  ended: Promise<unknown>;
  stop(): void;
}

/** Opens a watch with the client's Watch and collects its events. */
async function collect(path: string, query: Record<string, string | number | boolean>, config = kc): Promise<Collected> {
  const events: Collected['events'] = [];
  let resolveEnd: (v: unknown) => void = () => {};
  const ended = new Promise((r) => (resolveEnd = r));
  const controller = await new Watch(config).watch(path, query, (type, object) => events.push({ type, object: object as JsonObject }), (err) => resolveEnd(err ?? 'closed'));
  return { events, ended, stop: () => controller.abort() };
}

const nameOf = (o: JsonObject): string => String((o.metadata as JsonObject).name);

/**
 * client-node's typed models name fields in TypeScript (x_kubernetes_validations, _default) and drop
 * the wire names, so a CRD from YAML/JSON must go through loadYaml, as the operator will load crds/*.yaml.
 */
const typedCrd = (crd: JsonObject): V1CustomResourceDefinition => loadYaml<V1CustomResourceDefinition>(JSON.stringify(crd));

before(async () => {
  kube = await startFakeKube();
  kc = kube.kubeConfig();
  core = kc.makeApiClient(CoreV1Api);
  custom = kc.makeApiClient(CustomObjectsApi);
  await kc.makeApiClient(ApiextensionsV1Api).createCustomResourceDefinition({ body: typedCrd(widgetCrd()) });
});

after(async () => {
  await kube.stop();
});

describe('discovery', () => {
  it('lists groups, versions and resources with verbs, scope, kind and subresources', async () => {
    // API Concepts: /api and /apis list the groups and versions; /api/v1 and /apis/{group}/{version}
    // list each resource with whether it is namespaced, its kind, its verbs and its subresources (pods/status).
    const info = await kc.makeApiClient(VersionApi).getCode();
    assert.equal(info.major, '1');
    const v1 = (await raw('GET', '/api/v1')).json;
    const resources = v1.resources as JsonObject[];
    const pods = resources.find((r) => r.name === 'pods') as JsonObject;
    assert.deepEqual([pods.namespaced, pods.kind], [true, 'Pod']);
    assert.ok((pods.verbs as string[]).includes('watch'));
    assert.ok(resources.some((r) => r.name === 'pods/status'));
    assert.equal((resources.find((r) => r.name === 'nodes') as JsonObject).namespaced, false);
    const groups = (await raw('GET', '/apis')).json.groups as JsonObject[];
    for (const g of ['coordination.k8s.io', 'events.k8s.io', 'apiextensions.k8s.io', group]) assert.ok(groups.some((x) => x.name === g), g);
    // A CRD's resources appear under its group/version, with {plural}/status and {plural}/scale.
    const widgets = (await raw('GET', `/apis/${group}/${version}`)).json.resources as JsonObject[];
    assert.deepEqual(widgets.map((r) => r.name).sort(), ['widgets', 'widgets/scale', 'widgets/status']);
    assert.equal((widgets.find((r) => r.name === 'widgets/scale') as JsonObject).kind, 'Scale');
    assert.equal((await raw('GET', '/apis/nope.example.com/v1')).status, 404);
  });

  it('rejects requests without the bearer token with 401 Unauthorized', async () => {
    const res = await fetch(`${kube.url}/api/v1/namespaces`);
    assert.equal(res.status, 401);
    assert.equal(((await res.json()) as StatusBody).reason, 'Unauthorized');
  });
});

describe('create, get, update', () => {
  it('fills uid, creationTimestamp and resourceVersion; a second create is 409 AlreadyExists', async () => {
    // API conventions: the server sets metadata.uid, creationTimestamp and resourceVersion;
    // creating a name that exists fails with reason AlreadyExists (409).
    const created = await core.createNamespacedPod({ namespace: 'default', body: pod('c1') });
    assert.match(String(created.metadata?.uid), /^[0-9a-f-]{36}$/);
    assert.ok(created.metadata?.creationTimestamp);
    assert.match(String(created.metadata?.resourceVersion), /^\d+$/);
    assert.equal(created.status?.phase, 'Pending');
    const status = await failure(core.createNamespacedPod({ namespace: 'default', body: pod('c1') }));
    assert.deepEqual(status, {
      kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'pods "c1" already exists', reason: 'AlreadyExists',
      details: { name: 'c1', kind: 'pods' }, code: 409,
    });
  });

  it('answers a missing object with a 404 NotFound Status naming the resource', async () => {
    const status = await failure(core.readNamespacedPod({ name: 'nope', namespace: 'default' }));
    assert.deepEqual(status, {
      kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'pods "nope" not found', reason: 'NotFound',
      details: { name: 'nope', kind: 'pods' }, code: 404,
    });
    const lease = await failure(kc.makeApiClient(CoordinationV1Api).readNamespacedLease({ name: 'nope', namespace: 'default' }));
    assert.equal(lease.message, 'leases.coordination.k8s.io "nope" not found');
    assert.deepEqual(lease.details, { name: 'nope', group: 'coordination.k8s.io', kind: 'leases' });
  });

  it('generateName appends a random 5-character suffix; a missing namespace is 404', async () => {
    // API conventions: with generateName and no name, the server appends a unique suffix.
    const a = await core.createNamespacedPod({ namespace: 'default', body: { ...pod(''), metadata: { generateName: 'gen-' } } });
    const b = await core.createNamespacedPod({ namespace: 'default', body: { ...pod(''), metadata: { generateName: 'gen-' } } });
    assert.match(String(a.metadata?.name), /^gen-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    assert.notEqual(a.metadata?.name, b.metadata?.name);
    const missing = await failure(core.createNamespacedPod({ namespace: 'nowhere', body: pod('x') }));
    assert.equal(missing.code, 404);
    assert.equal(missing.message, 'namespaces "nowhere" not found');
    const unnamed = await failure(core.createNamespacedPod({ namespace: 'default', body: { ...pod(''), metadata: {} } }));
    assert.equal(unnamed.code, 422);
    assert.equal(unnamed.details?.causes?.[0].field, 'metadata.name');
  });

  it('rejects an update carrying a stale resourceVersion with 409 Conflict (optimistic concurrency)', async () => {
    // API Concepts: an update whose metadata.resourceVersion is not the current one fails with 409 Conflict.
    const lease = kc.makeApiClient(CoordinationV1Api);
    const created = await lease.createNamespacedLease({ namespace: 'default', body: { metadata: { name: 'l1' }, spec: { holderIdentity: 'a', leaseDurationSeconds: 15 } } });
    const updated = await lease.replaceNamespacedLease({ name: 'l1', namespace: 'default', body: { ...created, spec: { holderIdentity: 'b', leaseDurationSeconds: 15 } } });
    assert.ok(Number(updated.metadata?.resourceVersion) > Number(created.metadata?.resourceVersion));
    const stale = await failure(lease.replaceNamespacedLease({ name: 'l1', namespace: 'default', body: { ...created, spec: { holderIdentity: 'c' } } }));
    assert.equal(stale.code, 409);
    assert.equal(stale.reason, 'Conflict');
    assert.equal(stale.message, 'Operation cannot be fulfilled on leases.coordination.k8s.io "l1": the object has been modified; please apply your changes to the latest version and try again');
    // Custom resources require a resourceVersion on update (no unconditional updates).
    await custom.createNamespacedCustomObject({ group, version, plural, namespace: 'default', body: widget('w-uncond') });
    const unconditional = await failure(custom.replaceNamespacedCustomObject({ group, version, plural, namespace: 'default', name: 'w-uncond', body: widget('w-uncond', { size: 2 }) }));
    assert.equal(unconditional.code, 422);
    assert.equal(unconditional.details?.causes?.[0].field, 'metadata.resourceVersion');
  });

  it('stores a no-op update without a new resourceVersion', async () => {
    // API Concepts: an update that changes nothing is not written, so the resourceVersion stays.
    const lease = kc.makeApiClient(CoordinationV1Api);
    const created = await lease.createNamespacedLease({ namespace: 'default', body: { metadata: { name: 'noop' }, spec: { holderIdentity: 'a' } } });
    const again = await lease.replaceNamespacedLease({ name: 'noop', namespace: 'default', body: created });
    assert.equal(again.metadata?.resourceVersion, created.metadata?.resourceVersion);
  });
});

describe('list', () => {
  it('filters by equality- and set-based label selectors and by supported field selectors', async () => {
    // Labels and Selectors: `=`, `!=`, `in`, `notin`, `key` and `!key`, comma-separated and ANDed;
    // `!=` and `notin` also match objects without the label. Field selectors: metadata.name,
    // metadata.namespace, and per-resource fields such as spec.nodeName and status.phase for pods.
    await core.createNamespace({ body: { metadata: { name: 'sel' } } });
    await core.createNamespacedPod({ namespace: 'sel', body: pod('a', { app: 'web', tier: 'front' }, 'node-1') });
    await core.createNamespacedPod({ namespace: 'sel', body: pod('b', { app: 'web', tier: 'back' }, 'node-2') });
    await core.createNamespacedPod({ namespace: 'sel', body: pod('c', { app: 'db' }) });
    const names = async (labelSelector?: string, fieldSelector?: string): Promise<string[]> =>
      (await core.listNamespacedPod({ namespace: 'sel', labelSelector, fieldSelector })).items.map((p) => String(p.metadata?.name));
    assert.deepEqual(await names('app=web'), ['a', 'b']);
    assert.deepEqual(await names('app==web,tier!=back'), ['a']);
    assert.deepEqual(await names('tier in (front,back)'), ['a', 'b']);
    assert.deepEqual(await names('tier notin (front)'), ['b', 'c']);
    assert.deepEqual(await names('!tier'), ['c']);
    assert.deepEqual(await names('tier'), ['a', 'b']);
    assert.deepEqual(await names(undefined, 'spec.nodeName=node-2'), ['b']);
    assert.deepEqual(await names(undefined, 'spec.nodeName='), ['c']);
    assert.deepEqual(await names('app=web', 'metadata.name!=a'), ['b']);
    assert.deepEqual(await names(undefined, 'status.phase=Pending'), ['a', 'b', 'c']);
    const bad = await failure(core.listNamespacedPod({ namespace: 'sel', fieldSelector: 'spec.image=x' }));
    assert.equal(bad.code, 400);
    assert.match(bad.message, /field label not supported: spec.image/);
    const all = await core.listPodForAllNamespaces({ labelSelector: 'app=db' });
    assert.deepEqual(all.items.map((p) => `${p.metadata?.namespace}/${p.metadata?.name}`), ['sel/c']);
  });

  it('gives the list a resourceVersion, pages with limit/continue, and serves Exact from history', async () => {
    // API Concepts: a list carries metadata.resourceVersion; limit returns a continue token and
    // remainingItemCount; resourceVersionMatch=Exact returns the collection as it was at that version.
    const before = await core.listNamespacedPod({ namespace: 'sel' });
    const rv = String(before.metadata?.resourceVersion);
    await core.createNamespacedPod({ namespace: 'sel', body: pod('d') });
    const page1 = await core.listNamespacedPod({ namespace: 'sel', limit: 2 });
    assert.equal(page1.items.length, 2);
    assert.equal(page1.metadata?.remainingItemCount, 2);
    const page2 = await core.listNamespacedPod({ namespace: 'sel', limit: 2, _continue: page1.metadata?._continue });
    assert.deepEqual(page2.items.map((p) => p.metadata?.name), ['c', 'd']);
    const exact = await core.listNamespacedPod({ namespace: 'sel', resourceVersion: rv, resourceVersionMatch: 'Exact' });
    assert.deepEqual(exact.items.map((p) => p.metadata?.name), ['a', 'b', 'c']);
    assert.equal(exact.metadata?.resourceVersion, rv);
    const forbidden = await failure(core.listNamespacedPod({ namespace: 'sel', resourceVersionMatch: 'Exact' }));
    assert.equal(forbidden.code, 422);
  });
});

describe('custom resources', () => {
  it('bumps generation on spec changes only, not on metadata or status changes', async () => {
    // CRD docs: with the status subresource, metadata.generation grows for every change except
    // changes to .metadata or .status.
    const w = (await custom.createNamespacedCustomObject({ group, version, plural, namespace: 'default', body: widget('gen') })) as JsonObject;
    assert.equal((w.metadata as JsonObject).generation, 1);
    const labelled = (await custom.patchNamespacedCustomObject({ group, version, plural, namespace: 'default', name: 'gen', body: { metadata: { labels: { a: 'b' } } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch))) as JsonObject;
    assert.equal((labelled.metadata as JsonObject).generation, 1);
    const status = (await custom.patchNamespacedCustomObjectStatus({ group, version, plural, namespace: 'default', name: 'gen', body: { status: { phase: 'Ready' } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch))) as JsonObject;
    assert.equal((status.metadata as JsonObject).generation, 1);
    assert.equal((status.status as JsonObject).phase, 'Ready');
    const spec = (await custom.patchNamespacedCustomObject({ group, version, plural, namespace: 'default', name: 'gen', body: { spec: { size: 3 } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch))) as JsonObject;
    assert.equal((spec.metadata as JsonObject).generation, 2);
  });

  it('separates the status subresource: the main resource ignores status, /status ignores the rest', async () => {
    // CRD docs: with the status subresource, create/update/patch of the resource ignore changes to
    // status, and updates of /status ignore everything but status (metadata included).
    const created = (await custom.createNamespacedCustomObject({ group, version, plural, namespace: 'default', body: { ...widget('st'), status: { phase: 'Sneaky' } } })) as JsonObject;
    assert.equal(created.status, undefined);
    const withStatus = (await custom.replaceNamespacedCustomObjectStatus({ group, version, plural, namespace: 'default', name: 'st', body: { ...created, spec: { size: 9 }, metadata: { ...(created.metadata as JsonObject), labels: { x: 'y' } }, status: { phase: 'Ready' } } })) as JsonObject;
    assert.deepEqual(withStatus.status, { phase: 'Ready' });
    assert.equal((withStatus.spec as JsonObject).size, 1);
    assert.equal((withStatus.metadata as JsonObject).labels, undefined);
    const main = (await custom.replaceNamespacedCustomObject({ group, version, plural, namespace: 'default', name: 'st', body: { ...withStatus, spec: { size: 4 }, status: { phase: 'Ignored' } } })) as JsonObject;
    assert.deepEqual(main.status, { phase: 'Ready' });
    assert.equal((main.spec as JsonObject).size, 4);
  });

  it('serves /scale as an autoscaling/v1 Scale and writes spec.replicas through it', async () => {
    // CRD docs: the scale subresource maps Scale.spec.replicas to specReplicasPath,
    // status.replicas to statusReplicasPath and status.selector to labelSelectorPath.
    await custom.createNamespacedCustomObject({ group, version, plural, namespace: 'default', body: widget('sc', { size: 1, replicas: 2 }) });
    await custom.patchNamespacedCustomObjectStatus({ group, version, plural, namespace: 'default', name: 'sc', body: { status: { replicas: 1, selector: 'app=sc' } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    const scale = (await custom.getNamespacedCustomObjectScale({ group, version, plural, namespace: 'default', name: 'sc' })) as JsonObject;
    assert.equal(scale.kind, 'Scale');
    assert.equal(scale.apiVersion, 'autoscaling/v1');
    assert.deepEqual(scale.spec, { replicas: 2 });
    assert.deepEqual(scale.status, { replicas: 1, selector: 'app=sc' });
    await custom.replaceNamespacedCustomObjectScale({ group, version, plural, namespace: 'default', name: 'sc', body: { ...scale, spec: { replicas: 5 } } });
    const after1 = (await custom.getNamespacedCustomObject({ group, version, plural, namespace: 'default', name: 'sc' })) as JsonObject;
    assert.equal((after1.spec as JsonObject).replicas, 5);
    assert.equal((after1.metadata as JsonObject).generation, 2);
    await custom.patchNamespacedCustomObjectScale({ group, version, plural, namespace: 'default', name: 'sc', body: { spec: { replicas: 0 } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    assert.equal(((kube.get({ apiVersion: `${group}/${version}`, kind: 'Widget', namespace: 'default', name: 'sc' }) as JsonObject).spec as JsonObject).replicas, 0);
    const stale = await failure(custom.replaceNamespacedCustomObjectScale({ group, version, plural, namespace: 'default', name: 'sc', body: { ...scale, spec: { replicas: 3 } } }));
    assert.equal(stale.code, 409);
  });

  it('validates against the schema with 422 Invalid and a cause per field', async () => {
    // CRD docs: objects are validated against openAPIV3Schema (type, required, enum, bounds,
    // lengths, pattern, maxItems, format); failures are 422 with reason Invalid and causes.
    const status = await failure(custom.createNamespacedCustomObject({
      group, version, plural, namespace: 'default',
      body: widget('bad', { size: 11, color: 'pink', name: 'ABCDEFGHIJ', tags: ['a', 'b', 'c', 'd'], replicas: 'two' }),
    }));
    assert.equal(status.code, 422);
    assert.equal(status.reason, 'Invalid');
    assert.equal(status.details?.kind, 'Widget');
    assert.equal(status.details?.group, group);
    const byField = Object.fromEntries((status.details?.causes ?? []).map((c) => [c.field, c]));
    assert.equal(byField['spec.size'].message, 'Invalid value: 11: spec.size in body should be less than or equal to 10');
    assert.equal(byField['spec.color'].reason, 'FieldValueNotSupported');
    assert.equal(byField['spec.color'].message, 'Unsupported value: "pink": supported values: "red", "green", "blue"');
    assert.equal(byField['spec.replicas'].reason, 'FieldValueTypeInvalid');
    assert.equal(byField['spec.tags'].reason, 'FieldValueTooMany');
    assert.ok(byField['spec.name']);
    assert.match(status.message, /^Widget\.test\.gbcast\.io "bad" is invalid: \[/);
    const missing = await failure(custom.createNamespacedCustomObject({ group, version, plural, namespace: 'default', body: widget('bad2', {}) }));
    // A missing required field blocks the CEL rules; the server says so in a cause of its own.
    assert.deepEqual(missing.details?.causes, [
      { reason: 'FieldValueRequired', message: 'Required value', field: 'spec.size' },
      { reason: 'FieldValueInvalid', message: 'Invalid value: "null": some validation rules were not checked because the object was invalid; correct the existing errors to complete validation', field: '<nil>' },
    ]);
    const int32 = await failure(custom.createNamespacedCustomObject({ group, version, plural, namespace: 'default', body: widget('bad3', { size: 1, ports: [{ name: 'a' }, { name: 'a' }] }) }));
    assert.equal(int32.details?.causes?.[0].reason, 'FieldValueDuplicate');
  });

  it('applies defaults, prunes unknown fields (warning), keeps x-kubernetes-preserve-unknown-fields', async () => {
    // CRD docs: `default` fills absent fields (and non-nullable nulls); unknown fields are pruned
    // unless x-kubernetes-preserve-unknown-fields; fieldValidation=Strict rejects them instead.
    const res = await raw('POST', `/apis/${group}/${version}/namespaces/default/${plural}`, widget('defs', { size: 1, unknown: 1, free: { any: { thing: 1 } }, extra: { k: 'v' }, note: null, color: null }));
    assert.equal(res.status, 201);
    const spec = res.json.spec as JsonObject;
    assert.deepEqual(spec, { size: 1, replicas: 1, min: 0, max: 5, color: 'red', free: { any: { thing: 1 } }, extra: { k: 'v' }, note: null });
    assert.match(String(res.headers.get('warning')), /unknown field \\"spec.unknown\\"/);
    const strict = await raw('POST', `/apis/${group}/${version}/namespaces/default/${plural}?fieldValidation=Strict`, widget('strict', { size: 1, unknown: 1 }));
    assert.equal(strict.status, 400);
    assert.match(String(strict.json.message), /unknown field "spec.unknown"/);
  });

  it('evaluates x-kubernetes-validations CEL rules, transition rules with oldSelf, and messageExpression', async () => {
    // CRD docs (validation rules): `self` is the value at the rule's node; a rule using oldSelf is a
    // transition rule, checked on updates only; messageExpression builds the message. A failed
    // rule shows the node's type as its value ("object", "string"), not the value itself.
    const inverted = await failure(custom.createNamespacedCustomObject({ group, version, plural, namespace: 'default', body: widget('cel', { size: 1, min: 4, max: 2 }) }));
    assert.deepEqual(inverted.details?.causes, [{ reason: 'FieldValueInvalid', message: 'Invalid value: "object": min must be <= max', field: 'spec' }]);
    const names = await failure(custom.createNamespacedCustomObject({ group, version, plural, namespace: 'default', body: widget('cel', { size: 1, names: ['a', 'b', 'c'] }) }));
    assert.equal(names.details?.causes?.[0].message, 'Invalid value: "array": at most 2 names, got 3');
    const created = (await custom.createNamespacedCustomObject({ group, version, plural, namespace: 'default', body: widget('cel', { size: 1, immutableId: 'one' }) })) as JsonObject;
    const changed = await failure(custom.replaceNamespacedCustomObject({ group, version, plural, namespace: 'default', name: 'cel', body: { ...created, spec: { size: 1, immutableId: 'two' } } }));
    assert.deepEqual(changed.details?.causes, [{ reason: 'FieldValueInvalid', message: 'Invalid value: "string": immutableId is immutable', field: 'spec.immutableId' }]);
    const same = (await custom.replaceNamespacedCustomObject({ group, version, plural, namespace: 'default', name: 'cel', body: { ...created, spec: { size: 2, immutableId: 'one' } } })) as JsonObject;
    assert.equal((same.spec as JsonObject).size, 2);
  });

  it('rejects a CRD whose name or rules are wrong', async () => {
    const api = kc.makeApiClient(ApiextensionsV1Api);
    const crd = widgetCrd();
    (crd.metadata as JsonObject).name = 'wrong.test.gbcast.io';
    const named = await failure(api.createCustomResourceDefinition({ body: typedCrd(crd) }));
    assert.equal(named.code, 422);
    assert.match(named.message, /must be spec.names.plural\+"."\+spec.group/);
    const broken = widgetCrd();
    (broken.metadata as JsonObject).name = `others.${group}`;
    const spec = broken.spec as JsonObject;
    spec.names = { plural: 'others', kind: 'Other' };
    ((((spec.versions as JsonObject[])[0].schema as JsonObject).openAPIV3Schema as JsonObject).properties as JsonObject).spec = { type: 'object', 'x-kubernetes-validations': [{ rule: 'self.a <=' }] };
    const rules = await failure(api.createCustomResourceDefinition({ body: typedCrd(broken) }));
    assert.equal(rules.code, 422);
    assert.match(rules.message, /compilation failed/);
  });
});

describe('patch', () => {
  it('merge patch (RFC 7386): objects merge, null deletes, lists replace', async () => {
    await custom.createNamespacedCustomObject({ group, version, plural, namespace: 'default', body: widget('mp', { size: 1, tags: ['a', 'b'], extra: { k: 'v', j: 'w' } }) });
    const patched = (await custom.patchNamespacedCustomObject({ group, version, plural, namespace: 'default', name: 'mp', body: { spec: { tags: ['c'], extra: { k: null, n: 'x' } } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch))) as JsonObject;
    assert.deepEqual((patched.spec as JsonObject).tags, ['c']);
    assert.deepEqual((patched.spec as JsonObject).extra, { j: 'w', n: 'x' });
  });

  it('JSON patch (RFC 6902) applies add/replace/remove and fails whole on a failed test op', async () => {
    const before = (await custom.getNamespacedCustomObject({ group, version, plural, namespace: 'default', name: 'mp' })) as JsonObject;
    const patched = (await custom.patchNamespacedCustomObject({ group, version, plural, namespace: 'default', name: 'mp', body: [
      { op: 'test', path: '/spec/size', value: 1 }, { op: 'replace', path: '/spec/size', value: 2 }, { op: 'add', path: '/spec/tags/-', value: 'd' }, { op: 'remove', path: '/spec/extra/j' },
    ] })) as JsonObject;
    assert.deepEqual([(patched.spec as JsonObject).size, (patched.spec as JsonObject).tags, (patched.spec as JsonObject).extra], [2, ['c', 'd'], { n: 'x' }]);
    const failed = await failure(custom.patchNamespacedCustomObject({ group, version, plural, namespace: 'default', name: 'mp', body: [{ op: 'replace', path: '/spec/size', value: 7 }, { op: 'test', path: '/spec/size', value: 1 }] }));
    // The real server answers a patch that does not apply with a generic 422 that drops the reason.
    assert.deepEqual(failed, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'the server rejected our request due to an error in our request', reason: 'Invalid', details: {}, code: 422 });
    const malformed = await raw('PATCH', `/apis/${group}/${version}/namespaces/default/${plural}/mp`, { op: 'replace' }, 'application/json-patch+json');
    assert.equal(malformed.status, 400);
    const now = (await custom.getNamespacedCustomObject({ group, version, plural, namespace: 'default', name: 'mp' })) as JsonObject;
    assert.equal((now.spec as JsonObject).size, 2);
    assert.notEqual((now.metadata as JsonObject).resourceVersion, (before.metadata as JsonObject).resourceVersion);
    // A patch carrying a stale resourceVersion is a precondition: 409.
    const stale = await failure(custom.patchNamespacedCustomObject({ group, version, plural, namespace: 'default', name: 'mp', body: { metadata: { resourceVersion: (before.metadata as JsonObject).resourceVersion }, spec: { size: 3 } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch)));
    assert.equal(stale.code, 409);
  });

  it('strategic merge patch merges containers, ports and conditions by key; custom resources answer 415', async () => {
    // Strategic merge patch: lists with a patchMergeKey (containers by name, service ports by port,
    // conditions by type) merge element-wise; `$patch: delete` removes one. CRDs do not support it.
    const body = pod('smp');
    body.spec!.containers = [{ name: 'main', image: 'a:1' }, { name: 'side', image: 's:1' }];
    await core.createNamespacedPod({ namespace: 'default', body });
    const patched = await core.patchNamespacedPod({ name: 'smp', namespace: 'default', body: { spec: { containers: [{ name: 'main', image: 'a:2' }] } } }, setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch));
    assert.deepEqual(patched.spec?.containers.map((c) => [c.name, c.image]), [['main', 'a:2'], ['side', 's:1']]);
    // The same change as a merge patch replaces the list, which a pod refuses (containers are immutable).
    const replaced = await failure(core.patchNamespacedPod({ name: 'smp', namespace: 'default', body: { spec: { containers: [{ name: 'main', image: 'a:3' }] } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch)));
    assert.equal(replaced.code, 422);
    await core.patchNamespacedPodStatus({ name: 'smp', namespace: 'default', body: { status: { conditions: [{ type: 'Ready', status: 'False' }, { type: 'PodScheduled', status: 'True' }] } } }, setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch));
    const ready = await core.patchNamespacedPodStatus({ name: 'smp', namespace: 'default', body: { status: { conditions: [{ type: 'Ready', status: 'True' }] } } }, setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch));
    assert.deepEqual(ready.status?.conditions?.map((c) => [c.type, c.status]), [['Ready', 'True'], ['PodScheduled', 'True']]);
    await core.createNamespacedService({ namespace: 'default', body: { metadata: { name: 'smp' }, spec: { ports: [{ name: 'sip', port: 5060 }, { name: 'http', port: 80 }] } } });
    const svc = await core.patchNamespacedService({ name: 'smp', namespace: 'default', body: { spec: { ports: [{ port: 80, $patch: 'delete' }, { name: 'rtmp', port: 1935 }] } } }, setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch));
    assert.deepEqual(svc.spec?.ports?.map((p) => [p.name, p.port, p.protocol]), [['sip', 5060, 'TCP'], ['rtmp', 1935, 'TCP']]);
    const unsupported = await failure(custom.patchNamespacedCustomObject({ group, version, plural, namespace: 'default', name: 'mp', body: { spec: { size: 1 } } }, setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch)));
    assert.equal(unsupported.code, 415);
  });
});

describe('server-side apply', () => {
  const applyOpts = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);

  it('creates on apply, records managedFields, and requires fieldManager', async () => {
    // Server-Side Apply: an apply to an absent object creates it; managedFields records the manager
    // with operation Apply; a request without fieldManager is rejected.
    const applied = (await custom.patchNamespacedCustomObject({ group, version, plural, namespace: 'default', name: 'ssa', fieldManager: 'op', body: widget('ssa', { size: 1, tags: ['a'] }) }, applyOpts)) as JsonObject;
    const managed = (applied.metadata as JsonObject).managedFields as JsonObject[];
    assert.equal(managed.length, 1);
    assert.deepEqual([managed[0].manager, managed[0].operation, managed[0].apiVersion], ['op', 'Apply', `${group}/${version}`]);
    assert.deepEqual(managed[0].fieldsV1, { 'f:spec': { 'f:size': {}, 'f:tags': { 'v:"a"': {} } } });
    const noManager = await failure(custom.patchNamespacedCustomObject({ group, version, plural, namespace: 'default', name: 'ssa', body: widget('ssa', { size: 2 }) }, applyOpts));
    assert.equal(noManager.code, 422);
    assert.match(noManager.message, /fieldManager: Required value/);
    const entry = kube.requests.findLast((r) => r.method === 'PATCH' && r.path.endsWith('/widgets/ssa'));
    assert.equal(entry?.contentType, 'application/apply-patch+yaml');
  });

  it('conflicts (409) when another manager owns a field with another value, unless forced', async () => {
    // Server-Side Apply: applying a different value to a field owned by another manager is a
    // conflict listing the fields and managers; force=true takes ownership; equal values share it.
    await custom.patchNamespacedCustomObject({ group, version, plural, namespace: 'default', name: 'ssa', body: { spec: { size: 5 } }, fieldManager: 'kubectl-edit' }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    const conflict = await failure(custom.patchNamespacedCustomObject({ group, version, plural, namespace: 'default', name: 'ssa', fieldManager: 'op', body: widget('ssa', { size: 1, tags: ['a'] }) }, applyOpts));
    assert.equal(conflict.code, 409);
    assert.equal(conflict.reason, 'Conflict');
    assert.equal(conflict.message, `Apply failed with 1 conflict: conflict with "kubectl-edit" using ${group}/${version}: .spec.size`);
    assert.deepEqual(conflict.details?.causes, [{ reason: 'FieldManagerConflict', message: `conflict with "kubectl-edit" using ${group}/${version}`, field: '.spec.size' }]);
    // Same value as the other manager: no conflict, shared ownership.
    await custom.patchNamespacedCustomObject({ group, version, plural, namespace: 'default', name: 'ssa', fieldManager: 'other', body: widget('ssa', { size: 5 }) }, applyOpts);
    const forced = (await custom.patchNamespacedCustomObject({ group, version, plural, namespace: 'default', name: 'ssa', fieldManager: 'op', force: true, body: widget('ssa', { size: 1, tags: ['a'] }) }, applyOpts)) as JsonObject;
    assert.equal((forced.spec as JsonObject).size, 1);
    const managers = ((forced.metadata as JsonObject).managedFields as JsonObject[]).map((m) => m.manager);
    assert.ok(!managers.includes('kubectl-edit'), 'the forced-off manager owns nothing and disappears');
  });

  it('removes fields a manager stops applying unless another manager owns them; map lists merge by key', async () => {
    // Server-Side Apply: fields dropped from a manager's applied configuration are removed when no
    // other manager owns them; lists with x-kubernetes-list-type map merge item by item across managers.
    const body = (spec: JsonObject): JsonObject => widget('ssa2', spec);
    await custom.patchNamespacedCustomObject({ group, version, plural, namespace: 'default', name: 'ssa2', fieldManager: 'a', body: body({ size: 1, color: 'blue', ports: [{ name: 'http', port: 80 }] }) }, applyOpts);
    await custom.patchNamespacedCustomObject({ group, version, plural, namespace: 'default', name: 'ssa2', fieldManager: 'b', body: body({ size: 1, ports: [{ name: 'rtmp', port: 1935 }] }) }, applyOpts);
    let obj = (await custom.getNamespacedCustomObject({ group, version, plural, namespace: 'default', name: 'ssa2' })) as JsonObject;
    assert.deepEqual((obj.spec as JsonObject).ports, [{ name: 'http', port: 80 }, { name: 'rtmp', port: 1935 }]);
    // a drops color and its port, keeps size (also owned by b).
    await custom.patchNamespacedCustomObject({ group, version, plural, namespace: 'default', name: 'ssa2', fieldManager: 'a', body: body({ size: 1 }) }, applyOpts);
    obj = (await custom.getNamespacedCustomObject({ group, version, plural, namespace: 'default', name: 'ssa2' })) as JsonObject;
    assert.deepEqual((obj.spec as JsonObject).ports, [{ name: 'rtmp', port: 1935 }]);
    assert.equal((obj.spec as JsonObject).color, 'red', 'color was removed, then defaulted');
    // b drops size: a still owns it, so it stays.
    await custom.patchNamespacedCustomObject({ group, version, plural, namespace: 'default', name: 'ssa2', fieldManager: 'b', body: body({ size: 1, ports: [{ name: 'rtmp', port: 1935 }] }) }, applyOpts);
    obj = (await custom.getNamespacedCustomObject({ group, version, plural, namespace: 'default', name: 'ssa2' })) as JsonObject;
    assert.equal((obj.spec as JsonObject).size, 1);
  });

  it('applies to /status separately from the main resource', async () => {
    const res = (await custom.patchNamespacedCustomObjectStatus({ group, version, plural, namespace: 'default', name: 'ssa2', fieldManager: 'op-status', body: { apiVersion: `${group}/${version}`, kind: 'Widget', metadata: { name: 'ssa2' }, spec: { size: 9 }, status: { phase: 'Ready' } } }, applyOpts)) as JsonObject;
    assert.deepEqual(res.status, { phase: 'Ready' });
    assert.equal((res.spec as JsonObject).size, 1);
    const entry = ((res.metadata as JsonObject).managedFields as JsonObject[]).find((m) => m.manager === 'op-status') as JsonObject;
    assert.equal(entry.subresource, 'status');
  });
});

describe('deletion', () => {
  it('keeps an object with finalizers, marked with deletionTimestamp, until the last finalizer goes', async () => {
    // Finalizers: deleting an object with finalizers sets metadata.deletionTimestamp and keeps it;
    // once metadata.finalizers is empty the object is deleted.
    const w = await collect(`/apis/${group}/${version}/namespaces/default/${plural}`, { fieldSelector: 'metadata.name=fin', resourceVersion: kube.resourceVersion() });
    await custom.createNamespacedCustomObject({ group, version, plural, namespace: 'default', body: widget('fin', { size: 1 }, { finalizers: ['gbcast.io/test'] }) });
    const deleting = (await custom.deleteNamespacedCustomObject({ group, version, plural, namespace: 'default', name: 'fin' })) as JsonObject;
    const m = deleting.metadata as JsonObject;
    assert.ok(m.deletionTimestamp);
    assert.equal(m.deletionGracePeriodSeconds, 0);
    assert.equal(m.generation, 2);
    const still = (await custom.getNamespacedCustomObject({ group, version, plural, namespace: 'default', name: 'fin' })) as JsonObject;
    assert.ok((still.metadata as JsonObject).deletionTimestamp);
    const added = await failure(custom.patchNamespacedCustomObject({ group, version, plural, namespace: 'default', name: 'fin', body: { metadata: { finalizers: ['gbcast.io/test', 'other/x'] } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch)));
    assert.equal(added.code, 422);
    await custom.patchNamespacedCustomObject({ group, version, plural, namespace: 'default', name: 'fin', body: [{ op: 'remove', path: '/metadata/finalizers' }] });
    assert.equal((await failure(custom.getNamespacedCustomObject({ group, version, plural, namespace: 'default', name: 'fin' }))).code, 404);
    await waitFor('DELETED event', () => w.events.some((e) => e.type === 'DELETED'));
    assert.deepEqual(w.events.map((e) => e.type), ['ADDED', 'MODIFIED', 'DELETED']);
    w.stop();
  });

  it('garbage-collects dependents of a deleted owner (Background) and keeps them with Orphan', async () => {
    // Garbage collection: with background propagation the owner goes at once and the collector
    // deletes dependents whose owners are all gone; with Orphan the dependents stay and lose the reference.
    const owner = (await custom.createNamespacedCustomObject({ group, version, plural, namespace: 'default', body: widget('owner') })) as JsonObject;
    const ref = { apiVersion: `${group}/${version}`, kind: 'Widget', name: 'owner', uid: String((owner.metadata as JsonObject).uid), controller: true, blockOwnerDeletion: true };
    await core.createNamespacedPod({ namespace: 'default', body: { ...pod('dep-1'), metadata: { name: 'dep-1', ownerReferences: [ref] } } });
    await core.createNamespacedSecret({ namespace: 'default', body: { metadata: { name: 'dep-2', ownerReferences: [ref] }, stringData: { a: 'b' } } });
    await custom.deleteNamespacedCustomObject({ group, version, plural, namespace: 'default', name: 'owner', propagationPolicy: 'Background' });
    await waitFor('dependents deleted', () => !kube.get({ apiVersion: 'v1', kind: 'Pod', name: 'dep-1' }) && !kube.get({ apiVersion: 'v1', kind: 'Secret', name: 'dep-2' }));

    const owner2 = (await custom.createNamespacedCustomObject({ group, version, plural, namespace: 'default', body: widget('owner2') })) as JsonObject;
    const ref2 = { ...ref, name: 'owner2', uid: String((owner2.metadata as JsonObject).uid) };
    await core.createNamespacedPod({ namespace: 'default', body: { ...pod('orphan-1'), metadata: { name: 'orphan-1', ownerReferences: [ref2] } } });
    await custom.deleteNamespacedCustomObject({ group, version, plural, namespace: 'default', name: 'owner2', propagationPolicy: 'Orphan' });
    await waitFor('owner gone', () => !kube.get({ apiVersion: `${group}/${version}`, kind: 'Widget', name: 'owner2' }));
    await kube.settle();
    const orphan = await core.readNamespacedPod({ name: 'orphan-1', namespace: 'default' });
    assert.equal(orphan.metadata?.ownerReferences, undefined);
  });

  it('foreground deletion keeps the owner until blocking dependents are gone', async () => {
    // Garbage collection: with Foreground the owner gets deletionTimestamp and the foregroundDeletion
    // finalizer, and is deleted only after dependents with blockOwnerDeletion=true are deleted.
    const owner = (await custom.createNamespacedCustomObject({ group, version, plural, namespace: 'default', body: widget('fg') })) as JsonObject;
    const ref = { apiVersion: `${group}/${version}`, kind: 'Widget', name: 'fg', uid: String((owner.metadata as JsonObject).uid), blockOwnerDeletion: true };
    await core.createNamespacedPod({ namespace: 'default', body: { ...pod('fg-dep'), metadata: { name: 'fg-dep', ownerReferences: [ref], finalizers: ['test/hold'] } } });
    await custom.deleteNamespacedCustomObject({ group, version, plural, namespace: 'default', name: 'fg', propagationPolicy: 'Foreground' });
    await kube.settle();
    const held = kube.get({ apiVersion: `${group}/${version}`, kind: 'Widget', name: 'fg' }) as JsonObject;
    assert.deepEqual((held.metadata as JsonObject).finalizers, ['foregroundDeletion']);
    const dep = await core.readNamespacedPod({ name: 'fg-dep', namespace: 'default' });
    assert.ok(dep.metadata?.deletionTimestamp, 'the dependent is being deleted');
    await core.patchNamespacedPod({ name: 'fg-dep', namespace: 'default', body: [{ op: 'remove', path: '/metadata/finalizers' }] });
    await waitFor('owner deleted', () => !kube.get({ apiVersion: `${group}/${version}`, kind: 'Widget', name: 'fg' }));
  });

  it('deleting a namespace deletes its contents, then the namespace', async () => {
    // Namespaces: a deleted namespace is Terminating while its objects are deleted, then removed;
    // nothing new can be created in it meanwhile.
    await core.createNamespace({ body: { metadata: { name: 'doomed' } } });
    await core.createNamespacedSecret({ namespace: 'doomed', body: { metadata: { name: 's', finalizers: ['test/hold'] } } });
    const ns = await core.deleteNamespace({ name: 'doomed' });
    assert.ok(ns);
    const terminating = await core.readNamespace({ name: 'doomed' });
    assert.equal(terminating.status?.phase, 'Terminating');
    const refused = await failure(core.createNamespacedSecret({ namespace: 'doomed', body: { metadata: { name: 't' } } }));
    assert.equal(refused.code, 403);
    await kube.settle();
    await core.patchNamespacedSecret({ name: 's', namespace: 'doomed', body: [{ op: 'remove', path: '/metadata/finalizers' }] });
    await waitFor('namespace gone', () => !kube.get({ apiVersion: 'v1', kind: 'Namespace', name: 'doomed' }));
  });
});

describe('watch', () => {
  it('from a resourceVersion streams only later events; without one starts with ADDED for each object', async () => {
    // API Concepts: a watch from resourceVersion N delivers the changes after N; with no
    // resourceVersion (or "0") it first sends a synthetic ADDED event for every existing object.
    await core.createNamespace({ body: { metadata: { name: 'w1' } } });
    await core.createNamespacedPod({ namespace: 'w1', body: pod('old') });
    const rv = kube.resourceVersion();
    await core.createNamespacedPod({ namespace: 'w1', body: pod('new') });
    const fromRv = await collect('/api/v1/namespaces/w1/pods', { resourceVersion: rv });
    const fromState = await collect('/api/v1/namespaces/w1/pods', {});
    await waitFor('events', () => fromRv.events.length >= 1 && fromState.events.length >= 2);
    assert.deepEqual(fromRv.events.map((e) => [e.type, nameOf(e.object)]), [['ADDED', 'new']]);
    assert.deepEqual(fromState.events.map((e) => [e.type, nameOf(e.object)]), [['ADDED', 'new'], ['ADDED', 'old']]);
    await core.deleteNamespacedPod({ name: 'old', namespace: 'w1' });
    await waitFor('deleted', () => fromRv.events.length === 2 && fromState.events.length === 3);
    const deleted = fromRv.events[1];
    assert.equal(deleted.type, 'DELETED');
    assert.ok(Number((deleted.object.metadata as JsonObject).resourceVersion) > Number(rv), 'the DELETED object carries the deletion resourceVersion');
    fromRv.stop();
    fromState.stop();
  });

  it('turns selector transitions into ADDED and DELETED for that watcher', async () => {
    // API Concepts / cacher: with a label selector, an object that starts matching arrives as
    // ADDED and one that stops matching as DELETED.
    await core.createNamespacedPod({ namespace: 'w1', body: pod('sel', { role: 'x' }) });
    const w = await collect('/api/v1/namespaces/w1/pods', { labelSelector: 'role=y', resourceVersion: kube.resourceVersion() });
    await core.patchNamespacedPod({ name: 'sel', namespace: 'w1', body: { metadata: { labels: { role: 'y' } } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    await core.patchNamespacedPod({ name: 'sel', namespace: 'w1', body: { metadata: { labels: { role: 'y', more: '1' } } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    await core.patchNamespacedPod({ name: 'sel', namespace: 'w1', body: { metadata: { labels: { role: 'z' } } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    await waitFor('three events', () => w.events.length === 3);
    assert.deepEqual(w.events.map((e) => e.type), ['ADDED', 'MODIFIED', 'DELETED']);
    w.stop();
  });

  it('sends an ERROR 410 Expired Status when the resourceVersion is older than the history', async () => {
    // API Concepts: when the requested resourceVersion is no longer available the server answers
    // 410 Gone; for a watch it arrives as an ERROR event carrying a Status with code 410, then the
    // stream ends. A list with resourceVersionMatch=Exact that old is 410 too.
    const rv = kube.resourceVersion();
    await core.createNamespacedPod({ namespace: 'w1', body: pod('later') });
    kube.expireHistory();
    const w = await collect('/api/v1/namespaces/w1/pods', { resourceVersion: rv });
    assert.equal(await w.ended, 'closed');
    assert.equal(w.events.length, 1);
    assert.equal(w.events[0].type, 'ERROR');
    assert.deepEqual({ ...w.events[0].object, message: undefined }, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: undefined, reason: 'Expired', code: 410 });
    assert.match(String(w.events[0].object.message), /^too old resource version: \d+ \(\d+\)$/);
    const exact = await failure(core.listNamespacedPod({ namespace: 'w1', resourceVersion: rv, resourceVersionMatch: 'Exact' }));
    assert.equal(exact.code, 410);
    assert.equal(exact.reason, 'Expired');
    // NotOlderThan may be served from newer data: no 410.
    const newer = await core.listNamespacedPod({ namespace: 'w1', resourceVersion: rv, resourceVersionMatch: 'NotOlderThan' });
    assert.ok(Number(newer.metadata?.resourceVersion) > Number(rv));
  });

  it('bookmarks, sendInitialEvents and timeoutSeconds', async () => {
    // API Concepts: with allowWatchBookmarks the server sends BOOKMARK events holding only the
    // resourceVersion; sendInitialEvents ends the initial ADDED events with a bookmark annotated
    // k8s.io/initial-events-end; timeoutSeconds ends the watch.
    const quick = await startFakeKube({ bookmarkIntervalMs: 50 });
    try {
      const qkc = quick.kubeConfig();
      await qkc.makeApiClient(CoreV1Api).createNamespacedPod({ namespace: 'default', body: pod('p') });
      const w = await collect('/api/v1/namespaces/default/pods', { allowWatchBookmarks: true, sendInitialEvents: true, resourceVersionMatch: 'NotOlderThan', timeoutSeconds: 1 }, qkc);
      await w.ended;
      assert.equal(w.events[0].type, 'ADDED');
      assert.equal(w.events[1].type, 'BOOKMARK');
      assert.deepEqual((w.events[1].object.metadata as JsonObject).annotations, { 'k8s.io/initial-events-end': 'true' });
      const periodic = w.events.slice(2);
      assert.ok(periodic.length >= 2 && periodic.every((e) => e.type === 'BOOKMARK'));
      assert.deepEqual(Object.keys(periodic[0].object.metadata as JsonObject), ['resourceVersion']);
      assert.equal(periodic[0].object.kind, 'Pod');
    } finally {
      await quick.stop();
    }
  });

  it('an informer survives broken watches and 410s by re-watching and re-listing', async () => {
    // client-go-style informers: a closed watch is re-opened from the last resourceVersion; a 410
    // makes them list again. The fake must provide both behaviours for the operator's tests.
    await core.createNamespace({ body: { metadata: { name: 'inf' } } });
    const informer = makeInformer(kc, '/api/v1/namespaces/inf/pods', () => core.listNamespacedPod({ namespace: 'inf' }));
    const seen = new Set<string>();
    informer.on('add', (o: KubernetesObject) => seen.add(String(o.metadata?.name)));
    // client-node's informer stops on a watch error; its documentation restarts it from the error handler.
    let running = true;
    informer.on('error', () => setTimeout(() => running && void informer.start(), 100));
    await informer.start();
    await core.createNamespacedPod({ namespace: 'inf', body: pod('one') });
    await waitFor('one', () => seen.has('one'));
    kube.breakWatches();
    await core.createNamespacedPod({ namespace: 'inf', body: pod('two') });
    await waitFor('two after a broken watch', () => seen.has('two'), 10_000);
    const lists = kube.requests.filter((r) => r.path === '/api/v1/namespaces/inf/pods' && !r.watch).length;
    kube.expireHistory();
    kube.breakWatches();
    await core.createNamespacedPod({ namespace: 'inf', body: pod('three') });
    await waitFor('three after a 410', () => seen.has('three'), 10_000);
    assert.ok(informer.list().length === 3);
    assert.ok(kube.requests.filter((r) => r.path === '/api/v1/namespaces/inf/pods' && !r.watch).length >= lists, 'relisted');
    running = false;
    await informer.stop();
  });
});

describe('test hooks', () => {
  it('put() writes like a kubelet: new resourceVersion, watchers notified, no validation', async () => {
    const created = await core.createNamespacedPod({ namespace: 'default', body: pod('kubelet') });
    const w = await collect('/api/v1/namespaces/default/pods', { fieldSelector: 'metadata.name=kubelet', resourceVersion: String(created.metadata?.resourceVersion) });
    const current = kube.get({ apiVersion: 'v1', kind: 'Pod', name: 'kubelet' }) as JsonObject;
    const written = kube.put({ ...current, status: { phase: 'Running', podIP: '10.0.0.7' } });
    assert.ok(Number((written.metadata as JsonObject).resourceVersion) > Number(created.metadata?.resourceVersion));
    await waitFor('MODIFIED', () => w.events.length === 1);
    assert.equal(((w.events[0].object.status as JsonObject).phase), 'Running');
    const running = await core.listNamespacedPod({ namespace: 'default', fieldSelector: 'status.phase=Running' });
    assert.deepEqual(running.items.map((p) => p.metadata?.name), ['kubelet']);
    w.stop();
  });

  it('failNext answers with an error Status for the matching requests; the request log records them', async () => {
    kube.failNext({ method: 'GET', pathPattern: /\/pods\/kubelet$/, status: 503, times: 2 });
    const first = await failure(core.readNamespacedPod({ name: 'kubelet', namespace: 'default' }));
    assert.deepEqual([first.code, first.reason], [503, 'ServiceUnavailable']);
    assert.equal((await failure(core.readNamespacedPod({ name: 'kubelet', namespace: 'default' }))).code, 503);
    assert.equal((await core.readNamespacedPod({ name: 'kubelet', namespace: 'default' })).metadata?.name, 'kubelet');
    const log = kube.requests.filter((r) => r.path === '/api/v1/namespaces/default/pods/kubelet' && r.method === 'GET').slice(-3);
    assert.deepEqual(log.map((r) => r.status), [503, 503, 200]);
    kube.latency(30);
    const t0 = performance.now();
    await core.readNamespacedPod({ name: 'kubelet', namespace: 'default' });
    kube.latency(0);
    assert.ok(performance.now() - t0 >= 25, 'latency applied');
  });

  it('serves core/v1 events through events.k8s.io/v1 with the renamed fields', async () => {
    // Events: core/v1 Event and events.k8s.io/v1 Event are two views of the same objects
    // (message↔note, involvedObject↔regarding, reportingComponent↔reportingController).
    await core.createNamespacedEvent({ namespace: 'default', body: { metadata: { name: 'ev1' }, involvedObject: { kind: 'Pod', name: 'kubelet', namespace: 'default' }, reason: 'Started', message: 'hello', type: 'Normal' } });
    const list = await kc.makeApiClient(EventsV1Api).listNamespacedEvent({ namespace: 'default', fieldSelector: 'reason=Started' });
    assert.equal(list.items.length, 1);
    assert.equal(list.items[0].note, 'hello');
    assert.equal(list.items[0].regarding?.name, 'kubelet');
    const missing = await failure(kc.makeApiClient(EventsV1Api).createNamespacedEvent({ namespace: 'default', body: { metadata: { name: 'ev2' }, eventTime: undefined as never } }));
    assert.equal(missing.code, 422);
  });
});

describe('CRD lifecycle', () => {
  it('deleting a CRD deletes its objects, then stops serving the resource', async () => {
    // CRD docs: deleting a CRD deletes all its custom objects (cleanup finalizer), then its endpoint goes.
    const api = kc.makeApiClient(ApiextensionsV1Api);
    const crd = widgetCrd();
    const spec = crd.spec as JsonObject;
    spec.names = { plural: 'gadgets', kind: 'Gadget' };
    spec.scope = 'Cluster';
    (crd.metadata as JsonObject).name = `gadgets.${group}`;
    const created = await api.createCustomResourceDefinition({ body: typedCrd(crd) });
    assert.ok(created.metadata?.finalizers?.includes('customresourcecleanup.apiextensions.k8s.io'));
    assert.ok(created.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True'));
    await custom.createClusterCustomObject({ group, version, plural: 'gadgets', body: { apiVersion: `${group}/${version}`, kind: 'Gadget', metadata: { name: 'g1' }, spec: { size: 1 } } });
    await api.deleteCustomResourceDefinition({ name: `gadgets.${group}` });
    await waitFor('CRD gone', async () => (await raw('GET', `/apis/${group}/${version}/gadgets`)).status === 404);
    assert.equal(kube.list('apiextensions.k8s.io/v1', 'CustomResourceDefinition').some((c) => nameOf(c) === `gadgets.${group}`), false);
  });
});
