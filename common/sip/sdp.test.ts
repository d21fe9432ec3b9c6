import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_SDP_LENGTH, buildPlayOffer, findAttribute, parseAnswer, subjectHeader } from './sdp.ts';
import type { SdpAnswer } from './sdp.ts';
import { mulberry32, randInt } from '../testing/prng.ts';

const CH = '34020000001320000001';

test('live offer over UDP: the exact text devices expect, CRLF and a final line break', () => {
  const sdp = buildPlayOffer({ channelId: CH, mediaIp: '192.168.1.10', mediaPort: 30000, ssrc: '0200000001', transport: 'udp' });
  assert.equal(
    sdp,
    [
      'v=0',
      `o=${CH} 0 0 IN IP4 192.168.1.10`,
      's=Play',
      'c=IN IP4 192.168.1.10',
      't=0 0',
      'm=video 30000 RTP/AVP 96 97 98',
      'a=recvonly',
      'a=rtpmap:96 PS/90000',
      'a=rtpmap:97 MPEG4/90000',
      'a=rtpmap:98 H264/90000',
      'y=0200000001',
      'f=',
      '',
    ].join('\r\n'),
  );
  assert.ok(sdp.endsWith('f=\r\n'));
  assert.ok(!/[^\r]\n/.test(sdp), 'every line break is CRLF');
});

test('TCP offers: passive when we listen, active when we dial', () => {
  const passive = buildPlayOffer({ channelId: CH, mediaIp: '10.0.0.5', mediaPort: 30002, ssrc: '200000002', transport: 'tcp-passive' });
  assert.match(passive, /\r\nm=video 30002 TCP\/RTP\/AVP 96 97 98\r\n/);
  assert.match(passive, /\r\na=rtpmap:98 H264\/90000\r\na=setup:passive\r\na=connection:new\r\ny=0200000002\r\nf=\r\n$/);
  const active = buildPlayOffer({ channelId: CH, mediaIp: '10.0.0.5', mediaPort: 30002, ssrc: '0200000002', transport: 'tcp-active' });
  assert.match(active, /\r\na=setup:active\r\na=connection:new\r\n/);
  assert.doesNotMatch(active, /passive/);
});

test('playback and download offers carry the time range and the channel URI', () => {
  const playback = buildPlayOffer({ channelId: CH, mediaIp: '10.0.0.5', mediaPort: 30004, ssrc: '1200000001', transport: 'udp', sessionName: 'Playback', startTime: 1_700_000_000, endTime: 1_700_003_600 });
  assert.match(playback, new RegExp(`^v=0\\r\\no=${CH} 0 0 IN IP4 10.0.0.5\\r\\ns=Playback\\r\\nu=${CH}:0\\r\\nc=IN IP4 10.0.0.5\\r\\nt=1700000000 1700003600\\r\\n`));
  const download = buildPlayOffer({ channelId: CH, mediaIp: '10.0.0.5', mediaPort: 30004, ssrc: '1200000002', transport: 'tcp-passive', sessionName: 'Download', startTime: 1, endTime: 2, downloadSpeed: 4 });
  assert.match(download, /\r\ns=Download\r\n/);
  assert.match(download, /\r\na=connection:new\r\na=downloadspeed:4\r\ny=1200000002\r\nf=\r\n$/);
  assert.throws(() => buildPlayOffer({ channelId: CH, mediaIp: '10.0.0.5', mediaPort: 1, ssrc: '1', transport: 'udp', sessionName: 'Playback' }), RangeError);
  assert.throws(() => buildPlayOffer({ channelId: CH, mediaIp: '10.0.0.5', mediaPort: 1, ssrc: '1', transport: 'udp', sessionName: 'Playback', startTime: 5, endTime: 5 }), RangeError);
});

test('extra attributes, IPv6 and bad options', () => {
  const sdp = buildPlayOffer({ channelId: CH, mediaIp: '2001:db8::5', mediaPort: 30000, ssrc: '0200000001', transport: 'udp', extraAttributes: ['streamnumber:1'] });
  assert.match(sdp, /\r\no=\d+ 0 0 IN IP6 2001:db8::5\r\n/);
  assert.match(sdp, /\r\nc=IN IP6 2001:db8::5\r\n/);
  assert.match(sdp, /\r\na=streamnumber:1\r\ny=/);
  const ok = { channelId: CH, mediaIp: '10.0.0.5', mediaPort: 30000, ssrc: '0200000001', transport: 'udp' } as const;
  assert.throws(() => buildPlayOffer({ ...ok, mediaIp: 'streamer.local' }), TypeError);
  assert.throws(() => buildPlayOffer({ ...ok, mediaPort: 0 }), RangeError);
  assert.throws(() => buildPlayOffer({ ...ok, mediaPort: 65536 }), RangeError);
  assert.throws(() => buildPlayOffer({ ...ok, ssrc: '4294967296' }), TypeError);
  assert.throws(() => buildPlayOffer({ ...ok, ssrc: '12ab' }), TypeError);
  assert.throws(() => buildPlayOffer({ ...ok, channelId: `${CH}\r\ns=x` }), TypeError);
  assert.throws(() => buildPlayOffer({ ...ok, channelId: '' }), TypeError);
  assert.throws(() => buildPlayOffer({ ...ok, extraAttributes: ['a\r\nb=1'] }), TypeError);
});

test('subject header', () => {
  assert.equal(subjectHeader(CH, '0200000001', '34020000002000000001'), `${CH}:0200000001,34020000002000000001:0`);
});

test('our own offer reads back', () => {
  const a = parseAnswer(buildPlayOffer({ channelId: CH, mediaIp: '10.0.0.5', mediaPort: 30002, ssrc: '0200000002', transport: 'tcp-passive' }));
  assert.deepEqual(a.problems, []);
  assert.equal(a.connectionIp, '10.0.0.5');
  assert.equal(a.mediaPort, 30002);
  assert.equal(a.transport, 'tcp');
  assert.equal(a.setup, 'passive');
  assert.equal(a.connection, 'new');
  assert.equal(a.direction, 'recvonly');
  assert.equal(a.ssrc, '0200000002');
  assert.equal(a.ssrcNumber, 200000002);
  assert.deepEqual(a.payloadTypes, [96, 97, 98]);
  assert.deepEqual(a.rtpmap, [
    { payloadType: 96, encoding: 'PS', clockRate: 90000 },
    { payloadType: 97, encoding: 'MPEG4', clockRate: 90000 },
    { payloadType: 98, encoding: 'H264', clockRate: 90000 },
  ]);
  assert.deepEqual(a.time, { start: 0, stop: 0 });
  assert.equal(a.format, '');
  assert.deepEqual(a.origin, { username: CH, address: '10.0.0.5' });
});

test('a typical UDP answer (camera style, LF line endings, padded y=)', () => {
  const a = parseAnswer(
    'v=0\no=34020000001320000001 0 0 IN IP4 192.168.1.64\ns=Play\nc=IN IP4 192.168.1.64\nt=0 0\n' +
      'm=video 15060 RTP/AVP 96\na=sendonly\na=rtpmap:96 PS/90000\na=filesize:0\ny=0000630886\nf=\n',
  );
  assert.deepEqual(a.problems, []);
  assert.equal(a.connectionIp, '192.168.1.64');
  assert.equal(a.connectionAddressType, 'IP4');
  assert.equal(a.mediaPort, 15060);
  assert.equal(a.transport, 'udp');
  assert.equal(a.protocol, 'RTP/AVP');
  assert.equal(a.direction, 'sendonly');
  assert.equal(a.setup, undefined);
  assert.equal(a.ssrc, '0000630886');
  assert.equal(a.ssrcNumber, 630886);
  assert.equal(findAttribute(a, 'FILESIZE'), '0');
  assert.equal(findAttribute(a, 'sendonly'), '');
  assert.equal(findAttribute(a, 'streamnumber'), undefined);
});

test('a TCP answer with session-level attributes, media-level c= and vendor extras', () => {
  const a = parseAnswer(
    [
      'v=0',
      'o=34020000001320000001 0 0 IN IP4 10.1.1.1',
      's=Play',
      'c=IN IP4 10.1.1.1',
      'a=setup:passive',
      'a=recvonly',
      't=0 0',
      'm=video 9000 TCP/RTP/AVP 96',
      'c=IN IP4 10.2.2.2',
      'a=sendonly',
      'a=setup:active',
      'a=connection:new',
      'a=rtpmap:96 PS/90000',
      'a=streamnumber:1',
      'a=streamMode:MAIN',
      'y=0200000003',
      'f=v/2/4/25/1/4096a///',
    ].join('\r\n'),
  );
  assert.deepEqual(a.problems, []);
  assert.equal(a.connectionIp, '10.2.2.2', 'media level wins');
  assert.equal(a.transport, 'tcp');
  assert.equal(a.setup, 'active', 'media level wins');
  assert.equal(a.direction, 'sendonly', 'media level wins');
  assert.equal(a.connection, 'new');
  assert.equal(findAttribute(a, 'streamnumber'), '1');
  assert.equal(findAttribute(a, 'streammode'), 'MAIN');
  assert.equal(a.format, 'v/2/4/25/1/4096a///');
});

test('sloppy answers: blank lines, spaces around =, lines without =, unknown lines, several m=', () => {
  const a = parseAnswer(
    '\uFEFFv=0\r\n\r\n  o = dev 0 0 IN IP4 10.0.0.9  \r\ns=Play\r\ngarbage line\r\nx=whatever\r\nc=IN IP4 10.0.0.9\r\nt=0 0\r\n' +
      'm=audio 8000 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\n' +
      'm=video 8002/2 RTP/AVP 96 300 abc\r\na=rtpmap:96 PS/90000\r\na=rtpmap:oops\r\n' +
      'm=video 8004 RTP/AVP 98\r\n' +
      'y = 0200000009 \r\n',
  );
  assert.equal(a.mediaPort, 8002, 'the first video section');
  assert.deepEqual(a.payloadTypes, [96]);
  assert.deepEqual(a.rtpmap, [{ payloadType: 96, encoding: 'PS', clockRate: 90000 }], 'the audio rtpmap is not ours');
  assert.equal(a.ssrc, '0200000009', 'y= from a later section as a fallback');
  assert.equal(a.ssrcNumber, 200000009);
  assert.equal(a.origin?.username, 'dev');
  assert.deepEqual(
    a.problems.map((p) => p.replace(/:.*/, '')),
    ["line 5 has no '='", 'line 6 of unknown type', 'bad payload type in m=', 'bad payload type in m=', 'bad a=rtpmap'],
  );
  // Audio on request.
  const audio = parseAnswer('v=0\nc=IN IP4 1.2.3.4\nm=video 1 RTP/AVP 96\nm=audio 8000 RTP/AVP 8\ny=1\n', { media: 'audio' });
  assert.equal(audio.mediaPort, 8000);
  assert.equal(audio.mediaType, 'audio');
  assert.equal(audio.ssrcNumber, 1);
});

test('missing, odd and junk values are reported, never thrown', () => {
  const noY = parseAnswer('v=0\r\nc=IN IP4 1.2.3.4\r\nm=video 5000 RTP/AVP 96\r\n');
  assert.equal(noY.ssrc, undefined);
  assert.equal(noY.ssrcNumber, undefined);
  assert.deepEqual(noY.problems, ['no y= line']);

  const junk = parseAnswer('v=0\r\nc=IN IP4 1.2.3.4\r\nm=video 5000 RTP/AVP 96\r\ny=0200000001 a=x\r\n');
  assert.equal(junk.ssrc, '0200000001 a=x');
  assert.equal(junk.ssrcNumber, 200000001);
  assert.match(junk.problems.join(), /trailing text/);

  for (const y of ['abc', '99999999999', '4294967296', '']) {
    const r = parseAnswer(`v=0\nc=IN IP4 1.2.3.4\nm=video 5000 RTP/AVP 96\ny=${y}\n`);
    assert.equal(r.ssrcNumber, undefined, y);
    assert.equal(r.problems.length, 1, y);
  }

  const v6 = parseAnswer('v=0\nc=IN IP6 2001:db8::1\nm=video 5000 RTP/AVP 96\ny=1\n');
  assert.equal(v6.connectionIp, '2001:db8::1');
  assert.equal(v6.connectionAddressType, 'IP6');
  assert.deepEqual(v6.problems, []);

  const multicastTtl = parseAnswer('v=0\nc=IN IP4 239.1.1.1/127\nm=video 5000 RTP/AVP 96\ny=1\n');
  assert.equal(multicastTtl.connectionIp, '239.1.1.1');

  const refused = parseAnswer('v=0\nc=IN IP4 1.2.3.4\nm=video 0 RTP/AVP 96\ny=1\n');
  assert.equal(refused.mediaPort, 0);
  assert.match(refused.problems.join(), /port 0/);

  const host = parseAnswer('v=0\nc=IN IP4 camera.local\nm=video 70000 RTP/AVP\ny=1\n');
  assert.equal(host.connectionIp, 'camera.local');
  assert.equal(host.mediaPort, undefined);
  assert.deepEqual(host.payloadTypes, []);
  assert.equal(host.problems.length, 2);

  const bare = parseAnswer('');
  assert.deepEqual(bare.problems, ['no v= line', 'no m= line', 'no y= line']);

  const onlyAudio = parseAnswer('v=0\nc=IN IP4 1.2.3.4\nm=audio 5000 RTP/AVP 8\ny=1\n');
  assert.equal(onlyAudio.mediaPort, undefined);
  assert.equal(onlyAudio.connectionIp, '1.2.3.4', 'session-level facts are still reported');
  assert.deepEqual(onlyAudio.problems, ['no m=video line']);

  const big = parseAnswer('v=0\n' + 'a=x\n'.repeat(MAX_SDP_LENGTH / 4));
  assert.equal(big.mediaPort, undefined);
  assert.deepEqual(big.attributes, []);
  assert.match(big.problems[0], /refused/);

  assert.deepEqual(parseAnswer(undefined as unknown as string).problems, ['SDP is not text']);
});

// ---- fuzzing ----

const SAMPLES = [
  buildPlayOffer({ channelId: CH, mediaIp: '10.0.0.5', mediaPort: 30002, ssrc: '0200000002', transport: 'tcp-passive' }).replace('recvonly', 'sendonly'),
  'v=0\no=34020000001320000001 0 0 IN IP4 192.168.1.64\ns=Play\nc=IN IP4 192.168.1.64\nt=0 0\nm=video 15060 RTP/AVP 96\na=sendonly\na=rtpmap:96 PS/90000\ny=0000630886\nf=\n',
  'v=0\r\nc=IN IP6 ::1\r\nm=audio 1 RTP/AVP 8\r\nm=video 2/2 TCP/RTP/AVP 96 97\r\nc=IN IP4 1.2.3.4/5\r\na=setup:active\r\na=streamprofile:1\r\ny=1\r\n',
];
const PIECES = ['v=', 'o=', 's=', 'c=', 't=', 'm=', 'a=', 'y=', 'f=', 'IN', 'IP4', 'IP6', 'video', 'audio', 'TCP/RTP/AVP', 'RTP/AVP', 'rtpmap:', 'setup:', '96', '4294967296', '0000630886', '/', ':', ' ', '\t', '\r', '\n', '\r\n', '=', '\uFEFF', '\0', '中', '65535', '99999', '-1'];

function mutate(rnd: () => number, s: string): string {
  let out = s;
  const edits = 1 + randInt(rnd, 8);
  for (let e = 0; e < edits; e++) {
    const at = randInt(rnd, out.length + 1);
    const op = randInt(rnd, 4);
    if (op === 0) out = out.slice(0, at) + out.slice(at + 1 + randInt(rnd, 6));
    else if (op === 1) out = out.slice(0, at) + PIECES[randInt(rnd, PIECES.length)] + out.slice(at);
    else if (op === 2) out = out.slice(0, at) + String.fromCharCode(randInt(rnd, 0x80)) + out.slice(at + 1);
    else {
      // Swap two lines.
      const lines = out.split('\n');
      const i = randInt(rnd, lines.length);
      const j = randInt(rnd, lines.length);
      [lines[i], lines[j]] = [lines[j], lines[i]];
      out = lines.join('\n');
    }
  }
  return out;
}

function checkInvariants(a: SdpAnswer, where: string): void {
  assert.ok(Array.isArray(a.problems) && Array.isArray(a.attributes) && Array.isArray(a.payloadTypes) && Array.isArray(a.rtpmap), where);
  if (a.mediaPort !== undefined) assert.ok(Number.isInteger(a.mediaPort) && a.mediaPort >= 0 && a.mediaPort <= 65535, where);
  if (a.ssrcNumber !== undefined) assert.ok(Number.isInteger(a.ssrcNumber) && a.ssrcNumber >= 0 && a.ssrcNumber <= 0xffffffff, where);
  if (a.ssrcNumber !== undefined) assert.ok(a.ssrc !== undefined, where);
  for (const pt of a.payloadTypes) assert.ok(pt >= 0 && pt <= 127, where);
  for (const m of a.rtpmap) assert.ok(m.payloadType >= 0 && m.payloadType <= 127 && m.encoding.length > 0, where);
  if (a.transport !== undefined) assert.ok(a.transport === 'udp' || a.transport === 'tcp', where);
  if (a.setup !== undefined) assert.ok(a.setup === 'active' || a.setup === 'passive', where);
  for (const p of a.problems) assert.equal(typeof p, 'string', where);
}

test('fuzz: parseAnswer never throws and keeps its invariants (seeded, 30,000 cases)', () => {
  const seed = 0x5d9_f022;
  const rnd = mulberry32(seed);
  let withPort = 0;
  for (let i = 0; i < 30_000; i++) {
    let input: string;
    if (i % 3 === 2) {
      // Line soup from the pieces.
      input = '';
      const n = randInt(rnd, 60);
      for (let k = 0; k < n; k++) input += PIECES[randInt(rnd, PIECES.length)];
    } else {
      input = mutate(rnd, SAMPLES[randInt(rnd, SAMPLES.length)]);
    }
    let a: SdpAnswer;
    try {
      a = parseAnswer(input);
    } catch (err) {
      assert.fail(`seed ${seed} case ${i} threw ${String(err)} on ${JSON.stringify(input)}`);
    }
    checkInvariants(a, `seed ${seed} case ${i}: ${JSON.stringify(input)}`);
    if (a.mediaPort !== undefined) withPort++;
  }
  assert.ok(withPort > 5_000, `mutated answers still mostly parse (${withPort})`);
});
