#!/usr/bin/env node
// Entry point. Runs the compiled JavaScript in dist/ (`npm run build`) when it is there, else the
// TypeScript sources through Node 24's type stripping (development). Older Node gets a clear
// message instead of a syntax error deep in an import.
import { existsSync } from 'node:fs';

const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stderr.write(
    `gbcast needs Node.js 24 or newer (this is ${process.version}). ` +
      'Run it through npm (npm start, npx gbcast) to use the pinned Node from node_modules.\n',
  );
  process.exit(1);
}
const compiled = new URL('../dist/cli/main.js', import.meta.url);
await import(existsSync(compiled) && !process.env.GBCAST_FROM_SOURCE ? compiled.href : '../cli/main.ts');
