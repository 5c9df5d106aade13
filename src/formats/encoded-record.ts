import type { RecordEncoding, TerraRecord } from '../records/record.js';

/**
 * A record after a format encoded it: the same record (identity, times, source...) with the
 * format's body and its `encoding`. The fields are copied; `event` stays a getter that reads the
 * original's (records from explode build it lazily, and a plain spread would drop a getter).
 */
export function encodedRecord(original: TerraRecord, body: Buffer, encoding: RecordEncoding): TerraRecord {
  return Object.defineProperty({ ...original, body, encoding }, 'event', { get: () => original.event, enumerable: true, configurable: true });
}
