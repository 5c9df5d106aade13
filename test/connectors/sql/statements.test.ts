/** Pure tests of the SQL each dialect builds and of the error classification, no database. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sqlConfigSchema, sqlLayout } from '../../../connectors/sql/config.js';
import { sanitizeDriverMessage } from '../../../connectors/shared/sql-rows/driver-message.js';
import { classifySqlError, targetLabel } from '../../../connectors/sql/sql-errors.js';
import { planStatements } from '../../../connectors/sql/encode.js';
import { probeWrites } from '../../../connectors/shared/sql-rows/probe.js';
import { enrichmentKeys, mysqlDateTime, mysqlPayloadMerge } from '../../../connectors/sql/statements-mysql.js';
import { encodeRecordRows } from '../../../connectors/shared/sql-rows/encode-rows.js';
import { planWrites } from '../../../connectors/shared/sql-rows/plan-writes.js';
import { defaultTableNames, tableLayout } from '../../../connectors/shared/sql-rows/tables.js';
import { errorCatalogue } from '../../../src/errors/catalogue.js';
import { makeActivityBatch, makeRecord, makeUserEventRecord } from '../../support/records.js';

const layout = tableLayout({ layout: 'terra', namespace: 'terra', tables: defaultTableNames });
const limits = { maxRowsPerStatement: 500, maxBytesPerStatement: 4 * 1024 * 1024 };

function enriched(scores: Record<string, unknown>) {
  const base = makeRecord();
  const item = { ...(base.item ?? {}), data_enrichment: scores };
  const event = { ...base.event, data: [item] };
  return { ...base, item, event, body: Buffer.from(JSON.stringify(event)) };
}

describe('sql config', () => {
  it('applies defaults and resolves the namespace per dialect', () => {
    const postgres = sqlConfigSchema.parse({ dialect: 'postgres', url: 'postgres://u:p@db:5432/app' });
    assert.deepEqual(
      { schema: postgres.schema, autoCreate: postgres.autoCreate, pool: postgres.pool, statementTimeoutMs: postgres.statementTimeoutMs, tables: postgres.tables },
      { schema: 'terra', autoCreate: true, pool: { max: 10, idleTimeoutMs: 30_000, connectTimeoutMs: 10_000 }, statementTimeoutMs: 30_000, tables: defaultTableNames },
    );
    assert.equal(sqlLayout(postgres).data.namespace, 'terra');
    assert.equal(sqlLayout(sqlConfigSchema.parse({ dialect: 'mysql', url: 'mysql://u:p@db/app' })).data.namespace, null);
    assert.equal(sqlLayout(sqlConfigSchema.parse({ dialect: 'mysql', url: 'mariadb://u:p@db', namespace: 'warehouse' })).users.namespace, 'warehouse');
  });

  it('rejects a URL of the other dialect, a MySQL URL without database, bad identifiers, and never echoes the URL', () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ dialect: 'postgres', url: 'mysql://u:secret-pw@db/app' }, /scheme does not match dialect postgres/],
      [{ dialect: 'mysql', url: 'mysql://u:secret-pw@db' }, /name the database/],
      [{ dialect: 'postgres', url: 'not a url secret-pw' }, /not a URL/],
      [{ dialect: 'postgres', url: 'postgres://u:secret-pw@db/app', namespace: 'terra; drop' }, /SQL identifier/],
      [{ dialect: 'postgres', url: 'postgres://u:secret-pw@db/app', tables: { users: 'a-b' } }, /SQL identifier/],
    ];
    for (const [input, message] of cases) {
      const result = sqlConfigSchema.safeParse(input);
      assert.equal(result.success, false, JSON.stringify(input));
      const text = JSON.stringify(result.error?.issues);
      assert.match(text, message);
      assert.ok(!text.includes('secret-pw'), 'the URL is not in the problem');
    }
  });
});

describe('PostgreSQL statements', () => {
  it('a multi-row upsert that only updates when the incoming row is not older', () => {
    const plan = planWrites(makeActivityBatch(3).map((record) => encodeRecordRows(layout, record)));
    const [statement, ...rest] = planStatements('postgres', plan, limits);
    assert.equal(rest.length, 0);
    assert.ok(statement !== undefined);
    assert.match(statement.text, /^INSERT INTO "terra"\."terra_data_payloads" AS stored \("payload_id", /);
    assert.match(statement.text, /ON CONFLICT \("payload_id"\) DO UPDATE SET/);
    assert.match(statement.text, /WHERE stored\."ordering_ts" <= EXCLUDED\."ordering_ts"$/);
    assert.match(statement.text, /"reference_id" = COALESCE\(EXCLUDED\."reference_id", stored\."reference_id"\)/);
    assert.match(statement.text, /"payload" = CASE WHEN jsonb_typeof\(stored\."payload" #> '\{data,0,data_enrichment\}'\)/);
    assert.equal(statement.values.length, 3 * layout.data.columns.length);
    assert.ok(statement.values.includes('2026-07-01T06:00:00.000Z'), 'times go as ISO-8601 UTC');
  });

  it('chunks by maxRowsPerStatement and adds the user re-key statements last', () => {
    const reauth = makeUserEventRecord({ type: 'user_reauth', userId: 'new' });
    const event = { ...reauth.event, type: 'user_reauth', new_user: { user_id: 'new' }, old_user: { user_id: 'old' } };
    const plan = planWrites([...makeActivityBatch(5).map((record) => encodeRecordRows(layout, record)), encodeRecordRows(layout, { ...reauth, event })]);
    const statements = planStatements('postgres', plan, { ...limits, maxRowsPerStatement: 2 });
    assert.deepEqual(
      statements.map((statement) => /^(INSERT INTO \S+|DELETE FROM \S+)/.exec(statement.text)?.[1]),
      ['INSERT INTO "terra"."terra_data_payloads"', 'INSERT INTO "terra"."terra_data_payloads"', 'INSERT INTO "terra"."terra_data_payloads"', 'INSERT INTO "terra"."terra_other_payloads"', 'INSERT INTO "terra"."terra_users"', 'DELETE FROM "terra"."terra_users"'],
    );
    assert.match(statements[4]?.text ?? '', /LEFT JOIN "terra"\."terra_users" AS prior_user ON prior_user\."user_id" = \$\d+::text/);
    assert.deepEqual(statements[5]?.values, ['old', reauth.orderingTimestampMs]);
  });

  it('check() writes into every table and re-keys a user', () => {
    const typed = tableLayout({ layout: 'typed', namespace: null, tables: defaultTableNames });
    const plan = planWrites(probeWrites(typed));
    assert.deepEqual(plan.upserts.map((upsert) => upsert.table.name).sort(), typed.all.filter((table) => table.role !== 'users').map((table) => table.name).sort());
    assert.equal(plan.reauths.length, 1);
  });
});

describe('MySQL statements', () => {
  it('every column is updated only when the incoming row is not older; ordering_ts is assigned last', () => {
    const plan = planWrites([enriched({ strain_score: null, efficiency_score: 80, 'odd key': 1 })].map((record) => encodeRecordRows(layout, record)));
    const [statement] = planStatements('mysql', plan, limits);
    assert.ok(statement !== undefined);
    assert.match(statement.text, /^INSERT INTO `terra`\.`terra_data_payloads` \(`payload_id`, /);
    const assignments = statement.text.split('ON DUPLICATE KEY UPDATE')[1] ?? '';
    assert.match(assignments, /`user_id` = IF\(VALUES\(`ordering_ts`\) >= `ordering_ts`, VALUES\(`user_id`\), `user_id`\)/);
    assert.match(assignments.trim(), /`ordering_ts` = IF\(VALUES\(`ordering_ts`\) >= `ordering_ts`, VALUES\(`ordering_ts`\), `ordering_ts`\)$/);
    assert.match(assignments, /'\$\."strain_score"'/);
    assert.match(assignments, /'\$\."efficiency_score"'/);
    assert.ok(!assignments.includes('odd key'), 'keys that are not plain names are not put in the SQL');
    assert.ok(statement.values.includes('2026-07-01 06:04:11.000'));
  });

  it('names the enrichment keys of the incoming rows, sorted; none gives the stored enrichment', () => {
    const rows = [enriched({ b: 1, a: null }), enriched({ c: 2 })].map((record) => encodeRecordRows(layout, record).rows[0]).filter((row) => row !== undefined);
    assert.deepEqual(enrichmentKeys(rows, 'payload'), ['a', 'b', 'c']);
    assert.match(mysqlPayloadMerge('payload', []), /JSON_SET\(VALUES\(`payload`\), '\$\.data\[0\]\.data_enrichment', JSON_EXTRACT\(`payload`, '\$\.data\[0\]\.data_enrichment'\)\)/);
    assert.equal(mysqlDateTime(Date.UTC(2026, 6, 1, 6, 4, 11, 5)), '2026-07-01 06:04:11.005');
  });
});

describe('classifySqlError', () => {
  const postgres = { dialect: 'postgres' as const, target: 'PostgreSQL 127.0.0.1:5432/app' };
  const mysql = { dialect: 'mysql' as const, target: 'MySQL 127.0.0.1:3306/app' };
  const cases: Array<[string, typeof postgres | typeof mysql, Record<string, unknown>, keyof typeof errorCatalogue]> = [
    ['refused connection', postgres, { code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:5432' }, 'destination_unavailable'],
    ['pg connect timeout', postgres, { message: 'timeout exceeded when trying to connect' }, 'destination_timeout'],
    ['pg terminated', postgres, { message: 'Connection terminated unexpectedly' }, 'destination_unavailable'],
    ['bad password', postgres, { code: '28P01', message: 'password authentication failed for user "terra"' }, 'destination_auth_failed'],
    ['missing grant', postgres, { code: '42501', message: 'permission denied for table terra_users' }, 'destination_auth_failed'],
    ['missing table', postgres, { code: '42P01', message: 'relation "terra.terra_users" does not exist' }, 'destination_not_found'],
    ['missing column', postgres, { code: '42703', message: 'column "payload" does not exist' }, 'destination_misconfigured'],
    ['bad value', postgres, { code: '22P05', message: 'unsupported Unicode escape sequence' }, 'destination_rejected'],
    ['constraint', postgres, { code: '23502', message: 'null value in column "user_id"' }, 'destination_rejected'],
    ['too large', postgres, { code: '54000', message: 'total size of jsonb object elements exceeds the maximum' }, 'destination_record_too_large'],
    ['statement timeout', postgres, { code: '57014', message: 'canceling statement due to statement timeout' }, 'destination_timeout'],
    ['lock timeout', postgres, { code: '55P03', message: 'canceling statement due to lock timeout' }, 'destination_timeout'],
    ['deadlock', postgres, { code: '40P01', message: 'deadlock detected' }, 'destination_unavailable'],
    ['shutdown', postgres, { code: '57P01', message: 'terminating connection due to administrator command' }, 'destination_unavailable'],
    ['syntax', postgres, { code: '42601', message: 'syntax error at or near "x"' }, 'internal_error'],
    ['self-signed', postgres, { code: 'DEPTH_ZERO_SELF_SIGNED_CERT', message: 'self-signed certificate' }, 'destination_misconfigured'],
    ['no ssl', postgres, { message: 'The server does not support SSL connections' }, 'destination_misconfigured'],
    ['mysql denied', mysql, { code: 'ER_ACCESS_DENIED_ERROR', errno: 1045, sqlState: '28000', message: "Access denied for user 'root'@'localhost' (using password: YES)" }, 'destination_auth_failed'],
    ['mysql db denied', mysql, { code: 'ER_DBACCESS_DENIED_ERROR', errno: 1044, sqlState: '42000', message: 'Access denied' }, 'destination_auth_failed'],
    ['mysql no table', mysql, { code: 'ER_NO_SUCH_TABLE', errno: 1146, sqlState: '42S02', message: "Table 'app.terra_users' doesn't exist" }, 'destination_not_found'],
    ['mysql too long', mysql, { code: 'ER_DATA_TOO_LONG', errno: 1406, sqlState: '22001', message: "Data too long for column 'user_id' at row 1" }, 'destination_rejected'],
    ['mysql packet', mysql, { code: 'ER_NET_PACKET_TOO_LARGE', errno: 1153, sqlState: '08S01', message: "Got a packet bigger than 'max_allowed_packet' bytes" }, 'destination_record_too_large'],
    ['mysql lock wait', mysql, { code: 'ER_LOCK_WAIT_TIMEOUT', errno: 1205, sqlState: 'HY000', message: 'Lock wait timeout exceeded' }, 'destination_timeout'],
    ['mysql deadlock', mysql, { code: 'ER_LOCK_DEADLOCK', errno: 1213, sqlState: '40001', message: 'Deadlock found' }, 'destination_unavailable'],
    ['mysql connection lost', mysql, { code: 'PROTOCOL_CONNECTION_LOST', fatal: true, message: 'Connection lost: The server closed the connection.' }, 'destination_unavailable'],
    ['mysql unknown state 22', mysql, { code: 'ER_SOMETHING', errno: 9999, sqlState: '22007', message: 'x' }, 'destination_rejected'],
  ];
  for (const [name, context, error, code] of cases) {
    it(`${name} is ${code}`, () => {
      const classified = classifySqlError(Object.assign(new Error(String(error['message'])), error), context);
      assert.equal(classified.code, code);
      assert.ok(classified.message.startsWith(context.target));
    });
  }

  it('an error without a known shape is internal_error; a FanoutError passes through', () => {
    assert.equal(classifySqlError(new TypeError('x is not a function'), postgres).code, 'internal_error');
  });

  it('messages keep names but drop quoted values, and point at the fix', () => {
    assert.equal(sanitizeDriverMessage('invalid input syntax for type integer: "4 steps"'), 'invalid input syntax for type integer: "…"');
    assert.equal(sanitizeDriverMessage("Incorrect datetime value: '2026-07-01T06:00' for column 'start_time' at row 3"), "Incorrect datetime value: '…' for column 'start_time' at row 3");
    assert.equal(sanitizeDriverMessage("Access denied for user 'me@example.com'@'localhost'"), "Access denied for user '…'@'localhost'");
    assert.equal(sanitizeDriverMessage('x'.repeat(400)).length, 300);
    const missing = classifySqlError(Object.assign(new Error('relation "terra.terra_users" does not exist'), { code: '42P01' }), postgres);
    assert.match(missing.message, /autoCreate: true, or create the tables from connectors\/sql\/ddl\/postgres\/\*\.sql/);
    assert.match(missing.message, /relation "terra\.terra_users" does not exist/);
  });

  it('target labels carry host and database, never the user or password', () => {
    assert.equal(targetLabel('postgres', 'postgres://terra:s3cret@db.example.com:5432/app?sslmode=require'), 'PostgreSQL db.example.com:5432/app');
    assert.equal(targetLabel('mysql', 'mysql://root:pw@127.0.0.1:3306/'), 'MySQL 127.0.0.1:3306');
  });
});
