/**
 * PostgreSQL statements. Newest-wins in one statement:
 * `INSERT ... ON CONFLICT (key) DO UPDATE SET ... WHERE stored.ordering_ts <= EXCLUDED.ordering_ts`.
 */
import type { Cell, EncodedRow, ReauthWrite } from '../shared/sql-rows/encode-rows.js';
import { columnType, postgresPayloadMerge, quoteIdentifier, quotedTable } from '../shared/sql-rows/ddl.js';
import type { ColumnSpec, TableSpec } from '../shared/sql-rows/tables.js';
import type { SqlStatement } from './encode.js';

const q = (name: string): string => quoteIdentifier('postgres', name);

/** A cell as a `pg` parameter: times as ISO-8601 UTC, JSON as its text. */
export function postgresParam(column: ColumnSpec, cell: Cell | undefined): unknown {
  if (cell === undefined || cell === null) return null;
  if (typeof cell === 'object') return cell.text;
  if (column.type === 'timestamp' && typeof cell === 'number') return new Date(cell).toISOString();
  return cell;
}

/** `SET` of an upsert: every non-key column by its merge rule, then updated_at. */
function updateAssignments(table: TableSpec, stored: string): string {
  const assignments = table.columns
    .filter((column) => column.name !== table.key)
    .map((column) => {
      const incoming = `EXCLUDED.${q(column.name)}`;
      const current = `${stored}.${q(column.name)}`;
      if (column.merge === 'coalesce') return `${q(column.name)} = COALESCE(${incoming}, ${current})`;
      if (column.merge === 'payload') return `${q(column.name)} = ${postgresPayloadMerge(current, incoming)}`;
      return `${q(column.name)} = ${incoming}`;
    });
  assignments.push(`${q('updated_at')} = now()`);
  return assignments.join(',\n  ');
}

function conflictClause(table: TableSpec): string {
  return `ON CONFLICT (${q(table.key)}) DO UPDATE SET\n  ${updateAssignments(table, 'stored')}\nWHERE stored.${q('ordering_ts')} <= EXCLUDED.${q('ordering_ts')}`;
}

/** A multi-row upsert of `rows` (distinct keys) into `table`. */
export function postgresUpsert(table: TableSpec, rows: readonly EncodedRow[]): SqlStatement {
  const values: unknown[] = [];
  const tuples = rows.map((row) => {
    const placeholders = table.columns.map((column) => {
      values.push(postgresParam(column, row.cells[column.name]));
      return `$${values.length}`;
    });
    return `(${placeholders.join(', ')})`;
  });
  const columns = table.columns.map((column) => q(column.name)).join(', ');
  return { text: `INSERT INTO ${quotedTable('postgres', table)} AS stored (${columns}) VALUES\n${tuples.join(',\n')}\n${conflictClause(table)}`, values };
}

/**
 * A user re-key: the new user's row takes the old row's created_at and the fields the event lacks
 * (same newest-wins upsert as any users row), then the old row goes, unless a newer event for the
 * old id was stored.
 */
export function postgresReauth(write: ReauthWrite): SqlStatement[] {
  const table = write.row.table;
  const values: unknown[] = [];
  const param = (column: ColumnSpec): string => {
    values.push(postgresParam(column, write.row.cells[column.name]));
    return `$${values.length}::${columnType('postgres', column.type)}`;
  };
  const selected = table.columns.map((column) => {
    const value = param(column);
    return column.merge === 'coalesce' && column.name !== 'previous_user_id' ? `COALESCE(${value}, prior_user.${q(column.name)})` : value;
  });
  values.push(write.oldUserId);
  const oldId = `$${values.length}::text`;
  const columns = [...table.columns.map((column) => q(column.name)), q('created_at')].join(', ');
  const insert: SqlStatement = {
    text: [
      `INSERT INTO ${quotedTable('postgres', table)} AS stored (${columns})`,
      `SELECT ${selected.join(', ')}, COALESCE(prior_user.${q('created_at')}, now())`,
      `FROM (SELECT 1) AS one LEFT JOIN ${quotedTable('postgres', table)} AS prior_user ON prior_user.${q(table.key)} = ${oldId}`,
      conflictClause(table),
    ].join('\n'),
    values,
  };
  const remove: SqlStatement = {
    text: `DELETE FROM ${quotedTable('postgres', table)} WHERE ${q(table.key)} = $1 AND ${q('ordering_ts')} <= $2`,
    values: [write.oldUserId, write.row.cells['ordering_ts'] ?? 0],
  };
  return [insert, remove];
}
