import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSipMessage, uriUser } from './parse.ts';
import { mulberry32 } from '../testing/prng.ts';

const lines = [
  'REGISTER sip:34020000002000000001@3402000000 SIP/2.0',
  'Via: SIP/2.0/UDP 192.168.1.64:5060;rport;branch=z9hG4bK1234',
  'From: <sip:34020000001320000001@3402000000>;tag=111',
  'To: <sip:34020000001320000001@3402000000>',
  'Call-ID: 42@192.168.1.64',
  'CSeq: 1 REGISTER',
  'Contact: <sip:34020000001320000001@192.168.1.64:5060>',
  'Max-Forwards: 70',
  'Expires: 3600',
  'Content-Length: 0',
];
const message = (ls: string[], body = '') => Buffer.from(`${ls.join('\r\n')}\r\n\r\n${body}`, 'latin1');

test('a device REGISTER parses with its headers', () => {
  const r = parseSipMessage(message(lines));
  assert.ok(r.ok);
  assert.equal(r.message.method, 'REGISTER');
  assert.equal(r.message.headers.cseq.seq, 1);
  assert.equal(uriUser(r.message.headers.from.uri), '34020000001320000001');
  assert.equal(r.droppedHeaderLines, 0);
});

test('a header line the package cannot read costs that line, not the message', () => {
  const broken = [...lines.slice(0, 5), 'this line has no colon', 'X-Garbage', ...lines.slice(5)];
  const r = parseSipMessage(message(broken));
  assert.ok(r.ok);
  assert.equal(r.droppedHeaderLines, 2);
  assert.equal(r.message.headers['call-id'], '42@192.168.1.64');
});

test('bodies are bytes: GB2312 survives, Content-Length counts bytes', () => {
  const body = Buffer.from([0x3c, 0x61, 0x3e, 0xb4, 0xf3, 0xc3, 0xc5, 0x3c, 0x2f, 0x61, 0x3e]);
  const ls = lines.map((l) => (l.startsWith('Content-Length') ? `Content-Length: ${body.length}` : l));
  const r = parseSipMessage(Buffer.concat([message(ls), body]));
  assert.ok(r.ok);
  assert.deepEqual(r.body, body);
});

test('missing essential headers or garbage is rejected with a reason', () => {
  assert.deepEqual(parseSipMessage(message(lines.filter((l) => !l.startsWith('Call-ID')))), { ok: false, reason: 'missing-headers' });
  assert.deepEqual(parseSipMessage(Buffer.from('hello world\r\n\r\n')), { ok: false, reason: 'unparsable' });
  assert.deepEqual(parseSipMessage(Buffer.alloc(70_000, 'x')), { ok: false, reason: 'too-large' });
});

test('100,000 mutated messages never throw', () => {
  const random = mulberry32(11);
  const base = message(lines, '<Notify><CmdType>Keepalive</CmdType></Notify>');
  let ok = 0;
  for (let i = 0; i < 100_000; i++) {
    const b = Buffer.from(base);
    const edits = 1 + Math.floor(random() * 6);
    for (let e = 0; e < edits; e++) b[Math.floor(random() * b.length)] = Math.floor(random() * 256);
    const cut = random() < 0.2 ? b.subarray(0, Math.floor(random() * b.length)) : b;
    const r = parseSipMessage(cut);
    if (r.ok) ok++;
  }
  assert.ok(ok > 0, 'some mutations still parse');
});
