import { FanoutError } from '../errors/catalogue.js';
import { topLevelArraySpans, withOneElement } from '../json/array-spans.js';
import type { DeliveryUnit, RecordKind, SourcePosition, TerraRecord } from '../records/record.js';
import {
  dayKey,
  deliveryKey,
  eventIdentity,
  idKey,
  plannedWorkoutKey,
  recordIdentity,
  sleepKey,
  summaryIdKey,
  timestampKey,
  userKey,
  type NaturalKey,
} from './identity.js';
import type { TerraEvent } from './schemas/event-schema.js';
import { instantMs, parseTerraTime } from './terra-time.js';
import type { Coach } from './schemas/teams-events.js';
import type { TerraUser } from './schemas/fields.js';

type Json = Readonly<Record<string, unknown>>;

/** What one item (or one whole non-data event) contributes to its record. */
interface ItemFacts {
  /** The data item (athlete profile, coach) or null for a non-data event. */
  item: Json | null;
  naturalKey: NaturalKey;
  userId: string | null;
  provider: string | null;
  referenceId: string | null;
  summaryId: string | null;
  startTime: string | null;
  endTime: string | null;
  /** When the event says it happened (lab reports' `occurred_at`), in place of the delivery's time. */
  eventTime?: string;
}

/**
 * How an event is cut: `items` carry `data[]` (one record each in `record` unit); `whole` events are
 * one record whatever the unit (non-data events, `athlete`, `coach.registered`).
 */
type Cut = { shape: 'items'; items: ItemFacts[]; owner: Owner } | { shape: 'whole'; facts: ItemFacts };

/** Who an event belongs to when it is delivered whole (the user, or the coach for Teams). */
interface Owner {
  userId: string | null;
  provider: string | null;
  referenceId: string | null;
}

/** Delivery context shared by every record of one message. */
interface Delivery {
  orderingTimestampMs: number;
  eventTime: string;
  traceHeader: string | undefined;
  terraReference: string | null;
  version: string | null;
}

/**
 * Cuts one decoded event into the records a destination writes. Pure and deterministic: the same
 * Kafka message always gives the same records, identities and trace ids.
 *
 * - `unit: 'record'`: one record per `data[]` item (Terra's storage granularity). Each record's
 *   `body` is cut from the message's own bytes: everything before and after the `data` array kept
 *   exactly, and the item's own source text inside it, so Terra's digits, escapes and spacing
 *   survive (`12345678901234567890`, `1000.0`, `-0.0`, `\u00e9`). Its `event` is the envelope with
 *   `data: [item]`, built only when a connector reads it. An event that is one record anyway
 *   (non-data events, `athlete`, `coach.registered`, a `data[]` of one) keeps the original bytes.
 * - `unit: 'event'`: one record for the whole event, `body` the original bytes untouched, identity
 *   from the type, the user and the sorted item identities.
 *
 * A data event with an empty `data: []` gives zero records in both units: there is nothing to write,
 * and the lane still commits the message.
 */
export function explodeEvent(event: TerraEvent, kind: RecordKind, body: Buffer, source: SourcePosition, unit: DeliveryUnit, partial = false): TerraRecord[] {
  const delivery = deliveryOf(event, source);
  const cut = cutEvent(event, delivery);
  const envelope: Envelope = { type: event.type, kind, unit, source, delivery };
  const traceBase = delivery.traceHeader ?? `kafka:${source.topic}:${source.partition}:${source.offset}`;

  if (cut.shape === 'whole') {
    const identity = recordIdentity(event.type, cut.facts.userId, cut.facts.naturalKey);
    return [new ExplodedRecord(envelope, cut.facts, identity, traceBase, null, body, event, null, partial)];
  }

  const { items, owner } = cut;
  if (items.length === 0) return [];
  const identities = items.map((facts) => recordIdentity(event.type, facts.userId, facts.naturalKey));

  if (unit === 'event') {
    const first = items[0];
    const only = items.length === 1 ? first : undefined;
    const facts: ItemFacts = {
      item: only?.item ?? null,
      naturalKey: only?.naturalKey ?? { text: items.map((f) => f.naturalKey.text).join(';'), parts: [] },
      userId: only?.userId ?? owner.userId,
      provider: only?.provider ?? owner.provider,
      referenceId: only?.referenceId ?? owner.referenceId,
      summaryId: only?.summaryId ?? null,
      startTime: first?.startTime ?? null,
      endTime: first?.endTime ?? null,
    };
    const identity = eventIdentity(event.type, owner.userId, identities);
    return [new ExplodedRecord(envelope, facts, identity, traceBase, null, body, event, null, partial)];
  }

  if (items.length === 1) {
    const facts = items[0] as ItemFacts;
    return [new ExplodedRecord(envelope, facts, identities[0] as string, `${traceBase}:item:0`, 0, body, event, null, partial)];
  }
  const spans = topLevelArraySpans(body, 'data');
  if (spans === null || spans.items.length !== items.length) {
    // JSON.parse read `data` from these very bytes, so this cannot happen unless the scanner is wrong.
    throw new FanoutError('internal_error', `The ${event.type} event's data array could not be located in its bytes.`);
  }
  const records: TerraRecord[] = new Array<TerraRecord>(items.length);
  for (let index = 0; index < items.length; index += 1) {
    const facts = items[index] as ItemFacts;
    records[index] = new ExplodedRecord(envelope, facts, identities[index] as string, `${traceBase}:item:${index}`, index, withOneElement(body, spans, index), null, event, partial);
  }
  return records;
}

/** What every record of one message shares. */
interface Envelope {
  type: string;
  kind: RecordKind;
  unit: DeliveryUnit;
  source: SourcePosition;
  delivery: Delivery;
}

/**
 * A record as explode builds it. Fields are set once, in a fixed order (one hidden class for every
 * record); `event` is built from the envelope the first time a connector reads it, since most
 * connectors only need `body`.
 */
class ExplodedRecord implements TerraRecord {
  readonly type: string;
  readonly kind: RecordKind;
  readonly unit: DeliveryUnit;
  readonly userId: string | null;
  readonly referenceId: string | null;
  readonly provider: string | null;
  readonly summaryId: string | null;
  readonly startTime: string | null;
  readonly endTime: string | null;
  readonly eventTime: string;
  readonly orderingTimestampMs: number;
  readonly naturalKey: string;
  readonly identity: string;
  readonly traceId: string;
  readonly terraReference: string | null;
  readonly version: string | null;
  readonly itemIndex: number | null;
  readonly item: Json | null;
  readonly body: Buffer;
  readonly source: SourcePosition;
  #event: Json | null;
  readonly #envelopeEvent: Json | null;
  readonly #partial: boolean;

  /**
   * `event` is the record's own event when it is the whole message; otherwise `envelopeEvent` is
   * narrowed to `item` on demand. With `partial` (a large event decoded without being parsed whole,
   * decode-large-event.ts) the facts are exact but `event` and `item` are read from the record's
   * own bytes on first use.
   */
  constructor(envelope: Envelope, facts: ItemFacts, identity: string, traceId: string, itemIndex: number | null, body: Buffer, event: Json | null, envelopeEvent: Json | null = null, partial = false) {
    this.type = envelope.type;
    this.kind = envelope.kind;
    this.unit = envelope.unit;
    this.userId = facts.userId;
    this.referenceId = facts.referenceId;
    this.provider = facts.provider;
    this.summaryId = facts.summaryId;
    this.startTime = facts.startTime;
    this.endTime = facts.endTime;
    this.eventTime = facts.eventTime ?? envelope.delivery.eventTime;
    this.orderingTimestampMs = envelope.delivery.orderingTimestampMs;
    this.naturalKey = facts.naturalKey.text;
    this.identity = identity;
    this.traceId = traceId;
    this.terraReference = envelope.delivery.terraReference;
    this.version = envelope.delivery.version;
    this.itemIndex = itemIndex;
    this.item = facts.item;
    this.body = body;
    this.source = envelope.source;
    this.#partial = partial;
    this.#event = partial ? null : event;
    this.#envelopeEvent = partial ? null : envelopeEvent;
    if (partial) {
      // An own enumerable accessor, so a spread copy of the record (encoded-record.ts) reads it.
      const hasItem = facts.item !== null;
      Object.defineProperty(this, 'item', { get: () => (hasItem ? onlyItem(this.event) : null), enumerable: true, configurable: true });
    }
  }

  get event(): Json {
    if (this.#event === null) {
      if (this.#partial) this.#event = JSON.parse(this.body.toString('utf8')) as Json;
      else this.#event = this.#envelopeEvent === null || this.item === null ? {} : withOnlyItem(this.#envelopeEvent, this.item);
    }
    return this.#event;
  }
}

/** The one data item of a record's event (its body holds `data: [item]`). */
function onlyItem(event: Json): Json {
  const data = event['data'];
  const item: unknown = Array.isArray(data) ? data[0] : undefined;
  if (typeof item !== 'object' || item === null) throw new FanoutError('internal_error', "A record's own bytes do not hold its data item.");
  return item as Json;
}

/**
 * The envelope with `data: [item]`, every other key in its original place. Keys are defined, not
 * assigned, so no key can reach a prototype even if a caller skipped decodeEvent's key check.
 */
function withOnlyItem(event: Json, item: Json): Json {
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(event)) {
    Object.defineProperty(copy, key, { value: key === 'data' ? [item] : event[key], enumerable: true, writable: true, configurable: true });
  }
  return copy;
}

function cutEvent(event: TerraEvent, delivery: Delivery): Cut {
  switch (event.type) {
    case 'activity':
      return items(userOwner(event.user), event.data, (item) => ({
        naturalKey: summaryIdKey(item.metadata.summary_id),
        summaryId: item.metadata.summary_id,
        startTime: item.metadata.start_time,
        endTime: item.metadata.end_time,
      }));
    case 'health_observation':
      return items(userOwner(event.user), event.data, (item) => ({
        naturalKey: summaryIdKey(item.metadata.summary_id),
        summaryId: item.metadata.summary_id,
        startTime: item.metadata.start_time,
        endTime: item.metadata.end_time ?? null,
      }));
    case 'sleep':
      return items(userOwner(event.user), event.data, (item) => ({
        naturalKey: sleepKey(item.metadata.summary_id, item.metadata.start_time, item.metadata.end_time),
        summaryId: item.metadata.summary_id ?? null,
        startTime: item.metadata.start_time,
        endTime: item.metadata.end_time,
      }));
    case 'daily':
    case 'body':
    case 'nutrition':
    case 'menstruation':
      return items(userOwner(event.user), event.data, (item) => ({
        naturalKey: dayKey(item.metadata.start_time),
        summaryId: null,
        startTime: item.metadata.start_time,
        endTime: item.metadata.end_time,
      }));
    case 'hormone':
      return items(userOwner(event.user), event.data, (item) => ({
        naturalKey: timestampKey(item.timestamp),
        summaryId: null,
        startTime: item.timestamp,
        endTime: null,
      }));
    case 'planned_workout':
      return items(userOwner(event.user), event.data, (item) => ({
        naturalKey: plannedWorkoutKey(item, () => JSON.stringify(item)),
        summaryId: item.metadata?.summary_id ?? null,
        startTime: item.planned_date ?? item.details?.metadata?.planned_date ?? null,
        endTime: null,
      }));
    case 'athlete': {
      const owner = userOwner(event.user);
      return whole(owner, event.athlete, userKey(event.user.user_id));
    }
    case 'user_reauth':
      return whole(userOwner(event.new_user), null, deliveryKey(delivery.traceHeader, delivery.orderingTimestampMs));
    case 'auth':
      return whole(
        {
          ...userOwner(event.user),
          provider: event.user.provider,
          referenceId: event.user.reference_id ?? event.reference_id ?? null,
        },
        null,
        deliveryKey(delivery.traceHeader, delivery.orderingTimestampMs),
      );
    case 'auth_cancelled':
      return whole(
        { userId: null, provider: null, referenceId: event.reference_id ?? null },
        null,
        deliveryKey(delivery.traceHeader, delivery.orderingTimestampMs),
      );
    case 'healthcheck':
      return whole({ userId: null, provider: null, referenceId: null }, null, deliveryKey(delivery.traceHeader, delivery.orderingTimestampMs));
    case 'deauth':
    case 'access_revoked':
    case 'connection_error':
    case 'google_no_datasource':
    case 'permission_change':
    case 'large_request_processing':
    case 'large_request_sending':
    case 'rate_limit_hit':
      return whole(userOwner(event.user), null, deliveryKey(delivery.traceHeader, delivery.orderingTimestampMs));
    case 'lab_report.completed':
    case 'lab_report.failed':
      // No user: keyed by event_id (stable across Terra's redeliveries), timed by occurred_at.
      return {
        shape: 'whole',
        facts: {
          ...whole({ userId: null, provider: null, referenceId: event.data.reference_id ?? null }, null, idKey('event_id', event.event_id)).facts,
          eventTime: instantIso(event.occurred_at),
        },
      };
    case 'coach.registered':
      return whole(coachOwner(event.data), event.data, idKey('coach_id', event.data.coach_id));
    case 'athlete.registered':
    case 'athlete.deleted': {
      const first = event.data[0];
      const owner: Owner = { userId: first?.coach_id ?? null, provider: first?.provider ?? null, referenceId: null };
      return {
        shape: 'items',
        owner,
        items: event.data.map((athlete) => ({
          item: athlete,
          naturalKey: idKey('athlete_id', athlete.athlete_id),
          userId: athlete.athlete_id,
          provider: athlete.provider ?? null,
          referenceId: athlete.reference_id ?? null,
          summaryId: null,
          startTime: null,
          endTime: null,
        })),
      };
    }
    case 'test.retrieved': {
      const owner = coachOwner(event.coach);
      return {
        shape: 'items',
        owner,
        items: event.data.map((test) => ({
          ...owner,
          item: test,
          naturalKey: idKey('test_id', test.test_id),
          summaryId: null,
          startTime: microsToIso(test.timestamp_us),
          endTime: null,
        })),
      };
    }
    case 'activity.retrieved': {
      const owner = coachOwner(event.coach);
      return {
        shape: 'items',
        owner,
        items: event.data.map((activity) => ({
          ...owner,
          item: activity,
          naturalKey: idKey('activity_id', activity.activity_id),
          summaryId: null,
          startTime: microsToIso(activity.start_timestamp_us),
          endTime: microsToIso(activity.end_timestamp_us),
        })),
      };
    }
  }
}

type ItemTimes = Pick<ItemFacts, 'naturalKey' | 'summaryId' | 'startTime' | 'endTime'>;

/** The facts of each item, built field by field (no spreads: this runs for every record). */
function items<I extends Json>(owner: Owner, data: readonly I[], describe: (item: I) => ItemTimes): Cut {
  const facts: ItemFacts[] = new Array<ItemFacts>(data.length);
  for (let index = 0; index < data.length; index += 1) {
    const item = data[index] as I;
    const times = describe(item);
    facts[index] = {
      item,
      naturalKey: times.naturalKey,
      userId: owner.userId,
      provider: owner.provider,
      referenceId: owner.referenceId,
      summaryId: times.summaryId,
      startTime: times.startTime,
      endTime: times.endTime,
    };
  }
  return { shape: 'items', owner, items: facts };
}

function whole(owner: Owner, item: Json | null, naturalKey: NaturalKey): Extract<Cut, { shape: 'whole' }> {
  return { shape: 'whole', facts: { item, naturalKey, userId: owner.userId, provider: owner.provider, referenceId: owner.referenceId, summaryId: null, startTime: null, endTime: null } };
}

function userOwner(user: TerraUser): Owner {
  return { userId: user.user_id, provider: user.provider, referenceId: user.reference_id ?? null };
}

function coachOwner(coach: Coach | null | undefined): Owner {
  if (coach === null || coach === undefined) return { userId: null, provider: null, referenceId: null };
  return { userId: coach.coach_id, provider: coach.provider ?? null, referenceId: coach.reference_id ?? null };
}

/** A timestamp the decoder checked (instantDateTime), as ISO-8601 UTC like every record's eventTime. */
function instantIso(raw: string): string {
  const parsed = parseTerraTime(raw);
  return parsed.ok ? new Date(instantMs(parsed.time)).toISOString() : raw;
}

/** Teams timestamps are integer microseconds; records carry ISO-8601 UTC strings. */
function microsToIso(micros: number | null | undefined): string | null {
  if (typeof micros !== 'number' || !Number.isFinite(micros)) return null;
  const ms = Math.floor(micros / 1000);
  return Math.abs(ms) <= maxDateMs ? new Date(ms).toISOString() : null;
}

const maxDateMs = 8.64e15;

function deliveryOf(event: TerraEvent, source: SourcePosition): Delivery {
  const ordering = parseUnixMs(headerValue(source.headers, 'x-terra-ordering-timestamp'));
  const orderingTimestampMs = ordering ?? (Number.isFinite(source.timestampMs) && Math.abs(source.timestampMs) <= maxDateMs ? source.timestampMs : 0);
  const version = 'version' in event && typeof event.version === 'string' ? event.version : null;
  return {
    orderingTimestampMs,
    eventTime: isoOf(orderingTimestampMs),
    traceHeader: headerValue(source.headers, 'x-terra-trace-id'),
    terraReference: headerValue(source.headers, 'terra-reference') ?? null,
    version,
  };
}

/** The last instant formatted: messages of one batch mostly share their Kafka timestamp's millisecond. */
let lastIso = { ms: Number.NaN, iso: '' };

function isoOf(ms: number): string {
  if (lastIso.ms !== ms) lastIso = { ms, iso: new Date(ms).toISOString() };
  return lastIso.iso;
}

function parseUnixMs(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d{1,16}$/.test(value)) return undefined;
  const ms = Number(value);
  return ms > 0 && ms <= maxDateMs ? ms : undefined;
}

/** A header by lower-case name (names are lower-cased by the reader; other casings are tolerated). */
function headerValue(headers: Readonly<Record<string, string>>, name: string): string | undefined {
  let value = headers[name];
  if (value === undefined) {
    for (const key in headers) {
      if (key.toLowerCase() === name) {
        value = headers[key];
        break;
      }
    }
  }
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === '' ? undefined : trimmed;
}
