/**
 * Pure: rows as PostgREST takes them. The rows themselves are the shared relational encoding
 * (../shared/sql-rows/encode-rows.ts), the same the `sql` destination writes.
 */
import { isPlainObject } from '../../src/json/json-value.js';
import { isJsonCell, jsonCell, type Cell, type EncodedRow } from '../shared/sql-rows/encode-rows.js';
import type { TableSpec } from '../shared/sql-rows/tables.js';
import type { JsonRow } from './client.js';

/** A row as JSON: times as ISO-8601 UTC, the payload as the JSON object itself (PostgREST stores it as jsonb). */
export function rowToJson(row: EncodedRow): JsonRow {
  const json: JsonRow = {};
  for (const column of row.table.columns) {
    const cell = row.cells[column.name] ?? null;
    if (isJsonCell(cell)) json[column.name] = cell.value;
    else if (column.type === 'timestamp' && typeof cell === 'number') json[column.name] = new Date(cell).toISOString();
    else json[column.name] = cell;
  }
  return json;
}

/** The reverse of rowToJson, for rows read back (the in-memory port). Unknown keys are dropped. */
export function rowFromJson(table: TableSpec, json: JsonRow): EncodedRow {
  const cells: Record<string, Cell> = {};
  for (const column of table.columns) {
    const value = json[column.name];
    if (column.type === 'json' && isPlainObject(value)) cells[column.name] = jsonCell(value);
    else if (column.type === 'timestamp' && typeof value === 'string') cells[column.name] = Date.parse(value);
    else if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') cells[column.name] = value;
    else cells[column.name] = null;
  }
  return { table, cells };
}
