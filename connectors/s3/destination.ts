import type { ConnectorContext, Destination } from '../../src/connector/contract.js';
import type { FanoutError } from '../../src/errors/catalogue.js';
import { awsWhere } from '../shared/aws-connection.js';
import { awsFanoutError, classifyAwsError, type AwsErrorFacts } from '../shared/aws-errors.js';
import { createObjectStoreDestination } from '../shared/object-store/destination.js';
import type { ObjectStorePort } from '../shared/object-store/port.js';
import type { S3Config } from './config.js';

/** Where an S3 call went and what it was, for messages that say what to fix. */
export interface S3CallPlace {
  bucket: string;
  /** The resolved region, when known. */
  region: string | undefined;
  endpoint: string | undefined;
  /** The IAM action the call needs, e.g. `s3:PutObject`. */
  action: string;
  /** The object key, for large-object messages; never a payload. */
  key?: string | undefined;
}

/** The region S3 says the bucket lives in, from a redirect or a malformed-authorization answer. */
function bucketRegion(facts: AwsErrorFacts): string | undefined {
  return facts.field('Region') ?? facts.header('x-amz-bucket-region');
}

function s3Specific(place: S3CallPlace, facts: AwsErrorFacts, cause: unknown): FanoutError | undefined {
  const bucket = `S3 bucket "${place.bucket}"`;
  const where = awsWhere(place.region, place.endpoint);
  switch (facts.code) {
    case 'NoSuchBucket':
      return awsFanoutError('destination_not_found', `${bucket} does not exist in ${where}. Create it, or fix bucket or region.`, facts, cause);
    case 'AccessDenied':
    case 'AllAccessDisabled':
      return awsFanoutError(
        'destination_auth_failed',
        `${bucket} (${where}) answered ${facts.code}: the credentials lack ${place.action} on this bucket (or the bucket policy, KMS key policy or an SCP denies it). Grant it; see connectors/s3/README.md.`,
        facts,
        cause,
      );
    case 'PermanentRedirect':
    case 'AuthorizationHeaderMalformed':
    case 'IllegalLocationConstraintException': {
      const actual = bucketRegion(facts);
      const fix = actual === undefined ? 'Set region to the region the bucket was created in.' : `The bucket is in ${actual}: set region: ${actual}.`;
      return awsFanoutError('destination_misconfigured', `${bucket} is not in ${where} (${facts.code}). ${fix}`, facts, cause);
    }
    case 'EntityTooLarge':
      return awsFanoutError('destination_record_too_large', `${bucket} refused an object as too large (EntityTooLarge).`, facts, cause);
    case 'InvalidBucketName':
      return awsFanoutError('destination_misconfigured', `${bucket} is not a valid bucket name for ${where} (InvalidBucketName).`, facts, cause);
    case 'InvalidStorageClass':
      return awsFanoutError('destination_misconfigured', `${bucket} refused the storage class (InvalidStorageClass); fix storageClass.`, facts, cause);
    case 'KMS.NotFoundException':
    case 'KMS.DisabledException':
    case 'KMS.KMSInvalidStateException':
    case 'KMS.InvalidKeyUsageException':
      return awsFanoutError('destination_misconfigured', `${bucket}: the KMS key cannot be used (${facts.code}); fix kmsKeyId or enable the key.`, facts, cause);
    case 'InvalidArgument':
    case 'InvalidRequest':
    case 'InvalidEncryptionAlgorithmError':
      return awsFanoutError('destination_misconfigured', `${bucket} refused the request as invalid (${facts.code}); check serverSideEncryption, kmsKeyId and storageClass.`, facts, cause);
    default:
      if (facts.code === undefined && facts.status === 404) {
        return awsFanoutError('destination_not_found', `${bucket} was not found in ${where} (404). Create it, or fix bucket or region.`, facts, cause);
      }
      if (facts.status === 301) {
        return awsFanoutError('destination_misconfigured', `${bucket} is not in ${where} (301 redirect). Set region to the bucket's region.`, facts, cause);
      }
      return undefined;
  }
}

/**
 * Translates what an S3 call threw into the catalogue (used by client.ts for every call).
 * Beyond the generic AWS rules: NoSuchBucket destination_not_found, AccessDenied
 * destination_auth_failed naming the missing action, a bucket in another region
 * (PermanentRedirect, AuthorizationHeaderMalformed) destination_misconfigured naming the right
 * region, EntityTooLarge destination_record_too_large, KMS and argument errors
 * destination_misconfigured.
 */
export function classifyS3Error(error: unknown, place: S3CallPlace, shutdown = false): FanoutError {
  return classifyAwsError(error, {
    target: `S3 bucket "${place.bucket}" (${awsWhere(place.region, place.endpoint)})`,
    specific: (facts) => s3Specific(place, facts, error),
    shutdown,
  });
}

/** An S3 destination: the shared object-store destination over the S3 port. */
export function createS3Destination(config: S3Config, client: ObjectStorePort, context: ConnectorContext): Destination {
  return createObjectStoreDestination(config, client, context);
}
