import { z } from 'zod';
import { strictObject } from '../../src/config/strict-object.js';
import { awsConnectionFields, forcePathStyleField } from '../shared/aws-connection.js';
import { checkObjectLayout, objectLayoutFields } from '../shared/object-store/config.js';
import type { S3ClientOptions } from './client.js';

/**
 * Fields of anything that writes objects to an S3 bucket: the destination (`type: s3`) and the
 * S3 claim check (./claim-check.ts) share them.
 */

/** AWS storage classes PutObject accepts. */
export const s3StorageClasses = [
  'STANDARD',
  'REDUCED_REDUNDANCY',
  'STANDARD_IA',
  'ONEZONE_IA',
  'INTELLIGENT_TIERING',
  'GLACIER',
  'DEEP_ARCHIVE',
  'GLACIER_IR',
  'OUTPOSTS',
  'EXPRESS_ONEZONE',
] as const;

export const s3BucketSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{1,254}$/, 'expected a bucket name: letters, digits, dot, underscore or dash, no "/"')
  .meta({ description: 'Bucket name (not an ARN or URL). The bucket must exist; terra-fanout never creates buckets.', examples: ['acme-terra-raw'] });

/** Server-side encryption settings, shared with the claim check. */
export const s3EncryptionFields = {
  serverSideEncryption: z
    .enum(['AES256', 'aws:kms', 'aws:kms:dsse'])
    .optional()
    .meta({
      description: 'Server-side encryption asked for on every object: AES256 (SSE-S3), aws:kms (SSE-KMS) or aws:kms:dsse. Leave out to use the bucket default encryption.',
      examples: ['aws:kms', 'AES256'],
    }),
  kmsKeyId: z
    .string()
    .min(1)
    .optional()
    .meta({
      description: 'KMS key id, alias or ARN for aws:kms / aws:kms:dsse. Leave out for the AWS-managed aws/s3 key. The writer needs kms:GenerateDataKey on it.',
      examples: ['alias/terra-data', 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab'],
    }),
} as const;

/** Which uploads carry the SDK's flexible checksums; shared with the claim check. */
export const s3RequestChecksumsField = {
  requestChecksums: z
    .enum(['when_supported', 'when_required'])
    .default('when_supported')
    .meta({
      description:
        'when_supported: the SDK adds a CRC32 checksum to every upload (AWS default). when_required: only where the API demands one; use it for S3-compatible stores that reject or mangle the newer checksum headers.',
      examples: ['when_supported', 'when_required'],
    }),
} as const;

/** kmsKeyId only means something with a KMS encryption mode. */
export function checkS3Encryption(config: { serverSideEncryption?: string | undefined; kmsKeyId?: string | undefined }, ctx: z.RefinementCtx): void {
  if (config.kmsKeyId !== undefined && config.serverSideEncryption !== 'aws:kms' && config.serverSideEncryption !== 'aws:kms:dsse') {
    ctx.addIssue({ code: 'custom', path: ['kmsKeyId'], message: 'kmsKeyId needs serverSideEncryption: aws:kms (or aws:kms:dsse).' });
  }
}

/** The `config:` block of a `type: s3` destination. */
export const s3ConfigSchema = strictObject({
    bucket: s3BucketSchema,
    ...awsConnectionFields,
    ...forcePathStyleField,
    ...objectLayoutFields,
    ...s3EncryptionFields,
    storageClass: z
      .enum(s3StorageClasses)
      .optional()
      .meta({ description: 'Storage class of every object. Leave out for STANDARD (or the bucket default).', examples: ['STANDARD_IA', 'INTELLIGENT_TIERING'] }),
    partSizeMiB: z
      .int()
      .min(5)
      .max(512)
      .default(8)
      .meta({
        description: 'Objects larger than this go up as multipart uploads in parts of this size (two parts in flight), so large payloads never need one huge request. MiB, at least 5 (the S3 minimum).',
        examples: [8, 16],
      }),
    ...s3RequestChecksumsField,
  })
  .superRefine((config, ctx) => {
    checkObjectLayout(config, ctx);
    checkS3Encryption(config, ctx);
  })
  .meta({ description: 'Settings of an S3 destination: bucket, connection, credentials, object layout and encryption. See connectors/s3/README.md.' });

export type S3Config = z.infer<typeof s3ConfigSchema>;

const MiB = 1024 * 1024;

/** The S3 port options a destination config maps to. */
export function s3ClientOptions(config: S3Config): S3ClientOptions {
  return {
    bucket: config.bucket,
    prefix: config.prefix,
    connection: config,
    forcePathStyle: config.forcePathStyle,
    serverSideEncryption: config.serverSideEncryption,
    kmsKeyId: config.kmsKeyId,
    storageClass: config.storageClass,
    partSizeBytes: config.partSizeMiB * MiB,
    requestChecksums: config.requestChecksums,
  };
}
