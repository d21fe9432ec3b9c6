/**
 * Label selectors (equality- and set-based: `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`,
 * `!a`) and field selectors (`f=v`, `f==v`, `f!=v`), comma-separated and ANDed, as list and watch take
 * them in the query string.
 */
import { badRequest } from './status.ts';

export interface LabelRequirement {
  key: string;
  op: 'in' | 'notin' | 'exists' | '!';
  values: string[];
}

export type LabelSelector = LabelRequirement[];

const keyPattern = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const valuePattern = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** Splits on commas that are not inside parentheses. */
function splitTop(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((p) => p.trim()).filter((p) => p !== '');
}

function checkKey(key: string, whole: string): void {
  if (!keyPattern.test(key) || key.length > 317) throw badRequest(`unable to parse requirement: invalid label key "${key}" in "${whole}"`);
}

function checkValue(value: string, whole: string): void {
  if (!valuePattern.test(value) || value.length > 63) throw badRequest(`unable to parse requirement: invalid label value: "${value}" in "${whole}"`);
}

export function parseLabelSelector(text: string | null | undefined): LabelSelector {
  if (!text) return [];
  const reqs: LabelSelector = [];
  for (const part of splitTop(text)) {
    let m: RegExpMatchArray | null;
    if ((m = part.match(/^!\s*([^\s=!(),]+)$/))) {
      checkKey(m[1], text);
      reqs.push({ key: m[1], op: '!', values: [] });
    } else if ((m = part.match(/^([^\s=!(),]+)\s+(in|notin)\s*\(([^)]*)\)$/))) {
      checkKey(m[1], text);
      const values = m[3].split(',').map((v) => v.trim());
      values.forEach((v) => checkValue(v, text));
      reqs.push({ key: m[1], op: m[2] as 'in' | 'notin', values });
    } else if ((m = part.match(/^([^\s=!(),]+)\s*(==|=|!=)\s*([^\s=!(),]*)$/))) {
      checkKey(m[1], text);
      checkValue(m[3], text);
      reqs.push({ key: m[1], op: m[2] === '!=' ? 'notin' : 'in', values: [m[3]] });
    } else if ((m = part.match(/^([^\s=!(),]+)$/))) {
      checkKey(m[1], text);
      reqs.push({ key: m[1], op: 'exists', values: [] });
    } else {
      throw badRequest(`unable to parse requirement: found '${part}', expected: identifier, in, notin, =, ==, !=`);
    }
  }
  return reqs;
}

export function matchLabels(selector: LabelSelector, labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  return selector.every((r) => {
    const has = Object.hasOwn(l, r.key);
    switch (r.op) {
      case 'exists':
        return has;
      case '!':
        return !has;
      case 'in':
        return has && r.values.includes(l[r.key]);
      case 'notin':
        return !has || !r.values.includes(l[r.key]);
    }
    return false;
  });
}

/** A metav1.LabelSelector (matchLabels / matchExpressions), as in a Scale's selector. */
export function labelSelectorToString(sel: { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] }): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) parts.push(`${k}=${v}`);
  for (const e of sel.matchExpressions ?? []) {
    if (e.operator === 'In') parts.push(`${e.key} in (${(e.values ?? []).join(',')})`);
    else if (e.operator === 'NotIn') parts.push(`${e.key} notin (${(e.values ?? []).join(',')})`);
    else if (e.operator === 'Exists') parts.push(e.key);
    else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`);
  }
  return parts.join(',');
}

export interface FieldRequirement {
  field: string;
  negate: boolean;
  value: string;
}

export type FieldSelector = FieldRequirement[];

/** Parses a field selector, rejecting fields the resource does not support (400, as the real server). */
export function parseFieldSelector(text: string | null | undefined, supported: (field: string) => boolean): FieldSelector {
  if (!text) return [];
  const reqs: FieldSelector = [];
  for (const part of splitTop(text)) {
    const m = part.match(/^([^=!]+?)\s*(==|=|!=)\s*(.*)$/);
    if (!m) throw badRequest(`invalid selector: '${text}'; can't understand '${part}'`);
    const field = m[1].trim();
    if (!supported(field)) throw badRequest(`field label not supported: ${field}`);
    reqs.push({ field, negate: m[2] === '!=', value: m[3].trim() });
  }
  return reqs;
}

export function matchFields(selector: FieldSelector, valueOf: (field: string) => string | undefined): boolean {
  return selector.every((r) => {
    const v = valueOf(r.field) ?? '';
    return r.negate ? v !== r.value : v === r.value;
  });
}
