#!/usr/bin/env node
// Entry point. The sources are TypeScript run by Node 24's built-in type stripping, so refuse older
// Node with a clear message instead of a syntax error deep in an import.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stderr.write(
    `gbcast needs Node.js 24 or newer (this is ${process.version}). ` +
      'Run it through npm (npm start, npx gbcast) to use the pinned Node from node_modules.\n',
  );
  process.exit(1);
}
await import('../cli/main.ts');
