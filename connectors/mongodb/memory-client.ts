import type { MemoryPort } from '../../src/connector/contract.js';
import { MongoPortError, type MongoFailure, type MongoPort, type WriteResult } from './client.js';
import type { MongodbConfig } from './config.js';
import { checkCollection, documentLocation, eventFromDocument, idKey, replacesStored, storedOrderingOf, type CollectionIndexes, type MongoDocument } from './encode.js';
import { MAX_WRITES_PER_BULK } from './destination.js';

export interface MemoryMongoPort extends MemoryPort<MongoPort> {
  /** The number of writes of every bulkReplace call, in call order. */
  readonly bulkSizes: readonly number[];
  /** The index plans createIndexes received. */
  readonly indexes: readonly CollectionIndexes[];
  /** The stored document with this `_id` in `collection`, as MongoDB would return it. */
  document(collection: string, id: MongoDocument['_id']): MongoDocument | undefined;
}

const unavailable: MongoFailure = { kind: 'network', code: null, codeName: null, message: 'connect ECONNREFUSED 127.0.0.1:27017', retryableLabel: true };
const unauthorized: MongoFailure = { kind: 'server', code: 13, codeName: 'Unauthorized', message: 'not authorized to execute command', retryableLabel: false };

/**
 * An in-memory MongoPort with MongoDB's newest-wins semantics: a write replaces the stored
 * document with the same `_id` when replacesStored says so, and is `not_newer` otherwise (the
 * E11000 the real server answers). `unavailable` fails every call as a refused connection;
 * `rejected` fails every write with code 13 Unauthorized. `stored()` renders each document back
 * to its one-item Terra event (eventFromDocument), keyed by documentLocation.
 */
export function createMemoryMongoPort(config: MongodbConfig): MemoryMongoPort {
  const collections = new Map<string, Map<string, MongoDocument>>();
  const bulkSizes: number[] = [];
  const indexes: CollectionIndexes[] = [];
  let broken: 'unavailable' | 'rejected' | null = null;

  const collection = (name: string): Map<string, MongoDocument> => {
    let found = collections.get(name);
    if (found === undefined) {
      found = new Map();
      collections.set(name, found);
    }
    return found;
  };

  const client: MongoPort = {
    async bulkReplace(name, writes) {
      if (writes.length > MAX_WRITES_PER_BULK) throw new Error(`bulkReplace got ${writes.length} writes; the destination must split at ${MAX_WRITES_PER_BULK}`);
      bulkSizes.push(writes.length);
      if (broken === 'unavailable') throw new MongoPortError(unavailable);
      const documents = collection(name);
      return writes.map((write): WriteResult => {
        if (broken === 'rejected') return { status: 'failed', failure: unauthorized };
        const key = idKey(write.id);
        const stored = documents.get(key);
        if (stored !== undefined && !replacesStored(storedOrderingOf(stored), write)) return { status: 'not_newer' };
        documents.set(key, structuredClone(write.document));
        return { status: 'written' };
      });
    },
    async readOrdering(name, ids) {
      if (broken === 'unavailable') throw new MongoPortError(unavailable);
      const documents = collection(name);
      return ids.map((id) => {
        const stored = documents.get(idKey(id));
        return stored === undefined ? undefined : storedOrderingOf(stored);
      });
    },
    async createIndexes(plan) {
      if (broken === 'unavailable') throw new MongoPortError(unavailable);
      if (broken === 'rejected') throw new MongoPortError(unauthorized);
      indexes.push(plan);
    },
    async close() {},
  };

  return {
    client,
    bulkSizes,
    indexes,
    document: (name, id) => {
      const stored = collections.get(name)?.get(idKey(id));
      return stored === undefined ? undefined : structuredClone(stored);
    },
    stored() {
      const view = new Map<string, Buffer>();
      for (const [name, documents] of collections) {
        if (name === checkCollection(config)) continue;
        for (const document of documents.values()) view.set(documentLocation(config.database, name, document._id), Buffer.from(JSON.stringify(eventFromDocument(document))));
      }
      return view;
    },
    breakWith(mode) {
      broken = mode;
    },
  };
}
