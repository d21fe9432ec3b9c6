/**
 * The bare baseline: a UDP socket that receives and counts datagrams, nothing else.
 * `node bench/udp-sink.ts <port> [dgram|batch [pause ms]]`; prints `{"packets":…,"bytes":…}` on every line of
 * stdin. `dgram` is Node's own socket (one callback per datagram), `batch` the streamer's native
 * recvmmsg receiver (one callback per batch).
 */
import dgram from 'node:dgram';
import readline from 'node:readline';
import { UdpBatchSocket } from '../streamer/ingest/udp-batch-socket.ts';

const port = Number(process.argv[2]);
const mode = process.argv[3] ?? 'dgram';
const recvBufferSize = 16 * 1024 * 1024;
let packets = 0;
let bytes = 0;
let batches = 0;
if (mode === 'batch') {
  UdpBatchSocket.open('127.0.0.1', port, recvBufferSize, Number(process.argv[4] ?? 2), (_buf, count, meta) => {
    packets += count;
    batches++;
    for (let i = 0; i < count; i++) bytes += meta[i * 4 + 1];
  });
  process.stdout.write('ready\n');
} else {
  const socket = dgram.createSocket({ type: 'udp4', recvBufferSize });
  socket.on('message', (msg) => {
    packets++;
    bytes += msg.length;
  });
  socket.bind(port, '127.0.0.1', () => process.stdout.write('ready\n'));
}
readline.createInterface({ input: process.stdin }).on('line', () => process.stdout.write(`${JSON.stringify({ packets, bytes, batches })}\n`));
process.stdin.on('end', () => process.exit(0));
