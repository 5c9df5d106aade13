import type { TerraRecord } from '../../src/records/record.js';
import { objectKey } from '../shared/object-store/encode.js';
import type { S3Config } from './config.js';

/**
 * Pure mapping for the S3 destination. Objects are planned by the shared object-store encoder
 * (Terra's key layout or the keyTemplate, json or ndjson, metadata); S3 adds nothing to the key.
 */

/** Where a record lands in the bucket (what locate() and check-event show): the object key. */
export function s3ObjectKey(config: S3Config, record: TerraRecord, tenant: string): string {
  return objectKey(config, record, { tenant });
}

