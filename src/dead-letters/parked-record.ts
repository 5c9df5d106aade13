import type { InboundMessage, RawHeaders } from '../kafka/kafka-client.js';
import { isPlainObject } from '../json/json-value.js';
import { deadLetterHeader, deadLetterHeaderPrefix } from '../lane/dead-letter.js';

/**
 * What a dead letter says about itself, read from the `x-terra-fanout-*` headers the lanes write
 * (src/lane/dead-letter.ts). The dead letter's key, value and other headers are the original
 * message's, untouched; `originalMessage` rebuilds that message for a redrive.
 */
export interface ParkedRecord {
  /** Where the dead letter itself is. */
  deadLetter: { topic: string; partition: number; offset: string };
  /** When it was parked: the last failure, or the dead letter's own Kafka timestamp. */
  parkedAt: string;
  parkedAtMs: number;
  tenant: string | null;
  destination: string | null;
  connector: string | null;
  code: string;
  message: string | null;
  /** The code that kept failing, when `code` is retries_exhausted. */
  causeCode: string | null;
  /** Delivery attempts, over every lane run and redrive. */
  attempts: number;
  /** Times a redrive sent it again and it failed again. */
  redriven: number;
  firstFailureAt: string | null;
  /** The message's place in the tenant's topic; null when the headers do not say. */
  source: { topic: string; partition: number; offset: string; timestampMs: number } | null;
  /** Set when one record of the message failed; null when the whole message was parked. */
  identity: string | null;
  /** The record type, or the event's envelope type when the whole message was parked. */
  type: string | null;
  itemIndex: number | null;
  /** `user.user_id` of the event (null when the value is not a readable Terra event). */
  userId: string | null;
}

/** Values larger than this are not parsed for their type and user (the view stays cheap). */
const MAX_PEEK_BYTES = 1024 * 1024;

function header(headers: RawHeaders, name: string): string | null {
  const value = headers[name]?.[0];
  return value === undefined ? null : value.toString('utf8');
}

function integer(text: string | null): number | null {
  if (text === null || !/^\d+$/.test(text)) return null;
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : null;
}

function isoTime(text: string | null): number | null {
  if (text === null) return null;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? null : ms;
}

/** The envelope `type` and `user.user_id` of a Terra event (or an s3_payload pointer's `user_id`), best effort: null for anything else. */
function peekEnvelope(value: Buffer | null): { type: string | null; userId: string | null } {
  if (value === null || value.length === 0 || value.length > MAX_PEEK_BYTES) return { type: null, userId: null };
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString('utf8'));
  } catch {
    return { type: null, userId: null };
  }
  if (!isPlainObject(parsed)) return { type: null, userId: null };
  const type = typeof parsed['type'] === 'string' ? parsed['type'] : null;
  const user = parsed['user'];
  // Some s3_payload pointers carry the user at the top level (Terra's queue form, version B).
  const userId = isPlainObject(user) && typeof user['user_id'] === 'string' ? user['user_id'] : typeof parsed['user_id'] === 'string' ? parsed['user_id'] : null;
  return { type, userId };
}

/** Reads a dead letter's headers. Never throws: what a header does not say is null. */
export function readParkedRecord(message: InboundMessage): ParkedRecord {
  const headers = message.headers;
  const lastFailureMs = isoTime(header(headers, deadLetterHeader.lastFailureAt));
  const parkedAtMs = lastFailureMs ?? message.timestampMs;
  const sourceTopic = header(headers, deadLetterHeader.topic);
  const sourcePartition = integer(header(headers, deadLetterHeader.partition));
  const sourceOffset = header(headers, deadLetterHeader.offset);
  const sourceTimestamp = integer(header(headers, deadLetterHeader.timestamp));
  const source =
    sourceTopic !== null && sourcePartition !== null && sourceOffset !== null && /^\d+$/.test(sourceOffset)
      ? { topic: sourceTopic, partition: sourcePartition, offset: sourceOffset, timestampMs: sourceTimestamp ?? message.timestampMs }
      : null;
  const firstFailureMs = isoTime(header(headers, deadLetterHeader.firstFailureAt));
  const envelope = peekEnvelope(message.value);
  return {
    deadLetter: { topic: message.topic, partition: message.partition, offset: message.offset },
    parkedAt: new Date(parkedAtMs).toISOString(),
    parkedAtMs,
    tenant: header(headers, deadLetterHeader.tenant),
    destination: header(headers, deadLetterHeader.destination),
    connector: header(headers, deadLetterHeader.connector),
    code: header(headers, deadLetterHeader.code) ?? 'unknown',
    message: header(headers, deadLetterHeader.message),
    causeCode: header(headers, deadLetterHeader.causeCode),
    attempts: integer(header(headers, deadLetterHeader.attempts)) ?? 0,
    redriven: integer(header(headers, deadLetterHeader.redriven)) ?? 0,
    firstFailureAt: firstFailureMs === null ? null : new Date(firstFailureMs).toISOString(),
    source,
    identity: header(headers, deadLetterHeader.recordIdentity),
    type: header(headers, deadLetterHeader.recordType) ?? envelope.type,
    itemIndex: integer(header(headers, deadLetterHeader.recordIndex)),
    userId: envelope.userId,
  };
}

/**
 * The message as the lane read it from the tenant's topic: same key, value and headers (without
 * the `x-terra-fanout-*` context), topic, partition, offset and Kafka timestamp. The timestamp
 * matters: user events are keyed by it and s3_payload expiry counts from it. Null when the dead
 * letter does not say where it came from.
 */
export function originalMessage(deadLetter: InboundMessage, parked: ParkedRecord): InboundMessage | null {
  if (parked.source === null) return null;
  const headers: Record<string, readonly Buffer[]> = {};
  for (const [name, values] of Object.entries(deadLetter.headers)) {
    if (!name.startsWith(deadLetterHeaderPrefix)) headers[name] = values;
  }
  return {
    topic: parked.source.topic,
    partition: parked.source.partition,
    offset: parked.source.offset,
    timestampMs: parked.source.timestampMs,
    key: deadLetter.key,
    value: deadLetter.value,
    headers,
    sizeBytes: deadLetter.sizeBytes,
  };
}

/** `topic/partition@offset`, how positions print. */
export function formatPosition(position: { topic: string; partition: number; offset: string }): string {
  return `${position.topic}/${position.partition}@${position.offset}`;
}
