import type { TerraRecord } from '../../src/records/record.js';

/**
 * The claim check: stores a record's body in a bucket and hands back a URL to fetch it from, so a
 * queue message can carry a small pointer instead of a large record (Terra's `s3_payload` form).
 * Implemented over any ObjectStorePort by ./object-store/claim-check-store.ts.
 */
export interface ClaimTicket {
  /** Signed/presigned/SAS URL; GET returns the record body (a Terra event with one item). */
  url: string;
  /** Seconds the URL stays valid from now. */
  expiresInSeconds: number;
}

export interface ClaimCheck {
  /**
   * Stores `record.body` (idempotent: the object key derives from the record identity, so a replay
   * overwrites the same object) and returns a URL for it. Throws a FanoutError.
   */
  store(record: TerraRecord, signal: AbortSignal): Promise<ClaimTicket>;
  /** Proves the bucket is writable. Throws a FanoutError. */
  check(signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
}
