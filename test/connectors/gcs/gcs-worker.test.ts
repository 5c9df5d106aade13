import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { Storage } from '@google-cloud/storage';
import { loadWorkerWithTenants } from '../../../src/config/load-config.js';
import { createLogger } from '../../../src/observability/logger.js';
import { startWorker, type RunningWorker } from '../../../src/worker/worker.js';
import { fakeServiceAccount, isolateGoogleSdks, useGcsEmulator } from '../../support/gcs-emulator.js';
import { uniqueName, useKafkaBroker } from '../../support/kafka.js';
import { activityEvent, useCleanups, waitFor, writeWorkerFiles } from '../../support/worker-files.js';
import { startGcsFaultProxy, type GcsFaultProxy } from './gcs-fault-proxy.js';

/**
 * End to end: Terra events on the local Kafka broker, through the worker, into buckets on the
 * GCS emulator; a replay of the same messages by a new consumer group; and records parked in
 * the dead-letter topic when the bucket disappears or the credentials stop working after start.
 */

isolateGoogleSdks();
const deliveryTopic = uniqueName('gcs-events');
const kafka = useKafkaBroker({ topics: [{ name: deliveryTopic, partitions: 1 }] });
const account = fakeServiceAccount();

interface StartedWorker {
  worker: RunningWorker;
  logs: () => string;
}

describe('gcs destination through the worker and the local broker', () => {
  const gcs = useGcsEmulator();
  const cleanups = useCleanups();
  let proxy: GcsFaultProxy;
  before(async () => {
    proxy = await startGcsFaultProxy(gcs.current.endpoint);
  });
  after(async () => {
    await proxy.close();
  });

  const sdk = () => new Storage({ apiEndpoint: gcs.current.endpoint, projectId: 'demo-terra-fanout' });

  async function start(groupPrefix: string, tenant: Record<string, unknown>): Promise<StartedWorker> {
    const { dir, workerPath } = await writeWorkerFiles({
      brokers: kafka.brokers,
      tenants: [tenant],
      worker: {
        kafka: { brokers: kafka.brokers, clientId: 'terra-fanout-test', librdkafkaMockCompat: true, sessionTimeoutMs: 6000, heartbeatIntervalMs: 500, maxWaitTimeMs: 100, groupPrefix },
      },
    });
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const loaded = await loadWorkerWithTenants(workerPath, { ...process.env, GCS_ENDPOINT: gcs.current.endpoint, GCS_PROXY: proxy.endpoint, GCS_KEY: account.json });
    assert.ok(loaded.ok, loaded.ok ? '' : JSON.stringify(loaded.problems));
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const worker = await startWorker(loaded.value, { logger: createLogger('info', sink), httpPort: 0 });
    cleanups.push(() => worker.stop());
    return { worker, logs: () => lines.join('') };
  }

  async function counter(worker: RunningWorker, name: string, destination: string): Promise<number> {
    const text = await (await fetch(`${worker.http.url}/metrics`)).text();
    const pattern = new RegExp(`^${name}\\{[^}]*destination="${destination}"[^}]*\\} (\\d+)$`, 'gm');
    return [...text.matchAll(pattern)].reduce((sum, match) => sum + Number(match[1]), 0);
  }

  async function objects(bucket: string): Promise<Map<string, { generation: string; body: Buffer }>> {
    const [files] = await sdk().bucket(bucket).getFiles();
    const found = new Map<string, { generation: string; body: Buffer }>();
    for (const file of files) found.set(file.name, { generation: String(file.metadata.generation), body: (await file.download({ decompress: false }))[0] });
    return found;
  }

  it('delivers every record at Terra layout and as ndjson+gzip; a replay of the same messages adds no object', async () => {
    const records = uniqueName('gcs-e2e-json');
    const lake = uniqueName('gcs-e2e-lake');
    const users = ['u-1', 'u-2', 'u-3', 'u-4'];
    const events = users.flatMap((user) => [0, 1, 2].map((index) => activityEvent(user, index)));
    // Everything is on the topic before the first worker starts, so both runs read it in the same
    // batches (ndjson objects are named by a batch's first offset).
    await kafka.produce(deliveryTopic, events.map((event, index) => ({ key: users[index % users.length] ?? null, value: JSON.stringify(event) })));
    const tenant = {
      tenant: 'acme',
      topics: [deliveryTopic],
      deadLetterTopic: `${deliveryTopic}.dlq`,
      destinations: [
        { name: 'records', type: 'gcs', batch: { lingerMs: 200 }, config: { bucket: records, prefix: 'terra', apiEndpoint: '${GCS_ENDPOINT}' } },
        { name: 'lake', type: 'gcs', batch: { lingerMs: 200, maxRecords: 1000 }, config: { bucket: lake, format: 'ndjson', gzip: true, apiEndpoint: '${GCS_ENDPOINT}' } },
      ],
    };

    const first = await start(uniqueName('gcs-first'), tenant);
    const delivered = (run: StartedWorker) => async () => (await counter(run.worker, 'terra_fanout_records_delivered_total', 'records')) === events.length && (await counter(run.worker, 'terra_fanout_records_delivered_total', 'lake')) === events.length;
    assert.ok(await waitFor(delivered(first), 30_000), 'first run delivered every record to both buckets');
    await first.worker.stop();

    const stored = await objects(records);
    assert.equal(stored.size, events.length, [...stored.keys()].join('\n'));
    const sample = stored.get('terra/2022-03-16/activity/u-1-2026-07-01T06:00:00Z.json');
    assert.ok(sample, [...stored.keys()].join('\n'));
    const event = JSON.parse(sample.body.toString('utf8')) as { type: string; user: { user_id: string }; data: Array<{ metadata: { summary_id: string } }> };
    assert.deepEqual([event.type, event.user.user_id, event.data.length, event.data[0]?.metadata.summary_id], ['activity', 'u-1', 1, 'u-1-act-0']);

    const lakeObjects = await objects(lake);
    assert.ok(lakeObjects.size >= 1);
    for (const name of lakeObjects.keys()) assert.match(name, new RegExp(`^activity/${deliveryTopic}\\+0\\+\\d{20}\\.ndjson\\.gz$`));
    const lines = [...lakeObjects.values()].flatMap((object) => gunzipSync(object.body).toString('utf8').trimEnd().split('\n'));
    const summaries = lines.map((line) => (JSON.parse(line) as { data: Array<{ metadata: { summary_id: string } }> }).data[0]?.metadata.summary_id).sort();
    assert.deepEqual(summaries, events.map((item) => ((item['data'] as Array<{ metadata: { summary_id: string } }>)[0]?.metadata.summary_id ?? '')).sort());

    // A replay: a new consumer group reads the same messages from the start.
    const replay = await start(uniqueName('gcs-replay'), tenant);
    assert.ok(await waitFor(delivered(replay), 30_000), 'the replay delivered every record again');
    await replay.worker.stop();
    const restored = await objects(records);
    assert.deepEqual([...restored.keys()].sort(), [...stored.keys()].sort(), 'the same objects, none added');
    for (const [name, object] of restored) {
      assert.notEqual(object.generation, stored.get(name)?.generation, `${name} was overwritten`);
      assert.deepEqual(object.body, stored.get(name)?.body);
    }
    const relake = await objects(lake);
    assert.deepEqual([...relake.keys()].sort(), [...lakeObjects.keys()].sort(), 'the replay rewrote the same ndjson objects');
    for (const [name, object] of relake) assert.deepEqual(gunzipSync(object.body), gunzipSync(lakeObjects.get(name)?.body ?? Buffer.alloc(0)));

    const logs = first.logs() + replay.logs();
    assert.ok(!logs.includes('u-1-act-0'), 'no payload content in the logs');
  });

  it('a bucket deleted and credentials revoked after start: records are parked with destination_not_found and destination_auth_failed', async () => {
    const topic = uniqueName('gcs-dlq-events');
    const gone = uniqueName('gcs-e2e-gone');
    const revoked = uniqueName('gcs-e2e-revoked');
    const run = await start(uniqueName('gcs-dlq'), {
      tenant: 'acme',
      topics: [topic],
      deadLetterTopic: `${topic}.dlq`,
      destinations: [
        { name: 'gone', type: 'gcs', batch: { lingerMs: 20 }, config: { bucket: gone, apiEndpoint: '${GCS_PROXY}', credentials: '${GCS_KEY}' } },
        { name: 'revoked', type: 'gcs', batch: { lingerMs: 20 }, config: { bucket: revoked, apiEndpoint: '${GCS_PROXY}', credentials: '${GCS_KEY}' } },
      ],
    });
    assert.ok(await waitFor(async () => (await fetch(`${run.worker.http.url}/readyz`)).status === 200, 30_000), 'lanes ready: both checks passed');
    proxy.setPolicy(gone, { missing: true });
    proxy.setPolicy(revoked, { invalidCredentials: true });

    const events = [0, 1, 2].map((index) => activityEvent('u-9', index));
    await kafka.produce(topic, events.map((event) => ({ key: 'u-9', value: JSON.stringify(event) })));
    const parked = await kafka.consumeAll(`${topic}.dlq`, { groupId: uniqueName('gcs-dlq-reader'), expected: 2 * events.length, timeoutMs: 30_000 });
    const byDestination = (name: string) => parked.filter((message) => message.headers['x-terra-fanout-destination'] === name);
    assert.equal(byDestination('gone').length, events.length);
    assert.equal(byDestination('revoked').length, events.length);
    for (const message of byDestination('gone')) {
      assert.equal(message.headers['x-terra-fanout-error-code'], 'destination_not_found');
      assert.match(String(message.headers['x-terra-fanout-error-message']), new RegExp(`bucket "${gone}" does not exist`));
      assert.equal(message.headers['x-terra-fanout-connector'], 'gcs');
    }
    for (const message of byDestination('revoked')) assert.equal(message.headers['x-terra-fanout-error-code'], 'destination_auth_failed');
    assert.ok(parked.every((message) => events.some((event) => JSON.stringify(event) === message.value)), 'the original messages, untouched');

    const [inGone] = await sdk().bucket(gone).getFiles({ prefix: '2022-03-16/' });
    assert.equal(inGone.length, 0, 'nothing was written');
    const logs = run.logs();
    assert.match(logs, /destination_not_found/);
    const keyBody = (JSON.parse(account.json) as { private_key: string }).private_key.split('\n')[1] ?? 'no key';
    assert.ok(!logs.includes(keyBody) && !logs.includes('PRIVATE KEY'), 'the service-account key never reaches the logs');
  });
});
