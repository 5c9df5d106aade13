/**
 * Pure: the SQL each dialect runs for a plan of rows (../shared/sql-rows/plan-writes.ts). The
 * clients only execute what these builders return.
 */
import { randomUUID } from 'node:crypto';
import { jsonCell, type EncodedRow, type RecordWrites } from '../shared/sql-rows/encode-rows.js';
import { chunkRows, type BatchWrites } from '../shared/sql-rows/plan-writes.js';
import type { TableLayout, TableSpec } from '../shared/sql-rows/tables.js';
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

/** The ids of the rows check() writes (and rolls back) start with this. */
export const PROBE_PREFIX = 'terra-fanout-check-';

/**
 * The writes check() runs in a transaction it rolls back: one row in every table and a user
 * re-key, so it needs exactly the rights send() needs (INSERT, UPDATE, DELETE, SELECT). The ids
 * are unique per check, so replicas checking at the same time never wait on each other's rows.
 */
export function probeWrites(layout: TableLayout, id: string = `${PROBE_PREFIX}${randomUUID()}`): RecordWrites[] {
  const payload = jsonCell({ type: 'healthcheck', status: 'success' });
  const payloadRow = (table: TableSpec): EncodedRow => {
    const cells: Record<string, EncodedRow['cells'][string]> = {};
    for (const column of table.columns) cells[column.name] = null;
    Object.assign(cells, { payload_id: id, user_id: id, data_type: table.dataType ?? 'healthcheck', ordering_ts: 0, payload });
    return { table, cells };
  };
  const userRow: EncodedRow = {
    table: layout.users,
    cells: { user_id: id, reference_id: null, provider: null, granted_scopes: null, state: 'user_reauth', previous_user_id: `${id}-old`, ordering_ts: 0 },
  };
  const payloadTables = [layout.data, layout.other, ...layout.typed.values()];
  return [
    { rows: payloadTables.map(payloadRow), reauth: null },
    { rows: [], reauth: { oldUserId: `${id}-old`, row: userRow } },
  ];
}
