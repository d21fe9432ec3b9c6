/**
 * Hostile SIP at a running signaling server: 100,000 seeded mutations of real device messages
 * (REGISTER with and without Authorization, keepalive and catalog MESSAGEs with MANSCDP bodies in
 * GB2312, INVITE answers, BYE) over UDP and TCP. The server must not throw, hang or grow without
 * bound; every message is answered or counted as dropped; afterwards it still registers devices.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { encodeGb2312 } from '../common/manscdp/decode.ts';
import { mulberry32 } from '../common/testing/prng.ts';
import { readUdpDrops } from '../common/udp-kernel-drops.ts';
import { startRedisServer } from './support/redis-server.ts';
import { runSipp, sippDevices } from './support/sipp.ts';
import { startTestSignaling, TEST_PASSWORD } from './support/signaling.ts';

const CASES = 100_000;
/** Replaced in every case by its number, so each is a new transaction rather than a retransmission. */
const ID = 'XXXXXXXX';
const device = '34020000001320000001';

function message(startLine: string, headers: string[], body: Buffer = Buffer.alloc(0)): Buffer {
  return Buffer.concat([Buffer.from(`${startLine}\r\n${[...headers, `Content-Length: ${body.length}`].join('\r\n')}\r\n\r\n`, 'latin1'), body]);
}

function common(method: string, seq: number, callId: string): string[] {
  return [
    `Via: SIP/2.0/UDP 127.0.0.1:5070;rport;branch=z9hG4bK${callId}${ID}`,
    `From: <sip:${device}@3402000000>;tag=f${callId}`,
    `To: <sip:${device}@3402000000>`,
    `Call-ID: ${callId}${ID}@127.0.0.1`,
    `CSeq: ${seq} ${method}`,
    'Max-Forwards: 70',
  ];
}

const catalogBody = encodeGb2312(
  '<?xml version="1.0" encoding="GB2312"?>\r\n<Response><CmdType>Catalog</CmdType><SN>7</SN>' +
    `<DeviceID>${device}</DeviceID><SumNum>2</SumNum><DeviceList Num="2">` +
    '<Item><DeviceID>34020000001310000001</DeviceID><Name>大门 通道1</Name><Address>A&B road</Address><Parental>65535</Parental><Status>ONLINE</Status></Item>' +
    '<Item><DeviceID>34020000001310000002</DeviceID><Name>后门</Name><Status>OFF</Status></Item></DeviceList></Response>',
);
const keepaliveBody = Buffer.from(
  `<?xml version="1.0" encoding="GB2312"?>\r\n<Notify><CmdType>Keepalive</CmdType><SN>3</SN><DeviceID>${device}</DeviceID><Status>OK</Status></Notify>`,
  'latin1',
);

const bases: Buffer[] = [
  message('REGISTER sip:34020000002000000001@3402000000 SIP/2.0', [...common('REGISTER', 1, 'r1'), `Contact: <sip:${device}@127.0.0.1:5070>`, 'Expires: 3600']),
  message('REGISTER sip:34020000002000000001@3402000000 SIP/2.0', [
    ...common('REGISTER', 2, 'r2'),
    `Authorization: Digest username="${device}", realm="3402000000", nonce="AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", uri="sip:34020000002000000001@3402000000", response="00112233445566778899aabbccddeeff", algorithm=MD5`,
    'Expires: 3600',
  ]),
  message('MESSAGE sip:34020000002000000001@3402000000 SIP/2.0', [...common('MESSAGE', 3, 'm1'), 'Content-Type: Application/MANSCDP+xml'], keepaliveBody),
  message('MESSAGE sip:34020000002000000001@3402000000 SIP/2.0', [...common('MESSAGE', 4, 'm2'), 'Content-Type: Application/MANSCDP+xml'], catalogBody),
  message('BYE sip:34020000002000000001@127.0.0.1:5060 SIP/2.0', common('BYE', 5, 'b1')),
  message('SIP/2.0 200 OK', [...common('INVITE', 1, 'i1'), 'Content-Type: application/sdp'], Buffer.from('v=0\r\no=x 0 0 IN IP4 1.2.3.4\r\ns=Play\r\nc=IN IP4 1.2.3.4\r\nm=video 6000 RTP/AVP 96\r\ny=0100000001\r\n')),
  message('OPTIONS sip:34020000002000000001@3402000000 SIP/2.0', common('OPTIONS', 6, 'o1')),
];

/** An integer in [min, max]. */
function between(random: () => number, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}

function mutate(random: () => number, base: Buffer, i: number): Buffer {
  const b = Buffer.from(base);
  const unique = Buffer.from(i.toString(36).padStart(ID.length, '0'));
  for (let at = b.indexOf(ID); at >= 0; at = b.indexOf(ID, at + ID.length)) unique.copy(b, at);
  switch (between(random, 0, 8)) {
    case 0: // flip bytes
      for (let k = between(random, 1, 8); k > 0; k--) b[between(random, 0, b.length - 1)] = between(random, 0, 255);
      return b;
    case 1: // truncate
      return b.subarray(0, between(random, 0, b.length));
    case 2: // garbage line in the headers
      return Buffer.concat([b.subarray(0, b.indexOf('\r\n') + 2), Buffer.from('this is not a header\r\n'), b.subarray(b.indexOf('\r\n') + 2)]);
    case 3: // a huge header value
      return Buffer.concat([b.subarray(0, b.indexOf('\r\n') + 2), Buffer.from(`X-Long: ${'A'.repeat(between(random, 100, 70_000))}\r\n`), b.subarray(b.indexOf('\r\n') + 2)]);
    case 4: // lying Content-Length
      return Buffer.from(b.toString('latin1').replace(/Content-Length: \d+/, `Content-Length: ${between(random, 0, 99999)}`), 'latin1');
    case 5: // random bytes
      return Buffer.from(Array.from({ length: between(random, 1, 600) }, () => between(random, 0, 255)));
    case 6: // body mangled: unbalanced tags and entities
      return Buffer.concat([b, Buffer.from('<Item><DeviceID>&#99999999;<<<&amp</Name></Item></DeviceList>')]);
    case 7: // duplicated segment
      return Buffer.concat([b.subarray(0, between(random, 0, b.length)), b]);
    default: // as is
      return b;
  }
}

test(`${CASES.toLocaleString('en')} mutated SIP messages over UDP and TCP: no crash, bounded memory, counted; still serves devices after`, async () => {
  const redis = await startRedisServer();
  const signaling = await startTestSignaling(redis.url);
  const udp = dgram.createSocket('udp4');
  udp.on('message', () => undefined);
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', () => r()));
  try {
    const random = mulberry32(20261126);
    const heapBefore = process.memoryUsage().heapUsed;
    const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);
    // UDP first, paced so the server keeps up; then every datagram must be accounted for.
    let udpSent = 0;
    for (let i = 0; i < CASES * 0.75; i++) {
      const data = mutate(random, bases[i % bases.length], i);
      if (data.length > 65_000) continue;
      udp.send(data, signaling.sipPort, '127.0.0.1');
      udpSent++;
      if (i % 100 === 99) await new Promise((r) => setTimeout(r, 10));
    }
    await new Promise((r) => setTimeout(r, 1500));
    const stats = signaling.stack.stats;
    const seen = sum(stats.requestsIn) + sum(stats.responsesIn) + sum(stats.dropped) + readUdpDrops(signaling.sipPort);
    assert.ok(seen >= udpSent * 0.999, `every datagram is handled or counted: ${seen} of ${udpSent} (${JSON.stringify(stats.dropped)})`);
    const requests = sum(stats.requestsIn) - (stats.requestsIn.ACK ?? 0);
    assert.ok(sum(stats.responsesOut) >= requests * 0.98, `requests are answered: ${sum(stats.responsesOut)} responses to ${requests} requests`);
    assert.ok(stats.dropped.unparsable > 1000 && stats.dropped['missing-headers'] > 100, 'malformed messages are counted by reason');
    assert.ok(stats.headerLinesDropped > 1000, 'bad header lines are removed and counted');

    // TCP: the rest as byte streams; a connection the server closes for bad framing is reopened.
    let tcp: net.Socket | undefined;
    for (let i = Math.ceil(CASES * 0.75); i < CASES; i++) {
      if (!tcp || tcp.destroyed || tcp.closed) {
        tcp = net.connect({ host: '127.0.0.1', port: signaling.sipPort });
        tcp.on('error', () => undefined);
        tcp.on('data', () => undefined);
        await new Promise((r) => tcp!.once('connect', r).once('close', r));
      }
      tcp.write(mutate(random, bases[i % bases.length], i));
      if (i % 100 === 99) await new Promise((r) => setTimeout(r, 10));
    }
    tcp?.destroy();
    await new Promise((r) => setTimeout(r, 1000));
    assert.ok(stats.dropped['tcp-framing'] > 0, 'broken TCP framing closes the connection and is counted');
    // Memory: the transaction layer keeps requests 32 s (RFC 3261 timer J); what must not happen is
    // growth out of proportion to that.
    const grown = process.memoryUsage().heapUsed - heapBefore;
    assert.ok(grown < 400 * 1024 * 1024, `heap grew ${(grown / 1e6).toFixed(0)} MB`);
    const after = await runSipp({ scenario: 'register', remotePort: signaling.sipPort, devices: sippDevices(2, { password: TEST_PASSWORD, first: 700 }) });
    assert.equal(after.outcome, 'all-succeeded', `still registers devices: ${after.errors}`);
  } finally {
    udp.close();
    await signaling.stop();
    await redis.stop();
  }
});
