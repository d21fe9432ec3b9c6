/**
 * x-kubernetes-validations: CEL rules evaluated with @marcbachmann/cel-js. `self` is the value at the
 * schema node that carries the rule, `oldSelf` the previous value on an update (a rule that uses
 * oldSelf is a transition rule and is only evaluated on updates where an old value exists). Integers
 * (schema type integer) are CEL ints, numbers doubles.
 */
import { Environment } from '@marcbachmann/cel-js';
import type { ParseResult } from '@marcbachmann/cel-js';
import type { Json } from './status.ts';
import type { StructuralSchema } from './schema.ts';

const env = new Environment({ unlistedVariablesAreDyn: true, enableOptionalTypes: true, homogeneousAggregateLiterals: false });

const cache = new Map<string, ParseResult>();

/** Compiles a rule (cached); throws with the parser's message when it does not compile. */
export function compileRule(rule: string): ParseResult {
  let compiled = cache.get(rule);
  if (!compiled) {
    compiled = env.parse(rule);
    cache.set(rule, compiled);
  }
  return compiled;
}

export function usesOldSelf(rule: string): boolean {
  return /\boldSelf\b/.test(rule);
}

/** JSON → CEL values, typed by the schema: integers become bigint (CEL int). */
export function toCel(value: Json | undefined, schema: StructuralSchema | undefined): unknown {
  if (value === undefined || value === null) return value ?? null;
  if (typeof value === 'number') {
    const integer = schema?.type === 'integer' || schema?.['x-kubernetes-int-or-string'] === true || (schema?.type === undefined && Number.isInteger(value));
    return integer && Number.isInteger(value) ? BigInt(value) : value;
  }
  if (Array.isArray(value)) return value.map((v) => toCel(v, schema?.items));
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const child = schema?.properties?.[k] ?? (typeof schema?.additionalProperties === 'object' ? schema.additionalProperties : undefined);
      out[k] = toCel(v, child);
    }
    return out;
  }
  return value;
}

export interface RuleOutcome {
  ok: boolean;
  /** Set when the rule failed with a messageExpression that evaluated to a string. */
  message?: string;
  error?: string;
}

export function evaluateRule(
  rule: { rule: string; messageExpression?: string },
  self: Json | undefined,
  oldSelf: Json | undefined,
  schema: StructuralSchema,
): RuleOutcome {
  const context: Record<string, unknown> = { self: toCel(self, schema) };
  if (oldSelf !== undefined) context.oldSelf = toCel(oldSelf, schema);
  try {
    const result = compileRule(rule.rule)(context);
    if (result === true) return { ok: true };
    if (result !== false) return { ok: false, error: `rule did not evaluate to a bool: ${rule.rule}` };
    if (rule.messageExpression) {
      try {
        const m = compileRule(rule.messageExpression)(context);
        if (typeof m === 'string' && m.trim() !== '') return { ok: false, message: m };
      } catch {
        // a failing messageExpression falls back to message / the rule, as the real server does
      }
    }
    return { ok: false };
  } catch (e) {
    return { ok: false, error: (e as Error).message.split('\n')[0] };
  }
}
