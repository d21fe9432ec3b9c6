/**
 * Bundles the web console (console/) into dist/console: index.html and, under assets/, one
 * minified JS bundle and one CSS file named by a hash of their content. Part of `npm run build`;
 * signaling serves the result at `/` (signaling/console-routes.ts).
 *
 *   node scripts/build-console.ts            production bundle
 *   node scripts/build-console.ts --dev      unminified, with inline source maps
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const outDir = path.join(root, 'dist', 'console');
const dev = process.argv.includes('--dev');

await rm(outDir, { recursive: true, force: true });
await mkdir(path.join(outDir, 'assets'), { recursive: true });

const result = await esbuild.build({
  absWorkingDir: root,
  entryPoints: { app: 'console/main.tsx' },
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['chrome109', 'firefox115', 'safari16', 'edge109'],
  minify: !dev,
  sourcemap: dev ? 'inline' : false,
  legalComments: 'eof',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  outdir: path.join(outDir, 'assets'),
  entryNames: '[name]-[hash]',
  assetNames: '[name]-[hash]',
  define: { 'process.env.NODE_ENV': JSON.stringify(dev ? 'development' : 'production') },
  metafile: true,
  logLevel: 'warning',
});

const outputs = Object.keys(result.metafile.outputs).map((file) => path.basename(file));
const js = outputs.find((f) => f.endsWith('.js'));
const css = outputs.find((f) => f.endsWith('.css'));
if (!js || !css) throw new Error(`esbuild produced no ${js ? 'CSS' : 'JS'} file: ${outputs.join(', ')}`);

const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>gbcast console</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="assets/${css}">
<script type="module" src="assets/${js}"></script>
</head>
<body>
<div id="app"></div>
<noscript>The gbcast console needs JavaScript. The API is described at <a href="openapi.json">openapi.json</a>.</noscript>
</body>
</html>
`;
await writeFile(path.join(outDir, 'index.html'), html);
const sizes = Object.entries(result.metafile.outputs).map(([file, o]) => `${path.basename(file)} ${(o.bytes / 1024).toFixed(1)} KiB`);
console.log(`console: dist/console (${sizes.join(', ')})`);
