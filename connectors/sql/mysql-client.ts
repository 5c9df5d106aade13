/** The SqlPort over `mysql2` (MySQL 8 and MariaDB). Only this file and postgres-client.ts touch a database driver. */
import mysql from 'mysql2/promise';
import type { PoolConnection as CorePoolConnection } from 'mysql2';
import { FanoutError } from '../../src/errors/catalogue.js';
import { closeWithin, shutdownError, withDeadline, type CallDeadline } from '../shared/call-deadline.js';
import { quotedName, type DdlObject } from '../shared/sql-rows/ddl.js';
import { connectionUrl, tlsOptions, type SqlClientHooks, type SqlPort, type SqlStep } from './client.js';
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

export function createMysqlClient(config: SqlConfig, hooks: SqlClientHooks = {}): SqlPort {
  const url = connectionUrl(config);
  if (url.protocol === 'mariadb:') url.protocol = 'mysql:';
  const ssl = tlsOptions(config);
  const pool = mysql.createPool({
    uri: url.toString(),
    ...(ssl === undefined || ssl === false ? {} : { ssl }),
    connectionLimit: config.pool.max,
    maxIdle: config.pool.max,
    idleTimeout: config.pool.idleTimeoutMs,
    connectTimeout: Math.min(config.pool.connectTimeoutMs, config.timeoutMs),
    waitForConnections: true,
    queueLimit: 0,
    charset: 'UTF8MB4_UNICODE_CI',
    timezone: 'Z',
    dateStrings: true,
    supportBigNumbers: true,
    multipleStatements: false,
    enableKeepAlive: true,
  });
  /** Every connection the pool opened: close() destroys those a frozen server keeps from ending. */
  const connections = new Set<CorePoolConnection>();
  pool.pool.on('connection', (connection) => {
    connections.add(connection);
    connection.once('end', () => connections.delete(connection));
    prepareSession(connection, config.statementTimeoutMs);
  });
  const limits = { maxRowsPerStatement: config.maxRowsPerStatement, maxBytesPerStatement: defaultMaxBytesPerStatement };
  const before = async (step: SqlStep, deadline: CallDeadline): Promise<void> => {
    if (hooks.beforeStep !== undefined) await deadline.within(Promise.resolve(hooks.beforeStep(step)), step);
  };
  let closed: Promise<void> | undefined;
  /**
   * Aborted by close(): a call in flight ends at once as a retryable shutdown error. mysql2 does
   * not fail the query of a connection destroyed under it, so without this a write to a frozen
   * server would wait out its whole timeoutMs after close() returned.
   */
  const closing = new AbortController();

  /**
   * A statement over max_allowed_packet makes the server drop the connection; depending on timing
   * the client sees ER_NET_PACKET_TOO_LARGE or only the lost connection. In the second case, ask
   * the server for its limit: an oversized statement is a permanent destination_record_too_large
   * (so the destination finds the one record row by row), not an outage to retry forever.
   */
  async function refuseOversizedStatement(statement: SqlStatement, cause: unknown, deadline: CallDeadline): Promise<void> {
    const bytes = statementBytes(statement);
    const limit = await deadline
      .within(pool.query<mysql.RowDataPacket[]>('SELECT @@GLOBAL.max_allowed_packet AS value'), 'lookup')
      .then(([rows]) => Number(rows[0]?.['value']))
      .catch(() => Number.NaN);
    if (!Number.isFinite(limit) || bytes <= limit) return;
    throw new FanoutError(
      'destination_record_too_large',
      `The statement is about ${bytes} bytes, over the server's max_allowed_packet of ${limit}; the server closed the connection. Raise max_allowed_packet or keep such records out of this destination.`,
      { detail: { bytes, limit }, cause },
    );
  }

  /**
   * Runs `work` on one pooled connection within the deadline. A connection that arrives after the
   * deadline goes back to the pool (it is healthy; only the wait was too long). One whose call
   * failed fatally, timed out or was abandoned is destroyed: its transaction then ends on the
   * server, without a ROLLBACK round trip that could hang too.
   */
  async function withConnection<T>(deadline: CallDeadline, work: (connection: mysql.PoolConnection, markBroken: () => void) => Promise<T>): Promise<T> {
    await before('connect', deadline);
    const connecting = pool.getConnection();
    let connection: mysql.PoolConnection;
    try {
      connection = await deadline.within(connecting, 'connect');
    } catch (error) {
      connecting.then((late) => late.release(), () => undefined);
      throw error;
    }
    let discard = false;
    try {
      return await work(connection, () => {
        discard = true;
      });
    } catch (error) {
      discard ||= deadline.over || isConnectionBroken(error);
      throw error;
    } finally {
      if (discard) connection.destroy();
      else connection.release();
    }
  }

  return {
    ensureObjects(objects) {
      return withDeadline(config.timeoutMs, closing.signal, async (deadline) => {
        const missing = await withConnection(deadline, async (connection) => {
          const found: DdlObject[] = [];
          await before('lookup', deadline);
          for (const object of objects) if (!(await deadline.within(exists(connection, object), 'lookup'))) found.push(object);
          return found;
        });
        if (missing.length === 0) return [];
        return withConnection(deadline, async (connection) => {
          const [[database]] = await deadline.within(connection.query<mysql.RowDataPacket[]>('SELECT COALESCE(DATABASE(), \'\') AS name'), 'lookup');
          const lock = ddlLockName(String(database?.['name'] ?? ''));
          const waitSeconds = Math.max(1, Math.floor(config.timeoutMs / 2000));
          const [[got]] = await deadline.within(connection.query<mysql.RowDataPacket[]>('SELECT GET_LOCK(?, ?) AS got', [lock, waitSeconds]), 'ddl');
          if (got?.['got'] !== 1) throw new FanoutError('destination_timeout', 'Timed out waiting for another terra-fanout replica to finish creating tables.');
          const created: string[] = [];
          try {
            for (const object of missing) {
              if (await deadline.within(exists(connection, object), 'lookup')) continue;
              await before('ddl', deadline);
              await deadline.within(connection.query(object.sql), 'ddl');
              created.push(`${object.kind} ${quotedName('mysql', object.namespace, object.name)}`);
            }
          } finally {
            // A broken session releases its locks when the server drops it.
            if (!deadline.over) await deadline.within(connection.query('SELECT RELEASE_LOCK(?)', [lock]), 'ddl').catch(() => undefined);
          }
          return created;
        });
      });
    },

    async write(plan, options) {
      const statements = planStatements('mysql', plan, limits);
      if (statements.length === 0) return;
      if (options.signal.aborted || closing.signal.aborted) throw shutdownError('written');
      await withDeadline(config.timeoutMs, [options.signal, closing.signal], (deadline) =>
        withConnection(deadline, async (connection, markBroken) => {
          await before('begin', deadline);
          await deadline.within(connection.beginTransaction(), 'begin');
          let current: SqlStatement | undefined;
          try {
            for (const statement of statements) {
              current = statement;
              await before('statement', deadline);
              await deadline.within(connection.query({ sql: statement.text, values: statement.values }), 'statement');
            }
            current = undefined;
            const end = options.rollback === true ? 'rollback' : 'commit';
            await before(end, deadline);
            await deadline.within(options.rollback === true ? connection.rollback() : connection.commit(), end);
          } catch (error) {
            if (deadline.over) throw error;
            await deadline.within(connection.rollback(), 'rollback').catch(markBroken);
            if (current !== undefined && isConnectionBroken(error)) await refuseOversizedStatement(current, error, deadline);
            throw error;
          }
        }),
      );
    },

    close() {
      closing.abort();
      closed ??= closeWithin(
        () => pool.end(),
        () => {
          for (const connection of connections) connection.destroy();
        },
      );
      return closed;
    },
  };
}
