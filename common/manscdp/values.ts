/**
 * Lenient readers for the scalar values inside MANSCDP fields: integers, coordinates, ON/OFF
 * states, the Parental flag and device times. Each takes the field text (or undefined when the
 * field is missing) and returns undefined for anything it cannot read. Nothing here throws.
 */

export type OnOff = 'ON' | 'OFF';

/** Trimmed text, or undefined when missing or blank. */
export function textValue(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const t = text.trim();
  return t === '' ? undefined : t;
}

/** A decimal integer (optional sign) within [min, max]. */
export function parseInteger(text: string | undefined, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): number | undefined {
  const t = textValue(text);
  if (t === undefined || !/^[+-]?\d{1,15}$/.test(t)) return undefined;
  const n = Number(t);
  return n >= min && n <= max ? n : undefined;
}

/** A finite decimal number within [min, max] (no hex, no exponent, no empty string as 0). */
export function parseDecimal(text: string | undefined, min = -Number.MAX_VALUE, max = Number.MAX_VALUE): number | undefined {
  const t = textValue(text);
  if (t === undefined || t.length > 40 || !/^[+-]?(\d+\.?\d*|\.\d+)$/.test(t)) return undefined;
  const n = Number(t);
  return Number.isFinite(n) && n >= min && n <= max ? n : undefined;
}

const ON_WORDS = new Set(['on', 'online', 'ok', '1']);
const OFF_WORDS = new Set(['off', 'offline', '0']);

/** A channel or device state: ON/ONLINE/OK/1 → 'ON', OFF/OFFLINE/0 → 'OFF', anything else undefined. */
export function parseOnOff(text: string | undefined): OnOff | undefined {
  const t = textValue(text)?.toLowerCase();
  if (t === undefined) return undefined;
  if (ON_WORDS.has(t)) return 'ON';
  if (OFF_WORDS.has(t)) return 'OFF';
  return undefined;
}

/** The Parental flag: 1 only when the field says 1; 0, 65535, garbage and missing are 0. */
export function parseParental(text: string | undefined): 0 | 1 {
  return parseInteger(text) === 1 ? 1 : 0;
}

const DEVICE_TIME =
  /^(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[T ]+(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:[.,](\d{1,9}))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysInMonth(year: number, month: number): number {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1];
}

/**
 * A device time (`yyyy-M-dTH:m:s`, with or without milliseconds, seconds, time or zone; `/` or a
 * space accepted as separators) as an ISO 8601 string `YYYY-MM-DDTHH:mm:ss.sss`, followed by `Z` or
 * `±HH:MM` only when the device gave a zone (devices mostly send local time without one).
 * Impossible dates (month 13, 31 April, hour 24) give undefined.
 */
export function parseDeviceTime(text: string | undefined): string | undefined {
  const t = textValue(text);
  if (t === undefined || t.length > 48) return undefined;
  const m = DEVICE_TIME.exec(t);
  if (!m) return undefined;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hour = m[4] === undefined ? 0 : Number(m[4]);
  const minute = m[5] === undefined ? 0 : Number(m[5]);
  const second = m[6] === undefined ? 0 : Number(m[6]);
  const ms = m[7] === undefined ? 0 : Number(m[7].slice(0, 3).padEnd(3, '0'));
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  let zone = '';
  if (m[8] !== undefined) {
    if (m[8].toUpperCase() === 'Z') {
      zone = 'Z';
    } else {
      const digits = m[8].slice(1).replace(':', '');
      const zh = Number(digits.slice(0, 2));
      const zm = digits.length > 2 ? Number(digits.slice(2)) : 0;
      if (zh > 14 || zm > 59) return undefined;
      zone = `${m[8][0]}${pad(zh, 2)}:${pad(zm, 2)}`;
    }
  }
  return `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}T${pad(hour, 2)}:${pad(minute, 2)}:${pad(second, 2)}.${pad(ms, 3)}${zone}`;
}

/** A local time as devices expect it in MANSCDP (`yyyy-MM-ddTHH:mm:ss`, no zone). */
export function formatDeviceTime(date: Date): string {
  return (
    `${pad(date.getFullYear(), 4)}-${pad(date.getMonth() + 1, 2)}-${pad(date.getDate(), 2)}` +
    `T${pad(date.getHours(), 2)}:${pad(date.getMinutes(), 2)}:${pad(date.getSeconds(), 2)}`
  );
}
