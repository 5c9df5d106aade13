import type { RecordOutcome } from '../../../src/connector/contract.js';
import { FanoutError } from '../../../src/errors/catalogue.js';
import type { TerraRecord } from '../../../src/records/record.js';
import type { TableLayout } from './tables.js';
import { encodeRecordRows, type RecordWrites } from './encode-rows.js';
import { planWrites, type BatchWrites } from './plan-writes.js';
import { shutdownError } from '../call-deadline.js';

/** How a relational destination applies a plan and names what went wrong. */
export interface PlanWriter {
  /** Applies the plan (one transaction for SQL). Throws whatever the driver or API threw. */
  write(plan: BatchWrites, signal: AbortSignal): Promise<void>;
  /** Translates what write() threw into the catalogue. */
  classify(error: unknown): FanoutError;
}

/** A record's rows, or why it could not be encoded. */
export type PlannedRecord = { ok: true; writes: RecordWrites } | { ok: false; error: FanoutError };

/** Encodes each record of a batch into its rows; a record that cannot be encoded gets internal_error. */
export function planRecords(layout: TableLayout, batch: readonly TerraRecord[]): PlannedRecord[] {
  return batch.map((record) => {
    try {
      return { ok: true, writes: encodeRecordRows(layout, record) };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return { ok: false, error: new FanoutError('internal_error', `Could not encode the record into rows: ${message}`) };
    }
  });
}

/**
 * Writes a batch as one plan and reports one outcome per record, in batch order.
 *
 * When the whole write fails with a retryable error (connection lost, timeout, deadlock), every
 * record gets it and the engine retries the batch. When it fails permanently (a value the database
 * refuses, a record too large, a missing table), the records are written again one by one, each on
 * its own, so only the records that fail on their own are dead-lettered (the poison record) and the
 * rest are delivered.
 */
export async function writeRecords(planned: readonly PlannedRecord[], writer: PlanWriter, signal: AbortSignal): Promise<RecordOutcome[]> {
  const outcomes: RecordOutcome[] = planned.map((entry) => (entry.ok ? { ok: true } : { ok: false, error: entry.error }));
  const writable = planned.flatMap((entry, index) => (entry.ok ? [{ index, writes: entry.writes }] : []));
  if (writable.length === 0) return outcomes;
  if (signal.aborted) {
    for (const { index } of writable) outcomes[index] = { ok: false, error: shutdownError('sent') };
    return outcomes;
  }

  const failure = await attempt(writer, writable.map((entry) => entry.writes), signal);
  if (failure === null) return outcomes;
  if (failure.retryable || writable.length === 1) {
    for (const { index } of writable) outcomes[index] = { ok: false, error: failure };
    return outcomes;
  }
  for (const { index, writes } of writable) {
    if (signal.aborted) {
      outcomes[index] = { ok: false, error: shutdownError('sent') };
      continue;
    }
    const alone = await attempt(writer, [writes], signal);
    outcomes[index] = alone === null ? { ok: true } : { ok: false, error: alone };
  }
  return outcomes;
}

async function attempt(writer: PlanWriter, writes: readonly RecordWrites[], signal: AbortSignal): Promise<FanoutError | null> {
  try {
    await writer.write(planWrites(writes), signal);
    return null;
  } catch (error) {
    return writer.classify(error);
  }
}
