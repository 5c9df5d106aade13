import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, S3Client, type PutObjectCommandInput } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { awsClientSettings, type AwsConnection } from '../shared/aws-connection.js';
import { sharedCallSignal } from '../shared/call-deadline.js';
import { joinKeyPrefix } from '../shared/object-key.js';
import type { ObjectPut, ObjectStorePort } from '../shared/object-store/port.js';
import type { s3StorageClasses } from './config.js';
import { classifyS3Error, type S3CallPlace } from './destination.js';

/** What the S3 port is built from: the destination's and the claim check's configs both map to it. */
export interface S3ClientOptions {
  bucket: string;
  /** Only for the label (`s3://bucket/prefix`); keys arrive with the prefix already in them. */
  prefix?: string | undefined;
  connection: AwsConnection;
  forcePathStyle: boolean;
  serverSideEncryption?: 'AES256' | 'aws:kms' | 'aws:kms:dsse' | undefined;
  kmsKeyId?: string | undefined;
  storageClass?: (typeof s3StorageClasses)[number] | undefined;
  /** Bodies larger than this go up as multipart uploads in parts of this size. At least 5 MiB. */
  partSizeBytes: number;
  requestChecksums: 'when_supported' | 'when_required';
}

/**
 * User metadata as x-amz-meta-* headers. Keys use `-` instead of `_` (user-id, reference-id):
 * proxies in front of S3-compatible stores (nginx by default, the werkzeug server moto runs on)
 * drop header names with underscores.
 */
export function s3Metadata(metadata: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(metadata).map(([key, value]) => [key.replace(/_/g, '-'), value]));
}

/** Multipart parts in flight per upload: the parts are views of the body, so memory stays at the body itself. */
const PARTS_IN_FLIGHT = 2;

/** What check() writes (and then tries to delete) under `.terra-fanout-probe/`. */
const PROBE_BODY = Buffer.from('{"terra_fanout_probe":true}');

/**
 * The S3 port over the AWS SDK v3: PutObject for ordinary bodies, a lib-storage multipart
 * Upload above partSizeBytes, presigned GetObject URLs for the claim check. The only place the
 * S3 SDK is used; every error leaves as a FanoutError (classifyS3Error).
 */
export function createS3Client(options: S3ClientOptions): ObjectStorePort {
  const when = options.requestChecksums === 'when_required' ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED';
  const client = new S3Client({
    ...awsClientSettings(options.connection),
    forcePathStyle: options.forcePathStyle,
    requestChecksumCalculation: when,
    responseChecksumValidation: when,
  });
  const { bucket } = options;
  let region: string | undefined = options.connection.region;
  let closed = false;

  /** The place of a call for messages; resolves the region the SDK uses when the config left it out. */
  const placeOf = async (action: string, key?: string): Promise<S3CallPlace> => {
    if (region === undefined) region = await client.config.region().catch(() => undefined);
    return { bucket, region, endpoint: options.connection.endpoint, action, key };
  };

  const putParams = (object: ObjectPut): PutObjectCommandInput => ({
    Bucket: bucket,
    Key: object.key,
    Body: object.body,
    ContentType: object.contentType,
    ...(object.contentEncoding === undefined ? {} : { ContentEncoding: object.contentEncoding }),
    Metadata: s3Metadata(object.metadata),
    ...(options.serverSideEncryption === undefined ? {} : { ServerSideEncryption: options.serverSideEncryption }),
    ...(options.kmsKeyId === undefined ? {} : { SSEKMSKeyId: options.kmsKeyId }),
    ...(options.storageClass === undefined ? {} : { StorageClass: options.storageClass }),
  });

  const multipart = async (params: PutObjectCommandInput, signal: AbortSignal): Promise<void> => {
    const upload = new Upload({ client, params, partSize: options.partSizeBytes, queueSize: PARTS_IN_FLIGHT, leavePartsOnError: false });
    const abort = (): void => void upload.abort().catch(() => undefined);
    signal.addEventListener('abort', abort, { once: true });
    try {
      if (signal.aborted) abort();
      await upload.done();
    } finally {
      signal.removeEventListener('abort', abort);
    }
  };

  return {
    label: `s3://${options.prefix === undefined ? bucket : joinKeyPrefix(bucket, options.prefix)}`,

    async put(object, laneSignal) {
      const signal = sharedCallSignal(laneSignal);
      const params = putParams(object);
      try {
        if (object.body.length > options.partSizeBytes) await multipart(params, signal);
        else await client.send(new PutObjectCommand(params), { abortSignal: signal });
      } catch (error) {
        throw classifyS3Error(error, await placeOf('s3:PutObject', object.key), signal.aborted);
      }
    },

    async probe(key, checkSignal) {
      const signal = sharedCallSignal(checkSignal);
      try {
        await client.send(new PutObjectCommand(putParams({ key, body: PROBE_BODY, contentType: 'application/json', metadata: { probe: 'terra-fanout' } })), { abortSignal: signal });
      } catch (error) {
        throw classifyS3Error(error, await placeOf('s3:PutObject', key), signal.aborted);
      }
      // Removing the probe is a courtesy: a writer without s3:DeleteObject is still a working writer.
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal }).catch(() => undefined);
    },

    async signedReadUrl(key, expiresInSeconds) {
      try {
        return await getSignedUrl(client, new GetObjectCommand({ Bucket: bucket, Key: key }), { expiresIn: expiresInSeconds });
      } catch (error) {
        throw classifyS3Error(error, await placeOf('s3:GetObject', key));
      }
    },

    async close() {
      if (closed) return;
      closed = true;
      client.destroy();
    },
  };
}
