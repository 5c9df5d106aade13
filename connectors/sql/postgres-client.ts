/** The SqlPort over `pg` (node-postgres). Only this file and mysql-client.ts touch a database driver. */
import pg from 'pg';
import { FanoutError } from '../../src/errors/catalogue.js';
import { quotedName, type DdlObject } from '../shared/sql-rows/ddl.js';
import { connectionUrl, tlsOptions, type SqlPort } from './client.js';
import type { SqlConfig } from './config.js';
import { defaultMaxBytesPerStatement, planStatements } from './encode.js';

/** One advisory lock for every terra-fanout replica creating tables in this database. */
const DDL_LOCK = 'terra-fanout:ddl';

/** How long a client may sit idle inside an open transaction (a crashed writer must not hold row locks). */
const IDLE_IN_TRANSACTION_MS = 60_000;

async function exists(client: pg.PoolClient | pg.Pool, object: DdlObject): Promise<boolean> {
  if (object.kind === 'schema') return (await client.query('SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1', [object.name])).rowCount === 1;
  if (object.kind === 'table' || object.kind === 'index') {
    const result = await client.query<{ found: boolean }>('SELECT to_regclass($1) IS NOT NULL AS found', [quotedName('postgres', object.namespace, object.name)]);
    return result.rows[0]?.found === true;
  }
  return false;
}

export function createPostgresClient(config: SqlConfig): SqlPort {
  const ssl = tlsOptions(config);
  const pool = new pg.Pool({
    connectionString: connectionUrl(config).toString(),
    ...(ssl === undefined ? {} : { ssl }),
    max: config.pool.max,
    idleTimeoutMillis: config.pool.idleTimeoutMs,
    connectionTimeoutMillis: config.pool.connectTimeoutMs,
    statement_timeout: config.statementTimeoutMs,
    lock_timeout: config.statementTimeoutMs,
    idle_in_transaction_session_timeout: IDLE_IN_TRANSACTION_MS,
    // A backstop for a connection that stops answering altogether.
    query_timeout: config.statementTimeoutMs + 10_000,
    application_name: 'terra-fanout',
    keepAlive: true,
  });
  // An idle connection that breaks is dropped by the pool; the next write reports the outage.
  pool.on('error', () => undefined);
  const limits = { maxRowsPerStatement: config.maxRowsPerStatement, maxBytesPerStatement: defaultMaxBytesPerStatement };
  let closed: Promise<void> | undefined;

  /** Runs `work` inside BEGIN/COMMIT (or ROLLBACK) on one connection; a connection that failed is discarded. */
  async function inTransaction(work: (client: pg.PoolClient) => Promise<void>, rollback: boolean): Promise<void> {
    const client = await pool.connect();
    let discard = false;
    try {
      await client.query('BEGIN');
      await work(client);
      await client.query(rollback ? 'ROLLBACK' : 'COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {
        discard = true;
      });
      throw error;
    } finally {
      client.release(discard);
    }
  }

  return {
    async ensureObjects(objects) {
      const missing: DdlObject[] = [];
      for (const object of objects) if (!(await exists(pool, object))) missing.push(object);
      if (missing.length === 0) return [];
      const created: string[] = [];
      await inTransaction(async (client) => {
        await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [DDL_LOCK]);
        for (const object of missing) {
          if (await exists(client, object)) continue;
          await client.query(object.sql);
          created.push(`${object.kind} ${quotedName('postgres', object.namespace, object.name)}`);
        }
      }, false);
      return created;
    },

    async write(plan, options) {
      const statements = planStatements('postgres', plan, limits);
      if (statements.length === 0) return;
      await inTransaction(async (client) => {
        for (const statement of statements) {
          if (options.signal.aborted) throw new FanoutError('destination_unavailable', 'Not written: the worker is shutting down.', { detail: { shutdown: true } });
          await client.query(statement.text, statement.values);
        }
      }, options.rollback === true);
    },

    close() {
      closed ??= pool.end().catch(() => undefined);
      return closed;
    },
  };
}
