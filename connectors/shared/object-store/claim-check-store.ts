import { encodingOf } from '../../../src/formats/record-encoding.js';
import { sanitizeKeyValue, joinKeyPrefix } from '../object-key.js';
import type { ClaimCheck } from '../claim-check.js';
import { probeKey } from './destination.js';
import { metadataValue } from './encode.js';
import type { ObjectStorePort } from './port.js';
import { closeWithin, deadlineError, withDeadline } from '../call-deadline.js';

export interface ObjectStoreClaimCheckOptions {
  /** Literal folder for claim-check objects, validated by keyPrefixSchema. */
  prefix?: string | undefined;
  /** How long the signed URL stays valid. Terra uses 600 s. */
  expiresInSeconds: number;
  /** Longest time storing one body (or the check) may take; past it, destination_timeout. Default 60 s (the stores' own default). */
  timeoutMs?: number | undefined;
}

/** Where the claim check keeps a record: `{prefix}/{type}/{identity}.json` (`.fhir.json`, `.fit`: the record's format), so a replay overwrites it. */
export function claimCheckKey(options: Pick<ObjectStoreClaimCheckOptions, 'prefix'>, type: string, identity: string, extension = 'json'): string {
  return joinKeyPrefix(options.prefix, `${sanitizeKeyValue(type)}/${identity}.${extension}`);
}

/**
 * The claim check over any object store with signed URLs (S3 presigned, GCS V4 signed, Azure
 * SAS). The stored object is the record body, a valid Terra event; the URL is what goes into
 * the queue message as `url`, `expires_in` its lifetime.
 */
export function createObjectStoreClaimCheck(port: ObjectStorePort, options: ObjectStoreClaimCheckOptions): ClaimCheck {
  const bounded = async <T>(signal: AbortSignal, step: string, call: (signal: AbortSignal) => Promise<T>): Promise<T> => {
    try {
      return await withDeadline(options.timeoutMs ?? 60_000, signal, (deadline) => deadline.within(call(deadline.signal), step));
    } catch (error) {
      throw deadlineError(error, `Claim check ${port.label}`) ?? error;
    }
  };
  return {
    store(record, signal) {
      const encoding = encodingOf(record);
      const key = claimCheckKey(options, record.type, record.identity, encoding.extension);
      return bounded(signal, 'store the record body', async (callSignal) => {
        await port.put(
          {
            key,
            body: record.body,
            contentType: encoding.contentType,
            metadata: { type: metadataValue(record.type), identity: record.identity, user_id: metadataValue(record.userId) },
          },
          callSignal,
        );
        const url = await port.signedReadUrl(key, options.expiresInSeconds);
        return { url, expiresInSeconds: options.expiresInSeconds };
      });
    },
    check(signal) {
      const key = probeKey({ prefix: options.prefix });
      return bounded(signal, 'probe object', async (callSignal) => {
        await port.probe(key, callSignal);
        await port.signedReadUrl(key, options.expiresInSeconds);
      });
    },
    close: () =>
      closeWithin(
        () => port.close(),
        () => undefined,
      ),
  };
}
