/**
 * The container images (Dockerfile.signaling, Dockerfile.streamer, Dockerfile.operator), built with
 * podman by scripts/images/build.sh: each starts as its non-root user, answers /healthz, and stops
 * cleanly (exit code 0) on SIGTERM before podman's 10 s grace runs out (a SIGKILL would be 137).
 * Signaling and the operator get a real redis-server, the operator the fake Kubernetes API server
 * through a mounted kubeconfig; the containers use the host network to reach them.
 *
 * Needs podman (scripts/images/ has the configuration this machine needs) and GBCAST_IMAGE_TESTS=1:
 * scripts/test.sh builds the images first and sets it, unless GBCAST_SKIP_IMAGES is set (a cold
 * build makes the base image and runs npm ci: minutes of downloads).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { freePort } from './support/ports.ts';
import { startRedisServer, type RedisServer } from './support/redis-server.ts';
import { startKubeWithCrds, testNamespace } from './support/operator.ts';
import type { FakeKube } from './support/fake-kube/index.ts';
import { waitFor } from './support/wait.ts';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
const env = { ...process.env, CONTAINERS_CONF: path.join(root, 'scripts/images/containers.conf') };
const tag = process.env.GBCAST_IMAGE_TAG ?? 'test';
const enabled = Boolean(process.env.GBCAST_IMAGE_TESTS);

async function podman(...args: string[]): Promise<string> {
  const { stdout } = await run('podman', args, { env, maxBuffer: 16 * 1024 * 1024 });
  return stdout.trim();
}

/** Runs `image` detached on the host network; returns the container's name. */
async function startContainer(image: string, args: string[], extra: string[] = []): Promise<string> {
  const name = `gbcast-test-${image}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  await podman('run', '-d', '--name', name, '--network', 'host', ...extra, `localhost/gbcast-${image}:${tag}`, ...args);
  return name;
}

async function healthy(port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(1000) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

async function logsOf(name: string): Promise<string> {
  try {
    const { stdout, stderr } = await run('podman', ['logs', name], { env, maxBuffer: 16 * 1024 * 1024 });
    return `${stdout}${stderr}`.split('\n').slice(-40).join('\n');
  } catch (err) {
    return `(no logs: ${(err as Error).message})`;
  }
}

/** Waits for /healthz, then `podman stop -t 10` (SIGTERM, SIGKILL after 10 s) and checks the exit. */
async function checkStartAndStop(name: string, httpPort: number): Promise<void> {
  try {
    await waitFor(`${name} /healthz`, async () => (await healthy(httpPort)) || (await podman('inspect', '--format', '{{.State.Running}}', name)) === 'false' || false, 60_000, 200);
    const running = await podman('inspect', '--format', '{{.State.Running}}', name);
    assert.equal(running, 'true', `${name} exited before answering /healthz:\n${await logsOf(name)}`);
    assert.equal(await healthy(httpPort), true);
    assert.equal(await podman('inspect', '--format', '{{.Config.User}}', name), '10001:10001');
    await podman('stop', '-t', '10', name);
    const exitCode = await podman('inspect', '--format', '{{.State.ExitCode}}', name);
    assert.equal(exitCode, '0', `${name} did not exit cleanly on SIGTERM (137: killed after 10 s):\n${await logsOf(name)}`);
    const logs = await logsOf(name);
    assert.match(logs, /shutting down/, 'the process logged its SIGTERM handling');
  } finally {
    await podman('rm', '-f', '-t', '0', name).catch(() => undefined);
  }
}

describe('container images', { skip: enabled ? false : 'set GBCAST_IMAGE_TESTS=1 to build and run the images with podman' }, () => {
  let redis: RedisServer;
  let kube: FakeKube;
  let dir: string;

  before(async () => {
    // Builds (or finds cached) all three images; a cold build takes minutes.
    await new Promise<void>((resolve, reject) => {
      const child = spawn('bash', ['scripts/images/build.sh'], { cwd: root, env, stdio: ['ignore', 'inherit', 'inherit'] });
      child.once('error', reject);
      child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`scripts/images/build.sh exited with ${code}`))));
    });
    redis = await startRedisServer();
    ({ kube } = await startKubeWithCrds());
    dir = await mkdtemp(path.join(tmpdir(), 'gbcast-images-'));
  }, { timeout: 20 * 60_000 });

  after(async () => {
    await kube?.stop();
    await redis?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('signaling starts, answers /healthz and stops on SIGTERM', async () => {
    const [httpPort, sipPort] = [await freePort(), await freePort()];
    const name = await startContainer('signaling', [
      'signaling', `--redis-url=${redis.url}`, `--http-port=${httpPort}`, `--sip-port=${sipPort}`, '--http-host=127.0.0.1', '--sip-host=127.0.0.1',
    ]);
    await checkStartAndStop(name, httpPort);
  });

  it('the streamer starts standalone, answers /healthz and stops on SIGTERM', async () => {
    const [httpPort, rtpPort] = [await freePort(), await freePort()];
    const name = await startContainer('streamer', [
      'streamer', `--http-port=${httpPort}`, `--rtp-port=${rtpPort}`, '--http-host=127.0.0.1', '--rtp-host=127.0.0.1',
    ]);
    await checkStartAndStop(name, httpPort);
  });

  it('the operator starts against a Kubernetes API, answers /healthz and stops on SIGTERM', async () => {
    const kubeconfig = path.join(dir, 'kubeconfig');
    await writeFile(kubeconfig, kube.kubeConfig().exportConfig());
    await chmod(kubeconfig, 0o644); // the container's user (uid 10001) reads it through the bind mount
    const httpPort = await freePort();
    const name = await startContainer('operator', [
      'operator', `--redis-url=${redis.url}`, `--http-port=${httpPort}`, '--http-host=127.0.0.1', `--namespace=${testNamespace}`, '--lease-namespace=default',
    ], ['-v', `${kubeconfig}:/etc/gbcast/kubeconfig:ro`, '-e', 'KUBECONFIG=/etc/gbcast/kubeconfig']);
    await checkStartAndStop(name, httpPort);
  });
});
