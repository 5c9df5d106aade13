import { encodingOf } from '../../src/formats/record-encoding.js';
import { computeTerraSignature } from '../../src/terra/signature.js';
import type { TerraRecord } from '../../src/records/record.js';
import { safeUrlLabel } from '../shared/http-errors.js';
import type { WebhookConfig } from './config.js';

/** A request before signing: the client adds the signature and the configured extra headers. */
export interface WebhookDelivery {
  url: string;
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * Pure: the request a record becomes. The body is `record.body` byte for byte (for `event` units
 * the event exactly as received; a FHIR Bundle or FIT file with `format:`). Headers follow Terra's
 * webhook deliveries (spec section 1.2), Content-Type the record's format; X-Terra-Trace-Id and
 * Idempotency-Key are stable across retries.
 */
export function encodeWebhookRequest(config: WebhookConfig, record: TerraRecord, userAgent: string): WebhookDelivery {
  const headers: Record<string, string> = {
    'content-type': encodingOf(record).contentType,
    'user-agent': userAgent,
    'X-Terra-Trace-Id': record.traceId,
    'X-Terra-Ordering-Timestamp': String(record.orderingTimestampMs),
    'Idempotency-Key': record.identity,
  };
  if (record.terraReference !== null) headers['terra-reference'] = record.terraReference;
  return { url: config.url, headers, body: record.body };
}

/**
 * Pure: the healthcheck event check() sends, shaped like the ones Terra sends to destinations
 * (`{"type":"healthcheck",...}`). It has no Idempotency-Key: it is not a record.
 */
export function encodeHealthcheck(config: WebhookConfig, now: Date, traceId: string, userAgent: string): WebhookDelivery {
  const event = { type: 'healthcheck', status: 'success', creation_timestamp: now.toISOString(), trend_percentage: 0, sent_webhooks_last_hour: 0 };
  return {
    url: config.url,
    headers: { 'content-type': 'application/json', 'user-agent': userAgent, 'X-Terra-Trace-Id': traceId },
    body: Buffer.from(JSON.stringify(event)),
  };
}

/** Pure: both signature headers Terra sends, over the exact body, at `unixSeconds`. */
export function terraSignatureHeaders(body: Buffer, secret: string, unixSeconds: number): Record<string, string> {
  const signature = computeTerraSignature(body, secret, unixSeconds);
  return { 'terra-signature': signature, 'X-Terra-Signature': signature };
}

/**
 * Where a record lands (what `locate()` returns): the URL without query string or credentials,
 * with `#` and the record's Idempotency-Key, the key an idempotent receiver dedupes on.
 */
export function webhookLocation(config: WebhookConfig, record: TerraRecord): string {
  return `${safeUrlLabel(config.url)}#${record.identity}`;
}
