/**
 * End to end: Terra events produced to the local Kafka broker, the real worker, one lane into a
 * real PostgreSQL. Records land as rows; replaying the same Kafka messages changes nothing.
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { loadWorkerWithTenants } from '../../../src/config/load-config.js';
import { createLogger } from '../../../src/observability/logger.js';
import { startWorker } from '../../../src/worker/worker.js';
import { uniqueName, useKafkaBroker } from '../../support/kafka.js';
import { usePostgres } from '../../support/postgres.js';
import { activityEvent, useCleanups, waitFor, writeWorkerFiles } from '../../support/worker-files.js';

const kafka = useKafkaBroker();
const postgres = usePostgres();
const password = 'pg-e2e-password-never-logged';

function userEvent(type: string, userId: string): Record<string, unknown> {
  return { type, status: 'success', user: { user_id: userId, provider: 'GARMIN', reference_id: `ref-${userId}`, scopes: 'ACTIVITY_EXPORT' }, message: `${type} event` };
}

describe('worker -> sql (postgres) through the local broker', () => {
  const cleanups = useCleanups();

  it('delivers every record as one row, and a replay of the same messages changes nothing', async () => {
    const topic = uniqueName('sql-events');
    const url = new URL(postgres.current.url);
    url.password = password;
    const { dir, workerPath } = await writeWorkerFiles({
      brokers: kafka.brokers,
      tenants: [
        {
          tenant: 'acme',
          topics: [topic],
          deadLetterTopic: `${topic}.dlq`,
          destinations: [{ name: 'warehouse', type: 'sql', batch: { lingerMs: 20 }, retry: { initialDelayMs: 100, maxDelayMs: 300 }, config: { dialect: 'postgres', url: '${WAREHOUSE_URL}', schema: 'typed' } }],
        },
      ],
    });
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const loaded = await loadWorkerWithTenants(workerPath, { ...process.env, WAREHOUSE_URL: url.toString() });
    assert.ok(loaded.ok, loaded.ok ? '' : JSON.stringify(loaded.problems));
    const logLines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logLines.push(chunk.toString());
        done();
      },
    });
    const worker = await startWorker(loaded.value, { logger: createLogger('debug', sink), httpPort: 0 });
    cleanups.push(() => worker.stop());
    assert.ok(await waitFor(async () => (await fetch(`${worker.http.url}/readyz`)).status === 200, 30_000), 'lane ready (its check created the tables)');

    const users = ['e2e-u1', 'e2e-u2', 'e2e-u3'];
    const messages = [
      ...users.flatMap((user) => [0, 1, 2].map((index) => ({ key: user, value: JSON.stringify(activityEvent(user, index)), headers: { 'x-terra-trace-id': `${user}-act-${index}`, 'x-terra-ordering-timestamp': String(1_782_900_000_000 + index) } }))),
      ...users.map((user) => ({ key: user, value: JSON.stringify(userEvent('auth', user)), headers: { 'x-terra-trace-id': `${user}-auth`, 'x-terra-ordering-timestamp': '1782900000100' } })),
      { key: 'e2e-u1', value: JSON.stringify(userEvent('deauth', 'e2e-u1')), headers: { 'x-terra-trace-id': 'e2e-u1-deauth', 'x-terra-ordering-timestamp': '1782900000200' } },
    ];
    await kafka.produce(topic, messages);

    const count = async (table: string): Promise<number> => Number((await postgres.current.query<{ n: string }>(`SELECT COUNT(*) AS n FROM terra."${table}"`))[0]?.n ?? 0);
    const delivered = async (): Promise<number> => {
      const text = await (await fetch(`${worker.http.url}/metrics`)).text();
      return Number(/terra_fanout_records_delivered_total\{tenant="acme",destination="warehouse",connector="sql"\} (\d+)/.exec(text)?.[1] ?? 0);
    };
    assert.ok(await waitFor(async () => (await count('terra_activity')) === 9 && (await count('terra_other_payloads')) === 4, 30_000), 'every record is a row');
    assert.ok(await waitFor(async () => (await delivered()) === messages.length, 10_000), 'the lane counted every record');
    const users_ = await postgres.current.query<{ user_id: string; state: string }>('SELECT user_id, state FROM terra.terra_users ORDER BY user_id');
    assert.deepEqual(users_.map((row) => [row.user_id, row.state]), [['e2e-u1', 'deauth'], ['e2e-u2', 'active'], ['e2e-u3', 'active']]);
    const [first] = await postgres.current.query<{ payload: { data: Array<{ metadata: { summary_id: string } }> }; distance_meters: number }>(
      "SELECT payload, distance_meters FROM terra.terra_activity WHERE summary_id = 'e2e-u1-act-1'",
    );
    assert.equal(first?.payload.data[0]?.metadata.summary_id, 'e2e-u1-act-1');
    assert.equal(first?.distance_meters, 5001);

    const snapshot = async (): Promise<unknown> =>
      postgres.current.query('SELECT payload_id, user_id, ordering_ts, payload, created_at FROM terra.terra_activity UNION ALL SELECT payload_id, user_id, ordering_ts, payload, created_at FROM terra.terra_other_payloads ORDER BY payload_id');
    const before = await snapshot();
    const usersBefore = await postgres.current.query('SELECT user_id, state, ordering_ts, created_at FROM terra.terra_users ORDER BY user_id');

    // The same Kafka messages again (a replay after an offset reset, or a producer retry).
    await kafka.produce(topic, messages);
    assert.ok(await waitFor(async () => (await delivered()) === 2 * messages.length, 30_000), 'the replay was processed');
    assert.equal(await count('terra_activity'), 9);
    assert.equal(await count('terra_other_payloads'), 4);
    assert.deepEqual(await snapshot(), before, 'rows are unchanged');
    assert.deepEqual(await postgres.current.query('SELECT user_id, state, ordering_ts, created_at FROM terra.terra_users ORDER BY user_id'), usersBefore);

    const logs = logLines.join('');
    assert.ok(!logs.includes(password), 'the database password never reaches the logs');
    assert.ok(!logs.includes('e2e-u1-act-1'), 'no payload content in the logs');
  });
});
