import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { CreateBucketCommand, DeleteBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { pino } from 'pino';
import { loadWorkerWithTenants } from '../../../src/config/load-config.js';
import { deadLetterHeader } from '../../../src/lane/dead-letter.js';
import { startWorker } from '../../../src/worker/worker.js';
import { uniqueName, useKafkaBroker } from '../../support/kafka.js';
import { createMotoIamUser, enforceMotoIam, motoCredentials, motoRegion, revokeMotoAccessKey, startMoto } from '../../support/moto.js';
import { useServer } from '../../support/server-process.js';
import { activityEvent, useCleanups, waitFor, writeWorkerFiles } from '../../support/worker-files.js';

/** End to end: the worker reads the local Kafka broker and writes to S3 on moto. */
const kafka = useKafkaBroker();
const moto = useServer(() => startMoto());
/** A second moto with IAM enforced, for a key revoked under a running lane. */
const iamMoto = useServer(async () => {
  const server = await startMoto();
  const admin = await createMotoIamUser(server, 'admin', ['s3:*']);
  const writer = await createMotoIamUser(server, 'writer', ['s3:PutObject', 's3:DeleteObject']);
  await enforceMotoIam(server, true);
  return { ...server, admin, writer };
});

function s3For(endpoint: string, credentials: { accessKeyId: string; secretAccessKey: string }): S3Client {
  // A copy: the SDK marks the credentials object it is given.
  return new S3Client({ region: motoRegion, endpoint, forcePathStyle: true, credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey }, maxAttempts: 1 });
}

async function objectKeys(client: S3Client, bucket: string): Promise<string[]> {
  const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
  return (listed.Contents ?? []).map((object) => object.Key ?? '').sort();
}

describe('s3 through the worker and the local Kafka broker', () => {
  const cleanups = useCleanups();

  it('delivers in Terra layout, a replay changes nothing, a deleted bucket and a revoked key park records with their codes', async () => {
    const s3 = s3For(moto.current.endpoint, motoCredentials);
    const iamS3 = s3For(iamMoto.current.endpoint, iamMoto.current.admin);
    cleanups.push(async () => {
      s3.destroy();
      iamS3.destroy();
    });
    const [raw, gone, keyed] = [uniqueName('raw'), uniqueName('gone'), uniqueName('keyed')];
    await s3.send(new CreateBucketCommand({ Bucket: raw }));
    await s3.send(new CreateBucketCommand({ Bucket: gone }));
    await iamS3.send(new CreateBucketCommand({ Bucket: keyed }));

    const topic = uniqueName('events');
    const dlq = `${topic}.dlq`;
    const connection = (endpoint: string, accessKeyId: string, secretVar: string) => ({
      region: motoRegion,
      endpoint,
      forcePathStyle: true,
      maxAttempts: 1,
      credentials: { accessKeyId, secretAccessKey: `\${${secretVar}}` },
    });
    const fast = { batch: { lingerMs: 20 }, retry: { initialDelayMs: 50, maxDelayMs: 200 } };
    const { dir, workerPath } = await writeWorkerFiles({
      brokers: kafka.brokers,
      tenants: [
        {
          tenant: 'acme',
          topics: [topic],
          deadLetterTopic: dlq,
          destinations: [
            { name: 'raw', type: 's3', ...fast, config: { bucket: raw, ...connection(moto.current.endpoint, motoCredentials.accessKeyId, 'MOTO_SECRET') } },
            { name: 'gone', type: 's3', ...fast, config: { bucket: gone, ...connection(moto.current.endpoint, motoCredentials.accessKeyId, 'MOTO_SECRET') } },
            { name: 'revoked', type: 's3', ...fast, config: { bucket: keyed, ...connection(iamMoto.current.endpoint, iamMoto.current.writer.accessKeyId, 'WRITER_SECRET') } },
          ],
        },
      ],
    });
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const env = { ...process.env, MOTO_SECRET: motoCredentials.secretAccessKey, WRITER_SECRET: iamMoto.current.writer.secretAccessKey };
    const loaded = await loadWorkerWithTenants(workerPath, env);
    assert.ok(loaded.ok, loaded.ok ? '' : JSON.stringify(loaded.problems));
    const worker = await startWorker(loaded.value, { logger: pino({ level: 'silent' }), httpPort: 0 });
    cleanups.push(() => worker.stop());
    assert.ok(await waitFor(async () => (await fetch(`${worker.http.url}/readyz`)).status === 200, 30_000), 'every lane passed its check and joined');

    // Break two lanes after their checks passed.
    await s3.send(new DeleteBucketCommand({ Bucket: gone }));
    await revokeMotoAccessKey(iamMoto.current, iamMoto.current.writer);

    const users = ['u-1', 'u-2', 'u-3', 'u-4'];
    const events = users.flatMap((user) => [0, 1].map((index) => activityEvent(user, index)));
    const messages = events.map((event, index) => ({ key: `k-${index}`, value: JSON.stringify(event), timestamp: String(Date.UTC(2026, 6, 1, 9, 0, index)) }));
    await kafka.produce(topic, messages);

    assert.ok(await waitFor(async () => (await objectKeys(s3, raw)).length === events.length, 30_000), 'every record written');
    const keys = await objectKeys(s3, raw);
    assert.ok(keys.includes('2022-03-16/activity/u-1-2026-07-01T06:00:00Z.json'), keys.join('\n'));
    const first = await s3.send(new GetObjectCommand({ Bucket: raw, Key: '2022-03-16/activity/u-1-2026-07-01T06:00:00Z.json' }));
    const stored = JSON.parse((await first.Body?.transformToString()) ?? '{}') as { type?: string; user?: { user_id?: string }; data?: Array<{ metadata?: { summary_id?: string } }> };
    assert.equal(stored.type, 'activity');
    assert.equal(stored.user?.user_id, 'u-1');
    assert.equal(stored.data?.[0]?.metadata?.summary_id, 'u-1-act-0');

    const parked = await kafka.consumeAll(dlq, { groupId: uniqueName('dlq-reader'), expected: 2 * events.length, timeoutMs: 40_000 });
    const codesBy = (destination: string) => parked.filter((message) => message.headers[deadLetterHeader.destination] === destination).map((message) => message.headers[deadLetterHeader.code]);
    assert.deepEqual(codesBy('gone'), events.map(() => 'destination_not_found'));
    assert.deepEqual(codesBy('revoked'), events.map(() => 'destination_auth_failed'));
    assert.equal(codesBy('raw').length, 0);
    const goneMessage = parked.find((message) => message.headers[deadLetterHeader.destination] === 'gone')?.headers[deadLetterHeader.message];
    assert.match(String(goneMessage), new RegExp(`S3 bucket "${gone}" does not exist`));

    // A replay of the same Kafka messages overwrites the same keys: the object count stays.
    const delivered = async (): Promise<boolean> =>
      /terra_fanout_records_delivered_total\{tenant="acme",destination="raw",connector="s3"\} 16\b/.test(await (await fetch(`${worker.http.url}/metrics`)).text());
    await kafka.produce(topic, messages);
    assert.ok(await waitFor(delivered, 30_000), 'the replayed records were delivered again');
    assert.deepEqual(await objectKeys(s3, raw), keys);
  });
});
