import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatGbDate, parseGbDate } from './gb-date.ts';
import { mulberry32, randInt } from '../testing/prng.ts';

/** Runs `fn` with the process time zone set to `tz` (Node applies TZ changes at once). */
function inZone(tz: string, fn: () => void): void {
  const saved = process.env.TZ;
  process.env.TZ = tz;
  try {
    fn();
  } finally {
    if (saved === undefined) delete process.env.TZ;
    else process.env.TZ = saved;
  }
}

const INSTANT = Date.UTC(2024, 0, 2, 3, 4, 5, 6); // 2024-01-02T03:04:05.006Z

test('the Date header: local server time by default', () => {
  inZone('Asia/Shanghai', () => {
    assert.equal(formatGbDate(INSTANT), '2024-01-02T11:04:05.006');
    assert.equal(formatGbDate(new Date(INSTANT)), '2024-01-02T11:04:05.006');
  });
  inZone('UTC', () => assert.equal(formatGbDate(INSTANT), '2024-01-02T03:04:05.006'));
  inZone('America/New_York', () => assert.equal(formatGbDate(INSTANT), '2024-01-01T22:04:05.006'));
  assert.match(formatGbDate(), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}$/);
});

test('the Date header: an explicit UTC offset overrides the server zone', () => {
  inZone('UTC', () => {
    assert.equal(formatGbDate(INSTANT, { utcOffsetMinutes: 480 }), '2024-01-02T11:04:05.006');
    assert.equal(formatGbDate(INSTANT, { utcOffsetMinutes: 0 }), '2024-01-02T03:04:05.006');
    assert.equal(formatGbDate(INSTANT, { utcOffsetMinutes: -300 }), '2024-01-01T22:04:05.006');
    assert.equal(formatGbDate(INSTANT, { utcOffsetMinutes: 345 }), '2024-01-02T08:49:05.006');
    assert.equal(formatGbDate(INSTANT, { utcOffsetMinutes: 480, milliseconds: false }), '2024-01-02T11:04:05');
  });
  assert.equal(formatGbDate(Date.UTC(999, 11, 31, 23, 59, 59, 0) - 0, { utcOffsetMinutes: 0 }), '0999-12-31T23:59:59.000');
  assert.throws(() => formatGbDate(Number.NaN), RangeError);
  assert.throws(() => formatGbDate(new Date('nope')), RangeError);
  assert.throws(() => formatGbDate(INSTANT, { utcOffsetMinutes: 900 }), RangeError);
  assert.throws(() => formatGbDate(Date.UTC(10000, 0, 1), { utcOffsetMinutes: 0 }), RangeError);
});

test('device dates: lenient fields, separators, fractions and zones', () => {
  const at = (iso: string) => new Date(iso).getTime();
  const cases: [string, string][] = [
    ['2024-01-02T11:04:05', '2024-01-02T03:04:05.000Z'],
    ['2024-1-2T11:4:5', '2024-01-02T03:04:05.000Z'],
    ['2024-1-2 11:4:5', '2024-01-02T03:04:05.000Z'],
    ['2024-01-02t11:04:05', '2024-01-02T03:04:05.000Z'],
    ['  2024-01-02T11:04:05.006 ', '2024-01-02T03:04:05.006Z'],
    ['2024-01-02T11:04:05.5', '2024-01-02T03:04:05.500Z'],
    ['2024-01-02T11:04:05,25', '2024-01-02T03:04:05.250Z'],
    ['2024-01-02T11:04:05.123456789', '2024-01-02T03:04:05.123Z'],
    ['2024-01-02T03:04:05Z', '2024-01-02T03:04:05.000Z'],
    ['2024-01-02T03:04:05.006z', '2024-01-02T03:04:05.006Z'],
    ['2024-01-02T11:04:05+08:00', '2024-01-02T03:04:05.000Z'],
    ['2024-01-02T11:04:05+0800', '2024-01-02T03:04:05.000Z'],
    ['2024-01-02T11:04:05 +08', '2024-01-02T03:04:05.000Z'],
    ['2024-01-01T21:34:05-05:30', '2024-01-02T03:04:05.000Z'],
    ['2024-02-29T08:00:00', '2024-02-29T00:00:00.000Z'],
    ['2000-02-29T08:00:00', '2000-02-29T00:00:00.000Z'],
  ];
  for (const [text, iso] of cases) {
    assert.equal(parseGbDate(text, { utcOffsetMinutes: 480 })?.getTime(), at(iso), text);
  }
  // Zone-less dates in the server's zone by default; an explicit zone ignores it.
  inZone('Asia/Shanghai', () => {
    assert.equal(parseGbDate('2024-1-2T11:4:5')?.getTime(), at('2024-01-02T03:04:05Z'));
    assert.equal(parseGbDate('2024-01-02T03:04:05Z')?.getTime(), at('2024-01-02T03:04:05Z'));
  });
  inZone('UTC', () => assert.equal(parseGbDate('2024-1-2T11:4:5')?.getTime(), at('2024-01-02T11:04:05Z')));
  inZone('UTC', () => assert.equal(parseGbDate('0050-01-01T00:00:00')?.getUTCFullYear(), 50, 'years below 100 stay literal'));
});

test('device dates: garbage and out-of-range fields are undefined', () => {
  const bad = [
    '',
    'garbage',
    '2024-01-02',
    '2024-01-02T03:04',
    '24-01-02T03:04:05',
    '2024-13-02T03:04:05',
    '2024-00-02T03:04:05',
    '2024-01-00T03:04:05',
    '2024-04-31T03:04:05',
    '2023-02-29T03:04:05',
    '1900-02-29T03:04:05',
    '2024-01-02T24:00:00',
    '2024-01-02T03:60:00',
    '2024-01-02T03:04:60',
    '2024-01-02T03:04:05.',
    '2024-01-02T03:04:05+15:00',
    '2024-01-02T03:04:05+08:60',
    '2024-01-02T03:04:05 junk',
    '2024-01-02T003:04:05',
    '2024-01-02T03:04:05' + ' '.repeat(100),
  ];
  for (const b of bad) assert.equal(parseGbDate(b, { utcOffsetMinutes: 480 }), undefined, b);
  assert.equal(parseGbDate(undefined as unknown as string), undefined);
  assert.throws(() => parseGbDate('2024-01-02T03:04:05', { utcOffsetMinutes: Number.NaN }), RangeError);
});

test('format then parse is the identity, in any zone and offset (seeded)', () => {
  const seed = 0x6bda7e;
  const rnd = mulberry32(seed);
  const zones = ['UTC', 'Asia/Shanghai', 'America/New_York', 'Asia/Kathmandu'];
  for (const tz of zones) {
    inZone(tz, () => {
      for (let i = 0; i < 2_000; i++) {
        // 1971–2100, avoiding the local hour a DST change skips or repeats only for the zone-less default.
        const t = Date.UTC(1971, 0, 1) + Math.floor(rnd() * 130 * 365.25 * 86_400_000);
        const offset = randInt(rnd, 1_681) - 840;
        assert.equal(parseGbDate(formatGbDate(t, { utcOffsetMinutes: offset }), { utcOffsetMinutes: offset })?.getTime(), t, `seed ${seed} ${tz} ${t} ${offset}`);
        const local = parseGbDate(formatGbDate(t));
        assert.ok(local !== undefined);
        // Ambiguous local times (the repeated hour at a DST end) may resolve to the other instant.
        assert.ok(local.getTime() === t || Math.abs(local.getTime() - t) === 3_600_000, `seed ${seed} ${tz} ${t}`);
      }
    });
  }
});
