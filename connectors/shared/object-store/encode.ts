import { encodingOf, keyForEncoding, lineFramingOf } from '../../../src/formats/record-encoding.js';
import type { TerraRecord } from '../../../src/records/record.js';
import { joinKeyPrefix, objectKeyFor, sanitizeKeyValue, type KeyContext } from '../object-key.js';
import type { ObjectLayout } from './config.js';
import type { ObjectPut } from './port.js';

/**
 * Pure: which objects a batch becomes. `json` gives one object per record at its key; `ndjson`
 * gives one object per (topic, partition, type) group of the batch, named by the group's first
 * offset, so re-sending the same batch after a crash rewrites the same objects (the Kafka
 * Connect way). Bodies are uncompressed here; the destination gzips when `compress` is set.
 */
export interface PlannedObject extends ObjectPut {
  /** Indices into the batch of the records this object carries. */
  records: number[];
  compress: boolean;
}

/** Terra JSON one per line; other formats bring their own framing (src/formats/). */
const NDJSON = { contentType: 'application/x-ndjson', extension: 'ndjson' };
/** Offsets are zero-padded so object names sort by offset. */
const OFFSET_DIGITS = 20;

/** User metadata must be header-safe ASCII on every store: anything else is percent-encoded. */
export function metadataValue(value: string | null): string {
  if (value === null) return 'none';
  return /^[\x20-\x7e]*$/.test(value) ? value : encodeURIComponent(value);
}

/** Where a record lands for `format: json` (what locate() returns); the extension follows the record's encoding (`.fhir.json`, `.fit`). */
export function jsonObjectKey(layout: ObjectLayout, record: TerraRecord, context: KeyContext = {}): string {
  return keyForEncoding(objectKeyFor(record, { prefix: layout.prefix, keyTemplate: layout.keyTemplate }, context), record);
}

/** The ndjson object that a group starting at `record` gets: `{prefix}/{type}/{topic}+{partition}+{offset}.ndjson[.gz]` (`.fhir.ndjson` for FHIR). */
export function ndjsonObjectKey(layout: ObjectLayout, record: TerraRecord): string {
  const { topic, partition, offset } = record.source;
  const framing = lineFramingOf(record) ?? NDJSON;
  const name = `${sanitizeKeyValue(topic)}+${partition}+${offset.padStart(OFFSET_DIGITS, '0')}.${framing.extension}${layout.gzip ? '.gz' : ''}`;
  return joinKeyPrefix(layout.prefix, `${sanitizeKeyValue(record.type)}/${name}`);
}

/** The key a record is written under; for ndjson, the object its group would start at this record. */
export function objectKey(layout: ObjectLayout, record: TerraRecord, context: KeyContext = {}): string {
  return layout.format === 'ndjson' ? ndjsonObjectKey(layout, record) : jsonObjectKey(layout, record, context);
}

function recordMetadata(record: TerraRecord, tenant: string | undefined): Record<string, string> {
  return {
    tenant: metadataValue(tenant ?? null),
    type: metadataValue(record.type),
    user_id: metadataValue(record.userId),
    reference_id: metadataValue(record.referenceId),
    provider: metadataValue(record.provider),
    identity: record.identity,
  };
}

function planJson(layout: ObjectLayout, batch: readonly TerraRecord[], context: KeyContext): PlannedObject[] {
  return batch.map((record, index) => ({
    key: jsonObjectKey(layout, record, context),
    body: record.body,
    contentType: encodingOf(record).contentType,
    ...(layout.gzip ? { contentEncoding: 'gzip' } : {}),
    metadata: recordMetadata(record, context.tenant),
    records: [index],
    compress: layout.gzip,
  }));
}

function planNdjson(layout: ObjectLayout, batch: readonly TerraRecord[], context: KeyContext): PlannedObject[] {
  const groups = new Map<string, number[]>();
  batch.forEach((record, index) => {
    const group = JSON.stringify([record.source.topic, record.source.partition, record.type]);
    const members = groups.get(group);
    if (members === undefined) groups.set(group, [index]);
    else members.push(index);
  });
  const objects: PlannedObject[] = [];
  for (const members of groups.values()) {
    const records = members.map((index) => batch[index]).filter((record): record is TerraRecord => record !== undefined);
    const first = records.reduce((lowest, record) => (BigInt(record.source.offset) < BigInt(lowest.source.offset) ? record : lowest));
    const lines: Buffer[] = [];
    for (const record of records) lines.push(oneLine(record.body), NEWLINE);
    objects.push({
      key: ndjsonObjectKey(layout, first),
      body: Buffer.concat(lines),
      contentType: (lineFramingOf(first) ?? NDJSON).contentType,
      ...(layout.gzip ? { contentEncoding: 'gzip' } : {}),
      metadata: {
        tenant: metadataValue(context.tenant ?? null),
        type: metadataValue(first.type),
        topic: metadataValue(first.source.topic),
        partition: String(first.source.partition),
        first_offset: first.source.offset,
        record_count: String(records.length),
      },
      records: members,
      compress: layout.gzip,
    });
  }
  return objects;
}

const NEWLINE = Buffer.from('\n');

/**
 * A JSON body as one line. Record bodies are compact already; an event kept as received
 * (`unit: event`) may be pretty-printed. Raw CR/LF in valid JSON can only be whitespace (inside
 * strings they must be escaped), so turning them into spaces keeps the JSON and its meaning.
 */
export function oneLine(body: Buffer): Buffer {
  if (!body.includes(0x0a) && !body.includes(0x0d)) return body;
  const copy = Buffer.from(body);
  for (let i = 0; i < copy.length; i++) if (copy[i] === 0x0a || copy[i] === 0x0d) copy[i] = 0x20;
  return copy;
}

/**
 * The objects a batch becomes, each with the batch indices of its records. Throws
 * destination_misconfigured only for a layout the config schema would have rejected.
 */
export function planObjects(layout: ObjectLayout, batch: readonly TerraRecord[], context: KeyContext = {}): PlannedObject[] {
  return layout.format === 'ndjson' ? planNdjson(layout, batch, context) : planJson(layout, batch, context);
}
