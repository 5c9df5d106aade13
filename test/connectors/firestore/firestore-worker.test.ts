import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { loadWorkerWithTenants } from '../../../src/config/load-config.js';
import { deadLetterHeader } from '../../../src/lane/dead-letter.js';
import { startWorker, type RunningWorker } from '../../../src/worker/worker.js';
import { startFirestoreEmulator } from '../../support/firestore-emulator.js';
import { uniqueName, useKafkaBroker } from '../../support/kafka.js';
import { useServer } from '../../support/server-process.js';
import { activityEvent, useCleanups, waitFor, writeWorkerFiles } from '../../support/worker-files.js';

/**
 * End to end: Terra events on the local Kafka broker, through the worker, into Google's Firestore
 * emulator; then the same Kafka messages replayed by a second consumer group.
 */

const kafka = useKafkaBroker();
const emulator = useServer(() => startFirestoreEmulator());

function authEvent(userId: string): Record<string, unknown> {
  return {
    type: 'auth',
    status: 'success',
    user: { user_id: userId, provider: 'GARMIN', reference_id: `ref-${userId}`, scopes: 'ACTIVITY_EXPORT', active: true, last_webhook_update: null },
    reference_id: `ref-${userId}`,
    widget_session_id: 'ws-1',
    message: 'User has successfully authenticated',
    version: '2022-03-16',
  };
}

describe('worker into the Firestore emulator', () => {
  const cleanups = useCleanups();

  it('delivers Terra events to Terra-parity documents, parks only the bad one, keeps newer data, and a replay changes nothing', async () => {
    const projectId = emulator.current.projectId();
    const reader = emulator.current.reader(projectId);
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
            {
              name: 'app-db',
              type: 'firestore',
              batch: { lingerMs: 20 },
              retry: { initialDelayMs: 100, maxDelayMs: 500 },
              config: { projectId: '${FS_PROJECT}', emulatorHost: '${FS_HOST}' },
            },
          ],
        },
      ],
    });
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const loaded = await loadWorkerWithTenants(workerPath, { ...process.env, FS_PROJECT: projectId, FS_HOST: emulator.current.host });
    assert.ok(loaded.ok, loaded.ok ? '' : JSON.stringify(loaded.problems));

    const users = ['u-1', 'u-2', 'u-3'];
    const activities = users.flatMap((user) => [0, 1, 2, 3].map((index) => activityEvent(user, index)));
    const newer = activityEvent('u-9', 0, { distance_data: { summary: { distance_meters: 9000 } } });
    const older = activityEvent('u-9', 0, { distance_data: { summary: { distance_meters: 1000 } } });
    const oversized = activityEvent('u-8', 0, { heart_rate_data: { detailed: { hr_samples: 'x'.repeat(1_200_000) } } });
    await kafka.produce(topic, [
      ...activities.map((event, index) => ({ key: `a-${index}`, value: JSON.stringify(event) })),
      { key: 'auth', value: JSON.stringify(authEvent('u-1')), headers: { 'x-terra-ordering-timestamp': '1782900000000' } },
      { key: 'oversized', value: JSON.stringify(oversized) },
      // The newer copy arrives first; Terra's later resend of the older one must not overwrite it.
      { key: 'newer', value: JSON.stringify(newer), headers: { 'x-terra-ordering-timestamp': '1782900002000' } },
      { key: 'older', value: JSON.stringify(older), headers: { 'x-terra-ordering-timestamp': '1782900001000' } },
    ]);

    const count = async (collection: string): Promise<number> => (await reader.collection(`terra/2022-03-16/${collection}`).count().get()).data().count;
    const first: RunningWorker = await startWorker(loaded.value, { logger: pino({ level: 'silent' }), httpPort: 0 });
    cleanups.push(() => first.stop());
    assert.ok(await waitFor(async () => (await count('activity')) === activities.length + 1 && (await count('user_events')) === 1, 40_000), 'every good record delivered');
    const delivered = /terra_fanout_records_delivered_total\{tenant="acme",destination="app-db",connector="firestore"\} 15/;
    assert.ok(await waitFor(async () => delivered.test(await (await fetch(`${first.http.url}/metrics`)).text()), 20_000), 'the lane settled every record');

    const parked = await kafka.consumeAll(dlq, { groupId: uniqueName('dlq-reader'), expected: 1, timeoutMs: 20_000 });
    assert.deepEqual(
      parked.map((message) => [message.key, message.headers[deadLetterHeader.code]]),
      [['oversized', 'destination_record_too_large']],
      'only the oversized record is dead-lettered',
    );

    const activity = (await reader.doc('terra/2022-03-16/activity/u-2-2026-07-01T06:01:00Z.json').get()).data();
    assert.deepEqual(activity?.['user'], (activities[5] ?? {})['user'], 'the user object beside the data');
    assert.equal((activity?.['metadata'] as Record<string, unknown> | undefined)?.['summary_id'], 'u-2-act-1');
    const auth = (await reader.doc('terra/2022-03-16/user_events/u-1-2026-07-01T10:00:00Z.json').get()).data();
    assert.equal(auth?.['type'], 'auth');
    const kept = (await reader.doc('terra/2022-03-16/activity/u-9-2026-07-01T06:00:00Z.json').get()).data();
    assert.deepEqual(kept?.['distance_data'], { summary: { distance_meters: 9000 } }, 'the older resend did not overwrite the newer document');
    await first.stop();

    // Replay: a new consumer group reads the same Kafka messages from the beginning.
    const snapshot = async (): Promise<Map<string, unknown>> => {
      const all = new Map<string, unknown>();
      for (const collection of await reader.doc('terra/2022-03-16').listCollections()) {
        if (collection.id === '_terra_fanout_checks') continue; // rewritten by every check()
        for (const document of (await collection.get()).docs) all.set(document.ref.path, document.data());
      }
      return all;
    };
    const before = await snapshot();
    const replayConfig = { ...loaded.value, worker: { ...loaded.value.worker, kafka: { ...loaded.value.worker.kafka, groupPrefix: 'replay' } } };
    const second = await startWorker(replayConfig, { logger: pino({ level: 'silent' }), httpPort: 0 });
    cleanups.push(() => second.stop());
    assert.ok(await waitFor(async () => delivered.test(await (await fetch(`${second.http.url}/metrics`)).text()), 40_000), 'the replay settled every record');
    const parkedAgain = await kafka.consumeAll(dlq, { groupId: uniqueName('dlq-reader'), expected: 2, timeoutMs: 20_000 });
    assert.equal(parkedAgain.length, 2, 'the replay parked the oversized record again, and nothing else');
    await second.stop();
    const after = await snapshot();
    assert.equal(after.size, before.size, 'same document count after the replay');
    assert.deepEqual(after, before, 'same documents after the replay');
  });
});
