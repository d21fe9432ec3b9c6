import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { configurationDocs } from '../scripts/config-docs.ts';
import { repoRoot } from './support/fixtures.ts';

test('docs/configuration.md matches the options in the code (regenerate: node scripts/config-docs.ts > docs/configuration.md)', () => {
  assert.equal(readFileSync(`${repoRoot}docs/configuration.md`, 'utf8'), configurationDocs());
});
