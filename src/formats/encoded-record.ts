import type { DeliveryUnit, RecordEncoding, RecordKind, SourcePosition, TerraRecord } from '../records/record.js';

type Json = Readonly<Record<string, unknown>>;

/**
 * A record after a format encoded it: the same record (identity, times, source...) with the
 * format's body and its `encoding`. Every field is read from the original once; `event` stays the
 * original's lazy getter (a spread copy would lose it).
 */
export class EncodedRecord implements TerraRecord {
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
  readonly source: SourcePosition;
  readonly #original: TerraRecord;

  constructor(
    original: TerraRecord,
    readonly body: Buffer,
    readonly encoding: RecordEncoding,
  ) {
    this.#original = original;
    this.type = original.type;
    this.kind = original.kind;
    this.unit = original.unit;
    this.userId = original.userId;
    this.referenceId = original.referenceId;
    this.provider = original.provider;
    this.summaryId = original.summaryId;
    this.startTime = original.startTime;
    this.endTime = original.endTime;
    this.eventTime = original.eventTime;
    this.orderingTimestampMs = original.orderingTimestampMs;
    this.naturalKey = original.naturalKey;
    this.identity = original.identity;
    this.traceId = original.traceId;
    this.terraReference = original.terraReference;
    this.version = original.version;
    this.itemIndex = original.itemIndex;
    this.item = original.item;
    this.source = original.source;
  }

  /** The Terra event the record came from (the original's, built on first read). */
  get event(): Json {
    return this.#original.event;
  }
}
