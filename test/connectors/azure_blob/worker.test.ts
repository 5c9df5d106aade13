import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { BlobServiceClient, ContainerSASPermissions, StorageSharedKeyCredential, type ContainerClient } from '@azure/storage-blob';
import { loadWorkerWithTenants } from '../../../src/config/load-config.js';
import { deadLetterHeader } from '../../../src/lane/dead-letter.js';
import { createLogger } from '../../../src/observability/logger.js';
import { startWorker, type RunningWorker } from '../../../src/worker/worker.js';
import { azuriteAccount, azuriteKey, startAzurite } from '../../support/azurite.js';
import { uniqueName, useKafkaBroker } from '../../support/kafka.js';
import { useServer } from '../../support/server-process.js';
import { activityEvent, useCleanups, waitFor, writeWorkerFiles } from '../../support/worker-files.js';

/** End to end: Kafka (local broker) → the worker's lanes → Azurite, and permanent failures → the dead-letter topic. */

const kafka = useKafkaBroker();
const azurite = useServer(() => startAzurite());
const wrongKey = Buffer.from('a-wrong-azure-account-key-for-the-test').toString('base64');

function admin(): BlobServiceClient {
  return new BlobServiceClient(azurite.current.accountUrl, new StorageSharedKeyCredential(azuriteAccount, azuriteKey), { retryOptions: { maxTries: 1 } });
}

async function newContainer(): Promise<ContainerClient> {
  const container = admin().getContainerClient(uniqueName('e2e'));
  await container.create();
  return container;
}

async function etags(container: ContainerClient): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  for await (const blob of container.listBlobsFlat()) found.set(blob.name, blob.properties.etag);
  return found;
}

function authEvent(userId: string): Record<string, unknown> {
  return { type: 'auth', status: 'success', user: { user_id: userId, provider: 'OURA', reference_id: `ref-${userId}`, scopes: null, active: true, last_webhook_update: null }, reference_id: `ref-${userId}`, widget_session_id: 'w-1', version: '2022-03-16' };
}

function logSink(lines: string[]): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
}

async function metrics(worker: RunningWorker): Promise<string> {
  return (await fetch(`${worker.http.url}/metrics`)).text();
}

describe('azure_blob through the worker and the local Kafka broker', () => {
  const cleanups = useCleanups();

  it("delivers every record at Terra's layout, and a replay of the same Kafka messages (a new consumer group) rewrites the same blobs, adding none", async () => {
    const container = await newContainer();
    const topic = uniqueName('events');
    const users = ['u-1', 'u-2', 'u-3'];
    const events = [...users.flatMap((user) => [0, 1, 2, 3].map((index) => activityEvent(user, index))), authEvent('u-9')];
    await kafka.produce(topic, events.map((event, index) => ({ key: String(index % 3), value: JSON.stringify(event), timestamp: String(Date.UTC(2026, 6, 2, 12, 0, index)) })));

    const run = async (destination: string): Promise<RunningWorker> => {
      const { dir, workerPath } = await writeWorkerFiles({
        brokers: kafka.brokers,
        tenants: [
          {
            tenant: 'acme',
            topics: [topic],
            deadLetterTopic: `${topic}.dlq`,
            destinations: [{ name: destination, type: 'azure_blob', batch: { lingerMs: 20 }, config: { container: container.containerName, connectionString: '${AZURE_STORAGE_CONNECTION_STRING}', prefix: 'terra' } }],
          },
        ],
      });
      cleanups.push(() => rm(dir, { recursive: true, force: true }));
      const loaded = await loadWorkerWithTenants(workerPath, { ...process.env, AZURE_STORAGE_CONNECTION_STRING: azurite.current.connectionString });
      assert.ok(loaded.ok, loaded.ok ? '' : JSON.stringify(loaded.problems));
      const worker = await startWorker(loaded.value, { logger: createLogger('warn', logSink([])), httpPort: 0 });
      cleanups.push(() => worker.stop());
      return worker;
    };
    const delivered = (worker: RunningWorker, destination: string) => async () =>
      new RegExp(`terra_fanout_records_delivered_total\\{tenant="acme",destination="${destination}",connector="azure_blob"\\} ${events.length}\\b`).test(await metrics(worker));

    const first = await run('blobs');
    assert.ok(await waitFor(delivered(first, 'blobs'), 30_000), 'first worker delivered every record');
    await first.stop();
    const written = await etags(container);
    assert.equal(written.size, events.length, 'one blob per record');
    assert.ok(written.has('terra/2022-03-16/activity/u-1-2026-07-01T06:00:00Z.json'));
    assert.ok(written.has('terra/2022-03-16/activity/u-3-2026-07-01T06:03:00Z.json'));
    assert.ok(written.has('terra/2022-03-16/auth/u-9-2026-07-02T12:00:12Z.json'), [...written.keys()].join(', '));
    const stored = JSON.parse((await container.getBlobClient('terra/2022-03-16/activity/u-2-2026-07-01T06:01:00Z.json').downloadToBuffer()).toString('utf8')) as {
      type: string;
      user: { user_id: string };
      data: Array<{ metadata: { summary_id: string } }>;
    };
    assert.equal(stored.type, 'activity');
    assert.equal(stored.user.user_id, 'u-2');
    assert.deepEqual(stored.data.map((item) => item.metadata.summary_id), ['u-2-act-1']);

    const replay = await run('blobs-replay');
    assert.ok(await waitFor(delivered(replay, 'blobs-replay'), 30_000), 'the replay delivered every record again');
    await replay.stop();
    const rewritten = await etags(container);
    assert.deepEqual([...rewritten.keys()].sort(), [...written.keys()].sort(), 'the replay added no blob');
    for (const [name, etag] of written) assert.notEqual(rewritten.get(name), etag, `${name} was overwritten by the replay`);
  });

  it('a container deleted after start and credentials that stop working park records in the dead-letter topic; a wrong key never passes check()', async () => {
    const gone = await newContainer();
    const sasContainer = await newContainer();
    const keyContainer = await newContainer();
    const expiresAt = Date.now() + 10_000;
    const expiringSas = await sasContainer.generateSasUrl({ permissions: ContainerSASPermissions.parse('rcw'), expiresOn: new Date(expiresAt) });
    const signature = new URL(expiringSas).searchParams.get('sig') ?? '';
    const topic = uniqueName('events');
    const dlq = `${topic}.dlq`;
    const { dir, workerPath } = await writeWorkerFiles({
      brokers: kafka.brokers,
      tenants: [
        {
          tenant: 'acme',
          topics: [topic],
          deadLetterTopic: dlq,
          destinations: [
            { name: 'gone', type: 'azure_blob', batch: { lingerMs: 20 }, config: { container: gone.containerName, connectionString: '${AZURE_STORAGE_CONNECTION_STRING}' } },
            { name: 'expiring', type: 'azure_blob', batch: { lingerMs: 20 }, config: { container: sasContainer.containerName, sasUrl: '${AZURE_SAS_URL}' } },
            {
              name: 'badkey',
              type: 'azure_blob',
              batch: { lingerMs: 20 },
              retry: { initialDelayMs: 200, maxDelayMs: 500 },
              config: { container: keyContainer.containerName, accountName: azuriteAccount, accountKey: '${AZURE_WRONG_KEY}', accountUrl: azurite.current.accountUrl },
            },
          ],
        },
      ],
    });
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const env = { ...process.env, AZURE_STORAGE_CONNECTION_STRING: azurite.current.connectionString, AZURE_SAS_URL: expiringSas, AZURE_WRONG_KEY: wrongKey };
    const loaded = await loadWorkerWithTenants(workerPath, env);
    assert.ok(loaded.ok, loaded.ok ? '' : JSON.stringify(loaded.problems));
    const lines: string[] = [];
    const worker = await startWorker(loaded.value, { logger: createLogger('debug', logSink(lines)), httpPort: 0 });
    cleanups.push(() => worker.stop());

    const ready = (destination: string) => new RegExp(`terra_fanout_lane_ready\\{tenant="acme",destination="${destination}",connector="azure_blob"\\} 1`);
    assert.ok(await waitFor(async () => { const text = await metrics(worker); return ready('gone').test(text) && ready('expiring').test(text); }, 30_000), 'gone and expiring passed check() and joined');
    assert.ok(Date.now() < expiresAt, 'the SAS was still valid at check()');
    assert.ok(await waitFor(() => lines.some((line) => line.includes('"destination":"badkey"') && line.includes('"code":"destination_auth_failed"') && line.includes('Destination check failed')), 10_000), 'the wrong key fails check() with destination_auth_failed');
    assert.ok(!ready('badkey').test(await metrics(worker)), 'a lane whose check fails never consumes');
    const readyz = await fetch(`${worker.http.url}/readyz`);
    assert.equal(readyz.status, 503);
    assert.match(await readyz.text(), /acme\/badkey/);

    await gone.delete();
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, expiresAt - Date.now() + 1500)));
    const events = ['u-1', 'u-2', 'u-3'].map((user, index) => activityEvent(user, index));
    await kafka.produce(topic, events.map((event, index) => ({ key: `k-${index}`, value: JSON.stringify(event) })));

    const parked = await kafka.consumeAll(dlq, { groupId: uniqueName('dlq-reader'), expected: 2 * events.length, timeoutMs: 30_000 });
    const by = (destination: string) => parked.filter((message) => message.headers[deadLetterHeader.destination] === destination);
    assert.equal(by('gone').length, events.length, 'every record for the deleted container was parked');
    for (const message of by('gone')) {
      assert.equal(message.headers[deadLetterHeader.code], 'destination_not_found');
      assert.match(String(message.headers[deadLetterHeader.message]), new RegExp(`container "${gone.containerName}" does not exist.*does not create containers`));
      assert.equal(message.headers[deadLetterHeader.connector], 'azure_blob');
    }
    assert.equal(by('expiring').length, events.length, 'every record for the expired SAS was parked');
    for (const message of by('expiring')) {
      assert.equal(message.headers[deadLetterHeader.code], 'destination_auth_failed');
      assert.match(String(message.headers[deadLetterHeader.message]), /Check the SAS URL: not expired \(se=\)/);
    }
    assert.equal(by('badkey').length, 0, 'nothing is parked for a lane that never passed check()');
    assert.deepEqual(parked.map((message) => message.value).sort(), [...events, ...events].map((event) => JSON.stringify(event)).sort(), 'dead letters keep the original bytes');

    await worker.stop();
    const logs = lines.join('');
    for (const secret of [azuriteKey, wrongKey, signature, encodeURIComponent(signature)]) assert.ok(!logs.includes(secret), 'no key or SAS signature in the logs');
    for (const message of parked) for (const secret of [signature, encodeURIComponent(signature)]) assert.ok(!JSON.stringify(message.headers).includes(secret));
  });
});
