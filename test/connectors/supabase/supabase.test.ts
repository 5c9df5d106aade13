/**
 * The supabase destination through @supabase/supabase-js against the PostgREST stand-in over a real
 * PostgreSQL 15 with connectors/supabase/ddl/*.sql applied (test/support/postgrest-stand-in.ts), or
 * against a real project when SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY are set (its tables made
 * from the same files). Every test uses users of its own, so runs never collide in a real project.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import { createSupabaseClient, createSupabaseClients, type JsonRow, type SupabasePort } from '../../../connectors/supabase/client.js';
import { supabaseConfigSchema } from '../../../connectors/supabase/config.js';
import { createSupabaseDestination } from '../../../connectors/supabase/destination.js';
import { rowFromJson, rowToJson } from '../../../connectors/supabase/encode.js';
import { classifySupabaseAnswer } from '../../../connectors/supabase/supabase-errors.js';
import { ddlObjects } from '../../../connectors/shared/sql-rows/ddl.js';
import { encodeRecordRows } from '../../../connectors/shared/sql-rows/encode-rows.js';
import { defaultTableNames, tableLayout } from '../../../connectors/shared/sql-rows/tables.js';
import type { Destination, RecordOutcome } from '../../../src/connector/contract.js';
import { FanoutError } from '../../../src/errors/catalogue.js';
import type { TerraRecord } from '../../../src/records/record.js';
import { useSupabaseProject } from '../../support/postgrest-stand-in.js';
import { makeActivityBatch, makeDailyRecord, makeRecord } from '../../support/records.js';
import { freePort } from '../../support/server-process.js';
import { activity, sendOk, userEvent, type Json } from '../sql/relational-records.js';

const project = useSupabaseProject();
const context = { tenant: 'acme', destination: 'supabase', logger: pino({ level: 'silent' }) };
const signal = new AbortController().signal;
const opened: Array<{ close(): Promise<void> }> = [];
after(async () => {
  for (const item of opened) await item.close();
});


function open(input: Record<string, unknown> = {}): { destination: Destination; reader: SupabasePort } {
  const config = supabaseConfigSchema.parse({ url: project.current.url, serviceRoleKey: project.current.serviceKey, schema: 'typed', ...input });
  const destination = createSupabaseDestination(config, createSupabaseClients(config, context), context);
  const reader = createSupabaseClient(config);
  opened.push(destination, reader);
  return { destination, reader };
}

const unique = (prefix: string): string => `${prefix}-${randomUUID().slice(0, 8)}`;

async function rows(reader: SupabasePort, table: string, column: string, value: string): Promise<Json[]> {
  const answer = await reader.select(table, ['*'], [{ column, op: 'eq', value }], 1000, signal);
  assert.ok(answer.ok, answer.ok ? '' : `${answer.status} ${answer.code} ${answer.message}`);
  return answer.rows;
}

const enrichmentOf = (payload: unknown): unknown => (payload as { data: Array<{ data_enrichment?: unknown }> }).data[0]?.data_enrichment;

describe('supabase destination', () => {
  it('check() finds every table with its columns and its newest-wins trigger', async () => {
    const { destination } = open();
    await destination.check();
  });

  it('delivers a batch through the API: one row per record with the payload, typed columns, the user\'s state', async () => {
    const { destination, reader } = open();
    const user = unique('sb-deliver');
    const batch = [...makeActivityBatch(3, [user]), makeDailyRecord({ userId: user }), userEvent('auth', user, 1_000)];
    await sendOk(destination, batch);
    const activities = await rows(reader, 'terra_activity', 'user_id', user);
    assert.equal(activities.length, 3);
    const first = activities.find((row) => row['payload_id'] === batch[0]?.identity);
    assert.deepEqual(first?.['payload'], batch[0]?.event);
    assert.equal(first?.['distance_meters'], 5000);
    assert.equal(Date.parse(String(first?.['start_time'])), Date.UTC(2026, 6, 1, 6, 0, 0));
    assert.equal((await rows(reader, 'terra_daily', 'user_id', user)).length, 1);
    assert.equal((await rows(reader, 'terra_other_payloads', 'user_id', user)).length, 1);
    const [stored] = await rows(reader, 'terra_users', 'user_id', user);
    assert.deepEqual([stored?.['state'], stored?.['reference_id'], stored?.['granted_scopes']], ['active', `ref-${user}`, 'ACTIVITY_EXPORT']);
  });

  it('a replay of the same records leaves rows unchanged', async () => {
    const { destination, reader } = open();
    const user = unique('sb-replay');
    const batch = [...makeActivityBatch(3, [user]), userEvent('auth', user, 1_000), userEvent('deauth', user, 2_000)];
    await sendOk(destination, batch);
    const snapshot = async (): Promise<unknown> =>
      Promise.all(['terra_activity', 'terra_other_payloads', 'terra_users'].map(async (table) => (await rows(reader, table, 'user_id', user)).map(({ updated_at: _updated, ...rest }) => rest).sort((a, b) => String(a['payload_id']).localeCompare(String(b['payload_id'])))));
    const before = await snapshot();
    await sendOk(destination, batch);
    await sendOk(destination, [...batch].reverse());
    assert.deepEqual(await snapshot(), before);
    const [stored] = await rows(reader, 'terra_users', 'user_id', user);
    assert.equal(stored?.['state'], 'deauth');
  });

  it('an older resend never overwrites a newer record (the table\'s trigger); an equal one does', async () => {
    const { destination, reader } = open();
    const user = unique('sb-order');
    const newer = activity(user, { distance_data: { summary: { distance_meters: 6000 } } }, 2_000);
    await sendOk(destination, [newer]);
    await sendOk(destination, [activity(user, { distance_data: { summary: { distance_meters: 5000 } } }, 1_000)]);
    let [stored] = await rows(reader, 'terra_activity', 'payload_id', newer.identity);
    assert.deepEqual([stored?.['distance_meters'], stored?.['ordering_ts']], [6000, 2_000]);
    assert.deepEqual(stored?.['payload'], newer.event);
    await sendOk(destination, [activity(user, { distance_data: { summary: { distance_meters: 6100 } } }, 2_000)]);
    [stored] = await rows(reader, 'terra_activity', 'payload_id', newer.identity);
    assert.equal(stored?.['distance_meters'], 6100);
  });

  it('a null data_enrichment score does not wipe a stored one', async () => {
    const { destination, reader } = open();
    const user = unique('sb-enrich');
    const first = activity(user, { data_enrichment: { strain_score: 14.5, efficiency_score: 80 } }, 1_000);
    await sendOk(destination, [first]);
    await sendOk(destination, [activity(user, { data_enrichment: { strain_score: null, efficiency_score: 85 } }, 2_000)]);
    const [stored] = await rows(reader, 'terra_activity', 'payload_id', first.identity);
    assert.deepEqual(enrichmentOf(stored?.['payload']), { strain_score: 14.5, efficiency_score: 85 });
    assert.deepEqual([stored?.['strain_score'], stored?.['efficiency_score']], [14.5, 85]);
  });

  it('user_reauth re-keys the old user id to the new one', async () => {
    const { destination, reader } = open();
    const oldUser = unique('sb-old');
    const newUser = unique('sb-new');
    await sendOk(destination, [userEvent('auth', oldUser, 1_000)]);
    const [before] = await rows(reader, 'terra_users', 'user_id', oldUser);
    const reauth = userEvent('user_reauth', newUser, 2_000, { status: 'warning', new_user: { user_id: newUser, provider: 'GARMIN', scopes: 'SLEEP_EXPORT' }, old_user: { user_id: oldUser, provider: 'GARMIN' } });
    await sendOk(destination, [{ ...reauth, referenceId: null }]);
    assert.deepEqual(await rows(reader, 'terra_users', 'user_id', oldUser), []);
    const [rekeyed] = await rows(reader, 'terra_users', 'user_id', newUser);
    assert.deepEqual(
      [rekeyed?.['state'], rekeyed?.['previous_user_id'], rekeyed?.['reference_id'], rekeyed?.['granted_scopes'], rekeyed?.['created_at']],
      ['user_reauth', oldUser, `ref-${oldUser}`, 'SLEEP_EXPORT', before?.['created_at']],
    );
    await sendOk(destination, [{ ...reauth, referenceId: null }]);
    assert.equal((await rows(reader, 'terra_users', 'user_id', newUser)).length, 1);
  });

  it('a record the database refuses fails alone; the rest of its batch is delivered', async () => {
    const { destination, reader } = open();
    const user = unique('sb-poison');
    const [first, second] = makeActivityBatch(2, [user]);
    const poison = activity(user, { metadata: { summary_id: 'poison', start_time: '2026-07-01T07:00:00Z', end_time: '2026-07-01T08:00:00Z', type: 1, upload_type: 1, name: 'nul \u0000' } }, 1_000);
    const outcomes = await destination.send([first, poison, second].filter((record): record is TerraRecord => record !== undefined), signal);
    assert.deepEqual(outcomes.map((outcome) => (outcome.ok ? 'ok' : outcome.error.code)), ['ok', 'destination_rejected', 'ok']);
    assert.equal((await rows(reader, 'terra_activity', 'user_id', user)).length, 2);
  });

  it('a wrong key fails the check and every record as destination_auth_failed, and is never in a message', async () => {
    const wrongKey = 'wrong-service-role-key-do-not-log';
    const { destination } = open({ serviceRoleKey: wrongKey });
    await assert.rejects(destination.check(), (error: unknown) => error instanceof FanoutError && error.code === 'destination_auth_failed' && !error.message.includes(wrongKey));
    const outcomes = await destination.send(makeActivityBatch(2, [unique('sb-key')]), signal);
    for (const outcome of outcomes) assert.deepEqual(outcome.ok ? 'ok' : [outcome.error.code, outcome.error.retryable], ['destination_auth_failed', false]);
  });

  it('missing tables fail the check as destination_not_found, pointing at the DDL files', async () => {
    const { destination } = open({ tables: { users: `terra_fanout_missing_${randomUUID().slice(0, 8).replaceAll('-', '')}` } });
    await assert.rejects(destination.check(), (error: unknown) => {
      assert.ok(error instanceof FanoutError);
      assert.equal(error.code, 'destination_not_found');
      assert.match(error.message, /connectors\/supabase\/ddl\/\*\.sql/);
      return true;
    });
  });

  it('tables without the newest-wins trigger fail the check as destination_misconfigured', async (t) => {
    const database = project.current.database;
    if (database === null) return t.skip('needs the stand-in\'s database to make tables the API cannot');
    const suffix = randomUUID().slice(0, 8);
    const tables = { users: `plain_users_${suffix}`, dataPayloads: `plain_data_${suffix}`, otherPayloads: `plain_other_${suffix}`, typedPrefix: 'terra_' };
    const layout = tableLayout({ layout: 'terra', namespace: 'public', tables });
    for (const object of ddlObjects('postgres', layout.all)) await database.query(object.sql);
    const { destination } = open({ schema: 'terra', tables });
    await assert.rejects(destination.check(), (error: unknown) => error instanceof FanoutError && error.code === 'destination_misconfigured' && /newest-wins trigger is missing/.test(error.message));
    return undefined;
  });

  it('an unreachable API is retryable; close() twice is harmless', async () => {
    const { destination } = open({ url: `http://127.0.0.1:${await freePort()}`, timeoutMs: 2_000 });
    await assert.rejects(destination.check(), (error: unknown) => error instanceof FanoutError && error.code === 'destination_unavailable' && error.retryable);
    const outcomes: RecordOutcome[] = await destination.send(makeActivityBatch(2), signal);
    assert.ok(outcomes.every((outcome) => !outcome.ok && outcome.error.retryable));
    await destination.close();
    await destination.close();
  });
});

describe('supabase rows and errors (pure)', () => {
  it('rows go to the API as JSON: times as ISO-8601, the payload as the event object; and come back', () => {
    const layout = tableLayout({ layout: 'terra', namespace: 'public', tables: defaultTableNames });
    const record = makeRecord();
    const [row] = encodeRecordRows(layout, record).rows;
    assert.ok(row !== undefined);
    const json: JsonRow = rowToJson(row);
    assert.equal(json['start_time'], '2026-07-01T06:04:11.000Z');
    assert.deepEqual(json['payload'], record.event);
    assert.equal(json['ordering_ts'], record.orderingTimestampMs);
    assert.deepEqual(rowToJson(rowFromJson(layout.data, json)), json);
  });

  it('API answers map to the catalogue', () => {
    const target = 'Supabase abcd.supabase.co';
    const cases: Array<[number, string, string | null, string]> = [
      [0, '', 'ECONNREFUSED', 'destination_unavailable'],
      [0, '', 'AbortError', 'destination_timeout'],
      [401, '', null, 'destination_auth_failed'],
      [403, '42501', null, 'destination_auth_failed'],
      [404, 'PGRST205', null, 'destination_not_found'],
      [400, 'PGRST204', null, 'destination_misconfigured'],
      [406, 'PGRST106', null, 'destination_misconfigured'],
      [400, '22P05', null, 'destination_rejected'],
      [409, '23505', null, 'destination_rejected'],
      [413, '', null, 'destination_record_too_large'],
      [429, '', null, 'destination_throttled'],
      [500, '57014', null, 'destination_timeout'],
      [503, 'PGRST001', null, 'destination_unavailable'],
      [504, '', null, 'destination_timeout'],
    ];
    for (const [status, code, cause, expected] of cases) {
      const error = classifySupabaseAnswer({ ok: false, status, code, message: 'value "secret-health-value" refused', cause, retryAfter: status === 429 ? '3' : null }, target);
      assert.equal(error.code, expected, `${status} ${code}`);
      assert.ok(!error.message.includes('secret-health-value'), 'quoted values are dropped');
      if (status === 429) assert.equal(error.retryAfterMs, 3000);
    }
  });
});
