import { z } from 'zod';
import { byteSizeSchema } from './byte-size.js';
import { strictObject } from './strict-object.js';

/**
 * Batching and retry settings of a destination. In YAML every field is optional: a destination
 * inherits what it leaves out from its tenant's `defaults`, then from the built-in values below.
 * `resolveDestinationSettings` does that merge; the engine only ever sees resolved settings.
 */

export const builtInBatch = { maxRecords: 500, maxBytes: 4 * 1024 * 1024, lingerMs: 200 } as const;
export const builtInRetry = { initialDelayMs: 500, maxDelayMs: 60_000, multiplier: 2, jitter: 0.2, maxAttempts: null } as const;

export const batchSchema = strictObject({
  maxRecords: z.number().int().min(1).optional().meta({ description: 'Most records in one send. Default 500.', examples: [500], default: builtInBatch.maxRecords }),
  maxBytes: byteSizeSchema('Most bytes of record bodies in one send. Default 4MiB.', '4MiB', '4MiB').optional(),
  lingerMs: z
    .number()
    .int()
    .min(0)
    .optional()
    .meta({
      description: 'How long a batch that is not full waits for more records before it is sent. Milliseconds. Default 200 (5 for webhook destinations, which send each record on its own request anyway).',
      examples: [200],
      default: builtInBatch.lingerMs,
    }),
});

export const retrySchema = strictObject({
  initialDelayMs: z.number().int().min(0).optional().meta({ description: 'Wait before the first retry of a retryable failure. Milliseconds. Default 500.', examples: [500], default: builtInRetry.initialDelayMs }),
  maxDelayMs: z.number().int().min(0).optional().meta({ description: 'Longest wait between retries. Milliseconds. Default 60000.', examples: [60000], default: builtInRetry.maxDelayMs }),
  multiplier: z.number().min(1).optional().meta({ description: 'Each wait is the previous one times this. Default 2.', examples: [2], default: builtInRetry.multiplier }),
  jitter: z
    .number()
    .min(0)
    .max(1)
    .optional()
    .meta({ description: 'Random spread of each wait, as a fraction from 0 to 1 (0.2: up to 20% shorter or longer). Default 0.2.', examples: [0.2], default: builtInRetry.jitter }),
  maxAttempts: z
    .number()
    .int()
    .min(1)
    .nullable()
    .optional()
    .meta({
      description:
        'Attempts before a record that keeps failing with a retryable error is parked in the dead-letter topic as retries_exhausted. null (default): retry forever, the lane stalls and Kafka buffers.',
      examples: [null, 10],
      default: null,
    }),
});

export type BatchInput = z.output<typeof batchSchema>;
export type RetryInput = z.output<typeof retrySchema>;

export interface BatchSettings {
  maxRecords: number;
  maxBytes: number;
  lingerMs: number;
}

export interface RetrySettings {
  initialDelayMs: number;
  maxDelayMs: number;
  multiplier: number;
  jitter: number;
  /** null: retry forever. */
  maxAttempts: number | null;
}

export interface DestinationSettings {
  batch: BatchSettings;
  retry: RetrySettings;
}

interface PartialSettings {
  batch?: BatchInput | undefined;
  retry?: RetryInput | undefined;
}

/** The first value that is set; `null` counts as set (it means "forever" for maxAttempts). */
function firstSet<T>(...values: (T | undefined)[]): T | undefined {
  return values.find((value) => value !== undefined);
}

/**
 * Built-in defaults < the connector type's own batch defaults (a webhook sends each record as it
 * comes; an object store gathers them) < tenant `defaults` < the destination's own `batch` and `retry`.
 */
export function resolveDestinationSettings(tenant: { defaults?: PartialSettings | undefined }, destination: PartialSettings, typeDefaults: Partial<BatchSettings> = {}): DestinationSettings {
  const tenantBatch = tenant.defaults?.batch;
  const tenantRetry = tenant.defaults?.retry;
  const ownBatch = destination.batch;
  const ownRetry = destination.retry;
  return {
    batch: {
      maxRecords: firstSet(ownBatch?.maxRecords, tenantBatch?.maxRecords, typeDefaults.maxRecords) ?? builtInBatch.maxRecords,
      maxBytes: firstSet(ownBatch?.maxBytes, tenantBatch?.maxBytes, typeDefaults.maxBytes) ?? builtInBatch.maxBytes,
      lingerMs: firstSet(ownBatch?.lingerMs, tenantBatch?.lingerMs, typeDefaults.lingerMs) ?? builtInBatch.lingerMs,
    },
    retry: {
      initialDelayMs: firstSet(ownRetry?.initialDelayMs, tenantRetry?.initialDelayMs) ?? builtInRetry.initialDelayMs,
      maxDelayMs: firstSet(ownRetry?.maxDelayMs, tenantRetry?.maxDelayMs) ?? builtInRetry.maxDelayMs,
      multiplier: firstSet(ownRetry?.multiplier, tenantRetry?.multiplier) ?? builtInRetry.multiplier,
      jitter: firstSet(ownRetry?.jitter, tenantRetry?.jitter) ?? builtInRetry.jitter,
      maxAttempts: firstSet(ownRetry?.maxAttempts, tenantRetry?.maxAttempts, builtInRetry.maxAttempts) ?? null,
    },
  };
}
