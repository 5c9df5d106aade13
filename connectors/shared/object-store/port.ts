/**
 * The port every object-store client implements (S3, GCS, Azure Blob). The shared object-store
 * destination (./destination.ts) plans objects and calls this port; each connector's client.ts
 * is the only place its vendor SDK is touched, and translates every SDK error into the
 * catalogue before it leaves the port.
 */

/** One object to write. Writing the same key again overwrites it (never adds a copy). */
export interface ObjectPut {
  /** Full key inside the bucket/container, prefix included, no leading `/`. */
  key: string;
  body: Buffer;
  /** e.g. `application/json`, `application/x-ndjson`. */
  contentType: string;
  /** `gzip` for gzip-compressed ndjson; absent otherwise. */
  contentEncoding?: string;
  /** User metadata (S3 `x-amz-meta-*`, GCS `metadata`, Azure blob metadata). Keys are lowercase `[a-z0-9_]`. */
  metadata: Readonly<Record<string, string>>;
}

export interface ObjectStorePort {
  /** What the user configured, for messages: `s3://bucket/prefix`, `gs://bucket`, `https://account.blob.../container`. */
  readonly label: string;
  /**
   * Writes one object. Bodies above the store's single-request limit go out as multipart /
   * resumable / block uploads. Throws a FanoutError with a catalogued code (never a raw SDK error,
   * never a credential in the message).
   */
  put(object: ObjectPut, signal: AbortSignal): Promise<void>;
  /**
   * Proves write access with the permissions put() needs: writes a small object at `key` (and
   * deletes it where the store allows). Throws a FanoutError telling the user what to fix.
   */
  probe(key: string, signal: AbortSignal): Promise<void>;
  /**
   * A URL that lets anyone holding it GET the object at `key` until it expires (S3 presigned URL,
   * GCS V4 signed URL, Azure SAS URL). Used by the claim check. Throws a FanoutError.
   */
  signedReadUrl(key: string, expiresInSeconds: number): Promise<string>;
  /** Releases the SDK client. Safe to call more than once. */
  close(): Promise<void>;
}
