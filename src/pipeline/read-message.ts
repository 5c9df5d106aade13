import type { FanoutError } from '../errors/catalogue.js';
import { applyFormat, type FormatDrop } from '../formats/apply-format.js';
import type { ResolvedFormat } from '../formats/destination-format.js';
import type { InboundMessage } from '../kafka/kafka-client.js';
import type { DeliveryUnit, TerraRecord } from '../records/record.js';
import { TenantDecoder, type DecodedMessage, type DecoderSettings } from './tenant-decoder.js';

export { headersToStrings } from './tenant-decoder.js';

/** Why a message gave a destination nothing to write (docs/metrics.md, messages_filtered_total). */
export type FilterReason = 'event_type' | 'provider' | 'format' | 'empty';

/** What one destination wants from its tenant's messages. */
export interface DestinationFilter {
  unit: DeliveryUnit;
  /** Terra event types the destination wants; null = all. */
  events: ReadonlySet<string> | null;
  /** Providers the destination wants (upper case); null = all. */
  providers: ReadonlySet<string> | null;
  /** The destination's format step (src/formats/), applied last; absent: records keep Terra's bytes. */
  format?: ResolvedFormat | undefined;
}

/**
 * What one message means for one destination:
 * - `records`: deliver these (`dropped` records of the message were filtered out by provider,
 *   `formatDrops` by the destination's format, each with its reason);
 * - `filtered`: nothing to deliver; commit it (`formatDrops` when the format expressed none);
 * - `rejected`: park the message with this error;
 * - `fetch`: an `s3_payload` pointer; resolve it and select again.
 */
export type Selection =
  | { kind: 'records'; records: TerraRecord[]; dropped: number; formatDrops?: readonly FormatDrop[] }
  | { kind: 'filtered'; reason: FilterReason; formatDrops?: readonly FormatDrop[] }
  | { kind: 'rejected'; error: FanoutError }
  | { kind: 'fetch' };

/**
 * Applies a destination's filter to a decoded message. The envelope type is checked first, before
 * any other verdict, so a destination whose `events:` leaves a type out never parks that type for a
 * schema problem (it is not that destination's business). Pure and synchronous.
 */
export function selectRecords(decoded: DecodedMessage, filter: DestinationFilter): Selection {
  const type = decoded.type;
  if (filter.events !== null && type !== null && type !== 's3_payload' && !filter.events.has(type)) return { kind: 'filtered', reason: 'event_type' };
  if (decoded.error !== null) return { kind: 'rejected', error: decoded.error };
  if (decoded.pointer !== null) return { kind: 'fetch' };
  const all = decoded.records(filter.unit);
  if (!Array.isArray(all)) return { kind: 'rejected', error: all };
  if (all.length === 0) return { kind: 'filtered', reason: 'empty' };
  const providers = filter.providers;
  const records = providers === null ? all : all.filter((record) => record.provider !== null && providers.has(record.provider.toUpperCase()));
  if (records.length === 0) return { kind: 'filtered', reason: 'provider' };
  const dropped = all.length - records.length;
  if (filter.format === undefined) return { kind: 'records', records, dropped };
  const formatted = applyFormat(records, filter.format.format, filter.format.options);
  if (!formatted.ok) return { kind: 'rejected', error: formatted.error };
  if (formatted.wholeMessage) return { kind: 'filtered', reason: 'format', formatDrops: formatted.dropped };
  return { kind: 'records', records: formatted.kept, dropped, ...(formatted.dropped.length === 0 ? {} : { formatDrops: formatted.dropped }) };
}

/** The settled outcome of reading one message for one destination (pointers resolved). */
export type MessageOutcome =
  | { ok: true; records: TerraRecord[]; filtered: FilterReason | null; dropped: number; formatDrops: readonly FormatDrop[] }
  | { ok: false; error: FanoutError };

/** Decodes, filters and explodes one message for one destination. May fetch (s3_payload). */
export type MessageReader = (message: InboundMessage) => Promise<MessageOutcome>;

/** Reads a message for one destination through a tenant decoder, following a pointer once. */
export async function readMessage(decoder: TenantDecoder, filter: DestinationFilter, message: InboundMessage): Promise<MessageOutcome> {
  const decoded = decoder.decode(message);
  let selection = selectRecords(decoded, filter);
  if (selection.kind === 'fetch') selection = selectRecords(await decoder.resolve(message, decoded), filter);
  return settle(selection);
}

function settle(selection: Selection): MessageOutcome {
  switch (selection.kind) {
    case 'records':
      return { ok: true, records: selection.records, filtered: null, dropped: selection.dropped, formatDrops: selection.formatDrops ?? [] };
    case 'filtered':
      return { ok: true, records: [], filtered: selection.reason, dropped: 0, formatDrops: selection.formatDrops ?? [] };
    case 'rejected':
      return { ok: false, error: selection.error };
    case 'fetch':
      throw new Error('a resolved pointer cannot ask for another fetch');
  }
}

/** Everything that decides how a message becomes records for one destination. */
export interface ReaderSettings extends Omit<DecoderSettings, 'cacheBytes'>, DestinationFilter {}

/**
 * The one path from Kafka bytes to records, for callers outside a lane (`check-event`, redrive,
 * tests): decode (and resolve s3_payload pointers), explode for the destination's unit, then apply
 * its event and provider filter, exactly as a lane does.
 */
export function createMessageReader(settings: ReaderSettings): MessageReader {
  const { unit, events, providers, format, ...decoderSettings } = settings;
  const decoder = new TenantDecoder({ ...decoderSettings, cacheBytes: 0 });
  const filter: DestinationFilter = { unit, events, providers, format };
  return (message) => readMessage(decoder, filter, message);
}
