import { findConnector } from '../../connectors/registry.js';
import { defaultObjectKey } from '../../connectors/shared/object-key.js';
import type { TenantConfig } from '../config/tenant-schema.js';
import type { WorkerConfig } from '../config/worker-schema.js';
import type { InboundMessage } from '../kafka/kafka-client.js';
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

/** A line of check-event output: a record and where it goes, or a rejection. */
export type CheckLine =
  | {
      input: string;
      type: string;
      user_id: string | null;
      identity: string;
      natural_key: string;
      item_index: number | null;
      destinations: Record<string, string>;
    }
  | { input: string; rejected: true; code: string; reason: string; destination?: string };

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
    const perDestination = new Map<string, (record: TerraRecord) => string>();
    const tenantName = options.tenant?.tenant ?? '';
    for (const destination of options.tenant?.destinations ?? []) {
      const connector = findConnector(destination.type);
      if (connector === undefined) continue;
      const filter = destinationFilter(connector, destination);
      const unit = filter.unit;
      const wanted = createMessageReader({ ...decoding, ...filter });
      const result = await wanted(message);
      if (!result.ok) {
        lines.push({ input: input.name, rejected: true, code: result.error.code, reason: result.error.message, destination: destination.name });
        continue;
      }
      // An `event` destination gets the whole event once (one record); a `record` one, each item.
      const whole = unit === 'event' ? result.records[0] : undefined;
      const identities = new Set(result.records.map((record) => record.identity));
      perDestination.set(destination.name, (record) => {
        if (unit === 'event') return whole === undefined ? 'filtered out' : connector.locate(destination.config, whole, tenantName);
        return identities.has(record.identity) ? connector.locate(destination.config, record, tenantName) : 'filtered out';
      });
    }
    for (const record of outcome.records) {
      const destinations: Record<string, string> = {};
      if (options.tenant === undefined) destinations['object_key'] = defaultObjectKey(record);
      for (const [name, locate] of perDestination) destinations[name] = locate(record);
      lines.push({
        input: input.name,
        type: record.type,
        user_id: record.userId,
        identity: record.identity,
        natural_key: record.naturalKey,
        item_index: record.itemIndex,
        destinations,
      });
    }
  }
  return lines;
}
