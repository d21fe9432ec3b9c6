/**
 * Command-line and environment configuration.
 *
 * Each part declares its options once (name, type, default, help); every option is then both a flag
 * (`--rtp-port 10000` or `--rtp-port=10000`) and an environment variable (`GBCAST_RTP_PORT`).
 * Flags win over the environment, the environment over defaults. All problems are collected and
 * reported together, so a misconfigured pod says everything wrong in one log line.
 */

export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.problems = problems;
  }
}

interface BaseOption<T> {
  readonly kind: 'string' | 'int' | 'number' | 'boolean';
  readonly help: string;
  readonly default?: T;
  /** Shown in help and the docs instead of the literal default (e.g. "the host name"). */
  readonly defaultText?: string;
  readonly required?: boolean;
  /** Extra validation: return a problem description, or undefined when the value is fine. */
  readonly check?: (value: T) => string | undefined;
  /** Hide the value in logs (passwords, tokens). */
  readonly secret?: boolean;
}

export interface StringOption<T extends string = string> extends BaseOption<T> {
  readonly kind: 'string';
  readonly choices?: readonly T[];
}
export interface IntOption extends BaseOption<number> {
  readonly kind: 'int';
  readonly min?: number;
  readonly max?: number;
}
export interface NumberOption extends BaseOption<number> {
  readonly kind: 'number';
  readonly min?: number;
  readonly max?: number;
}
export type BooleanOption = BaseOption<boolean> & { readonly kind: 'boolean' };

export type Option = StringOption | IntOption | NumberOption | BooleanOption;
export type OptionSpec = Record<string, Option>;

type ValueOf<O> = O extends { kind: 'string'; choices: readonly (infer C)[] }
  ? C
  : O extends { kind: 'string' }
    ? string
    : O extends { kind: 'int' | 'number' }
      ? number
      : O extends { kind: 'boolean' }
        ? boolean
        : never;

type HasValue<O> = O extends { required: true } ? true : O extends { default: unknown } ? true : false;

/** The parsed configuration: options with a default or `required` are always present. */
export type ConfigOf<S extends OptionSpec> = {
  readonly [K in keyof S as HasValue<S[K]> extends true ? K : never]: ValueOf<S[K]>;
} & {
  readonly [K in keyof S as HasValue<S[K]> extends true ? never : K]?: ValueOf<S[K]>;
};

export const opt = {
  string<const O extends Omit<StringOption, 'kind'>>(o: O): O & { kind: 'string' } {
    return { kind: 'string', ...o };
  },
  int<const O extends Omit<IntOption, 'kind'>>(o: O): O & { kind: 'int' } {
    return { kind: 'int', ...o };
  },
  number<const O extends Omit<NumberOption, 'kind'>>(o: O): O & { kind: 'number' } {
    return { kind: 'number', ...o };
  },
  boolean<const O extends Omit<BooleanOption, 'kind'>>(o: O): O & { kind: 'boolean' } {
    return { kind: 'boolean', ...o };
  },
};

/** `rtpPort` → `rtp-port`. */
export function flagName(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** `rtpPort` → `GBCAST_RTP_PORT`. */
export function envName(key: string): string {
  return `GBCAST_${flagName(key).replace(/-/g, '_').toUpperCase()}`;
}

export interface ParsedArgs {
  readonly values: ReadonlyMap<string, string | true>;
  readonly positionals: readonly string[];
}

/** Splits argv into `--name value`, `--name=value`, bare `--flag` (true) and positionals. */
export function splitArgs(argv: readonly string[], booleanFlags: ReadonlySet<string>): ParsedArgs {
  const values = new Map<string, string | true>();
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('--')) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    if (eq > 0) {
      values.set(arg.slice(2, eq), arg.slice(eq + 1));
    } else {
      const name = arg.slice(2);
      const next = argv[i + 1];
      if (booleanFlags.has(name) || name.startsWith('no-') || next === undefined || next.startsWith('--')) {
        values.set(name, true);
      } else {
        values.set(name, next);
        i++;
      }
    }
  }
  return { values, positionals };
}

function convert(key: string, o: Option, raw: string | true, source: string, problems: string[]): unknown {
  const where = `${source} (${o.help.split('.')[0]})`;
  switch (o.kind) {
    case 'boolean': {
      if (raw === true) return true;
      const v = raw.toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(v)) return true;
      if (['0', 'false', 'no', 'off', ''].includes(v)) return false;
      problems.push(`${where}: expected true or false, got "${raw}"`);
      return undefined;
    }
    case 'int':
    case 'number': {
      if (raw === true) {
        problems.push(`${where}: needs a value`);
        return undefined;
      }
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(n) || (o.kind === 'int' && !Number.isInteger(n))) {
        problems.push(`${where}: expected ${o.kind === 'int' ? 'an integer' : 'a number'}, got "${raw}"`);
        return undefined;
      }
      if (o.min !== undefined && n < o.min) problems.push(`${where}: must be at least ${o.min}, got ${n}`);
      if (o.max !== undefined && n > o.max) problems.push(`${where}: must be at most ${o.max}, got ${n}`);
      return n;
    }
    case 'string': {
      if (raw === true) {
        problems.push(`${where}: needs a value`);
        return undefined;
      }
      if (o.choices && !o.choices.includes(raw)) {
        problems.push(`${where}: must be one of ${o.choices.join(', ')}, got "${raw}"`);
        return undefined;
      }
      return raw;
    }
  }
  void key;
}

/**
 * Reads every option of `spec` from argv and env. Unknown flags are an error (a typo must not
 * silently fall back to a default). Throws ConfigError listing every problem.
 */
export function parseConfig<S extends OptionSpec>(
  spec: S,
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): ConfigOf<S> {
  const booleans = new Set(
    Object.entries(spec)
      .filter(([, o]) => o.kind === 'boolean')
      .map(([k]) => flagName(k)),
  );
  const { values, positionals } = splitArgs(argv, booleans);
  const problems: string[] = [];
  const known = new Map(Object.keys(spec).map((k) => [flagName(k), k]));
  for (const name of values.keys()) {
    const bare = name.startsWith('no-') ? name.slice(3) : name;
    if (!known.has(name) && !(booleans.has(bare) && name !== bare)) problems.push(`unknown flag --${name}`);
  }
  if (positionals.length > 0) problems.push(`unexpected argument "${positionals[0]}"`);

  const out: Record<string, unknown> = {};
  for (const [key, o] of Object.entries(spec)) {
    const flag = flagName(key);
    let value: unknown;
    if (values.has(flag)) {
      value = convert(key, o, values.get(flag)!, `--${flag}`, problems);
    } else if (o.kind === 'boolean' && values.has(`no-${flag}`)) {
      value = false;
    } else if (env[envName(key)] !== undefined) {
      value = convert(key, o, env[envName(key)]!, envName(key), problems);
    } else {
      value = o.default;
    }
    if (value === undefined && o.required) {
      problems.push(`--${flag} (${envName(key)}) is required: ${o.help}`);
    }
    if (value !== undefined && o.check) {
      const problem = (o.check as (v: unknown) => string | undefined)(value);
      if (problem) problems.push(`--${flag}: ${problem}`);
    }
    if (value !== undefined) out[key] = value;
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return out as ConfigOf<S>;
}

/** The configuration with secrets masked, for the startup log line. */
export function describeConfig(spec: OptionSpec, config: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) out[key] = spec[key]?.secret && value ? '***' : value;
  return out;
}

/** Help text for `gbcast <command> --help`, one block per option. */
export function formatHelp(command: string, summary: string, spec: OptionSpec): string {
  const lines = [`Usage: gbcast ${command} [options]`, '', summary, '', 'Options (each also an environment variable):'];
  for (const [key, o] of Object.entries(spec)) {
    const value = o.kind === 'boolean' ? '' : o.kind === 'string' && o.choices ? ` <${o.choices.join('|')}>` : ' <value>';
    const def = o.defaultText ?? (o.default !== undefined ? String(o.default) : o.required ? 'required' : 'unset');
    lines.push(`  --${flagName(key)}${value}   ${envName(key)}   (default: ${def})`, `      ${o.help}`);
  }
  return lines.join('\n');
}
