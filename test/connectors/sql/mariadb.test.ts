/** The sql destination (dialect mysql) against a real MariaDB started for this file (test/support/mariadb.ts). */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import mysql from 'mysql2/promise';
import { pino } from 'pino';
import { createSqlClient } from '../../../connectors/sql/client.js';
import { sqlConfigSchema } from '../../../connectors/sql/config.js';
import { createSqlDestination } from '../../../connectors/sql/destination.js';
import type { TerraRecord } from '../../../src/records/record.js';
import { makeActivityBatch, makeRecord } from '../../support/records.js';
import { useMariaDb } from '../../support/mariadb.js';
import { describeSqlDestination } from './sql-suite.js';

const mariadb = useMariaDb();

describeSqlDestination({
  dialect: 'mysql',
  server: mariadb,
  // user_id is VARCHAR(255): a longer one is refused in strict mode (ER_DATA_TOO_LONG).
  poison: () => makeRecord({ userId: 'u'.repeat(300), summaryId: 'poison' }),
  runSqlFile: async (url, sql) => {
    const connection = await mysql.createConnection({ uri: url, multipleStatements: true });
    try {
      await connection.query(sql);
    } finally {
      await connection.end();
    }
  },
  userWithoutRights: async (url) => {
    const name = `no_rights_${randomUUID().slice(0, 8)}`;
    const database = new URL(url).pathname.slice(1);
    await mariadb.current.query(`CREATE USER '${name}'@'%' IDENTIFIED BY 'pw'`);
    await mariadb.current.query(`GRANT SELECT ON \`${database}\`.* TO '${name}'@'%'`);
    const parsed = new URL(url);
    parsed.username = name;
    parsed.password = 'pw';
    return parsed.toString();
  },
  lockRow: async (url, table, payloadId) => {
    const connection = await mysql.createConnection({ uri: url });
    await connection.beginTransaction();
    await connection.query(`SELECT 1 FROM \`${table}\` WHERE payload_id = ? FOR UPDATE`, [payloadId]);
    return async () => {
      await connection.rollback();
      await connection.end();
    };
  },
});

describe('sql destination (mysql): a record over max_allowed_packet', () => {
  it('fails alone as destination_record_too_large; the rest of the batch is delivered', async (t) => {
    const [before] = await mariadb.current.query<{ value: number }>('SELECT @@GLOBAL.max_allowed_packet AS value');
    try {
      await mariadb.current.query('SET GLOBAL max_allowed_packet = 1048576');
    } catch {
      t.skip('no right to change max_allowed_packet on this server');
      return;
    }
    const config = sqlConfigSchema.parse({ dialect: 'mysql', url: mariadb.current.url });
    const destination = createSqlDestination(config, createSqlClient(config), { tenant: 'acme', destination: 'db', logger: pino({ level: 'silent' }) });
    try {
      await destination.check();
      const [small, other] = makeActivityBatch(2, ['packet-user']);
      const large = makeRecord({ userId: 'packet-user', summaryId: 'large' });
      const item = { ...(large.item ?? {}), heart_rate_data: { detailed: { hr_samples: Array.from({ length: 30_000 }, (_, index) => ({ timestamp: '2026-07-01T06:00:00Z', bpm: 60 + (index % 100) })) } } };
      const event = { ...large.event, data: [item] };
      const body = Buffer.from(JSON.stringify(event));
      assert.ok(body.length > 1_048_576, 'the record is larger than the packet limit');
      const batch = [small, { ...large, item, event, body }, other].filter((record): record is TerraRecord => record !== undefined);
      const outcomes = await destination.send(batch, new AbortController().signal);
      assert.deepEqual(outcomes.map((outcome) => (outcome.ok ? 'ok' : outcome.error.code)), ['ok', 'destination_record_too_large', 'ok']);
    } finally {
      await destination.close();
      await mariadb.current.query(`SET GLOBAL max_allowed_packet = ${Number(before?.value ?? 16_777_216)}`);
    }
  });
});
