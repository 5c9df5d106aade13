import type { TerraRecord } from '../../src/records/record.js';
import type { KeyContext } from '../shared/object-key.js';
import type { ObjectLayout } from '../shared/object-store/config.js';
import { objectKey } from '../shared/object-store/encode.js';

/**
 * Pure: where a record lands in the container and what its metadata becomes. The object plan
 * itself (keys, bodies, ndjson grouping) is the shared object-store core's
 * (connectors/shared/object-store/encode.ts); this file adds what is particular to Azure.
 */

/** The blob name a record is written under (json), or the ndjson blob its group starts at. */
export function azureBlobName(layout: ObjectLayout, record: TerraRecord, context: KeyContext = {}): string {
  return objectKey(layout, record, context);
}

/** Azure metadata names must be valid C# identifiers (they become `x-ms-meta-<name>` headers). */
const CSHARP_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function isAzureMetadataName(name: string): boolean {
  return CSHARP_IDENTIFIER.test(name);
}

/**
 * The metadata as Azure takes it. The core's names (tenant, type, user_id, identity, first_offset...)
 * are lowercase with underscores, which are valid; a name that is not is a programming error and
 * comes back in `invalid` for the client to refuse. Values are printable ASCII already
 * (metadataValue percent-encodes the rest).
 */
export function azureMetadata(metadata: Readonly<Record<string, string>>): { metadata: Record<string, string>; invalid: string[] } {
  const valid: Record<string, string> = {};
  const invalid: string[] = [];
  for (const [name, value] of Object.entries(metadata)) {
    if (isAzureMetadataName(name)) valid[name] = value;
    else invalid.push(name);
  }
  return { metadata: valid, invalid };
}
