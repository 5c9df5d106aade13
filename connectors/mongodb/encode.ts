import { FanoutError } from '../../src/errors/catalogue.js';
import type { TerraRecord } from '../../src/records/record.js';
import { CHECK_COLLECTION, type DefaultCollection, type MongodbConfig } from './config.js';

/**
 * Pure mapping of records to MongoDB documents, following Terra's own MongoDB destination
 * (reference/terra-delivery-spec.md section 4.7): a collection per data type, `user_events` for
 * non-data events, `athlete` keyed by user id, `_id` `{user_id, start_time}` for data items and
 * `{user_id, event_time}` for user events, and each document the data item with the `user` object
 * beside it. Every document also carries `_terra`, the metadata newest-wins writes compare.
 */

/** A document `_id`: the user id (athlete) or a small object whose key order is fixed. */
export type MongoId = string | { readonly [field: string]: string | null };

/** What `_terra` holds in every document terra-fanout writes. */
export interface TerraMetadata {
  /** Unix milliseconds (X-Terra-Ordering-Timestamp, else the Kafka timestamp): newer replaces older. */
  ordering_timestamp: number;
  /** The record's identity (32 hex characters); breaks ties between equal ordering timestamps. */
  identity: string;
  /** Terra's natural key in words, e.g. `summary_id=abc`. */
  natural_key: string;
  /** The Terra event type, e.g. `activity`, `auth`. */
  type: string;
  version: string | null;
  /** The delivery's X-Terra-Trace-Id (or one derived from the Kafka position). */
  trace_id: string;
  /** With `rawBody`: the record exactly as Terra sent it (the bytes the parsed fields cannot all keep), as text. */
  raw?: string;
}

export type MongoDocument = { _id: MongoId } & Record<string, unknown>;

/** One replace-upsert: the document replaces the stored one with the same `_id` unless that one is as new or newer. */
export interface MongoWrite {
  collection: string;
  id: MongoId;
  orderingTimestamp: number;
  identity: string;
  document: MongoDocument;
}

/** The newest-wins fields of a stored document; null where the document has none. */
export interface StoredOrdering {
  orderingTimestamp: number | null;
  identity: string | null;
}

/** Fields a record's item may not have at its top level, because the document puts its own there. */
const RESERVED_FIELDS = ['_id', '_terra'] as const;

/** Terra's collection for a record, before `collections` renames and `collectionPrefix`. */
export function defaultCollectionOf(record: TerraRecord): string {
  if (record.kind === 'user') return 'user_events';
  if (record.kind === 'teams') return record.type.replace(/\./g, '_');
  return record.type;
}

function finalName(config: MongodbConfig, name: string): string {
  const renamed = config.collections?.[name as DefaultCollection] ?? name;
  return `${config.collectionPrefix}${renamed}`;
}

/** The collection a record is written to. */
export function collectionFor(config: MongodbConfig, record: TerraRecord): string {
  return finalName(config, defaultCollectionOf(record));
}

/** The collection check() writes its probe document to. */
export function checkCollection(config: MongodbConfig): string {
  return `${config.collectionPrefix}${CHECK_COLLECTION}`;
}

/**
 * The document `_id` (spec 4.7), field order fixed because MongoDB compares embedded `_id`s field by field:
 * - athlete: the user id;
 * - user events: `{user_id, event_time}` (event_time: ISO-8601 UTC of the ordering timestamp, a lab
 *   report's `occurred_at`; user_id: the identity for an event without a user);
 * - data items: `{user_id, start_time}` with `metadata.start_time` exactly as Terra sent it
 *   (hormone: the sample `timestamp`); with `idScheme: summary_id`, `{user_id, summary_id}`
 *   when the item has one; an item without a start time uses `{user_id, natural_key}`;
 * - Teams items: `{user_id, natural_key}` with the coach or athlete id as user_id.
 */
export function documentId(config: MongodbConfig, record: TerraRecord): MongoId {
  const user = record.userId;
  // A non-data event without a user (auth_cancelled, healthcheck, lab reports) uses its identity in
  // place of the user id, as the object and document keys do: two lab reports of one upload can
  // share occurred_at, and must not share a document.
  if (record.kind === 'user') return { user_id: user ?? record.identity, event_time: record.eventTime };
  if (record.kind === 'teams') return { user_id: user, natural_key: record.naturalKey };
  if (record.type === 'athlete') return user ?? record.identity;
  if (config.idScheme === 'summary_id' && record.summaryId !== null) return { user_id: user, summary_id: record.summaryId };
  if (record.startTime !== null) return { user_id: user, start_time: record.startTime };
  return { user_id: user, natural_key: record.naturalKey };
}

/** The envelope field put beside the item: `user` for Terra data, `coach` for Teams events that name one. */
function contextField(record: TerraRecord): 'user' | 'coach' | null {
  if (record.kind === 'data') return 'user';
  if (record.kind === 'teams' && record.event['coach'] !== undefined) return 'coach';
  return null;
}

function metadataOf(record: TerraRecord): TerraMetadata {
  return {
    ordering_timestamp: record.orderingTimestampMs,
    identity: record.identity,
    natural_key: record.naturalKey,
    type: record.type,
    version: record.version,
    trace_id: record.traceId,
  };
}

/**
 * The document a record becomes: `_id`, then the data item's fields with the envelope's `user`
 * beside them (Teams: `coach`), then `_terra`. A non-data event is the event itself between `_id`
 * and `_terra`. Throws destination_rejected for an item that has its own top-level `_id`,
 * `_terra` or `user` (Terra's models have none).
 */
export function encodeDocument(config: MongodbConfig, record: TerraRecord): MongoDocument {
  const id = documentId(config, record);
  const context = contextField(record);
  const body = record.item ?? record.event;
  const reserved = context === null ? RESERVED_FIELDS : [...RESERVED_FIELDS, context];
  const clash = reserved.find((field) => Object.hasOwn(body, field));
  if (clash !== undefined) {
    throw new FanoutError('destination_rejected', `The ${record.type} record has its own top-level "${clash}" field, which the MongoDB document layout reserves.`, {
      detail: { field: clash },
    });
  }
  const document: MongoDocument = { _id: id };
  for (const [field, value] of Object.entries(body)) document[field] = value;
  if (context !== null && record.item !== null) document[context] = record.event[context] ?? null;
  const metadata = metadataOf(record);
  if (config.rawBody) metadata.raw = record.body.toString('utf8');
  document['_terra'] = metadata;
  return document;
}

/** Pure: the write a record becomes. */
export function encodeWrite(config: MongodbConfig, record: TerraRecord): MongoWrite {
  const document = encodeDocument(config, record);
  return { collection: collectionFor(config, record), id: document._id, orderingTimestamp: record.orderingTimestampMs, identity: record.identity, document };
}

/**
 * The filter of a newest-wins replace-upsert: the document with this `_id` whose stored ordering
 * timestamp is older, or absent (written by something else), or equal with a smaller identity
 * (two different records with the same `_id` and time: the larger identity wins, whatever the
 * order they arrive in). When nothing matches, the upsert tries to insert and the server answers
 * E11000 duplicate key because the `_id` exists: the stored copy is as new or newer.
 */
export function newerThanFilter(write: Pick<MongoWrite, 'id' | 'orderingTimestamp' | 'identity'>): Record<string, unknown> {
  return {
    _id: write.id,
    $or: [
      { '_terra.ordering_timestamp': { $lt: write.orderingTimestamp } },
      { '_terra.ordering_timestamp': { $exists: false } },
      { '_terra.ordering_timestamp': write.orderingTimestamp, '_terra.identity': { $lt: write.identity } },
    ],
  };
}

/** Whether `write` replaces a stored document with these fields (the same rule as newerThanFilter). */
export function replacesStored(stored: StoredOrdering, write: Pick<MongoWrite, 'orderingTimestamp' | 'identity'>): boolean {
  if (stored.orderingTimestamp === null) return true;
  if (stored.orderingTimestamp !== write.orderingTimestamp) return stored.orderingTimestamp < write.orderingTimestamp;
  return stored.identity === null || stored.identity < write.identity;
}

/** The newest-wins fields of a document read back from MongoDB. */
export function storedOrderingOf(document: Readonly<Record<string, unknown>>): StoredOrdering {
  const meta = document['_terra'];
  if (typeof meta !== 'object' || meta === null) return { orderingTimestamp: null, identity: null };
  const timestamp: unknown = Reflect.get(meta, 'ordering_timestamp');
  const identity: unknown = Reflect.get(meta, 'identity');
  return { orderingTimestamp: typeof timestamp === 'number' ? timestamp : null, identity: typeof identity === 'string' ? identity : null };
}

/** A stable text form of an `_id`, for maps and locations (field order is part of an `_id`). */
export function idKey(id: MongoId): string {
  return JSON.stringify(id);
}

/** Where a document lives: `<database>.<collection>/<_id as JSON>`. What locate() returns. */
export function documentLocation(database: string, collection: string, id: MongoId): string {
  return `${database}.${collection}/${idKey(id)}`;
}

export function mongodbLocation(config: MongodbConfig, record: TerraRecord): string {
  return documentLocation(config.database, collectionFor(config, record), documentId(config, record));
}

/**
 * Inverse of encodeDocument, for tests and the in-memory port: the one-item Terra event a document
 * came from (`{type, user, data: [item], version}`, `athlete` for profiles, the event itself for
 * non-data events). Keys follow Terra's envelope order, which is the order records are built in.
 */
export function eventFromDocument(document: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const meta = document['_terra'];
  const type = typeof meta === 'object' && meta !== null ? Reflect.get(meta, 'type') : undefined;
  const version = typeof meta === 'object' && meta !== null ? Reflect.get(meta, 'version') : undefined;
  const rest: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(document)) if (field !== '_id' && field !== '_terra') rest[field] = value;
  if (rest['type'] === type) return rest; // a non-data event is stored whole
  const { user, ...item } = rest;
  const event: Record<string, unknown> = { type, user };
  if (type === 'athlete') event['athlete'] = item;
  else event['data'] = [item];
  event['version'] = version;
  return event;
}

/** One index: its key pattern (1 ascending, -1 descending). */
export interface IndexSpec {
  key: Readonly<Record<string, 1 | -1>>;
}

export interface CollectionIndexes {
  collection: string;
  indexes: readonly IndexSpec[];
}

const userIndexes: readonly IndexSpec[] = [{ key: { 'user.user_id': 1 } }, { key: { 'user.reference_id': 1 } }];
const timeIndexes: readonly IndexSpec[] = [{ key: { 'metadata.start_time': -1 } }, { key: { 'metadata.end_time': -1 } }];

const indexesByCollection: Readonly<Partial<Record<DefaultCollection, readonly IndexSpec[]>>> = {
  user_events: userIndexes,
  athlete: userIndexes,
  activity: timeIndexes,
  body: timeIndexes,
  daily: timeIndexes,
  sleep: timeIndexes,
  nutrition: timeIndexes,
  menstruation: timeIndexes,
  health_observation: timeIndexes,
  planned_workout: timeIndexes,
  hormone: [{ key: { timestamp: -1 } }],
};

/** The indexes created at start (Terra's, spec 4.7), per final collection name. */
export function indexPlan(config: MongodbConfig): CollectionIndexes[] {
  return Object.entries(indexesByCollection).map(([name, indexes]) => ({ collection: finalName(config, name), indexes: indexes ?? [] }));
}
