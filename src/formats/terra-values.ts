import { isPlainObject } from '../json/json-value.js';

/**
 * Reading Terra's nested blocks, which the decoder checks only for their kind (object, array):
 * every value here may be missing, null or of another type. These readers return null (or an
 * empty list) for anything that is not what the mapping needs, so an odd payload maps to fewer
 * fields, never to an exception. Shared by the FHIR and FIT formats.
 */

export type Json = Readonly<Record<string, unknown>>;

/** `value[key]` when it is a JSON object. */
export function block(value: Json | null | undefined, key: string): Json | null {
  const inner = value?.[key];
  return isPlainObject(inner) ? inner : null;
}

/** The objects in `value[key]` when it is an array (other entries are skipped). */
export function list(value: Json | null | undefined, key: string): Json[] {
  const inner = value?.[key];
  return Array.isArray(inner) ? inner.filter(isPlainObject) : [];
}

/** `value[key]` when it is a finite number. */
export function num(value: Json | null | undefined, key: string): number | null {
  const inner = value?.[key];
  return typeof inner === 'number' && Number.isFinite(inner) ? inner : null;
}

/** `value[key]` when it is a non-empty string (trimmed; FHIR strings may not be blank). */
export function str(value: Json | null | undefined, key: string): string | null {
  const inner = value?.[key];
  if (typeof inner !== 'string') return null;
  const trimmed = inner.trim();
  return trimmed === '' ? null : trimmed;
}

/** A point in time read from Terra: the text to write (always with an offset) and unix milliseconds. */
export interface Instant {
  /** ISO-8601 with seconds and an offset, Terra's own text where it already is (keeps the local offset). */
  text: string;
  ms: number;
}

const WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
const WITHOUT_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?$/;

/**
 * A Terra timestamp as an instant. Terra writes `2026-07-01T06:12:03.000000+01:00`; a timestamp
 * without an offset (Terra: "the user's local time") is read as UTC, because FHIR and FIT both
 * need an absolute time. Anything else Date.parse understands is normalized to UTC; the rest is null.
 */
export function instant(raw: unknown): Instant | null {
  if (typeof raw !== 'string') return null;
  if (WITH_OFFSET.test(raw)) {
    const ms = Date.parse(raw);
    return Number.isFinite(ms) ? { text: raw, ms } : null;
  }
  if (WITHOUT_OFFSET.test(raw)) {
    const ms = Date.parse(`${raw}Z`);
    return Number.isFinite(ms) ? { text: `${raw}Z`, ms } : null;
  }
  const ms = Date.parse(raw);
  if (!Number.isFinite(ms)) return null;
  return { text: new Date(ms).toISOString(), ms };
}

/** `value[key]` read as an instant. */
export function instantAt(value: Json | null | undefined, key: string): Instant | null {
  return instant(value?.[key]);
}
