import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseUdpDrops, readUdpDrops } from './udp-kernel-drops.ts';
import { UdpBatchSocket } from './udp-batch-socket.ts';
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
  const socket = UdpBatchSocket.open('127.0.0.1', 0, 65536, 0, () => undefined);
  const sender = dgram.createSocket('udp4');
  try {
    assert.equal(readUdpDrops(socket.port), 0);
    const payload = Buffer.alloc(1400);
    // Queued in one turn of the loop and flushed by libuv before the receiver gets its turn.
    for (let i = 0; i < 2000; i++) sender.send(payload, socket.port, '127.0.0.1');
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(readUdpDrops(socket.port) > 0, 'the kernel counted drops');
  } finally {
    sender.close();
    socket.close();
  }
  assert.equal(readUdpDrops(0), 0);
  assert.equal(readUdpDrops(10000, '/nonexistent'), 0);
});
