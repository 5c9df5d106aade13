/**
 * Pure: the SQL each dialect runs for a plan of rows (../shared/sql-rows/plan-writes.ts). The
 * clients only execute what these builders return.
 */
import type { EncodedRow } from '../shared/sql-rows/encode-rows.js';
import { chunkRows, type BatchWrites } from '../shared/sql-rows/plan-writes.js';
import type { SqlDialect } from './config.js';
import { mysqlReauth, mysqlUpsert } from './statements-mysql.js';
import { postgresReauth, postgresUpsert } from './statements-postgres.js';

/** One statement with its parameters ($1.. for PostgreSQL, ? for MySQL). */
export interface SqlStatement {
  text: string;
  values: unknown[];
}

export interface StatementLimits {
  maxRowsPerStatement: number;
  /** JSON text per statement, roughly; a row larger than this is a statement of its own. */
  maxBytesPerStatement: number;
}

/** About 4 MiB per statement: well under MySQL's default max_allowed_packet (16 MiB in MariaDB, 64 MiB in MySQL 8). */
export const defaultMaxBytesPerStatement = 4 * 1024 * 1024;

function rowBytes(row: EncodedRow): number {
  let bytes = 64;
  for (const value of Object.values(row.cells)) {
    if (typeof value === 'string') bytes += value.length;
    else if (typeof value === 'object' && value !== null) bytes += value.text.length;
    else bytes += 8;
  }
  return bytes;
}

/**
 * The statements of one transaction: each table's rows as multi-row upserts (chunked), then each
 * user re-key. Every upsert keeps the newer row by ordering_ts and applies the merge rules.
 */
export function planStatements(dialect: SqlDialect, plan: BatchWrites, limits: StatementLimits): SqlStatement[] {
  const upsert = dialect === 'postgres' ? postgresUpsert : mysqlUpsert;
  const reauth = dialect === 'postgres' ? postgresReauth : mysqlReauth;
  const statements: SqlStatement[] = [];
  for (const { table, rows } of plan.upserts) {
    for (const chunk of chunkRows(rows, limits.maxRowsPerStatement, limits.maxBytesPerStatement, rowBytes)) statements.push(upsert(table, chunk));
  }
  for (const write of plan.reauths) statements.push(...reauth(write));
  return statements;
}
