import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { CreateBucketCommand, HeadObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { pino } from 'pino';
import { claimCheckConfigSchema, createClaimCheck } from '../../../connectors/claim-check.js';
import type { ClaimCheck } from '../../../connectors/shared/claim-check.js';
import type { ConnectorContext } from '../../../src/connector/contract.js';
import { FanoutError } from '../../../src/errors/catalogue.js';
import { uniqueName } from '../../support/kafka.js';
import { motoCredentials, motoRegion, startMoto } from '../../support/moto.js';
import { makeRecord } from '../../support/records.js';
import { useServer } from '../../support/server-process.js';

const moto = useServer(() => startMoto());
const context: ConnectorContext = { tenant: 'acme', destination: 'queue', logger: pino({ level: 'silent' }) };
const signal = new AbortController().signal;

let verifyClient: S3Client | undefined;
function verifier(): S3Client {
  verifyClient ??= new S3Client({ region: motoRegion, endpoint: moto.current.endpoint, forcePathStyle: true, credentials: { ...motoCredentials } });
  return verifyClient;
}
const claimChecks: ClaimCheck[] = [];
after(async () => {
  verifyClient?.destroy();
  for (const claimCheck of claimChecks) await claimCheck.close();
});

function claimCheckFor(bucket: string, extra: Record<string, unknown> = {}): ClaimCheck {
  const { expiresInSeconds, ...s3 } = extra;
  const config = claimCheckConfigSchema.parse({
    type: 's3',
    ...(expiresInSeconds === undefined ? {} : { expiresInSeconds }),
    config: {
      bucket,
      region: motoRegion,
      endpoint: moto.current.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: motoCredentials.accessKeyId, secretAccessKey: motoCredentials.secretAccessKey },
      ...s3,
    },
  });
  const claimCheck = createClaimCheck(config, context);
  claimChecks.push(claimCheck);
  return claimCheck;
}

async function newBucket(): Promise<string> {
  const bucket = uniqueName('claims');
  await verifier().send(new CreateBucketCommand({ Bucket: bucket }));
  return bucket;
}

describe('claim check config (type: s3)', () => {
  it('defaults to Terra\'s 600 s and rejects what cannot work', () => {
    const config = claimCheckConfigSchema.parse({ type: 's3', config: { bucket: 'claims' } });
    assert.equal(config.expiresInSeconds, 600);
    const invalid = [
      {},
      { type: 's3' },
      { type: 'sqs', config: { bucket: 'claims' } },
      { type: 's3', config: { bucket: 'claims' }, expiresInSeconds: 8 * 24 * 3600 },
      { type: 's3', config: { bucket: 'claims', kmsKeyId: 'alias/x' } },
      { type: 's3', config: { bucket: 'claims', prefix: '/abs' } },
      { type: 's3', config: { bucket: 'claims' }, bucket: 'claims' },
    ];
    for (const input of invalid) assert.equal(claimCheckConfigSchema.safeParse(input).success, false, JSON.stringify(input));
  });
});

describe('s3 claim check against moto', () => {
  it('stores the record body and returns a presigned URL that plain fetch() reads back byte for byte', async () => {
    const bucket = await newBucket();
    const claimCheck = claimCheckFor(bucket, { prefix: 'claims/', serverSideEncryption: 'AES256' });
    await claimCheck.check(signal);
    const body = Buffer.from(JSON.stringify({ type: 'activity', data: [{ samples: 'é'.repeat(200_000) }] }));
    const record = makeRecord({ body });
    const ticket = await claimCheck.store(record, signal);
    assert.equal(ticket.expiresInSeconds, 600);
    const url = new URL(ticket.url);
    assert.equal(url.searchParams.get('X-Amz-Expires'), '600');
    assert.equal(url.pathname, `/${bucket}/claims/activity/${record.identity}.json`);
    const response = await fetch(ticket.url);
    assert.equal(response.status, 200);
    assert.deepEqual(Buffer.from(await response.arrayBuffer()), body);
    const head = await verifier().send(new HeadObjectCommand({ Bucket: bucket, Key: `claims/activity/${record.identity}.json` }));
    assert.equal(head.ContentType, 'application/json');
    assert.equal(head.ServerSideEncryption, 'AES256');
    assert.equal(head.Metadata?.['identity'], record.identity);
  });

  it('a replay stores to the same key: no second object', async () => {
    const bucket = await newBucket();
    const claimCheck = claimCheckFor(bucket, { expiresInSeconds: 120 });
    const record = makeRecord();
    const first = await claimCheck.store(record, signal);
    const second = await claimCheck.store(record, signal);
    assert.equal(new URL(first.url).pathname, new URL(second.url).pathname);
    const listed = await verifier().send(new ListObjectsV2Command({ Bucket: bucket }));
    assert.equal(listed.KeyCount, 1);
  });

  it('a missing bucket fails store() and check() with destination_not_found', async () => {
    const claimCheck = claimCheckFor('no-such-claims-bucket');
    for (const attempt of [() => claimCheck.store(makeRecord(), signal), () => claimCheck.check(signal)]) {
      const error = await attempt().then(
        () => assert.fail('expected a failure'),
        (thrown: unknown) => thrown,
      );
      assert.ok(error instanceof FanoutError, String(error));
      assert.equal(error.code, 'destination_not_found');
      assert.match(error.message, /S3 bucket "no-such-claims-bucket" does not exist/);
    }
  });
});
