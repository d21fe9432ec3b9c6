import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseUdpDrops, readUdpDrops } from './udp-kernel-drops.ts';
import { Worker } from 'node:worker_threads';
import dgram from 'node:dgram';

const sample = `   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
 1043: 00000000:2710 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 55512 2 0000000000000000 17
 1044: 0100007F:2710 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 55513 2 0000000000000000 3
 2000: 00000000:2711 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 55514 2 0000000000000000 99
`;

test('drops are summed over the sockets of the port, other ports ignored', () => {
  assert.equal(parseUdpDrops(sample, 10000), 20);
  assert.equal(parseUdpDrops(sample, 10001), 99);
  assert.equal(parseUdpDrops(sample, 10002), 0);
  assert.equal(parseUdpDrops('garbage\n\n', 10000), 0);
});

test('datagrams beyond a small receive buffer are dropped by the kernel, and the count shows it', async () => {
  const socket = dgram.createSocket({ type: 'udp4', recvBufferSize: 65536 });
  socket.on('message', () => undefined);
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  const port = socket.address().port;
  try {
    assert.equal(readUdpDrops(port), 0);
    // A worker floods the socket while this thread is too busy to read it.
    const worker = new Worker(
      `const dgram = require('node:dgram'); const { workerData, parentPort } = require('node:worker_threads');
       const s = dgram.createSocket('udp4'); const payload = Buffer.alloc(1400); let left = 2000;
       const next = () => { if (left-- === 0) { s.close(); parentPort.postMessage('done'); return; } s.send(payload, workerData, '127.0.0.1', next); };
       next();`,
      { eval: true, workerData: port },
    );
    const done = new Promise((r) => worker.once('message', r));
    const until = Date.now() + 2000;
    let finished = false;
    void done.then(() => (finished = true));
    while (!finished && Date.now() < until) await new Promise((r) => setImmediate(r)).then(() => busy(50));
    await done;
    await worker.terminate();
    assert.ok(readUdpDrops(port) > 0, 'the kernel counted drops');
  } finally {
    socket.close();
  }
  assert.equal(readUdpDrops(0), 0);
  assert.equal(readUdpDrops(10000, '/nonexistent'), 0);
});

/** Keeps this thread busy (not reading its sockets) for `ms`. */
function busy(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end);
}
