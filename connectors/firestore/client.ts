import { readFileSync } from 'node:fs';
import { FieldPath, Firestore, type DocumentReference, type Settings } from '@google-cloud/firestore';
import { FanoutError } from '../../src/errors/catalogue.js';
import type { FirestoreConfig } from './config.js';
import { ORDERING_FIELD_PATH, replacesStored, storedOrderingTimestamp, type DocumentWrite } from './encode.js';

/**
 * The calls the Firestore destination makes. Implementations reject with the SDK's own errors
 * (gRPC status `code` 0-16 and `details`, or a plain Error for documents the client refuses before
 * sending); the destination classifies them. Both writes are all-or-nothing: when one rejects,
 * none of its documents was written.
 */
export interface FirestorePort {
  /**
   * Sets every document (a full replace, idempotent by path) in one batched commit. At most 500
   * writes, each path once. The SDK retries ABORTED, RESOURCE_EXHAUSTED and UNAVAILABLE itself.
   */
  commit(writes: readonly DocumentWrite[]): Promise<void>;
  /**
   * Newest wins, in one transaction: reads each document's `_terra.ordering_timestamp_ms` (only
   * that field), sets the documents whose stored copy is not newer than the write (replacesStored),
   * and resolves with one flag per write: true written, false skipped because the stored copy is
   * newer. At most 500 writes, each path once. Contention (ABORTED) and UNAVAILABLE rerun the
   * transaction, up to TRANSACTION_ATTEMPTS times.
   */
  commitNewest(writes: readonly DocumentWrite[]): Promise<boolean[]>;
  /** Ends the client's channels once in-flight calls have finished. Safe to call more than once. */
  close(): Promise<void>;
}

/** Attempts of one newest-wins transaction (the SDK's default) before its error is returned. */
export const TRANSACTION_ATTEMPTS = 5;

/**
 * The SDK settings for a config. Settings are passed explicitly, never read from the environment:
 * `preferRest: false` (gRPC) and `universeDomain` are fixed, so no FIRESTORE_PREFER_REST or
 * metadata-server lookup changes behaviour. The emulator gets plain gRPC and the SDK's owner token.
 */
export function firestoreSettings(config: FirestoreConfig): Settings {
  const settings: Settings = {
    projectId: config.projectId,
    databaseId: config.databaseId,
    ignoreUndefinedProperties: true,
    preferRest: false,
    universeDomain: 'googleapis.com',
  };
  if (config.emulatorHost !== undefined) {
    settings.host = config.emulatorHost;
    settings.ssl = false;
  } else if (config.serviceAccountFile !== undefined) {
    // Read here rather than through the SDK's keyFilename: the SDK reads the file on the first call
    // and, when it is missing, leaves a rejected promise nobody holds, which ends a Node process. A
    // file that cannot be read now fails this destination's check only (the lane retries it).
    settings.credentials = serviceAccountKey(readServiceAccountFile(config.serviceAccountFile));
  } else if (config.serviceAccountJson !== undefined) {
    settings.credentials = serviceAccountKey(config.serviceAccountJson.reveal());
  }
  return settings;
}

function readServiceAccountFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const code = error instanceof Error && 'code' in error ? String(error.code) : 'unreadable';
    throw new FanoutError('destination_misconfigured', `The Firestore service account file ${path} cannot be read (${code}).`);
  }
}

function serviceAccountKey(text: string): { client_email: string; private_key: string } {
  let key: unknown;
  try {
    key = JSON.parse(text);
  } catch {
    throw new FanoutError('destination_misconfigured', 'The Firestore service account key is not JSON.');
  }
  if (typeof key !== 'object' || key === null || !('client_email' in key) || !('private_key' in key) || typeof key.client_email !== 'string' || typeof key.private_key !== 'string') {
    throw new FanoutError('destination_misconfigured', 'The Firestore service account key has no client_email and private_key.');
  }
  return { client_email: key.client_email, private_key: key.private_key };
}

/** The real port over @google-cloud/firestore. Builds the client now; connects on the first call. */
export function createFirestoreClient(config: FirestoreConfig): FirestorePort {
  const db = new Firestore(firestoreSettings(config));
  const orderingField = new FieldPath(...ORDERING_FIELD_PATH);
  let closing: Promise<void> | undefined;

  return {
    async commit(writes) {
      const batch = db.batch();
      for (const write of writes) batch.set(db.doc(write.path), write.document);
      await batch.commit();
    },

    async commitNewest(writes) {
      const refs: DocumentReference[] = writes.map((write) => db.doc(write.path));
      return db.runTransaction(
        async (transaction) => {
          const stored = await transaction.getAll(...refs, { fieldMask: [orderingField] });
          return writes.map((write, index) => {
            const ref = refs[index];
            const snapshot = stored[index];
            if (ref === undefined || snapshot === undefined) throw new Error('Firestore returned fewer snapshots than documents asked for.');
            const replace = replacesStored(storedOrderingTimestamp(snapshot.get(orderingField)), write.orderingTimestampMs);
            if (replace) transaction.set(ref, write.document);
            return replace;
          });
        },
        { maxAttempts: TRANSACTION_ATTEMPTS },
      );
    },

    close() {
      closing ??= db.terminate();
      return closing;
    },
  };
}
