import type { FanoutError } from '../errors/catalogue.js';
import type { OutboundMessage } from '../kafka/kafka-client.js';
import { checkSignature, decodeEvent } from '../terra/decode-event.js';
import { SPLIT_FROM_BYTES } from '../terra/decode-large-event.js';
import type { IngestTenant } from './config.js';
import { eventFacts, eventKey, readEventFacts, type EventFacts } from './extract-key.js';

/** Terra's delivery headers the gateway keeps as Kafka headers, so lanes can verify and trace again. */
export const forwardedHeaders = ['terra-signature', 'x-terra-signature', 'terra-reference', 'x-terra-trace-id', 'x-terra-ordering-timestamp'] as const;

export interface IngestRequest {
  tenant: IngestTenant;
  /** The body exactly as received. */
  body: Buffer;
  /** Request headers, lower-case names, first value. */
  headers: Readonly<Record<string, string>>;
  nowMs: number;
}

export interface IngestRules {
  healthcheck: 'answer' | 'produce';
  /** The body limit; decodeEvent's maxMessageBytes when the tenant rejects invalid events. */
  bodyLimit: number;
}

export type IngestDecision =
  | { action: 'produce'; topic: string; message: OutboundMessage; facts: EventFacts }
  | { action: 'healthcheck' }
  | { action: 'refuse'; status: 400 | 401; error: FanoutError };

/**
 * What to do with one webhook, before any I/O. Pure apart from reading the secret.
 *
 * 1. The signature must verify with the tenant's secret and tolerance (always required here,
 *    whatever `source.signature.required` says for lanes): 401 `signature_missing`/`signature_invalid`.
 * 2. With `ingest.rejectInvalid`, the body must decode as the lanes decode it: 400 with its code.
 * 3. A healthcheck is answered without producing unless `healthcheck: produce`.
 * 4. Otherwise the body's own bytes are produced, keyed by user id, with Terra's headers.
 */
export function decideIngest(request: IngestRequest, rules: IngestRules): IngestDecision {
  const { tenant, body, headers, nowMs } = request;
  const signatureError = checkSignature(body, headers, { secret: tenant.secret.reveal(), required: true, toleranceSeconds: tenant.toleranceSeconds }, nowMs);
  if (signatureError !== undefined) return { action: 'refuse', status: 401, error: signatureError };

  let facts: EventFacts;
  if (tenant.rejectInvalid) {
    const decoded = decodeEvent(body, { maxMessageBytes: rules.bodyLimit, headers, nowMs, split: { fromBytes: SPLIT_FROM_BYTES } });
    if (!decoded.ok) return { action: 'refuse', status: 400, error: decoded.error };
    facts = eventFacts(decoded.kind === 'pointer' ? decoded.pointer : decoded.event);
  } else {
    facts = readEventFacts(body);
  }
  if (facts.type === 'healthcheck' && rules.healthcheck === 'answer') return { action: 'healthcheck' };

  const kept: Record<string, string> = {};
  for (const name of forwardedHeaders) {
    const value = headers[name];
    if (value !== undefined) kept[name] = value;
  }
  return { action: 'produce', topic: tenant.topic, message: { key: eventKey(facts), value: body, headers: kept }, facts };
}
