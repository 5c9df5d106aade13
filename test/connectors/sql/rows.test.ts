/** Pure tests of the shared relational row encoding (connectors/shared/sql-rows), no database. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeRecordRows, isJsonCell, jsonCell, parseInstantMs, payloadTableFor, recordLocation, type EncodedRow } from '../../../connectors/shared/sql-rows/encode-rows.js';
import { mergeEnrichment, mergeRow } from '../../../connectors/shared/sql-rows/merge-rows.js';
import { chunkRows, planWrites } from '../../../connectors/shared/sql-rows/plan-writes.js';
import { defaultTableNames, tableLayout } from '../../../connectors/shared/sql-rows/tables.js';
import type { TerraRecord } from '../../../src/records/record.js';
import { makeActivityBatch, makeAthleteRecord, makeDailyRecord, makeRecord, makeTeamsRecord, makeUserEventRecord } from '../../support/records.js';

const terra = tableLayout({ layout: 'terra', namespace: 'terra', tables: defaultTableNames });
const typed = tableLayout({ layout: 'typed', namespace: null, tables: defaultTableNames });

/** An activity record whose item carries `extra` fields, at `orderingMs`. */
function activity(extra: Record<string, unknown>, orderingMs: number, overrides: Partial<TerraRecord> = {}): TerraRecord {
  const base = makeRecord(overrides);
  const item = { ...(base.item ?? {}), ...extra };
  const event = { ...base.event, data: [item] };
  return { ...base, item, event, body: Buffer.from(JSON.stringify(event)), orderingTimestampMs: orderingMs };
}

function payloadOf(row: EncodedRow | undefined): Record<string, unknown> {
  const cell = row?.cells['payload'];
  assert.ok(isJsonCell(cell));
  return JSON.parse(cell.text) as Record<string, unknown>;
}

function enrichmentOf(row: EncodedRow | undefined): unknown {
  return (payloadOf(row)['data'] as Array<Record<string, unknown>>)[0]?.['data_enrichment'];
}

describe('parseInstantMs', () => {
  it('reads Terra times with offsets, microseconds, Z, no offset (as UTC) and dates', () => {
    assert.equal(parseInstantMs('2026-07-01T07:04:11.000000+01:00'), Date.UTC(2026, 6, 1, 6, 4, 11));
    assert.equal(parseInstantMs('2026-07-01T07:04:11.123456-05:30'), Date.UTC(2026, 6, 1, 12, 34, 11, 123));
    assert.equal(parseInstantMs('2026-07-01T06:00:00Z'), Date.UTC(2026, 6, 1, 6));
    assert.equal(parseInstantMs('2026-07-01T06:00:00'), Date.UTC(2026, 6, 1, 6), 'a local time is read as UTC');
    assert.equal(parseInstantMs('2026-07-01'), Date.UTC(2026, 6, 1));
    assert.equal(parseInstantMs('2026-07-01 06:00'), Date.UTC(2026, 6, 1, 6));
  });

  it('gives null for anything else, and outside years 1000-9999', () => {
    for (const raw of [null, undefined, '', 'yesterday', '2026-13-01T00:00:00Z', '2026-07-01T25:00:00Z', '0999-12-31T00:00:00Z', '10000-01-01', '1000-01-01T00:00:00+01:00']) {
      assert.equal(parseInstantMs(raw), null, String(raw));
    }
  });
});

describe('encodeRecordRows', () => {
  it('a data record is one row in terra_data_payloads with the payload as the record event', () => {
    const record = makeRecord();
    const writes = encodeRecordRows(terra, record);
    assert.equal(writes.reauth, null);
    assert.equal(writes.rows.length, 1);
    const [row] = writes.rows;
    assert.equal(row?.table.name, 'terra_data_payloads');
    const { payload, ...cells } = row?.cells ?? {};
    assert.deepEqual(cells, {
      payload_id: record.identity,
      user_id: 'user-1',
      reference_id: 'ref-1',
      data_type: 'activity',
      provider: 'GARMIN',
      summary_id: 'summary-1',
      start_time: Date.UTC(2026, 6, 1, 6, 4, 11),
      end_time: Date.UTC(2026, 6, 1, 6, 34, 11),
      ordering_ts: record.orderingTimestampMs,
    });
    assert.ok(isJsonCell(payload));
    assert.equal(payload.text, record.body.toString('utf8'));
    assert.deepEqual(payload.value, record.event);
    assert.deepEqual(Object.keys(row?.cells ?? {}).sort(), row?.table.columns.map((column) => column.name).sort(), 'one value per column');
    assert.equal(recordLocation(terra, record), `terra.terra_data_payloads#${record.identity}`);
  });

  it('layout typed puts activity, daily, sleep, body and nutrition in their own tables with typed columns', () => {
    const record = activity(
      {
        active_durations_data: { activity_seconds: 1500 },
        calories_data: { total_burned_calories: 512.5 },
        heart_rate_data: { summary: { avg_hr_bpm: 148, max_hr_bpm: 176 } },
        TSS_data: { TSS_samples: [{ actual: null }, { actual: 71.2 }] },
        data_enrichment: { strain_score: 14.5, efficiency_score: null },
        metadata: { summary_id: 'summary-1', start_time: '2026-07-01T07:00:00+01:00', end_time: '2026-07-01T07:30:00+01:00', type: 0, upload_type: 1, name: 'Drive' },
      },
      1,
      { startTime: '2026-07-01T07:00:00+01:00', endTime: '2026-07-01T07:30:00+01:00' },
    );
    const [row] = encodeRecordRows(typed, record).rows;
    assert.equal(row?.table.name, 'terra_activity');
    assert.deepEqual(
      Object.fromEntries(['activity_type', 'activity_name', 'duration_seconds', 'active_seconds', 'distance_meters', 'steps', 'calories', 'avg_hr_bpm', 'max_hr_bpm', 'tss', 'strain_score', 'efficiency_score'].map((name) => [name, row?.cells[name]])),
      { activity_type: 0, activity_name: 'Drive', duration_seconds: 1800, active_seconds: 1500, distance_meters: 5000, steps: null, calories: 512.5, avg_hr_bpm: 148, max_hr_bpm: 176, tss: 71.2, strain_score: 14.5, efficiency_score: null },
    );
    assert.equal(payloadTableFor(typed, makeDailyRecord()).name, 'terra_daily');
    assert.equal(payloadTableFor(typed, makeAthleteRecord()).name, 'terra_data_payloads', 'types without a typed table stay in terra_data_payloads');
    assert.equal(recordLocation(typed, record), `terra_activity#${record.identity}`);
  });

  it('typed columns ignore values of the wrong kind instead of failing the write', () => {
    const record = activity({ calories_data: { total_burned_calories: '512' }, heart_rate_data: 'n/a', metadata: { summary_id: 's', start_time: 'x', end_time: 'y', type: 1.5 } }, 1, { startTime: 'x', endTime: 'y' });
    const [row] = encodeRecordRows(typed, record).rows;
    assert.equal(row?.cells['calories'], null);
    assert.equal(row?.cells['avg_hr_bpm'], null);
    assert.equal(row?.cells['activity_type'], null);
    assert.equal(row?.cells['start_time'], null);
    assert.equal(row?.cells['duration_seconds'], null);
  });

  it('body and sleep typed columns', () => {
    const body = makeDailyRecord({ type: 'body' });
    const bodyItem = { metadata: { start_time: '2026-07-01T00:00:00Z', end_time: '2026-07-02T00:00:00Z' }, measurements_data: { measurements: [{ weight_kg: 70, BMI: 22 }, { weight_kg: 71, bodyfat_percentage: 18 }], day_avg_bmi: 22.5 } };
    const [bodyRow] = encodeRecordRows(typed, { ...body, item: bodyItem }).rows;
    assert.deepEqual([bodyRow?.table.name, bodyRow?.cells['weight_kg'], bodyRow?.cells['bmi'], bodyRow?.cells['bodyfat_percentage']], ['terra_body', 71, 22.5, 18]);
    const sleepItem = { metadata: { is_nap: false }, sleep_durations_data: { asleep: { duration_REM_sleep_state_seconds: 5400 }, sleep_efficiency: 87.5 } };
    const [sleepRow] = encodeRecordRows(typed, { ...makeDailyRecord({ type: 'sleep' }), item: sleepItem }).rows;
    assert.deepEqual([sleepRow?.table.name, sleepRow?.cells['is_nap'], sleepRow?.cells['rem_seconds'], sleepRow?.cells['efficiency']], ['terra_sleep', false, 5400, 87.5]);
  });

  it('auth, deauth and access_revoked also upsert terra_users with their state; a failed auth does not', () => {
    for (const [type, state] of [['auth', 'active'], ['deauth', 'deauth'], ['access_revoked', 'access_revoked']] as const) {
      const writes = encodeRecordRows(terra, makeUserEventRecord({ type }));
      assert.deepEqual(writes.rows.map((row) => row.table.name), ['terra_other_payloads', 'terra_users'], type);
      assert.deepEqual(writes.rows[1]?.cells, { user_id: 'user-1', reference_id: 'ref-1', provider: 'GARMIN', granted_scopes: 'ACTIVITY_EXPORT', state, previous_user_id: null, ordering_ts: Date.parse('2026-07-01T08:00:00.000Z') });
    }
    const failed = makeUserEventRecord();
    const writes = encodeRecordRows(terra, { ...failed, event: { ...failed.event, status: 'error' } });
    assert.deepEqual(writes.rows.map((row) => row.table.name), ['terra_other_payloads']);
    assert.deepEqual(encodeRecordRows(terra, makeUserEventRecord({ type: 'connection_error' })).rows.map((row) => row.table.name), ['terra_other_payloads']);
  });

  it('user_reauth re-keys terra_users from old_user to new_user', () => {
    const base = makeUserEventRecord({ type: 'user_reauth', userId: 'new-user' });
    const event = { type: 'user_reauth', status: 'warning', new_user: { user_id: 'new-user', provider: 'GARMIN', scopes: 'A,B' }, old_user: { user_id: 'old-user', provider: 'GARMIN' }, message: 'm', version: null };
    const writes = encodeRecordRows(terra, { ...base, event });
    assert.deepEqual(writes.rows.map((row) => row.table.name), ['terra_other_payloads']);
    assert.equal(writes.reauth?.oldUserId, 'old-user');
    assert.deepEqual(
      [writes.reauth?.row.cells['user_id'], writes.reauth?.row.cells['state'], writes.reauth?.row.cells['previous_user_id'], writes.reauth?.row.cells['granted_scopes']],
      ['new-user', 'user_reauth', 'old-user', 'A,B'],
    );
    const withoutOld = encodeRecordRows(terra, { ...base, event: { ...event, old_user: null } });
    assert.equal(withoutOld.reauth, null);
    assert.deepEqual(withoutOld.rows.map((row) => [row.table.name, row.cells['state'] ?? null]), [['terra_other_payloads', null], ['terra_users', 'user_reauth']]);
  });

  it('Teams events go to terra_other_payloads; events without a user have a null user_id', () => {
    assert.equal(encodeRecordRows(terra, makeTeamsRecord()).rows[0]?.table.name, 'terra_other_payloads');
    const cancelled = encodeRecordRows(terra, makeUserEventRecord({ type: 'auth_cancelled', userId: null }));
    assert.deepEqual(cancelled.rows.map((row) => [row.table.name, row.cells['user_id']]), [['terra_other_payloads', null]]);
  });
});

describe('merge rules', () => {
  it('data_enrichment: per key the incoming value unless null or missing, then the stored one', () => {
    const stored = { data: [{ data_enrichment: { a: 1, b: 2, c: { x: 1 }, z: 9 } }] };
    const incoming = { type: 'activity', data: [{ x: 2, data_enrichment: { a: null, b: 3, c: { y: 2 }, n: null } }] };
    assert.deepEqual(mergeEnrichment(stored, incoming), { type: 'activity', data: [{ x: 2, data_enrichment: { a: 1, b: 3, c: { y: 2 }, n: null, z: 9 } }] });
    assert.deepEqual(mergeEnrichment(stored, { data: [{ data_enrichment: null }] }), { data: [{ data_enrichment: { a: 1, b: 2, c: { x: 1 }, z: 9 } }] });
    const untouched = { data: [{ data_enrichment: { a: 5 } }] };
    assert.equal(mergeEnrichment({ data: [{}] }, untouched), untouched, 'nothing stored: the incoming payload as is');
    assert.equal(mergeEnrichment({ data: [{ data_enrichment: { a: 4 } }] }, untouched), untouched, 'nothing to keep: the incoming payload as is');
  });

  it('an older row never overwrites a newer one; an equal one does; coalesced columns keep stored values', () => {
    const [older] = encodeRecordRows(terra, makeUserEventRecord({ type: 'deauth', eventTime: '2026-07-01T08:00:00.000Z' })).rows.slice(1);
    const [newer] = encodeRecordRows(terra, makeUserEventRecord({ type: 'auth', referenceId: null, eventTime: '2026-07-01T09:00:00.000Z' })).rows.slice(1);
    assert.ok(older !== undefined && newer !== undefined);
    assert.equal(mergeRow(newer, older), newer);
    const merged = mergeRow(older, newer);
    assert.equal(merged.cells['state'], 'active');
    assert.equal(merged.cells['reference_id'], 'ref-1', 'a null reference_id keeps the stored one');
    assert.equal(mergeRow(newer, { ...newer, cells: { ...newer.cells, state: 'deauth' } }).cells['state'], 'deauth', 'equal ordering_ts: the later write wins');
  });

  it('payload merge keeps stored scores and the typed score columns coalesce', () => {
    const [first] = encodeRecordRows(typed, activity({ data_enrichment: { strain_score: 14.5, efficiency_score: 80 } }, 1_000)).rows;
    const [second] = encodeRecordRows(typed, activity({ data_enrichment: { strain_score: null, efficiency_score: 85 } }, 2_000)).rows;
    assert.ok(first !== undefined && second !== undefined);
    const merged = mergeRow(first, second);
    assert.deepEqual(enrichmentOf(merged), { strain_score: 14.5, efficiency_score: 85 });
    assert.equal(merged.cells['strain_score'], 14.5);
    assert.equal(merged.cells['efficiency_score'], 85);
    assert.equal(merged.cells['ordering_ts'], 2_000);
  });
});

describe('planWrites', () => {
  it('folds rows with the same key in batch order, sorts rows by key and tables by name, keeps re-keys', () => {
    const newer = activity({ distance_data: { summary: { distance_meters: 6000 } } }, 2_000);
    const older = activity({ distance_data: { summary: { distance_meters: 5000 } } }, 1_000);
    const batch = [...makeActivityBatch(3, ['b', 'a']), newer, older, makeUserEventRecord(), makeUserEventRecord({ type: 'deauth', eventTime: '2026-07-01T09:00:00.000Z' })];
    const plan = planWrites(batch.map((record) => encodeRecordRows(terra, record)));
    assert.deepEqual(plan.upserts.map((upsert) => upsert.table.name), ['terra_data_payloads', 'terra_other_payloads', 'terra_users']);
    const data = plan.upserts[0]?.rows ?? [];
    assert.equal(data.length, 4, 'the two copies of one activity became one row');
    const ids = data.map((row) => String(row.cells['payload_id']));
    assert.deepEqual(ids, [...ids].sort());
    const folded = data.find((row) => row.cells['payload_id'] === newer.identity);
    assert.equal((payloadOf(folded)['data'] as Array<{ distance_data: { summary: { distance_meters: number } } }>)[0]?.distance_data.summary.distance_meters, 6000, 'the newer copy won although it came first');
    assert.deepEqual(plan.upserts[2]?.rows.map((row) => row.cells['state']), ['deauth']);
    assert.deepEqual(plan.reauths, []);
  });

  it('chunkRows splits by rows and by bytes, a large row alone', () => {
    const rows = makeActivityBatch(5).map((record) => encodeRecordRows(terra, record).rows[0]).filter((row): row is EncodedRow => row !== undefined);
    assert.deepEqual(chunkRows(rows, 2, 1_000_000, () => 1).map((chunk) => chunk.length), [2, 2, 1]);
    assert.deepEqual(chunkRows(rows, 10, 250, (row) => (row === rows[2] ? 1_000 : 100)).map((chunk) => chunk.length), [2, 1, 2]);
  });

  it('jsonCell keeps the given text', () => {
    assert.deepEqual(jsonCell({ a: 1 }), { kind: 'json', text: '{"a":1}', value: { a: 1 } });
  });
});
