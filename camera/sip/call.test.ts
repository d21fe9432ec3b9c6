/**
 * INVITE → SDP answer → media, against the in-test platform: UDP, TCP with the platform listening
 * (the device dials) and TCP with the device listening (the platform dials), BYE from both sides,
 * SSRC quirks, and hostile INVITEs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { once } from 'node:events';
import { silentLogger } from '../../common/logger.ts';
import { fixturePath } from '../../test/support/fixtures.ts';
import { MiniPlatform, PLATFORM_ID, waitFor } from '../testing/mini-platform.ts';
import { CameraFleet, type CameraFleetOptions } from './fleet.ts';

const PASSWORD = 'secret-123';
const DEVICE = '34020000001320000001';
const CHANNEL = '34020000001310000001';
const VIDEO = fixturePath('bbb-480x272.h264');
const PACK_START = Buffer.from([0x00, 0x00, 0x01, 0xba]);

async function setup(fleetOptions: Partial<CameraFleetOptions> = {}): Promise<{ platform: MiniPlatform; fleet: CameraFleet; close(): Promise<void> }> {
  const platform = await MiniPlatform.start({ password: PASSWORD });
  const fleet = await CameraFleet.start({
    server: { id: PLATFORM_ID, host: '127.0.0.1', port: platform.port },
    password: PASSWORD,
    firstDeviceId: DEVICE,
    localAddress: '127.0.0.1',
    channels: 2,
    media: { video: VIDEO, audio: 'pcma' },
    logger: silentLogger(),
    ...fleetOptions,
  }).catch(async (err: unknown) => {
    await platform.close();
    throw err;
  });
  await waitFor('registered', () => platform.devices.has(DEVICE) || undefined);
  return {
    platform,
    fleet,
    async close() {
      await fleet.stop();
      await platform.close();
    },
  };
}

interface Rtp {
  ssrc: number;
  payloadType: number;
  marker: boolean;
  payload: Buffer;
}

function readRtp(packet: Buffer): Rtp {
  return {
    payloadType: packet[1] & 0x7f,
    marker: (packet[1] & 0x80) !== 0,
    ssrc: packet.readUInt32BE(8),
    payload: packet.subarray(12 + 4 * (packet[0] & 0x0f)),
  };
}

/** A UDP receiver collecting RTP packets and their source port. */
async function udpReceiver(): Promise<{ port: number; packets: Rtp[]; sources: Set<number>; close(): void }> {
  const socket = dgram.createSocket('udp4');
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  const packets: Rtp[] = [];
  const sources = new Set<number>();
  socket.on('message', (msg, rinfo) => {
    if (packets.length < 10_000) packets.push(readRtp(msg));
    sources.add(rinfo.port);
  });
  return { port: socket.address().port, packets, sources, close: () => socket.close() };
}

/** RFC 4571 frames from a TCP stream. */
function collectFramed(socket: net.Socket): { packets: Rtp[]; closed: Promise<void> } {
  const packets: Rtp[] = [];
  let pending = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 2) {
      const len = pending.readUInt16BE(0);
      if (pending.length < 2 + len) break;
      if (packets.length < 10_000) packets.push(readRtp(pending.subarray(2, 2 + len)));
      pending = pending.subarray(2 + len);
    }
  });
  socket.on('error', () => {});
  return { packets, closed: once(socket, 'close').then(() => undefined) };
}

test('INVITE over UDP: SDP answer, RTP with the offered SSRC and PS packs, BYE stops the media', async () => {
  const { platform, fleet, close } = await setup();
  const rx = await udpReceiver();
  try {
    const r = await platform.invite(DEVICE, CHANNEL, { transport: 'udp', mediaPort: rx.port, ssrc: '0200000001' });
    assert.equal(r.status, 200);
    const a = r.answer!;
    assert.deepEqual(a.problems, []);
    assert.equal(a.ssrc, '0200000001');
    assert.equal(a.transport, 'udp');
    assert.equal(a.direction, 'sendonly');
    assert.equal(a.connectionIp, '127.0.0.1');
    assert.equal(a.origin?.username, DEVICE);
    assert.ok(r.sdp.endsWith('f=\r\n'));
    const contact = r.response.headers.contact;
    assert.ok(Array.isArray(contact));
    assert.match(contact[0].uri, new RegExp(`^sip:${CHANNEL}@127\\.0\\.0\\.1:${fleet.sipPort}$`));

    await waitFor('RTP packets', () => rx.packets.length >= 20 || undefined);
    assert.ok(rx.packets.every((p) => p.ssrc === 200000001 && p.payloadType === 96));
    assert.ok(rx.packets[0].payload.subarray(0, 4).equals(PACK_START), 'the first packet starts a PS pack');
    assert.deepEqual([...rx.sources], [a.mediaPort], 'sent from the port of the answer');
    const call = fleet.devices[0].calls()[0];
    assert.equal(call.state, 'active');
    assert.equal(call.channelId, CHANNEL);

    assert.equal(await platform.bye(r.dialog), 200);
    await waitFor('call gone', () => fleet.devices[0].calls().length === 0 || undefined);
    const n = rx.packets.length;
    await new Promise((res) => setTimeout(res, 200));
    assert.ok(rx.packets.length - n <= 2, 'media stopped after the BYE');
  } finally {
    rx.close();
    await close();
  }
});

test('INVITE TCP passive (the platform listens, the device dials): RFC 4571 framed RTP', async () => {
  const { platform, fleet, close } = await setup();
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const accepted = once(server, 'connection');
    const r = await platform.invite(DEVICE, CHANNEL, { transport: 'tcp-passive', mediaPort: (server.address() as net.AddressInfo).port, ssrc: '0200000002' });
    assert.equal(r.status, 200);
    assert.equal(r.answer?.transport, 'tcp');
    assert.equal(r.answer?.setup, 'active');
    assert.equal(r.answer?.connection, 'new');
    const [socket] = (await accepted) as [net.Socket];
    const rx = collectFramed(socket);
    await waitFor('framed RTP', () => rx.packets.length >= 20 || undefined);
    assert.ok(rx.packets.every((p) => p.ssrc === 200000002));
    assert.ok(rx.packets[0].payload.subarray(0, 4).equals(PACK_START));
    assert.equal(socket.remotePort, r.answer?.mediaPort, 'dialed from the port of the answer');

    // The device hangs up when the platform closes the media connection.
    socket.destroy();
    await waitFor('device BYE', () => platform.byes.find((b) => b.callId === r.dialog.callId));
    await waitFor('call gone', () => fleet.devices[0].calls().length === 0 || undefined);
  } finally {
    server.close();
    await close();
  }
});

test('INVITE TCP active (the device listens, the platform dials the port of the answer)', async () => {
  const { platform, fleet, close } = await setup();
  try {
    const r = await platform.invite(DEVICE, CHANNEL, { transport: 'tcp-active', mediaPort: 9, ssrc: '0200000003' });
    assert.equal(r.status, 200);
    assert.equal(r.answer?.setup, 'passive');
    const socket = net.connect({ host: '127.0.0.1', port: r.answer!.mediaPort! });
    const rx = collectFramed(socket);
    await waitFor('framed RTP', () => rx.packets.length >= 20 || undefined);
    assert.ok(rx.packets.every((p) => p.ssrc === 200000003));
    assert.ok(rx.packets[0].payload.subarray(0, 4).equals(PACK_START));
    assert.equal(await platform.bye(r.dialog), 200);
    await rx.closed;
    await waitFor('call gone', () => fleet.devices[0].calls().length === 0 || undefined);
  } finally {
    await close();
  }
});

test('SSRC quirks: ssrc0 + no-y, foreign-y, padded-y', async () => {
  {
    const { platform, close } = await setup({ quirks: ['ssrc0', 'no-y'] });
    const rx = await udpReceiver();
    try {
      const r = await platform.invite(DEVICE, CHANNEL, { transport: 'udp', mediaPort: rx.port, ssrc: '0200000004' });
      assert.equal(r.answer?.ssrc, undefined);
      assert.ok(!/^y=/m.test(r.sdp));
      await waitFor('RTP', () => rx.packets.length >= 5 || undefined);
      assert.ok(rx.packets.every((p) => p.ssrc === 0));
    } finally {
      rx.close();
      await close();
    }
  }
  {
    const { platform, close } = await setup({ quirks: ['foreign-y'] });
    const rx = await udpReceiver();
    try {
      const r = await platform.invite(DEVICE, CHANNEL, { transport: 'udp', mediaPort: rx.port, ssrc: '0200000005' });
      const own = r.answer?.ssrcNumber;
      assert.ok(own !== undefined && own !== 200000005);
      await waitFor('RTP', () => rx.packets.length >= 5 || undefined);
      assert.ok(rx.packets.every((p) => p.ssrc === own));
    } finally {
      rx.close();
      await close();
    }
  }
  {
    const { platform, close } = await setup({ quirks: ['padded-y'] });
    try {
      const sdp = 'v=0\r\no=x 0 0 IN IP4 127.0.0.1\r\ns=Play\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=video 40000 RTP/AVP 96\r\na=recvonly\r\na=rtpmap:96 PS/90000\r\ny=630886\r\n';
      const r = await platform.invite(DEVICE, CHANNEL, { transport: 'udp', mediaPort: 40000, ssrc: '630886', sdp, ack: false });
      assert.equal(r.answer?.ssrc, '0000630886');
      await platform.bye(r.dialog);
    } finally {
      await close();
    }
  }
});

test('no-media quirk, the file ending (no loop) and stop() all end calls with a BYE from the device', async () => {
  {
    const { platform, close } = await setup({ quirks: ['no-media'] });
    const rx = await udpReceiver();
    try {
      const r = await platform.invite(DEVICE, CHANNEL, { transport: 'udp', mediaPort: rx.port, ssrc: '0200000006' });
      assert.equal(r.status, 200);
      await new Promise((res) => setTimeout(res, 300));
      assert.equal(rx.packets.length, 0);
    } finally {
      rx.close();
      await close();
    }
  }
  {
    const { platform, fleet, close } = await setup({ media: { video: VIDEO, loop: false, pacing: 'flood' } });
    const rx = await udpReceiver();
    try {
      const ended = once(fleet.devices[0], 'call-ended');
      const r = await platform.invite(DEVICE, CHANNEL, { transport: 'udp', mediaPort: rx.port, ssrc: '0200000007' });
      assert.equal(r.status, 200);
      const [, reason] = await ended;
      assert.equal(reason, 'media-end');
      await waitFor('device BYE', () => platform.byes.find((b) => b.callId === r.dialog.callId));
      assert.ok(rx.packets.length > 0);
    } finally {
      rx.close();
      await close();
    }
  }
  {
    const { platform, fleet, close } = await setup();
    const rx = await udpReceiver();
    try {
      const r = await platform.invite(DEVICE, CHANNEL, { transport: 'udp', mediaPort: rx.port, ssrc: '0200000008' });
      await waitFor('RTP', () => rx.packets.length > 0 || undefined);
      await fleet.stop();
      assert.ok(platform.byes.some((b) => b.callId === r.dialog.callId), 'BYE before unregistering');
      assert.equal(platform.devices.size, 0);
    } finally {
      rx.close();
      await close();
    }
  }
});

test('hostile INVITEs: unknown channel 404, unusable SDP 488, stray BYE 481', async () => {
  const { platform, fleet, close } = await setup();
  try {
    const unknown = await platform.invite(DEVICE, '34020000001319999999', { transport: 'udp', mediaPort: 40000, ssrc: '0200000009' });
    assert.equal(unknown.status, 404);
    for (const sdp of ['', 'garbage', 'v=0\r\nm=audio 4000 RTP/AVP 8\r\n', 'v=0\r\nc=IN IP4 example.com\r\nm=video 4000 RTP/AVP 96\r\n', 'v=0\r\nc=IN IP4 127.0.0.1\r\nm=video 0 RTP/AVP 96\r\n', 'x'.repeat(20_000)]) {
      const r = await platform.invite(DEVICE, CHANNEL, { transport: 'udp', mediaPort: 40000, ssrc: '0200000010', sdp });
      assert.equal(r.status, 488, JSON.stringify(sdp.slice(0, 40)));
    }
    const stray = await platform.bye({ callId: 'nope@x', fromTag: 'a', toTag: 'b', remote: platform.devices.get(DEVICE)!.remote, channelId: CHANNEL, target: `sip:${CHANNEL}@127.0.0.1:${fleet.sipPort}`, cseq: 1 });
    assert.equal(stray, 481);
    assert.equal(fleet.devices[0].calls().length, 0);
    assert.equal(fleet.devices[0].registered, true);
  } finally {
    await close();
  }
});
