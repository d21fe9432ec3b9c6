import { test } from 'node:test';
import assert from 'node:assert/strict';
import { retryDelayMs } from './always-on.ts';

test('retryDelayMs: none before a failure, then the base doubling per failure in a row, capped', () => {
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 100].map((n) => retryDelayMs(n, 1000, 60_000)),
    [0, 1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000, 60_000],
  );
});
