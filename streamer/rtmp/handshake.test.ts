import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { ClientHandshake, HANDSHAKE_SIZE, HandshakeError } from './handshake.ts';

/** A server that does its half of the handshake and reports what the client sent. */
async function withServer(
  serve: (sock: net.Socket, readExactly: (n: number) => Promise<Buffer>) => Promise<void>,
  client: (port: number) => Promise<void>,
): Promise<void> {
  let serverDone: Promise<void> = Promise.resolve();
  const server = net.createServer((sock) => {
    let buffered = Buffer.alloc(0);
    let waiter: (() => void) | null = null;
    sock.on('data', (d) => {
      buffered = Buffer.concat([buffered, d]);
      waiter?.();
    });
    const readExactly = async (n: number): Promise<Buffer> => {
      while (buffered.length < n) await new Promise<void>((r) => (waiter = r));
      const out = buffered.subarray(0, n);
      buffered = buffered.subarray(n);
      return out;
    };
    serverDone = serve(sock, readExactly).finally(() => sock.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    await client((server.address() as net.AddressInfo).port);
    await serverDone;
  } finally {
    server.close();
  }
}

/** Runs the client handshake over a socket; resolves with the bytes that followed S2 once the server closes. */
function runClient(port: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const hs = new ClientHandshake(12345);
    let rest: Buffer | null = null;
    const sock = net.connect(port, '127.0.0.1', () => sock.write(hs.c0c1));
    sock.on('end', () => (rest ? resolve(rest) : reject(new Error('closed during the handshake'))));
    sock.on('data', (d) => {
      try {
        if (rest) {
          rest = Buffer.concat([rest, d]);
          return;
        }
        const step = hs.push(d);
        if (step.c2) sock.write(step.c2);
        if (step.done) rest = step.rest ?? Buffer.alloc(0);
      } catch (err) {
        reject(err);
        sock.destroy();
      }
    });
    sock.on('error', reject);
  });
}

test('completes the simple handshake with a server and keeps the bytes after S2', async () => {
  const s1 = randomBytes(HANDSHAKE_SIZE);
  const seen: { c1?: Buffer; c2?: Buffer } = {};
  await withServer(
    async (sock, readExactly) => {
      const c0c1 = await readExactly(1 + HANDSHAKE_SIZE);
      assert.equal(c0c1[0], 3);
      const c1 = Buffer.from(c0c1.subarray(1));
      seen.c1 = c1;
      // S0, S1, S2 (echo of C1) and the start of the chunk stream, in awkward pieces
      const all = Buffer.concat([Buffer.of(3), s1, c1, Buffer.from('chunks')]);
      let from = 0;
      for (const cut of [1, 700, 1537, 1538, 3000]) {
        sock.write(all.subarray(from, cut));
        from = cut;
        await new Promise((r) => setTimeout(r, 5));
      }
      sock.write(all.subarray(3000)); // the end of S2 and the first chunk bytes together
      seen.c2 = await readExactly(HANDSHAKE_SIZE);
    },
    async (port) => {
      const rest = await runClient(port);
      assert.equal(rest.toString(), 'chunks');
    },
  );
  assert.ok(seen.c1 && seen.c2);
  assert.equal(seen.c1.readUInt32BE(0), 12345, 'C1 time');
  assert.equal(seen.c1.readUInt32BE(4), 0, 'C1 zero field (simple handshake)');
  assert.deepEqual(seen.c2, s1, 'C2 echoes S1');
});

test('the handshake yields the same result whatever the split of S0S1S2', () => {
  const s0s1s2 = Buffer.concat([Buffer.of(3), randomBytes(2 * HANDSHAKE_SIZE), Buffer.from('xyz')]);
  for (const step of [1, 7, 1536, 1537, 4000]) {
    const hs = new ClientHandshake();
    let c2: Buffer | undefined;
    let rest = Buffer.alloc(0);
    let done = false;
    for (let i = 0; i < s0s1s2.length; i += step) {
      const r = hs.push(s0s1s2.subarray(i, i + step));
      if (r.c2) {
        assert.equal(c2, undefined, 'C2 is produced once');
        c2 = r.c2;
      }
      if (r.done) {
        done = true;
        rest = Buffer.concat([rest, r.rest ?? Buffer.alloc(0)]);
      }
    }
    assert.ok(done);
    assert.deepEqual(c2, s0s1s2.subarray(1, 1 + HANDSHAKE_SIZE));
    assert.equal(rest.toString(), 'xyz');
  }
});

test('a server answering with another version fails the handshake', async () => {
  await withServer(
    async (sock, readExactly) => {
      await readExactly(1 + HANDSHAKE_SIZE);
      sock.write(Buffer.concat([Buffer.of(6), Buffer.alloc(HANDSHAKE_SIZE)]));
      await new Promise((r) => setTimeout(r, 20));
    },
    async (port) => {
      await assert.rejects(runClient(port), (e: unknown) => e instanceof HandshakeError && /version 6/.test(e.message));
    },
  );
});
