import type { DdlObject } from '../shared/sql-rows/ddl.js';
import type { BatchWrites } from '../shared/sql-rows/plan-writes.js';
import type { SqlConfig } from './config.js';
import { createMysqlClient } from './mysql-client.js';
import { createPostgresClient } from './postgres-client.js';

export interface WriteOptions {
  /** Shutdown: checked between statements; a running statement ends within statementTimeoutMs. */
  signal: AbortSignal;
  /** Roll back instead of committing (check() proves the rights without leaving rows). */
  rollback?: boolean;
}

/**
 * What the SQL destination needs from a database. Implementations reject with the driver's own
 * error (the destination classifies it); they never log values or credentials.
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
  /** Closes the pool. Safe to call more than once. */
  close(): Promise<void>;
}

/** The real port for the configured dialect; connects lazily, on the first call. */
export function createSqlClient(config: SqlConfig): SqlPort {
  return config.dialect === 'postgres' ? createPostgresClient(config) : createMysqlClient(config);
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
