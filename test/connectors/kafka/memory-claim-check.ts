import type { ClaimCheck, ClaimTicket } from '../../../connectors/shared/claim-check.js';
import type { TerraRecord } from '../../../src/records/record.js';

/**
 * A ClaimCheck held in memory, for testing pointer and auto payload modes without a bucket.
 * Bodies are kept by record identity (a replay overwrites, as the real claim check does); the URL
 * points at 127.0.0.1 and is never fetched.
 */
export interface MemoryClaimCheck extends ClaimCheck {
  /** Stored bodies by URL. */
  readonly objects: ReadonlyMap<string, Buffer>;
  /** Makes store() and check() throw this error until cleared with null. */
  failWith(error: Error | null): void;
  closed: number;
}

export function createMemoryClaimCheck(expiresInSeconds = 600): MemoryClaimCheck {
  const objects = new Map<string, Buffer>();
  let failure: Error | null = null;
  const claims: MemoryClaimCheck = {
    objects,
    closed: 0,
    async store(record: TerraRecord): Promise<ClaimTicket> {
      if (failure !== null) throw failure;
      const url = `http://127.0.0.1:9/claims/${record.identity}.json?signature=test`;
      objects.set(url, Buffer.from(record.body));
      return { url, expiresInSeconds };
    },
    async check() {
      if (failure !== null) throw failure;
    },
    async close() {
      claims.closed += 1;
    },
    failWith(error) {
      failure = error;
    },
  };
  return claims;
}
