import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SipMessage } from 'sip';
import { ClientTransactions, T1, T2 } from './client-transactions.ts';

const ok: SipMessage = { status: 200, reason: 'OK', headers: {} as SipMessage['headers'] };
const trying: SipMessage = { status: 100, reason: 'Trying', headers: {} as SipMessage['headers'] };

function harness(reliable: boolean) {
  let now = 1_000_000;
  const ct = new ClientTransactions(() => now);
  const sends: number[] = [];
  const responses: number[] = [];
  let timeouts = 0;
  ct.start('k', {
    bytes: Buffer.from('MESSAGE'),
    reliable,
    send: () => sends.push(now),
    onResponse: (r) => responses.push(r.status ?? 0),
    onTimeout: () => timeouts++,
  });
  const advance = (ms: number) => {
    for (let t = 0; t < ms; t += 100) {
      now += 100;
      ct.tick();
    }
  };
  return { ct, sends, responses, timeouts: () => timeouts, advance, start: now };
}

test('UDP: resent at T1, 2·T1, 4·T1 … capped at T2 until the final response', () => {
  const h = harness(false);
  h.advance(8000);
  const gaps = h.sends.slice(1).map((t, i) => t - h.sends[i]);
  assert.deepEqual(gaps.slice(0, 4), [T1, 2 * T1, 4 * T1, T2]);
  const before = h.sends.length;
  assert.equal(h.ct.onResponse('k', ok), true);
  h.advance(10_000);
  assert.equal(h.sends.length, before, 'no resend after the final response');
  assert.deepEqual(h.responses, [200]);
  assert.equal(h.ct.onResponse('k', ok), true, 'a late copy of the response belongs to the completed transaction');
  assert.equal(h.ct.onResponse('other', ok), false);
  h.ct.stop();
});

test('a provisional response slows resends to T2; Timer F ends the transaction with a timeout', () => {
  const h = harness(false);
  h.ct.onResponse('k', trying);
  h.advance(40_000);
  assert.equal(h.timeouts(), 1);
  assert.deepEqual(h.responses, [100]);
  assert.equal(h.ct.size, 0);
  h.ct.stop();
});

test('reliable transports send once and time out at Timer F', () => {
  const h = harness(true);
  h.advance(40_000);
  assert.equal(h.sends.length, 1);
  assert.equal(h.timeouts(), 1);
  h.ct.stop();
});
