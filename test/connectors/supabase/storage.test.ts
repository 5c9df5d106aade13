/**
 * The supabase destination with `storage`: payloads uploaded to a bucket through the S3 protocol
 * (moto standing in for Supabase Storage's S3-compatible endpoint), rows through the PostgREST
 * stand-in over a real PostgreSQL 15. moto is an S3 server, not Supabase Storage: what it proves is
 * the S3 calls and their error translation, not Storage's own limits or key rules.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { pino } from 'pino';
import { createSupabaseClient, createSupabaseClients, type SupabasePort } from '../../../connectors/supabase/client.js';
import { supabaseConfigSchema, supabaseStorageS3Config, type SupabaseConfig } from '../../../connectors/supabase/config.js';
import { createSupabaseDestination } from '../../../connectors/supabase/destination.js';
import { createMemorySupabasePort } from '../../../connectors/supabase/memory-client.js';
import { defaultObjectKey, joinKeyPrefix } from '../../../connectors/shared/object-key.js';
import type { ObjectStorePort } from '../../../connectors/shared/object-store/port.js';
import type { ConnectorContext, Destination } from '../../../src/connector/contract.js';
import { FanoutError } from '../../../src/errors/catalogue.js';
import type { TerraRecord } from '../../../src/records/record.js';
import { uniqueName } from '../../support/kafka.js';
import { motoCredentials, motoRegion, startMoto } from '../../support/moto.js';
import { useSupabaseProject } from '../../support/postgrest-stand-in.js';
import { makeActivityBatch, makeUserEventRecord } from '../../support/records.js';
import { freePort, useServer } from '../../support/server-process.js';

const project = useSupabaseProject();
const moto = useServer(() => startMoto());
const context: ConnectorContext = { tenant: 'acme', destination: 'supabase', logger: pino({ level: 'silent' }) };
const signal = new AbortController().signal;
const STORAGE_SECRET = 'storage-secret-do-not-log';

const opened: Array<{ close(): Promise<void> }> = [];
let verifyClient: S3Client | undefined;
after(async () => {
  for (const item of opened) await item.close();
  verifyClient?.destroy();
});

function verifier(): S3Client {
  verifyClient ??= new S3Client({ region: motoRegion, endpoint: moto.current.endpoint, forcePathStyle: true, credentials: { ...motoCredentials } });
  return verifyClient;
}

async function newBucket(): Promise<string> {
  const bucket = uniqueName('terra-payloads');
  await verifier().send(new CreateBucketCommand({ Bucket: bucket }));
  return bucket;
}

function configFor(storage: Record<string, unknown>): SupabaseConfig {
  return supabaseConfigSchema.parse({
    url: project.current.url,
    serviceRoleKey: project.current.serviceKey,
    storage: { endpoint: moto.current.endpoint, region: motoRegion, credentials: { accessKeyId: motoCredentials.accessKeyId, secretAccessKey: STORAGE_SECRET }, prefix: 'terra', ...storage },
  });
}

/** A destination over the real clients; `wrap` may put a decorator around the Storage port. */
function open(config: SupabaseConfig, wrap: (port: ObjectStorePort) => ObjectStorePort = (port) => port): { destination: Destination; reader: SupabasePort } {
  const clients = createSupabaseClients(config, context);
  const destination = createSupabaseDestination(config, { api: clients.api, storage: clients.storage === undefined ? undefined : wrap(clients.storage) }, context);
  const reader = createSupabaseClient(config);
  opened.push(destination, reader);
  return { destination, reader };
}

async function rowCount(reader: SupabasePort, table: string, users: readonly string[]): Promise<number> {
  let count = 0;
  for (const user of users) {
    const answer = await reader.select(table, ['user_id'], [{ column: 'user_id', op: 'eq', value: user }], 1000, signal);
    assert.ok(answer.ok, answer.ok ? '' : `${answer.status} ${answer.code} ${answer.message}`);
    count += answer.rows.length;
  }
  return count;
}

async function listKeys(bucket: string): Promise<string[]> {
  const listed = await verifier().send(new ListObjectsV2Command({ Bucket: bucket }));
  return (listed.Contents ?? []).map((object) => object.Key ?? '').sort();
}

async function readBody(bucket: string, key: string): Promise<Buffer> {
  const object = await verifier().send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from((await object.Body?.transformToByteArray()) ?? []);
}

const codes = (outcomes: ReadonlyArray<{ ok: boolean; error?: FanoutError }>): string[] => outcomes.map((outcome) => (outcome.ok ? 'ok' : (outcome.error?.code ?? '?')));

function batchFor(users: readonly string[]): TerraRecord[] {
  return [...makeActivityBatch(3 * users.length, [...users]), ...users.map((user) => makeUserEventRecord({ type: 'auth', userId: user, eventTime: '2026-07-01T05:00:00Z', referenceId: `ref-${user}` }))];
}

describe('supabase destination with storage (moto as the S3 endpoint)', () => {
  it('check() probes the bucket besides the tables', async () => {
    const { destination } = open(configFor({ bucket: await newBucket() }));
    await destination.check();
  });

  it('uploads every record body at Terra\'s layout, then writes the rows; a replay changes no counts', async () => {
    const bucket = await newBucket();
    const { destination, reader } = open(configFor({ bucket }));
    const users = [uniqueName('sbs-u'), uniqueName('sbs-u')];
    const batch = batchFor(users);
    const outcomes = await destination.send(batch, signal);
    assert.deepEqual(codes(outcomes), batch.map(() => 'ok'));

    const keys = await listKeys(bucket);
    assert.deepEqual(keys, batch.map((record) => joinKeyPrefix('terra', defaultObjectKey(record))).sort());
    assert.ok(keys.some((key) => /^terra\/2022-03-16\/activity\/sbs-u-[0-9a-f]{8}-2026-07-01T/.test(key)), keys.join(', '));
    for (const record of batch) assert.deepEqual(await readBody(bucket, joinKeyPrefix('terra', defaultObjectKey(record))), record.body, `object of ${record.identity}`);
    const counts = async (): Promise<number[]> => [(await listKeys(bucket)).length, await rowCount(reader, 'terra_data_payloads', users), await rowCount(reader, 'terra_other_payloads', users), await rowCount(reader, 'terra_users', users)];
    const before = await counts();
    assert.deepEqual(before, [batch.length, 6, 2, 2]);

    assert.deepEqual(codes(await destination.send(batch, signal)), batch.map(() => 'ok'));
    assert.deepEqual(await counts(), before);
  });

  it('a bucket that does not exist: check() and every record fail as destination_not_found, and no row is written', async () => {
    const { destination, reader } = open(configFor({ bucket: uniqueName('no-such-bucket') }));
    await assert.rejects(destination.check(), (error: unknown) => error instanceof FanoutError && error.code === 'destination_not_found' && !error.retryable && !error.message.includes(STORAGE_SECRET));
    const users = [uniqueName('sbs-nobucket')];
    const batch = batchFor(users);
    const outcomes = await destination.send(batch, signal);
    assert.deepEqual(codes(outcomes), batch.map(() => 'destination_not_found'));
    for (const outcome of outcomes) assert.ok(!outcome.ok && !outcome.error.retryable && !outcome.error.message.includes(STORAGE_SECRET));
    assert.deepEqual([await rowCount(reader, 'terra_data_payloads', users), await rowCount(reader, 'terra_other_payloads', users), await rowCount(reader, 'terra_users', users)], [0, 0, 0]);
  });

  it('Storage unreachable (nothing listening): retryable outcomes, check() fails, and no row is written', async () => {
    const { destination, reader } = open(configFor({ bucket: 'terra-payloads', endpoint: `http://127.0.0.1:${await freePort()}`, maxAttempts: 1, requestTimeoutMs: 2_000 }));
    await assert.rejects(destination.check(), (error: unknown) => error instanceof FanoutError && error.code === 'destination_unavailable' && error.retryable);
    const users = [uniqueName('sbs-down')];
    const batch = batchFor(users);
    const outcomes = await destination.send(batch, signal);
    assert.deepEqual(codes(outcomes), batch.map(() => 'destination_unavailable'));
    assert.ok(outcomes.every((outcome) => !outcome.ok && outcome.error.retryable));
    assert.deepEqual([await rowCount(reader, 'terra_data_payloads', users), await rowCount(reader, 'terra_users', users)], [0, 0]);
  });

  it('a record whose upload fails keeps that outcome and gets no row; the others are stored and written', async () => {
    const bucket = await newBucket();
    const [kept, failing] = [uniqueName('sbs-kept'), uniqueName('sbs-fail')];
    // The one failure injected in the test: uploads of `failing`'s objects answer like a throttled store.
    const flaky = (port: ObjectStorePort): ObjectStorePort => ({
      ...port,
      put: async (object, putSignal) => {
        if (object.key.includes(failing)) throw new FanoutError('destination_throttled', 'injected: Storage asked to slow down (503 SlowDown).');
        await port.put(object, putSignal);
      },
    });
    const { destination, reader } = open(configFor({ bucket }), flaky);
    const batch = batchFor([kept, failing]);
    const outcomes = await destination.send(batch, signal);
    assert.deepEqual(codes(outcomes), batch.map((record) => (record.userId === failing ? 'destination_throttled' : 'ok')));
    assert.equal((await listKeys(bucket)).length, batch.filter((record) => record.userId === kept).length);
    assert.deepEqual([await rowCount(reader, 'terra_data_payloads', [kept]), await rowCount(reader, 'terra_users', [kept])], [3, 1]);
    assert.deepEqual([await rowCount(reader, 'terra_data_payloads', [failing]), await rowCount(reader, 'terra_users', [failing])], [0, 0]);
  });
});

describe('supabase storage config (pure)', () => {
  it('defaults: bucket terra-payloads, path-style, the endpoint from the project URL', () => {
    const config = supabaseConfigSchema.parse({ url: 'https://abcd1234.supabase.co', serviceRoleKey: 'k', storage: { region: 'eu-central-1', credentials: { accessKeyId: 'id', secretAccessKey: 's' } } });
    const s3 = supabaseStorageS3Config(config);
    assert.deepEqual([s3?.bucket, s3?.endpoint, s3?.forcePathStyle, s3?.format, s3?.unit, s3?.region], ['terra-payloads', 'https://abcd1234.supabase.co/storage/v1/s3', true, 'json', 'record', 'eu-central-1']);
    assert.equal(supabaseStorageS3Config(supabaseConfigSchema.parse({ url: 'https://abcd1234.supabase.co', serviceRoleKey: 'k' })), undefined);
  });

  it('storage needs a region and the Storage access keys', () => {
    const parsed = supabaseConfigSchema.safeParse({ url: 'https://abcd1234.supabase.co', serviceRoleKey: 'k', storage: {} });
    assert.ok(!parsed.success);
    assert.deepEqual(parsed.error.issues.map((issue) => issue.path.join('.')).sort(), ['storage.credentials', 'storage.region']);
  });

  it('the in-memory port keeps Storage and the API apart and breaks both', async () => {
    const config = supabaseConfigSchema.parse({ url: 'https://abcd1234.supabase.co', serviceRoleKey: 'k', storage: { region: 'eu-central-1', credentials: { accessKeyId: 'id', secretAccessKey: 's' } } });
    const memory = createMemorySupabasePort(config);
    const destination = createSupabaseDestination(config, memory.client, context);
    const batch = makeActivityBatch(2);
    assert.deepEqual(codes(await destination.send(batch, signal)), ['ok', 'ok']);
    memory.breakWith('rejected');
    assert.deepEqual(codes(await destination.send(batch, signal)), ['destination_auth_failed', 'destination_auth_failed']);
  });
});
