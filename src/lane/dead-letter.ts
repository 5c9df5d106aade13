import type { FanoutError } from '../errors/catalogue.js';
import type { InboundMessage, OutboundMessage } from '../kafka/kafka-client.js';

/**
 * The dead-letter record: the original key, value and headers untouched, so it can be
 * replayed as it was, plus `x-terra-fanout-*` headers that say where it came from and why it
 * was parked (the Kafka Connect way: context in headers, payload unchanged).
 */
/** Every header terra-fanout adds to a dead letter starts with this. */
export const deadLetterHeaderPrefix = 'x-terra-fanout-';

export const deadLetterHeader = {
  code: 'x-terra-fanout-error-code',
  message: 'x-terra-fanout-error-message',
  causeCode: 'x-terra-fanout-error-cause-code',
  attempts: 'x-terra-fanout-attempts',
  firstFailureAt: 'x-terra-fanout-first-failure-at',
  lastFailureAt: 'x-terra-fanout-last-failure-at',
  tenant: 'x-terra-fanout-tenant',
  destination: 'x-terra-fanout-destination',
  connector: 'x-terra-fanout-connector',
  topic: 'x-terra-fanout-source-topic',
  partition: 'x-terra-fanout-source-partition',
  offset: 'x-terra-fanout-source-offset',
  timestamp: 'x-terra-fanout-source-timestamp',
  recordIdentity: 'x-terra-fanout-record-identity',
  recordType: 'x-terra-fanout-record-type',
  recordIndex: 'x-terra-fanout-record-index',
  /** How many times a redrive delivered this record again and it failed again; absent before the first redrive. */
  redriven: 'x-terra-fanout-redriven',
} as const;

export interface DeadLetterInput {
  message: InboundMessage;
  error: FanoutError;
  /** The error that kept failing, when `error` is retries_exhausted. */
  cause?: FanoutError | undefined;
  attempts: number;
  firstFailureMs: number;
  lastFailureMs: number;
  tenant: string;
  destination: string;
  connector: string;
  /** Set when one record of the message failed rather than the whole message. */
  record?: { identity: string; type: string; itemIndex: number | null } | undefined;
  /**
   * Set when a redrive parks a record again: the attempts and first failure of the dead letter it
   * redrove, and its redriven count. `attempts` and `firstFailureMs` above are this redrive's own;
   * the header carries the sum of attempts, the earliest first failure and the count plus one.
   */
  previous?: { attempts: number; redriven: number; firstFailureMs: number | null } | undefined;
}

const maxMessageHeaderLength = 1000;

export function buildDeadLetter(input: DeadLetterInput): OutboundMessage {
  const headers: Record<string, Buffer | string | Array<Buffer | string>> = {};
  for (const [name, values] of Object.entries(input.message.headers)) {
    if (name.startsWith(deadLetterHeaderPrefix)) continue; // a redriven message gets fresh context
    headers[name] = values.length === 1 && values[0] !== undefined ? values[0] : [...values];
  }
  headers[deadLetterHeader.code] = input.error.code;
  headers[deadLetterHeader.message] = input.error.message.slice(0, maxMessageHeaderLength);
  if (input.cause !== undefined) headers[deadLetterHeader.causeCode] = input.cause.code;
  const previous = input.previous;
  headers[deadLetterHeader.attempts] = String(input.attempts + (previous?.attempts ?? 0));
  const firstFailureMs = previous === undefined || previous.firstFailureMs === null ? input.firstFailureMs : Math.min(previous.firstFailureMs, input.firstFailureMs);
  headers[deadLetterHeader.firstFailureAt] = new Date(firstFailureMs).toISOString();
  headers[deadLetterHeader.lastFailureAt] = new Date(input.lastFailureMs).toISOString();
  headers[deadLetterHeader.tenant] = input.tenant;
  headers[deadLetterHeader.destination] = input.destination;
  headers[deadLetterHeader.connector] = input.connector;
  headers[deadLetterHeader.topic] = input.message.topic;
  headers[deadLetterHeader.partition] = String(input.message.partition);
  headers[deadLetterHeader.offset] = input.message.offset;
  headers[deadLetterHeader.timestamp] = String(input.message.timestampMs);
  if (input.record !== undefined) {
    headers[deadLetterHeader.recordIdentity] = input.record.identity;
    headers[deadLetterHeader.recordType] = input.record.type;
    if (input.record.itemIndex !== null) headers[deadLetterHeader.recordIndex] = String(input.record.itemIndex);
  }
  if (previous !== undefined) headers[deadLetterHeader.redriven] = String(previous.redriven + 1);
  return { key: input.message.key, value: input.message.value, headers };
}
