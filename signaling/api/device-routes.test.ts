import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deviceMatches, searchDevices, type SearchableDevice } from './device-routes.ts';

const devices: SearchableDevice[] = Array.from({ length: 100 }, (_, i) => ({
  id: `dev${String(i).padStart(3, '0')}`,
  online: i % 2 === 0,
  ip: `192.0.2.${i}`,
  name: i === 42 ? 'Loading Dock' : undefined,
  manufacturer: i < 10 ? 'Uniview' : undefined,
}));

/** An id-ordered store listing that counts the records it read. */
function store() {
  const calls: number[] = [];
  return {
    calls,
    list: async (after: string | undefined, limit: number) => {
      const start = after ? devices.findIndex((d) => d.id > after) : 0;
      const page = start < 0 ? [] : devices.slice(start, start + limit);
      calls.push(page.length);
      return page;
    },
  };
}

test('deviceMatches: id prefix, any-case parts of name/vendor/IP, online', () => {
  assert.ok(deviceMatches(devices[42], { q: 'DEV04' }));
  assert.ok(!deviceMatches(devices[42], { q: 'ev04' }), 'ids match by prefix only');
  assert.ok(deviceMatches(devices[42], { q: 'dock' }));
  assert.ok(deviceMatches(devices[3], { q: 'univ' }));
  assert.ok(deviceMatches(devices[3], { q: '192.0.2.3' }));
  assert.ok(!deviceMatches(devices[3], { online: true }));
  assert.ok(deviceMatches(devices[3], {}));
});

test('searchDevices stops after the scan budget with a cursor to continue from, and finds the rest from there', async () => {
  const s = store();
  const first = await searchDevices(s.list, { q: 'dock' }, undefined, 10, 30, 20);
  assert.deepEqual(first, { devices: [], next: 'dev029', scanned: 30 });
  assert.deepEqual(s.calls, [20, 10], 'no more than the budget is read');
  const second = await searchDevices(s.list, { q: 'dock' }, first.next, 10, 30, 20);
  assert.deepEqual(second.devices.map((d) => d.id), ['dev042']);
  assert.equal(second.next, 'dev059');
  const last = await searchDevices(s.list, { q: 'dock' }, 'dev089', 10, 30, 20);
  assert.deepEqual(last, { devices: [], scanned: 10 }, 'the end: no cursor');
});

test('searchDevices answers a full page with the last match as the cursor', async () => {
  const s = store();
  const page = await searchDevices(s.list, { online: false }, undefined, 5);
  assert.deepEqual(page.devices.map((d) => d.id), ['dev001', 'dev003', 'dev005', 'dev007', 'dev009']);
  assert.equal(page.next, 'dev009');
  const next = await searchDevices(s.list, { online: false }, page.next, 5);
  assert.equal(next.devices[0].id, 'dev011');
});
