/** The in-process store's data structures against naive models, on seeded random operations. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mulberry32, randInt } from '../../testing/prng.ts';
import { ExpiringMap } from './expiring-map.ts';
import { Schedule } from './schedule.ts';
import { SortedStrings } from './sorted-strings.ts';

const seed = Number(process.env.GBCAST_SEED ?? 20240611);

test(`SortedStrings: adds and pages after any cursor like a sorted array (seed ${seed})`, () => {
  const rnd = mulberry32(seed);
  const set = new SortedStrings();
  const model = new Set<string>();
  for (let i = 0; i < 20_000; i++) {
    const value = String(randInt(rnd, 50_000)).padStart(5, '0');
    assert.equal(set.add(value), !model.has(value));
    model.add(value);
  }
  const sorted = [...model].sort();
  assert.equal(set.size, sorted.length);
  assert.deepEqual(set.after(undefined, Infinity), sorted);
  for (let i = 0; i < 500; i++) {
    const cursor = String(randInt(rnd, 50_001)).padStart(5, '0');
    const limit = 1 + randInt(rnd, 700);
    const from = sorted.findIndex((v) => v > cursor);
    assert.deepEqual(set.after(cursor, limit), from < 0 ? [] : sorted.slice(from, from + limit), `after ${cursor}`);
  }
});

test(`Schedule: set, move, delete and takeDue like a sorted set by (time, member) (seed ${seed})`, () => {
  const rnd = mulberry32(seed + 1);
  const schedule = new Schedule();
  const model = new Map<string, number>();
  let now = 0;
  for (let i = 0; i < 50_000; i++) {
    const member = `m${randInt(rnd, 3000)}`;
    const op = randInt(rnd, 10);
    if (op < 6) {
      const time = now + randInt(rnd, 500);
      schedule.set(member, time);
      model.set(member, time);
    } else if (op < 8) {
      assert.equal(schedule.delete(member), model.delete(member));
    } else {
      now += randInt(rnd, 50);
      const limit = 1 + randInt(rnd, 40);
      const expected = [...model]
        .filter(([, t]) => t <= now)
        .sort(([a, ta], [b, tb]) => ta - tb || (a < b ? -1 : a > b ? 1 : 0))
        .slice(0, limit)
        .map(([m]) => m);
      for (const m of expected) model.delete(m);
      assert.deepEqual(schedule.takeDue(now, limit), expected);
    }
    assert.equal(schedule.size, model.size);
    assert.ok(schedule.heapSize <= 2 * model.size + 1025);
  }
});

test(`ExpiringMap: TTLs, SET NX, PEXPIRE NX and purge like Redis keys (seed ${seed})`, () => {
  const rnd = mulberry32(seed + 2);
  let now = 0;
  const map = new ExpiringMap<number>(() => now);
  const model = new Map<string, { value: number; expiresAt: number }>();
  const live = (key: string) => {
    const e = model.get(key);
    return e && e.expiresAt > now ? e : undefined;
  };
  for (let i = 0; i < 50_000; i++) {
    const key = `k${randInt(rnd, 500)}`;
    const ttl = randInt(rnd, 3) === 0 ? undefined : 1 + randInt(rnd, 200);
    switch (randInt(rnd, 6)) {
      case 0:
        map.set(key, i, ttl);
        model.set(key, { value: i, expiresAt: ttl === undefined ? Infinity : now + ttl });
        break;
      case 1: {
        const fresh = !live(key);
        assert.equal(map.setIfAbsent(key, i, ttl), fresh);
        if (fresh) model.set(key, { value: i, expiresAt: ttl === undefined ? Infinity : now + ttl });
        break;
      }
      case 2: {
        const e = live(key);
        map.update(key, i);
        if (e) e.value = i;
        else model.set(key, { value: i, expiresAt: Infinity });
        break;
      }
      case 3: {
        const e = live(key);
        const applies = e !== undefined && e.expiresAt === Infinity;
        assert.equal(map.expireIfPersistent(key, 1 + (ttl ?? 50)), applies);
        if (applies) e.expiresAt = now + 1 + (ttl ?? 50);
        break;
      }
      case 4:
        assert.equal(map.delete(key), live(key) !== undefined);
        model.delete(key);
        break;
      default:
        now += randInt(rnd, 20);
        if (randInt(rnd, 10) === 0) map.purge();
    }
    assert.equal(map.get(key), live(key)?.value);
  }
  now += 1000;
  map.purge();
  const persistent = [...model.values()].filter((e) => e.expiresAt === Infinity).length;
  assert.equal(map.size, persistent, 'only entries without expiry are left');
  assert.deepEqual([...map.entries()].length, persistent);
});
