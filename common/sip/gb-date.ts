/**
 * GB/T 28181 date-times: the `Date` header of a REGISTER 200 OK (`yyyy-MM-ddTHH:mm:ss.SSS`) and the
 * times inside MANSCDP bodies (`yyyy-MM-ddTHH:mm:ss`).
 *
 * The format has no time zone and devices set their clocks from the REGISTER `Date` as local wall-clock
 * time, so we write the wall clock of a chosen zone. Default: the server's local time (the process TZ),
 * which is right on a host configured like the cameras. Containers usually run with TZ=UTC while the
 * cameras live in, say, UTC+8: there the operator must give the offset explicitly
 * (`utcOffsetMinutes: 480`), or every camera's clock is set 8 hours off. The same offset is used to
 * read zone-less times sent by devices.
 */

export interface GbDateOptions {
  /**
   * Minutes east of UTC of the wall clock to write or read (480 for China Standard Time), -840 to 840.
   * Default: the server's local time zone.
   */
  utcOffsetMinutes?: number;
}

export interface GbDateFormatOptions extends GbDateOptions {
  /** Append `.SSS` (default true, as in the `Date` header; MANSCDP times are written without). */
  milliseconds?: boolean;
}

const MAX_OFFSET_MINUTES = 14 * 60;

function checkOffset(offset: number | undefined): void {
  if (offset !== undefined && (!Number.isFinite(offset) || Math.abs(offset) > MAX_OFFSET_MINUTES)) {
    throw new RangeError(`UTC offset must be within ±${MAX_OFFSET_MINUTES} minutes, got ${offset}`);
  }
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/** `yyyy-MM-ddTHH:mm:ss.SSS` for `date` (default now). Throws RangeError on an invalid date or offset. */
export function formatGbDate(date: Date | number = Date.now(), options: GbDateFormatOptions = {}): string {
  const { utcOffsetMinutes: offset, milliseconds = true } = options;
  checkOffset(offset);
  const ms = typeof date === 'number' ? date : date.getTime();
  if (!Number.isFinite(ms)) throw new RangeError('invalid date');
  let y: number, mo: number, d: number, h: number, mi: number, s: number, milli: number;
  if (offset === undefined) {
    const t = new Date(ms);
    [y, mo, d, h, mi, s, milli] = [t.getFullYear(), t.getMonth() + 1, t.getDate(), t.getHours(), t.getMinutes(), t.getSeconds(), t.getMilliseconds()];
  } else {
    const t = new Date(ms + Math.round(offset * 60_000));
    [y, mo, d, h, mi, s, milli] = [t.getUTCFullYear(), t.getUTCMonth() + 1, t.getUTCDate(), t.getUTCHours(), t.getUTCMinutes(), t.getUTCSeconds(), t.getUTCMilliseconds()];
  }
  if (y < 0 || y > 9999) throw new RangeError(`year ${y} does not fit yyyy`);
  const text = `${pad(y, 4)}-${pad(mo, 2)}-${pad(d, 2)}T${pad(h, 2)}:${pad(mi, 2)}:${pad(s, 2)}`;
  return milliseconds ? `${text}.${pad(milli, 3)}` : text;
}

// yyyy-M-d, 'T' or a space, H:m:s, optional fraction, optional zone (Z, ±HH, ±HHMM, ±HH:MM).
const GB_DATE_RE = /^(\d{4})-(\d{1,2})-(\d{1,2})[Tt ]+(\d{1,2}):(\d{1,2}):(\d{1,2})(?:[.,](\d{1,9}))?\s*(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?$/;

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysInMonth(year: number, month: number): number {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1];
}

/**
 * Reads a device date-time leniently: `yyyy-M-dTH:m:s` with one- or two-digit fields, a space instead
 * of `T`, optional fraction (any digits, kept to the millisecond) and optional zone. A zone-less value
 * is taken in `utcOffsetMinutes` or, by default, the server's local time. Undefined for anything else,
 * including out-of-range fields (month 13, 31 April, hour 24). Throws only on a bad offset option.
 */
export function parseGbDate(text: string, options: GbDateOptions = {}): Date | undefined {
  const offsetOption = options.utcOffsetMinutes;
  checkOffset(offsetOption);
  if (typeof text !== 'string' || text.length > 64) return undefined;
  const m = GB_DATE_RE.exec(text.trim());
  if (m === null) return undefined;
  const [y, mo, d, h, mi, s] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number);
  const ms = m[7] === undefined ? 0 : Number(m[7].slice(0, 3).padEnd(3, '0'));
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo) || h > 23 || mi > 59 || s > 59) return undefined;

  let offset: number | undefined = offsetOption;
  if (m[8] !== undefined) offset = 0;
  else if (m[9] !== undefined) {
    const zh = Number(m[10]);
    const zm = m[11] === undefined ? 0 : Number(m[11]);
    if (zh > 14 || zm > 59) return undefined;
    offset = (m[9] === '-' ? -1 : 1) * (zh * 60 + zm);
  }

  const t = new Date(0);
  if (offset === undefined) {
    // Local wall clock; setFullYear keeps years below 100 literal (the Date constructor would not).
    t.setFullYear(y, mo - 1, d);
    t.setHours(h, mi, s, ms);
  } else {
    t.setUTCFullYear(y, mo - 1, d);
    t.setUTCHours(h, mi, s, ms);
    t.setTime(t.getTime() - offset * 60_000);
  }
  return t;
}
