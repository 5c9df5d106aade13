import { z } from 'zod';
import { keyPrefixSchema, keyTemplateSchema } from '../object-key.js';

/**
 * The layout fields every object-store destination shares (S3, GCS, Azure Blob). Each connector
 * spreads `objectLayoutFields` into its own `config:` schema beside its connection fields and
 * applies `checkObjectLayout` in a superRefine.
 */
export const objectLayoutFields = {
  prefix: keyPrefixSchema.optional(),
  keyTemplate: keyTemplateSchema.optional(),
  format: z
    .enum(['json', 'ndjson'])
    .default('json')
    .meta({
      description:
        "json: one object per record, a valid Terra event with the one data item, at Terra's key layout (or keyTemplate). ndjson: one object per batch, topic and partition and event type, one record per line, named {prefix}/{type}/{topic}+{partition}+{first offset}.ndjson so a replay from the committed offset rewrites the same object.",
      examples: ['json', 'ndjson'],
    }),
  gzip: z
    .boolean()
    .default(false)
    .meta({
      description: 'Compress each object with gzip and set Content-Encoding: gzip (ndjson keys then end in .ndjson.gz). Readers that honour Content-Encoding see the plain JSON.',
      examples: [false, true],
    }),
  unit: z
    .enum(['record', 'event'])
    .default('record')
    .meta({
      description: 'record: one object (or line) per data item, as Terra stores data in buckets. event: the whole event exactly as received.',
      examples: ['record', 'event'],
    }),
  concurrency: z
    .int()
    .min(1)
    .max(64)
    .default(8)
    .meta({ description: 'How many objects are uploaded at the same time. Writes to the same key stay in batch order.', examples: [8, 16] }),
} as const;

/** The layout part of an object-store config, as the shared destination reads it. */
export interface ObjectLayout {
  prefix?: string | undefined;
  keyTemplate?: string | undefined;
  format: 'json' | 'ndjson';
  gzip: boolean;
  unit: 'record' | 'event';
  concurrency: number;
  /** Longest time one upload (or the check's probe) may take, retries inside the SDK included. */
  timeoutMs: number;
}

/** The formats an object store writes, and the one layout that cannot carry one: binary FIT files are never lines. */
export const objectStoreFormats = ['terra', 'fhir', 'fit'] as const;

export function objectStoreFormatProblem(config: Pick<ObjectLayout, 'format'>, format: string): string | null {
  if (format === 'fit' && config.format === 'ndjson') return 'format: fit writes binary FIT files, one object each; it cannot go in ndjson objects. Set config.format: json.';
  return null;
}

/** Cross-field rules of the layout fields; call from the connector schema's superRefine. */
export function checkObjectLayout(config: Omit<ObjectLayout, 'timeoutMs'>, ctx: z.RefinementCtx): void {
  if (config.format === 'ndjson' && config.keyTemplate !== undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['keyTemplate'],
      message: 'keyTemplate applies to format: json only; ndjson objects are named {prefix}/{type}/{topic}+{partition}+{first offset}.ndjson. Use prefix to choose the folder.',
    });
  }
}
