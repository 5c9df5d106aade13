import { keyForEncoding } from '../../src/formats/record-encoding.js';
import type { TerraRecord } from '../../src/records/record.js';
import { objectKeyFor, type KeyContext } from '../shared/object-key.js';
import type { FileConfig } from './config.js';

/** One file to write: its path relative to the directory, and its bytes. */
export interface FileWrite {
  key: string;
  body: Buffer;
}

/**
 * Where a record lands, relative to `directory` (this is what `locate()` returns):
 * `prefix` + `keyTemplate`, or Terra's bucket layout when no template is set, with the extension of
 * the record's format (`.json`, `.fhir.json`, `.fit`).
 */
export function fileKey(config: FileConfig, record: TerraRecord, context: KeyContext = {}): string {
  return keyForEncoding(objectKeyFor(record, { prefix: config.prefix, keyTemplate: config.keyTemplate }, context), record);
}

/** Pure: the file a record becomes. The body is the record's bytes (Terra's, or its format's), unchanged. */
export function encodeFileWrite(config: FileConfig, record: TerraRecord, context: KeyContext = {}): FileWrite {
  return { key: fileKey(config, record, context), body: record.body };
}
