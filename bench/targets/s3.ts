import { gunzipSync } from 'node:zlib';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { motoCredentials, motoRegion, startMoto } from '../../test/support/moto.js';
import type { BenchTarget } from '../bench-target.js';

/**
 * S3 on a local moto: ndjson + gzip objects, one per batch, topic, partition and type (the data
 * lake layout). count() reads every object back and counts its lines.
 */
export async function startS3BenchTarget(): Promise<BenchTarget> {
  const moto = await startMoto();
  const bucket = `bench-${Date.now()}`;
  // A copy: the SDK marks the credentials object it is given.
  const client = new S3Client({ region: motoRegion, endpoint: moto.endpoint, forcePathStyle: true, credentials: { ...motoCredentials } });
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (error) {
    client.destroy();
    await moto.stop();
    throw error;
  }
  return {
    label: 'lane -> s3 (moto), ndjson+gzip',
    destination: {
      type: 's3',
      config: {
        bucket,
        region: motoRegion,
        endpoint: moto.endpoint,
        forcePathStyle: true,
        credentials: { accessKeyId: motoCredentials.accessKeyId, secretAccessKey: motoCredentials.secretAccessKey },
        format: 'ndjson',
        gzip: true,
      },
      batch: { maxRecords: 1000, maxBytes: '8MiB', lingerMs: 50 },
    },
    async count() {
      let lines = 0;
      let token: string | undefined;
      do {
        const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
        for (const object of page.Contents ?? []) {
          const body = await client.send(new GetObjectCommand({ Bucket: bucket, Key: object.Key }));
          const bytes = Buffer.from((await body.Body?.transformToByteArray()) ?? []);
          lines += gunzipSync(bytes).toString('utf8').split('\n').filter((line) => line !== '').length;
        }
        token = page.NextContinuationToken;
      } while (token !== undefined);
      return lines;
    },
    async stop() {
      client.destroy();
      await moto.stop();
    },
  };
}
