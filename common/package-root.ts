import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The project's root folder: one level up from common/ in the sources, two from dist/common/. */
export const packageRoot: string = fileURLToPath(
  existsSync(new URL('../package.json', import.meta.url)) ? new URL('../', import.meta.url) : new URL('../../', import.meta.url),
);
