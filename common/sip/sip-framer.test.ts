import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readContentLength, SipTcpFramer } from './sip-framer.ts';
import { mulberry32 } from '../testing/prng.ts';

const register = 'REGISTER sip:3402000000 SIP/2.0\r\nVia: SIP/2.0/TCP 10.0.0.2:5060;branch=z9hG4bK1\r\nCall-ID: a\r\nContent-Length: 0\r\n\r\n';
const withBody = (body: string) => `MESSAGE sip:3402000000 SIP/2.0\r\nCall-ID: b\r\nl: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
const noLength = 'OPTIONS sip:3402000000 SIP/2.0\r\nCall-ID: c\r\n\r\n';

function frame(input: Buffer, splits: number[]): { messages: string[]; error?: string } {
  const messages: string[] = [];
  const f = new SipTcpFramer((m) => messages.push(m.toString('latin1')));
  let at = 0;
  for (const s of [...splits, input.length]) {
    const error = f.push(input.subarray(at, s));
    if (error) return { messages, error };
    at = s;
  }
  return { messages };
}

test('messages come out whole whatever the split, with keep-alive CRLFs and missing Content-Length', () => {
  const body = '<?xml version="1.0"?><Notify><CmdType>Keepalive</CmdType></Notify>';
  const stream = Buffer.from(`\r\n\r\n${register}${withBody(body)}\r\n${noLength}${register}`, 'latin1');
  const want = [register, withBody(body), noLength, register];
  assert.deepEqual(frame(stream, []).messages, want);
  const random = mulberry32(3);
  for (let i = 0; i < 500; i++) {
    const splits = Array.from({ length: 1 + Math.floor(random() * 8) }, () => Math.floor(random() * stream.length)).sort((a, b) => a - b);
    assert.deepEqual(frame(stream, splits).messages, want, `splits ${splits}`);
  }
});

test('limits: an endless header block, a huge or garbled Content-Length end the stream with a reason', () => {
  assert.equal(frame(Buffer.alloc(40_000, 'a'), [100, 20_000]).error, 'header block too long');
  assert.equal(frame(Buffer.from('MESSAGE x SIP/2.0\r\nContent-Length: 99999999\r\n\r\n'), []).error, 'body too large');
  assert.equal(frame(Buffer.from('MESSAGE x SIP/2.0\r\nContent-Length: 12x\r\n\r\n'), []).error, 'bad Content-Length');
});

test('readContentLength finds the long and the compact form, or says it is absent', () => {
  const h = Buffer.from(register, 'latin1');
  assert.equal(readContentLength(h, h.indexOf('\r\n\r\n')), 0);
  const c = Buffer.from(withBody('abc'), 'latin1');
  assert.equal(readContentLength(c, c.indexOf('\r\n\r\n')), 3);
  const n = Buffer.from(noLength, 'latin1');
  assert.equal(readContentLength(n, n.indexOf('\r\n\r\n')), -1);
});
