import { z } from 'zod';
import { byteSizeSchema } from '../../src/config/byte-size.js';
import { strictObject } from '../../src/config/strict-object.js';
import { FanoutError, toFanoutError } from '../../src/errors/catalogue.js';
import type { TerraRecord } from '../../src/records/record.js';
import type { ClaimCheck } from './claim-check.js';

/**
 * How a queue/stream destination (SQS, Kafka) carries a record:
 * - `inline`: the record itself, a valid Terra event;
 * - `pointer`: Terra's `s3_payload` form, with the body stored through the claim check;
 * - `auto`: inline when it fits the destination's message limit, pointer otherwise.
 */
export const payloadModeSchema = z
  .enum(['inline', 'pointer', 'auto'])
  .default('auto')
  .describe('inline: the record as a Terra event. pointer: Terra s3_payload form, body stored via claimCheck. auto: inline when it fits, pointer otherwise.');

export type PayloadMode = z.infer<typeof payloadModeSchema>;

/** The message body a queue destination sends for one record, and which form it took. */
export type EncodedPayload =
  | { ok: true; form: 'inline' | 'pointer'; body: Buffer }
  | { ok: false; error: FanoutError };

export interface PayloadOptions {
  mode: PayloadMode;
  /** The largest message body the destination accepts, after `overheadBytes` are taken off. */
  maxInlineBytes: number;
  /** Absent when the tenant configured no claim-check bucket. */
  claimCheck: ClaimCheck | undefined;
}

/**
 * Terra's pointer message (reference/terra-delivery-spec.md section 4.5) plus the fields a
 * consumer needs to route it without fetching: type, user id, reference id and record identity.
 */
export function pointerBody(record: TerraRecord, url: string, expiresInSeconds: number): Buffer {
  return Buffer.from(
    JSON.stringify({
      status: 'success',
      type: 's3_payload',
      url,
      expires_in: expiresInSeconds,
      payload_type: record.type,
      user_id: record.userId,
      reference_id: record.referenceId,
      identity: record.identity,
    }),
  );
}

/**
 * Chooses the form for one record and, for a pointer, stores the body first. Never truncates:
 * a record over the limit with no claim check configured fails with destination_record_too_large.
 */
export async function encodePayload(record: TerraRecord, options: PayloadOptions, signal: AbortSignal): Promise<EncodedPayload> {
  const fits = record.body.length <= options.maxInlineBytes;
  if (options.mode === 'inline' || (options.mode === 'auto' && fits)) {
    if (fits) return { ok: true, form: 'inline', body: record.body };
    return {
      ok: false,
      error: new FanoutError(
        'destination_record_too_large',
        `The record is ${record.body.length} bytes; the destination accepts at most ${options.maxInlineBytes} inline. Set payload: auto with a claimCheck bucket to send large records as pointers.`,
        { detail: { bytes: record.body.length, limit: options.maxInlineBytes } },
      ),
    };
  }
  if (options.claimCheck === undefined) {
    return {
      ok: false,
      error: new FanoutError(
        'destination_record_too_large',
        `The record is ${record.body.length} bytes (limit ${options.maxInlineBytes}) and needs a pointer, but no claimCheck bucket is configured for this destination.`,
        { detail: { bytes: record.body.length, limit: options.maxInlineBytes } },
      ),
    };
  }
  try {
    const ticket = await options.claimCheck.store(record, signal);
    return { ok: true, form: 'pointer', body: pointerBody(record, ticket.url, ticket.expiresInSeconds) };
  } catch (error) {
    return { ok: false, error: toFanoutError(error) };
  }
}

export interface PayloadSettingsLimits {
  /** The destination's inline limit when the tenant sets none (a little under its message limit). */
  defaultMaxInlineBytes: number;
  /** The largest value a tenant may set (the service's hard limit), when there is one. */
  maxInlineBytesCeiling?: number;
  /** How the destination names its limit in the description, e.g. `the broker's message.max.bytes`. */
  limitName: string;
}

/**
 * The `payload` block of a queue/stream destination: which form records take and how large an
 * inline message may be. Parses to the `mode` and `maxInlineBytes` of PayloadOptions; the claim
 * check itself is configured beside it (without one, `pointer` cannot work and `auto` parks an
 * oversized record with destination_record_too_large).
 */
export function payloadSettingsSchema(limits: PayloadSettingsLimits) {
  const ceiling = limits.maxInlineBytesCeiling;
  const maxInlineBytes = byteSizeSchema(
    `Largest record body sent inline; keep it a few KB under ${limits.limitName}, since the key and headers travel too.${ceiling === undefined ? '' : ` At most ${ceiling}.`}`,
    String(limits.defaultMaxInlineBytes),
    String(limits.defaultMaxInlineBytes),
  )
    .refine((bytes) => ceiling === undefined || bytes <= ceiling, { message: `maxInlineBytes is above the destination's limit of ${ceiling ?? 0} bytes` })
    .prefault(limits.defaultMaxInlineBytes);
  return strictObject({
    mode: payloadModeSchema.meta({ examples: ['auto', 'inline', 'pointer'] }),
    maxInlineBytes,
  })
    .prefault({})
    .meta({
      description: `How records are carried: inline, as an s3_payload pointer, or auto (inline when the body is at most maxInlineBytes). Without a claim-check bucket, auto parks larger records as destination_record_too_large; nothing is ever truncated.`,
      examples: [{ mode: 'auto', maxInlineBytes: String(limits.defaultMaxInlineBytes) }],
    });
}

export type PayloadSettings = z.output<ReturnType<typeof payloadSettingsSchema>>;
