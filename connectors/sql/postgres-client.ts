/** The SqlPort over `pg` (node-postgres). Only this file and mysql-client.ts touch a database driver. */
import { Socket } from 'node:net';
import pg from 'pg';
import { closeWithin, shutdownError, withDeadline, type CallDeadline } from '../shared/call-deadline.js';
import { quotedName, type DdlObject } from '../shared/sql-rows/ddl.js';
import { connectionUrl, tlsOptions, type SqlClientHooks, type SqlPort, type SqlStep } from './client.js';
import type { SqlConfig } from './config.js';
import { defaultMaxBytesPerStatement, planStatements } from './encode.js';

/** One advisory lock for every terra-fanout replica creating tables in this database. */
const DDL_LOCK = 'terra-fanout:ddl';

/** How long a client may sit idle inside an open transaction (a crashed writer must not hold row locks). */
const IDLE_IN_TRANSACTION_MS = 60_000;

async function exists(client: pg.PoolClient, object: DdlObject, deadline: CallDeadline): Promise<boolean> {
  if (object.kind === 'schema') return (await deadline.within(client.query('SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1', [object.name]), 'lookup')).rowCount === 1;
  if (object.kind === 'table' || object.kind === 'index') {
    const result = await deadline.within(client.query<{ found: boolean }>('SELECT to_regclass($1) IS NOT NULL AS found', [quotedName('postgres', object.namespace, object.name)]), 'lookup');
    return result.rows[0]?.found === true;
  }
  return false;
}

export function createPostgresClient(config: SqlConfig, hooks: SqlClientHooks = {}): SqlPort {
  const ssl = tlsOptions(config);
  /** Every socket the pool opened and that is not closed yet: close() destroys what is left. */
  const sockets = new Set<Socket>();
  const pool = new pg.Pool({
    connectionString: connectionUrl(config).toString(),
    ...(ssl === undefined ? {} : { ssl }),
    max: config.pool.max,
    idleTimeoutMillis: config.pool.idleTimeoutMs,
    connectionTimeoutMillis: Math.min(config.pool.connectTimeoutMs, config.timeoutMs),
    statement_timeout: config.statementTimeoutMs,
    lock_timeout: config.statementTimeoutMs,
    idle_in_transaction_session_timeout: IDLE_IN_TRANSACTION_MS,
    application_name: 'terra-fanout',
    keepAlive: true,
    stream: () => {
      const socket = new Socket();
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      return socket;
    },
  });
  // An idle connection that breaks is dropped by the pool; the next write reports the outage.
  pool.on('error', () => undefined);
  // A connection that breaks while checked out (server gone, socket destroyed by a timeout or by
  // close()) fails its query, which the write reports; pg also emits 'error' on the client, which
  // without a listener would crash the process.
  pool.on('connect', (client) => client.on('error', () => undefined));
  const limits = { maxRowsPerStatement: config.maxRowsPerStatement, maxBytesPerStatement: defaultMaxBytesPerStatement };
  const before = async (step: SqlStep, deadline: CallDeadline): Promise<void> => {
    if (hooks.beforeStep !== undefined) await deadline.within(Promise.resolve(hooks.beforeStep(step)), step);
  };
  let closed: Promise<void> | undefined;
  /** Aborted by close(): a call in flight ends at once as a retryable shutdown error. */
  const closing = new AbortController();

  /**
   * A pooled connection within the deadline. One that arrives after the deadline goes back to the
   * pool (it is healthy; only the wait was too long).
   */
  async function acquire(deadline: CallDeadline): Promise<pg.PoolClient> {
    await before('connect', deadline);
    const connecting = pool.connect();
    try {
      return await deadline.within(connecting, 'connect');
    } catch (error) {
      connecting.then((client) => client.release(), () => undefined);
      throw error;
    }
  }

  /** Gives a connection back, or destroys it when its state is unknown (timed out, abandoned, failed). */
  function giveBack(client: pg.PoolClient, broken: boolean): void {
    if (!broken) {
      client.release();
      return;
    }
    client.release(true);
    // pg ends a client with a query in flight by destroying its socket, an idle one politely
    // (which a frozen server never answers): destroy it either way.
    if (client instanceof pg.Client) client.connection.stream.destroy();
  }

  /**
   * Runs `work` inside BEGIN/COMMIT (or ROLLBACK) on one connection, all of it within the deadline.
   * A connection that failed, timed out or was abandoned at shutdown is destroyed: its transaction
   * then ends on the server without a ROLLBACK round trip that could hang too.
   */
  async function inTransaction(work: (client: pg.PoolClient) => Promise<void>, rollback: boolean, deadline: CallDeadline): Promise<void> {
    const client = await acquire(deadline);
    let broken = false;
    try {
      await before('begin', deadline);
      await deadline.within(client.query('BEGIN'), 'begin');
      await work(client);
      const end = rollback ? 'rollback' : 'commit';
      await before(end, deadline);
      await deadline.within(client.query(rollback ? 'ROLLBACK' : 'COMMIT'), end);
    } catch (error) {
      broken = deadline.over;
      if (!broken) {
        await deadline.within(client.query('ROLLBACK'), 'rollback').catch(() => {
          broken = true;
        });
      }
      throw error;
    } finally {
      giveBack(client, broken);
    }
  }

  return {
    ensureObjects(objects) {
      return withDeadline(config.timeoutMs, closing.signal, async (deadline) => {
        const client = await acquire(deadline);
        const missing: DdlObject[] = [];
        try {
          await before('lookup', deadline);
          for (const object of objects) if (!(await exists(client, object, deadline))) missing.push(object);
        } catch (error) {
          giveBack(client, true);
          throw error;
        }
        giveBack(client, false);
        if (missing.length === 0) return [];
        const created: string[] = [];
        await inTransaction(
          async (transaction) => {
            await deadline.within(transaction.query('SELECT pg_advisory_xact_lock(hashtext($1))', [DDL_LOCK]), 'ddl');
            for (const object of missing) {
              if (await exists(transaction, object, deadline)) continue;
              await before('ddl', deadline);
              await deadline.within(transaction.query(object.sql), 'ddl');
              created.push(`${object.kind} ${quotedName('postgres', object.namespace, object.name)}`);
            }
          },
          false,
          deadline,
        );
        return created;
      });
    },

    async write(plan, options) {
      const statements = planStatements('postgres', plan, limits);
      if (statements.length === 0) return;
      if (options.signal.aborted || closing.signal.aborted) throw shutdownError('written');
      await withDeadline(config.timeoutMs, [options.signal, closing.signal], (deadline) =>
        inTransaction(
          async (client) => {
            for (const statement of statements) {
              await before('statement', deadline);
              await deadline.within(client.query(statement.text, statement.values), 'statement');
            }
          },
          options.rollback === true,
          deadline,
        ),
      );
    },

    close() {
      closing.abort();
      closed ??= closeWithin(
        () => pool.end(),
        () => {
          for (const socket of sockets) socket.destroy();
        },
      );
      return closed;
    },
  };
}
