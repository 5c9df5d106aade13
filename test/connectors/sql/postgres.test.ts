/** The sql destination against a real PostgreSQL 15 started for this file (test/support/postgres.ts). */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { makeRecord } from '../../support/records.js';
import { usePostgres } from '../../support/postgres.js';
import { describeSqlDestination } from './sql-suite.js';

const postgres = usePostgres();

async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

describeSqlDestination({
  dialect: 'postgres',
  server: postgres,
  // jsonb refuses the NUL character (SQLSTATE 22P05), which JSON text may carry as \u0000.
  poison: () => {
    const record = makeRecord({ userId: 'poison-user', summaryId: 'poison' });
    const item = { ...(record.item ?? {}), metadata: { summary_id: 'poison', start_time: record.startTime, end_time: record.endTime, type: 1, upload_type: 1, name: 'nul \u0000 here' } };
    const event = { ...record.event, data: [item] };
    return { ...record, item, event, body: Buffer.from(JSON.stringify(event)) };
  },
  runSqlFile: (url, sql) => withClient(url, async (client) => void (await client.query(sql))),
  userWithoutRights: async (url) => {
    const name = `no_rights_${randomUUID().slice(0, 8)}`;
    await postgres.current.query(`CREATE ROLE ${name} LOGIN`);
    const parsed = new URL(url);
    parsed.username = name;
    return parsed.toString();
  },
  lockRow: async (url, table, payloadId) => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query('BEGIN');
    await client.query(`SELECT 1 FROM terra."${table}" WHERE payload_id = $1 FOR UPDATE`, [payloadId]);
    return async () => {
      await client.query('ROLLBACK');
      await client.end();
    };
  },
});
