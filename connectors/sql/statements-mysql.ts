/**
 * MySQL 8 / MariaDB statements. Newest-wins in one statement:
 * `ON DUPLICATE KEY UPDATE col = IF(VALUES(ordering_ts) >= ordering_ts, VALUES(col), col)`, with
 * ordering_ts assigned last (MySQL evaluates assignments left to right, each seeing the ones before).
 */
import { isPlainObject } from '../../src/json/json-value.js';
import type { Cell, EncodedRow, ReauthWrite } from '../shared/sql-rows/encode-rows.js';
import { quoteIdentifier, quotedTable } from '../shared/sql-rows/ddl.js';
import type { ColumnSpec, TableSpec } from '../shared/sql-rows/tables.js';
import type { SqlStatement } from './encode.js';

const q = (name: string): string => quoteIdentifier('mysql', name);

/** `YYYY-MM-DD HH:MM:SS.mmm` in UTC, what a DATETIME(3) column takes (sessions run in UTC). */
export function mysqlDateTime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').slice(0, 23);
}

/** A cell as a mysql2 parameter. */
export function mysqlParam(column: ColumnSpec, cell: Cell | undefined): unknown {
  if (cell === undefined || cell === null) return null;
  if (typeof cell === 'object') return cell.text;
  if (column.type === 'timestamp' && typeof cell === 'number') return mysqlDateTime(cell);
  return cell;
}

/** data_enrichment keys safe to name in a JSON path literal; others simply follow newest-wins. */
const ENRICHMENT_KEY = /^[A-Za-z0-9_]{1,64}$/;

/** The data_enrichment keys the incoming rows carry. */
export function enrichmentKeys(rows: readonly EncodedRow[], column: string): string[] {
  const keys = new Set<string>();
  for (const row of rows) {
    const cell = row.cells[column];
    if (typeof cell !== 'object' || cell === null) continue;
    const data = cell.value['data'];
    const item: unknown = Array.isArray(data) ? data[0] : undefined;
    const enrichment = isPlainObject(item) ? item['data_enrichment'] : undefined;
    if (!isPlainObject(enrichment)) continue;
    for (const key of Object.keys(enrichment)) if (ENRICHMENT_KEY.test(key)) keys.add(key);
  }
  return [...keys].sort();
}

/**
 * The payload after an update, keeping stored data_enrichment scores the incoming row has as null or
 * lacks. MySQL cannot iterate an object's keys inside ON DUPLICATE KEY UPDATE, so the keys of the
 * incoming rows (`keys`) are named in the statement; keys only the stored row has are kept as they are.
 * One difference from PostgreSQL: a key another row of the same statement carries, which neither
 * this row nor the stored one has, is written as null (PostgreSQL leaves it out).
 */
export function mysqlPayloadMerge(column: string, keys: readonly string[]): string {
  const stored = q(column);
  const incoming = `VALUES(${q(column)})`;
  const enrichment = "'$.data[0].data_enrichment'";
  const storedEnrichment = `JSON_EXTRACT(${stored}, ${enrichment})`;
  const pairs = keys.map((key) => {
    const path = `'$.data[0].data_enrichment."${key}"'`;
    const incomingIsNull = `COALESCE(JSON_TYPE(JSON_EXTRACT(${incoming}, ${path})), 'NULL') = 'NULL'`;
    return `'$."${key}"', JSON_EXTRACT(IF(${incomingIsNull}, ${stored}, ${incoming}), ${path})`;
  });
  const merged = pairs.length === 0 ? storedEnrichment : `JSON_SET(${storedEnrichment},\n      ${pairs.join(',\n      ')})`;
  return [
    `IF(JSON_TYPE(${storedEnrichment}) = 'OBJECT' AND JSON_TYPE(JSON_EXTRACT(${incoming}, '$.data[0]')) = 'OBJECT',`,
    `    JSON_SET(${incoming}, ${enrichment}, ${merged}),`,
    `    ${incoming})`,
  ].join('\n');
}

function updateAssignments(table: TableSpec, rows: readonly EncodedRow[]): string {
  const newer = `VALUES(${q('ordering_ts')}) >= ${q('ordering_ts')}`;
  const assignments = table.columns
    .filter((column) => column.name !== table.key && column.name !== 'ordering_ts')
    .map((column) => {
      const name = q(column.name);
      let value = `VALUES(${name})`;
      if (column.merge === 'coalesce') value = `COALESCE(VALUES(${name}), ${name})`;
      if (column.merge === 'payload') value = mysqlPayloadMerge(column.name, enrichmentKeys(rows, column.name));
      return `${name} = IF(${newer}, ${value}, ${name})`;
    });
  assignments.push(`${q('updated_at')} = IF(${newer}, CURRENT_TIMESTAMP(3), ${q('updated_at')})`);
  assignments.push(`${q('ordering_ts')} = IF(${newer}, VALUES(${q('ordering_ts')}), ${q('ordering_ts')})`);
  return assignments.join(',\n  ');
}

/** A multi-row upsert of `rows` (distinct keys) into `table`. */
export function mysqlUpsert(table: TableSpec, rows: readonly EncodedRow[]): SqlStatement {
  const values: unknown[] = [];
  const tuple = `(${table.columns.map(() => '?').join(', ')})`;
  for (const row of rows) for (const column of table.columns) values.push(mysqlParam(column, row.cells[column.name]));
  const columns = table.columns.map((column) => q(column.name)).join(', ');
  return {
    text: `INSERT INTO ${quotedTable('mysql', table)} (${columns}) VALUES\n${rows.map(() => tuple).join(',\n')}\nON DUPLICATE KEY UPDATE\n  ${updateAssignments(table, rows)}`,
    values,
  };
}

/**
 * A user re-key, as in PostgreSQL: the new row takes the old row's created_at and the fields the
 * event lacks, then the old row goes unless a newer event for it was stored. The SELECT is wrapped
 * in a derived table so ON DUPLICATE KEY UPDATE names only the target's columns.
 */
export function mysqlReauth(write: ReauthWrite): SqlStatement[] {
  const table = write.row.table;
  const values: unknown[] = [];
  const selected = table.columns.map((column) => {
    values.push(mysqlParam(column, write.row.cells[column.name]));
    const value = column.merge === 'coalesce' && column.name !== 'previous_user_id' ? `COALESCE(?, prior_user.${q(column.name)})` : '?';
    return `${value} AS ${q(`new_${column.name}`)}`;
  });
  selected.push(`COALESCE(prior_user.${q('created_at')}, CURRENT_TIMESTAMP(3)) AS ${q('new_created_at')}`);
  values.push(write.oldUserId);
  const columns = [...table.columns.map((column) => q(column.name)), q('created_at')].join(', ');
  const insert: SqlStatement = {
    text: [
      `INSERT INTO ${quotedTable('mysql', table)} (${columns})`,
      `SELECT * FROM (SELECT ${selected.join(', ')}`,
      `  FROM (SELECT 1 AS one) AS one LEFT JOIN ${quotedTable('mysql', table)} AS prior_user ON prior_user.${q(table.key)} = ?) AS incoming`,
      `ON DUPLICATE KEY UPDATE\n  ${updateAssignments(table, [])}`,
    ].join('\n'),
    values,
  };
  const remove: SqlStatement = {
    text: `DELETE FROM ${quotedTable('mysql', table)} WHERE ${q(table.key)} = ? AND ${q('ordering_ts')} <= ?`,
    values: [write.oldUserId, write.row.cells['ordering_ts'] ?? 0],
  };
  return [insert, remove];
}
