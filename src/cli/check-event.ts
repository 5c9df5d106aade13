import { findConnector } from '../../connectors/registry.js';
import { defaultObjectKey } from '../../connectors/shared/object-key.js';
import type { TenantConfig } from '../config/tenant-schema.js';
import type { WorkerConfig } from '../config/worker-schema.js';
import type { InboundMessage } from '../kafka/kafka-client.js';
import { encodingOf } from '../formats/record-encoding.js';
import { destinationFilter, tenantDecoderSettings } from '../pipeline/destination-reader.js';
import { createMessageReader } from '../pipeline/read-message.js';
import type { TerraRecord } from '../records/record.js';

/** One input to check: the bytes exactly as they would sit in a Kafka message value. */
export interface CheckInput {
  name: string;
  value: Buffer;
}

export interface CheckOptions {
  tenant?: TenantConfig | undefined;
  worker: Pick<WorkerConfig, 'budgets' | 's3Payload'>;
  /** The Kafka record timestamp to assume (unix ms); the worker uses the real one. */
  timestampMs: number;
  headers: Record<string, string>;
  fetch?: typeof fetch | undefined;
}

/** What a destination writes for a record: format, content type and body size. */
export interface EncodedLine {
  format: string;
  content_type: string;
  bytes: number;
}

/** A line of check-event output: a record and where it goes, or a rejection. */
export type CheckLine =
  | {
      input: string;
      type: string;
      user_id: string | null;
      identity: string;
      natural_key: string;
      item_index: number | null;
      /** Where the record lands per destination, `filtered out`, or `filtered out (format ...)` with the reason. */
      destinations: Record<string, string>;
      /** Per destination that writes the record: its format, the body's content type and size in bytes. */
      encoded?: Record<string, EncodedLine>;
    }
  | { input: string; rejected: true; code: string; reason: string; destination?: string }
  /** An accepted event that gives no records (a data event with `data: []`): lanes commit it without a send. */
  | { input: string; records: 0; reason: string };

/** What check-event says of an accepted event that gives no records. */
export const NO_RECORDS_REASON = 'the event holds no data items (data: []); no destination receives anything and every lane commits it';

function asMessage(input: CheckInput, options: CheckOptions): InboundMessage {
  const headers: Record<string, Buffer[]> = {};
  for (const [name, value] of Object.entries(options.headers)) headers[name.toLowerCase()] = [Buffer.from(value)];
  return { topic: 'check-event', partition: 0, offset: '0', timestampMs: options.timestampMs, key: null, value: input.value, headers, sizeBytes: input.value.length };
}

/**
 * Decodes each input exactly as a lane would and says, per record, its identity and where it
 * lands in every destination of the tenant (or the Terra-parity object key without a tenant).
 */
export async function checkEvents(inputs: readonly CheckInput[], options: CheckOptions): Promise<CheckLine[]> {
  const lines: CheckLine[] = [];
  const decoding = tenantDecoderSettings(options.worker, options.tenant ?? {}, options.fetch);
  const readRecords = createMessageReader({ ...decoding, unit: 'record', events: null, providers: null });
  for (const input of inputs) {
    const message = asMessage(input, options);
    const outcome = await readRecords(message);
    if (!outcome.ok) {
      lines.push({ input: input.name, rejected: true, code: outcome.error.code, reason: outcome.error.message });
      continue;
    }
    if (outcome.records.length === 0) {
      lines.push({ input: input.name, records: 0, reason: NO_RECORDS_REASON });
      continue;
    }
    const perDestination = new Map<string, (record: TerraRecord) => { location: string; encoded?: EncodedLine }>();
    const tenantName = options.tenant?.tenant ?? '';
    for (const destination of options.tenant?.destinations ?? []) {
      const connector = findConnector(destination.type);
      if (connector === undefined) continue;
      const filter = destinationFilter(connector, destination);
      const { unit, format: resolved } = filter;
      const wanted = createMessageReader({ ...decoding, ...filter });
      const result = await wanted(message);
      if (!result.ok) {
        lines.push({ input: input.name, rejected: true, code: result.error.code, reason: result.error.message, destination: destination.name });
        continue;
      }
      // An `event` destination gets the whole event once (one record); a `record` one, each item.
      // The records come back encoded in the destination's format, which sets their extension.
      const whole = unit === 'event' ? result.records[0] : undefined;
      const formatDrops = new Map(result.formatDrops.map((drop) => [drop.record.identity, `filtered out (format ${resolved.format.name}: ${drop.reason})`]));
      const encodedByIdentity = new Map(result.records.map((record) => [record.identity, record]));
      const describe = (encoded: TerraRecord | undefined, identity: string): { location: string; encoded?: EncodedLine } => {
        if (encoded === undefined) return { location: formatDrops.get(identity) ?? 'filtered out' };
        const encoding = encodingOf(encoded);
        return { location: connector.locate(destination.config, encoded, tenantName), encoded: { format: encoding.format, content_type: encoding.contentType, bytes: encoded.body.length } };
      };
      perDestination.set(destination.name, (record) => (unit === 'event' ? describe(whole, whole?.identity ?? '') : describe(encodedByIdentity.get(record.identity), record.identity)));
    }
    for (const record of outcome.records) {
      const destinations: Record<string, string> = {};
      const encoded: Record<string, EncodedLine> = {};
      if (options.tenant === undefined) destinations['object_key'] = defaultObjectKey(record);
      for (const [name, locate] of perDestination) {
        const where = locate(record);
        destinations[name] = where.location;
        if (where.encoded !== undefined) encoded[name] = where.encoded;
      }
      lines.push({
        input: input.name,
        type: record.type,
        user_id: record.userId,
        identity: record.identity,
        natural_key: record.naturalKey,
        item_index: record.itemIndex,
        destinations,
        ...(perDestination.size === 0 ? {} : { encoded }),
      });
    }
  }
  return lines;
}
