/**
 * The baseline for the registration benchmark: the most trivial digest REGISTER responder the npm
 * `sip` package allows (sip.start + sip/digest, contexts in a Map, no storage, no queries).
 * `node bench/sip-baseline.ts <port>`; prints "ready".
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const sip = require('sip') as {
  start(o: object, h: (rq: Record<string, unknown>) => void): void;
  send(m: object): void;
  makeResponse(rq: object, status: number, reason: string, ext?: object): Record<string, unknown> & { headers: Record<string, unknown> };
};
const digest = require('sip/digest') as {
  challenge(ctx: object, rs: object): object;
  authenticateRequest(ctx: object, rq: object, creds: object): boolean;
};

const port = Number(process.argv[2]);
const realm = '3402000000';
const contexts = new Map<string, object>();

sip.start({ port, address: '127.0.0.1', tcp: false }, (rq) => {
  if (rq.method !== 'REGISTER') {
    sip.send(sip.makeResponse(rq, 200, 'OK'));
    return;
  }
  const auth = (rq.headers as { authorization?: { nonce?: string }[] }).authorization;
  const nonce = auth?.[0]?.nonce?.replace(/"/g, '');
  const ctx = nonce ? contexts.get(nonce) : undefined;
  if (!ctx) {
    // qop 'auth' only: the package offers 'auth,auth-int' by default, which SIPp (and devices) refuse.
    const fresh = { realm, qop: 'auth' };
    const rs = digest.challenge(fresh, sip.makeResponse(rq, 401, 'Unauthorized')) as { headers: { 'www-authenticate': { nonce: string }[] } };
    contexts.set(rs.headers['www-authenticate'][0].nonce.replace(/"/g, ''), fresh);
    sip.send(rs);
    return;
  }
  contexts.delete(nonce!);
  const user = ((rq.headers as { from: { uri: string } }).from.uri.match(/sip:([^@]+)@/) ?? [])[1];
  if (digest.authenticateRequest(ctx, rq, { user, password: 'bench-secret' })) {
    sip.send(sip.makeResponse(rq, 200, 'OK', { headers: { date: new Date().toISOString().slice(0, 23) } }));
  }
  else sip.send(sip.makeResponse(rq, 403, 'Forbidden'));
});
process.stdout.write('ready\n');
