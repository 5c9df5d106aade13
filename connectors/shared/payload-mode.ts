import { z } from 'zod';
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
