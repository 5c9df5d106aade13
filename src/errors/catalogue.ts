/**
 * The one catalogue of error codes the engine and connectors raise.
 *
 * Every failure that crosses a boundary (decode, connector send, dead-letter produce) carries one
 * of these codes. `retryable` says whether the lane retries the record with backoff (true) or parks
 * it in the dead-letter topic at once (false). Codes are stable: they appear in logs, in the
 * `code` label of metrics and in dead-letter headers, so renaming one is a breaking change.
 */
export const errorCatalogue = {
  // Input: bytes that can never become a Terra event. Never retried.
  malformed_json: { retryable: false, summary: 'The message value is not valid JSON (or not UTF-8).' },
  empty_message: { retryable: false, summary: 'The message has no value (tombstone or empty bytes).' },
  json_too_deep: { retryable: false, summary: 'The JSON nests deeper than the decoder allows.' },
  forbidden_key: { retryable: false, summary: 'The JSON uses a key that could pollute prototypes (__proto__, constructor, prototype).' },
  payload_too_large: { retryable: false, summary: 'The message is larger than budgets.maxMessageBytes (at the ingest gateway: the body is larger than ingest.bodyLimit; answered 413).' },
  schema_violation: { retryable: false, summary: 'The event does not match the Terra schema for its type.' },
  invalid_identifier: {
    retryable: false,
    summary: 'An id that reaches a key, file or object name or document id (user_id, provider, reference_id, summary_id, event_id, Teams ids, version) contains a control, format (BOM, bidirectional, zero-width) or lone-surrogate character.',
  },
  invalid_timestamp: { retryable: false, summary: 'A Terra timestamp is not a real date-time (2022-02-30, month 13, hour 24), or falls outside years 1000-9999.' },
  unknown_event_type: { retryable: false, summary: 'The event type is not one Terra sends.' },
  signature_missing: { retryable: false, summary: 'The tenant requires a Terra signature header and the message has none.' },
  signature_invalid: { retryable: false, summary: 'The Terra signature does not match the body or is outside the tolerance.' },
  // s3_payload pointers (Terra's ping/queue form).
  s3_payload_host_not_allowed: { retryable: false, summary: 'The s3_payload URL host is not in s3Payload.allowedHosts.' },
  s3_payload_expired: { retryable: false, summary: 'The s3_payload URL has expired (the store refused it as expired).' },
  s3_payload_refused: { retryable: false, summary: 'The store refused the s3_payload URL (4xx other than expiry).' },
  s3_payload_too_large: { retryable: false, summary: 'The s3_payload body is larger than s3Payload.maxBytes.' },
  s3_payload_nested: { retryable: false, summary: 'The fetched s3_payload body is itself an s3_payload pointer.' },
  s3_payload_unavailable: { retryable: true, summary: 'Fetching the s3_payload URL failed with a 5xx, a network error or a timeout.' },
  // Destinations.
  destination_unavailable: { retryable: true, summary: 'The destination could not be reached or answered with a server error.' },
  destination_timeout: { retryable: true, summary: 'The destination did not answer within its timeout.' },
  destination_throttled: { retryable: true, summary: 'The destination asked us to slow down (429, throttling).' },
  destination_refused: { retryable: true, summary: 'The destination refused the record with a status its retry policy retries (Terra parity retries every non-2xx); detail.meaning says what the status means.' },
  destination_rejected: { retryable: false, summary: 'The destination refused the record and retrying will not help.' },
  destination_auth_failed: { retryable: false, summary: 'The destination refused our credentials (401/403, bad key).' },
  destination_not_found: { retryable: false, summary: 'The destination target (bucket, table, URL path, directory) does not exist.' },
  destination_record_too_large: { retryable: false, summary: 'The record is larger than the destination accepts.' },
  destination_misconfigured: { retryable: false, summary: 'The destination configuration cannot work (for example a path that is not a directory).' },
  // Ingest gateway (terra-fanout ingest): why a Terra webhook POST was not stored. Retryable means
  // the gateway answered 5xx (503 with Retry-After) and Terra's own retry will bring it again.
  kafka_unavailable: { retryable: true, summary: 'Kafka did not acknowledge the produce (acks=all) within ingest.produceTimeoutMs, or could not be reached; answered 503.' },
  kafka_refused: { retryable: false, summary: 'Kafka refused the produce for a reason a retry does not fix (authorization, invalid topic); answered 500.' },
  kafka_message_too_large: { retryable: false, summary: 'The broker refused the message as larger than the topic\'s max.message.bytes; answered 413.' },
  ingest_overloaded: { retryable: true, summary: 'The gateway holds ingest.maxInFlightBytes of bodies already, or is shutting down; answered 503.' },
  ingest_unknown_tenant: { retryable: false, summary: 'The path names no tenant with ingest enabled; answered 404.' },
  ingest_read_timeout: { retryable: true, summary: 'The request body did not arrive within ingest.readTimeoutMs; answered 408.' },
  // Engine.
  dead_letter_unavailable: { retryable: true, summary: 'Producing to the dead-letter topic failed; the lane waits and retries.' },
  retries_exhausted: { retryable: false, summary: 'A retryable error persisted past retry.maxAttempts; the record was parked.' },
  internal_error: { retryable: false, summary: 'A programming error in terra-fanout; never retried, always parked and logged at ERROR.' },
} as const satisfies Record<string, { retryable: boolean; summary: string }>;

export type ErrorCode = keyof typeof errorCatalogue;

export const errorCodes = Object.keys(errorCatalogue) as ErrorCode[];

export function isRetryable(code: ErrorCode): boolean {
  return errorCatalogue[code].retryable;
}

export interface FanoutErrorOptions {
  /** The destination asked for this delay before the next attempt (Retry-After). */
  retryAfterMs?: number;
  /** Low-cardinality detail for logs, e.g. an HTTP status. Never a payload or a secret. */
  detail?: Record<string, string | number | boolean>;
  cause?: unknown;
}

/**
 * The only error type that crosses the connector and decoder boundaries.
 * Its message must be safe to log: no payload content, no credentials.
 */
export class FanoutError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;
  readonly detail: Record<string, string | number | boolean>;

  constructor(code: ErrorCode, message: string, options: FanoutErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'FanoutError';
    this.code = code;
    this.retryable = isRetryable(code);
    this.retryAfterMs = options.retryAfterMs;
    this.detail = options.detail ?? {};
  }
}

/** Turns anything thrown into a FanoutError; unknown errors are programming errors. */
export function toFanoutError(error: unknown): FanoutError {
  if (error instanceof FanoutError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new FanoutError('internal_error', `Unexpected error: ${message}`, { cause: error });
}
