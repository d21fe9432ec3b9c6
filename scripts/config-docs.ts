/**
 * docs/configuration.md, generated from the option declarations so it cannot drift:
 *   node scripts/config-docs.ts > docs/configuration.md
 * A test (test/config-docs.test.ts) fails when the committed file differs from this output.
 */
import { envName, flagName, type OptionSpec } from '../common/config.ts';
import { streamerOptions } from '../streamer/config.ts';
import { cameraOptions } from '../camera/config.ts';
import { signalingOptions } from '../signaling/config.ts';
import { allOptions } from '../all/config.ts';
import { operatorOptions } from '../operator/config.ts';

/** The options of `gbcast all` that are its own (not the same declaration as signaling's or the streamer's). */
function ownOptions(spec: OptionSpec, ...parts: OptionSpec[]): OptionSpec {
  const inherited = new Set(parts.flatMap((p) => Object.values(p)));
  return Object.fromEntries(Object.entries(spec).filter(([, o]) => !inherited.has(o)));
}

function table(spec: OptionSpec): string {
  const rows = ['| flag | environment | default | what it does |', '|---|---|---|---|'];
  for (const [key, o] of Object.entries(spec)) {
    const choices = o.kind === 'string' && o.choices ? ` (${o.choices.join(', ')})` : '';
    const def = o.defaultText ?? (o.default !== undefined ? `\`${String(o.default)}\`` : o.required ? 'required' : 'unset');
    rows.push(`| \`--${flagName(key)}\` | \`${envName(key)}\` | ${def} | ${o.help.replace(/\|/g, '\\|')}${choices} |`);
  }
  return rows.join('\n');
}

export function configurationDocs(): string {
  return [
    '# Configuration',
    '',
    'Generated from the code by `node scripts/config-docs.ts`; do not edit by hand.',
    'Every option is a flag and an environment variable; a flag wins over the environment.',
    'Invalid values stop the process at start with every problem listed.',
    '',
    '## gbcast all',
    '',
    'Takes every option of `gbcast signaling` and `gbcast streamer` below (one `--log-level`, `--http-host`,',
    '`--redis-prefix` for both), with these of its own or changed:',
    '',
    table(ownOptions(allOptions, signalingOptions, streamerOptions)),
    '',
    '## gbcast streamer',
    '',
    table(streamerOptions),
    '',
    '## gbcast signaling',
    '',
    table(signalingOptions),
    '',
    '## gbcast operator',
    '',
    table(operatorOptions),
    '',
    '## gbcast camera',
    '',
    table(cameraOptions),
    '',
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) process.stdout.write(configurationDocs());
