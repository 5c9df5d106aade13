/**
 * End to end: Terra events through the local Kafka broker and the real worker into Supabase (the
 * PostgREST stand-in over PostgreSQL, or a real project with SUPABASE_URL/SUPABASE_SERVICE_ROLE_KEY).
 * Records land as rows; replaying the same Kafka messages changes nothing.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { createSupabaseClient, type JsonRow } from '../../../connectors/supabase/client.js';
import { supabaseConfigSchema } from '../../../connectors/supabase/config.js';
import { loadWorkerWithTenants } from '../../../src/config/load-config.js';
import { startWorker } from '../../../src/worker/worker.js';
import { uniqueName, useKafkaBroker } from '../../support/kafka.js';
import { useSupabaseProject } from '../../support/postgrest-stand-in.js';
import { activityEvent, useCleanups, waitFor, writeWorkerFiles } from '../../support/worker-files.js';

const kafka = useKafkaBroker();
const project = useSupabaseProject();

describe('worker -> supabase through the local broker', () => {
  const cleanups = useCleanups();

  it('delivers every record as one row, and a replay of the same messages changes nothing', async () => {
    const topic = uniqueName('supabase-events');
    const { dir, workerPath } = await writeWorkerFiles({
      brokers: kafka.brokers,
      tenants: [
        {
          tenant: 'acme',
          topics: [topic],
          deadLetterTopic: `${topic}.dlq`,
          destinations: [{ name: 'app', type: 'supabase', batch: { lingerMs: 20 }, retry: { initialDelayMs: 100, maxDelayMs: 300 }, config: { url: project.current.url, serviceRoleKey: '${SUPABASE_KEY}' } }],
        },
      ],
    });
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const loaded = await loadWorkerWithTenants(workerPath, { ...process.env, SUPABASE_KEY: project.current.serviceKey });
    assert.ok(loaded.ok, loaded.ok ? '' : JSON.stringify(loaded.problems));
    const worker = await startWorker(loaded.value, { logger: pino({ level: 'warn' }), httpPort: 0 });
    cleanups.push(() => worker.stop());
    assert.ok(await waitFor(async () => (await fetch(`${worker.http.url}/readyz`)).status === 200, 30_000), 'lane ready');

    const users = [0, 1].map(() => `sb-e2e-${randomUUID().slice(0, 8)}`);
    const messages = users.flatMap((user) => [
      ...[0, 1, 2].map((index) => ({ key: user, value: JSON.stringify(activityEvent(user, index)), headers: { 'x-terra-trace-id': `${user}-${index}`, 'x-terra-ordering-timestamp': '1782900000000' } })),
      // No ordering header: the Kafka timestamp orders it, and a replay carries the same timestamp.
      { key: user, value: JSON.stringify({ type: 'auth', status: 'success', user: { user_id: user, provider: 'GARMIN', reference_id: `ref-${user}` } }), headers: { 'x-terra-trace-id': `${user}-auth` }, timestamp: '1782900000500' },
    ]);
    await kafka.produce(topic, messages);

    const reader = createSupabaseClient(supabaseConfigSchema.parse({ url: project.current.url, serviceRoleKey: project.current.serviceKey }));
    const signal = new AbortController().signal;
    const rowsOf = async (table: string): Promise<JsonRow[]> => {
      const found: JsonRow[] = [];
      for (const user of users) {
        const answer = await reader.select(table, ['*'], [{ column: 'user_id', op: 'eq', value: user }], 100, signal);
        if (answer.ok) found.push(...answer.rows);
      }
      return found.map(({ updated_at: _updated, ...rest }) => rest).sort((a, b) => String(a['payload_id'] ?? a['user_id']).localeCompare(String(b['payload_id'] ?? b['user_id'])));
    };
    const delivered = async (): Promise<number> =>
      Number(/terra_fanout_records_delivered_total\{tenant="acme",destination="app",connector="supabase"\} (\d+)/.exec(await (await fetch(`${worker.http.url}/metrics`)).text())?.[1] ?? 0);

    assert.ok(await waitFor(async () => (await delivered()) === messages.length, 30_000), 'every record delivered');
    const before = await Promise.all(['terra_data_payloads', 'terra_other_payloads', 'terra_users'].map(rowsOf));
    assert.deepEqual(before.map((rows) => rows.length), [6, 2, 2]);
    assert.deepEqual(before[2]?.map((row) => row['state']), ['active', 'active']);

    await kafka.produce(topic, messages);
    assert.ok(await waitFor(async () => (await delivered()) === 2 * messages.length, 30_000), 'the replay was processed');
    assert.deepEqual(await Promise.all(['terra_data_payloads', 'terra_other_payloads', 'terra_users'].map(rowsOf)), before, 'rows are unchanged');
  });
});
