import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** The repository root (the folder holding package.json). */
export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Absolute path of a file in the shared fixtures folder, which sits beside the repository
 * (`<repo>/../shared/fixtures`) in development and CI. GBCAST_FIXTURES overrides it.
 */
export function fixturePath(name: string): string {
  const dir = process.env.GBCAST_FIXTURES ?? path.resolve(repoRoot, '..', 'shared', 'fixtures');
  return path.join(dir, name);
}
