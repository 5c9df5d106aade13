import { createMemoryObjectStore, type MemoryObjectStore } from '../shared/object-store/memory-port.js';
import { gcsLabel } from './client.js';
import type { GcsConfig } from './config.js';

/**
 * The in-memory GCS port for the contract suite: the shared in-memory object store, labelled
 * like the real client. `unavailable` fails like a 503, `rejected` like a 403.
 */
export function createMemoryGcsPort(config: GcsConfig): MemoryObjectStore {
  return createMemoryObjectStore(gcsLabel(config));
}
