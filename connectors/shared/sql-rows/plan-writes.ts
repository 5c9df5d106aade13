import type { EncodedRow, RecordWrites, ReauthWrite } from './encode-rows.js';
import { mergeRow } from './merge-rows.js';
import { qualifiedName, type TableSpec } from './tables.js';

/** One table's rows of a batch: at most one row per key, sorted by key. */
export interface TableUpsert {
  table: TableSpec;
  rows: EncodedRow[];
}

/** What one write (one transaction for SQL) applies, in this order: upserts, then re-keys. */
export interface BatchWrites {
  /** Tables in name order, so concurrent writers take row locks in the same order. */
  upserts: TableUpsert[];
  /** In batch order. */
  reauths: ReauthWrite[];
}

function keyOf(row: EncodedRow): string {
  return String(row.cells[row.table.key] ?? '');
}

/**
 * Pure: folds the rows of many records into one write. Rows with the same key (a record sent twice
 * in one batch, two events of one user) are merged in batch order with the same rules the database
 * applies, because one statement may not update a row twice.
 */
export function planWrites(writes: readonly RecordWrites[]): BatchWrites {
  const tables = new Map<string, { table: TableSpec; rows: Map<string, EncodedRow> }>();
  const reauths: ReauthWrite[] = [];
  for (const write of writes) {
    for (const row of write.rows) {
      const name = qualifiedName(row.table);
      let entry = tables.get(name);
      if (entry === undefined) {
        entry = { table: row.table, rows: new Map() };
        tables.set(name, entry);
      }
      const key = keyOf(row);
      entry.rows.set(key, mergeRow(entry.rows.get(key), row));
    }
    if (write.reauth !== null) reauths.push(write.reauth);
  }
  const upserts = [...tables.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, entry]) => ({ table: entry.table, rows: [...entry.rows.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, row]) => row) }));
  return { upserts, reauths };
}

/** Splits rows into chunks of at most `maxRows` rows and about `maxBytes` of JSON text (a single larger row is its own chunk). */
export function chunkRows(rows: readonly EncodedRow[], maxRows: number, maxBytes: number, bytesOf: (row: EncodedRow) => number): EncodedRow[][] {
  const chunks: EncodedRow[][] = [];
  let current: EncodedRow[] = [];
  let bytes = 0;
  for (const row of rows) {
    const size = bytesOf(row);
    if (current.length > 0 && (current.length >= maxRows || bytes + size > maxBytes)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(row);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
