/**
 * The SIPp harness (test/support/sipp.ts and its scenarios) against a small SIP registrar written
 * here with node:dgram/node:net: it challenges REGISTER with a 401 (Digest, MD5, with or without
 * qop="auth"), checks the digest with node:crypto, refuses a reused nonce (or nc) with a fresh 401,
 * answers 200 with a Date header or 403 for a wrong password, and answers MESSAGE 200 for a
 * registered device, 404 otherwise. It records what it saw so the tests can check what SIPp sent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import {
  SIPP_EXIT,
  deviceCsv,
  gbDeviceIds,
  parseSippStats,
  runSipp,
  sippDevices,
  startSippBackground,
} from './support/sipp.ts';
import type { SippOptions, SippResult } from './support/sipp.ts';

const SERVER_ID = '34020000002000000001';
const REALM = '3402000000';
const PASSWORD = 'secret';

// ---------------------------------------------------------------------------------------------
// A minimal SIP registrar

interface SipMessage {
  startLine: string;
  method: string | undefined;
  status: number | undefined;
  headers: [string, string][];
  body: Buffer;
  /** The Content-Length header matched the body. */
  lengthOk: boolean;
}

function header(m: SipMessage, name: string): string | undefined {
  return m.headers.find(([n]) => n.toLowerCase() === name.toLowerCase())?.[1];
}

/** Parses one message from `buf`; returns it with the bytes it used, or undefined when incomplete. */
function parseSip(buf: Buffer): { message: SipMessage; used: number } | undefined {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const lines = buf.toString('latin1', 0, end).split('\r\n');
  const headers: [string, string][] = [];
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
  }
  const lengthText = headers.find(([n]) => n.toLowerCase() === 'content-length')?.[1];
  const length = lengthText === undefined ? 0 : Number(lengthText);
  if (buf.length < end + 4 + length) return undefined;
  const body = buf.subarray(end + 4, end + 4 + length);
  const startLine = lines[0];
  const status = /^SIP\/2\.0 (\d{3})/.exec(startLine);
  const message: SipMessage = {
    startLine,
    method: status ? undefined : startLine.split(' ')[0],
    status: status ? Number(status[1]) : undefined,
    headers,
    body,
    lengthOk: lengthText !== undefined && Number.isInteger(length),
  };
  return { message, used: end + 4 + length };
}

function digestParams(value: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of value.replace(/^Digest\s+/i, '').matchAll(/(\w+)=("([^"]*)"|[^,\s]+)/g)) {
    out[m[1].toLowerCase()] = m[3] ?? m[2];
  }
  return out;
}

const md5 = (s: string): string => crypto.createHash('md5').update(s).digest('hex');
const userOf = (uriHeader: string | undefined): string => /sip:([^@>;]+)@/.exec(uriHeader ?? '')?.[1] ?? '';

interface Seen {
  method: string;
  deviceId: string;
  status: number;
  authorization?: string;
  digest?: Record<string, string>;
  expires?: number;
  cseq: string;
  body: string;
  contentType?: string;
  lengthOk: boolean;
}

interface RegistrarOptions {
  transport: 'udp' | 'tcp';
  qop: boolean;
  /** Put a Date header in the 200 to REGISTER (default true). */
  date?: boolean;
  /** Accept a reused nonce (a registrar with the replay hole, default false). */
  acceptReplay?: boolean;
}

class TestRegistrar {
  readonly seen: Seen[] = [];
  readonly registered = new Set<string>();
  /** Requests SIPp sent that are not answers to us: e.g. a Catalog Response MESSAGE. */
  readonly responses: SipMessage[] = [];
  port = 0;
  private readonly nonces = new Map<string, { used: boolean; lastNc: number }>();
  private udp: dgram.Socket | undefined;
  private tcp: net.Server | undefined;
  private readonly conns = new Set<net.Socket>();
  private readonly opts: RegistrarOptions;

  constructor(opts: RegistrarOptions) {
    this.opts = opts;
  }

  async start(): Promise<void> {
    if (this.opts.transport === 'udp') {
      const udp = dgram.createSocket('udp4');
      this.udp = udp;
      udp.on('message', (buf, rinfo) => {
        const parsed = parseSip(buf);
        if (parsed) this.handle(parsed.message, (out) => udp.send(out, rinfo.port, rinfo.address), rinfo);
      });
      await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve));
      this.port = udp.address().port;
    } else {
      const server = net.createServer((sock) => {
        this.conns.add(sock);
        sock.on('close', () => this.conns.delete(sock));
        sock.on('error', () => {});
        let pending = Buffer.alloc(0);
        sock.on('data', (d: Buffer) => {
          pending = Buffer.concat([pending, d]);
          for (let p = parseSip(pending); p; p = parseSip(pending)) {
            pending = pending.subarray(p.used);
            this.handle(p.message, (out) => sock.write(out), { address: sock.remoteAddress ?? '', port: sock.remotePort ?? 0 });
          }
        });
      });
      this.tcp = server;
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      this.port = (server.address() as net.AddressInfo).port;
    }
  }

  async stop(): Promise<void> {
    for (const c of this.conns) c.destroy();
    if (this.udp) await new Promise<void>((resolve) => this.udp!.close(() => resolve()));
    if (this.tcp) await new Promise<void>((resolve) => this.tcp!.close(() => resolve()));
  }

  /** Sends a Catalog query MESSAGE to a UDP device and resolves with SIPp's response to it. */
  async queryCatalog(deviceId: string, port: number, sn: number): Promise<SipMessage> {
    const udp = this.udp;
    assert.ok(udp, 'queryCatalog needs the UDP registrar');
    const body = `<?xml version="1.0" encoding="GB2312"?>\r\n<Query>\r\n<CmdType>Catalog</CmdType>\r\n<SN>${sn}</SN>\r\n<DeviceID>${deviceId}</DeviceID>\r\n</Query>\r\n`;
    const callId = `catalog-${sn}@127.0.0.1`;
    const msg = [
      `MESSAGE sip:${deviceId}@127.0.0.1:${port} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${this.port};rport;branch=z9hG4bK-q${sn}`,
      'Max-Forwards: 70',
      `From: <sip:${SERVER_ID}@${REALM}>;tag=q${sn}`,
      `To: <sip:${deviceId}@${REALM}>`,
      `Call-ID: ${callId}`,
      'CSeq: 1 MESSAGE',
      'Content-Type: Application/MANSCDP+xml',
      `Content-Length: ${Buffer.byteLength(body)}`,
      '',
      body,
    ].join('\r\n');
    const answered = new Promise<SipMessage>((resolve) => {
      this.onResponse = (m) => {
        if (header(m, 'Call-ID') === callId) resolve(m);
      };
    });
    udp.send(msg, port, '127.0.0.1');
    return answered;
  }

  private onResponse: ((m: SipMessage) => void) | undefined;

  private handle(m: SipMessage, send: (out: string) => void, source: { address: string; port: number }): void {
    if (m.status !== undefined) {
      this.onResponse?.(m);
      return;
    }
    const deviceId = userOf(header(m, 'From'));
    const record = (status: number, extra: Partial<Seen> = {}): void => {
      this.seen.push({
        method: m.method ?? '',
        deviceId,
        status,
        cseq: header(m, 'CSeq') ?? '',
        body: m.body.toString('latin1'),
        contentType: header(m, 'Content-Type'),
        lengthOk: m.lengthOk,
        ...extra,
      });
    };
    if (m.method === 'REGISTER') {
      const expires = Number(header(m, 'Expires') ?? 3600);
      const authorization = header(m, 'Authorization');
      if (!authorization) {
        record(401, { expires });
        send(this.challenge(m, source, false));
        return;
      }
      const digest = digestParams(authorization);
      const state = this.nonces.get(digest.nonce ?? '');
      const ha1 = md5(`${digest.username}:${REALM}:${PASSWORD}`);
      const ha2 = md5(`REGISTER:${digest.uri}`);
      const expected = digest.qop
        ? md5(`${ha1}:${digest.nonce}:${digest.nc}:${digest.cnonce}:${digest.qop}:${ha2}`)
        : md5(`${ha1}:${digest.nonce}:${ha2}`);
      const nc = parseInt(digest.nc ?? '0', 16);
      const replayed = !state || (!this.opts.acceptReplay && (digest.qop ? nc <= state.lastNc : state.used));
      let status: number;
      if (digest.response !== expected || digest.username !== deviceId) status = 403;
      else if (replayed) status = 401;
      else status = 200;
      record(status, { authorization, digest, expires });
      if (status === 401) {
        send(this.challenge(m, source, true));
        return;
      }
      if (status === 403) {
        send(this.response(m, source, '403 Forbidden', []));
        return;
      }
      state!.used = true;
      state!.lastNc = nc;
      if (expires === 0) this.registered.delete(deviceId);
      else this.registered.add(deviceId);
      const extra = [`Contact: ${header(m, 'Contact') ?? ''}`, `Expires: ${expires}`];
      if (this.opts.date !== false) extra.push(`Date: ${new Date().toISOString().slice(0, 23)}`);
      send(this.response(m, source, '200 OK', extra));
      return;
    }
    if (m.method === 'MESSAGE') {
      if (/<Response>/.test(m.body.toString('latin1'))) this.responses.push(m);
      const status = this.registered.has(deviceId) ? 200 : 404;
      record(status);
      send(this.response(m, source, status === 200 ? '200 OK' : '404 Not Found', []));
      return;
    }
    record(501);
    send(this.response(m, source, '501 Not Implemented', []));
  }

  private challenge(m: SipMessage, source: { address: string; port: number }, stale: boolean): string {
    const nonce = crypto.randomBytes(12).toString('hex');
    this.nonces.set(nonce, { used: false, lastNc: 0 });
    const params = [`realm="${REALM}"`, `nonce="${nonce}"`, 'algorithm=MD5'];
    if (this.opts.qop) params.push('qop="auth"');
    if (stale) params.push('stale=true');
    return this.response(m, source, '401 Unauthorized', [`WWW-Authenticate: Digest ${params.join(', ')}`]);
  }

  private response(m: SipMessage, source: { address: string; port: number }, status: string, extra: string[]): string {
    const lines = [`SIP/2.0 ${status}`];
    m.headers.forEach(([name, value], i) => {
      if (name.toLowerCase() !== 'via') return;
      // rport on the top Via: say where the request came from.
      const first = m.headers.findIndex(([n]) => n.toLowerCase() === 'via') === i;
      const v = first ? value.replace(/;rport(?=;|$)/, `;received=${source.address};rport=${source.port}`) : value;
      lines.push(`Via: ${v}`);
    });
    const to = header(m, 'To') ?? '';
    lines.push(`From: ${header(m, 'From')}`, `To: ${/;tag=/.test(to) ? to : `${to};tag=r${m.headers.length}`}`);
    lines.push(`Call-ID: ${header(m, 'Call-ID')}`, `CSeq: ${header(m, 'CSeq')}`, ...extra, 'Content-Length: 0', '', '');
    return lines.join('\r\n');
  }

  of(method: string): Seen[] {
    return this.seen.filter((s) => s.method === method);
  }
}

async function withRegistrar(opts: RegistrarOptions, fn: (r: TestRegistrar) => Promise<void>): Promise<void> {
  const registrar = new TestRegistrar(opts);
  await registrar.start();
  try {
    await fn(registrar);
  } finally {
    await registrar.stop();
  }
}

function explain(r: SippResult): string {
  return `${r.outcome} (exit ${r.exitCode}), ${r.successful} ok, ${r.failed} failed\n${r.command}\n${r.stderr}\n${r.errors.slice(0, 2000)}`;
}

const fast: Partial<SippOptions> = { rate: 200, timeoutMs: 15_000, recvTimeoutMs: 3000 };

// ---------------------------------------------------------------------------------------------

test('the device CSV carries the ID, the password and the authentication keywords', () => {
  const ids = gbDeviceIds(2, { first: 9 });
  assert.deepEqual(ids, ['34020000001320000009', '34020000001320000010']);
  const csv = deviceCsv(sippDevices(2, { password: 'pw' }), 'RANDOM');
  assert.equal(
    csv,
    'RANDOM\n' +
      '34020000001320000001;pw;[authentication username=34020000001320000001 password=pw];[authentication username=34020000001320000001 password=pw-wrong]\n' +
      '34020000001320000002;pw;[authentication username=34020000001320000002 password=pw];[authentication username=34020000001320000002 password=pw-wrong]\n',
  );
  assert.throws(() => deviceCsv([{ id: '1', password: 'a;b' }]));
  assert.throws(() => deviceCsv([{ id: '1', password: 'a]b' }]));
});

test('the statistics row is read by column name', () => {
  const stats = parseSippStats(
    'ElapsedTime(C);TotalCallCreated;SuccessfulCall(C);FailedCall(C);FailedTimeoutOnRecv(C);ResponseTime1(C);ResponseTime2(C);\n' +
      '00:00:00;0;0;0;0;00:00:00:000000;00:00:00:000000;\n' +
      '00:01:02;5;3;2;2;00:00:00:012500;00:00:01:000000;\n',
  );
  assert.ok(stats);
  assert.equal(stats.created, 5);
  assert.equal(stats.successful, 3);
  assert.equal(stats.failed, 2);
  assert.deepEqual(stats.failures, { TimeoutOnRecv: 2 });
  assert.equal(stats.elapsedMs, 62_000);
  assert.deepEqual(stats.responseTimeMs, [12.5, 1000]);
  assert.equal(parseSippStats('only a header\n'), undefined);
});

for (const qop of [true, false]) {
  test(`register: distinct devices from the CSV register with digest ${qop ? 'qop=auth' : 'without qop'}`, async () => {
    await withRegistrar({ transport: 'udp', qop }, async (reg) => {
      const devices = sippDevices(5);
      const r = await runSipp({ ...fast, scenario: 'register', remotePort: reg.port, devices, keys: { expires: 120 } });
      assert.equal(r.exitCode, SIPP_EXIT.allSucceeded, explain(r));
      assert.equal(r.outcome, 'all-succeeded');
      assert.equal(r.successful, 5);
      assert.equal(r.failed, 0);
      assert.deepEqual([...reg.registered].sort(), devices.map((d) => d.id));
      const ok = reg.of('REGISTER').filter((s) => s.status === 200);
      assert.equal(ok.length, 5);
      for (const s of ok) {
        assert.equal(s.expires, 120);
        assert.equal(s.digest?.username, s.deviceId);
        assert.equal(s.digest?.realm, REALM);
        assert.equal(s.digest?.uri, `sip:${SERVER_ID}@${REALM}`);
        assert.equal(s.digest?.qop, qop ? 'auth' : undefined);
        if (qop) assert.equal(s.digest?.nc, '00000001');
        assert.match(s.cseq, /^2 REGISTER$/);
      }
      assert.equal(reg.of('REGISTER').filter((s) => s.status === 401).length, 5);
      assert.ok(reg.seen.every((s) => s.lengthOk));
      assert.ok(r.stats && r.stats.responseTimeMs.length >= 1);
    });
  });
}

test('register fails the call when the 200 has no Date header', async () => {
  await withRegistrar({ transport: 'udp', qop: false, date: false }, async (reg) => {
    const r = await runSipp({ ...fast, scenario: 'register', remotePort: reg.port, devices: sippDevices(1) });
    assert.equal(r.exitCode, SIPP_EXIT.someFailed, explain(r));
    assert.equal(r.failed, 1);
    assert.deepEqual(r.stats?.failures, { RegexpHdrNotFound: 1 });
  });
});

test('a wrong password gets 403: register-wrong-password expects it, register fails on it', async () => {
  await withRegistrar({ transport: 'udp', qop: true }, async (reg) => {
    const wrong = await runSipp({ ...fast, scenario: 'register-wrong-password', remotePort: reg.port, devices: sippDevices(2) });
    assert.equal(wrong.exitCode, SIPP_EXIT.allSucceeded, explain(wrong));
    assert.equal(wrong.successful, 2);
    assert.deepEqual(reg.of('REGISTER').map((s) => s.status), [401, 403, 401, 403]);
    assert.equal(reg.registered.size, 0);

    const bad = await runSipp({ ...fast, scenario: 'register', remotePort: reg.port, devices: sippDevices(1, { password: 'nope' }) });
    assert.equal(bad.exitCode, SIPP_EXIT.someFailed, explain(bad));
    assert.equal(bad.outcome, 'some-failed');
    assert.equal(bad.failed, 1);
    assert.equal(bad.stats?.failures.UnexpectedMessage, 1);
    assert.match(bad.errors, /403 Forbidden/);
    assert.equal(reg.registered.size, 0);
  });
});

test('keepalive: a registered device gets 200, an unknown one 404; unregister removes it', async () => {
  await withRegistrar({ transport: 'udp', qop: false }, async (reg) => {
    const devices = sippDevices(3);
    const known = devices.slice(0, 2);
    const unknown = devices.slice(2);
    assert.equal((await runSipp({ ...fast, scenario: 'register', remotePort: reg.port, devices: known })).exitCode, 0);

    const ka = await runSipp({ ...fast, scenario: 'keepalive', remotePort: reg.port, devices: known, calls: 4 });
    assert.equal(ka.exitCode, SIPP_EXIT.allSucceeded, explain(ka));
    const messages = reg.of('MESSAGE');
    assert.equal(messages.length, 4);
    for (const m of messages) {
      assert.equal(m.status, 200);
      assert.equal(m.contentType, 'Application/MANSCDP+xml');
      assert.ok(m.lengthOk);
      assert.match(m.body, /^<\?xml version="1\.0" encoding="GB2312"\?>\r\n<Notify>/);
      assert.match(m.body, /<CmdType>Keepalive<\/CmdType>/);
      assert.equal(/<DeviceID>(\d+)<\/DeviceID>/.exec(m.body)?.[1], m.deviceId);
      assert.equal(/<SN>(\d+)<\/SN>/.exec(m.body)?.[1], m.cseq.split(' ')[0]);
      assert.match(m.body, /<Status>OK<\/Status>/);
    }
    // SEQUENTIAL wraps around: 4 calls over 2 devices.
    assert.deepEqual(messages.map((m) => m.deviceId), [known[0].id, known[1].id, known[0].id, known[1].id]);

    const stranger = await runSipp({ ...fast, scenario: 'keepalive-unknown', remotePort: reg.port, devices: unknown });
    assert.equal(stranger.exitCode, SIPP_EXIT.allSucceeded, explain(stranger));
    const strangerAsKnown = await runSipp({ ...fast, scenario: 'keepalive', remotePort: reg.port, devices: unknown });
    assert.equal(strangerAsKnown.exitCode, SIPP_EXIT.someFailed, explain(strangerAsKnown));

    const un = await runSipp({ ...fast, scenario: 'unregister', remotePort: reg.port, devices: known.slice(0, 1) });
    assert.equal(un.exitCode, SIPP_EXIT.allSucceeded, explain(un));
    assert.deepEqual([...reg.registered], [known[1].id]);
    assert.equal(reg.of('REGISTER').at(-1)?.expires, 0);
  });
});

for (const qop of [true, false]) {
  test(`replay re-sends the identical Authorization and expects 401 (${qop ? 'qop=auth' : 'no qop'})`, async () => {
    await withRegistrar({ transport: 'udp', qop }, async (reg) => {
      const r = await runSipp({ ...fast, scenario: 'replay', remotePort: reg.port, devices: sippDevices(1) });
      assert.equal(r.exitCode, SIPP_EXIT.allSucceeded, explain(r));
      const registers = reg.of('REGISTER');
      assert.deepEqual(registers.map((s) => s.status), [401, 200, 401]);
      const [, first, again] = registers;
      assert.ok(first.authorization);
      assert.equal(again.authorization, first.authorization);
      assert.equal(again.digest?.nonce, first.digest?.nonce);
      assert.equal(again.digest?.response, first.digest?.response);
      assert.notEqual(again.cseq, first.cseq);
    });
  });
}

test('replay fails when the platform accepts the replayed digest', async () => {
  await withRegistrar({ transport: 'udp', qop: false, acceptReplay: true }, async (reg) => {
    const r = await runSipp({ ...fast, scenario: 'replay', remotePort: reg.port, devices: sippDevices(1) });
    assert.equal(r.exitCode, SIPP_EXIT.someFailed, explain(r));
    assert.deepEqual(reg.of('REGISTER').map((s) => s.status), [401, 200, 200]);
  });
});

test('TCP: register and keepalive over one connection', async () => {
  await withRegistrar({ transport: 'tcp', qop: true }, async (reg) => {
    const devices = sippDevices(3);
    const r = await runSipp({ ...fast, transport: 'tcp', scenario: 'register', remotePort: reg.port, devices });
    assert.equal(r.exitCode, SIPP_EXIT.allSucceeded, explain(r));
    assert.equal(reg.registered.size, 3);
    const ka = await runSipp({ ...fast, transport: 'tcp', scenario: 'keepalive', remotePort: reg.port, devices });
    assert.equal(ka.exitCode, SIPP_EXIT.allSucceeded, explain(ka));
    assert.equal(reg.of('MESSAGE').filter((m) => m.status === 200).length, 3);
  });
});

test('TCP: a refused connection is a fatal SIPp error', async () => {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((r) => server.close(r));
  const r = await runSipp({ ...fast, transport: 'tcp', scenario: 'register', remotePort: port, devices: sippDevices(1) });
  assert.equal(r.exitCode, SIPP_EXIT.fatal, explain(r));
  assert.equal(r.outcome, 'fatal');
});

test('device: register, keepalives and unregister in one call per device, with response times', async () => {
  await withRegistrar({ transport: 'udp', qop: false }, async (reg) => {
    const devices = sippDevices(3);
    const r = await runSipp({
      ...fast,
      scenario: 'device',
      remotePort: reg.port,
      devices,
      traceRtt: true,
      keys: { keepalives: 2, keepalive_interval: 50, unregister: 1 },
    });
    assert.equal(r.exitCode, SIPP_EXIT.allSucceeded, explain(r));
    assert.equal(r.successful, 3);
    for (const d of devices) {
      const seen = reg.seen.filter((s) => s.deviceId === d.id).map((s) => `${s.method} ${s.status}`);
      assert.deepEqual(seen, ['REGISTER 401', 'REGISTER 200', 'MESSAGE 200', 'MESSAGE 200', 'REGISTER 401', 'REGISTER 200']);
    }
    assert.equal(reg.registered.size, 0);
    assert.equal(r.responseTimes.filter((t) => t.rtd === 1).length, 3);
    assert.equal(r.responseTimes.filter((t) => t.rtd === 2).length, 6);
  });
});

test('background device keeps alive until stopped and answers a Catalog query', async () => {
  await withRegistrar({ transport: 'udp', qop: true }, async (reg) => {
    const devices = sippDevices(2);
    const bg = await startSippBackground({
      scenario: 'device',
      remotePort: reg.port,
      devices,
      rate: 100,
      keys: { keepalives: -1, keepalive_interval: 50 },
      oocScenario: 'uas-answer-message',
    });
    let stopped: SippResult;
    try {
      const deadline = Date.now() + 10_000;
      while (reg.of('MESSAGE').length < 6 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.ok(reg.of('MESSAGE').length >= 6, 'keepalives kept coming');

      const answer = await reg.queryCatalog(devices[0].id, bg.localPort, 7);
      assert.equal(answer.status, 200);
      while (reg.responses.length < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const body = reg.responses[0]?.body.toString('latin1') ?? '';
      assert.match(body, /<CmdType>Catalog<\/CmdType>/);
      assert.match(body, /<SN>7<\/SN>/);
      assert.match(body, new RegExp(`<DeviceID>${devices[0].id}</DeviceID>`));
      assert.match(body, /<DeviceID>34020000001310000001<\/DeviceID>/);
      assert.match(body, /<SumNum>1<\/SumNum>/);
      assert.ok(reg.responses[0].lengthOk);
    } finally {
      stopped = await bg.stop();
    }
    assert.equal(stopped.failed, 0, explain(stopped));
    assert.equal(stopped.stats?.outgoing, 2, explain(stopped));
    // SIPp counts the out-of-call scenario's runs as auto-answered, not as incoming calls.
    assert.equal(stopped.stats?.columns['AutoAnswered(C)'], '1', explain(stopped));
  });
});

test('the overall timeout ends a run whose platform never answers', async () => {
  const silent = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', resolve));
  try {
    const r = await runSipp({ scenario: 'register', remotePort: silent.address().port, devices: sippDevices(1), timeoutMs: 1000 });
    assert.equal(r.outcome, 'timed-out', explain(r));
    assert.equal(r.exitCode, SIPP_EXIT.fatal);
    assert.equal(r.successful, 0);
  } finally {
    silent.close();
  }
});
