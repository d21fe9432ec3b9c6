import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import crypto, { createHash } from 'node:crypto';
import { syncBuiltinESMExports } from 'node:module';
import {
  MAX_AUTH_HEADER_LENGTH,
  NonceIssuer,
  challengeHeader,
  clientAuthorization,
  digestHa1,
  nonceId,
  parseAuthorization,
  parseChallenge,
  verifyDigest,
} from './digest.ts';
import type { DigestAuthorization } from './digest.ts';
import { mulberry32, randInt } from '../testing/prng.ts';

// RFC 2617 §3.5, verbatim (the header folded over lines as printed there).
const RFC_HEADER = `Digest username="Mufasa",
                 realm="testrealm@host.com",
                 nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",
                 uri="/dir/index.html",
                 qop=auth,
                 nc=00000001,
                 cnonce="0a4f113b",
                 response="6629fae49393a05397450978507c4ef1",
                 opaque="5ccc069c403ebaf9f0171e9517f40e41"`;

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

test('RFC 2617 §3.5 example: parsed and verified', () => {
  const auth = parseAuthorization(RFC_HEADER);
  assert.deepEqual(auth, {
    username: 'Mufasa',
    realm: 'testrealm@host.com',
    nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093',
    uri: '/dir/index.html',
    response: '6629fae49393a05397450978507c4ef1',
    qop: 'auth',
    nc: '00000001',
    cnonce: '0a4f113b',
    opaque: '5ccc069c403ebaf9f0171e9517f40e41',
  });
  assert.ok(auth);
  const ok = { auth, method: 'GET', realm: 'testrealm@host.com', password: 'Circle Of Life' };
  assert.equal(verifyDigest(ok), true);
  assert.equal(verifyDigest({ ...ok, password: 'circle of life' }), false);
  assert.equal(verifyDigest({ ...ok, method: 'POST' }), false);
  assert.equal(verifyDigest({ ...ok, auth: { ...auth, nc: '00000002' } }), false);
  assert.equal(verifyDigest({ ...ok, auth: { ...auth, cnonce: '0a4f113c' } }), false);
  assert.equal(verifyDigest({ ...ok, auth: { ...auth, uri: '/dir/index.htm' } }), false);
  // HA1 instead of the password.
  assert.equal(verifyDigest({ auth, method: 'GET', realm: 'testrealm@host.com', ha1: digestHa1('Mufasa', 'testrealm@host.com', 'Circle Of Life') }), true);
  assert.equal(verifyDigest({ auth, method: 'GET', realm: 'testrealm@host.com', ha1: 'not hex' }), false);
  assert.equal(verifyDigest({ auth, method: 'GET', realm: 'testrealm@host.com' }), false, 'neither password nor HA1');
});

test('RFC 2617 §3.5 example reproduced by the client side', () => {
  const header = clientAuthorization({
    username: 'Mufasa',
    password: 'Circle Of Life',
    realm: 'testrealm@host.com',
    nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093',
    uri: '/dir/index.html',
    method: 'GET',
    qop: 'auth,auth-int',
    cnonce: '0a4f113b',
    opaque: '5ccc069c403ebaf9f0171e9517f40e41',
  });
  const auth = parseAuthorization(header);
  assert.equal(auth?.response, '6629fae49393a05397450978507c4ef1');
  assert.equal(auth?.qop, 'auth');
  assert.equal(auth?.nc, '00000001');
  assert.equal(auth?.opaque, '5ccc069c403ebaf9f0171e9517f40e41');
});

test('GB28181 REGISTER without qop: a vector computed independently', () => {
  const username = '34020000001320000001';
  const realm = '3402000000';
  const password = '12345678';
  const nonce = 'e5a2c0b0f2a14f7c9a7b6d1e0f3c2b1a';
  const uri = 'sip:34020000002000000001@3402000000';
  const ha1 = md5(`${username}:${realm}:${password}`);
  const ha2 = md5(`REGISTER:${uri}`);
  const response = md5(`${ha1}:${nonce}:${ha2}`);
  // As a Hikvision camera writes it: no qop, algorithm last and bare.
  const header = `Digest username="${username}",realm="${realm}",nonce="${nonce}",uri="${uri}",response="${response}",algorithm=MD5`;
  const auth = parseAuthorization(header);
  assert.ok(auth);
  assert.equal(verifyDigest({ auth, method: 'REGISTER', realm, password }), true);
  assert.equal(verifyDigest({ auth, method: 'REGISTER', realm, password: '12345679' }), false);
  assert.equal(verifyDigest({ auth: { ...auth, response: response.toUpperCase() }, method: 'REGISTER', realm, password }), true, 'hex case');
  assert.equal(verifyDigest({ auth: { ...auth, algorithm: undefined }, method: 'REGISTER', realm, password }), true, 'no algorithm');
  assert.equal(verifyDigest({ auth: { ...auth, algorithm: 'md5' }, method: 'REGISTER', realm, password }), true);
  assert.equal(verifyDigest({ auth: { ...auth, algorithm: 'MD5-sess' }, method: 'REGISTER', realm, password }), false);
  assert.equal(verifyDigest({ auth: { ...auth, algorithm: 'SHA-256' }, method: 'REGISTER', realm, password }), false);
  // The client side produces the same response.
  const mine = parseAuthorization(clientAuthorization({ username, password, realm, nonce, uri, method: 'REGISTER' }));
  assert.equal(mine?.response, response);
  assert.equal(mine?.qop, undefined);
  assert.equal(mine?.cnonce, undefined);
});

test('qop variants: auth-int and unknown qop fail, auth needs nc and cnonce', () => {
  const base = { username: 'u', password: 'p', realm: '3402000000', nonce: 'n', uri: 'sip:x@y', method: 'REGISTER' };
  const auth = parseAuthorization(clientAuthorization({ ...base, qop: 'auth', nc: 7, cnonce: 'abc' }));
  assert.ok(auth);
  assert.equal(auth.nc, '00000007');
  const v = (a: DigestAuthorization) => verifyDigest({ auth: a, method: 'REGISTER', realm: '3402000000', password: 'p' });
  assert.equal(v(auth), true);
  assert.equal(v({ ...auth, qop: 'AUTH' }), false, 'the hash covers the qop text as sent');
  assert.equal(v({ ...auth, qop: 'auth-int' }), false);
  assert.equal(v({ ...auth, qop: 'bogus' }), false);
  assert.equal(v({ ...auth, nc: undefined }), false);
  assert.equal(v({ ...auth, cnonce: undefined }), false);
  assert.equal(v({ ...auth, response: auth.response.slice(1) }), false, 'short response');
  assert.equal(v({ ...auth, response: 'z'.repeat(32) }), false, 'not hex');
  assert.throws(() => clientAuthorization({ ...base, qop: 'auth-int' }), /only auth/);
  assert.doesNotThrow(() => clientAuthorization({ ...base, qop: '  ' }), 'blank qop list = no qop');
});

test('realm: the header must carry ours (case-insensitive), hashed as sent', () => {
  const realm = 'Example.Realm';
  const header = clientAuthorization({ username: 'u', password: 'p', realm: 'example.realm', nonce: 'n', uri: 'sip:a@b', method: 'REGISTER' });
  const auth = parseAuthorization(header);
  assert.ok(auth);
  assert.equal(verifyDigest({ auth, method: 'REGISTER', realm, password: 'p' }), true);
  const foreign = parseAuthorization(clientAuthorization({ username: 'u', password: 'p', realm: '3402000000', nonce: 'n', uri: 'sip:a@b', method: 'REGISTER' }));
  assert.ok(foreign);
  assert.equal(verifyDigest({ auth: foreign, method: 'REGISTER', realm: '4401000000', password: 'p' }), false, 'a correct digest for another realm');
});

test('the response is compared with crypto.timingSafeEqual on the raw 16 bytes', (t) => {
  const calls: [number, number][] = [];
  const real = crypto.timingSafeEqual;
  const spy = mock.method(crypto, 'timingSafeEqual', (a: NodeJS.ArrayBufferView, b: NodeJS.ArrayBufferView) => {
    calls.push([a.byteLength, b.byteLength]);
    return real(a, b);
  });
  syncBuiltinESMExports();
  t.after(() => {
    spy.mock.restore();
    syncBuiltinESMExports();
  });
  const header = clientAuthorization({ username: 'u', password: 'p', realm: 'r', nonce: 'n', uri: 'sip:a@b', method: 'REGISTER' });
  const auth = parseAuthorization(header);
  assert.ok(auth);
  assert.equal(verifyDigest({ auth, method: 'REGISTER', realm: 'r', password: 'p' }), true);
  assert.equal(verifyDigest({ auth, method: 'REGISTER', realm: 'r', password: 'q' }), false);
  assert.deepEqual(calls, [
    [16, 16],
    [16, 16],
  ]);
});

test('challenge headers', () => {
  assert.equal(challengeHeader({ realm: '3402000000', nonce: 'abc', qop: false }), 'Digest realm="3402000000", nonce="abc", algorithm=MD5');
  assert.equal(
    challengeHeader({ realm: '3402000000', nonce: 'abc', qop: true, stale: true }),
    'Digest realm="3402000000", nonce="abc", algorithm=MD5, qop="auth", stale=TRUE',
  );
  assert.equal(
    challengeHeader({ realm: 'a"b\\c', nonce: 'n', qop: false, stale: false, opaque: 'o' }),
    'Digest realm="a\\"b\\\\c", nonce="n", opaque="o", algorithm=MD5',
  );
  assert.deepEqual(parseChallenge(challengeHeader({ realm: 'a"b\\c', nonce: 'n', qop: true, stale: true, opaque: 'o' })), {
    realm: 'a"b\\c',
    nonce: 'n',
    algorithm: 'MD5',
    qop: 'auth',
    opaque: 'o',
    stale: true,
  });
  assert.deepEqual(parseChallenge('digest REALM=3402000000,NONCE=xyz'), { realm: '3402000000', nonce: 'xyz', stale: false });
  assert.equal(parseChallenge('Basic realm="x"'), undefined);
  assert.equal(parseChallenge('Digest realm="x"'), undefined, 'no nonce');
});

test('tolerant Authorization parsing', () => {
  const want = { username: '34020000001320000001', realm: '3402000000', nonce: 'n1', uri: 'sip:34020000002000000001@3402000000', response: '0123456789abcdef0123456789abcdef' };
  const cases: string[] = [
    // Bare values, any order, no spaces.
    'Digest uri=sip:34020000002000000001@3402000000,response=0123456789abcdef0123456789abcdef,username=34020000001320000001,realm=3402000000,nonce=n1',
    // Extra spaces everywhere, spaces around '=', empty list elements, tabs.
    '  Digest   username = "34020000001320000001" ,, realm\t=\t"3402000000" ,nonce="n1",  uri = "sip:34020000002000000001@3402000000" , response="0123456789abcdef0123456789abcdef" , ',
    // Case-insensitive scheme and parameter names.
    'DIGEST USERNAME="34020000001320000001", Realm="3402000000", NONCE="n1", Uri="sip:34020000002000000001@3402000000", RESPONSE="0123456789abcdef0123456789abcdef"',
    // Unknown parameters, bare words and a stray token are ignored.
    'Digest foo="a,b=\\"c", username="34020000001320000001", bare, realm="3402000000", nonce="n1", uri="sip:34020000002000000001@3402000000", response="0123456789abcdef0123456789abcdef", x=y',
    // The same value twice is fine.
    'Digest username="34020000001320000001", realm="3402000000", realm=3402000000, nonce="n1", uri="sip:34020000002000000001@3402000000", response="0123456789abcdef0123456789abcdef"',
  ];
  for (const c of cases) assert.deepEqual(parseAuthorization(c), want, c);

  // Commas and escaped quotes inside quoted strings.
  const tricky = parseAuthorization('Digest username="a,b\\"c\\\\", realm="r, s", nonce="n", uri="sip:x@y;a=1,2", response="0123456789abcdef0123456789abcdef", cnonce="\\"", qop="auth", nc=00000001');
  assert.deepEqual(tricky, { username: 'a,b"c\\', realm: 'r, s', nonce: 'n', uri: 'sip:x@y;a=1,2', response: '0123456789abcdef0123456789abcdef', cnonce: '"', qop: 'auth', nc: '00000001' });

  // Junk glued to a closing quote is dropped up to the next comma.
  assert.equal(parseAuthorization('Digest username="u"junk, realm="r", nonce="n", uri="u", response="x"')?.username, 'u');

  const rejected: string[] = [
    '',
    'Digest',
    'Basic dXNlcjpwYXNz',
    'Digestusername="u", realm="r", nonce="n", uri="u", response="x"',
    'Digest realm="r", nonce="n", uri="u", response="x"', // no username
    'Digest username="u", nonce="n", uri="u", response="x"', // no realm
    'Digest username="u", realm="r", uri="u", response="x"', // no nonce
    'Digest username="u", realm="r", nonce="n", response="x"', // no uri
    'Digest username="u", realm="r", nonce="n", uri="u"', // no response
    'Digest username="", realm="r", nonce="n", uri="u", response="x"', // empty username
    'Digest username="u, realm="r", nonce="n", uri="u", response="x', // unterminated quote
    'Digest username="u", username="v", realm="r", nonce="n", uri="u", response="x"', // ambiguous
    `Digest username="${'u'.repeat(MAX_AUTH_HEADER_LENGTH)}", realm="r", nonce="n", uri="u", response="x"`, // too long
  ];
  for (const r of rejected) assert.equal(parseAuthorization(r), undefined, r.slice(0, 80));
});

test('nonces: ok within the lifetime, stale after, invalid when forged or for another client', () => {
  let now = 1_700_000_000_000;
  const issuer = new NonceIssuer({ secret: 'a shared secret of enough length', now: () => now });
  assert.equal(issuer.lifetimeMs, 300_000);
  const nonce = issuer.issue('192.0.2.10');
  assert.match(nonce, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(issuer.verify(nonce, '192.0.2.10'), 'ok');
  assert.equal(issuer.verify(nonce, '192.0.2.11'), 'invalid', 'bound to the client key');
  assert.equal(issuer.expiresAt(nonce), now + 300_000);
  now += 300_000;
  assert.equal(issuer.verify(nonce, '192.0.2.10'), 'ok', 'at the very end of its lifetime');
  now += 1;
  assert.equal(issuer.verify(nonce, '192.0.2.10'), 'stale');
  assert.equal(issuer.verify(nonce, '192.0.2.11'), 'invalid', 'stale only if genuine');

  // Another replica with the same secret verifies it; one with another secret does not.
  const replica = new NonceIssuer({ secret: Buffer.from('a shared secret of enough length'), lifetimeMs: 600_000 });
  assert.equal(replica.verify(nonce, '192.0.2.10', now), 'ok');
  const stranger = new NonceIssuer({ secret: 'another secret of enough length' });
  assert.equal(stranger.verify(nonce, '192.0.2.10', now), 'invalid');

  // Issued in the future: within the clock skew allowance ok, beyond it invalid.
  const ahead = issuer.issue('c', now + 20_000);
  assert.equal(issuer.verify(ahead, 'c', now), 'ok');
  const farAhead = issuer.issue('c', now + 60_000);
  assert.equal(issuer.verify(farAhead, 'c', now), 'invalid');

  assert.throws(() => new NonceIssuer({ secret: 'short' }), RangeError);
  assert.throws(() => new NonceIssuer({ secret: 'a shared secret of enough length', lifetimeMs: 0 }), RangeError);
});

test('nonces: every one-character change, truncation or non-canonical spelling is invalid', () => {
  const issuer = new NonceIssuer({ secret: 'a shared secret of enough length' });
  const now = 1_700_000_000_000;
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  for (let k = 0; k < 8; k++) {
    const nonce = issuer.issue('10.0.0.1', now);
    for (let i = 0; i < nonce.length; i++) {
      const other = alphabet[(alphabet.indexOf(nonce[i]) + 1 + k) % 64];
      const forged = nonce.slice(0, i) + other + nonce.slice(i + 1);
      assert.equal(issuer.verify(forged, '10.0.0.1', now), 'invalid', `position ${i}`);
    }
    assert.equal(issuer.verify(nonce.slice(0, -1), '10.0.0.1', now), 'invalid');
    assert.equal(issuer.verify(nonce + 'A', '10.0.0.1', now), 'invalid');
    assert.equal(issuer.verify(nonce + '=', '10.0.0.1', now), 'invalid');
    assert.equal(issuer.verify(nonce.replace(/-/g, '+').replace(/_/g, '/'), '10.0.0.1', now), /[-_]/.test(nonce) ? 'invalid' : 'ok');
  }
  for (const garbage of ['', 'x', 'dcd98b7102dd2f0e8b11d0f600bfb0c093', '!'.repeat(43), 'A'.repeat(43), 'A'.repeat(10_000)]) {
    assert.equal(issuer.verify(garbage, '10.0.0.1', now), 'invalid');
    assert.equal(typeof nonceId(garbage), 'string');
  }
  assert.equal(issuer.expiresAt('garbage'), undefined);
});

test('nonceId: short, stable, distinct per nonce and never confused with garbage', () => {
  const issuer = new NonceIssuer({ secret: 'a shared secret of enough length' });
  const ids = new Set<string>();
  for (let i = 0; i < 10_000; i++) {
    const nonce = issuer.issue('10.0.0.1', 1_700_000_000_000);
    const id = nonceId(nonce);
    assert.equal(id.length, 22);
    assert.equal(nonceId(nonce), id);
    ids.add(id);
  }
  assert.equal(ids.size, 10_000);
  // The id ignores the client binding: the same timestamp and random part is the same nonce.
  assert.notEqual(nonceId('dcd98b7102dd2f0e8b11d0f600bfb0c093'), nonceId('dcd98b7102dd2f0e8b11d0f600bfb0c094'));
  assert.ok(nonceId('anything').startsWith('x'));
});

test('a whole REGISTER exchange, and a throughput note (no assertion on speed)', (t) => {
  const issuer = new NonceIssuer({ secret: 'a shared secret of enough length' });
  const realm = '3402000000';
  const n = 5_000;
  const started = process.hrtime.bigint();
  let ok = 0;
  for (let i = 0; i < n; i++) {
    const nonce = issuer.issue('198.51.100.7');
    const c = parseChallenge(challengeHeader({ realm, nonce, qop: false }));
    assert.ok(c);
    const header = clientAuthorization({ username: '34020000001320000001', password: 'pw', realm: c.realm, nonce: c.nonce, uri: 'sip:34020000002000000001@3402000000', method: 'REGISTER' });
    const auth = parseAuthorization(header);
    if (auth && issuer.verify(auth.nonce, '198.51.100.7') === 'ok' && verifyDigest({ auth, method: 'REGISTER', realm, password: 'pw' })) ok++;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  assert.equal(ok, n);
  // Both sides of the exchange are measured here; the server's share is about half of it.
  t.diagnostic(`${Math.round(n / seconds)} full challenge/answer/verify round trips per second on one core`);
});

// ---- fuzzing ----

const FUZZ_ALPHABET = 'Digest DIGESTusernamerealmnonceuriresponseqopnccnonceopaquealgorithm="=,,\\\\" \t\r\nMD5auth-int0123456789abcdef:@;sip\u00e9\u4e2d\0';

function randomString(rnd: () => number, max: number, alphabet: string): string {
  let s = '';
  const len = randInt(rnd, max);
  for (let i = 0; i < len; i++) s += alphabet[randInt(rnd, alphabet.length)];
  return s;
}

function randomValue(rnd: () => number): string {
  return randomString(rnd, 24, 'ab09:@;/.,="\\ \t-_\u00e9');
}

function quoteValue(s: string): string {
  return `"${s.replace(/["\\]/g, '\\$&')}"`;
}

test('fuzz: well-formed headers with random quoted values parse back exactly (seeded)', () => {
  const seed = 0x5eed_d1;
  const rnd = mulberry32(seed);
  const fields = ['username', 'realm', 'nonce', 'uri', 'response', 'algorithm', 'qop', 'nc', 'cnonce', 'opaque'] as const;
  for (let i = 0; i < 20_000; i++) {
    const values: Record<string, string> = {};
    const parts: string[] = [];
    for (const f of fields) {
      const required = fields.indexOf(f) < 5;
      if (!required && rnd() < 0.5) continue;
      let v = randomValue(rnd);
      if (required && v === '') v = 'x';
      values[f] = v;
      const name = rnd() < 0.3 ? f.toUpperCase() : f;
      const sp = () => (rnd() < 0.2 ? ' \t'.slice(0, 1 + randInt(rnd, 2)) : '');
      parts.push(`${name}${sp()}=${sp()}${quoteValue(v)}`);
    }
    if (rnd() < 0.3) parts.push(`extra=${quoteValue(randomValue(rnd))}`);
    // Shuffle.
    for (let k = parts.length - 1; k > 0; k--) {
      const j = randInt(rnd, k + 1);
      [parts[k], parts[j]] = [parts[j], parts[k]];
    }
    const header = `${rnd() < 0.5 ? 'Digest' : 'digest'} ${parts.join(rnd() < 0.5 ? ', ' : ',')}`;
    assert.deepEqual({ ...parseAuthorization(header) }, values, `seed ${seed} case ${i}: ${header}`);
  }
});

test('fuzz: parseAuthorization never throws on hostile input (seeded, 40,000 cases)', () => {
  const seed = 0xd16e57;
  const rnd = mulberry32(seed);
  const valid = clientAuthorization({ username: '34020000001320000001', password: 'p', realm: '3402000000', nonce: 'abc', uri: 'sip:a@b', method: 'REGISTER', qop: 'auth', cnonce: 'c' });
  let parsed = 0;
  for (let i = 0; i < 40_000; i++) {
    let input: string;
    if (i % 2 === 0) {
      input = 'Digest ' + randomString(rnd, 200, FUZZ_ALPHABET);
    } else {
      // Mutate a valid header: delete, insert or replace a few characters.
      const chars = [...valid];
      const edits = 1 + randInt(rnd, 6);
      for (let e = 0; e < edits; e++) {
        const at = randInt(rnd, chars.length + 1);
        const op = randInt(rnd, 3);
        const ch = FUZZ_ALPHABET[randInt(rnd, FUZZ_ALPHABET.length)];
        if (op === 0) chars.splice(at, 1);
        else if (op === 1) chars.splice(at, 0, ch);
        else chars[at] = ch;
      }
      input = chars.join('');
    }
    let auth: DigestAuthorization | undefined;
    try {
      auth = parseAuthorization(input);
    } catch (err) {
      assert.fail(`seed ${seed} case ${i} threw ${String(err)} on ${JSON.stringify(input)}`);
    }
    if (auth === undefined) continue;
    parsed++;
    for (const f of ['username', 'realm', 'nonce', 'uri', 'response'] as const) assert.ok(typeof auth[f] === 'string' && auth[f].length > 0);
    assert.equal(typeof verifyDigest({ auth, method: 'REGISTER', realm: '3402000000', password: 'p' }), 'boolean');
  }
  assert.ok(parsed > 1_000, `the mutations keep many headers parseable (${parsed})`);
});
