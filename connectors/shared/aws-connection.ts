import { z } from 'zod';
import { strictObject } from '../../src/config/strict-object.js';
import type { Secret } from '../../src/config/secret.js';
import { secretString } from '../../src/config/secret-schema.js';
import { safeUrlLabel } from './http-errors.js';

/**
 * How terra-fanout connects to AWS (and S3-compatible stores): the config fields every AWS
 * connector shares (S3, SQS, the S3 claim check) and the settings an SDK v3 client is built
 * with. Pure: no SDK import here; each connector's client.ts passes awsClientSettings() to its
 * SDK client.
 */

const awsCredentialsSchema = strictObject({
    accessKeyId: z
      .string()
      .min(1)
      .meta({ description: 'Access key id of an IAM user or of temporary credentials (AKIA... or ASIA...).', examples: ['${AWS_ACCESS_KEY_ID}'] }),
    secretAccessKey: secretString('Secret access key that belongs to accessKeyId.', '${AWS_SECRET_ACCESS_KEY}'),
    sessionToken: secretString('Session token, only for temporary credentials (ASIA... keys from STS).', '${AWS_SESSION_TOKEN}').optional(),
  })
  .meta({
    description:
      'Static credentials. Leave out to use the AWS default provider chain: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE and ~/.aws files, web identity (EKS IRSA), ECS task role, EC2 instance profile.',
  });

/** The connection fields shared by every AWS connector; spread them into a connector's `config:` schema. */
export const awsConnectionFields = {
  region: z
    .string()
    .regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, 'expected an AWS region such as eu-west-1')
    .optional()
    .meta({ description: 'AWS region, e.g. eu-west-1. Leave out to take it from AWS_REGION or the AWS profile.', examples: ['eu-west-1'] }),
  endpoint: z
    .url({ protocol: /^https?$/ })
    .refine((url) => !URL.canParse(url) || (new URL(url).username === '' && new URL(url).password === ''), 'Put credentials in credentials, not in the endpoint URL.')
    .optional()
    .meta({
      description: 'Custom endpoint for S3-compatible stores and local servers (MinIO, Cloudflare R2, moto). Leave out for AWS itself.',
      examples: ['https://<account>.r2.cloudflarestorage.com', 'http://127.0.0.1:9000'],
    }),
  credentials: awsCredentialsSchema.optional(),
  maxAttempts: z
    .int()
    .min(1)
    .max(10)
    .default(2)
    .meta({
      description: 'Attempts the AWS SDK makes per request before the failure reaches the lane. Kept low: the lane retries with its own backoff and keeps records in order.',
      examples: [2],
    }),
  requestTimeoutMs: z
    .int()
    .min(1_000)
    .max(600_000)
    .default(30_000)
    .meta({ description: 'How long a request may stay silent (no bytes sent or received) before it fails as destination_timeout (retried). Milliseconds.', examples: [30_000] }),
  timeoutMs: z
    .int()
    .min(1_000)
    .max(900_000)
    .default(60_000)
    .meta({
      description:
        'Longest time one call may take in all: connecting, every attempt the SDK makes (maxAttempts), and all parts of a multipart upload. Past it the call is aborted, its connection closed, and the records fail as destination_timeout (retried). Milliseconds.',
      examples: [60_000],
    }),
} as const;

/** S3 only: path-style addressing (`endpoint/bucket/key`), which most S3-compatible stores need. */
export const forcePathStyleField = {
  forcePathStyle: z
    .boolean()
    .default(false)
    .meta({ description: 'Address buckets as endpoint/bucket/key instead of bucket.endpoint/key. Needed by most S3-compatible stores (MinIO, moto).', examples: [false, true] }),
} as const;

/** The parsed connection fields. */
export interface AwsConnection {
  region?: string | undefined;
  endpoint?: string | undefined;
  credentials?: { accessKeyId: string; secretAccessKey: Secret; sessionToken?: Secret | undefined } | undefined;
  maxAttempts: number;
  requestTimeoutMs: number;
}

/** The part of an AWS SDK v3 client config terra-fanout sets. Secrets are revealed here, for the SDK only. */
export interface AwsClientSettings {
  region?: string;
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  maxAttempts: number;
  requestHandler: { requestTimeout: number; connectionTimeout: number; throwOnRequestTimeout: true };
}

/** How long opening a connection may take; a silent network fails fast and the lane retries. */
const CONNECTION_TIMEOUT_MS = 5_000;

/**
 * Settings for `new S3Client(...)` / `new SQSClient(...)`. Without `credentials` the SDK's
 * default provider chain applies; without `region` the SDK reads AWS_REGION or the profile.
 */
export function awsClientSettings(connection: AwsConnection): AwsClientSettings {
  const settings: AwsClientSettings = {
    maxAttempts: connection.maxAttempts,
    requestHandler: { requestTimeout: connection.requestTimeoutMs, connectionTimeout: CONNECTION_TIMEOUT_MS, throwOnRequestTimeout: true },
  };
  if (connection.region !== undefined) settings.region = connection.region;
  if (connection.endpoint !== undefined) settings.endpoint = connection.endpoint;
  const credentials = connection.credentials;
  if (credentials !== undefined) {
    settings.credentials = { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey.reveal() };
    if (credentials.sessionToken !== undefined) settings.credentials.sessionToken = credentials.sessionToken.reveal();
  }
  return settings;
}

/** Where a client talks to, for messages: `region eu-west-1` or `endpoint http://127.0.0.1:9000 (region us-east-1)`. */
export function awsWhere(region: string | undefined, endpoint: string | undefined): string {
  const regionText = region === undefined ? 'the default region' : `region ${region}`;
  return endpoint === undefined ? regionText : `endpoint ${safeUrlLabel(endpoint)} (${regionText})`;
}
