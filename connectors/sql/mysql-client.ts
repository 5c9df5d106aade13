/** The SqlPort over `mysql2` (MySQL 8 and MariaDB). Only this file and postgres-client.ts touch a database driver. */
import mysql from 'mysql2/promise';
import type { PoolConnection as CorePoolConnection } from 'mysql2';
import { FanoutError } from '../../src/errors/catalogue.js';
import { quotedName, type DdlObject } from '../shared/sql-rows/ddl.js';
import { connectionUrl, tlsOptions, type SqlPort } from './client.js';
import type { SqlConfig } from './config.js';
import { defaultMaxBytesPerStatement, planStatements, type SqlStatement } from './encode.js';

/** GET_LOCK names are server-wide and at most 64 characters. */
function ddlLockName(database: string): string {
  return `terra-fanout:ddl:${database}`.slice(0, 64);
}

/** MariaDB's max_statement_time is unknown to MySQL (error 1193); MySQL's max_execution_time only bounds SELECTs. */
const UNKNOWN_SYSTEM_VARIABLE = 1193;

/** Roughly what a statement weighs on the wire: its text plus its bound values. */
function statementBytes(statement: SqlStatement): number {
  let bytes = Buffer.byteLength(statement.text);
  for (const value of statement.values) bytes += typeof value === 'string' ? Buffer.byteLength(value) : Buffer.isBuffer(value) ? value.length : 8;
  return bytes;
}

/** A fatal driver error, or a query timeout, leaves the connection unusable. */
function isConnectionBroken(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return true;
  return Reflect.get(error, 'fatal') === true || Reflect.get(error, 'code') === 'PROTOCOL_SEQUENCE_TIMEOUT';
}

type Queryable = Pick<mysql.PoolConnection, 'query'>;

async function exists(connection: Queryable, object: DdlObject): Promise<boolean> {
  let sql: string;
  let values: unknown[];
  if (object.kind === 'schema') {
    sql = 'SELECT 1 FROM information_schema.schemata WHERE schema_name = ?';
    values = [object.name];
  } else if (object.kind === 'table') {
    sql = 'SELECT 1 FROM information_schema.tables WHERE table_schema = COALESCE(?, DATABASE()) AND table_name = ?';
    values = [object.namespace, object.name];
  } else if (object.kind === 'index') {
    sql = 'SELECT 1 FROM information_schema.statistics WHERE table_schema = COALESCE(?, DATABASE()) AND table_name = ? AND index_name = ?';
    values = [object.namespace, object.table, object.name];
  } else return false;
  const [rows] = await connection.query<mysql.RowDataPacket[]>(sql, values);
  return rows.length > 0;
}

/**
 * Session settings every new connection gets before it is used: UTC, lock and statement timeouts,
 * and READ COMMITTED (as PostgreSQL's default): InnoDB then takes no gap locks for the re-key's
 * INSERT ... SELECT and DELETE, which otherwise deadlock with concurrent inserts.
 */
function prepareSession(connection: CorePoolConnection, statementTimeoutMs: number): void {
  const seconds = Math.max(1, Math.ceil(statementTimeoutMs / 1000));
  connection.query(`SET SESSION time_zone = '+00:00', innodb_lock_wait_timeout = ${seconds}`, () => undefined);
  connection.query('SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED', () => undefined);
  connection.query(`SET SESSION max_statement_time = ${statementTimeoutMs / 1000}`, (error: { errno?: number } | null) => {
    if (error?.errno === UNKNOWN_SYSTEM_VARIABLE) connection.query(`SET SESSION max_execution_time = ${statementTimeoutMs}`, () => undefined);
  });
}

export function createMysqlClient(config: SqlConfig): SqlPort {
  const url = connectionUrl(config);
  if (url.protocol === 'mariadb:') url.protocol = 'mysql:';
  const ssl = tlsOptions(config);
  const pool = mysql.createPool({
    uri: url.toString(),
    ...(ssl === undefined || ssl === false ? {} : { ssl }),
    connectionLimit: config.pool.max,
    maxIdle: config.pool.max,
    idleTimeout: config.pool.idleTimeoutMs,
    connectTimeout: config.pool.connectTimeoutMs,
    waitForConnections: true,
    queueLimit: 0,
    charset: 'UTF8MB4_UNICODE_CI',
    timezone: 'Z',
    dateStrings: true,
    supportBigNumbers: true,
    multipleStatements: false,
    enableKeepAlive: true,
  });
  pool.pool.on('connection', (connection) => prepareSession(connection, config.statementTimeoutMs));
  const limits = { maxRowsPerStatement: config.maxRowsPerStatement, maxBytesPerStatement: defaultMaxBytesPerStatement };
  // A backstop for a connection that stops answering altogether; the server-side timeouts come first.
  const queryTimeoutMs = config.statementTimeoutMs + 10_000;
  let closed: Promise<void> | undefined;

  /**
   * A statement over max_allowed_packet makes the server drop the connection; depending on timing
   * the client sees ER_NET_PACKET_TOO_LARGE or only the lost connection. In the second case, ask
   * the server for its limit: an oversized statement is a permanent destination_record_too_large
   * (so the destination finds the one record row by row), not an outage to retry forever.
   */
  async function refuseOversizedStatement(statement: SqlStatement, cause: unknown): Promise<void> {
    const bytes = statementBytes(statement);
    const limit = await pool
      .query<mysql.RowDataPacket[]>('SELECT @@GLOBAL.max_allowed_packet AS value')
      .then(([rows]) => Number(rows[0]?.['value']))
      .catch(() => Number.NaN);
    if (!Number.isFinite(limit) || bytes <= limit) return;
    throw new FanoutError(
      'destination_record_too_large',
      `The statement is about ${bytes} bytes, over the server's max_allowed_packet of ${limit}; the server closed the connection. Raise max_allowed_packet or keep such records out of this destination.`,
      { detail: { bytes, limit }, cause },
    );
  }

  async function withConnection<T>(work: (connection: mysql.PoolConnection) => Promise<T>): Promise<T> {
    const connection = await pool.getConnection();
    let discard = false;
    try {
      return await work(connection);
    } catch (error) {
      discard = isConnectionBroken(error);
      throw error;
    } finally {
      if (discard) connection.destroy();
      else connection.release();
    }
  }

  return {
    async ensureObjects(objects) {
      const missing = await withConnection(async (connection) => {
        const found: DdlObject[] = [];
        for (const object of objects) if (!(await exists(connection, object))) found.push(object);
        return found;
      });
      if (missing.length === 0) return [];
      return withConnection(async (connection) => {
        const [[database]] = await connection.query<mysql.RowDataPacket[]>('SELECT COALESCE(DATABASE(), \'\') AS name');
        const lock = ddlLockName(String(database?.['name'] ?? ''));
        const [[got]] = await connection.query<mysql.RowDataPacket[]>('SELECT GET_LOCK(?, ?) AS got', [lock, Math.ceil(queryTimeoutMs / 1000)]);
        if (got?.['got'] !== 1) throw new FanoutError('destination_timeout', 'Timed out waiting for another terra-fanout replica to finish creating tables.');
        const created: string[] = [];
        try {
          for (const object of missing) {
            if (await exists(connection, object)) continue;
            await connection.query(object.sql);
            created.push(`${object.kind} ${quotedName('mysql', object.namespace, object.name)}`);
          }
        } finally {
          // A broken session releases its locks when the server drops it.
          await connection.query('SELECT RELEASE_LOCK(?)', [lock]).catch(() => undefined);
        }
        return created;
      });
    },

    async write(plan, options) {
      const statements = planStatements('mysql', plan, limits);
      if (statements.length === 0) return;
      await withConnection(async (connection) => {
        await connection.beginTransaction();
        let current: SqlStatement | undefined;
        try {
          for (const statement of statements) {
            if (options.signal.aborted) throw new FanoutError('destination_unavailable', 'Not written: the worker is shutting down.', { detail: { shutdown: true } });
            current = statement;
            await connection.query({ sql: statement.text, values: statement.values, timeout: queryTimeoutMs });
          }
          current = undefined;
          if (options.rollback === true) await connection.rollback();
          else await connection.commit();
        } catch (error) {
          await connection.rollback().catch(() => undefined);
          if (current !== undefined && isConnectionBroken(error)) await refuseOversizedStatement(current, error);
          throw error;
        }
      });
    },

    close() {
      closed ??= pool.end().catch(() => undefined);
      return closed;
    },
  };
}
