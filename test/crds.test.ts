/**
 * The CRDs (crds/*.yaml) against the API server's rules for CRDs, the examples against the CRDs, the
 * CRDs' validation (defaults, OpenAPI keywords, CEL rules) on good and bad resources, and
 * operator/api/types.ts against the schemas. Also the checkers themselves (test/support/crd-schema/,
 * kube-schemas.ts): a CRD broken on purpose must be refused, a bad built-in object reported.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { Condition, GbCamera, GbCameraSpec, GbStreamServer, GbStreamServerSpec } from '../operator/api/types.ts';
import { apiVersion } from '../operator/api/types.ts';
import type { CustomResourceDefinition, StructuralSchema } from './support/crd-schema/index.ts';
import { crdErrors, schemaErrors } from './support/crd-schema/index.ts';
import { formatFieldError } from './support/kube-fields.ts';
import {
  crdDir,
  gbcastCrds,
  loadYamlDocuments,
  validateCrdManifest,
  validateCustomResource,
  validateKubeObject,
  validateManifest,
} from './support/kube-schemas.ts';

const examplesDir = new URL('../examples/', import.meta.url);
const crds = gbcastCrds();
type Obj = Record<string, unknown>;

function pool(spec: Obj, rest: Obj = {}): Obj {
  return { apiVersion, kind: 'GbStreamServer', metadata: { name: 'media', namespace: 'gbcast' }, spec: { image: 'gbcast:1', ...spec }, ...rest };
}

function camera(spec: Obj, rest: Obj = {}): Obj {
  return {
    apiVersion,
    kind: 'GbCamera',
    metadata: { name: 'gate', namespace: 'gbcast' },
    spec: { deviceId: '34020000001320000001', passwordSecretRef: { name: 'cams', key: 'gate' }, ...spec },
    ...rest,
  };
}

const admitPool = (spec: Obj, rest: Obj = {}, old?: Obj) => validateCustomResource<GbStreamServer>(crds.streamServer, pool(spec, rest), { oldObject: old });
const admitCamera = (spec: Obj, rest: Obj = {}, old?: Obj) => validateCustomResource<GbCamera>(crds.camera, camera(spec, rest), { oldObject: old });
const clone = <T>(v: T): T => structuredClone(v);
/** What the API server adds when a schema error keeps it from running the CEL rules. */
const notChecked = '<nil>: Invalid value: "null": some validation rules were not checked because the object was invalid; correct the existing errors to complete validation';
const schemaOf = (crd: CustomResourceDefinition) => crd.spec.versions[0].schema?.openAPIV3Schema as StructuralSchema;
/** The CRD's printer columns as [name, jsonPath, type, priority] rows. */
const printerColumns = (crd: CustomResourceDefinition) =>
  (crd.spec.versions[0].additionalPrinterColumns ?? []).map((c) => [c.name, c.jsonPath, c.type, c.priority ?? 0]);

describe('the CRDs', () => {
  for (const file of readdirSync(crdDir).filter((f) => f.endsWith('.yaml'))) {
    it(`${file} is a valid apiextensions.k8s.io/v1 CRD with a structural schema`, async () => {
      const [crd] = loadYamlDocuments(`${crdDir}${file}`) as CustomResourceDefinition[];
      assert.deepEqual(await validateCrdManifest(crd), []);
      assert.deepEqual(schemaErrors(schemaOf(crd)).map(formatFieldError), []);
      assert.equal(file, `${crd.spec.group}_${crd.spec.names.plural}.yaml`);
      assert.equal(crd.spec.group, 'gbcast.io');
      assert.equal(crd.spec.scope, 'Namespaced');
      assert.deepEqual(crd.spec.names.categories, ['gbcast']);
      assert.deepEqual(
        crd.spec.versions.map((v) => [v.name, v.served, v.storage]),
        [['v1alpha1', true, true]],
      );
      assert.deepEqual(crd.spec.versions[0].subresources?.status, {});
    });
  }

  it('GbStreamServer: short name gbss, a scale subresource for kubectl scale and HPAs, its printer columns', () => {
    const crd = crds.streamServer;
    assert.deepEqual(crd.spec.names.shortNames, ['gbss']);
    assert.deepEqual(crd.spec.versions[0].subresources?.scale, {
      specReplicasPath: '.spec.replicas',
      statusReplicasPath: '.status.replicas',
      labelSelectorPath: '.status.selector',
    });
    assert.deepEqual(printerColumns(crd), [
      ['Desired', '.spec.replicas', 'integer', 0],
      ['Ready', '.status.readyReplicas', 'integer', 0],
      ['Draining', '.status.drainingReplicas', 'integer', 0],
      ['Streams', '.status.activeStreams', 'integer', 0],
      ['Exposure', '.spec.media.exposure', 'string', 1],
      ['Autoscaling', '.spec.autoscaling.enabled', 'boolean', 1],
      ['Capacity', '.status.capacity', 'integer', 1],
      ['Age', '.metadata.creationTimestamp', 'date', 0],
    ]);
  });

  it('GbCamera: short name gbcam, no scale subresource, its printer columns', () => {
    const crd = crds.camera;
    assert.deepEqual(crd.spec.names.shortNames, ['gbcam']);
    assert.equal(crd.spec.versions[0].subresources?.scale, undefined);
    assert.deepEqual(printerColumns(crd), [
      ['Device', '.spec.deviceId', 'string', 0],
      ['Online', '.status.online', 'boolean', 0],
      ['Last Keepalive', '.status.lastKeepalive', 'date', 0],
      ['Address', '.status.address', 'string', 1],
      ['Pool', '.spec.pool', 'string', 1],
      ['Streams', '.status.activeStreams', 'integer', 0],
      ['Age', '.metadata.creationTimestamp', 'date', 0],
    ]);
  });
});

describe('the examples', () => {
  const files = readdirSync(examplesDir).filter((f) => f.endsWith('.yaml'));

  it('are there', () => {
    assert.deepEqual(files.sort(), ['cameras.yaml', 'pool-nodeport.yaml', 'pool.yaml']);
  });

  for (const file of files) {
    it(`${file}: every document validates (custom resources against the CRDs, the rest against Kubernetes' schemas)`, async () => {
      const docs = loadYamlDocuments(new URL(file, examplesDir).pathname);
      assert.ok(docs.length > 0);
      for (const doc of docs) assert.deepEqual(await validateManifest(doc), [], `${file}: ${JSON.stringify((doc as Obj).metadata)}`);
    });
  }

  it('say what they promise: autoscaling in pool.yaml, NodePort in pool-nodeport.yaml, a Secret and two cameras (one always-on) in cameras.yaml', () => {
    const [p] = loadYamlDocuments(new URL('pool.yaml', examplesDir).pathname) as GbStreamServer[];
    assert.equal(p.spec.autoscaling?.enabled, true);
    const [n] = loadYamlDocuments(new URL('pool-nodeport.yaml', examplesDir).pathname) as GbStreamServer[];
    assert.equal(n.spec.media.exposure, 'NodePort');
    const docs = loadYamlDocuments(new URL('cameras.yaml', examplesDir).pathname) as Obj[];
    assert.deepEqual(
      docs.map((d) => d.kind),
      ['Secret', 'GbCamera', 'GbCamera'],
    );
    const cams = docs.slice(1) as unknown as GbCamera[];
    assert.equal(cams.filter((c) => c.spec.alwaysOn?.length).length, 1);
    const secret = docs[0] as { metadata: { name: string }; stringData: Record<string, string> };
    for (const c of cams) {
      assert.equal(c.spec.passwordSecretRef.name, secret.metadata.name);
      assert.ok(c.spec.passwordSecretRef.key in secret.stringData, c.spec.passwordSecretRef.key);
    }
    assert.equal(cams[1].spec.pool, n.metadata.name);
  });
});

describe('defaults', () => {
  it('fill a GbStreamServer that names only its image, as types.ts expects', () => {
    const r = admitPool({});
    assert.deepEqual(r.errors, []);
    const expected: GbStreamServerSpec = {
      image: 'gbcast:1',
      replicas: 1,
      media: { exposure: 'hostPort', portRange: { min: 30000, max: 30099 } },
      drainTimeoutSeconds: 3600,
    };
    assert.deepEqual(r.object.spec, expected);
  });

  it('fill autoscaling once it is there, and portRange under a media that names only its exposure', () => {
    const r = admitPool({ autoscaling: { enabled: true }, media: { exposure: 'NodePort' } });
    assert.deepEqual(r.errors, []);
    assert.deepEqual(r.object.spec.autoscaling, {
      enabled: true,
      minReplicas: 1,
      maxReplicas: 10,
      targetStreamsPerPod: 100,
      headroomPercent: 20,
      scaleDownDelaySeconds: 300,
    });
    assert.deepEqual(r.object.spec.media, { exposure: 'NodePort', portRange: { min: 30000, max: 30099 } });
    assert.equal(admitPool({ autoscaling: {} }).object.spec.autoscaling?.enabled, false);
  });

  it('keep what the user set, and replace a null with the default', () => {
    const r = admitPool({ replicas: 0, drainTimeoutSeconds: null, media: { portRange: { min: 40000, max: 40009 } } });
    assert.deepEqual(r.errors, []);
    assert.equal(r.object.spec.replicas, 0);
    assert.equal(r.object.spec.drainTimeoutSeconds, 3600);
    assert.deepEqual(r.object.spec.media, { exposure: 'hostPort', portRange: { min: 40000, max: 40009 } });
  });

  it('give a GbCamera the udp transport', () => {
    const r = admitCamera({});
    assert.deepEqual(r.errors, []);
    const expected: GbCameraSpec = { deviceId: '34020000001320000001', passwordSecretRef: { name: 'cams', key: 'gate' }, transport: 'udp' };
    assert.deepEqual(r.object.spec, expected);
  });
});

describe('GbStreamServer validation', () => {
  const cases: [string, Obj, string[], Obj?][] = [
    [
      'autoscaling.minReplicas above maxReplicas',
      { autoscaling: { enabled: true, minReplicas: 5, maxReplicas: 3 } },
      ['spec.autoscaling.minReplicas: Invalid value: "object": autoscaling.minReplicas (5) must not be greater than autoscaling.maxReplicas (3)'],
    ],
    [
      'portRange.min above portRange.max',
      { media: { portRange: { min: 30010, max: 30000 } } },
      ['spec.media.portRange: Invalid value: "object": portRange.min (30010) must not be greater than portRange.max (30000)'],
    ],
    [
      'NodePort exposure with ports below 30000',
      { media: { exposure: 'NodePort', portRange: { min: 20000, max: 20099 } } },
      ['spec.media.portRange: Invalid value: "object": exposure NodePort needs portRange within 30000-32767 (the default NodePort range of Kubernetes), got 20000-20099'],
    ],
    [
      'NodePort exposure with ports above 32767',
      { media: { exposure: 'NodePort', portRange: { min: 32700, max: 32800 } } },
      ['spec.media.portRange: Invalid value: "object": exposure NodePort needs portRange within 30000-32767 (the default NodePort range of Kubernetes), got 32700-32800'],
    ],
    [
      'a port range smaller than autoscaling.maxReplicas',
      { autoscaling: { enabled: true, maxReplicas: 20 }, media: { portRange: { min: 30000, max: 30009 } } },
      [
        'spec.media.portRange: Invalid value: "object": media.portRange holds 10 ports but the pool may run 20 pods (autoscaling.maxReplicas), each needing a port of its own: widen the range or lower the pod count',
      ],
    ],
    [
      'a port range smaller than replicas (kubectl scale goes through the same check)',
      { replicas: 3, media: { portRange: { min: 30000, max: 30001 } } },
      ['spec.media.portRange: Invalid value: "object": media.portRange holds 2 ports but the pool may run 3 pods (replicas), each needing a port of its own: widen the range or lower the pod count'],
    ],
    ['an exposure that does not exist', { media: { exposure: 'LoadBalancer' } }, ['spec.media.exposure: Unsupported value: "LoadBalancer": supported values: "hostPort", "NodePort"', notChecked]],
    ['a port above 65535', { media: { portRange: { min: 65000, max: 70000 } } }, ['spec.media.portRange.max: Invalid value: 70000: spec.media.portRange.max in body should be less than or equal to 65535']],
    ['a half port range', { media: { portRange: { min: 30000 } } }, ['spec.media.portRange.max: Required value', notChecked]],
    ['no image', { image: undefined }, ['spec.image: Required value', notChecked]],
    ['negative replicas', { replicas: -1 }, ['spec.replicas: Invalid value: -1: spec.replicas in body should be greater than or equal to 0']],
    ['replicas as a string', { replicas: '2' }, ['spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"', notChecked]],
    ['minReplicas 0 (no stream could ever start)', { autoscaling: { enabled: true, minReplicas: 0 } }, ['spec.autoscaling.minReplicas: Invalid value: 0: spec.autoscaling.minReplicas in body should be greater than or equal to 1']],
    ['targetStreamsPerPod 0', { autoscaling: { enabled: true, targetStreamsPerPod: 0 } }, ['spec.autoscaling.targetStreamsPerPod: Invalid value: 0: spec.autoscaling.targetStreamsPerPod in body should be greater than or equal to 1']],
    [
      'both publicAddress.override and addressType',
      { publicAddress: { override: '203.0.113.5', addressType: 'InternalIP' } },
      ['spec.publicAddress: Invalid value: "object": set publicAddress.override or publicAddress.addressType, not both (the override wins over any node address)'],
    ],
    ['an RTMP template that is not rtmp://', { rtmpUrlTemplate: 'http://x/{streamId}' }, ["spec.rtmpUrlTemplate: Invalid value: \"http://x/{streamId}\": spec.rtmpUrlTemplate in body should match '^rtmps?://\\S+$'"]],
    [
      'an env entry the operator sets per pod',
      { env: [{ name: 'GBCAST_RTP_PORT', value: '5000' }] },
      ['spec.env[0].name: Forbidden: GBCAST_RTP_PORT is set by the operator for each pod (ports and addresses come from spec.media and spec.publicAddress)'],
    ],
    ['an env entry with value and valueFrom', { env: [{ name: 'A', value: 'x', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }] }, ['spec.env[0]: Invalid value: "object": an env entry takes value or valueFrom, not both']],
    ['the same env name twice', { env: [{ name: 'A', value: 'x' }, { name: 'A', value: 'y' }] }, ['spec.env[1]: Duplicate value: map[string]interface {}{"name":"A"}']],
    [
      'a name that cannot make Service names',
      {},
      [
        `metadata.name: Invalid value: "Media_1": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`,
        "metadata.name: Invalid value: \"Media_1\": metadata.name in body should match '^[a-z]([-a-z0-9]*[a-z0-9])?$'",
      ],
      { metadata: { name: 'Media_1', namespace: 'gbcast' } },
    ],
    ['a name too long for its pods', {}, ['metadata.name: Too long: may not be more than 57 bytes', notChecked], { metadata: { name: `p${'o'.repeat(57)}`, namespace: 'gbcast' } }],
  ];
  for (const [what, spec, expected, rest] of cases) {
    it(`refuses ${what}`, () => {
      const s = { ...spec };
      for (const k of Object.keys(s)) if (s[k] === undefined) delete s[k];
      const obj = pool(s, rest);
      if (spec.image === undefined && 'image' in spec) delete (obj.spec as Obj).image;
      const r = validateCustomResource(crds.streamServer, obj);
      assert.deepEqual(r.errors, expected);
    });
  }

  it('takes a port range exactly as large as maxReplicas, and the whole NodePort range', () => {
    assert.deepEqual(admitPool({ autoscaling: { enabled: true, maxReplicas: 10 }, media: { portRange: { min: 30000, max: 30009 } } }).errors, []);
    assert.deepEqual(admitPool({ media: { exposure: 'NodePort', portRange: { min: 30000, max: 32767 } } }).errors, []);
    // With autoscaling off, maxReplicas does not count: replicas does.
    assert.deepEqual(admitPool({ replicas: 2, autoscaling: { enabled: false, maxReplicas: 50 }, media: { portRange: { min: 30000, max: 30001 } } }).errors, []);
  });

  it('drops unknown fields and reports them', () => {
    const r = admitPool({ replica: 3, media: { exposure: 'hostPort', ports: [1] } }, { extra: true });
    assert.deepEqual(r.errors, []);
    assert.deepEqual(r.unknownFields.sort(), ['extra', 'spec.media.ports', 'spec.replica']);
    assert.equal('replica' in r.object.spec, false);
    assert.equal('ports' in r.object.spec.media, false);
  });

  it('keeps resources, affinity, tolerations and env valueFrom as they are (preserve-unknown-fields)', () => {
    const spec = {
      resources: { requests: { cpu: '500m' }, limits: { memory: '1Gi' } },
      affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [] } } },
      tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'media', effect: 'NoSchedule' }],
      env: [{ name: 'GBCAST_REDIS_PREFIX', valueFrom: { configMapKeyRef: { name: 'c', key: 'k' } } }],
    };
    const r = admitPool(spec);
    assert.deepEqual([r.errors, r.unknownFields], [[], []]);
    for (const k of Object.keys(spec)) assert.deepEqual((r.object.spec as unknown as Obj)[k], (spec as Obj)[k]);
  });

  it('checks the status the operator writes: condition types, reasons, times, counts', () => {
    const cond = (c: Partial<Condition>): Condition => ({ type: 'Ready', status: 'True', reason: 'PodsReady', message: '2 of 2 pods ready', lastTransitionTime: '2026-01-02T03:04:05Z', ...c });
    assert.deepEqual(admitPool({}, { status: { replicas: 2, conditions: [cond({})], lowLoadSince: '2026-01-02T03:04:05.123Z' } }).errors, []);
    assert.deepEqual(admitPool({}, { status: { conditions: [cond({ type: 'Available' })] } }).errors, [
      'status.conditions[0].type: Unsupported value: "Available": supported values: "Ready", "Scaling", "Degraded"',
      notChecked,
    ]);
    assert.deepEqual(admitPool({}, { status: { conditions: [cond({ reason: 'Pods not ready' })] } }).errors, [
      "status.conditions[0].reason: Invalid value: \"Pods not ready\": status.conditions[0].reason in body should match '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$'",
    ]);
    assert.deepEqual(admitPool({}, { status: { conditions: [cond({}), cond({ status: 'False' })] } }).errors, ['status.conditions[1]: Duplicate value: map[string]interface {}{"type":"Ready"}']);
    assert.deepEqual(admitPool({}, { status: { conditions: [cond({ lastTransitionTime: 'yesterday' })] } }).errors, [
      'status.conditions[0].lastTransitionTime: Invalid value: "yesterday": status.conditions[0].lastTransitionTime in body must be of type date-time: "yesterday"',
      notChecked,
    ]);
    const { lastTransitionTime: _, ...noTime } = cond({});
    assert.deepEqual(admitPool({}, { status: { conditions: [noTime] } }).errors, ['status.conditions[0].lastTransitionTime: Required value', notChecked]);
    assert.deepEqual(admitPool({}, { status: { readyReplicas: -1 } }).errors, ['status.readyReplicas: Invalid value: -1: status.readyReplicas in body should be greater than or equal to 0']);
    assert.deepEqual(admitPool({}, { status: { pods: [{ name: 'p-1', ready: true, draining: false, streams: 0, port: 0 }] } }).errors, [
      'status.pods[0].port: Invalid value: 0: status.pods[0].port in body should be greater than or equal to 1',
    ]);
  });
});

describe('GbCamera validation', () => {
  const oldCamera = camera({ alwaysOn: [{ channelId: '34020000001310000001' }] });

  it('refuses a device ID that is not 20 digits', () => {
    for (const deviceId of ['3402000000132000001', '340200000013200000011', '3402000000132000000a']) {
      assert.deepEqual(admitCamera({ deviceId }).errors, [`spec.deviceId: Invalid value: "${deviceId}": spec.deviceId in body should match '^[0-9]{20}$'`]);
    }
    assert.deepEqual(admitCamera({ deviceId: 34020000001320000000 }).errors, ['spec.deviceId: Invalid value: "integer": spec.deviceId in body must be of type string: "integer"', notChecked]);
  });

  it('refuses a changed device ID on update, and takes other changes', () => {
    assert.deepEqual(admitCamera({ deviceId: '34020000001320000002' }, {}, oldCamera).errors, [
      'spec.deviceId: Invalid value: "string": deviceId is immutable; create another GbCamera for another device',
    ]);
    assert.deepEqual(admitCamera({ displayName: 'Gate 2', transport: 'tcp-active', pool: 'nvr' }, {}, oldCamera).errors, []);
  });

  it('refuses the same always-on channel twice (list map key and CEL rule)', () => {
    const ch = '34020000001310000001';
    assert.deepEqual(admitCamera({ alwaysOn: [{ channelId: ch }, { channelId: ch, rtmpUrl: 'rtmp://x/live/a' }] }).errors, [
      `spec.alwaysOn[1]: Duplicate value: map[string]interface {}{"channelId":"${ch}"}`,
      'spec.alwaysOn: Invalid value: "array": each channelId may appear in alwaysOn once',
    ]);
  });

  it('refuses bad channels, URLs, transports, secret references and too many always-on channels', () => {
    assert.deepEqual(admitCamera({ alwaysOn: [{ rtmpUrl: 'rtmp://x/y' }] }).errors, ['spec.alwaysOn[0].channelId: Required value', notChecked]);
    assert.deepEqual(admitCamera({ alwaysOn: [{ channelId: '34020000001310000001', rtmpUrl: 'srt://x' }] }).errors, [
      "spec.alwaysOn[0].rtmpUrl: Invalid value: \"srt://x\": spec.alwaysOn[0].rtmpUrl in body should match '^rtmps?://\\S+$'",
    ]);
    assert.deepEqual(admitCamera({ transport: 'tcp' }).errors, ['spec.transport: Unsupported value: "tcp": supported values: "udp", "tcp-passive", "tcp-active"', notChecked]);
    assert.deepEqual(admitCamera({ passwordSecretRef: { name: 'cams' } }).errors, ['spec.passwordSecretRef.key: Required value', notChecked]);
    const many = Array.from({ length: 129 }, (_, i) => ({ channelId: `340200000013100${String(i).padStart(5, '0')}` }));
    assert.deepEqual(admitCamera({ alwaysOn: many }).errors, ['spec.alwaysOn: Too many: 129: must have at most 128 items', notChecked]);
    const { passwordSecretRef: _, ...noSecret } = camera({}).spec as Obj;
    assert.deepEqual(validateCustomResource(crds.camera, { ...camera({}), spec: noSecret }).errors, ['spec.passwordSecretRef: Required value', notChecked]);
  });

  it('checks the status the operator writes', () => {
    assert.deepEqual(admitCamera({}, { status: { online: true, lastKeepalive: '2026-01-02T03:04:05Z', activeStreams: 1 } }).errors, []);
    assert.deepEqual(admitCamera({}, { status: { online: 'yes' } }).errors, ['status.online: Invalid value: "string": status.online in body must be of type boolean: "string"', notChecked]);
    assert.deepEqual(admitCamera({}, { status: { lastKeepalive: 1767322000 } }).errors, ['status.lastKeepalive: Invalid value: "integer": status.lastKeepalive in body must be of type string: "integer"', notChecked]);
  });
});

// ---------------------------------------------------------------------------------------------
// operator/api/types.ts against the schemas: a literal of every field, typed by types.ts (so the
// compiler refuses a field types.ts lacks), must validate without unknown fields (the schema has every
// field types.ts has), and must cover every field of the schema (types.ts has every field it has).

const fullPool: GbStreamServer = {
  apiVersion,
  kind: 'GbStreamServer',
  metadata: {
    name: 'media',
    namespace: 'gbcast',
    uid: '6f1c2d3e-0000-4000-8000-000000000001',
    resourceVersion: '42',
    generation: 3,
    creationTimestamp: '2026-01-01T00:00:00Z',
    labels: { team: 'video' },
    annotations: { note: 'x' },
    finalizers: ['gbcast.io/example'],
    ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: 'u', controller: false, blockOwnerDeletion: false }],
  },
  spec: {
    replicas: 2,
    autoscaling: { enabled: true, minReplicas: 2, maxReplicas: 8, targetStreamsPerPod: 50, headroomPercent: 25, scaleDownDelaySeconds: 120 },
    media: { exposure: 'NodePort', portRange: { min: 31000, max: 31009 } },
    publicAddress: { addressType: 'InternalIP' },
    rtmpUrlTemplate: 'rtmp://dss.example:10035/live/{deviceId}_{channelId}',
    image: 'gbcast:1',
    imagePullPolicy: 'IfNotPresent',
    resources: { limits: { memory: '1Gi' } },
    nodeSelector: { 'gbcast.io/media': 'true' },
    tolerations: [{ key: 'k', operator: 'Exists' }],
    affinity: { podAntiAffinity: {} },
    env: [
      { name: 'GBCAST_LOG_LEVEL', value: 'debug' },
      { name: 'GBCAST_REDIS_PREFIX', valueFrom: { configMapKeyRef: { name: 'c', key: 'k' } } },
    ],
    drainTimeoutSeconds: 600,
  },
  status: {
    replicas: 3,
    readyReplicas: 2,
    drainingReplicas: 1,
    activeStreams: 130,
    capacity: 100,
    selector: 'gbcast.io/pool=media,app.kubernetes.io/component=streamer',
    pods: [{ name: 'media-bcdfg', node: 'node-1', address: '203.0.113.5', port: 31000, ready: true, draining: false, streams: 70 }],
    lowLoadSince: '2026-01-01T00:10:00Z',
    conditions: [{ type: 'Scaling', status: 'True', reason: 'ScalingDown', message: 'draining 1 pod', observedGeneration: 3, lastTransitionTime: '2026-01-01T00:10:00Z' }],
    observedGeneration: 3,
  },
};

/** publicAddress.override and addressType exclude each other: the override is in a second literal. */
const fullPoolWithOverride: GbStreamServer = { ...fullPool, spec: { ...fullPool.spec, publicAddress: { override: '203.0.113.10' } } };

const fullCamera: GbCamera = {
  apiVersion,
  kind: 'GbCamera',
  metadata: { name: 'gate', namespace: 'gbcast', deletionTimestamp: '2026-01-01T00:00:00Z', finalizers: ['gbcast.io/camera-cleanup'] },
  spec: {
    deviceId: '34020000001320000001',
    passwordSecretRef: { name: 'cams', key: 'gate' },
    displayName: '大门',
    pool: 'media',
    alwaysOn: [{ channelId: '34020000001310000001', rtmpUrl: 'rtmp://dss.example/live/gate' }],
    transport: 'tcp-passive',
  },
  status: {
    online: true,
    lastKeepalive: '2026-01-01T00:00:00Z',
    address: '198.51.100.7:5060',
    manufacturer: 'Hikvision',
    model: 'DS-2CD',
    firmware: 'V5.7',
    channelCount: 1,
    activeStreams: 1,
    conditions: [{ type: 'Ready', status: 'True', reason: 'Online', message: 'registered', observedGeneration: 1, lastTransitionTime: '2026-01-01T00:00:00Z' }],
    observedGeneration: 1,
  },
};

/** Field paths of a schema (`spec.media.portRange.min`, `spec.env[].name`), stopping at free-form nodes. */
function schemaFields(s: StructuralSchema, path: string, out: Set<string>, root = false): Set<string> {
  if (path) out.add(path);
  if (s['x-kubernetes-preserve-unknown-fields'] || s.additionalProperties) return out;
  for (const [k, p] of Object.entries(s.properties ?? {})) {
    if (root && (k === 'apiVersion' || k === 'kind' || k === 'metadata')) continue;
    schemaFields(p, path ? `${path}.${k}` : k, out);
  }
  if (s.items) schemaFields(s.items, `${path}[]`, out);
  return out;
}

/** Field paths present in a value, walked along its schema. */
function valueFields(v: unknown, s: StructuralSchema, path: string, out: Set<string>, root = false): Set<string> {
  if (path) out.add(path);
  if (s['x-kubernetes-preserve-unknown-fields'] || s.additionalProperties) return out;
  if (Array.isArray(v)) for (const x of v) valueFields(x, s.items ?? {}, `${path}[]`, out);
  else if (v && typeof v === 'object')
    for (const [k, x] of Object.entries(v)) {
      if (root && (k === 'apiVersion' || k === 'kind' || k === 'metadata')) continue;
      if (s.properties?.[k]) valueFields(x, s.properties[k], path ? `${path}.${k}` : k, out);
    }
  return out;
}

describe('operator/api/types.ts and the schemas agree', () => {
  for (const [name, objs, crd] of [
    ['GbStreamServer', [fullPool, fullPoolWithOverride], crds.streamServer],
    ['GbCamera', [fullCamera], crds.camera],
  ] as const) {
    it(`a ${name} with every field of types.ts validates, with no unknown field`, () => {
      for (const obj of objs) {
        const r = validateCustomResource(crd, obj);
        assert.deepEqual(r.errors, []);
        assert.deepEqual(r.unknownFields, []);
        assert.deepEqual(r.object, obj, 'nothing pruned, nothing defaulted');
      }
    });

    it(`every field of the ${name} schema is in types.ts (the typed literals have it)`, () => {
      const schema = schemaOf(crd);
      const present = new Set<string>();
      for (const obj of objs) valueFields(obj, schema, '', present, true);
      const missing = [...schemaFields(schema, '', new Set(), true)].filter((f) => !present.has(f));
      assert.deepEqual(missing, []);
    });
  }

  it('the field walk notices a schema field that types.ts lacks', () => {
    const schema = clone(schemaOf(crds.camera));
    (schema.properties?.spec.properties as Record<string, StructuralSchema>).ptzSpeed = { type: 'integer' };
    const missing = [...schemaFields(schema, '', new Set(), true)].filter((f) => !valueFields(fullCamera, schema, '', new Set(), true).has(f));
    assert.deepEqual(missing, ['spec.ptzSpeed']);
  });
});

// ---------------------------------------------------------------------------------------------
// The checkers refuse what the API server refuses.

function brokenCrd(crd: CustomResourceDefinition, edit: (schema: StructuralSchema, crd: CustomResourceDefinition) => void): string[] {
  const copy = clone(crd);
  edit(copy.spec.versions[0].schema?.openAPIV3Schema as StructuralSchema, copy);
  return crdErrors(copy).map(formatFieldError);
}

const specOf = (s: StructuralSchema) => s.properties?.spec as StructuralSchema;
const prop = (s: StructuralSchema, ...path: string[]) => path.reduce((n, k) => n.properties?.[k] as StructuralSchema, s);
const S = 'spec.versions[0].schema.openAPIV3Schema';

describe('the CRD checker refuses what the API server refuses', () => {
  const cases: [string, (s: StructuralSchema, crd: CustomResourceDefinition) => void, string | string[]][] = [
    [
      'a field without a type',
      (s) => delete prop(s, 'spec', 'drainTimeoutSeconds').type,
      `${S}.properties[spec].properties[drainTimeoutSeconds].type: Required value: must not be empty for specified object fields and array items`,
    ],
    [
      'properties with additionalProperties',
      (s) => (prop(s, 'spec', 'media').additionalProperties = { type: 'string' }),
      `${S}.properties[spec].properties[media].additionalProperties: Forbidden: additionalProperties and properties are mutual exclusive`,
    ],
    [
      'a restriction on metadata.labels',
      (s) => (prop(s, 'metadata').properties = { labels: { type: 'object' } }),
      `${S}.properties[metadata].properties[labels]: Forbidden: only name and generateName may be restricted under metadata`,
    ],
    [
      'a type inside anyOf',
      (s) => (prop(s, 'spec', 'replicas').anyOf = [{ type: 'integer', minimum: 1 }]),
      `${S}.properties[spec].properties[replicas].anyOf[0].type: Forbidden: must not be used inside allOf, anyOf, oneOf or not`,
    ],
    [
      'a field only inside allOf',
      (s) => (specOf(s).allOf = [{ properties: { ghost: { minimum: 1 } } }]),
      `${S}.properties[spec].allOf[0].properties[ghost]: Required value: must have a counterpart outside of allOf, anyOf, oneOf and not`,
    ],
    ['uniqueItems', (s) => (prop(s, 'spec', 'tolerations').uniqueItems = true), `${S}.properties[spec].properties[tolerations].uniqueItems: Forbidden: uniqueItems cannot be set to true since the runtime complexity becomes quadratic`],
    [
      'a list-map key that is neither required nor defaulted',
      (s) => ((prop(s, 'spec', 'env').items as StructuralSchema).required = []),
      `${S}.properties[spec].properties[env].items.required: Required value: all map keys must be required or have a default value: name`,
    ],
    [
      'a default that breaks its own schema',
      (s) => (prop(s, 'spec', 'replicas').default = -1),
      `${S}.properties[spec].properties[replicas].default: Invalid value: -1: default in body should be greater than or equal to 0`,
    ],
    [
      'a default with an unknown field',
      (s) => (prop(s, 'spec', 'media').default = { exposure: 'hostPort', port: 1 }),
      `${S}.properties[spec].properties[media].default: Invalid value: {"exposure":"hostPort","port":1}: must not have unknown fields: port`,
    ],
    [
      'a default that breaks a CEL rule (in its own node, and again where the default of media takes it)',
      (s) => (prop(s, 'spec', 'media', 'portRange').default = { min: 30099, max: 30000 }),
      [
        `${S}.properties[spec].properties[media].default.portRange: Invalid value: "object": portRange.min (30099) must not be greater than portRange.max (30000)`,
        `${S}.properties[spec].properties[media].properties[portRange].default: Invalid value: "object": portRange.min (30099) must not be greater than portRange.max (30000)`,
      ],
    ],
    [
      'a CEL rule naming a field that does not exist',
      (s) => (prop(s, 'spec', 'autoscaling')['x-kubernetes-validations'] = [{ rule: 'self.minReplica <= self.maxReplicas' }]),
      `${S}.properties[spec].properties[autoscaling].x-kubernetes-validations[0].rule: Invalid value: "self.minReplica <= self.maxReplicas": compilation failed: No such key: minReplica`,
    ],
    [
      'a CEL rule comparing a string with a number',
      (s) => (prop(s, 'spec', 'media')['x-kubernetes-validations'] = [{ rule: "self.exposure == 1 || self.portRange.min > 'a'" }]),
      `${S}.properties[spec].properties[media].x-kubernetes-validations[0].rule: Invalid value: "self.exposure == 1 || self.portRange.min > 'a'": compilation failed: no such overload: string == int`,
    ],
    [
      'a CEL rule that is not a bool',
      (s) => (prop(s, 'spec', 'autoscaling')['x-kubernetes-validations'] = [{ rule: 'self.minReplicas + 1' }]),
      `${S}.properties[spec].properties[autoscaling].x-kubernetes-validations[0].rule: Invalid value: "self.minReplicas + 1": must evaluate to a bool, not int`,
    ],
    [
      'a fieldPath to no field',
      (s) => ((prop(s, 'spec', 'autoscaling')['x-kubernetes-validations'] as { fieldPath?: string }[])[0].fieldPath = '.minimumReplicas'),
      `${S}.properties[spec].properties[autoscaling].x-kubernetes-validations[0].fieldPath: Invalid value: ".minimumReplicas": fieldPath must be a valid path to a field of this schema`,
    ],
    [
      'a printer column of the wrong type',
      (_s, crd) => ((crd.spec.versions[0].additionalPrinterColumns ?? [])[0].type = 'string'),
      "spec.versions[0].additionalPrinterColumns[0].type: Invalid value: \"string\": the column's field is of type integer",
    ],
    [
      'a scale subresource reading replicas from outside .status',
      (_s, crd) => ((crd.spec.versions[0].subresources?.scale as { statusReplicasPath: string }).statusReplicasPath = '.spec.replicas'),
      'spec.versions[0].subresources.scale.statusReplicasPath: Invalid value: ".spec.replicas": should be a json path under .status',
    ],
    ['a name other than plural.group', (_s, crd) => (crd.metadata.name = 'gbss.gbcast.io'), 'metadata.name: Invalid value: "gbss.gbcast.io": must be spec.names.plural+"."+spec.group'],
  ];
  for (const [what, edit, expected] of cases) {
    it(`GbStreamServer with ${what}`, () => assert.deepEqual(brokenCrd(crds.streamServer, edit), Array.isArray(expected) ? expected : [expected]));
  }

  it('GbCamera: an iterating rule over a list without maxItems (the cost estimate)', () => {
    const errs = brokenCrd(crds.camera, (s) => delete prop(s, 'spec', 'alwaysOn').maxItems);
    assert.deepEqual(errs, [
      `${S}.properties[spec].properties[alwaysOn].x-kubernetes-validations[0].rule: Forbidden: estimated rule cost exceeds budget: a rule that iterates needs maxItems on every list under it (this checker's approximation of the API server's cost estimate)`,
    ]);
  });

  it('GbCamera: oldSelf inside a list that cannot be correlated', () => {
    const errs = brokenCrd(crds.camera, (s) => {
      const alwaysOn = prop(s, 'spec', 'alwaysOn');
      alwaysOn['x-kubernetes-list-type'] = 'atomic';
      delete alwaysOn['x-kubernetes-list-map-keys'];
      (alwaysOn.items as StructuralSchema)['x-kubernetes-validations'] = [{ rule: 'self.channelId == oldSelf.channelId' }];
    });
    assert.deepEqual(errs, [
      `${S}.properties[spec].properties[alwaysOn].items.x-kubernetes-validations[0].rule: Invalid value: "self.channelId == oldSelf.channelId": oldSelf cannot be used on the uncorrelatable portion of the schema within ${S}.properties[spec].properties[alwaysOn]`,
    ]);
  });

  it('the kubernetes-models CRD schema is applied too', async () => {
    const copy = clone(crds.camera) as unknown as Obj;
    (copy.spec as Obj).scope = 'Galaxy';
    (copy.spec as Obj).conversion = { strategy: 7 };
    const problems = await validateCrdManifest(copy);
    assert.ok(problems.includes('spec.conversion.strategy: must be string'), problems.join('\n'));
    assert.ok(problems.includes('spec.scope: Unsupported value: "Galaxy": supported values: "Cluster", "Namespaced"'), problems.join('\n'));
  });
});

describe('built-in objects against the Kubernetes schemas (kube-schemas.ts)', () => {
  const meta = { name: 'media-bcdfg', namespace: 'gbcast' };
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { ...meta, labels: { 'gbcast.io/pool': 'media' }, ownerReferences: [{ apiVersion, kind: 'GbStreamServer', name: 'media', uid: 'u', controller: true }] },
    spec: {
      containers: [
        {
          name: 'streamer',
          image: 'gbcast:1',
          ports: [
            { name: 'rtp-udp', containerPort: 30000, hostPort: 30000, protocol: 'UDP' },
            { name: 'rtp-tcp', containerPort: 30000, hostPort: 30000, protocol: 'TCP' },
          ],
          readinessProbe: { httpGet: { path: '/readyz', port: 8081 }, periodSeconds: 2 },
          env: [{ name: 'GBCAST_POOL', value: 'media' }],
        },
      ],
    },
  };
  const service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta,
    spec: {
      type: 'NodePort',
      externalTrafficPolicy: 'Local',
      selector: { 'gbcast.io/pod': 'media-bcdfg' },
      ports: [
        { name: 'rtp-udp', protocol: 'UDP', port: 10000, targetPort: 10000, nodePort: 31000 },
        { name: 'rtp-tcp', protocol: 'TCP', port: 10000, targetPort: 10000, nodePort: 31000 },
      ],
    },
  };
  const valid: Obj[] = [
    pod,
    service,
    { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'gbcast-operator', namespace: 'gbcast' }, spec: { holderIdentity: 'op-1', leaseDurationSeconds: 15, renewTime: '2026-01-01T00:00:00.000000Z' } },
    { apiVersion: 'v1', kind: 'Event', metadata: { name: 'media.1', namespace: 'gbcast' }, involvedObject: { apiVersion, kind: 'GbStreamServer', name: 'media', namespace: 'gbcast' }, reason: 'ScalingUp', message: '1 → 2 pods', type: 'Normal' },
    {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { name: 'media.2', namespace: 'gbcast' },
      eventTime: '2026-01-01T00:00:00.000000Z',
      reportingController: 'gbcast.io/operator',
      reportingInstance: 'op-1',
      action: 'Scale',
      reason: 'ScalingUp',
      type: 'Normal',
      regarding: { apiVersion, kind: 'GbStreamServer', name: 'media', namespace: 'gbcast' },
      note: '1 → 2 pods',
    },
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'cams', namespace: 'gbcast' }, data: { gate: Buffer.from('pw').toString('base64') } },
    { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1', annotations: { 'gbcast.io/public-address': '203.0.113.5' } }, status: { addresses: [{ type: 'ExternalIP', address: '203.0.113.5' }] } },
  ];
  for (const obj of valid) {
    it(`a valid ${String(obj.apiVersion)} ${String(obj.kind)} passes`, async () => assert.deepEqual(await validateKubeObject(obj), []));
  }

  const withSpec = (o: Obj, spec: Obj) => ({ ...o, spec: { ...(o.spec as Obj), ...spec } });
  const container = (c: Obj) => withSpec(pod, { containers: [{ ...pod.spec.containers[0], ...c }] });
  const invalid: [string, Obj, string[]][] = [
    ['a Pod with a field Kubernetes does not have', container({ imagePullPolicyy: 'Always' }), ['unknown field "spec.containers[0].imagePullPolicyy"']],
    ['a Pod with a string port', container({ ports: [{ containerPort: '30000' }] }), ['spec.containers[0].ports[0].containerPort: must be integer']],
    ['a Pod with a port above 65535', container({ ports: [{ containerPort: 70000, hostPort: 70000 }] }), [
      'spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive',
      'spec.containers[0].ports[0].hostPort: Invalid value: 70000: must be between 1 and 65535, inclusive',
    ]],
    ['a Pod with one hostPort twice', container({ ports: [{ containerPort: 1, hostPort: 30000 }, { containerPort: 2, hostPort: 30000 }] }), [
      'spec.containers[0].ports[1].hostPort: Duplicate value: "30000/TCP": hostPort conflicts with spec.containers[0].ports[0].hostPort',
    ]],
    ['a Pod with a port name over 15 characters', container({ ports: [{ name: 'rtp-udp-media-port', containerPort: 1 }] }), [
      'spec.containers[0].ports[0].name: Invalid value: "rtp-udp-media-port": must be an IANA_SVC_NAME (at most 15 lowercase alphanumerics or -, with a letter)',
    ]],
    ['a Pod without an image', container({ image: undefined }), ['spec.containers[0].image: Required value']],
    ['a Pod with an env entry in two forms', container({ env: [{ name: 'A', value: 'x', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }] }), [
      'spec.containers[0].env[0].valueFrom: Invalid value: "": may not be specified when `value` is not empty',
    ]],
    ['a Pod with a probe on port 0', container({ readinessProbe: { httpGet: { path: '/', port: 0 } } }), ['spec.containers[0].readinessProbe.httpGet.port: Invalid value: 0: must be between 1 and 65535, inclusive']],
    ['a Pod with a bad label value', { ...pod, metadata: { ...pod.metadata, labels: { 'gbcast.io/pool': 'a b' } } }, [
      "metadata.labels[gbcast.io/pool]: Invalid value: \"a b\": a valid label must be an empty string or consist of at most 63 alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
    ]],
    ['a Pod with two controllers', { ...pod, metadata: { ...pod.metadata, ownerReferences: [{ apiVersion: 'v1', kind: 'A', name: 'a', uid: '1', controller: true }, { apiVersion: 'v1', kind: 'B', name: 'b', uid: '2', controller: true }] } }, [
      'metadata.ownerReferences: Invalid value: [{"apiVersion":"v1","kind":"A","name":"a","uid":"1","controller":true},{"apiVersion":"v1","kind":"B","name":"b","uid":"2","controller":true}]: Only one reference can have Controller set to true',
    ]],
    ['a Service named like a number', { ...service, metadata: { ...meta, name: '1-media' } }, [
      `metadata.name: Invalid value: "1-media": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character`,
    ]],
    ['a NodePort outside 30000-32767', withSpec(service, { ports: [{ name: 'rtp', port: 10000, nodePort: 20000 }] }), [
      'spec.ports[0].nodePort: Invalid value: 20000: provided port is not in the valid range. The range of valid ports is 30000-32767',
    ]],
    ['a nodePort on a ClusterIP Service', withSpec(service, { type: 'ClusterIP', externalTrafficPolicy: undefined, ports: [{ port: 10000, nodePort: 31000 }] }), [
      "spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'",
    ]],
    ['externalTrafficPolicy on a ClusterIP Service', withSpec(service, { type: 'ClusterIP', ports: [{ port: 10000 }] }), [
      'spec.externalTrafficPolicy: Invalid value: "Local": may only be set when `type` is \'NodePort\' or \'LoadBalancer\'',
    ]],
    ['two Service ports without names', withSpec(service, { ports: [{ port: 1, protocol: 'UDP' }, { port: 1 }] }), ['spec.ports[0].name: Required value', 'spec.ports[1].name: Required value']],
    ['an events.k8s.io Event without its reporting fields', { apiVersion: 'events.k8s.io/v1', kind: 'Event', metadata: { name: 'e', namespace: 'gbcast' }, reason: 'X', type: 'Info' }, [
      '<root>: must have required property eventTime',
      'eventTime: Required value',
      'reportingController: Required value',
      'reportingInstance: Required value',
      'action: Required value',
      'type: Unsupported value: "Info": supported values: "Normal", "Warning"',
    ]],
    ['a core Event about an object of another namespace', { apiVersion: 'v1', kind: 'Event', metadata: { name: 'e', namespace: 'gbcast' }, involvedObject: { kind: 'Pod', name: 'p', namespace: 'other' } }, [
      'involvedObject.namespace: Invalid value: "other": does not match event.namespace',
    ]],
    ['a Lease with a zero duration and a bad time', { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'l', namespace: 'gbcast' }, spec: { leaseDurationSeconds: 0, renewTime: 'now' } }, [
      'spec.renewTime: must match format "date-time"',
      'spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0',
    ]],
    ['a Node with a namespace', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n', namespace: 'gbcast' } }, ['metadata.namespace: Forbidden: not allowed on this type']],
    ['a Secret with a bad key', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'gbcast' }, stringData: { 'pass word': 'x' } }, [
      `stringData: Invalid value: "pass word": a valid config key must consist of alphanumeric characters, '-', '_' or '.'`,
    ]],
    ['a kind Kubernetes does not have', { apiVersion: 'v1', kind: 'Camera', metadata: { name: 'c' } }, ['no Kubernetes schema for v1 Camera']],
  ];
  for (const [what, obj, expected] of invalid) {
    it(`${what} is reported`, async () => {
      const copy = JSON.parse(JSON.stringify(obj)) as Obj;
      assert.deepEqual(await validateKubeObject(copy), expected);
    });
  }

  it('validateManifest sends custom resources to our CRDs, with unknown fields as errors', async () => {
    assert.deepEqual(await validateManifest(pool({ replica: 2 })), ['unknown field "spec.replica"']);
    assert.deepEqual(await validateManifest(camera({ deviceId: '1' })), ["spec.deviceId: Invalid value: \"1\": spec.deviceId in body should match '^[0-9]{20}$'"]);
    assert.deepEqual(await validateManifest(crds.camera), []);
  });
});
