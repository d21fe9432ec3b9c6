import { existsSync, readFileSync } from 'node:fs';

/** package.json of the project: one level up from common/ in the sources, two from dist/common/. */
function packageJsonUrl(): URL {
  const fromSource = new URL('../package.json', import.meta.url);
  return existsSync(fromSource) ? fromSource : new URL('../../package.json', import.meta.url);
}

/** The package version, read once. */
export const gbcastVersion: string = (JSON.parse(readFileSync(packageJsonUrl(), 'utf8')) as { version: string }).version;
