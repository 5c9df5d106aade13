import type { ConnectorContext } from '../../src/connector/contract.js';
import { FanoutError } from '../../src/errors/catalogue.js';
import { isPlainObject } from '../../src/json/json-value.js';
import type { TerraRecord } from '../../src/records/record.js';
import { formatKeyTime } from '../../src/terra/key-time.js';
import { compileKeyTemplate, sanitizeKeyValue, type RenderKey } from '../shared/object-key.js';
import type { FirestoreConfig } from './config.js';

/**
 * Pure mapping of records to Firestore documents, in Terra's Firestore layout
 * (reference/terra-delivery-spec.md section 4.8):
 *
 *   {rootCollection}/{versionDocument}/{collection}/{document id}
 *   terra/2022-03-16/activity/{user_id}-{start_time}.json
 *   terra/2022-03-16/user_events/{user_id}-{event_time}.json
 *
 * A data document is the data item with the envelope's `user` beside its fields; a user event
 * (auth, deauth, ...) is the whole event. Both carry `_terra`, the delivery metadata newest-wins
 * compares (see TerraMeta).
 */

/** A value Firestore stores as JSON gives it: no arrays directly inside arrays. */
export type FirestoreValue = null | boolean | number | string | FirestoreValue[] | FirestoreMap;
export interface FirestoreMap {
  [field: string]: FirestoreValue;
}
export type FirestoreDocument = FirestoreMap;

/** The field every document written by terra-fanout carries, beside the Terra data. */
export const META_FIELD = '_terra';

/** Its ordering timestamp, as a field path (for reads with a field mask). */
export const ORDERING_FIELD_PATH = [META_FIELD, 'ordering_timestamp_ms'] as const;

/** Collection of auth-like events (auth, deauth, user_reauth, access_revoked, ...), as Terra names it. */
export const USER_EVENTS_COLLECTION = 'user_events';

/** Collection under the version document where check() writes one document per lane. */
export const CHECK_COLLECTION = '_terra_fanout_checks';

/** Firestore's limit on one document's size, in its own accounting (see firestoreDocumentSize). */
export const FIRESTORE_MAX_DOCUMENT_BYTES = 1_048_576;

/**
 * `_terra`: what terra-fanout knows about the record, so readers can trace it and newest-wins can
 * compare. Deterministic: the same record always gives the same metadata (a replay rewrites
 * identical documents).
 */
export interface TerraMeta {
  /** The record's identity (32 hex characters). */
  identity: string;
  /** Terra's event type, e.g. activity, auth. */
  type: string;
  /** The event's API version, or null when it has none. */
  version: string | null;
  /** Terra's natural key in words, e.g. summary_id=abc. */
  natural_key: string;
  /** X-Terra-Ordering-Timestamp (else the Kafka timestamp), unix ms: newest-wins compares this. */
  ordering_timestamp_ms: number;
  /** X-Terra-Trace-Id of the delivery (else derived from the Kafka position). */
  trace_id: string;
  /** `item`: the document is one data item plus its owner (`user` or `coach`); `event`: the whole event. */
  shape: 'item' | 'event';
}

/** One document to write, as the port receives it. */
export interface DocumentWrite {
  /** Slash-separated path relative to the database: collection/document/collection/document. */
  path: string;
  document: FirestoreDocument;
  /** Newest-wins compares this with the stored `_terra.ordering_timestamp_ms`. */
  orderingTimestampMs: number;
  /** The document's size in Firestore's accounting, for chunking commits by bytes. */
  bytes: number;
}

/** One path segment built from record values: no `/`, `\`, control characters or `..`. */
function idPart(value: string): string {
  return sanitizeKeyValue(value);
}

/** `user_events` for user events (auth, deauth, ...), the event type otherwise (activity, athlete, test.retrieved...). */
export function collectionFor(record: TerraRecord): string {
  return record.kind === 'user' ? USER_EVENTS_COLLECTION : idPart(record.type);
}

/**
 * The document id, Terra's `{user_id}-{start_time}.json` (`.json` is part of the id, as at Terra):
 * - data item: `{user_id}-{start_time}.json`, start time in UTC without fraction when it has an
 *   offset (`2026-03-12T06:00:00Z`), the raw local time otherwise;
 * - user event: `{user_id}-{event_time}.json`;
 * - athlete: `{user_id}.json` (one profile per user);
 * - Teams event: `{identity}.json`.
 * A record without a user id (auth_cancelled, healthcheck) uses its identity in its place.
 */
export function documentIdFor(record: TerraRecord): string {
  const user = idPart(record.userId ?? record.identity);
  if (record.kind === 'teams') return `${idPart(record.identity)}.json`;
  if (record.kind === 'user') return `${user}-${idPart(formatKeyTime(record.eventTime))}.json`;
  if (record.type === 'athlete') return `${user}.json`;
  return `${user}-${idPart(formatKeyTime(record.startTime ?? record.eventTime))}.json`;
}

const compiledTemplates = new Map<string, RenderKey>();

/** A documentIdTemplate, compiled once. Throws destination_misconfigured for one the schema would have refused. */
function documentIdRenderer(template: string): RenderKey {
  const cached = compiledTemplates.get(template);
  if (cached !== undefined) return cached;
  const compiled = compileKeyTemplate(template);
  if (!compiled.ok || template.includes('/')) throw new FanoutError('destination_misconfigured', 'Invalid documentIdTemplate; run validate for the details.');
  compiledTemplates.set(template, compiled.render);
  return compiled.render;
}

export type LayoutConfig = Pick<FirestoreConfig, 'rootCollection' | 'versionDocument' | 'documentIdTemplate'>;

/**
 * Where a record lands: `{rootCollection}/{versionDocument}/{collection}/{document id}`, the id from
 * documentIdTemplate when set (rendered for `tenant`). What locate() returns.
 */
export function documentPath(config: LayoutConfig, record: TerraRecord, tenant?: string): string {
  const id = config.documentIdTemplate === undefined ? documentIdFor(record) : documentIdRenderer(config.documentIdTemplate)(record, tenant === undefined ? {} : { tenant });
  return `${config.rootCollection}/${config.versionDocument}/${collectionFor(record)}/${id}`;
}

/**
 * A JSON value as Firestore can store it. Firestore refuses an array directly inside an array, so
 * such an inner array is kept as its JSON text (a string); everything else is unchanged.
 */
export function toFirestoreValue(value: unknown, inArray = false): FirestoreValue {
  if (value === null || typeof value === 'boolean' || typeof value === 'number' || typeof value === 'string') return value;
  if (Array.isArray(value)) {
    if (inArray) return JSON.stringify(value);
    return value.map((item: unknown) => toFirestoreValue(item, true));
  }
  if (isPlainObject(value)) return toFirestoreMap(value);
  throw new FanoutError('internal_error', `A record holds a ${typeof value}, which is not a JSON value.`);
}

function toFirestoreMap(value: Readonly<Record<string, unknown>>): FirestoreMap {
  const map: FirestoreMap = {};
  for (const key of Object.keys(value)) {
    const inner = value[key];
    if (inner === undefined) continue;
    Object.defineProperty(map, key, { value: toFirestoreValue(inner), enumerable: true, writable: true, configurable: true });
  }
  return map;
}

/** The field beside the item that says whose data it is: `user` (Terra events) or `coach` (Teams events). */
function ownerField(event: Readonly<Record<string, unknown>>): 'user' | 'coach' | null {
  if (isPlainObject(event['user'])) return 'user';
  if (isPlainObject(event['coach'])) return 'coach';
  return null;
}

export function terraMeta(record: TerraRecord, shape: TerraMeta['shape']): TerraMeta {
  return {
    identity: record.identity,
    type: record.type,
    version: record.version,
    natural_key: record.naturalKey,
    ordering_timestamp_ms: record.orderingTimestampMs,
    trace_id: record.traceId,
    shape,
  };
}

/**
 * The document a record becomes. A data item: the item's fields, then `user` (or `coach` for
 * Teams events), then `_terra`. A non-data event: the event's fields, then `_terra`. A field named
 * `_terra` in Terra's data would be replaced; Terra has none.
 */
export function encodeDocument(record: TerraRecord): FirestoreDocument {
  if (record.item === null) {
    return { ...toFirestoreMap(record.event), [META_FIELD]: { ...terraMeta(record, 'event') } };
  }
  const document = toFirestoreMap(record.item);
  const owner = ownerField(record.event);
  if (owner !== null) document[owner] = toFirestoreValue(record.event[owner]);
  document[META_FIELD] = { ...terraMeta(record, 'item') };
  return document;
}

function utf8Size(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/**
 * A document's size as Firestore counts it (https://firebase.google.com/docs/firestore/storage-size):
 * the name (each path segment's UTF-8 bytes + 1, plus 16), each field name (UTF-8 bytes + 1) and
 * value (string: UTF-8 bytes + 1; number 8; boolean and null 1; array and map: their contents),
 * plus 32. Iterative, so a long sample array never deepens the call stack.
 */
export function firestoreDocumentSize(path: string, document: FirestoreDocument): number {
  let size = 16 + 32;
  for (const segment of path.split('/')) size += utf8Size(segment) + 1;
  const pending: FirestoreValue[] = [document];
  for (let value = pending.pop(); value !== undefined; value = pending.pop()) {
    if (value === null || typeof value === 'boolean') size += 1;
    else if (typeof value === 'number') size += 8;
    else if (typeof value === 'string') size += utf8Size(value) + 1;
    else if (Array.isArray(value)) pending.push(...value);
    else {
      for (const key of Object.keys(value)) {
        size += utf8Size(key) + 1;
        const inner = value[key];
        if (inner !== undefined) pending.push(inner);
      }
    }
  }
  return size;
}

/**
 * Pure: the write a record becomes. Throws destination_record_too_large when the document is over
 * Firestore's 1 MiB limit: that record can never be stored, so it is parked before anything is sent.
 */
export function encodeDocumentWrite(config: LayoutConfig, record: TerraRecord, tenant?: string): DocumentWrite {
  const path = documentPath(config, record, tenant);
  const document = encodeDocument(record);
  const bytes = firestoreDocumentSize(path, document);
  if (bytes > FIRESTORE_MAX_DOCUMENT_BYTES) {
    throw new FanoutError(
      'destination_record_too_large',
      `The ${record.type} document is ${bytes} bytes; Firestore stores at most ${FIRESTORE_MAX_DOCUMENT_BYTES} bytes per document. Send records this large (long samples) to a bucket destination instead.`,
      { detail: { bytes, limit: FIRESTORE_MAX_DOCUMENT_BYTES } },
    );
  }
  return { path, document, orderingTimestampMs: record.orderingTimestampMs, bytes };
}

/**
 * The document check() writes, one per lane:
 * `{rootCollection}/{versionDocument}/_terra_fanout_checks/{tenant}.{destination}`.
 */
export function encodeCheckWrite(config: Pick<FirestoreConfig, 'rootCollection' | 'versionDocument'>, context: Pick<ConnectorContext, 'tenant' | 'destination'>, now: Date): DocumentWrite {
  const path = `${config.rootCollection}/${config.versionDocument}/${CHECK_COLLECTION}/${idPart(context.tenant)}.${idPart(context.destination)}.json`;
  const document: FirestoreDocument = {
    tenant: context.tenant,
    destination: context.destination,
    checked_at: now.toISOString(),
    [META_FIELD]: { ordering_timestamp_ms: now.getTime() },
  };
  return { path, document, orderingTimestampMs: now.getTime(), bytes: firestoreDocumentSize(path, document) };
}

/** The `_terra.ordering_timestamp_ms` of a stored document, given that field's value; undefined when absent or not a number. */
export function storedOrderingTimestamp(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/**
 * Newest wins: a write replaces the stored document unless the stored copy is strictly newer.
 * Equal timestamps rewrite (a replay writes the same document again); a document without
 * `_terra` (written by someone else) is replaced.
 */
export function replacesStored(storedMs: number | undefined, incomingMs: number): boolean {
  return storedMs === undefined || storedMs <= incomingMs;
}

/**
 * The inverse of encodeDocument for documents whose values needed no JSON-text encoding: the
 * Terra event (envelope with the one item) a document was made from, with Terra's key order
 * (`type`, owner, `data`/`athlete`, `version`). Used by the in-memory port to show what it holds.
 */
export function documentToEvent(document: FirestoreDocument): Record<string, unknown> {
  const fields: Record<string, unknown> = { ...document };
  const meta = fields[META_FIELD];
  delete fields[META_FIELD];
  if (!isPlainObject(meta) || meta['shape'] !== 'item') return fields;
  const type = typeof meta['type'] === 'string' ? meta['type'] : 'unknown';
  const event: Record<string, unknown> = { type };
  const owner = ownerField(fields);
  if (owner !== null) {
    event[owner] = fields[owner];
    delete fields[owner];
  }
  if (type === 'athlete') event['athlete'] = fields;
  else event['data'] = [fields];
  if (typeof meta['version'] === 'string') event['version'] = meta['version'];
  return event;
}
