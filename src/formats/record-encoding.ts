import type { RecordEncoding, TerraRecord } from '../records/record.js';
import { formats } from './formats.js';
import type { LineFraming } from './format.js';

/**
 * What body-storing connectors read about a record's body: its content type and extension (from
 * the format step, Terra JSON when no format ran) and its one-per-line framing.
 */

const TERRA_ENCODING: RecordEncoding = { format: 'terra', contentType: 'application/json', extension: 'json' };

export function encodingOf(record: TerraRecord): RecordEncoding {
  return record.encoding ?? TERRA_ENCODING;
}

/** How records of this record's format are written one per line, or null (binary formats). */
export function lineFramingOf(record: TerraRecord): LineFraming | null {
  return formats[encodingOf(record).format].lines;
}

/**
 * A key or file name with the format's extension: a trailing `.json` (Terra's layout, or a
 * keyTemplate ending in `.json`) becomes `.fhir.json`, `.fit`...; a key already ending in the
 * extension, or with another ending the template chose, is kept as it is.
 */
export function withExtension(key: string, extension: string): string {
  if (extension === 'json' || key.endsWith(`.${extension}`) || !key.endsWith('.json')) return key;
  return `${key.slice(0, -'.json'.length)}.${extension}`;
}

/** `withExtension` for a record's own encoding. */
export function keyForEncoding(key: string, record: TerraRecord): string {
  return withExtension(key, encodingOf(record).extension);
}
