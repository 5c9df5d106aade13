import type { DeliveryUnit, SourcePosition } from '../records/record.js';
import type { InboundMessage, RawHeaders } from '../kafka/kafka-client.js';
import type { MessageOutcome, MessageReader } from '../lane/lane.js';
import { applyFormat, type FormatDrop } from '../formats/apply-format.js';
import type { ResolvedFormat } from '../formats/destination-format.js';
import { explodeEvent } from '../terra/explode-event.js';
import { readTerraEvent } from '../terra/read-event.js';

/** Everything that decides how a message becomes records for one destination. */
export interface ReaderSettings {
  maxMessageBytes: number;
  signature?: { secret: string; required: boolean; toleranceSeconds: number } | undefined;
  s3Payload: { allowedHosts: readonly string[]; allowHttp: boolean; maxBytes: number; timeoutMs: number };
  unit: DeliveryUnit;
  /** Terra event types the destination wants; null = all. */
  events: ReadonlySet<string> | null;
  /** Providers the destination wants (upper case); null = all. */
  providers: ReadonlySet<string> | null;
  fetch?: typeof fetch | undefined;
  now?: () => number;
  /**
   * The destination's format step (src/formats/), applied after the filters. Absent: records keep
   * Terra's bytes. `onFiltered` hears about records the format cannot express (filtered, not parked).
   */
  format?: (ResolvedFormat & { onFiltered?: (drops: readonly FormatDrop[], wholeMessage: boolean) => void }) | undefined;
}

/** Kafka headers as the decoder sees them: lower-case names, first value, UTF-8. */
export function headersToStrings(headers: RawHeaders): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, values] of Object.entries(headers)) {
    const first = values[0];
    if (first !== undefined) result[name.toLowerCase()] = first.toString('utf8');
  }
  return result;
}

/**
 * The one path from Kafka bytes to records: decode (and resolve s3_payload pointers), explode
 * into records for the destination's unit, then apply its event and provider filter.
 * The worker and `check-event` both use it, so what check-event prints is what the worker does.
 */
export function createMessageReader(settings: ReaderSettings): MessageReader {
  const now = settings.now ?? Date.now;
  const s3Payload = { ...settings.s3Payload, ...(settings.fetch === undefined ? {} : { fetch: settings.fetch }) };
  return async (message: InboundMessage): Promise<MessageOutcome> => {
    const headers = headersToStrings(message.headers);
    const nowMs = now();
    const result = await readTerraEvent(message.value, {
      maxMessageBytes: settings.maxMessageBytes,
      headers,
      ...(settings.signature === undefined ? {} : { signature: settings.signature }),
      nowMs,
      sentAtMs: message.timestampMs,
      s3Payload,
    });
    if (!result.ok) return { ok: false, error: result.error };
    const source: SourcePosition = { topic: message.topic, partition: message.partition, offset: message.offset, timestampMs: message.timestampMs, headers };
    const all = explodeEvent(result.event, result.kind, result.body, source, settings.unit);
    const records = all.filter(
      (record) =>
        (settings.events === null || settings.events.has(record.type)) &&
        (settings.providers === null || (record.provider !== null && settings.providers.has(record.provider.toUpperCase()))),
    );
    const filtered = records.length < all.length;
    if (settings.format === undefined) return { ok: true, records, filtered };
    const formatted = applyFormat(records, settings.format.format, settings.format.options);
    if (!formatted.ok) return { ok: false, error: formatted.error };
    if (formatted.dropped.length > 0) settings.format.onFiltered?.(formatted.dropped, formatted.wholeMessage);
    return { ok: true, records: formatted.kept, filtered };
  };
}
