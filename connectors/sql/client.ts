import type { DdlObject } from '../shared/sql-rows/ddl.js';
import type { BatchWrites } from '../shared/sql-rows/plan-writes.js';
import type { SqlConfig } from './config.js';
import { createMysqlClient } from './mysql-client.js';
import { createPostgresClient } from './postgres-client.js';

export interface WriteOptions {
  /** Shutdown: the write is abandoned (its connection closed) as soon as it aborts. */
  signal: AbortSignal;
  /** Roll back instead of committing (check() proves the rights without leaving rows). */
  rollback?: boolean;
}

/**
 * What the SQL destination needs from a database. Implementations reject with the driver's own
 * error, or with DeadlineExceeded / ShutdownAbort (../shared/call-deadline.ts) when a call ran
 * past `timeoutMs` or shutdown came first; the destination classifies them. A connection whose
 * call timed out or was abandoned is destroyed, never reused. They never log values or credentials.
 */
export interface SqlPort {
  /**
   * Creates the objects that are missing, in order. Looks first without a lock, so when everything
   * exists nothing is locked and no CREATE right is needed; otherwise takes a lock every replica
   * shares (PostgreSQL advisory lock, MySQL GET_LOCK), looks again and creates what is still missing.
   * Resolves with the names of what it created.
   */
  ensureObjects(objects: readonly DdlObject[]): Promise<string[]>;
  /** Applies the plan in one transaction: all of it, or nothing. */
  write(plan: BatchWrites, options: WriteOptions): Promise<void>;
  /**
   * Closes the pool: waits at most CLOSE_GRACE_MS for connections to end politely, then destroys
   * every socket still open (a frozen server must not keep the worker alive). Safe to call more than once.
   */
  close(): Promise<void>;
}

/** A step of a call to the database, as the clients name it in timeouts and hooks. */
export type SqlStep = 'connect' | 'begin' | 'statement' | 'commit' | 'rollback' | 'lookup' | 'ddl';

export interface SqlClientHooks {
  /**
   * Awaited before each step is sent (for tests that freeze the server at a chosen step). The
   * step's time is counted from before the hook, as a real wait would be.
   */
  beforeStep?: (step: SqlStep) => Promise<void> | void;
}

/** The real port for the configured dialect; connects lazily, on the first call. */
export function createSqlClient(config: SqlConfig, hooks: SqlClientHooks = {}): SqlPort {
  return config.dialect === 'postgres' ? createPostgresClient(config, hooks) : createMysqlClient(config, hooks);
}

/** The connection URL with `password` (when configured) put in. Only the clients call this. */
export function connectionUrl(config: SqlConfig): URL {
  const url = new URL(config.url.reveal());
  if (config.password !== undefined) url.password = encodeURIComponent(config.password.reveal());
  return url;
}

/** TLS options as Node's tls module takes them, or undefined to leave TLS to the URL. */
export function tlsOptions(config: SqlConfig): { rejectUnauthorized: boolean; ca?: string; cert?: string; key?: string; servername?: string } | false | undefined {
  const tls = config.tls;
  if (tls === undefined) return undefined;
  if (tls.mode === 'disable') return false;
  return {
    rejectUnauthorized: tls.mode === 'verify',
    ...(tls.ca === undefined ? {} : { ca: tls.ca }),
    ...(tls.cert === undefined ? {} : { cert: tls.cert }),
    ...(tls.key === undefined ? {} : { key: tls.key.reveal() }),
    ...(tls.servername === undefined ? {} : { servername: tls.servername }),
  };
}
