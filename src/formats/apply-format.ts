import { FanoutError } from '../errors/catalogue.js';
import type { TerraRecord } from '../records/record.js';
import { encodedRecord } from './encoded-record.js';
import type { Format, FormatOptions } from './format.js';

/** A record the destination's format cannot express, and why. */
export interface FormatDrop {
  record: TerraRecord;
  reason: string;
}

/**
 * What the format step made of one message's records. `kept` carry the encoded body and their
 * `encoding`; `dropped` are filtered (counted and logged by the caller, never dead-lettered).
 * `wholeMessage` is true when the message gave records and the format could express none of them
 * (terra_fanout_messages_filtered_total{reason="format"}); otherwise each drop counts in
 * terra_fanout_records_filtered_total{reason="format"}.
 */
export type FormatResult = { ok: true; kept: TerraRecord[]; dropped: FormatDrop[]; wholeMessage: boolean } | { ok: false; error: FanoutError };

/**
 * Pure: runs one destination's format over a message's records (after the event and provider
 * filters). `terra` keeps the records as they are (their body is Terra's bytes). An encoder that
 * throws is a programming error: the message is rejected with internal_error (and parked), the
 * reason naming the record type but never a payload value.
 */
export function applyFormat(records: readonly TerraRecord[], format: Format, options: FormatOptions): FormatResult {
  if (format.name === 'terra') return { ok: true, kept: [...records], dropped: [], wholeMessage: false };
  const kept: TerraRecord[] = [];
  const dropped: FormatDrop[] = [];
  for (const record of records) {
    const acceptance = format.accepts(record);
    if (!acceptance.ok) {
      dropped.push({ record, reason: acceptance.reason });
      continue;
    }
    try {
      const encoded = format.encode(record, options);
      kept.push(encodedRecord(record, encoded.body, { format: format.name, contentType: encoded.contentType, extension: encoded.extension }));
    } catch (error) {
      const name = error instanceof Error ? error.name : typeof error;
      return { ok: false, error: new FanoutError('internal_error', `The ${format.name} format failed to encode a ${record.type} record (${name}).`, { cause: error }) };
    }
  }
  return { ok: true, kept, dropped, wholeMessage: kept.length === 0 && dropped.length > 0 };
}
