import { z } from 'zod';
import type { ConnectorContext } from '../../src/connector/contract.js';
import { awsConnectionFields, forcePathStyleField } from '../shared/aws-connection.js';
import type { ClaimCheck } from '../shared/claim-check.js';
import { keyPrefixSchema } from '../shared/object-key.js';
import { createObjectStoreClaimCheck } from '../shared/object-store/claim-check-store.js';
import { createS3Client } from './client.js';
import { checkS3Encryption, s3BucketSchema, s3EncryptionFields, s3RequestChecksumsField } from './config.js';

/** Presigned URLs live at most 7 days (SigV4). */
const MAX_EXPIRES_IN_SECONDS = 7 * 24 * 3600;
/** Claim-check bodies are single records: multipart only above this size. */
const CLAIM_CHECK_PART_SIZE_BYTES = 8 * 1024 * 1024;

/**
 * The `claimCheck:` block of a queue destination (SQS, Kafka): the S3 bucket where records too
 * large for a message (or all records, with `payload: pointer`) are stored, and how long the
 * presigned URL in the message stays valid.
 */
export const s3ClaimCheckSchema = z
  .strictObject({
    bucket: s3BucketSchema,
    prefix: keyPrefixSchema.optional(),
    expiresInSeconds: z
      .int()
      .min(60)
      .max(MAX_EXPIRES_IN_SECONDS)
      .default(600)
      .meta({
        description:
          'How long the presigned URL in the message stays valid, in seconds (Terra uses 600). At most 7 days; with temporary credentials the URL also stops working when they expire.',
        examples: [600, 3600],
      }),
    ...awsConnectionFields,
    ...forcePathStyleField,
    ...s3EncryptionFields,
    ...s3RequestChecksumsField,
  })
  .superRefine(checkS3Encryption)
  .meta({
    description:
      "S3 bucket for Terra's s3_payload pointer form: the record is stored at {prefix}/{type}/{identity}.json and the message carries a presigned GET URL. Needs s3:PutObject and s3:GetObject. See connectors/s3/README.md.",
  });

export type S3ClaimCheckConfig = z.infer<typeof s3ClaimCheckSchema>;

/**
 * The claim check over S3: stores a record's body in the configured bucket and returns a
 * presigned GET URL for it. Builds its own S3 client (closed by close()).
 */
export function createS3ClaimCheck(config: S3ClaimCheckConfig, _context: ConnectorContext): ClaimCheck {
  const port = createS3Client({
    bucket: config.bucket,
    prefix: config.prefix,
    connection: config,
    forcePathStyle: config.forcePathStyle,
    serverSideEncryption: config.serverSideEncryption,
    kmsKeyId: config.kmsKeyId,
    partSizeBytes: CLAIM_CHECK_PART_SIZE_BYTES,
    requestChecksums: config.requestChecksums,
  });
  return createObjectStoreClaimCheck(port, { prefix: config.prefix, expiresInSeconds: config.expiresInSeconds });
}
