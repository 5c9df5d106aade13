/** The `timeoutMs` config field of a destination: the longest time one call to it may take. */
import { z } from 'zod';

/**
 * A `timeoutMs` field: whole milliseconds between 100 and `maxMs`, `defaultMs` when left out.
 * `description` says what one call covers for this destination and what happens past it.
 */
export function timeoutMsField(description: string, defaultMs: number, maxMs = 600_000) {
  return z
    .number()
    .int()
    .min(100)
    .max(maxMs)
    .default(defaultMs)
    .meta({ description: `${description} Milliseconds.`, examples: [defaultMs] });
}
