import type { MemoryPort } from '../../src/connector/contract.js';
import type { FirestorePort } from './client.js';
import {
  CHECK_COLLECTION,
  FIRESTORE_MAX_DOCUMENT_BYTES,
  META_FIELD,
  documentToEvent,
  firestoreDocumentSize,
  replacesStored,
  storedOrderingTimestamp,
  type DocumentWrite,
  type FirestoreDocument,
  type FirestoreValue,
} from './encode.js';

/** An error shaped like the SDK's: gRPC status `code`, `details`, and the `<code> <STATUS>: ` message. */
function grpcError(code: number, status: string, details: string): Error & { code: number; details: string } {
  return Object.assign(new Error(`${code} ${status}: ${details}`), { code, details });
}

/** What Firestore refuses that encodeDocument lets through: reserved `__name__` field names, arrays in arrays, over 1 MiB. */
function refusal(write: DocumentWrite): Error | undefined {
  const pending: Array<{ value: FirestoreValue; inArray: boolean }> = [{ value: write.document, inArray: false }];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const { value, inArray } = next;
    if (Array.isArray(value)) {
      if (inArray) return grpcError(3, 'INVALID_ARGUMENT', 'Cannot convert an array value in an array value.');
      for (const item of value) pending.push({ value: item, inArray: true });
    } else if (typeof value === 'object' && value !== null) {
      for (const [key, inner] of Object.entries(value)) {
        if (/^__.*__$/.test(key)) return grpcError(3, 'INVALID_ARGUMENT', `field name ${key} is reserved`);
        pending.push({ value: inner, inArray: false });
      }
    }
  }
  if (firestoreDocumentSize(write.path, write.document) > FIRESTORE_MAX_DOCUMENT_BYTES) {
    return grpcError(3, 'INVALID_ARGUMENT', `maximum entity size is ${FIRESTORE_MAX_DOCUMENT_BYTES} bytes`);
  }
  return undefined;
}

export interface MemoryFirestorePort extends MemoryPort<FirestorePort> {
  /** The stored documents by path, check documents included, as Firestore would return them. */
  documents(): ReadonlyMap<string, FirestoreDocument>;
  /** How many documents each commit or transaction carried, in call order. */
  commitSizes(): readonly number[];
}

/**
 * An in-memory Firestore for the contract suite and unit tests. Commits are all-or-nothing and
 * refuse what Firestore refuses (reserved field names, arrays in arrays, documents over 1 MiB) with
 * INVALID_ARGUMENT; commitNewest compares `_terra.ordering_timestamp_ms` as the real port does.
 * `unavailable` fails like an unreachable service (UNAVAILABLE), `rejected` like a service account
 * without rights (PERMISSION_DENIED). `stored()` shows each record's document as the Terra event it
 * holds (documentToEvent), keyed by path; check documents are left out.
 */
export function createMemoryFirestorePort(): MemoryFirestorePort {
  const documents = new Map<string, FirestoreDocument>();
  const sizes: number[] = [];
  let broken: 'unavailable' | 'rejected' | null = null;

  const apply = (writes: readonly DocumentWrite[], keep: (write: DocumentWrite) => boolean): boolean[] => {
    if (broken === 'unavailable') throw grpcError(14, 'UNAVAILABLE', 'No connection established.');
    if (broken === 'rejected') throw grpcError(7, 'PERMISSION_DENIED', 'Missing or insufficient permissions.');
    sizes.push(writes.length);
    for (const write of writes) {
      const refused = refusal(write);
      if (refused !== undefined) throw refused;
    }
    const flags = writes.map(keep);
    writes.forEach((write, index) => {
      if (flags[index] === true) documents.set(write.path, structuredClone(write.document));
    });
    return flags;
  };

  const storedOrdering = (path: string): number | undefined => {
    const meta = documents.get(path)?.[META_FIELD];
    return typeof meta === 'object' && meta !== null && !Array.isArray(meta) ? storedOrderingTimestamp(meta['ordering_timestamp_ms']) : undefined;
  };

  return {
    client: {
      async commit(writes) {
        apply(writes, () => true);
      },
      async commitNewest(writes) {
        return apply(writes, (write) => replacesStored(storedOrdering(write.path), write.orderingTimestampMs));
      },
      async close() {
        // Nothing to release.
      },
    },
    stored() {
      const view = new Map<string, Buffer>();
      for (const [path, document] of documents) {
        if (path.split('/')[2] !== CHECK_COLLECTION) view.set(path, Buffer.from(JSON.stringify(documentToEvent(document))));
      }
      return view;
    },
    documents: () => documents,
    commitSizes: () => sizes,
    breakWith(mode) {
      broken = mode;
    },
  };
}
