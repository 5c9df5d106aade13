import type { TerraRecord } from '../../src/records/record.js';
import { objectKey } from '../shared/object-store/encode.js';
import type { GcsConfig } from './config.js';

/**
 * Pure: where a record lands in the bucket. GCS uses the shared object-store planning
 * (connectors/shared/object-store/encode.ts): Terra's key layout for `json`, one object per
 * topic/partition/type named by its first offset for `ndjson`, with the content type, encoding
 * and user metadata the client sets on each object.
 */
export function gcsObjectKey(config: GcsConfig, record: TerraRecord, tenant: string): string {
  return objectKey(config, record, { tenant });
}
