/**
 * The behaviours of the `sql` destination against a real server, shared by postgres.test.ts and
 * mariadb.test.ts (each starts its own server). Every test writes into a database of its own or
 * into users and records no other test uses.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import { sqlConfigSchema, type SqlConfig } from '../../../connectors/sql/config.js';
import { createSqlClient, type SqlClientHooks, type SqlPort, type SqlStep } from '../../../connectors/sql/client.js';
import { CLOSE_GRACE_MS } from '../../../connectors/shared/call-deadline.js';
import { createSqlDestination } from '../../../connectors/sql/destination.js';
import { ddlObjects } from '../../../connectors/shared/sql-rows/ddl.js';
import { shippedDdlFiles } from '../../../connectors/shared/sql-rows/ddl-files.js';
import { tableLayout, defaultTableNames } from '../../../connectors/shared/sql-rows/tables.js';
import type { ConnectorContext, Destination, RecordOutcome } from '../../../src/connector/contract.js';
import { FanoutError } from '../../../src/errors/catalogue.js';
import type { TerraRecord } from '../../../src/records/record.js';
import { freezeProcessTree, type FrozenProcess } from '../../support/freeze-process.js';
import { freePort, type UsedServer } from '../../support/server-process.js';
import { activity, sendOk, userEvent, type Json } from './relational-records.js';
import { makeActivityBatch, makeAthleteRecord, makeDailyRecord } from '../../support/records.js';

/** What both test servers offer (test/support/postgres.ts, test/support/mariadb.ts). */
export interface TestDatabase {
  url: string;
  /** The server's process id, or null for an external server (the frozen-server tests then skip). */
  pid: number | null;
  query<Row>(text: string, values?: unknown[]): Promise<Row[]>;
  createDatabase(prefix: string): Promise<string>;
}

export interface SuiteOptions {
  dialect: 'postgres' | 'mysql';
  server: UsedServer<TestDatabase & { stop(): Promise<void> }>;
  /** A record this dialect's database refuses on its own (the poison record). */
  poison(): TerraRecord;
  /** Runs a whole .sql file (several statements) on the database at `url`. */
  runSqlFile(url: string, sql: string): Promise<void>;
  /** A user that may connect but has no rights on the tables; returns its URL for `url`. */
  userWithoutRights(url: string): Promise<string>;
  /**
   * Holds a lock on `payload_id` in `table` until the returned release() is called, from another
   * connection (a concurrent writer).
   */
  lockRow(url: string, table: string, payloadId: string): Promise<() => Promise<void>>;
}

const logger = pino({ level: 'silent' });
const context: ConnectorContext = { tenant: 'acme', destination: 'warehouse', logger };
const signal = new AbortController().signal;


/** A time column as unix ms: pg gives a Date, mysql2 (dateStrings) `YYYY-MM-DD HH:MM:SS.mmm` in UTC. */
function instantMs(value: unknown): number {
  if (value instanceof Date) return value.getTime();
  return Date.parse(`${String(value).replace(' ', 'T')}Z`);
}

export function describeSqlDestination(options: SuiteOptions): void {
  const { dialect, server } = options;
  const opened: Destination[] = [];
  after(async () => {
    for (const destination of opened) await destination.close();
  });

  /** A destination (and its real client) on `url`; closed after the file. */
  function open(input: Record<string, unknown>, hooks: SqlClientHooks = {}): { config: SqlConfig; client: SqlPort; destination: Destination } {
    const config = sqlConfigSchema.parse({ dialect, url: server.current.url, ...input });
    const client = createSqlClient(config, hooks);
    const destination = createSqlDestination(config, client, context);
    opened.push(destination);
    return { config, client, destination };
  }

  /** A table name as the test queries it: PostgreSQL tables live in the `terra` schema by default. */
  const table = (name: string, namespace = dialect === 'postgres' ? 'terra' : null): string => (namespace === null ? `\`${name}\`` : dialect === 'postgres' ? `"${namespace}"."${name}"` : `\`${namespace}\`.\`${name}\``);
  const placeholder = (index: number): string => (dialect === 'postgres' ? `$${index}` : '?');

  async function rows(name: string, where = '', values: unknown[] = []): Promise<Json[]> {
    const found = await server.current.query<Json>(`SELECT * FROM ${table(name)} ${where}`, values);
    return found.map((row) => ({
      ...row,
      ordering_ts: row['ordering_ts'] === undefined ? undefined : Number(row['ordering_ts']),
      ...(typeof row['payload'] === 'string' ? { payload: JSON.parse(row['payload']) as unknown } : {}),
    }));
  }

  async function rowById(name: string, payloadId: string): Promise<Json | undefined> {
    return (await rows(name, `WHERE payload_id = ${placeholder(1)}`, [payloadId]))[0];
  }

  async function count(name: string): Promise<number> {
    const [row] = await server.current.query<{ n: number | string }>(`SELECT COUNT(*) AS n FROM ${table(name)}`);
    return Number(row?.n ?? 0);
  }

  /** MySQL tables and indexes of the database at `url`. */
  async function mysqlTablesIn(url: string, namespace: string | null): Promise<string[]> {
    const database = decodeURIComponent(new URL(url).pathname.slice(1));
    const found = await server.current.query<{ name: string }>(
      'SELECT table_name AS name FROM information_schema.tables WHERE table_schema = ? UNION SELECT DISTINCT index_name FROM information_schema.statistics WHERE table_schema = ?',
      [namespace ?? database, namespace ?? database],
    );
    return found.map((row) => row.name).sort();
  }

  const unique = (prefix: string): string => `${prefix}-${randomUUID().slice(0, 8)}`;

  describe(`sql destination (${dialect}) against a real server`, () => {
    /** The file's destination on its own database (layout typed), checked (tables created) once. */
    let shared: Promise<ReturnType<typeof open>> | undefined;
    const main = (): Promise<ReturnType<typeof open>> =>
      (shared ??= (async () => {
        const opened = open({ schema: 'typed' });
        await opened.destination.check();
        return opened;
      })());

    it('check() creates the schema, tables and indexes once; a second check creates nothing', async () => {
      const url = await server.current.createDatabase('tf_create');
      const namespace = dialect === 'postgres' ? 'terra' : null;
      const { client, destination, config } = open({ url, schema: 'typed' });
      await destination.check();
      const layout = tableLayout({ layout: 'typed', namespace, tables: defaultTableNames });
      const expected = layout.all.flatMap((spec) => [spec.name, ...spec.indexes.map((index) => index.name)]);
      const found = dialect === 'postgres' ? await postgresTablesIn(url, namespace ?? 'public') : await mysqlTablesIn(url, null);
      for (const name of expected) assert.ok(found.includes(name), `${name} exists`);
      assert.deepEqual(await client.ensureObjects(ddlObjects(config.dialect, layout.all)), [], 'nothing left to create');
      await destination.check();
    });

    it('replicas starting together create the tables once, none fails', async () => {
      const url = await server.current.createDatabase('tf_race');
      const replicas = Array.from({ length: 6 }, () => open({ url, schema: 'typed' }));
      const created = await Promise.all(replicas.map(({ client, config }) => client.ensureObjects(ddlObjects(config.dialect, tableLayout({ layout: 'typed', namespace: dialect === 'postgres' ? 'terra' : null, tables: defaultTableNames }).all))));
      const tablesCreated = created.flat().filter((name) => name.startsWith('table '));
      assert.equal(tablesCreated.length, 8, `each table created by exactly one replica: ${tablesCreated.join(', ')}`);
      await Promise.all(replicas.map(({ destination }) => destination.check()));
    });

    it('delivers a batch: one row per record with the payload, typed columns, and the user\'s state', async () => {
      const { destination } = await main();
      const user = unique('deliver');
      const batch = [...makeActivityBatch(3, [user]), makeDailyRecord({ userId: user }), makeAthleteRecord({ userId: user }), userEvent('auth', user, Date.parse('2026-07-01T08:00:00Z'))];
      await sendOk(destination, batch);
      const [first] = batch;
      assert.ok(first !== undefined);
      const stored = await rowById('terra_activity', first.identity);
      assert.ok(stored !== undefined, 'the activity is in terra_activity');
      assert.deepEqual(stored['payload'], first.event, 'the payload is the record as a Terra event');
      assert.equal(stored['user_id'], user);
      assert.equal(stored['data_type'], 'activity');
      assert.equal(stored['summary_id'], 'summary-0');
      assert.equal(Number(stored['distance_meters']), 5000);
      assert.equal(Number(stored['duration_seconds']), 1800);
      assert.equal(stored['ordering_ts'], first.orderingTimestampMs);
      assert.equal(instantMs(stored['start_time']), Date.UTC(2026, 6, 1, 6, 0, 0), 'start_time is the instant');
      assert.ok(await rowById('terra_daily', batch[3]?.identity ?? ''), 'the daily is in terra_daily');
      assert.ok(await rowById('terra_data_payloads', batch[4]?.identity ?? ''), 'the athlete profile is in terra_data_payloads');
      assert.ok(await rowById('terra_other_payloads', batch[5]?.identity ?? ''), 'the auth event is in terra_other_payloads');
      const [userRow] = await rows('terra_users', `WHERE user_id = ${placeholder(1)}`, [user]);
      assert.deepEqual([userRow?.['state'], userRow?.['reference_id'], userRow?.['granted_scopes']], ['active', `ref-${user}`, 'ACTIVITY_EXPORT']);
    });

    it('replaying the same records leaves row counts and rows unchanged', async () => {
      const { destination } = await main();
      const user = unique('replay');
      const batch = [...makeActivityBatch(4, [user]), makeDailyRecord({ userId: user }), userEvent('auth', user, 1_000), userEvent('deauth', user, 2_000)];
      await sendOk(destination, batch);
      const tables = ['terra_activity', 'terra_daily', 'terra_other_payloads', 'terra_users', 'terra_data_payloads'];
      const counts = await Promise.all(tables.map(count));
      const snapshot = async (): Promise<unknown[]> =>
        (await Promise.all(['terra_activity', 'terra_other_payloads', 'terra_users'].map((name) => rows(name, `WHERE user_id = ${placeholder(1)}`, [user])))).map((found) =>
          found.map(({ updated_at: _updated, ...rest }) => rest).sort((a, b) => String(a['payload_id'] ?? a['user_id']).localeCompare(String(b['payload_id'] ?? b['user_id']))),
        );
      const before = await snapshot();
      await sendOk(destination, batch);
      await sendOk(destination, [...batch].reverse());
      assert.deepEqual(await Promise.all(tables.map(count)), counts);
      assert.deepEqual(await snapshot(), before);
      const [userRow] = await rows('terra_users', `WHERE user_id = ${placeholder(1)}`, [user]);
      assert.equal(userRow?.['state'], 'deauth', 'the newer event stays, whatever order the replay came in');
    });

    it('an older resend never overwrites a newer record; an equally new one does', async () => {
      const { destination } = await main();
      const user = unique('order');
      const newer = activity(user, { distance_data: { summary: { distance_meters: 6000 } } }, 2_000);
      const older = activity(user, { distance_data: { summary: { distance_meters: 5000 } } }, 1_000);
      await sendOk(destination, [newer]);
      await sendOk(destination, [older]);
      let stored = await rowById('terra_activity', newer.identity);
      assert.equal(Number(stored?.['distance_meters']), 6000);
      assert.deepEqual(stored?.['payload'], newer.event);
      assert.equal(stored?.['ordering_ts'], 2_000);
      const same = activity(user, { distance_data: { summary: { distance_meters: 6100 } } }, 2_000);
      await sendOk(destination, [same]);
      stored = await rowById('terra_activity', newer.identity);
      assert.equal(Number(stored?.['distance_meters']), 6100, 'a resend with the same ordering timestamp is the newest copy');
    });

    it('a null data_enrichment score does not wipe a stored one, in the JSON and in the score columns', async () => {
      const { destination } = await main();
      const user = unique('enrich');
      const first = activity(user, { data_enrichment: { strain_score: 14.5, efficiency_score: 80, trimp_score: 90, strain_contributors: { load: 0.7 } } }, 1_000);
      const second = activity(user, { data_enrichment: { strain_score: null, efficiency_score: 85, rcrs_score: null }, distance_data: { summary: { distance_meters: 7000 } } }, 2_000);
      const third = activity(user, { data_enrichment: null }, 3_000);
      await sendOk(destination, [first]);
      await sendOk(destination, [second]);
      let stored = await rowById('terra_activity', first.identity);
      const enrichment = (value: unknown): unknown => ((value as { data: Array<{ data_enrichment: unknown }> }).data[0]?.data_enrichment);
      assert.deepEqual(enrichment(stored?.['payload']), { strain_score: 14.5, efficiency_score: 85, trimp_score: 90, strain_contributors: { load: 0.7 }, rcrs_score: null });
      assert.deepEqual([Number(stored?.['strain_score']), Number(stored?.['efficiency_score']), Number(stored?.['trimp_score']), Number(stored?.['distance_meters'])], [14.5, 85, 90, 7000]);
      await sendOk(destination, [third]);
      stored = await rowById('terra_activity', first.identity);
      assert.deepEqual(enrichment(stored?.['payload']), { strain_score: 14.5, efficiency_score: 85, trimp_score: 90, strain_contributors: { load: 0.7 }, rcrs_score: null }, 'a copy without enrichment keeps every stored score');
      assert.equal(Number(stored?.['strain_score']), 14.5);
    });

    it('user lifecycle: newer states win, user_reauth re-keys the old user id to the new one', async () => {
      const { destination } = await main();
      const oldUser = unique('old');
      const newUser = unique('new');
      await sendOk(destination, [userEvent('auth', oldUser, 1_000)]);
      await sendOk(destination, [userEvent('deauth', oldUser, 3_000), userEvent('access_revoked', oldUser, 2_000)]);
      let [stored] = await rows('terra_users', `WHERE user_id = ${placeholder(1)}`, [oldUser]);
      assert.equal(stored?.['state'], 'deauth', 'the older access_revoked did not overwrite the newer deauth');
      await sendOk(destination, [userEvent('auth', oldUser, 4_000)]);
      [stored] = await rows('terra_users', `WHERE user_id = ${placeholder(1)}`, [oldUser]);
      const createdAt = String(stored?.['created_at']);
      const reauth = userEvent('user_reauth', newUser, 5_000, {
        status: 'warning',
        new_user: { user_id: newUser, provider: 'GARMIN', scopes: 'SLEEP_EXPORT' },
        old_user: { user_id: oldUser, provider: 'GARMIN' },
        message: 'User has reauthenticated and old ID has been deleted',
      });
      const withoutReference: TerraRecord = { ...reauth, referenceId: null };
      await sendOk(destination, [withoutReference]);
      assert.equal((await rows('terra_users', `WHERE user_id = ${placeholder(1)}`, [oldUser])).length, 0, 'the old id is gone');
      const [rekeyed] = await rows('terra_users', `WHERE user_id = ${placeholder(1)}`, [newUser]);
      assert.deepEqual(
        [rekeyed?.['state'], rekeyed?.['previous_user_id'], rekeyed?.['reference_id'], rekeyed?.['granted_scopes'], String(rekeyed?.['created_at'])],
        ['user_reauth', oldUser, `ref-${oldUser}`, 'SLEEP_EXPORT', createdAt],
        'the new row carries the old one\'s reference and creation time',
      );
      assert.ok(await rowById('terra_other_payloads', reauth.identity), 'the event itself is kept');
      await sendOk(destination, [withoutReference]);
      assert.equal((await rows('terra_users', `WHERE user_id IN (${placeholder(1)}, ${placeholder(2)})`, [oldUser, newUser])).length, 1, 'replaying the re-key changes nothing');
      await sendOk(destination, [userEvent('auth', newUser, 6_000)]);
      const [active] = await rows('terra_users', `WHERE user_id = ${placeholder(1)}`, [newUser]);
      assert.deepEqual([active?.['state'], active?.['previous_user_id']], ['active', oldUser]);
    });

    it('a record the database refuses fails alone; the rest of its batch is delivered', async () => {
      const { destination } = await main();
      const user = unique('poison');
      const good = makeActivityBatch(3, [user]);
      const poison = options.poison();
      const batch = [good[0], poison, good[1], good[2]].filter((record): record is TerraRecord => record !== undefined);
      const outcomes = await destination.send(batch, signal);
      assert.deepEqual(outcomes.map((outcome) => outcome.ok), [true, false, true, true]);
      const failure = outcomes[1] as Extract<RecordOutcome, { ok: false }>;
      assert.equal(failure.error.code, 'destination_rejected');
      assert.equal(failure.error.retryable, false);
      for (const record of good) assert.ok(await rowById('terra_activity', record.identity), 'the good records are stored');
    });

    it('without autoCreate, missing tables fail the check as destination_not_found, pointing at the DDL files', async () => {
      const url = await server.current.createDatabase('tf_nocreate');
      const { destination } = open({ url, autoCreate: false });
      await assert.rejects(destination.check(), (error: unknown) => {
        assert.ok(error instanceof FanoutError);
        assert.equal(error.code, 'destination_not_found');
        assert.match(error.message, new RegExp(`connectors/sql/ddl/${dialect}/`));
        return true;
      });
    });

    it('the shipped DDL files create tables the destination writes without autoCreate', async () => {
      const url = await server.current.createDatabase('tf_files');
      for (const file of shippedDdlFiles().filter((candidate) => candidate.path.startsWith(`connectors/sql/ddl/${dialect}/`))) await options.runSqlFile(url, file.content);
      const { destination } = open({ url, autoCreate: false, schema: 'typed' });
      await destination.check();
      await sendOk(destination, [...makeActivityBatch(2), makeDailyRecord(), userEvent('auth', 'files-user', 1_000)]);
    });

    it('a user without rights on the tables fails the check as destination_auth_failed', async () => {
      await main();
      const url = await options.userWithoutRights(server.current.url);
      const { destination } = open({ url, autoCreate: false });
      await assert.rejects(destination.check(), (error: unknown) => {
        assert.ok(error instanceof FanoutError);
        assert.equal(error.code, 'destination_auth_failed');
        assert.match(error.message, /grant SELECT, INSERT, UPDATE, DELETE/);
        return true;
      });
    });

    it('an unreachable server is retryable at check and at send; messages never carry the credentials; close() twice is harmless', async () => {
      const port = await freePort();
      const url = new URL(server.current.url);
      url.port = String(port);
      url.username = 'terra_writer';
      url.password = 'url-password-never-in-messages';
      const { destination } = open({ url: url.toString(), password: 'other-password-never-in-messages', pool: { connectTimeoutMs: 1_000 } });
      const seen: FanoutError[] = [];
      await assert.rejects(destination.check(), (error: unknown) => {
        assert.ok(error instanceof FanoutError);
        seen.push(error);
        return error.code === 'destination_unavailable' && error.retryable;
      });
      const outcomes = await destination.send(makeActivityBatch(2), signal);
      for (const outcome of outcomes) {
        assert.ok(!outcome.ok && outcome.error.retryable);
        if (!outcome.ok) seen.push(outcome.error);
      }
      for (const error of seen) {
        const text = `${error.message} ${JSON.stringify(error.detail)}`;
        assert.ok(!text.includes('never-in-messages') && !text.includes('terra_writer'), text);
      }
      await destination.close();
      await destination.close();
    });

    it("the payload column and Terra's bytes: MariaDB keeps them exactly; PostgreSQL's jsonb keeps every number's digits but not the text", async () => {
      const { destination } = await main();
      const base = activity(unique('bytes'), {}, 1_000);
      const item = base.item ?? {};
      // Built as text: JSON.stringify would already have lost what this test is about.
      const itemText = JSON.stringify(item).replace(/^\{/, '{"big_id": 12345678901234567890, "distance": 1000.0, "zero": -0.0, "name": "caf\\u00e9",  "z": 1, "a": 2, ');
      const body = `{"type": "activity", "user": ${JSON.stringify(base.event['user'])}, "data": [${itemText}], "version": "2022-03-16"}`;
      const record: TerraRecord = { ...base, body: Buffer.from(body) };
      await sendOk(destination, [record]);
      const [row] = await server.current.query<{ payload: unknown }>(
        dialect === 'postgres'
          ? `SELECT payload::text AS payload FROM ${table('terra_activity')} WHERE payload_id = $1`
          : `SELECT CAST(payload AS CHAR) AS payload FROM ${table('terra_activity')} WHERE payload_id = ?`,
        [record.identity],
      );
      const stored = String(row?.payload);
      if (dialect === 'mysql') {
        assert.equal(stored, body, 'MariaDB (JSON is LONGTEXT) keeps the exact bytes');
        return;
      }
      assert.match(stored, /"big_id": 12345678901234567890[,}]/, 'integers beyond 2^53 keep every digit (numeric)');
      assert.match(stored, /"distance": 1000\.0[,}]/, 'trailing zeros are kept (numeric keeps its scale)');
      assert.match(stored, /"zero": 0\.0[,}]/, '-0.0 becomes 0.0 (numeric has no negative zero)');
      assert.match(stored, /"name": "café"/, 'escapes are decoded');
      assert.notEqual(stored, body, 'key order and whitespace are jsonb\'s own');
    });

    it('a row lock held longer than statementTimeoutMs fails the batch as a retryable timeout', async () => {
      const { destination: owner } = await main();
      const user = unique('locked');
      const record = activity(user, {}, 1_000);
      await sendOk(owner, [record]);
      const { destination } = open({ schema: 'typed', statementTimeoutMs: 1_000 });
      const release = await options.lockRow(server.current.url, 'terra_activity', record.identity);
      try {
        const started = Date.now();
        const outcomes = await destination.send([{ ...record, orderingTimestampMs: 2_000 }, activity(unique('free'), {}, 1_000)], signal);
        assert.ok(Date.now() - started < 10_000, 'the statement was cancelled, not left waiting');
        for (const outcome of outcomes) {
          assert.equal(outcome.ok, false);
          if (!outcome.ok) assert.deepEqual([outcome.error.code, outcome.error.retryable], ['destination_timeout', true]);
        }
      } finally {
        await release();
      }
      await sendOk(destination, [{ ...record, orderingTimestampMs: 2_000 }]);
    });
  });

  describe(`sql destination (${dialect}): a database that stops answering (server frozen with SIGSTOP)`, () => {
    const timeoutMs = 1_500;
    /** What a loaded 2-core machine may add to timeoutMs before the error arrives. */
    const marginMs = 2_500;

    /** A destination whose client freezes the whole server just before `step` is sent (once). */
    function freezingAt(step: SqlStep, input: Record<string, unknown> = {}): { destination: Destination; arm(): void; frozen(): FrozenProcess | undefined } {
      let frozen: FrozenProcess | undefined;
      let armed = false;
      const { destination } = open(
        { schema: 'terra', timeoutMs, statementTimeoutMs: 1_000, ...input },
        {
          beforeStep(current) {
            if (!armed || current !== step) return;
            armed = false;
            const pid = server.current.pid;
            assert.ok(pid !== null);
            frozen = freezeProcessTree(pid);
          },
        },
      );
      return {
        destination,
        arm: () => {
          armed = true;
        },
        frozen: () => frozen,
      };
    }

    const skip = (): boolean => server.current.pid === null;

    for (const step of ['connect', 'begin', 'statement', 'commit'] as const) {
      it(`send(): frozen before ${step}: destination_timeout within timeoutMs, then the next send on the same destination delivers`, async (t) => {
        if (skip()) return t.skip('external server: cannot freeze it');
        // connect is reached only without an idle connection: a destination that has not been used.
        const { destination, arm, frozen } = freezingAt(step);
        const user = unique(`frozen-${step}`);
        if (step === 'connect') await open({ schema: 'terra' }).destination.check();
        else {
          await destination.check();
          await sendOk(destination, [activity(user, {}, 1_000)]);
        }
        const record = activity(user, {}, 2_000);
        arm();
        const started = Date.now();
        let outcomes: RecordOutcome[];
        try {
          outcomes = await destination.send([record], signal);
        } finally {
          frozen()?.thaw();
        }
        const elapsed = Date.now() - started;
        assert.ok(frozen() !== undefined, `the server was frozen before ${step}`);
        assert.equal(outcomes.length, 1);
        const [outcome] = outcomes;
        assert.ok(outcome !== undefined && !outcome.ok, 'the write failed');
        assert.deepEqual([outcome.error.code, outcome.error.retryable], ['destination_timeout', true], outcome.error.message);
        assert.ok(elapsed >= timeoutMs - 100 && elapsed < timeoutMs + marginMs, `failed after ${elapsed} ms (timeoutMs ${timeoutMs})`);
        // The timed-out connection was destroyed, not handed back: the retry writes on a sound one.
        await sendOk(destination, [record]);
        const [row] = await server.current.query<{ ordering_ts: number | string }>(`SELECT ordering_ts FROM ${table('terra_data_payloads')} WHERE payload_id = ${placeholder(1)}`, [record.identity]);
        assert.equal(Number(row?.ordering_ts), 2_000);
      });
    }

    for (const step of ['rollback', 'lookup', 'ddl'] as const) {
      it(`check(): frozen before ${step === 'rollback' ? 'the rollback of the probe write' : step === 'lookup' ? 'looking up the tables' : 'creating a table'}: destination_timeout within timeoutMs, then check() passes`, async (t) => {
        if (skip()) return t.skip('external server: cannot freeze it');
        const url = await server.current.createDatabase(`tf_frozen_${step}`);
        const { destination, arm, frozen } = freezingAt(step, { url });
        arm();
        const started = Date.now();
        try {
          await assert.rejects(destination.check(), (error: unknown) => {
            assert.ok(error instanceof FanoutError);
            assert.deepEqual([error.code, error.retryable], ['destination_timeout', true], error.message);
            return true;
          });
        } finally {
          frozen()?.thaw();
        }
        const elapsed = Date.now() - started;
        assert.ok(frozen() !== undefined, `the server was frozen before ${step}`);
        assert.ok(elapsed < timeoutMs + marginMs, `failed after ${elapsed} ms (timeoutMs ${timeoutMs})`);
        await destination.check();
      });
    }

    it('close() while the server is frozen and a write is in flight returns within its grace period', async (t) => {
      if (skip()) return t.skip('external server: cannot freeze it');
      const { destination, arm, frozen } = freezingAt('statement', { timeoutMs: 60_000 });
      await destination.check();
      arm();
      const sending = destination.send([activity(unique('frozen-close'), {}, 1_000)], signal);
      try {
        const deadline = Date.now() + 10_000;
        while (frozen() === undefined && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
        assert.ok(frozen() !== undefined, 'the server was frozen');
        const started = Date.now();
        await destination.close();
        const elapsed = Date.now() - started;
        assert.ok(elapsed < CLOSE_GRACE_MS + marginMs, `close() took ${elapsed} ms`);
        const [outcome] = await sending;
        const settled = Date.now() - started;
        assert.ok(settled < CLOSE_GRACE_MS + marginMs, `the write in flight ended ${settled} ms after close() began, not at its 60 s timeout`);
        assert.ok(outcome !== undefined && !outcome.ok && outcome.error.retryable, 'the write in flight failed, retryable');
      } finally {
        frozen()?.thaw();
      }
    });

    it('send() aborted at shutdown while the server is frozen returns at once, retryable', async (t) => {
      if (skip()) return t.skip('external server: cannot freeze it');
      const { destination, arm, frozen } = freezingAt('commit', { timeoutMs: 60_000 });
      await destination.check();
      arm();
      const shutdown = new AbortController();
      const sending = destination.send([activity(unique('frozen-abort'), {}, 1_000)], shutdown.signal);
      try {
        const deadline = Date.now() + 10_000;
        while (frozen() === undefined && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
        assert.ok(frozen() !== undefined, 'the server was frozen');
        const started = Date.now();
        shutdown.abort();
        const [outcome] = await sending;
        assert.ok(Date.now() - started < marginMs, 'the write was abandoned at once');
        assert.ok(outcome !== undefined && !outcome.ok);
        assert.deepEqual([outcome.error.code, outcome.error.retryable, outcome.error.detail['shutdown']], ['destination_unavailable', true, true]);
      } finally {
        frozen()?.thaw();
      }
    });
  });

  /** PostgreSQL catalog of another database (the test pool is bound to its own). */
  async function postgresTablesIn(url: string, namespace: string): Promise<string[]> {
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const result = await client.query<{ name: string }>(
        "SELECT c.relname AS name FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind IN ('r', 'i')",
        [namespace],
      );
      return result.rows.map((row) => row.name).sort();
    } finally {
      await client.end();
    }
  }
}
