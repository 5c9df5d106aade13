/** The sql destination against a real PostgreSQL 15 started for this file (test/support/postgres.ts). */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmod, chown, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import pg from 'pg';
import { pino } from 'pino';
import { createSqlClient } from '../../../connectors/sql/client.js';
import { sqlConfigSchema } from '../../../connectors/sql/config.js';
import { createSqlDestination } from '../../../connectors/sql/destination.js';
import { FanoutError } from '../../../src/errors/catalogue.js';
import { makeRecord } from '../../support/records.js';
import { usePostgres } from '../../support/postgres.js';
import { describeSqlDestination } from './sql-suite.js';

const postgres = usePostgres();
const run = promisify(execFile);

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

describe('sql destination (postgres): TLS', () => {
  let certificate = '';
  let certDir = '';

  /** A self-signed certificate for 127.0.0.1, and TLS switched on in the running server (ALTER SYSTEM + reload). */
  before(async () => {
    if (process.env['TEST_POSTGRES_URL'] !== undefined) return;
    certDir = await mkdtemp(join(tmpdir(), 'tf-pg-tls-'));
    const key = join(certDir, 'server.key');
    const cert = join(certDir, 'server.crt');
    await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost']);
    await chmod(key, 0o600);
    if (process.getuid?.() === 0) {
      const uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim());
      const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim());
      for (const path of [certDir, key, cert]) await chown(path, uid, gid);
    }
    certificate = await readFile(cert, 'utf8');
    await postgres.current.query(`ALTER SYSTEM SET ssl_cert_file = '${cert}'`);
    await postgres.current.query(`ALTER SYSTEM SET ssl_key_file = '${key}'`);
    await postgres.current.query('ALTER SYSTEM SET ssl = on');
    await postgres.current.query('SELECT pg_reload_conf()');
  });
  after(async () => {
    if (certDir !== '') await rm(certDir, { recursive: true, force: true });
  });

  /** Connections of application terra-fanout that use TLS right now. */
  async function tlsConnections(): Promise<number> {
    const [row] = await postgres.current.query<{ n: string }>("SELECT COUNT(*) AS n FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.application_name = 'terra-fanout' AND s.ssl");
    return Number(row?.n ?? 0);
  }

  function destination(tls: Record<string, unknown>) {
    const config = sqlConfigSchema.parse({ dialect: 'postgres', url: postgres.current.url, tls });
    return createSqlDestination(config, createSqlClient(config), { tenant: 'acme', destination: 'db', logger: pino({ level: 'silent' }) });
  }

  it('require encrypts without checking the certificate; verify checks it against tls.ca', async (t) => {
    if (certificate === '') return t.skip('TLS is only switched on in the server this file starts');
    const required = destination({ mode: 'require' });
    try {
      await required.check();
      assert.ok((await tlsConnections()) >= 1, 'the connection uses TLS');
    } finally {
      await required.close();
    }
    const verified = destination({ mode: 'verify', ca: certificate });
    try {
      await verified.check();
    } finally {
      await verified.close();
    }
    const unverifiable = destination({ mode: 'verify' });
    try {
      await assert.rejects(unverifiable.check(), (error: unknown) => {
        assert.ok(error instanceof FanoutError);
        assert.equal(error.code, 'destination_misconfigured');
        assert.match(error.message, /tls\.ca/);
        return true;
      });
    } finally {
      await unverifiable.close();
    }
    return undefined;
  });
});
