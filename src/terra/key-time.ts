import { keyTimeOf, parseTerraTime } from './terra-time.js';

/**
 * Times as they appear in object keys, matching Terra's bucket examples
 * (`2022-03-16/activity/abc123-2026-03-12T06:00:00Z.json`).
 */

/**
 * `YYYY-MM-DDTHH:MM:SSZ` in UTC when `raw` carries an offset or `Z`; otherwise (Terra's "user's
 * local time" case) the raw local time with its fraction removed, e.g. `2022-10-28T10:00:00`.
 * A value that is not a real Terra timestamp (see terra-time.ts) is returned unchanged, never
 * rolled into another date: the decoder refuses such values in every field that reaches a key,
 * so only a caller that skipped it can see one. Pure; never throws.
 */
export function formatKeyTime(raw: string): string {
  const parsed = parseTerraTime(raw);
  return parsed.ok ? keyTimeOf(parsed.time) : raw;
}
