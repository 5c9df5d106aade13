/**
 * Terra's timestamps, read strictly, in one place: the decoder validates with it, object keys and
 * SQL columns format with it, so a time that is accepted is keyed the same way everywhere.
 *
 * Accepted: `YYYY-MM-DD`, optionally followed by `T` (or `t` or a space), `HH:MM`, optional `:SS`
 * with an optional fraction (`.` or `,`, any number of digits), and an optional zone (`Z`, `z`,
 * `+HH`, `+HHMM`, `+HH:MM`, same with `-`). Terra sends `2022-10-28T10:00:00.000000+01:00`; a time
 * without zone is the user's local time.
 *
 * A real date-time: month 01-12, a day that exists in that month (leap years by the Gregorian
 * rule), hour 00-23, minute and second 00-59 (no leap second: Terra's timestamps come from Python's
 * datetime, which has none), zone offset at most 23:59, and a year from 1000 to 9999, for the
 * written time and for the UTC instant it stands for: the range every destination stores
 * (MySQL's DATETIME starts at 1000) and that ISO strings write with four digits. JavaScript's
 * `Date.UTC` would roll `2022-02-30` into March and read year `0099` as 1999; nothing here uses it
 * on an unchecked value.
 */

export interface TerraTime {
  year: number;
  month: number;
  day: number;
  /** False for a date alone (`2022-10-28`). */
  hasTime: boolean;
  hour: number;
  minute: number;
  second: number;
  /** Milliseconds from the fraction, truncated (`.999999` is 999). */
  millisecond: number;
  /** Minutes east of UTC, or null for a local time (no zone). */
  offsetMinutes: number | null;
}

export type TerraTimeResult = { ok: true; time: TerraTime } | { ok: false; reason: string };

/**
 * The grammar, as a pattern. parseTerraTime reads it with the scanner below (a few times faster than
 * the pattern, and the lanes read two or more timestamps per record); the tests hold the scanner to
 * this pattern on every string they generate.
 */
export const terraTimeGrammar = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?(Z|z|[+-]\d{2}(?::?\d{2})?)?)?$/;

/** Longer strings are refused before the pattern runs (Terra's longest form is 32 characters). */
const maxLength = 64;

export const minYear = 1000;
export const maxYear = 9999;

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return isLeapYear(year) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

function pad(value: number, width: number): string {
  return String(value).padStart(width, '0');
}

/** Where the parts of a timestamp lie in its text (the pattern's capture groups), or null when it does not match. */
interface Scanned {
  year: number;
  month: number;
  day: number;
  /** -1 for a date alone. */
  hour: number;
  minute: number;
  /** -1 when the time has no seconds. */
  second: number;
  /** Start and end of the fraction's digits (equal when there is none). */
  fractionStart: number;
  fractionEnd: number;
  /** Start of the zone (the string's length when there is none). */
  zoneStart: number;
}

const ZERO = 48;

/** The value of the two ASCII digits at `at`, or -1. */
function twoDigits(raw: string, at: number): number {
  const high = raw.charCodeAt(at) - ZERO;
  const low = raw.charCodeAt(at + 1) - ZERO;
  return high >= 0 && high <= 9 && low >= 0 && low <= 9 ? high * 10 + low : -1;
}

/** terraTimeGrammar, read left to right (it has one reading: every optional part starts with its own character). */
function scan(raw: string): Scanned | null {
  const length = raw.length;
  if (length < 10 || raw.charCodeAt(4) !== 0x2d || raw.charCodeAt(7) !== 0x2d) return null;
  const century = twoDigits(raw, 0);
  const decade = twoDigits(raw, 2);
  const month = twoDigits(raw, 5);
  const day = twoDigits(raw, 8);
  if (century < 0 || decade < 0 || month < 0 || day < 0) return null;
  const scanned: Scanned = { year: century * 100 + decade, month, day, hour: -1, minute: 0, second: -1, fractionStart: length, fractionEnd: length, zoneStart: length };
  if (length === 10) return scanned;
  const separator = raw.charCodeAt(10);
  if ((separator !== 0x54 && separator !== 0x74 && separator !== 0x20) || raw.charCodeAt(13) !== 0x3a) return null;
  scanned.hour = twoDigits(raw, 11);
  scanned.minute = twoDigits(raw, 14);
  if (scanned.hour < 0 || scanned.minute < 0) return null;
  let at = 16;
  if (raw.charCodeAt(at) === 0x3a) {
    scanned.second = twoDigits(raw, at + 1);
    if (scanned.second < 0) return null;
    at += 3;
    const mark = raw.charCodeAt(at);
    if (mark === 0x2e || mark === 0x2c) {
      const start = at + 1;
      at = start;
      while (at < length && raw.charCodeAt(at) >= ZERO && raw.charCodeAt(at) <= ZERO + 9) at += 1;
      if (at === start) return null;
      scanned.fractionStart = start;
      scanned.fractionEnd = at;
    }
  }
  scanned.zoneStart = at;
  if (at === length) return scanned;
  const sign = raw.charCodeAt(at);
  if (sign === 0x5a || sign === 0x7a) return at + 1 === length ? scanned : null;
  if ((sign !== 0x2b && sign !== 0x2d) || twoDigits(raw, at + 1) < 0) return null;
  at += 3;
  if (at === length) return scanned;
  if (raw.charCodeAt(at) === 0x3a) at += 1;
  return twoDigits(raw, at) >= 0 && at + 2 === length ? scanned : null;
}

/** Milliseconds of a fraction: its first three digits, padded (`.5` is 500, `.999999` is 999). */
function fractionMs(raw: string, start: number, end: number): number {
  let ms = 0;
  for (let at = start; at < start + 3; at += 1) ms = ms * 10 + (at < end ? raw.charCodeAt(at) - ZERO : 0);
  return ms;
}

/** Reads `raw` as a Terra timestamp; the reason names the first rule broken, never the value. */
export function parseTerraTime(raw: string): TerraTimeResult {
  const scanned = raw.length <= maxLength ? scan(raw) : null;
  if (scanned === null) return { ok: false, reason: 'not an ISO-8601 date or date-time (YYYY-MM-DDTHH:MM:SS with an optional fraction and zone)' };
  const { year, month, day } = scanned;
  if (year < minYear || year > maxYear) return { ok: false, reason: `year ${raw.slice(0, 4)} is outside ${minYear}-${maxYear}` };
  if (month < 1 || month > 12) return { ok: false, reason: `month ${raw.slice(5, 7)} does not exist` };
  if (day < 1 || day > daysInMonth(year, month)) return { ok: false, reason: `day ${raw.slice(8, 10)} does not exist in ${raw.slice(0, 4)}-${raw.slice(5, 7)}` };
  const hasTime = scanned.hour >= 0;
  const hour = hasTime ? scanned.hour : 0;
  const minute = scanned.minute;
  const second = scanned.second < 0 ? 0 : scanned.second;
  if (hour > 23) return { ok: false, reason: `hour ${pad(hour, 2)} does not exist` };
  if (minute > 59) return { ok: false, reason: `minute ${pad(minute, 2)} does not exist` };
  if (second > 59) return { ok: false, reason: `second ${pad(second, 2)} does not exist` };
  let offsetMinutes: number | null = null;
  const zoneStart = scanned.zoneStart;
  if (zoneStart < raw.length) {
    const sign = raw.charCodeAt(zoneStart);
    if (sign === 0x5a || sign === 0x7a) offsetMinutes = 0;
    else {
      const offsetHours = twoDigits(raw, zoneStart + 1);
      const restAt = raw.charCodeAt(zoneStart + 3) === 0x3a ? zoneStart + 4 : zoneStart + 3;
      const offsetRest = restAt < raw.length ? twoDigits(raw, restAt) : 0;
      if (offsetHours > 23 || offsetRest > 59) return { ok: false, reason: `zone offset ${raw.slice(zoneStart)} does not exist` };
      offsetMinutes = (sign === 0x2d ? -1 : 1) * (offsetHours * 60 + offsetRest);
    }
  }
  const time: TerraTime = { year, month, day, hasTime, hour, minute, second, millisecond: fractionMs(raw, scanned.fractionStart, scanned.fractionEnd), offsetMinutes };
  // Only a time in the first or last year can cross the range when its offset is applied.
  if (year === minYear || year === maxYear) {
    const utcYear = new Date(instantMs(time)).getUTCFullYear();
    if (utcYear < minYear || utcYear > maxYear) return { ok: false, reason: `the UTC instant falls outside years ${minYear}-${maxYear}` };
  }
  return { ok: true, time };
}

/** Why `raw` is not a real Terra timestamp, or undefined when it is. */
export function terraTimeProblem(raw: string): string | undefined {
  const result = parseTerraTime(raw);
  return result.ok ? undefined : result.reason;
}

/** The instant in unix ms; a local time (no zone) and a date alone are read as UTC. */
export function instantMs(time: TerraTime): number {
  // Years are 1000-9999 here, so Date.UTC's 0-99 => 1900s mapping never applies.
  return Date.UTC(time.year, time.month - 1, time.day, time.hour, time.minute, time.second, time.millisecond) - (time.offsetMinutes ?? 0) * 60_000;
}

/**
 * The time as it appears in keys: `YYYY-MM-DDTHH:MM:SSZ` in UTC when it has a zone, the local
 * `YYYY-MM-DDTHH:MM:SS` when it has none, `YYYY-MM-DD` for a date alone. No fraction.
 */
export function keyTimeOf(time: TerraTime): string {
  const date = `${pad(time.year, 4)}-${pad(time.month, 2)}-${pad(time.day, 2)}`;
  if (!time.hasTime) return date;
  if (time.offsetMinutes === null) return `${date}T${pad(time.hour, 2)}:${pad(time.minute, 2)}:${pad(time.second, 2)}`;
  // In UTC already: the written fields are the instant's.
  if (time.offsetMinutes === 0) return `${date}T${pad(time.hour, 2)}:${pad(time.minute, 2)}:${pad(time.second, 2)}Z`;
  return `${new Date(instantMs(time)).toISOString().slice(0, 19)}Z`;
}
