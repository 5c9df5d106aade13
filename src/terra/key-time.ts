/**
 * Times as they appear in object keys, matching Terra's bucket examples
 * (`2022-03-16/activity/abc123-2026-03-12T06:00:00Z.json`).
 */

const isoTime = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?(?:[.,]\d+)?(Z|z|[+-]\d{2}(?::?\d{2})?)?$/;

/**
 * `YYYY-MM-DDTHH:MM:SSZ` in UTC when `raw` carries an offset or `Z`; otherwise (Terra's "user's
 * local time" case) the raw local time with its fraction removed, e.g. `2022-10-28T10:00:00`.
 * A value that is not an ISO date-time is returned unchanged. Pure; never throws.
 */
export function formatKeyTime(raw: string): string {
  const match = isoTime.exec(raw);
  if (match === null) return raw;
  const [, year, month, day, hour, minute, second = '00', zone] = match;
  if (zone === undefined) return `${year}-${month}-${day}T${hour}:${minute}:${second}`;
  const offsetMinutes = parseOffsetMinutes(zone);
  const utcMs =
    Date.UTC(Number(year), Number(month) - 1, Number(day), Number(hour), Number(minute), Number(second)) - offsetMinutes * 60_000;
  if (!Number.isFinite(utcMs)) return raw;
  const iso = new Date(utcMs).toISOString();
  if (!/^\d{4}-/.test(iso)) return raw;
  return `${iso.slice(0, 19)}Z`;
}

function parseOffsetMinutes(zone: string): number {
  if (zone === 'Z' || zone === 'z') return 0;
  const sign = zone.startsWith('-') ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  const hours = Number(digits.slice(0, 2));
  const minutes = digits.length > 2 ? Number(digits.slice(2, 4)) : 0;
  return sign * (hours * 60 + minutes);
}
