import { hash } from 'node:crypto';

/**
 * Deterministic record identities: the key every connector writes by, so a replayed Kafka message
 * overwrites instead of duplicating. An identity is the first 128 bits of SHA-256 over its parts
 * joined with U+0000, as 32 lowercase hex characters. Parts always include the event type and the
 * user id, because Terra's natural keys (summary_id, the day) are unique per user only.
 * Natural keys follow reference/terra-delivery-spec.md section 3.3.
 */

/** A natural key: `text` for people (`summary_id=abc`), `parts` for the hash. */
export interface NaturalKey {
  text: string;
  parts: readonly string[];
}

export function identityOf(parts: readonly string[]): string {
  // One-shot hashing: about half the cost of a Hash object per record.
  return hash('sha256', parts.join('\u0000'), 'hex').slice(0, 32);
}

/** The identity of one record: its type, its user (empty when it has none) and its natural key. */
export function recordIdentity(type: string, userId: string | null, key: NaturalKey): string {
  return identityOf([type, userId ?? '', ...key.parts]);
}

/**
 * The identity of a whole event delivered as one unit: its type, user and the sorted identities of
 * its items (sorted, so a resend with the same items in another order is the same event).
 */
export function eventIdentity(type: string, userId: string | null, itemIdentities: readonly string[]): string {
  return identityOf(['event', type, userId ?? '', ...[...itemIdentities].sort()]);
}

function fieldKey(name: string, value: string): NaturalKey {
  return { text: `${name}=${value}`, parts: [name, value] };
}

/** activity, health_observation (and sleep when it has one): `metadata.summary_id`. */
export function summaryIdKey(summaryId: string): NaturalKey {
  return fieldKey('summary_id', summaryId);
}

/** sleep: `metadata.summary_id`, else the start and end times as sent. */
export function sleepKey(summaryId: string | null | undefined, startTime: string, endTime: string): NaturalKey {
  if (typeof summaryId === 'string' && summaryId !== '') return summaryIdKey(summaryId);
  return { text: `start_time=${startTime},end_time=${endTime}`, parts: ['start_time', startTime, 'end_time', endTime] };
}

/**
 * daily, body, nutrition, menstruation: the date part of `metadata.start_time`, sliced before any
 * timezone conversion (Terra: "only consider the date part of the field, and ignore the time").
 */
export function dayKey(startTime: string): NaturalKey {
  return fieldKey('date', startTime.slice(0, 10));
}

/** hormone: the sample's `timestamp` as sent. */
export function timestampKey(timestamp: string): NaturalKey {
  return fieldKey('timestamp', timestamp);
}

/** athlete: one profile per user, latest wins. */
export function userKey(userId: string): NaturalKey {
  return fieldKey('user', userId);
}

/** Teams: `coach_id`, `athlete_id`, `test_id` or `activity_id`. */
export function idKey(field: string, id: string): NaturalKey {
  return fieldKey(field, id);
}

export interface PlannedWorkoutIds {
  metadata?: { id?: string | null | undefined; summary_id?: string | null | undefined } | null | undefined;
  planned_workout_id?: string | null | undefined;
  details?: { metadata?: { id?: string | null | undefined } | null | undefined } | null | undefined;
}

/**
 * planned_workout: Terra's sources disagree (spec 3.3). The first present of `metadata.id` (agent
 * skills), `metadata.summary_id` (llms.txt), `planned_workout_id` (newest schema) and
 * `details.metadata.id`; when none is present, a hash of the item's content.
 */
export function plannedWorkoutKey(item: PlannedWorkoutIds, content: () => string): NaturalKey {
  const candidates: readonly [string, string | null | undefined][] = [
    ['metadata.id', item.metadata?.id],
    ['metadata.summary_id', item.metadata?.summary_id],
    ['planned_workout_id', item.planned_workout_id],
    ['details.metadata.id', item.details?.metadata?.id],
  ];
  for (const [name, value] of candidates) {
    if (typeof value === 'string' && value !== '') return fieldKey(name, value);
  }
  return fieldKey('content', identityOf([content()]));
}

/**
 * Non-data events (auth, deauth, ...): one per delivery, so the delivery's X-Terra-Trace-Id when it
 * has one, else the event time in unix ms (X-Terra-Ordering-Timestamp, else the Kafka timestamp:
 * both are stable across replays of the same message).
 */
export function deliveryKey(traceId: string | undefined, eventTimeMs: number): NaturalKey {
  if (traceId !== undefined) return fieldKey('trace_id', traceId);
  return fieldKey('event_time_ms', String(eventTimeMs));
}
