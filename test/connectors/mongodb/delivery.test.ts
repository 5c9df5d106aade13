import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { describe, it } from 'node:test';
import type { Document } from 'mongodb';
import { pino } from 'pino';
import { loadWorkerWithTenants } from '../../../src/config/load-config.js';
import { deadLetterHeader } from '../../../src/lane/dead-letter.js';
import { startWorker, type RunningWorker } from '../../../src/worker/worker.js';
import { uniqueName, useKafkaBroker } from '../../support/kafka.js';
import { useMongoTarget } from '../../support/mongodb-stand-in.js';
import { activityEvent, useCleanups, waitFor, writeWorkerFiles } from '../../support/worker-files.js';

/**
 * End to end: Terra events on the local Kafka broker, through the worker, into MongoDB (the
 * mongodb-stand-in, or MONGODB_URL).
 */

const kafka = useKafkaBroker();
const target = useMongoTarget();

const T0 = 1_782_900_000_000;

function dailyEvent(userId: string, steps: number): Record<string, unknown> {
  return {
    type: 'daily',
    user: { user_id: userId, provider: 'OURA', reference_id: `ref-${userId}`, scopes: null, active: true, last_webhook_update: null },
    data: [{ metadata: { start_time: '2026-07-01T00:00:00.000000+01:00', end_time: '2026-07-02T00:00:00.000000+01:00', upload_type: 1 }, distance_data: { steps } }],
    version: '2022-03-16',
  };
}

function message(key: string, event: Record<string, unknown>, orderingTimestamp: number) {
  return { key, value: JSON.stringify(event), headers: { 'x-terra-ordering-timestamp': String(orderingTimestamp), 'x-terra-trace-id': `trace-${key}-${orderingTimestamp}` } };
}

async function snapshot(database: string): Promise<Record<string, Document[]>> {
  const db = target.current.client.db(database);
  const result: Record<string, Document[]> = {};
  for (const name of ['activity', 'daily', 'user_events']) result[name] = await db.collection(name).find({}).toArray();
  return result;
}

describe('worker → MongoDB through the local broker', () => {
  const cleanups = useCleanups();

  it('delivers Terra events as documents, parks a bad document alone, and a replay or a stale resend changes nothing', async () => {
    const topic = uniqueName('mongo-events');
    const dlq = `${topic}.dlq`;
    const database = target.current.database('tf_e2e');
    const destination = (name: string) => ({ name, type: 'mongodb', batch: { lingerMs: 20 }, retry: { initialDelayMs: 100, maxDelayMs: 500 }, config: { url: '${MONGODB_URL}', database } });
    const files = await writeWorkerFiles({
      brokers: kafka.brokers,
      tenants: [{ tenant: 'acme', topics: [topic], deadLetterTopic: dlq, destinations: [destination('app-db')] }],
    });
    const replayFiles = await writeWorkerFiles({
      brokers: kafka.brokers,
      tenants: [{ tenant: 'acme', topics: [topic], deadLetterTopic: dlq, destinations: [destination('app-db-replay')] }],
    });
    cleanups.push(() => rm(files.dir, { recursive: true, force: true }), () => rm(replayFiles.dir, { recursive: true, force: true }));
    const env = { ...process.env, MONGODB_URL: target.current.url };
    const run = async (workerPath: string): Promise<RunningWorker> => {
      const loaded = await loadWorkerWithTenants(workerPath, env);
      assert.ok(loaded.ok, loaded.ok ? '' : JSON.stringify(loaded.problems));
      const worker = await startWorker(loaded.value, { logger: pino({ level: 'silent' }), httpPort: 0 });
      cleanups.push(() => worker.stop());
      return worker;
    };
    const delivered = async (worker: RunningWorker, lane: string): Promise<number> => {
      const metrics = await (await fetch(`${worker.http.url}/metrics`)).text();
      const match = new RegExp(`terra_fanout_records_delivered_total\\{tenant="acme",destination="${lane}",connector="mongodb"\\} (\\d+)`).exec(metrics);
      return Number(match?.[1] ?? 0);
    };

    const bad = activityEvent('u-bad', 9, { $where: 'a field name MongoDB refuses at the top of a document' });
    const messages = [
      ...['u-1', 'u-2', 'u-3'].flatMap((user, u) => [0, 1].map((index) => message(`${user}-${index}`, activityEvent(user, index), T0 + u * 10 + index))),
      message('daily-u-1', dailyEvent('u-1', 8_000), T0 + 100),
      message('auth-u-2', { type: 'auth', status: 'success', user: { user_id: 'u-2', provider: 'GARMIN', reference_id: 'ref-u-2' }, message: 'User has successfully authenticated', version: '2022-03-16' }, T0 + 200),
      message('bad', bad, T0 + 300),
    ];
    const worker = await run(files.workerPath);
    await kafka.produce(topic, messages);

    assert.ok(await waitFor(async () => (await delivered(worker, 'app-db')) === 8, 30_000), 'eight records delivered');
    const parked = await kafka.consumeAll(dlq, { groupId: uniqueName('dlq-reader'), expected: 1, timeoutMs: 20_000 });
    assert.deepEqual(
      parked.map((entry) => [entry.key, entry.headers[deadLetterHeader.code]]),
      [['bad', 'destination_rejected']],
    );
    const first = await snapshot(database);
    assert.deepEqual(
      Object.fromEntries(Object.entries(first).map(([name, documents]) => [name, documents.length])),
      { activity: 6, daily: 1, user_events: 1 },
    );
    const activity = first['activity']?.find((document) => (document['_id'] as Document)['user_id'] === 'u-2');
    assert.equal((activity?.['user'] as Document | undefined)?.['reference_id'], 'ref-u-2', 'the user object is beside the activity');
    assert.deepEqual(first['user_events']?.[0]?.['_id'], { user_id: 'u-2', event_time: new Date(T0 + 200).toISOString() });
    await worker.stop();

    // A replay: a new lane reads the same Kafka messages again from the beginning.
    const replay = await run(replayFiles.workerPath);
    assert.ok(await waitFor(async () => (await delivered(replay, 'app-db-replay')) === 8, 30_000), 'the replay went through');
    assert.deepEqual(await snapshot(database), first, 'the replay changed no document and added none');

    // Terra resends: an older copy of the daily changes nothing, a newer one replaces it.
    await kafka.produce(topic, [message('daily-u-1-stale', dailyEvent('u-1', 5_000), T0 + 50)]);
    assert.ok(await waitFor(async () => (await delivered(replay, 'app-db-replay')) === 9, 20_000));
    assert.deepEqual(await snapshot(database), first, 'the stale resend changed nothing');
    await kafka.produce(topic, [message('daily-u-1-newer', dailyEvent('u-1', 9_900), T0 + 1_000)]);
    assert.ok(await waitFor(async () => (await delivered(replay, 'app-db-replay')) === 10, 20_000));
    const daily = (await snapshot(database))['daily'];
    assert.equal(daily?.length, 1);
    assert.equal((daily?.[0]?.['distance_data'] as Document | undefined)?.['steps'], 9_900);
  });
});
