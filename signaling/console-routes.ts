/**
 * The web console at `/`: the files `npm run build` bundles into dist/console (index.html, and
 * under assets/ one JS and one CSS file whose names carry a hash of their content).
 *
 * A small handler of our own rather than @fastify/static: three files, read once into memory with
 * a gzip copy each, are simpler than a static file server's options. index.html is revalidated on
 * every load (`no-cache` + ETag, so a new build shows at once); the hashed assets are immutable for a
 * year. Without a built bundle `/` answers a 503 page that says how to build it (checked again on
 * each request, and a new build is read when index.html changes, so building while signaling runs
 * is enough).
 *
 * The folder is <package root>/dist/console (common/package-root.ts: the same from the sources and
 * from dist/).
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { packageRoot } from '../common/package-root.ts';

export interface ConsoleOptions {
  /** The built console; default <package root>/dist/console. */
  dir?: string;
}

interface Asset {
  body: Buffer;
  gzip: Buffer | undefined;
  type: string;
  etag: string;
  cacheControl: string;
}

const types: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.json': 'application/json',
};

export function defaultConsoleDir(): string {
  return path.join(packageRoot, 'dist', 'console');
}

function load(dir: string): Map<string, Asset> | undefined {
  const index = path.join(dir, 'index.html');
  if (!existsSync(index)) return undefined;
  const files = new Map<string, Asset>();
  const add = (urlPath: string, file: string, immutable: boolean) => {
    const body = readFileSync(file);
    const type = types[path.extname(file)] ?? 'application/octet-stream';
    const compressible = /^(text\/|application\/json|image\/svg)/.test(type) && body.length > 1024;
    files.set(urlPath, {
      body,
      gzip: compressible ? gzipSync(body, { level: 9 }) : undefined,
      type,
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
      cacheControl: immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
    });
  };
  add('/', index, false);
  const assets = path.join(dir, 'assets');
  if (existsSync(assets)) {
    for (const name of readdirSync(assets)) {
      const file = path.join(assets, name);
      // Built names carry a content hash (app-3FQX2K7L.js); anything else is revalidated.
      if (statSync(file).isFile()) add(`/assets/${name}`, file, /-[A-Z0-9]{8,}\.[a-z]+$/.test(name));
    }
  }
  return files;
}

const notBuilt = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>gbcast console: not built</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:40em;margin:4em auto;padding:0 1em}code{background:#8882;padding:.1em .3em;border-radius:3px}</style></head>
<body><h1>The console is not built</h1>
<p>This signaling server found no console bundle in <code>dist/console</code>. Build it with <code>npm run build</code> (it bundles <code>console/</code> with esbuild) and reload this page.</p>
<p>The API works without it: <a href="/openapi.json">/openapi.json</a>.</p></body></html>
`;

export const consoleRoutes: FastifyPluginAsync<ConsoleOptions> = async (app, options) => {
  const dir = options.dir ?? defaultConsoleDir();
  const index = path.join(dir, 'index.html');
  const builtAt = () => {
    try {
      return statSync(index).mtimeMs;
    } catch {
      return undefined;
    }
  };
  let loadedAt = builtAt();
  let files = load(dir);
  /** The files; read again when index.html changed (a new build while signaling runs). */
  const current = (check: boolean) => {
    if (check || !files) {
      const at = builtAt();
      if (at !== loadedAt || !files) {
        loadedAt = at;
        files = load(dir);
      }
    }
    return files;
  };

  const send = (req: FastifyRequest, reply: FastifyReply, asset: Asset) => {
    reply.header('content-type', asset.type).header('etag', asset.etag).header('cache-control', asset.cacheControl).header('vary', 'accept-encoding');
    reply.header('x-content-type-options', 'nosniff');
    if (asset.type.startsWith('text/html')) reply.header('x-frame-options', 'DENY').header('referrer-policy', 'no-referrer');
    const match = req.headers['if-none-match'];
    if (match && match.split(',').some((tag) => tag.trim().replace(/^W\//, '') === asset.etag)) return reply.code(304).send();
    const gzip = asset.gzip && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    if (gzip) reply.header('content-encoding', 'gzip');
    return reply.send(gzip ? asset.gzip : asset.body);
  };

  app.get('/', { schema: { hide: true } }, async (req, reply) => {
    const asset = current(true)?.get('/');
    if (!asset) return reply.code(503).header('content-type', 'text/html; charset=utf-8').header('cache-control', 'no-store').send(notBuilt);
    return send(req, reply, asset);
  });

  app.get<{ Params: { file: string } }>('/assets/:file', { schema: { hide: true } }, async (req, reply) => {
    const built = current(false);
    if (!built) return reply.code(503).header('cache-control', 'no-store').send({ error: 'the console is not built (npm run build)', reason: 'console-not-built' });
    const asset = built.get(`/assets/${req.params.file}`);
    if (!asset) return reply.code(404).send({ error: 'no such console file', reason: 'not-found' });
    return send(req, reply, asset);
  });
};
