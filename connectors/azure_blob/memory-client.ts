import { createMemoryObjectStore, type MemoryObjectStore } from '../shared/object-store/memory-port.js';
import type { AzureBlobConfig } from './config.js';

/**
 * The in-memory port for the contract suite: the shared in-memory object store, labelled like
 * the container. `unavailable` fails like Azure answering 503, `rejected` like a refused
 * credential (403).
 */
export function createMemoryAzureBlobStore(config: AzureBlobConfig): MemoryObjectStore {
  return createMemoryObjectStore(`azure://${config.container}`);
}
