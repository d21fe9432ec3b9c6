/**
 * x-kubernetes-validations: CEL rules on @marcbachmann/cel-js, compiled once per schema and evaluated
 * the way the API server does.
 *
 * Rules are type-checked against types built from the schema (a typo'd field fails at compile time,
 * as in Kubernetes) and evaluated with values converted the Kubernetes way (integer → int, number →
 * double, date-time → timestamp). `self` is the value at the rule's node, `oldSelf` the stored one on
 * an update: a rule using oldSelf is a transition rule, run only when there is an old value (or with
 * optionalOldSelf), and allowed only where old and new values correlate (every list above it a map
 * list, no atomic map). Kubernetes' own CEL libraries (lists, regex, url, quantity, ip…) are not
 * provided: a rule using them fails to compile here. The API server's cost estimate is approximated
 * by one rule: a rule that iterates (all, exists, exists_one, map, filter) needs maxItems on every
 * list under its node.
 */
import { Environment, Optional } from '@marcbachmann/cel-js';
import type { FieldError } from '../kube-fields.ts';
import { fieldError } from '../kube-fields.ts';
import { embedded, fieldSchema, firstLine, intOrString, isObj, isSchema, preserves } from './types.ts';
import type { Obj, StructuralSchema, ValidationRule } from './types.ts';

interface CompiledRule {
  rule: ValidationRule;
  program: (ctx: Obj) => unknown;
  message?: (ctx: Obj) => unknown;
  transition: boolean;
}

const ruleReasons = new Set(['FieldValueInvalid', 'FieldValueForbidden', 'FieldValueRequired', 'FieldValueDuplicate']);
const iteratingMacros = new Set(['all', 'exists', 'exists_one', 'map', 'filter']);
let typeCounter = 0;

/** The CEL rules of one schema; `errors` holds what the API server refuses in them (paths under `path`). */
export class SchemaRules {
  readonly errors: FieldError[] = [];
  readonly #rules = new Map<StructuralSchema, CompiledRule[]>();
  readonly #evalEnv = new Environment({ enableOptionalTypes: true, homogeneousAggregateLiterals: false })
    .registerVariable('self', 'dyn')
    .registerVariable('oldSelf', 'dyn');

  constructor(schema: StructuralSchema, path: string) {
    this.#compile(schema, path, new Environment({ enableOptionalTypes: true, homogeneousAggregateLiterals: false }), true, undefined);
  }

  /**
   * @param uncorrelatable the highest node above (a list that is not a map list, an atomic map) below
   *   which oldSelf cannot be matched with self.
   */
  #compile(s: StructuralSchema, path: string, typeEnv: Environment, root: boolean, uncorrelatable: string | undefined): void {
    if (!isSchema(s)) return;
    const rules = s['x-kubernetes-validations'];
    if (rules?.length) {
      let checkEnv: Environment | undefined;
      let optionalEnv: Environment | undefined;
      try {
        const env = typeEnv.clone();
        const selfType = celTypeOf(s, env, 'Object', root);
        checkEnv = env.clone().registerVariable('self', selfType).registerVariable('oldSelf', selfType);
        optionalEnv = env.clone().registerVariable('self', selfType).registerVariable('oldSelf', `optional<${selfType}>`);
      } catch (e) {
        this.errors.push(fieldError('FieldValueInvalid', `${path}.x-kubernetes-validations`, `cannot build CEL types: ${firstLine(e)}`));
      }
      const compiled: CompiledRule[] = [];
      rules.forEach((r, i) => {
        const before = this.errors.length;
        const c = this.#compileRule(r, `${path}.x-kubernetes-validations[${i}]`, s, r?.optionalOldSelf ? optionalEnv : checkEnv, checkEnv, uncorrelatable);
        if (c && this.errors.length === before) compiled.push(c);
      });
      this.#rules.set(s, compiled);
    }
    const mapUncorrelatable = s['x-kubernetes-map-type'] === 'atomic' ? (uncorrelatable ?? path) : uncorrelatable;
    for (const [k, p] of Object.entries(s.properties ?? {})) this.#compile(p, `${path}.properties[${k}]`, typeEnv, false, mapUncorrelatable);
    if (isObj(s.additionalProperties)) this.#compile(s.additionalProperties, `${path}.additionalProperties`, typeEnv, false, uncorrelatable);
    if (s.items) {
      const listUncorrelatable = s['x-kubernetes-list-type'] === 'map' ? uncorrelatable : (uncorrelatable ?? path);
      this.#compile(s.items, `${path}.items`, typeEnv, false, listUncorrelatable);
    }
  }

  #compileRule(
    r: ValidationRule,
    rp: string,
    s: StructuralSchema,
    checkEnv: Environment | undefined,
    messageEnv: Environment | undefined,
    uncorrelatable: string | undefined,
  ): CompiledRule | undefined {
    if (typeof r?.rule !== 'string' || !r.rule.trim()) {
      this.errors.push(fieldError('FieldValueRequired', `${rp}.rule`, 'rule is not specified'));
      return undefined;
    }
    const message = r.message?.trim() ?? '';
    if (r.message && !message) this.errors.push(fieldError('FieldValueInvalid', `${rp}.message`, 'message must be non-empty if specified', r.message));
    else if (message.includes('\n')) this.errors.push(fieldError('FieldValueInvalid', `${rp}.message`, 'message must not contain line breaks', r.message));
    else if (!message && r.rule.trim().includes('\n')) this.errors.push(fieldError('FieldValueRequired', `${rp}.message`, 'message must be specified if rule contains line breaks'));
    if (r.reason !== undefined && !ruleReasons.has(r.reason))
      this.errors.push(fieldError('FieldValueNotSupported', `${rp}.reason`, 'supported values: "FieldValueDuplicate", "FieldValueForbidden", "FieldValueInvalid", "FieldValueRequired"', r.reason));
    if (r.fieldPath !== undefined && !resolveFieldPath(s, r.fieldPath))
      this.errors.push(fieldError('FieldValueInvalid', `${rp}.fieldPath`, 'fieldPath must be a valid path to a field of this schema', r.fieldPath));
    let program: CompiledRule['program'];
    let ast: unknown;
    try {
      const parsed = this.#evalEnv.parse(r.rule);
      program = parsed;
      ast = parsed.ast;
    } catch (e) {
      this.errors.push(fieldError('FieldValueInvalid', `${rp}.rule`, `compilation failed: ${firstLine(e)}`, r.rule));
      return undefined;
    }
    const transition = referencesOldSelf(ast);
    if (transition && uncorrelatable !== undefined)
      this.errors.push(fieldError('FieldValueInvalid', `${rp}.rule`, `oldSelf cannot be used on the uncorrelatable portion of the schema within ${uncorrelatable}`, r.rule));
    if (usesIteratingMacro(ast) && hasUnboundedList(s))
      this.errors.push(fieldError('FieldValueForbidden', `${rp}.rule`, 'estimated rule cost exceeds budget: a rule that iterates needs maxItems on every list under it (this checker\'s approximation of the API server\'s cost estimate)'));
    if (checkEnv) {
      let checked: { valid: boolean; type?: string; error?: Error };
      try {
        checked = checkEnv.check(r.rule);
      } catch (e) {
        checked = { valid: false, error: e as Error };
      }
      if (!checked.valid) this.errors.push(fieldError('FieldValueInvalid', `${rp}.rule`, `compilation failed: ${firstLine(checked.error)}`, r.rule));
      else if (checked.type !== 'bool' && checked.type !== 'dyn')
        this.errors.push(fieldError('FieldValueInvalid', `${rp}.rule`, `must evaluate to a bool, not ${checked.type}`, r.rule));
    }
    let messageProgram: CompiledRule['message'];
    if (r.messageExpression !== undefined) {
      try {
        messageProgram = this.#evalEnv.parse(r.messageExpression);
        const checked = messageEnv?.check(r.messageExpression);
        if (checked && !checked.valid) throw checked.error;
        if (checked && checked.type !== 'string' && checked.type !== 'dyn') throw new Error(`must evaluate to a string, not ${checked.type}`);
      } catch (e) {
        this.errors.push(fieldError('FieldValueInvalid', `${rp}.messageExpression`, `messageExpression compilation failed: ${firstLine(e)}`, r.messageExpression));
      }
    }
    return { rule: r, program, message: messageProgram, transition };
  }

  /**
   * Runs the rules of node `s` on `v` (not null) and adds what fails, as the API server words it: the
   * value shown is the node's type, a Duplicate has no detail, a rule that fails to evaluate is
   * Invalid. `path` '' is the object itself (`<nil>` in the errors, as the server writes it).
   */
  evaluate(v: unknown, s: StructuralSchema, old: unknown, path: string, errs: FieldError[]): void {
    const rules = this.#rules.get(s);
    if (!rules?.length || v === null || v === undefined) return;
    const self = toCel(v, s);
    const oldSelf = old === undefined || old === null ? undefined : toCel(old, s);
    const shown = s.type ?? '';
    for (const c of rules) {
      if (c.transition && oldSelf === undefined && !c.rule.optionalOldSelf) continue;
      const ctx: Obj = { self, oldSelf: c.rule.optionalOldSelf ? (oldSelf === undefined ? Optional.none() : Optional.of(oldSelf)) : oldSelf };
      let ok: unknown;
      try {
        ok = c.program(ctx);
      } catch (e) {
        errs.push(fieldError('FieldValueInvalid', path || '<nil>', `${firstLine(e)} evaluating rule: ${ruleErrorString(c.rule)}`, shown));
        continue;
      }
      if (ok === true) continue;
      const field = (c.rule.fieldPath ? `${path}${c.rule.fieldPath}`.replace(/^\./, '') : path) || '<nil>';
      let detail = c.rule.message?.trim() || `failed rule: ${ruleErrorString(c.rule)}`;
      if (c.message) {
        try {
          const m = c.message({ self, oldSelf });
          if (typeof m === 'string' && m.trim() && !/\n/.test(m.trim())) detail = m.trim();
        } catch {
          // The API server falls back to message (or the rule) when messageExpression fails.
        }
      }
      const reason = c.rule.reason ?? 'FieldValueInvalid';
      if (reason === 'FieldValueForbidden' || reason === 'FieldValueRequired') errs.push(fieldError(reason, field, detail));
      else if (reason === 'FieldValueDuplicate') errs.push(fieldError(reason, field, '', shown));
      else errs.push(fieldError('FieldValueInvalid', field, detail, shown));
    }
  }
}

function ruleErrorString(r: ValidationRule): string {
  return r.message?.trim() || r.rule.trim();
}

// ---------------------------------------------------------------------------------------------
// Types from the schema, values converted to them.

function celTypeOf(s: StructuralSchema, env: Environment, name: string, root: boolean): string {
  if (intOrString(s) || (preserves(s) && !s.properties) || (embedded(s) && !s.properties)) return 'dyn';
  switch (s.type) {
    case 'string':
      if (s.format === 'date-time' || s.format === 'date') return 'timestamp';
      if (s.format === 'byte') return 'bytes';
      return 'string';
    case 'integer':
      return 'int';
    case 'number':
      return 'double';
    case 'boolean':
      return 'bool';
    case 'array':
      return s.items ? `list<${celTypeOf(s.items, env, `${name}_item`, false)}>` : 'list<dyn>';
    case 'object': {
      if (!s.properties) return isObj(s.additionalProperties) ? `map<string, ${celTypeOf(s.additionalProperties, env, `${name}_value`, false)}>` : 'map<string, dyn>';
      const fields: Record<string, string> = {};
      for (const [k, p] of Object.entries(s.properties)) {
        if (root && k === 'metadata') fields[k] = metadataCelType(env, name);
        else fields[k] = celTypeOf(p, env, `${name}_${k.replace(/\W/g, '_')}`, false);
      }
      const typeName = `${name}_${++typeCounter}`;
      env.registerType(typeName, { ctor: class {}, fields });
      return typeName;
    }
    default:
      return 'dyn';
  }
}

/** Rules see only metadata.name and metadata.generateName. */
function metadataCelType(env: Environment, name: string): string {
  const typeName = `${name}_metadata_${++typeCounter}`;
  env.registerType(typeName, { ctor: class {}, fields: { name: 'string', generateName: 'string' } });
  return typeName;
}

/** A JSON value as CEL sees it under schema s: integers as bigint, date-times as Date. */
function toCel(v: unknown, s: StructuralSchema | undefined): unknown {
  if (v === null || v === undefined) return v;
  if (!s || intOrString(s) || (preserves(s) && !s.properties)) return dynToCel(v);
  if (typeof v === 'number') return s.type === 'integer' && Number.isInteger(v) ? BigInt(v) : v;
  if (typeof v === 'string' && s.type === 'string' && (s.format === 'date-time' || s.format === 'date')) {
    const d = new Date(v);
    return Number.isNaN(d.getTime()) ? v : d;
  }
  if (Array.isArray(v)) return v.map((x) => toCel(x, s.items));
  if (isObj(v)) {
    const out: Obj = {};
    for (const [k, x] of Object.entries(v)) out[k] = toCel(x, fieldSchema(s, k));
    return out;
  }
  return v;
}

function dynToCel(v: unknown): unknown {
  if (typeof v === 'number') return Number.isInteger(v) ? BigInt(v) : v;
  if (Array.isArray(v)) return v.map(dynToCel);
  if (isObj(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, dynToCel(x)]));
  return v;
}

// ---------------------------------------------------------------------------------------------
// What a rule's syntax tree says.

function someNode(ast: unknown, test: (node: Obj) => boolean): boolean {
  if (!isObj(ast)) return false;
  if (test(ast)) return true;
  const args = ast.args;
  if (Array.isArray(args)) return args.some((a) => (Array.isArray(a) ? a.some((x) => someNode(x, test)) : someNode(a, test)));
  return someNode(args, test);
}

const referencesOldSelf = (ast: unknown): boolean => someNode(ast, (n) => n.op === 'id' && n.args === 'oldSelf');
const usesIteratingMacro = (ast: unknown): boolean =>
  someNode(ast, (n) => n.op === 'rcall' && Array.isArray(n.args) && iteratingMacros.has(n.args[0] as string));

function hasUnboundedList(s: StructuralSchema): boolean {
  if (!isSchema(s)) return false;
  if (s.type === 'array' && s.maxItems === undefined) return true;
  if (preserves(s) && !s.properties) return false;
  if (s.items && hasUnboundedList(s.items)) return true;
  if (isObj(s.additionalProperties) && hasUnboundedList(s.additionalProperties)) return true;
  return Object.values(s.properties ?? {}).some(hasUnboundedList);
}

/** Resolves a rule's fieldPath (`.a.b`, `['x.y']`) against the node's schema; undefined when it names no field. */
function resolveFieldPath(s: StructuralSchema, fieldPath: string): string[] | undefined {
  const parts: string[] = [];
  const re = /\.([A-Za-z_$][\w$-]*)|\['([^']*)'\]/y;
  let at = 0;
  while (at < fieldPath.length) {
    re.lastIndex = at;
    const m = re.exec(fieldPath);
    if (!m) return undefined;
    parts.push(m[1] ?? m[2]);
    at = re.lastIndex;
  }
  let node: StructuralSchema | undefined = s;
  for (const p of parts) {
    node = fieldSchema(node, p);
    if (!node) return undefined;
  }
  return parts;
}
