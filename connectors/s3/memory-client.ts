import { createMemoryObjectStore, type MemoryObjectStore } from '../shared/object-store/memory-port.js';
import type { S3Config } from './config.js';

/**
 * The in-memory S3 for the contract suite and unit tests: the shared in-memory object store,
 * labelled like the real bucket. `unavailable` fails like S3 answering 503, `rejected` like
 * AccessDenied.
 */
export function createMemoryS3Client(config: S3Config): MemoryObjectStore {
  return createMemoryObjectStore(`s3://${config.bucket}`);
}
