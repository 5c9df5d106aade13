import type { Logger } from 'pino';
import type { Destination, RecordOutcome } from '../connector/contract.js';
import { FanoutError, toFanoutError } from '../errors/catalogue.js';
import type { InboundMessage } from '../kafka/kafka-client.js';
import type { TerraRecord } from '../records/record.js';
import type { DeadLetterInput } from './dead-letter.js';
import type { LaneMetrics } from './lane-metrics.js';
import { backoffDelayMs, mayRetry, type RetryPolicy } from './retry-policy.js';

/** One record on its way to the destination, with the failures it has had so far. */
export interface DeliveryEntry {
  record: TerraRecord;
  message: InboundMessage;
  attempts: number;
  firstFailureMs: number;
  lastFailureMs: number;
  lastError: FanoutError | null;
}

export function deliveryEntry(record: TerraRecord, message: InboundMessage): DeliveryEntry {
  return { record, message, attempts: 0, firstFailureMs: 0, lastFailureMs: 0, lastError: null };
}

/** Thrown out of a delivery when the lane is stopping: nothing is settled, nothing is committed. */
export class DeliveryAborted extends Error {
  constructor() {
    super('lane stopping');
    this.name = 'DeliveryAborted';
  }
}

export interface DeliveryOptions {
  tenant: string;
  destinationName: string;
  connectorType: string;
  destination: Destination;
  retry: RetryPolicy;
  metrics: LaneMetrics;
  logger: Logger;
  /** Aborted when the lane stops: an in-flight send is abandoned and DeliveryAborted thrown. */
  signal: AbortSignal;
  /**
   * Waits `delayMs` before a retry. The lane pauses fetching meanwhile, heartbeats its group and
   * reports itself stalled; throws DeliveryAborted when the lane stops during the wait.
   */
  waitBeforeRetry(delayMs: number, error: FanoutError): Promise<void>;
  /** Told about every record the destination confirmed, in batch order (tap, last delivery time). */
  onDelivered?(entries: readonly DeliveryEntry[]): void;
  now?: () => number;
  random?: () => number;
}

/**
 * Sends a chunk until every record is delivered or must be parked, and returns the ones to park.
 * Retryable failures are retried with backoff (only the failed records), up to the retry policy's
 * maxAttempts; then they are parked as `retries_exhausted` with the error that kept failing as cause.
 * Used by lanes and by the dead-letter redrive, so both deliver, retry and classify alike.
 */
export async function deliverWithRetry(chunk: readonly DeliveryEntry[], options: DeliveryOptions): Promise<DeadLetterInput[]> {
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const { metrics } = options;
  const parked: DeadLetterInput[] = [];
  let remaining = chunk;
  while (remaining.length > 0) {
    const outcomes = await send(remaining, options);
    const retry: DeliveryEntry[] = [];
    const delivered: DeliveryEntry[] = [];
    const nowMs = now();
    for (let index = 0; index < remaining.length; index += 1) {
      const entry = remaining[index] as DeliveryEntry;
      const outcome = outcomes[index] ?? { ok: false as const, error: new FanoutError('internal_error', 'The destination returned fewer outcomes than records.') };
      if (outcome.ok) {
        delivered.push(entry);
        continue;
      }
      const error = outcome.error;
      entry.attempts += 1;
      if (entry.attempts === 1) entry.firstFailureMs = nowMs;
      entry.lastFailureMs = nowMs;
      entry.lastError = error;
      metrics.deliveryFailure(error.code);
      if (error.retryable && mayRetry(options.retry, entry.attempts)) {
        retry.push(entry);
        metrics.retry(error.code);
      } else if (error.retryable) {
        const exhausted = new FanoutError('retries_exhausted', `Gave up after ${entry.attempts} attempts: ${error.code}: ${error.message}`);
        parked.push(deadLetterFor(entry.message, exhausted, { ...entry, cause: error }, options, entry.record));
      } else {
        if (error.code === 'internal_error') options.logger.error({ err: error, identity: entry.record.identity }, 'A programming error failed a record; it is parked.');
        parked.push(deadLetterFor(entry.message, error, entry, options, entry.record));
      }
    }
    if (delivered.length > 0) {
      metrics.recordsDelivered.inc(delivered.length);
      options.onDelivered?.(delivered);
    }
    if (retry.length === 0) break;
    let attempts = 0;
    let retryAfterMs = 0;
    for (const entry of retry) {
      attempts = Math.max(attempts, entry.attempts);
      retryAfterMs = Math.max(retryAfterMs, entry.lastError?.retryAfterMs ?? 0);
    }
    const delayMs = backoffDelayMs(options.retry, attempts, retryAfterMs, random);
    const first = retry[0]?.lastError ?? new FanoutError('internal_error', 'A retried record has no error.');
    options.logger.warn({ code: first.code, err: first, failed: retry.length, attempts, delayMs }, 'Destination failed; the lane pauses and retries.');
    await options.waitBeforeRetry(delayMs, first);
    remaining = retry;
  }
  return parked;
}

async function send(entries: readonly DeliveryEntry[], options: DeliveryOptions): Promise<RecordOutcome[]> {
  const { metrics, destination, signal } = options;
  const records = entries.map((entry) => entry.record);
  metrics.batchSize.observe(records.length);
  const started = process.hrtime.bigint();
  let outcomes: RecordOutcome[];
  try {
    outcomes = await destination.send(records, signal);
  } catch (thrown) {
    if (signal.aborted) throw new DeliveryAborted();
    const error = toFanoutError(thrown);
    outcomes = records.map(() => ({ ok: false as const, error }));
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const failed = outcomes.some((outcome) => !outcome.ok);
  (failed ? metrics.sendFailed : metrics.sendOk).observe(seconds);
  return outcomes;
}

/** The dead-letter input for a message (or one record of it) this lane parks. */
export function deadLetterFor(
  message: InboundMessage,
  error: FanoutError,
  failure: { attempts: number; firstFailureMs: number; lastFailureMs: number; cause?: FanoutError | undefined },
  lane: { tenant: string; destinationName: string; connectorType: string },
  record?: TerraRecord,
): DeadLetterInput {
  return {
    message,
    error,
    cause: failure.cause,
    attempts: failure.attempts,
    firstFailureMs: failure.firstFailureMs,
    lastFailureMs: failure.lastFailureMs,
    tenant: lane.tenant,
    destination: lane.destinationName,
    connector: lane.connectorType,
    record: record === undefined ? undefined : { identity: record.identity, type: record.type, itemIndex: record.itemIndex },
  };
}
