import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { formatIPv4, parseIPv4, trimNativeHeap, UdpBatchSocket, udpBatchAvailable } from './udp-batch-socket.ts';

// The test command builds the addon (scripts/build-native.sh); a missing one is a failure here.
test('the native batch receiver is built', () => {
  assert.ok(udpBatchAvailable(), 'native/build/udp-batch.node missing: run npm run build with a C compiler');
});

async function udpSender(): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  return s;
}

function send(s: dgram.Socket, b: Buffer, port: number): Promise<void> {
  return new Promise((resolve, reject) => s.send(b, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
}

interface Got {
  data: Buffer;
  ip: string;
  port: number;
}

test('every datagram arrives whole, in batches, with its source address and port', async () => {
  const got: Got[] = [];
  let batches = 0;
  const socket = UdpBatchSocket.open('127.0.0.1', 0, 4 * 1024 * 1024, 5, (buf, count, meta) => {
    batches++;
    for (let i = 0; i < count; i++) {
      const at = meta[i * 4];
      // Views stay valid after the callback: keep one without copying.
      got.push({ data: buf.subarray(at, at + meta[i * 4 + 1]), ip: formatIPv4(meta[i * 4 + 2] >>> 0), port: meta[i * 4 + 3] });
    }
  });
  const a = await udpSender();
  const b = await udpSender();
  try {
    assert.ok(socket.port > 0);
    const sent: Got[] = [];
    const sizes = [0, 1, 12, 1400, 9000, 65507];
    for (let i = 0; i < 300; i++) {
      const from = i % 3 === 0 ? b : a;
      const data = Buffer.alloc(sizes[i % sizes.length] || (i % 7) + 1, i & 0xff);
      if (data.length >= 4) data.writeUInt32BE(i, 0);
      sent.push({ data, ip: '127.0.0.1', port: from.address().port });
      await send(from, data, socket.port);
    }
    const deadline = Date.now() + 5000;
    while (got.length < sent.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(got.length, sent.length);
    // Loopback keeps each sender's order; compare per sender.
    for (const port of [a.address().port, b.address().port]) {
      const want = sent.filter((s) => s.port === port);
      const have = got.filter((g) => g.port === port);
      assert.equal(have.length, want.length);
      for (let i = 0; i < want.length; i++) {
        assert.equal(have[i].ip, '127.0.0.1');
        assert.ok(have[i].data.equals(want[i].data), `datagram ${i} from ${port} differs`);
      }
    }
    assert.ok(batches < sent.length, `${batches} batches for ${sent.length} datagrams`);
  } finally {
    a.close();
    b.close();
    socket.close();
  }
});

test('binding a port in use fails with EADDRINUSE; close releases the port and stops delivery', async () => {
  let count = 0;
  const first = UdpBatchSocket.open('127.0.0.1', 0, 65536, 0, (_buf, n) => {
    count += n;
  });
  const port = first.port;
  assert.throws(() => UdpBatchSocket.open('127.0.0.1', port, 65536, 0, () => undefined), { code: 'EADDRINUSE' });
  first.close();
  first.close(); // twice is harmless
  const sender = await udpSender();
  await send(sender, Buffer.from('late'), port);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(count, 0);
  const again = UdpBatchSocket.open('127.0.0.1', port, 65536, 0, () => undefined);
  assert.equal(again.port, port);
  again.close();
  sender.close();
});

test('bad arguments are refused with an error, not a crash', () => {
  assert.throws(() => UdpBatchSocket.open('not-an-address', 0, 65536, 0, () => undefined), /IPv4/);
  assert.throws(() => UdpBatchSocket.open('::1', 0, 65536, 0, () => undefined), /IPv4/);
});

test('an exception thrown by the batch handler is an uncaught exception of the process, as with any callback', () => {
  // In a child process: the test runner claims uncaught exceptions of its own process.
  const module = new URL('./udp-batch-socket.ts', import.meta.url).href;
  const script = `
    import { spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
    import { UdpBatchSocket } from ${JSON.stringify(module)};
    const socket = UdpBatchSocket.open('127.0.0.1', 0, 65536, 0, () => { throw new Error('handler failed'); });
    process.on('uncaughtException', (err) => { console.log('caught:' + err.message); process.exit(3); });
    dgram.createSocket('udp4').send(Buffer.from('x'), socket.port, '127.0.0.1');
    setTimeout(() => process.exit(4), 3000);
  `;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(result.status, 3, result.stderr);
  assert.match(result.stdout, /caught:handler failed/);
});

test('IPv4 numbers and text convert both ways; anything else is -1', () => {
  for (const text of ['0.0.0.0', '127.0.0.1', '10.1.2.3', '255.255.255.255', '192.168.100.200']) {
    assert.equal(formatIPv4(parseIPv4(text)), text);
  }
  assert.equal(parseIPv4('127.0.0.1'), 0x7f000001);
  for (const bad of ['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '::1', 'a.b.c.d', '1.2.3.-4', '01234.1.1.1']) {
    assert.equal(parseIPv4(bad), -1, bad);
  }
});

test('trimNativeHeap runs', () => {
  assert.equal(typeof trimNativeHeap(), 'boolean');
});
