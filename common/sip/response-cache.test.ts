import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SipMessage } from 'sip';
import { ResponseCache, serverTransactionKey } from './response-cache.ts';

test('entries live one to two lifetimes, pending then answered; the bound refuses new entries', () => {
  let now = 0;
  const cache = new ResponseCache<{ remote: string }>({ lifetimeMs: 1000, maxEntries: 3, now: () => now });
  assert.equal(cache.begin('a', { remote: 'x' }), true);
  assert.deepEqual(cache.get('a'), { remote: 'x' });
  cache.complete('a', Buffer.from('200'));
  assert.deepEqual(cache.get('a'), Buffer.from('200'));
  now = 1500; // rotated once: still there
  assert.deepEqual(cache.get('a'), Buffer.from('200'));
  now = 2600; // rotated twice: gone
  assert.equal(cache.get('a'), undefined);
  for (const k of ['b', 'c', 'd']) assert.equal(cache.begin(k, { remote: k }), true);
  assert.equal(cache.begin('e', { remote: 'e' }), false);
  cache.forget('b');
  assert.equal(cache.begin('e', { remote: 'e' }), true);
  now = 10_000; // long silence: everything stale
  assert.equal(cache.size > 0, true);
  assert.equal(cache.get('c'), undefined);
  assert.equal(cache.size, 0);
});

test('transaction keys: branch + sent-by + method + CSeq, ACK with its INVITE; RFC 2543 requests by dialog fields', () => {
  const m = (branch: string, method: string, seq = 1): SipMessage => ({
    method,
    uri: 'sip:x@y',
    headers: {
      via: [{ protocol: 'UDP', host: '10.0.0.2', port: 5060, params: { branch } }],
      'call-id': 'c1',
      cseq: { seq, method },
      from: { uri: 'sip:a@b', params: { tag: 't' } },
      to: { uri: 'sip:a@b', params: {} },
    },
  });
  assert.equal(serverTransactionKey(m('z9hG4bK1', 'REGISTER')), serverTransactionKey(m('z9hG4bK1', 'REGISTER')));
  assert.notEqual(serverTransactionKey(m('z9hG4bK1', 'REGISTER')), serverTransactionKey(m('z9hG4bK1', 'REGISTER', 2)), 'a reused branch with a new CSeq is a new request');
  assert.notEqual(serverTransactionKey(m('z9hG4bK1', 'REGISTER')), serverTransactionKey(m('z9hG4bK2', 'REGISTER')));
  assert.equal(serverTransactionKey(m('z9hG4bK1', 'ACK')), serverTransactionKey(m('z9hG4bK1', 'INVITE')));
  assert.notEqual(serverTransactionKey(m('old', 'MESSAGE', 1)), serverTransactionKey(m('old', 'MESSAGE', 2)));
});
