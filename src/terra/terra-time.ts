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

const grammar = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?(Z|z|[+-]\d{2}(?::?\d{2})?)?)?$/;

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

/** Reads `raw` as a Terra timestamp; the reason names the first rule broken, never the value. */
export function parseTerraTime(raw: string): TerraTimeResult {
  const match = raw.length <= maxLength ? grammar.exec(raw) : null;
  if (match === null) return { ok: false, reason: 'not an ISO-8601 date or date-time (YYYY-MM-DDTHH:MM:SS with an optional fraction and zone)' };
  const [, yearText = '', monthText = '', dayText = '', hourText, minuteText, secondText, fraction = '', zone] = match;
  const year = Number(yearText);
  const month = Number(monthText);
  const day = Number(dayText);
  if (year < minYear || year > maxYear) return { ok: false, reason: `year ${yearText} is outside ${minYear}-${maxYear}` };
  if (month < 1 || month > 12) return { ok: false, reason: `month ${monthText} does not exist` };
  if (day < 1 || day > daysInMonth(year, month)) return { ok: false, reason: `day ${dayText} does not exist in ${yearText}-${monthText}` };
  const hasTime = hourText !== undefined;
  const hour = Number(hourText ?? '0');
  const minute = Number(minuteText ?? '0');
  const second = Number(secondText ?? '0');
  if (hour > 23) return { ok: false, reason: `hour ${hourText ?? ''} does not exist` };
  if (minute > 59) return { ok: false, reason: `minute ${minuteText ?? ''} does not exist` };
  if (second > 59) return { ok: false, reason: `second ${secondText ?? ''} does not exist` };
  let offsetMinutes: number | null = null;
  if (zone === 'Z' || zone === 'z') offsetMinutes = 0;
  else if (zone !== undefined) {
    const digits = zone.slice(1).replace(':', '');
    const offsetHours = Number(digits.slice(0, 2));
    const offsetRest = digits.length > 2 ? Number(digits.slice(2, 4)) : 0;
    if (offsetHours > 23 || offsetRest > 59) return { ok: false, reason: `zone offset ${zone} does not exist` };
    offsetMinutes = (zone.startsWith('-') ? -1 : 1) * (offsetHours * 60 + offsetRest);
  }
  const time: TerraTime = { year, month, day, hasTime, hour, minute, second, millisecond: Number(fraction.slice(0, 3).padEnd(3, '0')), offsetMinutes };
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
  return `${new Date(instantMs(time)).toISOString().slice(0, 19)}Z`;
}
