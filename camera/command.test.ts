/**
 * `gbcast camera` as a user runs it: flags, configuration errors, and a real process that registers
 * with the in-test platform, answers a catalog query and unregisters on SIGTERM.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { ConfigError, parseConfig } from '../common/config.ts';
import type { CatalogMessage } from '../common/manscdp/messages.ts';
import { repoRoot } from '../test/support/fixtures.ts';
import { joinRepeatedFlag } from './command.ts';
import { cameraOptions } from './config.ts';
import { MiniPlatform, PLATFORM_ID, waitFor } from './testing/mini-platform.ts';

test('repeated --quirk flags are joined', () => {
  assert.deepEqual(joinRepeatedFlag(['--quirk', 'ssrc0', '--count', '2', '--quirk=no-y,no-psm'], 'quirk'), ['--count', '2', '--quirk=ssrc0,no-y,no-psm']);
  assert.deepEqual(joinRepeatedFlag(['--count', '2'], 'quirk'), ['--count', '2']);
});

test('configuration: defaults, and every problem reported at once', () => {
  const c = parseConfig(cameraOptions, ['--server', `sip:${PLATFORM_ID}@10.0.0.1`, '--password', 'x'], {});
  assert.equal(c.deviceId, '34020000001320000001');
  assert.equal(c.transport, 'udp');
  assert.equal(c.loop, true);
  assert.equal(c.keepaliveIntervalS, 60);
  assert.throws(
    () => parseConfig(cameraOptions, ['--server', 'nonsense', '--device-id', '123', '--quirk', 'ssrc0,bogus', '--transport', 'sctp'], {}),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      const text = err.problems.join('\n');
      for (const what of ['--server', '--device-id', 'bogus', '--transport', '--password']) assert.ok(text.includes(what), `${what} in:\n${text}`);
      return true;
    },
  );
});

function runCli(args: string[]): { child: ReturnType<typeof spawn>; output: () => string } {
  // Options come from the flags only: no GBCAST_* variable of the caller's environment.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GBCAST_')));
  const child = spawn(process.execPath, ['cli/main.ts', 'camera', ...args], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  child.stderr?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  return { child, output: () => out };
}

test('gbcast camera: bad flags exit 2 with the problems', async () => {
  const { child, output } = runCli(['--server', 'nonsense', '--password', 'x', '--audio', 'pcma']);
  const [code] = await once(child, 'exit');
  assert.equal(code, 2);
  assert.match(output(), /--server: expected sip:SERVER_ID@HOST/);
  const missing = runCli(['--server', `sip:${PLATFORM_ID}@127.0.0.1`, '--password', 'x']);
  assert.equal((await once(missing.child, 'exit'))[0], 2);
  assert.match(missing.output(), /nothing to stream/);
});

test('gbcast camera: two devices register, answer a catalog, keep alive and unregister on SIGTERM', async () => {
  const platform = await MiniPlatform.start({ password: 'pw-1', qop: true });
  const { child, output } = runCli([
    '--server', `sip:${PLATFORM_ID}@127.0.0.1:${platform.port}`,
    '--password', 'pw-1',
    '--count', '2',
    '--channels', '3',
    '--audio', 'pcma',
    '--transport', 'tcp',
    '--local-address', '127.0.0.1',
    '--keepalive-interval-s', '0.2',
    '--quirk', 'ssrc0', '--quirk', 'no-y',
    '--log-level', 'warn',
  ]);
  try {
    await waitFor('two devices registered', () => platform.devices.size === 2 || undefined, 8000).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}\n${output()}`);
    });
    const { sn } = await platform.query('34020000001320000002', 'Catalog');
    const page = await waitFor('catalog', () => platform.messages.find((m) => m.message.kind === 'catalog' && m.message.sn === sn));
    assert.deepEqual((page.message as CatalogMessage).items.map((i) => i.deviceId), ['34020000001310000004', '34020000001310000005', '34020000001310000006']);
    await waitFor('keepalives from both', () => new Set(platform.messages.filter((m) => m.message.kind === 'keepalive').map((m) => m.from)).size === 2 || undefined);
    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    assert.equal(code, 0, output());
    assert.equal(platform.devices.size, 0, 'both unregistered');
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    await platform.close();
  }
});
