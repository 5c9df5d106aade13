import type { TerraRecord } from '../../src/records/record.js';
import { dayKey, recordIdentity, summaryIdKey, type NaturalKey } from '../../src/terra/identity.js';

/**
 * Builders for valid TerraRecord values in tests. Everything is deterministic: the same overrides
 * give the same record, identity and body. `event`, `item` and `body` follow the overridden fields
 * (user, times, ids) unless they are overridden themselves.
 */

export type RecordOverrides = Partial<TerraRecord>;

const DEFAULT_EVENT_TIME = '2026-07-01T08:00:00.000Z';

function pick<K extends keyof TerraRecord>(overrides: RecordOverrides, key: K, fallback: TerraRecord[K]): TerraRecord[K] {
  return Object.hasOwn(overrides, key) ? (overrides[key] as TerraRecord[K]) : fallback;
}

function terraUser(userId: string | null, provider: string | null, referenceId: string | null): Record<string, unknown> {
  return { user_id: userId, provider, reference_id: referenceId, scopes: 'ACTIVITY_EXPORT', active: true, last_webhook_update: null, created_at: null };
}

interface Shape {
  type: string;
  kind: TerraRecord['kind'];
  summaryId: string | null;
  startTime: string | null;
  endTime: string | null;
  naturalKey: (resolved: { userId: string | null; summaryId: string | null; startTime: string | null; eventTime: string }) => NaturalKey;
  item: (resolved: { summaryId: string | null; startTime: string | null; endTime: string | null }) => Record<string, unknown> | null;
  event: (resolved: { type: string; user: Record<string, unknown>; item: Record<string, unknown> | null; version: string | null }) => Record<string, unknown>;
}

function build(shape: Shape, overrides: RecordOverrides): TerraRecord {
  const type = pick(overrides, 'type', shape.type);
  const userId = pick(overrides, 'userId', 'user-1');
  const provider = pick(overrides, 'provider', 'GARMIN');
  const referenceId = pick(overrides, 'referenceId', 'ref-1');
  const summaryId = pick(overrides, 'summaryId', shape.summaryId);
  const startTime = pick(overrides, 'startTime', shape.startTime);
  const endTime = pick(overrides, 'endTime', shape.endTime);
  const eventTime = pick(overrides, 'eventTime', DEFAULT_EVENT_TIME);
  const version = pick(overrides, 'version', shape.kind === 'teams' ? null : '2022-03-16');
  const unit = pick(overrides, 'unit', 'record');
  const key = shape.naturalKey({ userId, summaryId, startTime, eventTime });
  const identity = pick(overrides, 'identity', recordIdentity(type, userId, key));
  const item = pick(overrides, 'item', shape.item({ summaryId, startTime, endTime }));
  const event = pick(overrides, 'event', shape.event({ type, user: terraUser(userId, provider, referenceId), item, version }));
  const offset = pick(overrides, 'source', { topic: 'terra-events', partition: 0, offset: '0', timestampMs: Date.parse(eventTime), headers: {} });
  const record: TerraRecord = {
    type,
    kind: shape.kind,
    unit,
    userId,
    referenceId,
    provider,
    summaryId,
    startTime,
    endTime,
    eventTime,
    orderingTimestampMs: Date.parse(eventTime),
    naturalKey: key.text,
    identity,
    traceId: `trace-${identity.slice(0, 16)}`,
    terraReference: 'terra-ref-1',
    version,
    itemIndex: item === null || unit === 'event' ? null : 0,
    event,
    item,
    body: Buffer.from(JSON.stringify(event)),
    source: offset,
  };
  return { ...record, ...overrides };
}

/** An activity record (one data item), user `user-1`, summary `summary-1`, start 07:04:11+01:00. */
export function makeRecord(overrides: RecordOverrides = {}): TerraRecord {
  return build(
    {
      type: 'activity',
      kind: 'data',
      summaryId: 'summary-1',
      startTime: '2026-07-01T07:04:11.000000+01:00',
      endTime: '2026-07-01T07:34:11.000000+01:00',
      naturalKey: ({ summaryId }) => summaryIdKey(summaryId ?? ''),
      item: ({ summaryId, startTime, endTime }) => ({
        metadata: { summary_id: summaryId, start_time: startTime, end_time: endTime, type: 1, upload_type: 1, name: 'Morning run' },
        distance_data: { summary: { distance_meters: 5000 } },
      }),
      event: ({ type, user, item, version }) => ({ type, user, data: item === null ? [] : [item], version }),
    },
    overrides,
  );
}

/** A daily record for 2026-07-01 (natural key `date=2026-07-01`). */
export function makeDailyRecord(overrides: RecordOverrides = {}): TerraRecord {
  return build(
    {
      type: 'daily',
      kind: 'data',
      summaryId: null,
      startTime: '2026-07-01T00:00:00.000000+01:00',
      endTime: '2026-07-02T00:00:00.000000+01:00',
      naturalKey: ({ startTime }) => dayKey(startTime ?? ''),
      item: ({ startTime, endTime }) => ({
        metadata: { start_time: startTime, end_time: endTime, upload_type: 1 },
        distance_data: { steps: 8200 },
      }),
      event: ({ type, user, item, version }) => ({ type, user, data: item === null ? [] : [item], version }),
    },
    overrides,
  );
}

/** An `auth` user event (one record, no item), keyed by its event time. */
export function makeUserEventRecord(overrides: RecordOverrides = {}): TerraRecord {
  return build(
    {
      type: 'auth',
      kind: 'user',
      summaryId: null,
      startTime: null,
      endTime: null,
      naturalKey: ({ eventTime }) => ({ text: `event_time=${eventTime}`, parts: ['event_time', eventTime] }),
      item: () => null,
      event: ({ type, user, version }) => ({ type, status: 'success', user, message: 'User has successfully authenticated', reference_id: user['reference_id'], version }),
    },
    overrides,
  );
}

/** An `athlete` record (the athlete profile is the item). */
export function makeAthleteRecord(overrides: RecordOverrides = {}): TerraRecord {
  return build(
    {
      type: 'athlete',
      kind: 'data',
      summaryId: null,
      startTime: null,
      endTime: null,
      naturalKey: () => ({ text: 'athlete', parts: ['athlete'] }),
      item: () => ({ first_name: 'Ada', last_name: 'Lovelace', sex: 'female' }),
      event: ({ type, user, item, version }) => ({ type, user, athlete: item, version }),
    },
    overrides,
  );
}

/** A Teams `test.retrieved` event for coach `coach-1`. */
export function makeTeamsRecord(overrides: RecordOverrides = {}): TerraRecord {
  return build(
    {
      type: 'test.retrieved',
      kind: 'teams',
      summaryId: null,
      startTime: null,
      endTime: null,
      naturalKey: () => ({ text: 'test_id=test-1', parts: ['test_id', 'test-1'] }),
      item: () => ({ test_id: 'test-1', display_name: 'CMJ', timestamp_us: 1_782_889_451_000_000 }),
      event: ({ type, item }) => ({ type, coach: { coach_id: 'coach-1', provider: 'VALD' }, data: item === null ? [] : [item] }),
    },
    { userId: 'coach-1', provider: 'VALD', referenceId: null, ...overrides },
  );
}

/**
 * `count` activity records with distinct summary ids and start times (one minute apart), spread
 * over `users` (round robin), so parity keys never collide.
 */
export function makeActivityBatch(count: number, users: readonly string[] = ['user-1'], overrides: RecordOverrides = {}): TerraRecord[] {
  return Array.from({ length: count }, (_, index) => {
    const start = new Date(Date.UTC(2026, 6, 1, 6, 0, 0) + index * 60_000).toISOString();
    const end = new Date(Date.UTC(2026, 6, 1, 6, 30, 0) + index * 60_000).toISOString();
    return makeRecord({
      userId: users[index % users.length] ?? 'user-1',
      summaryId: `summary-${index}`,
      startTime: start,
      endTime: end,
      source: { topic: 'terra-events', partition: 0, offset: String(index), timestampMs: Date.parse(DEFAULT_EVENT_TIME), headers: {} },
      ...overrides,
    });
  });
}

