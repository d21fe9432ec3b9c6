/**
 * charts/gbcast with the real helm binary (Helm 3, test/support/helm.ts): `helm lint --strict` and
 * `helm template` with every values file in charts/gbcast/ci/; every rendered object against the
 * Kubernetes schemas and the API server's checks (test/support/kube-schemas.ts), the default pool
 * against our CRD, the Prometheus Operator objects by shape; what the chart promises (security
 * contexts, probes, the Redis URL only from Secrets, RBAC rules, SIP Service); the chart's CRDs are
 * crds/ byte for byte; values.schema.json refuses bad values.
 *
 * The examples/ are checked against the CRDs by test/crds.test.ts; the chart's CRDs are the same
 * bytes (checked here), so that covers them too.
 */
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { objectMetaErrors, formatFieldError } from './support/kube-fields.ts';
import { runHelm } from './support/helm.ts';
import { crdDir, validateCrdManifest, validateManifest } from './support/kube-schemas.ts';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const chart = 'charts/gbcast';
const chartDir = fileURLToPath(new URL(`../${chart}/`, import.meta.url));
const ciFiles = readdirSync(`${chartDir}ci`)
  .filter((f) => f.endsWith('-values.yaml'))
  .sort();
const namespace = 'gbcast';

async function template(args: string[]): Promise<Obj[]> {
  const r = await runHelm(['template', 'gb', chart, '--namespace', namespace, ...args]);
  assert.equal(r.status, 0, `helm template ${args.join(' ')} failed:\n${r.stderr}`);
  return parseAllDocuments(r.stdout)
    .map((d) => d.toJS() as Obj | null)
    .filter((d): d is Obj => d !== null);
}

const renders = new Map<string, Obj[]>();
const lints = new Map<string, { status: number; output: string }>();

before(async () => {
  // Every helm run at once: each is a separate process.
  await Promise.all(
    ciFiles.flatMap((f) => [
      template(['-f', `${chart}/ci/${f}`]).then((objs) => renders.set(f, objs)),
      runHelm(['lint', '--strict', chart, '--namespace', namespace, '-f', `${chart}/ci/${f}`]).then((r) => lints.set(f, { status: r.status, output: r.stdout + r.stderr })),
    ]),
  );
});

const render = (file: string): Obj[] => renders.get(file) ?? assert.fail(`no render of ${file}`);
const ofKind = (objs: Obj[], kind: string) => objs.filter((o) => o.kind === kind);
const named = (objs: Obj[], kind: string, name: string) => objs.find((o) => o.kind === kind && o.metadata.name === name) ?? assert.fail(`no ${kind} ${name}`);
const podSpecs = (objs: Obj[]) => ofKind(objs, 'Deployment').map((d) => ({ name: d.metadata.name as string, spec: d.spec.template.spec as Obj, labels: d.spec.template.metadata.labels as Record<string, string> }));
const matches = (selector: Record<string, string>, labels: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v);
const durationRe = /^(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?$/;

/** ServiceMonitor and PodMonitor have no schema in kubernetes-models: their metadata and the fields we use, by hand. */
function monitorProblems(o: Obj): string[] {
  const problems = objectMetaErrors(o.metadata, { namespaced: true }).map(formatFieldError);
  const known = o.kind === 'ServiceMonitor' ? ['selector', 'endpoints', 'namespaceSelector'] : ['selector', 'podMetricsEndpoints', 'namespaceSelector'];
  for (const k of Object.keys(o.spec ?? {})) if (!known.includes(k)) problems.push(`unknown field "spec.${k}"`);
  if (!o.spec?.selector?.matchLabels || Object.keys(o.spec.selector.matchLabels).length === 0) problems.push('spec.selector.matchLabels: Required value');
  const endpoints = (o.kind === 'ServiceMonitor' ? o.spec?.endpoints : o.spec?.podMetricsEndpoints) as Obj[] | undefined;
  if (!endpoints?.length) problems.push('no endpoints');
  for (const e of endpoints ?? []) {
    for (const k of Object.keys(e)) if (!['port', 'path', 'interval'].includes(k)) problems.push(`unknown endpoint field "${k}"`);
    if (typeof e.port !== 'string' || !e.port) problems.push('endpoint port must be a port name');
    if (typeof e.path !== 'string' || !e.path.startsWith('/')) problems.push('endpoint path must start with /');
    if (typeof e.interval !== 'string' || !durationRe.test(e.interval)) problems.push(`endpoint interval ${String(e.interval)} is not a duration`);
  }
  const ns = o.spec?.namespaceSelector;
  if (ns !== undefined && !(ns.any === true || (Array.isArray(ns.matchNames) && ns.matchNames.length > 0))) problems.push('namespaceSelector: any or matchNames');
  return problems;
}

describe('charts/gbcast', () => {
  it('has its CRDs byte-identical to crds/ (Helm installs them from the chart)', async () => {
    const ours = readdirSync(`${chartDir}crds`).sort();
    assert.deepEqual(ours, readdirSync(crdDir).filter((f) => f.endsWith('.yaml')).sort(), 'cp crds/*.yaml charts/gbcast/crds/');
    for (const f of ours) {
      assert.ok(readFileSync(`${chartDir}crds/${f}`).equals(readFileSync(`${crdDir}${f}`)), `charts/gbcast/crds/${f} differs from crds/${f}: cp crds/*.yaml charts/gbcast/crds/`);
      const [doc] = parseAllDocuments(readFileSync(`${chartDir}crds/${f}`, 'utf8')).map((d) => d.toJS() as Obj);
      assert.deepEqual(await validateCrdManifest(doc), []);
    }
  });

  it('has appVersion (the default image tag) equal to package.json\'s version', () => {
    const chartYaml = parseAllDocuments(readFileSync(`${chartDir}Chart.yaml`, 'utf8'))[0].toJS() as Obj;
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    assert.equal(chartYaml.appVersion, pkg.version);
  });

  it('tests five values files or more: defaults, external Redis, NodePort, monitoring, minimal', () => {
    for (const f of ['default', 'external-redis', 'nodeport', 'monitoring', 'minimal']) assert.ok(ciFiles.includes(`${f}-values.yaml`), f);
  });

  for (const file of ciFiles) {
    describe(`with ci/${file}`, () => {
      it('passes helm lint --strict', () => {
        const lint = lints.get(file);
        assert.equal(lint?.status, 0, lint?.output);
        assert.match(lint?.output ?? '', /1 chart\(s\) linted, 0 chart\(s\) failed/);
      });

      it('renders objects that validate against the Kubernetes schemas (the pool against its CRD)', async () => {
        const objs = render(file);
        assert.ok(objs.length > 3);
        const problems: string[] = [];
        for (const o of objs) {
          const found = o.apiVersion === 'monitoring.coreos.com/v1' ? monitorProblems(o) : await validateManifest(o, { create: true });
          problems.push(...found.map((p) => `${o.kind} ${o.metadata?.name}: ${p}`));
          if (o.kind !== 'ClusterRole' && o.kind !== 'ClusterRoleBinding') assert.ok(o.metadata.namespace, `${o.kind} ${o.metadata.name} has a namespace`);
        }
        assert.deepEqual(problems, []);
        const ids = objs.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`);
        assert.deepEqual(ids.filter((id, i) => ids.indexOf(id) !== i), [], 'no object twice');
      });

      it('runs every container non-root with a read-only root file system, no capabilities, probes and no Redis URL in plain env', () => {
        for (const { name, spec } of podSpecs(render(file))) {
          assert.equal(spec.securityContext?.runAsNonRoot, true, name);
          for (const c of spec.containers as Obj[]) {
            assert.equal(c.securityContext?.readOnlyRootFilesystem, true, `${name}/${c.name}`);
            assert.equal(c.securityContext?.allowPrivilegeEscalation, false, `${name}/${c.name}`);
            assert.deepEqual(c.securityContext?.capabilities?.drop, ['ALL'], `${name}/${c.name}`);
            assert.ok(c.livenessProbe && c.readinessProbe, `${name}/${c.name} has probes`);
            if (c.name !== 'redis') {
              // Liveness must not depend on Redis: /healthz answers while the process serves requests.
              assert.equal(c.livenessProbe.httpGet?.path, '/healthz', `${name}/${c.name}`);
              assert.deepEqual(c.args.length, 1);
            }
            for (const e of (c.env ?? []) as Obj[]) {
              if (['GBCAST_REDIS_URL', 'GBCAST_API_TOKEN', 'GBCAST_NONCE_SECRET', 'GBCAST_PASSWORD', 'REDIS_PASSWORD'].includes(e.name))
                assert.ok(e.valueFrom?.secretKeyRef, `${name}/${c.name} ${e.name} comes from a Secret`);
            }
          }
        }
      });

      it('references only Secrets it renders or that the values name, with their keys', () => {
        const objs = render(file);
        const secrets = new Map(ofKind(objs, 'Secret').map((s) => [s.metadata.name as string, Object.keys(s.data ?? {})]));
        const values = readFileSync(`${chartDir}ci/${file}`, 'utf8');
        for (const { name, spec } of podSpecs(objs))
          for (const c of spec.containers as Obj[])
            for (const e of (c.env ?? []) as Obj[]) {
              const ref = e.valueFrom?.secretKeyRef;
              if (!ref) continue;
              if (secrets.has(ref.name)) assert.ok(secrets.get(ref.name)?.includes(ref.key), `${name} ${e.name}: Secret ${ref.name} has no key ${ref.key}`);
              else assert.ok(values.includes(ref.name), `${name} ${e.name}: Secret ${ref.name} is neither rendered nor named in the values`);
            }
      });

      it('selects pods with its Services, PDBs and ServiceMonitors', () => {
        const objs = render(file);
        const pods = podSpecs(objs);
        for (const s of ofKind(objs, 'Service')) {
          const target = pods.find((p) => matches(s.spec.selector, p.labels));
          assert.ok(target, `Service ${s.metadata.name} selects a Deployment's pods`);
          const portNames = (target.spec.containers as Obj[]).flatMap((c) => (c.ports as Obj[]).map((p) => p.name));
          for (const p of s.spec.ports as Obj[]) assert.ok(portNames.includes(p.targetPort), `Service ${s.metadata.name} port ${p.name} targets a named container port`);
        }
        for (const p of ofKind(objs, 'PodDisruptionBudget')) assert.ok(pods.some((d) => matches(p.spec.selector.matchLabels, d.labels)), `PDB ${p.metadata.name}`);
        for (const m of ofKind(objs, 'ServiceMonitor')) {
          const services = ofKind(objs, 'Service').filter((s) => matches(m.spec.selector.matchLabels, s.metadata.labels));
          assert.ok(
            services.some((s) => (s.spec.ports as Obj[]).some((p) => p.name === m.spec.endpoints[0].port)),
            `ServiceMonitor ${m.metadata.name} finds a Service with port ${m.spec.endpoints[0].port}`,
          );
        }
      });
    });
  }

  it('defaults: bundled Redis with a password, a LoadBalancer SIP Service on UDP and TCP with externalTrafficPolicy Local, heap caps', () => {
    const objs = render('default-values.yaml');
    const sip = named(objs, 'Service', 'gb-gbcast-sip');
    assert.equal(sip.spec.type, 'LoadBalancer');
    assert.equal(sip.spec.externalTrafficPolicy, 'Local');
    assert.deepEqual(
      (sip.spec.ports as Obj[]).map((p) => [p.protocol, p.port]),
      [
        ['UDP', 5060],
        ['TCP', 5060],
      ],
    );
    assert.equal(named(objs, 'Service', 'gb-gbcast-http').spec.type, 'ClusterIP');
    const redisSecret = named(objs, 'Secret', 'gb-gbcast-redis');
    const password = Buffer.from(redisSecret.data.password, 'base64').toString();
    assert.match(password, /^[A-Za-z0-9]{32}$/);
    assert.equal(Buffer.from(redisSecret.data.url, 'base64').toString(), `redis://:${password}@gb-gbcast-redis.${namespace}.svc:6379`);
    const signaling = named(objs, 'Deployment', 'gb-gbcast-signaling').spec.template.spec.containers[0];
    const env = new Map((signaling.env as Obj[]).map((e) => [e.name, e]));
    assert.equal(env.get('NODE_OPTIONS')?.value, '--max-old-space-size=384', '75 % of 512Mi');
    assert.equal(env.get('GBCAST_PUBLIC_ADDRESS')?.valueFrom?.fieldRef?.fieldPath, 'status.hostIP');
    const operator = named(objs, 'Deployment', 'gb-gbcast-operator').spec.template.spec.containers[0];
    const opEnv = new Map((operator.env as Obj[]).map((e) => [e.name, e]));
    assert.equal(opEnv.get('GBCAST_POD_REDIS_SECRET')?.value, 'gb-gbcast-redis:url');
    assert.equal(opEnv.get('POD_NAMESPACE')?.valueFrom?.fieldRef?.fieldPath, 'metadata.namespace');
    assert.equal(opEnv.get('NODE_OPTIONS')?.value, '--max-old-space-size=192');
    assert.equal(ofKind(objs, 'GbStreamServer').length, 0);
    assert.equal(ofKind(objs, 'ConfigMap').length, 0);
  });

  it('gives the operator the least privilege it needs: cluster-wide by default, one namespace with watchNamespace', () => {
    const rules = (o: Obj) => (o.rules as Obj[]).map((r) => `${r.apiGroups.join(',')}/${r.resources.join(',')}${r.resourceNames ? `[${r.resourceNames.join(',')}]` : ''}: ${r.verbs.join(',')}`);
    const objs = render('default-values.yaml');
    assert.deepEqual(rules(named(objs, 'ClusterRole', 'gb-gbcast-operator')), [
      '/pods: list,watch,create,patch,delete',
      '/services: create,patch',
      '/secrets: get',
      'events.k8s.io/events: create,patch',
      'gbcast.io/gbstreamservers: list,watch',
      'gbcast.io/gbcameras: list,watch,patch',
      'gbcast.io/gbstreamservers/status,gbcameras/status: patch',
    ]);
    assert.deepEqual(rules(named(objs, 'ClusterRole', 'gb-gbcast-operator-nodes')), ['/nodes: list,watch']);
    assert.deepEqual(rules(named(objs, 'Role', 'gb-gbcast-operator-lease')), ['coordination.k8s.io/leases: create', 'coordination.k8s.io/leases[gb-gbcast-operator]: get,update']);
    assert.equal(named(objs, 'Role', 'gb-gbcast-operator-lease').metadata.namespace, namespace);
    const leaseEnv = (named(objs, 'Deployment', 'gb-gbcast-operator').spec.template.spec.containers[0].env as Obj[]).find((e) => e.name === 'GBCAST_LEASE_NAME');
    assert.equal(leaseEnv?.value, 'gb-gbcast-operator');
    // No other role anywhere; signaling has no API token mounted.
    assert.deepEqual(ofKind(objs, 'ClusterRole').length + ofKind(objs, 'Role').length, 3);
    assert.equal(named(objs, 'Deployment', 'gb-gbcast-signaling').spec.template.spec.automountServiceAccountToken, false);

    const scoped = render('external-redis-values.yaml');
    const role = named(scoped, 'Role', 'gb-gbcast-operator');
    assert.equal(role.metadata.namespace, 'cameras');
    assert.equal(named(scoped, 'RoleBinding', 'gb-gbcast-operator').subjects[0].namespace, namespace);
    assert.equal(scoped.some((o) => o.kind === 'ClusterRole' && o.metadata.name === 'gb-gbcast-operator'), false);
    assert.ok(named(scoped, 'PodDisruptionBudget', 'gb-gbcast-operator'), 'two operator replicas get a PDB');
  });

  it('external Redis from a Secret of the user: no Redis installed, every part and the streamer pods read that Secret', () => {
    const objs = render('external-redis-values.yaml');
    assert.equal(objs.some((o) => o.metadata.name.endsWith('-redis')), false);
    for (const { spec } of podSpecs(objs)) {
      const e = (spec.containers[0].env as Obj[]).find((x) => x.name === 'GBCAST_REDIS_URL');
      assert.deepEqual(e?.valueFrom.secretKeyRef, { name: 'my-redis', key: 'redis-url' });
    }
    const operatorEnv = named(objs, 'Deployment', 'gb-gbcast-operator').spec.template.spec.containers[0].env as Obj[];
    assert.equal(operatorEnv.find((e) => e.name === 'GBCAST_POD_REDIS_SECRET')?.value, 'my-redis:redis-url');
    assert.equal(operatorEnv.find((e) => e.name === 'GBCAST_NAMESPACE')?.value, 'cameras');
  });

  it('NodePort: the pods listen on the node port, which the Service keeps for UDP and TCP; one image per part', () => {
    const objs = render('nodeport-values.yaml');
    const sip = named(objs, 'Service', 'gb-gbcast-sip');
    assert.equal(sip.spec.type, 'NodePort');
    assert.equal(sip.spec.externalTrafficPolicy, 'Local');
    assert.deepEqual((sip.spec.ports as Obj[]).map((p) => [p.protocol, p.port, p.nodePort]), [
      ['UDP', 30560, 30560],
      ['TCP', 30560, 30560],
    ]);
    const c = named(objs, 'Deployment', 'gb-gbcast-signaling').spec.template.spec.containers[0];
    assert.equal((c.env as Obj[]).find((e) => e.name === 'GBCAST_SIP_PORT')?.value, '30560');
    const pool = named(objs, 'GbStreamServer', 'media');
    assert.equal(c.image, 'registry.example.com/gbcast-signaling:0.1.0-rc1');
    assert.equal(named(objs, 'Deployment', 'gb-gbcast-operator').spec.template.spec.containers[0].image, 'registry.example.com/gbcast-operator:0.1.0-rc1');
    assert.equal(pool.spec.image, 'registry.example.com/gbcast-streamer:0.1.0-rc1');
    assert.equal(pool.spec.replicas, 3);
    assert.equal(pool.spec.media.exposure, 'NodePort');
    assert.ok(named(objs, 'Ingress', 'gb-gbcast'));
  });

  it('monitoring: ServiceMonitors and a PodMonitor for the streamers with the given labels, one dashboard ConfigMap per file', () => {
    const objs = render('monitoring-values.yaml');
    assert.deepEqual(ofKind(objs, 'ServiceMonitor').map((m) => m.metadata.name).sort(), ['gb-gbcast-operator', 'gb-gbcast-signaling']);
    for (const m of [...ofKind(objs, 'ServiceMonitor'), ...ofKind(objs, 'PodMonitor')]) assert.equal(m.metadata.labels.release, 'prometheus');
    const pm = named(objs, 'PodMonitor', 'gb-gbcast-streamers');
    assert.deepEqual(pm.spec.selector.matchLabels, { 'app.kubernetes.io/component': 'streamer', 'app.kubernetes.io/managed-by': 'gbcast-operator' });
    assert.equal(pm.spec.podMetricsEndpoints[0].port, 'http');
    // The dashboards have their own test (test/dashboards.test.ts); here: one ConfigMap for each.
    const dashboards = existsSync(`${chartDir}dashboards`) ? readdirSync(`${chartDir}dashboards`).filter((f) => f.endsWith('.json')) : [];
    const maps = ofKind(objs, 'ConfigMap');
    assert.equal(maps.length, dashboards.length);
    for (const m of maps) {
      assert.equal(m.metadata.labels.grafana_dashboard, '1');
      assert.equal(m.metadata.namespace, 'monitoring');
      const [key] = Object.keys(m.data);
      assert.ok(dashboards.includes(key), key);
      assert.deepEqual(JSON.parse(m.data[key]), JSON.parse(readFileSync(`${chartDir}dashboards/${key}`, 'utf8')));
    }
    assert.ok(named(objs, 'PersistentVolumeClaim', 'gb-gbcast-redis'));
    // One image per part by default (the Dockerfiles'), at the chart's appVersion, the pool's streamers included.
    const images = [...podSpecs(objs).filter((p) => !p.name.endsWith('-redis')).map((p) => p.spec.containers[0].image), named(objs, 'GbStreamServer', 'default').spec.image];
    assert.deepEqual(new Set(images), new Set(['ghcr.io/gbcast/gbcast-signaling:0.1.0', 'ghcr.io/gbcast/gbcast-operator:0.1.0', 'ghcr.io/gbcast/gbcast-streamer:0.1.0']));
  });

  it('minimal: no operator, no PDB, no Redis password, no heap cap without a memory limit', () => {
    const objs = render('minimal-values.yaml');
    assert.equal(objs.some((o) => /operator/.test(o.metadata.name)), false);
    assert.equal(ofKind(objs, 'PodDisruptionBudget').length, 0);
    assert.equal(named(objs, 'Secret', 'gb-gbcast-redis').data.password, undefined);
    const c = named(objs, 'Deployment', 'gb-gbcast-signaling').spec.template.spec.containers[0];
    assert.equal((c.env as Obj[]).some((e) => e.name === 'NODE_OPTIONS' || e.name === 'GBCAST_DATE_UTC_OFFSET_MINUTES'), false);
    assert.equal(c.resources, undefined);
  });

  describe('NOTES.txt', () => {
    // helm template leaves NOTES.txt out and helm install --dry-run needs a cluster: a copy of the
    // chart turns the notes into a named template that a ConfigMap carries out of helm template.
    let copy = '';
    before(() => {
      copy = mkdtempSync(join(tmpdir(), 'gbcast-chart-'));
      cpSync(chartDir, copy, { recursive: true });
      const notes = readFileSync(join(copy, 'templates/NOTES.txt'), 'utf8');
      rmSync(join(copy, 'templates/NOTES.txt'));
      writeFileSync(join(copy, 'templates/_notes.tpl'), `{{- define "test.notes" -}}\n${notes}\n{{- end -}}\n`);
      writeFileSync(join(copy, 'templates/notes.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\ndata:\n  notes: {{ include "test.notes" . | quote }}\n');
    });
    after(() => rmSync(copy, { recursive: true, force: true }));
    const notesOf = async (values: string): Promise<string> => {
      const r = await runHelm(['template', 'gb', copy, '--namespace', namespace, '-f', `${chart}/ci/${values}`, '--show-only', 'templates/notes.yaml']);
      assert.equal(r.status, 0, r.stderr);
      return (parseAllDocuments(r.stdout)[0].toJS() as Obj).data.notes as string;
    };

    it('tells how to reach SIP and the console, where the API token is, and how to upgrade the CRDs', async () => {
      const notes = await notesOf('default-values.yaml');
      assert.match(notes, /SIP server ID: +34020000002000000001/);
      assert.match(notes, /SIP domain: +3402000000/);
      assert.match(notes, /port: +5060 \(UDP or TCP\)/);
      assert.match(notes, /kubectl -n gbcast get service gb-gbcast-sip/);
      assert.match(notes, /WARNING: signaling\.publicAddress is not set/);
      assert.match(notes, /kubectl -n gbcast port-forward service\/gb-gbcast-http 8080:8080/);
      assert.match(notes, /kubectl -n gbcast get secret gb-gbcast-api-token -o jsonpath='\{\.data\.token\}' \| base64 -d/);
      assert.match(notes, /kubectl apply --server-side -f <chart>\/crds\//);
    });

    it('with NodePort and an Ingress: the node port, the nodes, the console URL', async () => {
      const notes = await notesOf('nodeport-values.yaml');
      assert.match(notes, /port: +30560 \(UDP or TCP\)/);
      assert.match(notes, /kubectl get nodes -o wide/);
      assert.match(notes, /https:\/\/gbcast\.example\.com\//);
      assert.match(notes, /the pool "media" is installed/);
      assert.doesNotMatch(notes, /WARNING/);
    });

    it('with a public address and a Secret of the user for the token', async () => {
      const notes = await notesOf('external-redis-values.yaml');
      assert.match(notes, /address: +198\.51\.100\.7/);
      assert.match(notes, /get secret my-api-token -o jsonpath='\{\.data\.token\}'/);
      assert.match(notes, /watches namespace cameras only/);
    });
  });

  it('values.schema.json and the templates refuse bad values with a message naming them', async () => {
    const cases: [string[], RegExp][] = [
      [['--set-string', 'signaling.serverId=3402000000200000001'], /signaling\.serverId: Does not match pattern/],
      [['--set', 'signaling.sip.service.type=ClusterIP'], /signaling\.sip\.service\.type: signaling\.sip\.service\.type must be one of the following: "LoadBalancer", "NodePort"/],
      [['--set', 'redis.mode=sentinel'], /redis\.mode: redis\.mode must be one of the following/],
      [['--set', 'signaling.replicas=0'], /signaling\.replicas: Must be greater than or equal to 1/],
      [['--set', 'signalling.replicas=2'], /Additional property signalling is not allowed/],
      [['--set', 'redis.bundled.auth.password=p@ss:word'], /redis\.bundled\.auth\.password: Does not match pattern/],
      [['--set', 'signaling.unknownDevices=sometimes'], /signaling\.unknownDevices: signaling\.unknownDevices must be one of the following: "accept", "refuse"/],
      [['--set', 'image.pullPolicy=Sometimes'], /image\.pullPolicy: image\.pullPolicy must be one of the following/],
      [['--set', 'operator.watchNamespace=Bad_Namespace'], /operator\.watchNamespace: Does not match pattern/],
      [['--set', 'signaling.heapPercentOfMemoryLimit=120'], /signaling\.heapPercentOfMemoryLimit: Must be less than or equal to 95/],
      [['--set', 'monitoring.serviceMonitor.interval=soon'], /monitoring\.serviceMonitor\.interval: Does not match pattern/],
      [['--set', 'redis.external.url=http://redis:6379'], /redis\.external\.url: Does not match pattern/],
      [['--set', 'operator.replicas=2', '--set', 'operator.leaderElection=false'], /operator\.leaderElection: operator\.leaderElection does not match: true/],
      [['--set', 'apiToken.value=short'], /apiToken\.value: Does not match pattern/],
      // Beyond the schema: the templates' own checks.
      [['--set', 'signaling.sip.service.type=NodePort'], /signaling\.sip\.service\.type NodePort needs signaling\.sip\.service\.nodePort/],
      [['--set', 'redis.mode=external'], /redis\.mode external needs redis\.external\.url or redis\.external\.existingSecret/],
    ];
    const results = await Promise.all(cases.map(([args]) => runHelm(['template', 'gb', chart, '--namespace', namespace, ...args])));
    const wrong = results.flatMap((r, i) => {
      const [args, message] = cases[i];
      if (r.status === 0) return [`${args.join(' ')} was accepted`];
      return message.test(r.stderr) ? [] : [`${args.join(' ')}: ${r.stderr.trim()}`];
    });
    assert.deepEqual(wrong, []);
  });
});
