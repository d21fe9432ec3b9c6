/**
 * The Grafana dashboards in charts/gbcast/dashboards/ (one ConfigMap per file, for Grafana's sidecar):
 * each is a well-formed dashboard, and every metric and label its queries name exists in the code.
 * The metric names come from the registries of real parts started in this process (a streamer,
 * signaling on the in-process store, an operator leading against the fake API server), so a metric
 * renamed or removed in the code fails this test, as does a typo in a dashboard.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { Registry } from 'prom-client';
import { createMemoryBackend } from '../common/store/memory/backend.ts';
import type { StoreBackend } from '../common/store/backend.ts';
import type { Operator } from '../operator/operator.ts';
import type { Signaling } from '../signaling/signaling.ts';
import type { Streamer } from '../streamer/streamer.ts';
import { startKubeWithCrds, startTestOperator } from './support/operator.ts';
import type { FakeKube } from './support/fake-kube/index.ts';
import { startTestSignalingOn } from './support/signaling.ts';
import { startTestStreamer } from './support/streamer.ts';
import { waitFor } from './support/wait.ts';

const dashboardsDir = path.join(import.meta.dirname, '..', 'charts', 'gbcast', 'dashboards');

// ---------------------------------------------------------------------------------------------
// What the code exposes: series names as Prometheus stores them, with their type and label names.

interface Series {
  /** counter, gauge, or the counter-like parts of histograms and summaries. */
  kind: 'counter' | 'gauge' | 'histogram-part' | 'summary';
  labels: Set<string>;
}

/** Labels Prometheus adds when it scrapes a pod (the target's), which queries may group by. */
const targetLabels = ['instance', 'job', 'namespace', 'pod', 'container', 'service', 'endpoint'];

async function seriesOf(registry: Registry, into: Map<string, Series>): Promise<void> {
  const metrics = await registry.getMetricsAsJSON();
  // Default labels (streamer/pool, part) ride on every metric: read them off one that has no labels of its own.
  const cpu = metrics.find((m) => m.name === 'gbcast_process_process_cpu_seconds_total');
  assert.ok(cpu?.values[0], 'the process metrics are registered');
  const defaults = Object.keys(cpu.values[0].labels);
  for (const m of metrics) {
    const own = (registry.getSingleMetric(m.name) as unknown as { labelNames?: readonly string[] }).labelNames ?? [];
    const labels = new Set([...own, ...defaults, ...targetLabels]);
    const add = (name: string, kind: Series['kind'], extra: string[] = []) => {
      const existing = into.get(name);
      if (existing) for (const l of [...labels, ...extra]) existing.labels.add(l);
      else into.set(name, { kind, labels: new Set([...labels, ...extra]) });
    };
    const type = String(m.type);
    if (type === 'histogram') {
      add(`${m.name}_bucket`, 'histogram-part', ['le']);
      add(`${m.name}_sum`, 'histogram-part');
      add(`${m.name}_count`, 'histogram-part');
    } else if (type === 'summary') {
      add(m.name, 'summary', ['quantile']);
      add(`${m.name}_sum`, 'histogram-part');
      add(`${m.name}_count`, 'histogram-part');
    } else {
      add(m.name, type === 'counter' ? 'counter' : 'gauge');
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Enough PromQL to find the metrics, labels, functions and variables a query names.

const functions = new Set([
  // aggregations
  'sum', 'min', 'max', 'avg', 'group', 'stddev', 'stdvar', 'count', 'count_values', 'bottomk', 'topk', 'quantile', 'limitk', 'limit_ratio',
  // functions
  'abs', 'absent', 'absent_over_time', 'ceil', 'changes', 'clamp', 'clamp_max', 'clamp_min', 'day_of_month', 'day_of_week', 'day_of_year',
  'days_in_month', 'delta', 'deriv', 'exp', 'floor', 'histogram_quantile', 'histogram_count', 'histogram_sum', 'histogram_fraction',
  'holt_winters', 'hour', 'idelta', 'increase', 'irate', 'label_join', 'label_replace', 'ln', 'log2', 'log10', 'minute', 'month',
  'predict_linear', 'rate', 'resets', 'round', 'scalar', 'sgn', 'sort', 'sort_desc', 'sqrt', 'time', 'timestamp', 'vector', 'year',
  'avg_over_time', 'min_over_time', 'max_over_time', 'sum_over_time', 'count_over_time', 'quantile_over_time', 'stddev_over_time',
  'stdvar_over_time', 'last_over_time', 'present_over_time',
]);
const rateFunctions = new Set(['rate', 'irate', 'increase', 'resets']);
const groupingKeywords = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);
const otherKeywords = new Set(['bool', 'offset', 'and', 'or', 'unless', 'atan2', 'inf', 'nan', 'start', 'end']);

interface MetricRef {
  metric: string;
  /** Label names of its matchers. */
  matchers: string[];
  /** The innermost function around it (rate, sum, …), if any. */
  fn: string | undefined;
}

export interface ParsedQuery {
  refs: MetricRef[];
  /** Labels of by/without/on/ignoring/group_left/group_right clauses. */
  grouping: string[];
  variables: string[];
  errors: string[];
}

type Token =
  | { t: 'ident'; v: string }
  | { t: 'matchers'; labels: string[] }
  | { t: '(' | ')' | ',' | 'other' };

const variablePattern = /\$\{(\w+)(?:[:.][^}]*)?\}|\$(\w+)|\[\[(\w+)(?::\w+)?\]\]/g;

function variablesIn(text: string): string[] {
  return [...text.matchAll(variablePattern)].map((m) => m[1] ?? m[2] ?? m[3]);
}

function readQuoted(expr: string, start: number): number {
  const quote = expr[start];
  let i = start + 1;
  while (i < expr.length && expr[i] !== quote) i += expr[i] === '\\' && quote !== '`' ? 2 : 1;
  if (i >= expr.length) throw new Error(`unterminated string at ${start}`);
  return i + 1;
}

function tokenize(expr: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < expr.length) {
    const c = expr[i];
    if (/\s/.test(c)) {
      i++;
    } else if (c === '"' || c === "'" || c === '`') {
      i = readQuoted(expr, i);
      tokens.push({ t: 'other' });
    } else if (c === '{') {
      let j = i + 1;
      let inner = '';
      while (j < expr.length && expr[j] !== '}') {
        if (expr[j] === '"' || expr[j] === "'" || expr[j] === '`') {
          j = readQuoted(expr, j);
          inner += '""';
        } else {
          inner += expr[j++];
        }
      }
      if (j >= expr.length) throw new Error(`unterminated { at ${i}`);
      const parts = inner.split(',').map((s) => s.trim()).filter(Boolean);
      const labels = parts.map((p) => {
        const m = /^([A-Za-z_]\w*)\s*(=~|!~|!=|=)\s*""$/.exec(p);
        if (!m) throw new Error(`cannot read the label matcher "${p}"`);
        return m[1];
      });
      tokens.push({ t: 'matchers', labels });
      i = j + 1;
    } else if (c === '[') {
      const j = expr.indexOf(']', i);
      if (j < 0) throw new Error(`unterminated [ at ${i}`);
      tokens.push({ t: 'other' }); // a range or subquery: durations and variables only
      i = j + 1;
    } else if (c === '$') {
      const m = /^\$\{[^}]*\}|^\$\w+/.exec(expr.slice(i));
      if (!m) throw new Error(`stray $ at ${i}`);
      tokens.push({ t: 'other' });
      i += m[0].length;
    } else if (/[0-9.]/.test(c)) {
      const m = /^(?:0x[0-9a-f]+|\d*\.?\d+(?:e[+-]?\d+)?(?:ms|[smhdwy])*)/i.exec(expr.slice(i));
      if (!m || !m[0]) throw new Error(`cannot read a number at ${i}`);
      tokens.push({ t: 'other' });
      i += m[0].length;
    } else if (/[A-Za-z_:]/.test(c)) {
      const m = /^[A-Za-z_:][\w:]*/.exec(expr.slice(i))!;
      tokens.push({ t: 'ident', v: m[0] });
      i += m[0].length;
    } else if (c === '(' || c === ')' || c === ',') {
      tokens.push({ t: c });
      i++;
    } else {
      tokens.push({ t: 'other' }); // operators
      i++;
    }
  }
  return tokens;
}

export function parseQuery(expr: string): ParsedQuery {
  const out: ParsedQuery = { refs: [], grouping: [], variables: variablesIn(expr), errors: [] };
  let tokens: Token[];
  try {
    tokens = tokenize(expr);
  } catch (err) {
    out.errors.push((err as Error).message);
    return out;
  }
  const stack: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const tok = tokens[i];
    const next = tokens[i + 1];
    if (tok.t === '(') {
      stack.push('');
    } else if (tok.t === ')') {
      if (stack.pop() === undefined) out.errors.push('unbalanced )');
    } else if (tok.t === 'matchers') {
      out.errors.push('a selector without a metric name ({…} alone or {__name__=…}): name the metric');
    } else if (tok.t === 'ident') {
      const word = tok.v.toLowerCase();
      if (groupingKeywords.has(word)) {
        if (next?.t !== '(') continue; // group_left without labels
        let j = i + 2;
        for (; j < tokens.length && tokens[j].t !== ')'; j++) {
          const l = tokens[j];
          if (l.t === 'ident') out.grouping.push(l.v);
          else if (l.t !== ',') out.errors.push(`unexpected token in the ${word} clause`);
        }
        i = j;
      } else if (otherKeywords.has(word)) {
        continue;
      } else if (next?.t === 'ident' && (next.v === 'by' || next.v === 'without') && functions.has(tok.v)) {
        // sum by (…) (…): the clause first, then the aggregation's argument
        let j = i + 3;
        for (; j < tokens.length && tokens[j].t !== ')'; j++) {
          const l = tokens[j];
          if (l.t === 'ident') out.grouping.push(l.v);
          else if (l.t !== ',') out.errors.push(`unexpected token in the ${next.v} clause`);
        }
        if (tokens[i + 2]?.t !== '(' || tokens[j + 1]?.t !== '(') out.errors.push(`${tok.v} ${next.v} (…) (…) expected`);
        stack.push(tok.v);
        i = j + 1;
      } else if (next?.t === '(') {
        if (!functions.has(tok.v)) out.errors.push(`unknown function ${tok.v}()`);
        stack.push(tok.v);
        i++;
      } else {
        const matchers = next?.t === 'matchers' ? next.labels : [];
        if (next?.t === 'matchers') i++;
        out.refs.push({ metric: tok.v, matchers, fn: [...stack].reverse().find((f) => f !== '') });
      }
    }
  }
  if (stack.length) out.errors.push('unbalanced (');
  return out;
}

/** What is wrong with one query against the series the code exposes ([] when nothing). */
export function checkQuery(expr: string, series: Map<string, Series>): string[] {
  const q = parseQuery(expr);
  const problems = [...q.errors];
  if (q.refs.length === 0 && !q.errors.length) problems.push('names no metric');
  const present = new Set<string>();
  for (const ref of q.refs) {
    const s = series.get(ref.metric);
    if (!s) {
      problems.push(`metric ${ref.metric} does not exist in the code`);
      continue;
    }
    for (const l of s.labels) present.add(l);
    for (const l of ref.matchers) if (!s.labels.has(l)) problems.push(`${ref.metric} has no label "${l}"`);
    const inRate = ref.fn !== undefined && rateFunctions.has(ref.fn);
    if ((s.kind === 'counter' || s.kind === 'histogram-part') && !inRate) problems.push(`${ref.metric} is a counter: query it through rate() or increase(), not ${ref.fn ?? 'raw'}`);
    // Gauges named _total are counters exposed through a gauge (labels created as seen): rate() suits them.
    if ((s.kind === 'gauge' || s.kind === 'summary') && inRate && !ref.metric.endsWith('_total')) problems.push(`${ref.metric} is a gauge: ${ref.fn}() over it means nothing`);
  }
  for (const l of q.grouping) if (!present.has(l)) problems.push(`no metric of the query has the label "${l}" it groups by`);
  return problems;
}

// ---------------------------------------------------------------------------------------------
// The dashboards.

interface Target {
  refId?: unknown;
  expr?: unknown;
}
interface Panel {
  id?: unknown;
  type?: unknown;
  title?: unknown;
  gridPos?: { h?: unknown; w?: unknown; x?: unknown; y?: unknown };
  datasource?: { type?: unknown; uid?: unknown };
  targets?: Target[];
  panels?: Panel[];
}
interface Variable {
  name?: unknown;
  type?: unknown;
  query?: unknown;
  definition?: unknown;
}
interface Dashboard {
  uid?: unknown;
  title?: unknown;
  tags?: unknown;
  schemaVersion?: unknown;
  refresh?: unknown;
  time?: { from?: unknown; to?: unknown };
  templating?: { list?: Variable[] };
  panels?: Panel[];
}

const files = readdirSync(dashboardsDir).filter((f) => f.endsWith('.json')).sort();
const dashboards = files.map((file) => {
  const text = readFileSync(path.join(dashboardsDir, file), 'utf8');
  let json: Dashboard | undefined;
  let parseError: string | undefined;
  try {
    json = JSON.parse(text) as Dashboard;
  } catch (err) {
    parseError = (err as Error).message;
  }
  return { file, text, json, parseError };
});

function allPanels(d: Dashboard): Panel[] {
  return (d.panels ?? []).flatMap((p) => [p, ...(p.panels ?? [])]);
}

function variableQuery(v: Variable): string {
  if (typeof v.query === 'string') return v.query;
  const q = (v.query as { query?: unknown } | undefined)?.query;
  return typeof q === 'string' ? q : '';
}

const allowedPanelTypes = new Set(['row', 'timeseries', 'stat', 'bargauge', 'gauge', 'table', 'text', 'state-timeline', 'heatmap']);
const grafanaBuiltins = /^__/;

// ---------------------------------------------------------------------------------------------
// The parts, started for their registries.

const series = new Map<string, Series>();
let streamer: Streamer | undefined;
let signaling: Signaling | undefined;
let signalingBackend: StoreBackend | undefined;
let operator: Operator | undefined;
let operatorBackend: StoreBackend | undefined;
let kube: FakeKube | undefined;

before(async () => {
  streamer = await startTestStreamer({ pool: 'dashboards' });
  signalingBackend = createMemoryBackend();
  signaling = await startTestSignalingOn(signalingBackend);
  ({ kube } = await startKubeWithCrds());
  operatorBackend = createMemoryBackend();
  operator = await startTestOperator(kube, 'redis://unused', [`--identity=dashboards-${process.pid}`], operatorBackend);
  // The controller and work queue metrics are registered once the controllers run (while leading).
  // Wait for the informers' first sync too: an operator stopped before it hangs (Controllers.start
  // awaits a sync that never comes once the informers are stopped).
  const op = operator;
  const controllers = await waitFor('the operator leading', () => op.controllers);
  await Promise.all([controllers.pools.synced, controllers.pods.synced, controllers.nodes.synced, controllers.cameras.synced]);
  await waitFor('the work queue metrics', async () => (await op.registry.getMetricsAsJSON()).some((m) => m.name === 'gbcast_operator_workqueue_adds_total'));
  for (const part of [streamer, signaling, operator]) await seriesOf(part.registry, series);
});

after(async () => {
  await operator?.stop();
  await operatorBackend?.close();
  await kube?.stop();
  await signaling?.stop();
  await signalingBackend?.close();
  await streamer?.stop();
});

// ---------------------------------------------------------------------------------------------

test('the dashboards are there: overview, streamers, operator', () => {
  for (const f of ['gbcast-overview.json', 'gbcast-streamers.json', 'gbcast-operator.json']) assert.ok(files.includes(f), `${f} in ${dashboardsDir}`);
});

test('each file is a Grafana dashboard: parses, uid and title, schema, tags, time, unique uids, fits a ConfigMap', () => {
  const uids = new Map<string, string>();
  for (const { file, text, json, parseError } of dashboards) {
    assert.equal(parseError, undefined, `${file} parses as JSON`);
    const d = json!;
    assert.match(file, /^[-._a-zA-Z0-9]+$/, `${file} is a valid ConfigMap key`);
    // A ConfigMap holds at most 1 MiB; kubectl apply's last-applied annotation at most 256 KiB.
    assert.ok(statSync(path.join(dashboardsDir, file)).size < 256 * 1024, `${file} is small enough for a ConfigMap applied with kubectl`);
    assert.ok(typeof d.title === 'string' && d.title.length > 0, `${file}: title`);
    assert.ok(typeof d.uid === 'string' && /^[-_a-zA-Z0-9]{1,40}$/.test(d.uid), `${file}: uid of at most 40 [-_a-zA-Z0-9]`);
    assert.equal(`${d.uid}.json`, file, `${file}: named after its uid`);
    assert.ok(!uids.has(d.uid), `${file}: uid ${d.uid} also in ${uids.get(d.uid)}`);
    uids.set(d.uid, file);
    assert.ok(typeof d.schemaVersion === 'number' && d.schemaVersion >= 36, `${file}: a modern schemaVersion`);
    assert.ok(Array.isArray(d.tags) && d.tags.includes('gbcast'), `${file}: tagged gbcast`);
    assert.ok(typeof d.refresh === 'string' && /^\d+[smh]$/.test(d.refresh), `${file}: refresh`);
    assert.ok(typeof d.time?.from === 'string' && typeof d.time.to === 'string', `${file}: time range`);
    assert.ok(Array.isArray(d.templating?.list), `${file}: templating.list`);
    assert.ok(Array.isArray(d.panels) && d.panels.length > 0, `${file}: panels`);
    assert.ok(!('__inputs' in d), `${file}: no __inputs (the sidecar provisions it as is; the data source is a variable)`);
    assert.ok(text.endsWith('\n'), `${file} ends with a newline`);
  }
});

test('panels: unique ids, types, grid positions that do not overlap, targets with refId and expr on the datasource variable', () => {
  for (const { file, json } of dashboards) {
    const d = json!;
    const ids = new Set<unknown>();
    const cells = new Map<string, string>();
    for (const p of allPanels(d)) {
      const where = `${file}: panel "${String(p.title)}"`;
      assert.ok(typeof p.id === 'number' && !ids.has(p.id), `${where}: a unique numeric id`);
      ids.add(p.id);
      assert.ok(typeof p.type === 'string' && allowedPanelTypes.has(p.type), `${where}: type ${String(p.type)}`);
      assert.ok(typeof p.title === 'string' && p.title.length > 0, `${where}: a title`);
      const g = p.gridPos;
      assert.ok(g && [g.h, g.w, g.x, g.y].every((n) => Number.isInteger(n) && (n as number) >= 0), `${where}: gridPos h, w, x, y`);
      const { h, w, x, y } = g as { h: number; w: number; x: number; y: number };
      assert.ok(w > 0 && h > 0 && x + w <= 24, `${where}: within the 24 columns`);
      for (let r = y; r < y + h; r++) {
        for (let col = x; col < x + w; col++) {
          const other = cells.get(`${r},${col}`);
          assert.equal(other, undefined, `${where} overlaps panel "${other}"`);
          cells.set(`${r},${col}`, String(p.title));
        }
      }
      if (p.type === 'row' || p.type === 'text') continue;
      assert.deepEqual(p.datasource, { type: 'prometheus', uid: '${datasource}' }, `${where}: queries the data source variable`);
      assert.ok(Array.isArray(p.targets) && p.targets.length > 0, `${where}: targets`);
      const refIds = new Set<unknown>();
      for (const t of p.targets) {
        assert.ok(typeof t.refId === 'string' && t.refId.length > 0 && !refIds.has(t.refId), `${where}: unique refIds`);
        refIds.add(t.refId);
        assert.ok(typeof t.expr === 'string' && t.expr.trim().length > 0, `${where}: target ${t.refId} has an expr`);
      }
    }
  }
});

test('variables: a Prometheus data source variable; every variable a query uses is defined', () => {
  for (const { file, json } of dashboards) {
    const d = json!;
    const vars = d.templating!.list!;
    const ds = vars.find((v) => v.name === 'datasource');
    assert.ok(ds && ds.type === 'datasource' && ds.query === 'prometheus', `${file}: a datasource variable of type prometheus`);
    const defined = new Set(vars.map((v) => v.name));
    const used = [
      ...allPanels(d).flatMap((p) => (p.targets ?? []).flatMap((t) => variablesIn(String(t.expr)))),
      ...vars.flatMap((v) => variablesIn(variableQuery(v))),
      ...allPanels(d).flatMap((p) => variablesIn(JSON.stringify(p.datasource ?? ''))),
    ];
    for (const name of used) if (!grafanaBuiltins.test(name)) assert.ok(defined.has(name), `${file}: variable $${name} is used but not defined`);
  }
});

test('every metric and label the dashboards query exists in the parts\' registries', () => {
  assert.ok(series.has('gbcast_signaling_invite_setup_seconds_bucket') && series.has('gbcast_operator_leader') && series.has('gbcast_streamer_receivers'), 'the registries of the three parts were read');
  const problems: string[] = [];
  let queries = 0;
  for (const { file, json } of dashboards) {
    const d = json!;
    for (const p of allPanels(d)) {
      for (const t of p.targets ?? []) {
        queries++;
        for (const problem of checkQuery(String(t.expr), series)) problems.push(`${file} "${String(p.title)}" ${String(t.refId)}: ${problem}\n    ${String(t.expr)}`);
      }
    }
    for (const v of d.templating!.list!) {
      if (v.type !== 'query') continue;
      queries++;
      const q = variableQuery(v);
      const m = /^label_values\((.+),\s*(\w+)\s*\)$/.exec(q.trim());
      if (!m) {
        problems.push(`${file} variable ${String(v.name)}: expected label_values(metric{…}, label), got "${q}"`);
        continue;
      }
      const sel = parseQuery(m[1]);
      const metric = sel.refs[0]?.metric;
      if (sel.refs.length !== 1 || !metric) problems.push(`${file} variable ${String(v.name)}: label_values of one metric`);
      else if (!series.get(metric)?.labels.has(m[2])) problems.push(`${file} variable ${String(v.name)}: ${metric} has no label "${m[2]}" (or does not exist)`);
      for (const problem of sel.errors) problems.push(`${file} variable ${String(v.name)}: ${problem}`);
      for (const ref of sel.refs) for (const l of ref.matchers) if (!series.get(ref.metric)?.labels.has(l)) problems.push(`${file} variable ${String(v.name)}: ${ref.metric} has no label "${l}"`);
    }
  }
  assert.ok(queries > 50, `the dashboards hold queries (${queries})`);
  assert.deepEqual(problems, [], problems.join('\n'));
});

test('the query check itself catches a metric that does not exist, a counter without rate() and an unknown label', () => {
  assert.deepEqual(checkQuery('sum by (pool) (rate(gbcast_streamer_rtp_bytes_total{pool=~"$pool"}[$__rate_interval])) * 8', series), []);
  assert.deepEqual(checkQuery('histogram_quantile(0.9, sum by (le) (rate(gbcast_signaling_invite_setup_seconds_bucket[5m])))', series), []);
  assert.match(checkQuery('sum(rate(gbcast_streamer_rtp_bytez_total[5m]))', series).join(), /gbcast_streamer_rtp_bytez_total does not exist/);
  assert.match(checkQuery('sum(gbcast_signaling_invites_total)', series).join(), /is a counter/);
  assert.match(checkQuery('sum(gbcast_streamer_receivers{poool="a"})', series).join(), /no label "poool"/);
  assert.match(checkQuery('sum by (outcome) (gbcast_streamer_receivers)', series).join(), /groups by/);
  assert.match(checkQuery('sum(rate(gbcast_signaling_invite_setup_seconds[5m]))', series).join(), /does not exist/);
  assert.match(checkQuery('summ(gbcast_streamer_receivers)', series).join(), /unknown function summ/);
  assert.match(checkQuery('rate(gbcast_streamer_receivers[5m])', series).join(), /is a gauge/);
});
