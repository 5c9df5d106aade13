/**
 * Records for the relational destinations' tests (sql and supabase), which check newest-wins,
 * enrichment merges and the user lifecycle: each carries an explicit ordering timestamp.
 */
import assert from 'node:assert/strict';
import type { Destination } from '../../../src/connector/contract.js';
import type { TerraRecord } from '../../../src/records/record.js';
import { makeRecord, makeUserEventRecord } from '../../support/records.js';

export type Json = Record<string, unknown>;

/** An activity record of `user` with item fields `extra`, ordered at `orderingMs`. */
export function activity(user: string, extra: Json, orderingMs: number): TerraRecord {
  const base = makeRecord({ userId: user, summaryId: `${user}-summary` });
  const item = { ...(base.item ?? {}), ...extra };
  const event = { ...base.event, data: [item] };
  return { ...base, item, event, body: Buffer.from(JSON.stringify(event)), orderingTimestampMs: orderingMs };
}

/** A user event (auth, deauth, user_reauth...) of `user` at `orderingMs`, with event fields `event`. */
export function userEvent(type: string, user: string, orderingMs: number, event: Json = {}): TerraRecord {
  const base = makeUserEventRecord({ type, userId: user, eventTime: new Date(orderingMs).toISOString(), referenceId: `ref-${user}` });
  const merged = { ...base.event, type, user: { user_id: user, provider: 'GARMIN', reference_id: `ref-${user}`, scopes: 'ACTIVITY_EXPORT' }, ...event };
  return { ...base, event: merged, body: Buffer.from(JSON.stringify(merged)), orderingTimestampMs: orderingMs };
}

/** Sends a batch and asserts every record was delivered, naming the ones that were not. */
export async function sendOk(destination: Destination, batch: readonly TerraRecord[]): Promise<void> {
  const outcomes = await destination.send(batch, new AbortController().signal);
  const failed = outcomes.flatMap((outcome, index) => (outcome.ok ? [] : [`${index}: ${outcome.error.code} ${outcome.error.message}`]));
  assert.deepEqual(failed, [], 'every record delivered');
}
