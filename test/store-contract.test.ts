/**
 * The store contract (common/store): every case runs against the Redis backend (a real
 * redis-server) and the in-process one, so `gbcast all` without Redis behaves as a cluster does.
 * TTL cases wait real time on Redis (kept short) and move the clock on the in-process store.
 */
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { StreamerRecord } from '../common/contracts.ts';
import type { RegistrationInput } from '../common/store/device-store.ts';
import type { StoreBackend } from '../common/store/backend.ts';
import type { StreamSession } from '../common/store/stream-store.ts';
import { memoryKind, openMemoryFixture, recordEvents, redisKind, type StoreFixture } from './support/store-backends.ts';

const T0 = 1_700_000_000_000;

function registration(id: string, over: Partial<RegistrationInput> = {}): RegistrationInput {
  return { id, transport: 'UDP', ip: '10.0.0.7', port: 5060, now: T0, expiresAt: T0 + 3_600_000, deadline: T0 + 180_000, ...over };
}

function streamer(id: string, over: Partial<StreamerRecord> = {}): StreamerRecord {
  return {
    id,
    pool: 'p1',
    address: '10.1.0.1',
    port: 10000,
    url: `http://${id}:8081`,
    activeStreams: 0,
    bitrateIn: 0,
    cpuPercent: 1,
    draining: false,
    updatedAt: T0,
    version: 'test',
    ...over,
  };
}

function session(streamId: string, over: Partial<StreamSession> = {}): StreamSession {
  return {
    streamId,
    deviceId: '34020000001320000001',
    channelId: '34020000001310000001',
    ssrc: '0100000001',
    transport: 'udp',
    streamerId: 's1',
    streamerUrl: 'http://s1:8081',
    streamerStartedAt: undefined,
    streamerAddress: '10.1.0.1',
    streamerPort: 10000,
    rtmpUrl: undefined,
    flvUrl: 'http://s1:8081/live/x.flv',
    state: 'inviting',
    createdAt: T0,
    callId: `call-${streamId}`,
    fromTag: 'ft',
    toTag: undefined,
    cseq: 1,
    sipTransport: 'UDP',
    sipIp: '10.0.0.7',
    sipPort: 5060,
    remoteTarget: 'sip:34020000001320000001@10.0.0.7:5060',
    ...over,
  };
}

const ids = (n: number, from = 1) => Array.from({ length: n }, (_, i) => `3402000000132${String(from + i).padStart(7, '0')}`);

for (const kind of [redisKind(), memoryKind()]) {
  describe(`store contract: ${kind.name}`, () => {
    let f: StoreFixture;
    let b: StoreBackend;
    before(() => kind.setUp());
    after(() => kind.tearDown());
    beforeEach(async () => {
      f = await kind.open();
      b = f.backend;
    });
    afterEach(() => f.close());

    describe('devices', () => {
      test('register: online with one event, a repeat is no change and no event, what the device said is kept', async () => {
        const log = await recordEvents(b);
        const [id] = ids(1);
        assert.equal(await b.devices.register(registration(id)), true);
        assert.equal(await b.devices.register(registration(id, { ip: '10.0.0.8', port: 5061, transport: 'TCP', now: T0 + 10 })), false);
        await b.devices.saveInfo(id, { name: 'Gate', manufacturer: 'Acme', model: '', firmware: undefined });
        await b.devices.saveChannels(id, [{ id: 'c1' }]);
        await b.devices.register(registration(id, { now: T0 + 20 }));
        assert.deepEqual(await b.devices.get(id), {
          id,
          online: true,
          transport: 'UDP',
          ip: '10.0.0.7',
          port: 5060,
          registeredAt: T0 + 20,
          expiresAt: T0 + 3_600_000,
          lastKeepaliveAt: T0 + 20,
          name: 'Gate',
          manufacturer: 'Acme',
          model: undefined,
          firmware: undefined,
          channelCount: 1,
          status: undefined,
          recording: undefined,
          deviceTime: undefined,
        });
        assert.deepEqual(await log.settle(), [{ type: 'device.online', deviceId: id, at: T0 }]);
        assert.equal(await b.devices.get(ids(1, 99)[0]), undefined);
        assert.equal(await b.devices.count(), 1);
        assert.equal(await b.devices.countOnline(), 1);
      });

      test('unregister: one offline event (unregistered) while online; unknown or offline devices: false, no event', async () => {
        const log = await recordEvents(b);
        const [id, other] = ids(2);
        assert.equal(await b.devices.unregister(id, T0), false);
        await b.devices.register(registration(id));
        assert.equal(await b.devices.unregister(id, T0 + 5), true);
        assert.equal(await b.devices.unregister(id, T0 + 6), false);
        const device = await b.devices.get(id);
        assert.equal(device?.online, false);
        assert.equal(device?.expiresAt, 0);
        assert.equal(await b.devices.countOnline(), 0);
        assert.equal(await b.devices.count(), 1);
        assert.equal(await b.devices.get(other), undefined);
        assert.equal(await b.devices.sweep(T0 + 10_000_000), 0, 'no presence deadline left');
        assert.deepEqual(await log.settle(), [
          { type: 'device.online', deviceId: id, at: T0 },
          { type: 'device.offline', deviceId: id, reason: 'unregistered', at: T0 + 5 },
        ]);
      });

      test('keepalive: unknown, alive (deadline moved, capped at the registration end), back-online with one event; none after expiry', async () => {
        const log = await recordEvents(b);
        const [id] = ids(1);
        assert.equal(await b.devices.keepalive(id, T0, 1000), 'unknown');
        await b.devices.register(registration(id, { expiresAt: T0 + 10_000, deadline: T0 + 1000 }));
        assert.equal(await b.devices.keepalive(id, T0 + 500, 3000), 'alive');
        assert.equal((await b.devices.get(id))?.lastKeepaliveAt, T0 + 500);
        assert.equal(await b.devices.sweep(T0 + 3499), 0, 'the deadline moved to now + window');
        assert.equal(await b.devices.sweep(T0 + 3500), 1);
        assert.equal((await b.devices.get(id))?.online, false);
        assert.equal(await b.devices.keepalive(id, T0 + 9000, 3000), 'back-online');
        assert.equal(await b.devices.sweep(T0 + 9999), 0, 'the deadline is capped at expiresAt, not now + window');
        assert.equal(await b.devices.sweep(T0 + 10_000), 1);
        assert.equal(await b.devices.keepalive(id, T0 + 10_000, 3000), 'unknown', 'the registration ran out');
        assert.equal((await b.devices.get(id))?.online, false);
        assert.deepEqual(
          (await log.settle()).map((e) => [e.type, 'reason' in e ? e.reason : '', e.at]),
          [
            ['device.online', '', T0],
            ['device.offline', 'keepalive-timeout', T0 + 3500],
            ['device.online', '', T0 + 9000],
            ['device.offline', 'expired', T0 + 10_000],
          ],
        );
      });

      test('sweep: only due deadlines, earliest first, at most limit; expired vs keepalive-timeout; offline devices take no event', async () => {
        const log = await recordEvents(b);
        const [a, c, d, e] = ids(4);
        await b.devices.register(registration(a, { deadline: T0 + 300 }));
        await b.devices.register(registration(c, { deadline: T0 + 100, expiresAt: T0 + 100 }));
        await b.devices.register(registration(d, { deadline: T0 + 200 }));
        await b.devices.register(registration(e, { deadline: T0 + 5000 }));
        assert.equal(await b.devices.sweep(T0 + 99), 0);
        assert.equal(await b.devices.sweep(T0 + 1000, 2), 2);
        assert.deepEqual(
          (await log.settle()).filter((x) => x.type === 'device.offline').map((x) => [x.deviceId, 'reason' in x && x.reason]),
          [
            [c, 'expired'],
            [d, 'keepalive-timeout'],
          ],
        );
        assert.equal(await b.devices.countOnline(), 2);
        assert.equal(await b.devices.sweep(T0 + 1000, 2), 1);
        assert.equal(await b.devices.sweep(T0 + 1000, 2), 0);
        assert.equal((await b.devices.get(e))?.online, true);
        assert.equal(await b.devices.countOnline(), 1);
      });

      test('two replicas sweeping at once publish one offline event per device', async () => {
        const replica = await f.replica();
        const log = await recordEvents(b);
        const devices = ids(40);
        await Promise.all(devices.map((id, i) => b.devices.register(registration(id, { deadline: T0 + i }))));
        await log.settle();
        log.events.length = 0;
        const counts = await Promise.all([
          b.devices.sweep(T0 + 1000, 7),
          replica.devices.sweep(T0 + 1000, 7),
          b.devices.sweep(T0 + 1000, 1000),
          replica.devices.sweep(T0 + 1000, 1000),
        ]);
        assert.equal(counts.reduce((x, y) => x + y, 0), devices.length);
        const offline = (await log.settle()).filter((e) => e.type === 'device.offline').map((e) => e.deviceId);
        assert.deepEqual(offline.sort(), devices);
      });

      test('authPrepare: failures per device and per address, the credential, and the nonce claim (a second use is a replay)', async () => {
        const [id, other] = ids(2);
        assert.deepEqual(await b.devices.authPrepare(id, '10.0.0.1', 'n1', 60_000), { deviceFailures: 0, ipFailures: 0, credential: undefined, nonceFresh: true });
        assert.equal((await b.devices.authPrepare(id, '10.0.0.1', 'n1', 60_000)).nonceFresh, false);
        assert.equal((await b.devices.authPrepare(other, '10.0.0.2', 'n1', 60_000)).nonceFresh, false, 'a nonce use is claimed once, whoever asks');
        assert.equal((await b.devices.authPrepare(id, '10.0.0.1', 'n1:00000001', 60_000)).nonceFresh, true);
        await b.devices.setCredential(id, 'pw1');
        await b.devices.recordAuthFailure(id, '10.0.0.1', 60_000);
        await b.devices.recordAuthFailure(id, '10.0.0.1', 60_000);
        await b.devices.recordAuthFailure(other, '10.0.0.1', 60_000);
        assert.deepEqual(await b.devices.authPrepare(id, '10.0.0.1', 'n2', 60_000), { deviceFailures: 2, ipFailures: 3, credential: 'pw1', nonceFresh: true });
        assert.deepEqual(await b.devices.authPrepare(other, '10.0.0.9', 'n3', 60_000), { deviceFailures: 1, ipFailures: 0, credential: undefined, nonceFresh: true });
        await b.devices.clearAuthFailures(id);
        await b.devices.setCredential(id, 'pw2');
        assert.deepEqual(await b.devices.authPrepare(id, '10.0.0.1', 'n4', 60_000), { deviceFailures: 0, ipFailures: 3, credential: 'pw2', nonceFresh: true });
        await b.devices.deleteCredential(id);
        assert.equal((await b.devices.authPrepare(id, '10.0.0.1', 'n5', 60_000)).credential, undefined);
      });

      test('a nonce claim lives its TTL; a failure window runs from the first failure and is not extended', async () => {
        const [id] = ids(1);
        assert.equal((await b.devices.authPrepare(id, '10.0.0.1', 'short', 150)).nonceFresh, true);
        assert.equal((await b.devices.authPrepare(id, '10.0.0.1', 'long', 60_000)).nonceFresh, true);
        await b.devices.recordAuthFailure(id, '10.0.0.1', 300);
        await f.elapse(200);
        assert.equal((await b.devices.authPrepare(id, '10.0.0.1', 'long', 60_000)).nonceFresh, false);
        assert.equal((await b.devices.authPrepare(id, '10.0.0.1', 'short', 150)).nonceFresh, true, 'the claim expired');
        await b.devices.recordAuthFailure(id, '10.0.0.1', 300);
        assert.equal((await b.devices.authPrepare(id, '10.0.0.1', 'x1', 1000)).deviceFailures, 2);
        await f.elapse(150);
        const prepared = await b.devices.authPrepare(id, '10.0.0.1', 'x2', 1000);
        assert.deepEqual([prepared.deviceFailures, prepared.ipFailures], [0, 0], 'the window ran out 300 ms after the first failure');
        await b.devices.recordAuthFailure(id, '10.0.0.1', 300);
        assert.equal((await b.devices.authPrepare(id, '10.0.0.1', 'x3', 1000)).deviceFailures, 1, 'a new window');
      });

      test('list: id order after a cursor, in pages, whatever the registration order', async () => {
        const all = ids(25);
        const shuffled = [...all].sort((x, y) => (x.split('').reverse().join('') < y.split('').reverse().join('') ? -1 : 1));
        for (const id of shuffled) await b.devices.register(registration(id));
        const pages: string[][] = [];
        let after: string | undefined;
        for (let guard = 0; guard < 10; guard++) {
          const page = await b.devices.list(after, 10);
          if (page.length === 0) break;
          pages.push(page.map((d) => d.id));
          after = page[page.length - 1].id;
        }
        assert.deepEqual(pages.map((p) => p.length), [10, 10, 5]);
        assert.deepEqual(pages.flat(), all);
        assert.deepEqual((await b.devices.list('', 2)).map((d) => d.id), all.slice(0, 2), "'' starts at the beginning");
        const between = `${all[3]}5`;
        assert.deepEqual((await b.devices.list(between, 2)).map((d) => d.id), all.slice(4, 6), 'a cursor that is no device');
        assert.deepEqual(await b.devices.list(all[24], 10), []);
        assert.equal((await b.devices.list(undefined, 1))[0].online, true);
        assert.equal(await b.devices.count(), 25);
      });

      test('saveInfo only for known devices; saveChannels replaces the list, counts it, names the owner; channels are sorted copies', async () => {
        const [id, other, unknown] = ids(3);
        await b.devices.saveInfo(unknown, { name: 'ghost' });
        assert.equal(await b.devices.get(unknown), undefined);
        await b.devices.register(registration(id));
        await b.devices.register(registration(other));
        await b.devices.saveInfo(id, { name: 'A', status: 'OK', recording: 'OFF', deviceTime: '2024-01-01T00:00:00' });
        await b.devices.saveInfo(id, { name: '', model: 'M1' });
        const device = await b.devices.get(id);
        assert.deepEqual([device?.name, device?.model, device?.status, device?.recording, device?.deviceTime], ['A', 'M1', 'OK', 'OFF', '2024-01-01T00:00:00']);

        await b.devices.saveChannels(id, [
          { id: 'ch-b', name: '北门', status: 'ON', ptzType: 1, extra: { nested: true } },
          { id: 'ch-a', name: 'A', longitude: 120.5 },
          { id: 'ch-c' },
        ]);
        const channels = await b.devices.channels(id);
        assert.deepEqual(channels, [
          { id: 'ch-a', name: 'A', longitude: 120.5 },
          { id: 'ch-b', name: '北门', status: 'ON', ptzType: 1, extra: { nested: true } },
          { id: 'ch-c' },
        ]);
        channels[0].name = 'changed';
        assert.equal((await b.devices.channels(id))[0].name, 'A', 'a copy');
        assert.equal((await b.devices.get(id))?.channelCount, 3);
        assert.equal(await b.devices.channelOwner('ch-b'), id);

        await b.devices.saveChannels(id, [{ id: 'ch-d' }]);
        assert.deepEqual(await b.devices.channels(id), [{ id: 'ch-d' }]);
        assert.equal((await b.devices.get(id))?.channelCount, 1);
        await b.devices.saveChannels(other, [{ id: 'ch-d' }]);
        assert.equal(await b.devices.channelOwner('ch-d'), other, 'the last catalog listing it owns it');
        await b.devices.saveChannels(id, []);
        assert.deepEqual(await b.devices.channels(id), []);
        assert.equal((await b.devices.get(id))?.channelCount, 0);
        assert.equal(await b.devices.channelOwner('nope'), undefined);
        assert.deepEqual(await b.devices.channels(unknown), []);
      });

      test('query schedule: due ones earliest first, at most limit, rescheduling replaces, each taken by one caller', async () => {
        const replica = await f.replica();
        const [a, c, d] = ids(3);
        await b.devices.scheduleQueries(a, T0 + 30);
        await b.devices.scheduleQueries(c, T0 + 10);
        await b.devices.scheduleQueries(d, T0 + 20);
        await b.devices.scheduleQueries(d, T0 + 5000);
        assert.deepEqual(await b.devices.takeDueQueries(T0 + 5), []);
        assert.deepEqual(await b.devices.takeDueQueries(T0 + 100, 1), [c]);
        assert.deepEqual(await b.devices.takeDueQueries(T0 + 100), [a]);
        assert.deepEqual(await b.devices.takeDueQueries(T0 + 100), []);
        assert.deepEqual(await b.devices.takeDueQueries(T0 + 5000), [d]);

        const many = ids(60, 100);
        for (const [i, id] of many.entries()) await b.devices.scheduleQueries(id, T0 + i);
        const taken = await Promise.all([
          b.devices.takeDueQueries(T0 + 100, 13),
          replica.devices.takeDueQueries(T0 + 100, 13),
          b.devices.takeDueQueries(T0 + 100, 200),
          replica.devices.takeDueQueries(T0 + 100, 200),
        ]);
        assert.deepEqual(taken.flat().sort(), many);
      });

      test('config: set, get (a copy), replace, delete, for known devices or not; the always-on list follows it', async () => {
        const [a, c, d] = ids(3);
        assert.equal(await b.devices.getConfig(a), undefined);
        const config = {
          pool: 'edge',
          name: '北门',
          transport: 'tcp-active' as const,
          alwaysOn: [{ channelId: 'c1', rtmpUrl: 'rtmp://x/live/c1' }, { channelId: 'c2' }],
        };
        await b.devices.setConfig(a, config);
        const got = await b.devices.getConfig(a);
        assert.deepEqual(got, config);
        got!.alwaysOn.push({ channelId: 'c9' });
        assert.equal((await b.devices.getConfig(a))?.alwaysOn.length, 2, 'a copy');
        assert.equal(await b.devices.get(a), undefined, 'a configuration does not make a device');
        await b.devices.setConfig(c, { alwaysOn: [] });
        await b.devices.setConfig(d, { alwaysOn: [{ channelId: 'd1' }] });
        assert.deepEqual(await b.devices.alwaysOnDevices(), [a, d]);
        const replica = await f.replica();
        assert.deepEqual(await replica.devices.getConfig(c), { alwaysOn: [] }, 'every replica sees it');
        await b.devices.setConfig(a, { pool: 'p2', alwaysOn: [] });
        assert.deepEqual(await b.devices.getConfig(a), { pool: 'p2', alwaysOn: [] }, 'replaced, not merged');
        assert.deepEqual(await b.devices.alwaysOnDevices(), [d]);
        await b.devices.deleteConfig(d);
        await b.devices.deleteConfig(ids(1, 50)[0]);
        assert.equal(await b.devices.getConfig(d), undefined);
        assert.deepEqual(await b.devices.alwaysOnDevices(), []);
      });

      test('always-on schedule: a claim is a lease (due ones move to nextAt and stay), each due one to one caller; setConfig makes a device due at once', async () => {
        const replica = await f.replica();
        const [a, c, d] = ids(3);
        for (const id of [a, c, d]) await b.devices.setConfig(id, { alwaysOn: [{ channelId: 'x' }] });
        assert.deepEqual((await b.devices.claimDueAlwaysOn(T0, T0 + 1000, 2)).length, 2);
        const rest = await b.devices.claimDueAlwaysOn(T0, T0 + 1000);
        assert.equal(rest.length, 1);
        assert.deepEqual(await b.devices.claimDueAlwaysOn(T0 + 999, T0 + 2000), []);
        assert.deepEqual((await replica.devices.claimDueAlwaysOn(T0 + 1000, T0 + 2000)).sort(), [a, c, d], 'still scheduled after a claim');
        await b.devices.setConfig(c, { alwaysOn: [{ channelId: 'x' }, { channelId: 'y' }] });
        assert.deepEqual(await b.devices.claimDueAlwaysOn(T0 + 1001, T0 + 2000), [c], 'a changed config is due at once');
        await b.devices.setConfig(d, { alwaysOn: [] });
        assert.deepEqual((await b.devices.claimDueAlwaysOn(T0 + 5000, T0 + 6000)).sort(), [a, c], 'no always-on channel: off the schedule');

        const many = ids(40, 100);
        for (const id of many) await b.devices.setConfig(id, { alwaysOn: [{ channelId: 'x' }] });
        const claimed = await Promise.all([
          b.devices.claimDueAlwaysOn(T0 + 100, T0 + 10_000, 7),
          replica.devices.claimDueAlwaysOn(T0 + 100, T0 + 10_000, 7),
          b.devices.claimDueAlwaysOn(T0 + 100, T0 + 10_000, 500),
          replica.devices.claimDueAlwaysOn(T0 + 100, T0 + 10_000, 500),
        ]);
        assert.deepEqual(claimed.flat().sort(), many);
      });

      test('always-on backoff: per channel, lives its TTL', async () => {
        const [a] = ids(1);
        assert.equal(await b.devices.alwaysOnBackoff(a, 'c1'), undefined);
        await b.devices.setAlwaysOnBackoff(a, 'c1', { failures: 3, notBefore: T0 + 4000 }, 150);
        await b.devices.setAlwaysOnBackoff(a, 'c2', { failures: 1, notBefore: T0 }, 60_000);
        assert.deepEqual(await b.devices.alwaysOnBackoff(a, 'c1'), { failures: 3, notBefore: T0 + 4000 });
        await f.elapse(200);
        assert.equal(await b.devices.alwaysOnBackoff(a, 'c1'), undefined, 'forgotten after its TTL');
        assert.deepEqual(await b.devices.alwaysOnBackoff(a, 'c2'), { failures: 1, notBefore: T0 });
        await b.devices.setAlwaysOnBackoff(a, 'c2', { failures: 2, notBefore: T0 + 1 }, 60_000);
        assert.deepEqual(await b.devices.alwaysOnBackoff(a, 'c2'), { failures: 2, notBefore: T0 + 1 });
      });
    });

    describe('streams', () => {
      test('claims: an SSRC once (even for the same stream), a channel once with the holder named to the others', async () => {
        assert.equal(await b.streams.claimSsrc('0100000001', 's1'), true);
        assert.equal(await b.streams.claimSsrc('0100000001', 's2'), false);
        assert.equal(await b.streams.claimSsrc('0100000001', 's1'), false);
        assert.equal(await b.streams.claimSsrc('0100000002', 's2'), true);
        const claims = await Promise.all(['s1', 's2', 's3'].map((s) => b.streams.claimChannel('dev', 'ch', s)));
        const winner = claims.find((c) => c.claimed);
        assert.equal(claims.filter((c) => c.claimed).length, 1);
        for (const c of claims) assert.equal(c.streamId, winner?.streamId);
        assert.deepEqual(await b.streams.claimChannel('dev', 'ch', 's9'), { claimed: false, streamId: winner?.streamId });
        assert.equal(await b.streams.channelStreamId('dev', 'ch'), winner?.streamId);
        assert.equal(await b.streams.channelStreamId('dev', 'other'), undefined);
      });

      test('sessions: save, get, update (only while saved), list oldest first, find by Call-ID', async () => {
        const s1 = session('st1', { createdAt: T0 + 50 });
        const s2 = session('st2', { createdAt: T0 + 10, rtmpUrl: 'rtmp://x/live/2', toTag: 'tt', transport: 'tcp-active', sipTransport: 'TCP' });
        await b.streams.save(s1);
        await b.streams.save(s2);
        assert.deepEqual(await b.streams.get('st1'), s1);
        assert.deepEqual(await b.streams.get('st2'), s2);
        assert.equal(await b.streams.get('nope'), undefined);
        await b.streams.update('st1', { state: 'live', toTag: 'device-tag', cseq: 2, rtmpUrl: undefined });
        assert.deepEqual(await b.streams.get('st1'), { ...s1, state: 'live', toTag: 'device-tag', cseq: 2 });
        await b.streams.update('gone', { streamId: 'gone', state: 'live' });
        assert.equal(await b.streams.get('gone'), undefined, 'an update does not create a session');
        assert.deepEqual((await b.streams.list()).map((s) => s.streamId), ['st2', 'st1']);
        await b.streams.indexCallId(s1.callId, 'st1');
        assert.equal((await b.streams.byCallId(s1.callId))?.streamId, 'st1');
        assert.equal(await b.streams.byCallId('unknown-call'), undefined);
        const copy = await b.streams.get('st2');
        copy!.cseq = 99;
        assert.equal((await b.streams.get('st2'))?.cseq, 1, 'a copy');
      });

      test('remove: true for exactly one caller; claims go only while they name this stream; the Call-ID index goes', async () => {
        const replica = await f.replica();
        const s = session('st1');
        await b.streams.claimChannel(s.deviceId, s.channelId, 'st1');
        await b.streams.claimSsrc(s.ssrc, 'st1');
        await b.streams.save(s);
        await b.streams.indexCallId(s.callId, 'st1');
        const results = await Promise.all([b.streams.remove(s), replica.streams.remove(s), b.streams.remove(s)]);
        assert.deepEqual(results.filter(Boolean).length, 1);
        assert.equal(await b.streams.get('st1'), undefined);
        assert.deepEqual(await b.streams.list(), []);
        assert.equal(await b.streams.byCallId(s.callId), undefined);
        assert.equal(await b.streams.channelStreamId(s.deviceId, s.channelId), undefined);
        assert.equal(await b.streams.claimSsrc(s.ssrc, 'st2'), true, 'the SSRC was released');
        await b.streams.save(s);
        assert.equal(await b.streams.byCallId(s.callId), undefined, 'the Call-ID index went with the stream');
        await b.streams.remove(s);

        // A newer stream holds the channel and the SSRC now: removing the old one leaves them.
        await b.streams.claimChannel(s.deviceId, s.channelId, 'st2');
        await b.streams.save(session('st2'));
        assert.equal(await b.streams.remove({ ...s, streamId: 'st1' }), false);
        assert.equal(await b.streams.channelStreamId(s.deviceId, s.channelId), 'st2');
        assert.equal(await b.streams.claimSsrc(s.ssrc, 'st3'), false);
        assert.equal(await b.streams.remove({ ...s, streamId: 'st2' }), true);
      });

      test('listOnStreamer: the sessions of one streamer, oldest first; removed ones leave it; the start time of its streamer round-trips', async () => {
        const a = session('st-a', { streamerId: 's1', createdAt: T0 + 20, streamerStartedAt: T0 - 5000 });
        const c = session('st-c', { streamerId: 's1', createdAt: T0 + 10, ssrc: '0100000002', callId: 'call-c' });
        const d = session('st-d', { streamerId: 's2', streamerUrl: 'http://s2:8081', ssrc: '0100000003', callId: 'call-d' });
        for (const s of [a, c, d]) await b.streams.save(s);
        assert.deepEqual(await b.streams.listOnStreamer('s1'), [c, a]);
        assert.deepEqual(await b.streams.listOnStreamer('s2'), [d]);
        assert.deepEqual(await b.streams.listOnStreamer('s3'), []);
        assert.equal((await b.streams.get('st-a'))?.streamerStartedAt, T0 - 5000);
        assert.equal(await b.streams.remove({ streamId: 'st-a', deviceId: a.deviceId, channelId: a.channelId, ssrc: a.ssrc, callId: a.callId }), true);
        assert.deepEqual((await b.streams.listOnStreamer('s1')).map((s) => s.streamId), ['st-c']);
        await b.streams.remove(c);
        assert.deepEqual(await b.streams.listOnStreamer('s1'), []);
      });

      test('viewers never below 0; a join cancels the idle stop; idle stops due earliest first, each once', async () => {
        const replica = await f.replica();
        assert.equal(await b.streams.viewerCount('d', 'c'), 0);
        assert.equal(await b.streams.viewerLeft('d', 'c'), 0);
        assert.equal(await b.streams.viewerCount('d', 'c'), 0);
        assert.equal(await b.streams.viewerJoined('d', 'c'), 1);
        assert.equal(await b.streams.viewerJoined('d', 'c'), 2);
        assert.equal(await b.streams.viewerLeft('d', 'c'), 1);
        assert.equal(await b.streams.viewerLeft('d', 'c'), 0);
        assert.equal(await b.streams.viewerLeft('d', 'c'), 0);
        assert.equal(await b.streams.viewerCount('d', 'c'), 0);

        await b.streams.scheduleIdleStop('d', 'c', T0 + 100);
        await b.streams.scheduleIdleStop('d2', 'c:with:colons', T0 + 50);
        await b.streams.scheduleIdleStop('d3', 'c', T0 + 70);
        await b.streams.viewerJoined('d3', 'c');
        assert.deepEqual(await b.streams.takeDueIdleStops(T0 + 49), []);
        const [first, second] = await Promise.all([b.streams.takeDueIdleStops(T0 + 1000), replica.streams.takeDueIdleStops(T0 + 1000)]);
        assert.deepEqual([...first, ...second].sort(), [
          ['d', 'c'],
          ['d2', 'c:with:colons'],
        ]);
        await b.streams.scheduleIdleStop('d', 'c', T0 + 100);
        await b.streams.scheduleIdleStop('d', 'c', T0 + 900);
        assert.deepEqual(await b.streams.takeDueIdleStops(T0 + 500), [], 'rescheduling replaces the time');
        assert.deepEqual(await b.streams.takeDueIdleStops(T0 + 900, 1), [['d', 'c']]);
      });

      test('pick: least loaded first, reserving one stream; unreserve gives it back; pools are separate', async () => {
        assert.equal(await b.streams.pickStreamer('p1'), undefined);
        await b.streamers.report(streamer('s1', { activeStreams: 1 }), 60);
        await b.streamers.report(streamer('s2', { activeStreams: 2 }), 60);
        await b.streamers.report(streamer('s3', { pool: 'p2' }), 60);
        const picks: string[] = [];
        for (let i = 0; i < 4; i++) picks.push((await b.streams.pickStreamer('p1'))!.id);
        // s1 (1) reserved → 2, tied with s2 (2): ties go by id, as in a Redis sorted set.
        assert.deepEqual(picks, ['s1', 's1', 's2', 's1']);
        assert.deepEqual((await b.streams.pickStreamer('p2'))?.id, 's3');
        const pool = (await b.streamers.listPool('p1')).map((s) => s.id);
        assert.equal(pool.length, 2);
        await b.streams.unreserveStreamer('p1', 's1');
        await b.streams.unreserveStreamer('p1', 's1');
        assert.equal((await b.streams.pickStreamer('p1'))?.id, 's1', 's1 (4 → 2) is below s2 (3) again');
        assert.deepEqual(await b.streams.pickStreamer('p1'), streamer('s1', { activeStreams: 1 }), 'the record as reported (3 = s2, tie by id)');
      });

      test('pick under concurrency: each reservation counts, so a burst spreads evenly', async () => {
        const replica = await f.replica();
        for (const id of ['s1', 's2', 's3', 's4']) await b.streamers.report(streamer(id), 60);
        const picks = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? replica : b).streams.pickStreamer('p1')));
        const per = new Map<string, number>();
        for (const p of picks) per.set(p!.id, (per.get(p!.id) ?? 0) + 1);
        assert.deepEqual([...per.values()], [10, 10, 10, 10]);
      });

      test('pick skips draining streamers and expired records (dropping them from the pool)', async () => {
        await b.streamers.report(streamer('s1', { draining: true }), 60);
        assert.equal(await b.streams.pickStreamer('p1'), undefined, 'a draining streamer is never picked');
        await b.streamers.report(streamer('s2', { activeStreams: 5 }), 1);
        await b.streamers.report(streamer('s3', { activeStreams: 9 }), 60);
        assert.equal((await b.streams.pickStreamer('p1'))?.id, 's2');
        assert.deepEqual((await b.streamers.listPool('p1')).map((s) => s.id), ['s2', 's3', 's1'], 'draining sorts last');
        await f.elapse(1100);
        assert.deepEqual((await b.streamers.listPool('p1')).map((s) => s.id), ['s3', 's1'], 'the record expired');
        assert.deepEqual((await b.streams.listStreamers()).map((s) => s.id).sort(), ['s1', 's3']);
        assert.equal((await b.streams.pickStreamer('p1'))?.id, 's3');
        await b.streamers.report(streamer('s3', { draining: true }), 60);
        assert.equal(await b.streams.pickStreamer('p1'), undefined);
      });
    });

    describe('streamers and events', () => {
      test('report, listPool least loaded first, listStreamers over every pool, remove', async () => {
        await b.streamers.report(streamer('s1', { activeStreams: 3, cpuPercent: 10 }), 60);
        await b.streamers.report(streamer('s2', { activeStreams: 3, cpuPercent: 5 }), 60);
        await b.streamers.report(streamer('s3', { activeStreams: 1 }), 60);
        await b.streamers.report(streamer('e1', { pool: 'edge' }), 60);
        assert.deepEqual((await b.streamers.listPool('p1')).map((s) => s.id), ['s3', 's2', 's1']);
        assert.deepEqual(await b.streamers.listPool('edge'), [streamer('e1', { pool: 'edge' })]);
        assert.deepEqual(await b.streamers.listPool('none'), []);
        assert.deepEqual((await b.streams.listStreamers()).map((s) => s.id).sort(), ['e1', 's1', 's2', 's3']);
        await b.streamers.report(streamer('s3', { activeStreams: 7 }), 60);
        assert.deepEqual((await b.streamers.listPool('p1')).map((s) => [s.id, s.activeStreams]), [['s2', 3], ['s1', 3], ['s3', 7]]);
        await b.streamers.remove('s2', 'p1');
        assert.deepEqual((await b.streamers.listPool('p1')).map((s) => s.id), ['s1', 's3']);
      });

      test('the operator\'s directives: drain requests and the public address, until cleared', async () => {
        assert.deepEqual(await b.streamers.directives('s1'), { drain: false });
        await b.streamers.requestDrain('s1');
        await b.streamers.setPublicAddress('s1', '203.0.113.7');
        await b.streamers.setPublicAddress('s2', '203.0.113.8');
        assert.deepEqual(await b.streamers.directives('s1'), { drain: true, publicAddress: '203.0.113.7' });
        assert.deepEqual(await b.streamers.directives('s2'), { drain: false, publicAddress: '203.0.113.8' });
        const replica = await f.replica();
        assert.deepEqual(await replica.streamers.directives('s1'), { drain: true, publicAddress: '203.0.113.7' }, 'every replica sees them');
        await b.streamers.setPublicAddress('s2', undefined);
        assert.deepEqual(await b.streamers.directives('s2'), { drain: false });
        await b.streamers.clearDirectives('s1');
        assert.deepEqual(await b.streamers.directives('s1'), { drain: false });
      });

      test('probe schedule: a report puts a streamer on it once, due at once; a claim is a lease carrying the record and the start a probe saw; dropProbe until the next report', async () => {
        const replica = await f.replica();
        await b.streamers.report(streamer('s1', { startedAt: T0 - 100 }), 60);
        await b.streamers.report(streamer('s2'), 60);
        const first = (await b.streamers.claimDueProbes(T0, T0 + 1000)).sort((x, y) => (x.id < y.id ? -1 : 1));
        assert.deepEqual(first, [
          { id: 's1', record: streamer('s1', { startedAt: T0 - 100 }) },
          { id: 's2', record: streamer('s2') },
        ]);
        await b.streamers.report(streamer('s1', { startedAt: T0 - 100, activeStreams: 2 }), 60);
        assert.deepEqual(await b.streamers.claimDueProbes(T0 + 999, T0 + 2000), [], 'a report does not move a scheduled probe');
        await b.streamers.setProbedStart('s1', T0 - 100);
        const [second, other] = await Promise.all([b.streamers.claimDueProbes(T0 + 1000, T0 + 2000), replica.streamers.claimDueProbes(T0 + 1000, T0 + 2000)]);
        const all = [...second, ...other].sort((x, y) => (x.id < y.id ? -1 : 1));
        assert.deepEqual(all.map((t) => t.id), ['s1', 's2'], 'each due probe to one caller');
        assert.equal(all[0].probedStartedAt, T0 - 100);
        assert.equal(all[0].record?.activeStreams, 2);

        await b.streamers.remove('s1', 'p1');
        const gone = (await b.streamers.claimDueProbes(T0 + 2000, T0 + 3000)).find((t) => t.id === 's1');
        assert.deepEqual(gone, { id: 's1', probedStartedAt: T0 - 100 }, 'still probed without a record');
        await b.streamers.dropProbe('s1');
        assert.deepEqual((await b.streamers.claimDueProbes(T0 + 3000, T0 + 4000)).map((t) => t.id), ['s2']);
        await b.streamers.report(streamer('s1', { startedAt: T0 + 3500 }), 60);
        assert.deepEqual(await b.streamers.claimDueProbes(T0 + 3500, T0 + 4000), [{ id: 's1', record: streamer('s1', { startedAt: T0 + 3500 }) }], 'back, with what probes saw forgotten');
      });

      test('events: every subscriber gets each one once, in order, never inside the publishing call; unsubscribe stops them', async () => {
        const replica = await f.replica();
        const one = await recordEvents(b);
        const two = await recordEvents(replica, b);
        const sent = [
          { type: 'receiver.closed', streamerId: 's1', streamId: 'a', reason: 'no-packets', detail: 'nothing', at: T0 },
          { type: 'receiver.receiving', streamerId: 's1', streamId: 'a', at: T0 + 1 },
          { type: 'streamer.draining', streamerId: 's1', pool: 'p1', at: T0 + 2 },
        ] as const;
        for (const e of sent) {
          const before = one.events.length;
          const published = b.streamers.publishEvent(e);
          assert.equal(one.events.length, before, 'not delivered inside the publishing call');
          await published;
        }
        const [id] = ids(1);
        const before = one.events.length + two.events.length;
        const registered = replica.devices.register(registration(id));
        assert.equal(one.events.length + two.events.length, before, 'not delivered inside the store call');
        await registered;
        const expected = [...sent, { type: 'device.online', deviceId: id, at: T0 }];
        assert.deepEqual(await one.settle(), expected);
        assert.deepEqual(await two.settle(), expected);
        one.events[0].at = 0;
        assert.equal(two.events[0].at, T0, 'each subscriber has its own copy');

        const published = b.streamers.publishEvent({ type: 'streamer.draining', streamerId: 's2', pool: 'p1', at: T0 });
        one.stop();
        await published;
        await two.settle();
        assert.equal(one.events.length, 3 + 1);
        assert.equal(two.events.length, 3 + 1 + 1);
      });

      test('readiness, and close is idempotent', async () => {
        assert.deepEqual(b.readiness(), { ready: true });
        await b.close();
        await b.close();
        assert.equal(b.readiness().ready, false);
      });
    });
  });
}

describe('in-process store: memory stays bounded', () => {
  test('100,000 distinct nonce uses expire and are freed; a replay within the TTL is still caught', async () => {
    const f = openMemoryFixture();
    try {
      const d = f.backend.devices;
      for (let i = 0; i < 100_000; i++) await d.authPrepare('34020000001320000001', '10.0.0.1', `n${i}`, 5000);
      assert.equal(f.backend.sizes().usedNonces, 100_000);
      assert.equal((await d.authPrepare('34020000001320000001', '10.0.0.1', 'n99999', 5000)).nonceFresh, false);
      await f.elapse(5001);
      f.backend.purgeExpired();
      assert.equal(f.backend.sizes().usedNonces, 0);
      assert.equal(f.backend.sizes().usedNoncesHeap, 0);
      assert.equal((await d.authPrepare('34020000001320000001', '10.0.0.1', 'n99999', 5000)).nonceFresh, true);
    } finally {
      await f.close();
    }
  });

  test('the purge timer frees expired entries by itself', async () => {
    let t = 0;
    const { createMemoryBackend } = await import('../common/store/memory/backend.ts');
    const backend = createMemoryBackend({ now: () => t, purgeIntervalMs: 10 });
    try {
      for (let i = 0; i < 1000; i++) await backend.devices.authPrepare('d', '10.0.0.1', `n${i}`, 100);
      await backend.devices.recordAuthFailure('d', '10.0.0.1', 100);
      await backend.streamers.report(streamer('s1'), 1);
      t += 1000;
      await new Promise((resolve) => setTimeout(resolve, 60));
      const sizes = backend.sizes();
      assert.deepEqual([sizes.usedNonces, sizes.deviceFailures, sizes.ipFailures, sizes.streamerRecords], [0, 0, 0, 0]);
    } finally {
      await backend.close();
    }
  });

  test('keepalive churn and rescheduling do not grow the schedules (stale heap entries are dropped)', async () => {
    const f = openMemoryFixture();
    try {
      const d = f.backend.devices;
      const devices = ids(2000);
      for (const id of devices) await d.register(registration(id));
      for (let round = 1; round <= 20; round++) {
        for (const id of devices) {
          await d.keepalive(id, T0 + round * 1000, 180_000);
          await d.scheduleQueries(id, T0 + round * 1000);
        }
        await d.sweep(T0 + round * 1000);
      }
      const sizes = f.backend.sizes();
      assert.equal(sizes.presence, 2000);
      assert.ok(sizes.presenceHeap <= 2 * 2000 + 1025, `presence heap ${sizes.presenceHeap}`);
      assert.ok(sizes.queryDueHeap <= 2 * 2000 + 1025, `query heap ${sizes.queryDueHeap}`);
    } finally {
      await f.close();
    }
  });

  test('100,000 devices registered in random order list completely in id order', async () => {
    const f = openMemoryFixture();
    try {
      const d = f.backend.devices;
      const all = ids(100_000);
      const order = [...all];
      let seed = 7;
      for (let i = order.length - 1; i > 0; i--) {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        const j = seed % (i + 1);
        [order[i], order[j]] = [order[j], order[i]];
      }
      for (const id of order) await d.register(registration(id));
      const listed: string[] = [];
      let after: string | undefined;
      for (let guard = 0; guard < 200; guard++) {
        const page = await d.list(after, 1000);
        if (page.length === 0) break;
        for (const device of page) listed.push(device.id);
        after = page[page.length - 1].id;
      }
      assert.equal(listed.length, all.length);
      assert.ok(listed.every((id, i) => id === all[i]));
      assert.equal(await d.count(), 100_000);
    } finally {
      await f.close();
    }
  });
});
