/**
 * A record is the unit every destination writes: one Terra data item with its envelope
 * (`type`, `user`, `version`), or one whole non-data event. See DESIGN.md, "Records and their identity".
 */

import type { FormatName } from '../formats/format.js';

/** Where a message came from in Kafka. Headers are decoded as UTF-8 strings (first value wins). */
export interface SourcePosition {
  topic: string;
  partition: number;
  /** Kafka offset as a decimal string (kafkajs gives strings; offsets can exceed 2^53). */
  offset: string;
  /** The Kafka record timestamp in unix milliseconds. Stable across replays. */
  timestampMs: number;
  headers: Readonly<Record<string, string>>;
}

/** What kind of Terra event a record came from. */
export type RecordKind = 'data' | 'user' | 'teams';

/**
 * How a destination wants events cut: `record` (one per data item, Terra's storage granularity)
 * or `event` (the whole event as received, Terra's webhook granularity).
 */
export type DeliveryUnit = 'record' | 'event';

export interface TerraRecord {
  /** Terra's `type`, e.g. `activity`, `auth`, `user_reauth`, `athlete.registered`. */
  type: string;
  kind: RecordKind;
  unit: DeliveryUnit;
  /** `user.user_id` (`new_user.user_id` for user_reauth; coach or athlete id for Teams events). */
  userId: string | null;
  referenceId: string | null;
  provider: string | null;
  /** `metadata.summary_id` where the item has one. */
  summaryId: string | null;
  /** Raw `metadata.start_time` (or the item's own timestamp), exactly as Terra sent it. */
  startTime: string | null;
  endTime: string | null;
  /** When the event happened, as ISO-8601 UTC: X-Terra-Ordering-Timestamp, else the Kafka timestamp. */
  eventTime: string;
  /** Newest-wins comparator: X-Terra-Ordering-Timestamp header (ms), else the Kafka timestamp. */
  orderingTimestampMs: number;
  /** Terra's natural key in words, e.g. `summary_id=abc` or `date=2026-07-01`. */
  naturalKey: string;
  /** Deterministic identity: the same record always gets the same value. 32 lowercase hex characters. */
  identity: string;
  /** Stable per delivery (incoming X-Terra-Trace-Id, else derived from the Kafka position). */
  traceId: string;
  /** Incoming `terra-reference` header, if any. */
  terraReference: string | null;
  version: string | null;
  /** Index of the item in `data[]`, or null for events delivered whole. */
  itemIndex: number | null;
  /** The record as a valid Terra event: envelope plus the one data item (or the event itself). */
  event: Readonly<Record<string, unknown>>;
  /** The data item alone (athlete profile for `athlete`), or null for non-data events. */
  item: Readonly<Record<string, unknown>> | null;
  /**
   * The serialized body. For `event` units it is the event's original bytes, untouched;
   * for `record` units it is JSON.stringify(event).
   */
  body: Buffer;
  /**
   * What `body` holds once the destination's format step ran (src/formats/apply-format.ts):
   * absent for Terra's JSON (format `terra`), set for `fhir` and `fit` bodies.
   */
  encoding?: RecordEncoding;
  source: SourcePosition;
}

/** The format a record's body is in, with its media type and file extension (no dot). */
export interface RecordEncoding {
  format: FormatName;
  contentType: string;
  extension: string;
}
