import { z } from 'zod';
import { isPlainObject } from '../../json/json-value.js';
import { identifierProblem } from '../identifier.js';
import { minYear, maxYear, parseTerraTime, terraTimeProblem } from '../terra-time.js';
import { ruleIssue } from './violation.js';

/**
 * Building blocks shared by every Terra event schema.
 *
 * The schemas validate; they never transform. The decoder keeps the original `JSON.parse` output,
 * so nothing here may rename, default or coerce a field. Nested blocks (samples, durations,
 * enrichment...) are checked only as "an object" or "an array": their contents can run to tens of
 * megabytes and the engine does not read them.
 */


function isArrayOfObjects(value: unknown): value is readonly Readonly<Record<string, unknown>>[] {
  return Array.isArray(value) && value.every(isPlainObject);
}

/** `anyOf: [string, null]`, not required. */
export const nullableString = z.string().nullable().optional();
/** `anyOf: [number, null]` (integers and open integer enums alike), not required. */
export const nullableNumber = z.number().nullable().optional();
export const nullableBoolean = z.boolean().nullable().optional();

/** A nested object block (e.g. `heart_rate_data`), nullable; its contents are not walked. */
export const objectBlock = z
  .custom<Readonly<Record<string, unknown>>>(isPlainObject, { error: 'Invalid input: expected object' })
  .nullable()
  .optional();

/** A required array of objects (lab report `results`); the objects' contents are not walked. */
export const objectArray = z.custom<readonly Readonly<Record<string, unknown>>[]>(isArrayOfObjects, { error: 'Invalid input: expected array of objects' });

/** A nested array of objects (e.g. `meals`), nullable; the objects' contents are not walked. */
export const objectArrayBlock = objectArray.nullable().optional();

/**
 * A string that reaches a key, a file or object name, an SQL key or a document id: without the
 * characters identifier.ts refuses (`invalid_identifier`).
 */
const keySafeString = z.string().check((ctx) => {
  const problem = identifierProblem(ctx.value);
  if (problem !== undefined) ctx.issues.push(ruleIssue('invalid_identifier', ctx.value, `an identifier ${problem}`));
});

/** A non-empty string the engine keys on (ids), key-safe. */
export const idString = keySafeString.min(1);

/** An optional, nullable id that reaches a key (reference_id, provider, sleep summary_id...), key-safe when present. */
export const nullableIdString = keySafeString.nullable().optional();

/** A real Terra timestamp (terra-time.ts): refused otherwise as `invalid_timestamp`, naming the rule broken. */
const terraTime = z.string().check((ctx) => {
  const problem = terraTimeProblem(ctx.value);
  if (problem !== undefined) ctx.issues.push(ruleIssue('invalid_timestamp', ctx.value, `not a real date-time: ${problem}`));
});

/**
 * An ISO-8601 date-time as Terra sends it (`2022-10-28T10:00:00.000000+01:00`, offset optional, a
 * date alone allowed), that is a real date and time (terra-time.ts). Identities slice the date
 * part from it and keys format it, so a value that is not a real time never reaches them.
 */
export const isoDateTime = terraTime;

/** Same as isoDateTime, for fields that may be absent or null (health_observation end_time, planned_date). */
export const nullableIsoDateTime = terraTime.nullable().optional();

/** An RFC 3339 instant: a real date-time with a zone (lab reports' `occurred_at`). */
export const instantDateTime = z.string().check((ctx) => {
  const parsed = parseTerraTime(ctx.value);
  if (!parsed.ok) ctx.issues.push(ruleIssue('invalid_timestamp', ctx.value, `not a real date-time: ${parsed.reason}`));
  else if (!parsed.time.hasTime || parsed.time.offsetMinutes === null) ctx.issues.push(ruleIssue('invalid_timestamp', ctx.value, 'not an instant: a date-time with a zone (Z or +HH:MM) is required'));
});

const minMicros = Date.UTC(minYear, 0, 1) * 1000;
const maxMicros = Date.UTC(maxYear + 1, 0, 1) * 1000 - 1;

/** Teams timestamps: integer microseconds since the epoch, nullable, within the years terra-time.ts allows. */
export const nullableMicros = z
  .number()
  .check((ctx) => {
    if (!Number.isInteger(ctx.value) || ctx.value < minMicros || ctx.value > maxMicros) {
      ctx.issues.push(ruleIssue('invalid_timestamp', ctx.value, `not a real time: expected integer microseconds since 1970 within years ${minYear}-${maxYear}`));
    }
  })
  .nullable()
  .optional();

/** Open integer enum (ActivityType, UploadType, ...): any number, required. */
export const enumNumber = z.number();

/** TerraUser [OA-S `TerraUser.yaml`]: `user_id` and `provider` required and non-empty. */
export const terraUserSchema = z.looseObject({
  user_id: idString,
  provider: idString,
  created_at: nullableString,
  last_webhook_update: nullableString,
  scopes: nullableString,
  reference_id: nullableIdString,
  active: nullableBoolean,
});
export type TerraUser = z.infer<typeof terraUserSchema>;
