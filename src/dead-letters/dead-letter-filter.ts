import { createHash } from 'node:crypto';
import { z } from 'zod';
import { errorCodes } from '../errors/catalogue.js';
import type { ParkedRecord } from './parked-record.js';

/**
 * Which dead letters an inspect or a redrive selects. Every field narrows the selection; an empty
 * filter selects everything. `dlq inspect`, `dlq redrive` and the admin API all parse their input
 * with `deadLetterSelectionSchema`, so they accept the same things and refuse the same mistakes.
 */
export interface DeadLetterFilter {
  destination: string | null;
  /** Error codes; a dead letter matches when its code is one of them. */
  codes: readonly string[] | null;
  /** Parked at or after, Unix ms. */
  sinceMs: number | null;
  /** Parked before, Unix ms. */
  untilMs: number | null;
  identity: string | null;
  userId: string | null;
}

const SLUG = /^[a-z0-9][a-z0-9_-]{0,62}$/;

const isoTimeSchema = z
  .string()
  .refine((text) => /^\d{4}-\d{2}-\d{2}(T|$)/.test(text) && !Number.isNaN(Date.parse(text)), 'expected an ISO-8601 time such as 2026-07-01T00:00:00Z')
  .transform((text) => Date.parse(text));

const codeListSchema = z
  .union([z.string(), z.array(z.string())])
  .transform((value) => (Array.isArray(value) ? value : [value]).flatMap((item) => item.split(',')).map((item) => item.trim()).filter((item) => item !== ''))
  .refine((codes) => codes.every((code) => (errorCodes as readonly string[]).includes(code)), `expected error codes from the catalogue: ${errorCodes.join(', ')}`);

/** The selection fields, as CLI options and admin requests give them (strings; `code` may repeat). */
export const deadLetterSelectionSchema = z.strictObject({
  tenant: z.string().regex(SLUG, 'expected a tenant name'),
  destination: z.string().regex(SLUG, 'expected a destination name').optional(),
  code: codeListSchema.optional(),
  since: isoTimeSchema.optional(),
  until: isoTimeSchema.optional(),
  identity: z.string().min(1).max(200).optional(),
  user_id: z.string().min(1).max(200).optional(),
  limit: z.coerce.number().int().min(1).max(1_000_000).optional(),
});

export type DeadLetterSelection = z.output<typeof deadLetterSelectionSchema>;

export function filterOf(selection: DeadLetterSelection): DeadLetterFilter {
  return {
    destination: selection.destination ?? null,
    codes: selection.code === undefined || selection.code.length === 0 ? null : selection.code,
    sinceMs: selection.since ?? null,
    untilMs: selection.until ?? null,
    identity: selection.identity ?? null,
    userId: selection.user_id ?? null,
  };
}

export function matchesFilter(record: ParkedRecord, filter: DeadLetterFilter): boolean {
  if (filter.destination !== null && record.destination !== filter.destination) return false;
  if (filter.codes !== null && !filter.codes.includes(record.code)) return false;
  if (filter.sinceMs !== null && record.parkedAtMs < filter.sinceMs) return false;
  if (filter.untilMs !== null && record.parkedAtMs >= filter.untilMs) return false;
  if (filter.identity !== null && record.identity !== filter.identity) return false;
  if (filter.userId !== null && record.userId !== filter.userId) return false;
  return true;
}

/**
 * A short, stable name for the narrowing fields (everything but the destination), or null when
 * there are none. A redrive's consumer group carries it, so the same command resumes where it
 * stopped and a differently filtered redrive starts its own pass over the topic.
 */
export function filterFingerprint(filter: DeadLetterFilter): string | null {
  const narrowing = {
    codes: filter.codes === null ? null : [...filter.codes].sort(),
    sinceMs: filter.sinceMs,
    untilMs: filter.untilMs,
    identity: filter.identity,
    userId: filter.userId,
  };
  if (Object.values(narrowing).every((value) => value === null)) return null;
  return createHash('sha256').update(JSON.stringify(narrowing)).digest('hex').slice(0, 10);
}
