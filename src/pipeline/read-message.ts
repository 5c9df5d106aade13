import type { FanoutError } from '../errors/catalogue.js';
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
}

/**
 * What one message means for one destination:
 * - `records`: deliver these (`dropped` records of the message were filtered out by provider);
 * - `filtered`: nothing to deliver; commit it;
 * - `rejected`: park the message with this error;
 * - `fetch`: an `s3_payload` pointer; resolve it and select again.
 */
export type Selection =
  | { kind: 'records'; records: TerraRecord[]; dropped: number }
  | { kind: 'filtered'; reason: FilterReason }
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
  if (providers === null) return { kind: 'records', records: all, dropped: 0 };
  const records = all.filter((record) => record.provider !== null && providers.has(record.provider.toUpperCase()));
  if (records.length === 0) return { kind: 'filtered', reason: 'provider' };
  return { kind: 'records', records, dropped: all.length - records.length };
}

/** The settled outcome of reading one message for one destination (pointers resolved). */
export type MessageOutcome =
  | { ok: true; records: TerraRecord[]; filtered: FilterReason | null; dropped: number }
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
      return { ok: true, records: selection.records, filtered: null, dropped: selection.dropped };
    case 'filtered':
      return { ok: true, records: [], filtered: selection.reason, dropped: 0 };
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
  const { unit, events, providers, ...decoderSettings } = settings;
  const decoder = new TenantDecoder({ ...decoderSettings, cacheBytes: 0 });
  const filter: DestinationFilter = { unit, events, providers };
  return (message) => readMessage(decoder, filter, message);
}
