import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildPlayOffer, parseAnswer } from '../../common/sip/sdp.ts';
import { mulberry32 } from '../../common/testing/prng.ts';
import { answerY, buildAnswer, readOffer } from './sdp-answer.ts';

const CHANNEL = '34020000001310000001';

test('reads the platform offers of the three transports', () => {
  const udp = readOffer(buildPlayOffer({ channelId: CHANNEL, mediaIp: '10.0.0.5', mediaPort: 30000, ssrc: '0200000001', transport: 'udp' }));
  assert.ok(udp.ok);
  assert.deepEqual(
    { t: udp.plan.transport, host: udp.plan.host, port: udp.plan.port, pt: udp.plan.payloadType, ssrc: udp.plan.ssrc, text: udp.plan.ssrcText, s: udp.plan.sessionName },
    { t: 'udp', host: '10.0.0.5', port: 30000, pt: 96, ssrc: 200000001, text: '0200000001', s: 'Play' },
  );
  const passive = readOffer(buildPlayOffer({ channelId: CHANNEL, mediaIp: '10.0.0.5', mediaPort: 30000, ssrc: '1', transport: 'tcp-passive' }));
  assert.ok(passive.ok && passive.plan.transport === 'tcp-connect');
  const active = readOffer(buildPlayOffer({ channelId: CHANNEL, mediaIp: '10.0.0.5', mediaPort: 9, ssrc: '1', transport: 'tcp-active' }));
  assert.ok(active.ok && active.plan.transport === 'tcp-listen');
  const playback = readOffer(
    buildPlayOffer({ channelId: CHANNEL, mediaIp: '10.0.0.5', mediaPort: 30000, ssrc: '1200000001', transport: 'udp', sessionName: 'Playback', startTime: 1000, endTime: 2000 }),
  );
  assert.ok(playback.ok && playback.plan.sessionName === 'Playback' && playback.plan.time === '1000 2000');
});

test('SSRC from the Subject header when the offer has no y=; PS mapped to another payload type', () => {
  const sdp = 'v=0\r\nc=IN IP4 10.0.0.5\r\nm=video 30000 RTP/AVP 100\r\na=rtpmap:100 PS/90000\r\n';
  const r = readOffer(sdp, `${CHANNEL}:0200000042,34020000002000000001:0`);
  assert.ok(r.ok);
  assert.equal(r.plan.ssrc, 200000042);
  assert.equal(r.plan.payloadType, 100);
  const none = readOffer(sdp, 'garbage');
  assert.ok(none.ok && none.plan.ssrc === 0 && none.plan.ssrcText === undefined);
});

test('refuses offers it cannot act on', () => {
  for (const [sdp, why] of [
    ['', /m=/],
    ['v=0\r\nc=IN IP4 10.0.0.5\r\nm=audio 30000 RTP/AVP 8\r\n', /m=video/],
    ['v=0\r\nm=video 30000 RTP/AVP 96\r\n', /c= address/],
    ['v=0\r\nc=IN IP4 camera.example\r\nm=video 30000 RTP/AVP 96\r\n', /not an IP/],
    ['v=0\r\nc=IN IP4 10.0.0.5\r\nm=video 0 RTP/AVP 96\r\n', /port/],
    ['v=0\r\nc=IN IP4 10.0.0.5\r\nm=video 30000 RTP/AVP 98\r\na=rtpmap:98 H264/90000\r\n', /PS/],
  ] as const) {
    const r = readOffer(sdp);
    assert.equal(r.ok, false, sdp);
    if (!r.ok) assert.match(r.reason, why);
  }
});

test('the answer: sendonly PS, setup the other way round, y= as offered, padded, foreign or absent', () => {
  const offer = readOffer(buildPlayOffer({ channelId: CHANNEL, mediaIp: '10.0.0.5', mediaPort: 30000, ssrc: '0200000001', transport: 'tcp-passive' }));
  assert.ok(offer.ok);
  const text = buildAnswer({ username: '34020000001320000001', ip: '10.0.0.9', port: 15060, transport: 'tcp-connect', payloadType: 96, sessionName: 'Play', time: '0 0', y: answerY(offer.plan, {}) });
  assert.ok(text.endsWith('f=\r\n'));
  const a = parseAnswer(text);
  assert.deepEqual(a.problems, []);
  assert.equal(a.setup, 'active');
  assert.equal(a.transport, 'tcp');
  assert.equal(a.direction, 'sendonly');
  assert.equal(a.mediaPort, 15060);
  assert.equal(a.connectionIp, '10.0.0.9');
  assert.equal(a.ssrc, '0200000001');
  assert.equal(a.rtpmap[0].encoding, 'PS');
  assert.equal(parseAnswer(buildAnswer({ username: 'x', ip: '::1', port: 1, transport: 'tcp-listen', payloadType: 96, sessionName: 'Play', time: '0 0', y: undefined })).setup, 'passive');

  const short = readOffer('v=0\r\nc=IN IP4 10.0.0.5\r\nm=video 30000 RTP/AVP 96\r\ny=630886\r\n');
  assert.ok(short.ok);
  assert.equal(answerY(short.plan, {}), '630886');
  assert.equal(answerY(short.plan, { padded: true }), '0000630886');
  assert.equal(answerY(short.plan, { noY: true }), undefined);
  assert.equal(answerY(short.plan, { foreign: 12345 }), '0000012345');
});

test('hostile offers never throw (seeded fuzz)', () => {
  const rnd = mulberry32(Number(process.env.FUZZ_SEED ?? 4242));
  const base = buildPlayOffer({ channelId: CHANNEL, mediaIp: '10.0.0.5', mediaPort: 30000, ssrc: '0200000001', transport: 'tcp-active' });
  const alphabet = 'v=0cmyast\r\n :/0123456789IN IP4TCP/RTP/AVP\x00\xff';
  for (let i = 0; i < 5000; i++) {
    const chars = [...base];
    const edits = 1 + Math.floor(rnd() * 8);
    for (let e = 0; e < edits; e++) {
      const at = Math.floor(rnd() * (chars.length + 1));
      const op = rnd();
      if (op < 0.4) chars.splice(at, 1);
      else if (op < 0.8) chars.splice(at, 0, alphabet[Math.floor(rnd() * alphabet.length)]);
      else chars.splice(at, Math.floor(rnd() * 20));
    }
    const r = readOffer(chars.join(''), chars.slice(0, 40).join(''));
    if (r.ok) {
      assert.ok(Number.isInteger(r.plan.ssrc) && r.plan.ssrc >= 0 && r.plan.ssrc <= 0xffffffff);
      assert.ok(/^\d+ \d+$/.test(r.plan.time));
      // Whatever was read, the answer can be built from it.
      buildAnswer({ username: 'x', ip: '10.0.0.9', port: 1, transport: r.plan.transport, payloadType: r.plan.payloadType, sessionName: r.plan.sessionName, time: r.plan.time, y: answerY(r.plan, {}) });
    }
  }
});
