import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { after, describe, it } from 'node:test';
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { pino } from 'pino';
import { s3ClientOptions, s3ConfigSchema, type S3Config } from '../../../connectors/s3/config.js';
import { createS3Client } from '../../../connectors/s3/client.js';
import { classifyS3Error, createS3Destination, type S3CallPlace } from '../../../connectors/s3/destination.js';
import { s3Connector } from '../../../connectors/s3/index.js';
import { probeKey } from '../../../connectors/shared/object-store/destination.js';
import type { ConnectorContext, Destination, RecordOutcome } from '../../../src/connector/contract.js';
import { FanoutError } from '../../../src/errors/catalogue.js';
import type { TerraRecord } from '../../../src/records/record.js';
import { uniqueName } from '../../support/kafka.js';
import { motoCredentials, motoRegion, startMoto } from '../../support/moto.js';
import { makeActivityBatch, makeDailyRecord, makeRecord, makeUserEventRecord } from '../../support/records.js';
import { freePort, useServer } from '../../support/server-process.js';

const moto = useServer(() => startMoto());
const context: ConnectorContext = { tenant: 'acme', destination: 'bucket', logger: pino({ level: 'silent' }) };
const signal = new AbortController().signal;
const MiB = 1024 * 1024;

let verifyClient: S3Client | undefined;
/** An SDK client of the test's own, to create buckets and read back what the destination wrote. */
function verifier(): S3Client {
  verifyClient ??= new S3Client({ region: motoRegion, endpoint: moto.current.endpoint, forcePathStyle: true, credentials: { ...motoCredentials } });
  return verifyClient;
}
after(() => verifyClient?.destroy());

async function newBucket(): Promise<string> {
  const bucket = uniqueName('bucket');
  await verifier().send(new CreateBucketCommand({ Bucket: bucket }));
  return bucket;
}

function configFor(bucket: string, extra: Record<string, unknown> = {}): S3Config {
  return s3ConfigSchema.parse({
    bucket,
    region: motoRegion,
    endpoint: moto.current.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: motoCredentials.accessKeyId, secretAccessKey: motoCredentials.secretAccessKey },
    ...extra,
  });
}

const destinations: Destination[] = [];
after(async () => {
  for (const destination of destinations) await destination.close();
});

function destinationFor(config: S3Config): Destination {
  const destination = createS3Destination(config, s3Connector.createClient(config, context), context);
  destinations.push(destination);
  return destination;
}

async function listKeys(bucket: string, prefix?: string): Promise<string[]> {
  const listed = await verifier().send(new ListObjectsV2Command({ Bucket: bucket, ...(prefix === undefined ? {} : { Prefix: prefix }) }));
  return (listed.Contents ?? []).map((object) => object.Key ?? '').sort();
}

async function readObject(bucket: string, key: string): Promise<{ body: Buffer; contentType?: string | undefined; contentEncoding?: string | undefined; metadata: Record<string, string>; etag?: string | undefined }> {
  const object = await verifier().send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const bytes = await object.Body?.transformToByteArray();
  return { body: Buffer.from(bytes ?? []), contentType: object.ContentType, contentEncoding: object.ContentEncoding, metadata: object.Metadata ?? {}, etag: object.ETag };
}

function failure(outcome: RecordOutcome | undefined): FanoutError {
  assert.ok(outcome !== undefined && !outcome.ok, 'expected a failed outcome');
  return outcome.error;
}

function sdkError(name: string, status: number, fault: 'client' | 'server', fields: Record<string, unknown> = {}, headers: Record<string, string> = {}): S3ServiceException {
  const error = new S3ServiceException({ name, $fault: fault, $metadata: { httpStatusCode: status, requestId: 'req-1' }, message: `vendor text for ${name}` });
  Object.assign(error, fields);
  Object.defineProperty(error, '$response', { value: { statusCode: status, headers }, enumerable: false });
  return error;
}

const place: S3CallPlace = { bucket: 'terra-raw', region: 'us-east-1', endpoint: undefined, action: 's3:PutObject' };

describe('s3 config', () => {
  it('applies defaults and keeps secrets out of printed config', () => {
    const config = s3ConfigSchema.parse({ bucket: 'terra-raw', credentials: { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'very-secret', sessionToken: 'token-secret' } });
    assert.equal(config.format, 'json');
    assert.equal(config.unit, 'record');
    assert.equal(config.forcePathStyle, false);
    assert.equal(config.maxAttempts, 2);
    assert.equal(config.partSizeMiB, 8);
    assert.equal(config.requestChecksums, 'when_supported');
    const printed = JSON.stringify(config);
    assert.ok(!printed.includes('very-secret') && !printed.includes('token-secret'));
    assert.equal(s3ClientOptions(config).partSizeBytes, 8 * MiB);
  });

  it('rejects what cannot work', () => {
    for (const input of [
      {},
      { bucket: 'a/b' },
      { bucket: 'terra-raw', kmsKeyId: 'alias/x' },
      { bucket: 'terra-raw', serverSideEncryption: 'AES256', kmsKeyId: 'alias/x' },
      { bucket: 'terra-raw', format: 'ndjson', keyTemplate: '{type}/{identity}.json' },
      { bucket: 'terra-raw', keyTemplate: '{nope}.json' },
      { bucket: 'terra-raw', prefix: '../up' },
      { bucket: 'terra-raw', endpoint: 'http://user:pw@127.0.0.1:9000' },
      { bucket: 'terra-raw', partSizeMiB: 4 },
      { bucket: 'terra-raw', storageClass: 'COLD' },
      { bucket: 'terra-raw', credentials: { accessKeyId: 'AKIA' } },
      { bucket: 'terra-raw', extra: true },
    ]) {
      assert.equal(s3ConfigSchema.safeParse(input).success, false, JSON.stringify(input));
    }
    assert.ok(s3ConfigSchema.safeParse({ bucket: 'terra-raw', serverSideEncryption: 'aws:kms', kmsKeyId: 'alias/terra' }).success);
  });
});

describe('s3 error classification (the SDK error objects moto cannot produce)', () => {
  it('throttling and server errors are retryable', () => {
    const slow = classifyS3Error(sdkError('SlowDown', 503, 'server'), place);
    assert.equal(slow.code, 'destination_throttled');
    assert.equal(slow.retryable, true);
    assert.equal(slow.detail['awsCode'], 'SlowDown');
    assert.equal(slow.detail['requestId'], 'req-1');
    assert.equal(classifyS3Error(sdkError('InternalError', 500, 'server'), place).code, 'destination_unavailable');
    assert.equal(classifyS3Error(sdkError('ServiceUnavailable', 503, 'server'), place).code, 'destination_unavailable');
    assert.equal(classifyS3Error(sdkError('RequestTimeout', 400, 'client'), place).code, 'destination_timeout');
  });

  it('a bucket in another region is destination_misconfigured naming the right region', () => {
    const malformed = classifyS3Error(sdkError('AuthorizationHeaderMalformed', 400, 'client', { Region: 'eu-west-1' }), place);
    assert.equal(malformed.code, 'destination_misconfigured');
    assert.match(malformed.message, /set region: eu-west-1/);
    const redirect = classifyS3Error(sdkError('PermanentRedirect', 301, 'client', {}, { 'x-amz-bucket-region': 'ap-southeast-2' }), place);
    assert.equal(redirect.code, 'destination_misconfigured');
    assert.match(redirect.message, /set region: ap-southeast-2/);
    assert.equal(redirect.retryable, false);
  });

  it('expired tokens are destination_auth_failed, EntityTooLarge is destination_record_too_large', () => {
    for (const name of ['ExpiredToken', 'TokenRefreshRequired']) {
      const error = classifyS3Error(sdkError(name, 400, 'client'), place);
      assert.equal(error.code, 'destination_auth_failed');
      assert.match(error.message, /session token has expired/);
    }
    assert.equal(classifyS3Error(sdkError('EntityTooLarge', 400, 'client'), place).code, 'destination_record_too_large');
    assert.equal(classifyS3Error(sdkError('KMS.DisabledException', 400, 'client'), place).code, 'destination_misconfigured');
  });

  it('missing credentials and region, and unknown failures, are catalogued; vendor text never leaks', () => {
    const noCredentials = Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' });
    assert.equal(classifyS3Error(noCredentials, place).code, 'destination_auth_failed');
    assert.equal(classifyS3Error(new Error('Region is missing'), place).code, 'destination_misconfigured');
    assert.equal(classifyS3Error(new TypeError('x is not a function'), place).code, 'internal_error');
    const error = classifyS3Error(sdkError('AccessDenied', 403, 'client'), place);
    assert.ok(!error.message.includes('vendor text'));
    assert.match(error.message, /s3:PutObject/);
  });
});

describe('s3 destination against moto', () => {
  it('writes Terra-layout objects with content type, metadata, encryption and storage class, read back with the SDK', async () => {
    const bucket = await newBucket();
    const destination = destinationFor(configFor(bucket, { prefix: 'terra/', serverSideEncryption: 'AES256', storageClass: 'STANDARD_IA' }));
    const batch = [...makeActivityBatch(3, ['user-a', 'user-b']), makeDailyRecord({ userId: 'user-a' }), makeUserEventRecord({ userId: 'user-c' })];
    assert.deepEqual(await destination.send(batch, signal), batch.map(() => ({ ok: true })));
    const keys = await listKeys(bucket);
    assert.deepEqual(keys, batch.map((record) => s3Connector.locate(configFor(bucket, { prefix: 'terra/' }), record, 'acme')).sort());
    assert.ok(keys.includes('terra/2022-03-16/activity/user-a-2026-07-01T06:00:00Z.json'), keys.join('\n'));
    assert.ok(keys.includes('terra/2022-03-16/daily/user-a-2026-06-30T23:00:00Z.json'), keys.join('\n'));
    assert.ok(keys.includes('terra/2022-03-16/auth/user-c-2026-07-01T08:00:00Z.json'), keys.join('\n'));
    for (const record of batch) {
      const key = s3Connector.locate(configFor(bucket, { prefix: 'terra/' }), record, 'acme');
      const object = await readObject(bucket, key);
      assert.deepEqual(object.body, record.body);
      assert.equal(object.contentType, 'application/json');
      assert.deepEqual(object.metadata, { tenant: 'acme', type: record.type, 'user-id': record.userId ?? 'none', 'reference-id': 'ref-1', provider: 'GARMIN', identity: record.identity });
      const head = await verifier().send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      assert.equal(head.ServerSideEncryption, 'AES256');
      assert.equal(head.StorageClass, 'STANDARD_IA');
    }
  });

  it('is idempotent: the same batch again leaves the same objects', async () => {
    const bucket = await newBucket();
    const destination = destinationFor(configFor(bucket));
    const batch = makeActivityBatch(6, ['user-a', 'user-b']);
    await destination.send(batch, signal);
    const before = await listKeys(bucket);
    assert.equal(before.length, 6);
    assert.ok((await destination.send(batch, signal)).every((outcome) => outcome.ok));
    assert.deepEqual(await listKeys(bucket), before);
  });

  it('ndjson + gzip: one object per topic, partition and type, decoding back to the records; a replay rewrites the same objects', async () => {
    const bucket = await newBucket();
    const destination = destinationFor(configFor(bucket, { format: 'ndjson', gzip: true, prefix: 'lake' }));
    const batch = makeActivityBatch(5, ['user-a', 'user-b']).map((record, index) => ({ ...record, source: { ...record.source, topic: 'terra.events', partition: index % 2, offset: String(100 + index) } }));
    assert.ok((await destination.send(batch, signal)).every((outcome) => outcome.ok));
    const keys = await listKeys(bucket);
    assert.deepEqual(keys, ['lake/activity/terra.events+0+00000000000000000100.ndjson.gz', 'lake/activity/terra.events+1+00000000000000000101.ndjson.gz']);
    const lines: string[] = [];
    for (const key of keys) {
      const object = await readObject(bucket, key);
      assert.equal(object.contentType, 'application/x-ndjson');
      assert.equal(object.contentEncoding, 'gzip');
      assert.equal(object.metadata['tenant'], 'acme');
      lines.push(...gunzipSync(object.body).toString('utf8').split('\n').filter((line) => line !== ''));
    }
    assert.deepEqual(lines.sort(), batch.map((record) => record.body.toString('utf8')).sort());
    await destination.send(batch, signal);
    assert.deepEqual(await listKeys(bucket), keys);
  });

  it('a 20 MB record goes up as a multipart upload within the memory budget and reads back identical', async () => {
    const bucket = await newBucket();
    const config = configFor(bucket, { partSizeMiB: 5 });
    const destination = destinationFor(config);
    const pattern = Buffer.from(JSON.stringify({ timestamp: '2026-07-01T06:00:00Z', bpm: 142, timer_duration_seconds: 1 }));
    const body = Buffer.alloc(20 * MiB);
    for (let offset = 0; offset < body.length; offset += pattern.length) pattern.copy(body, offset);
    const record: TerraRecord = makeRecord({ body });
    global.gc?.();
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 5);
    const outcomes = await destination.send([record], signal);
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage().rss);
    assert.deepEqual(outcomes, [{ ok: true }]);
    const object = await readObject(bucket, s3Connector.locate(config, record, 'acme'));
    assert.match(object.etag ?? '', /-4"$/, 'a multipart ETag (md5-of-parts and part count): 20 MiB in 5 MiB parts');
    assert.equal(createHash('sha256').update(object.body).digest('hex'), createHash('sha256').update(body).digest('hex'));
    const grewMiB = (peak - baseline) / MiB;
    assert.ok(grewMiB < 16, `the upload held ${grewMiB.toFixed(1)} MiB beyond the record itself; expected the parts to be views of the body (a copy of the body alone is 20 MiB)`);
  });

  it('check() writes a probe under the prefix and removes it again', async () => {
    const bucket = await newBucket();
    const config = configFor(bucket, { prefix: 'checked' });
    await destinationFor(config).check();
    assert.deepEqual(await listKeys(bucket), [], 'the probe object was deleted');
    assert.match(probeKey(config), /^checked\/\.terra-fanout-probe\//);
  });

  it('a missing bucket is destination_not_found naming bucket and region, in send() and check()', async () => {
    const destination = destinationFor(configFor('no-such-bucket-here'));
    const error = failure((await destination.send([makeRecord()], signal))[0]);
    assert.equal(error.code, 'destination_not_found');
    assert.equal(error.retryable, false);
    assert.match(error.message, /S3 bucket "no-such-bucket-here" does not exist in endpoint http:\/\/127\.0\.0\.1:\d+\/ \(region us-east-1\)/);
    assert.equal(error.detail['awsCode'], 'NoSuchBucket');
    await assert.rejects(destination.check(), (thrown: unknown) => thrown instanceof FanoutError && thrown.code === 'destination_not_found');
    const big = failure((await destination.send([makeRecord({ body: Buffer.alloc(9 * MiB, 0x20) })], signal))[0]);
    assert.equal(big.code, 'destination_not_found', 'the multipart path classifies the same way');
  });

  it('a refused connection is destination_unavailable and a silent server destination_timeout (both retryable)', async () => {
    const closed = await freePort();
    const refused = destinationFor(configFor('any-bucket', { endpoint: `http://127.0.0.1:${closed}` }));
    const refusedError = failure((await refused.send([makeRecord()], signal))[0]);
    assert.equal(refusedError.code, 'destination_unavailable');
    assert.equal(refusedError.detail['errorCode'], 'ECONNREFUSED');

    const sockets: Socket[] = [];
    const silent: Server = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const address = silent.address();
      assert.ok(address !== null && typeof address === 'object');
      const slow = destinationFor(configFor('any-bucket', { endpoint: `http://127.0.0.1:${address.port}`, requestTimeoutMs: 1_000, maxAttempts: 1 }));
      const started = Date.now();
      const timeout = failure((await slow.send([makeRecord()], signal))[0]);
      assert.equal(timeout.code, 'destination_timeout');
      assert.equal(timeout.retryable, true);
      assert.ok(Date.now() - started < 5_000);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('close() twice is harmless and the port label names the bucket and prefix', async () => {
    const port = createS3Client(s3ClientOptions(configFor('label-bucket', { prefix: 'raw/' })));
    assert.equal(port.label, 's3://label-bucket/raw/');
    await port.close();
    await port.close();
  });
});
