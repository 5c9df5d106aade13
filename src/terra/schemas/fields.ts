import { z } from 'zod';
import { isPlainObject } from '../../json/json-value.js';

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

/** A nested array of objects (e.g. `meals`), nullable; the objects' contents are not walked. */
export const objectArrayBlock = z
  .custom<readonly Readonly<Record<string, unknown>>[]>(isArrayOfObjects, { error: 'Invalid input: expected array of objects' })
  .nullable()
  .optional();

/** A non-empty string the engine keys on (ids). */
export const idString = z.string().min(1);

/**
 * An ISO-8601 date-time as Terra sends it (`2022-10-28T10:00:00.000000+01:00`, offset optional).
 * Only the `YYYY-MM-DD` prefix is enforced: identities slice the date part from it.
 */
export const isoDateTime = z.string().regex(/^\d{4}-\d{2}-\d{2}/, { error: 'Invalid input: expected an ISO-8601 date-time' });

/** Open integer enum (ActivityType, UploadType, ...): any number, required. */
export const enumNumber = z.number();

/** TerraUser [OA-S `TerraUser.yaml`]: `user_id` and `provider` required and non-empty. */
export const terraUserSchema = z.looseObject({
  user_id: idString,
  provider: z.string().min(1),
  created_at: nullableString,
  last_webhook_update: nullableString,
  scopes: nullableString,
  reference_id: nullableString,
  active: nullableBoolean,
});
export type TerraUser = z.infer<typeof terraUserSchema>;
