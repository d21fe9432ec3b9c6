/**
 * The bare baseline: a Node UDP socket that receives and counts datagrams, nothing else.
 * `node bench/udp-sink.ts <port>`; prints `{"packets":…,"bytes":…}` on every line of stdin.
 */
import dgram from 'node:dgram';
import readline from 'node:readline';

const port = Number(process.argv[2]);
const socket = dgram.createSocket({ type: 'udp4', recvBufferSize: 16 * 1024 * 1024 });
let packets = 0;
let bytes = 0;
socket.on('message', (msg) => {
  packets++;
  bytes += msg.length;
});
socket.bind(port, '127.0.0.1', () => process.stdout.write('ready\n'));
readline.createInterface({ input: process.stdin }).on('line', () => process.stdout.write(`${JSON.stringify({ packets, bytes })}\n`));
process.stdin.on('end', () => process.exit(0));
