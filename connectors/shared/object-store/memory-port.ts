import type { MemoryPort } from '../../../src/connector/contract.js';
import { FanoutError } from '../../../src/errors/catalogue.js';
import type { ObjectPut, ObjectStorePort } from './port.js';

export interface MemoryObjectStore extends MemoryPort<ObjectStorePort> {
  /** Every stored object with its content type, encoding and metadata, by key. */
  objects(): ReadonlyMap<string, ObjectPut>;
}

/**
 * An in-memory ObjectStorePort for the contract suite and unit tests of the S3, GCS and Azure
 * connectors. `unavailable` fails like a store answering 503, `rejected` like one refusing the
 * credentials (403). Signed URLs use the `memory:` scheme.
 */
export function createMemoryObjectStore(label: string): MemoryObjectStore {
  const objects = new Map<string, ObjectPut>();
  let broken: 'unavailable' | 'rejected' | null = null;

  const failIfBroken = (): void => {
    if (broken === 'unavailable') throw new FanoutError('destination_unavailable', `${label} answered 503 Service Unavailable.`, { detail: { status: 503 } });
    if (broken === 'rejected') throw new FanoutError('destination_auth_failed', `${label} refused the credentials (403 Access Denied).`, { detail: { status: 403 } });
  };

  return {
    client: {
      label,
      async put(object) {
        failIfBroken();
        objects.set(object.key, { ...object, body: Buffer.from(object.body), metadata: { ...object.metadata } });
      },
      async probe() {
        failIfBroken();
      },
      async signedReadUrl(key, expiresInSeconds) {
        failIfBroken();
        return `memory://${encodeURIComponent(label)}/${key.split('/').map(encodeURIComponent).join('/')}?expires_in=${expiresInSeconds}`;
      },
      async close() {},
    },
    stored: () => new Map([...objects].map(([key, object]) => [key, object.body])),
    objects: () => objects,
    breakWith(mode) {
      broken = mode;
    },
  };
}
