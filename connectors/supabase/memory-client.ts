import type { MemoryPort } from '../../src/connector/contract.js';
import { isJsonCell, type EncodedRow } from '../shared/sql-rows/encode-rows.js';
import { mergeRow } from '../shared/sql-rows/merge-rows.js';
import { rowLocation, type TableSpec } from '../shared/sql-rows/tables.js';
import { createMemoryObjectStore } from '../shared/object-store/memory-port.js';
import type { JsonRow, RowFilter, SupabaseAnswer, SupabaseClients } from './client.js';
import { supabaseLayout, type SupabaseConfig } from './config.js';
import { rowFromJson, rowToJson } from './encode.js';

function matches(row: JsonRow, filters: readonly RowFilter[]): boolean {
  return filters.every((filter) => {
    const value = row[filter.column];
    if (filter.op === 'eq') return String(value) === String(filter.value);
    return typeof value === 'number' && typeof filter.value === 'number' && value <= filter.value;
  });
}

/**
 * An in-memory SupabasePort for the contract suite: tables that merge upserts the way the DDL's
 * triggers do (newest wins, coalesced columns and enrichment scores kept). `unavailable` answers
 * like an unreachable API, `rejected` like a wrong key. With `storage`, an in-memory bucket breaks
 * the same way.
 */
export function createMemorySupabasePort(config: SupabaseConfig): MemoryPort<SupabaseClients> {
  const bucket = config.storage === undefined ? undefined : createMemoryObjectStore(`memory://${config.storage.bucket}`);
  const layout = supabaseLayout(config);
  const tables = new Map<string, Map<string, EncodedRow>>();
  let broken: 'unavailable' | 'rejected' | null = null;

  const spec = (name: string): TableSpec | undefined => layout.all.find((table) => table.name === name);
  const failure = (): SupabaseAnswer<never> | null => {
    if (broken === 'unavailable') return { ok: false, status: 0, code: '', message: 'TypeError: fetch failed', cause: 'ECONNREFUSED', retryAfter: null };
    if (broken === 'rejected') return { ok: false, status: 401, code: '', message: 'Invalid API key', cause: null, retryAfter: null };
    return null;
  };
  const missing = (name: string): SupabaseAnswer<never> => ({ ok: false, status: 404, code: 'PGRST205', message: `Could not find the table 'public.${name}' in the schema cache`, cause: null, retryAfter: null });
  const rowsOf = (table: TableSpec): Map<string, EncodedRow> => {
    let rows = tables.get(table.name);
    if (rows === undefined) {
      rows = new Map();
      tables.set(table.name, rows);
    }
    return rows;
  };

  return {
    client: {
      storage: bucket?.client,
      api: {
        async upsert(name, rows) {
          const table = spec(name);
          if (table === undefined) return missing(name);
          const broke = failure();
          if (broke !== null) return broke;
          const stored = rowsOf(table);
          for (const json of rows) {
            const row = rowFromJson(table, json);
            const key = String(row.cells[table.key]);
            stored.set(key, mergeRow(stored.get(key), row));
          }
          return { ok: true, rows: undefined };
      },
      async select(name, columns, filters, limit) {
        const table = spec(name);
        if (table === undefined) return missing(name);
        const broke = failure();
        if (broke !== null) return broke;
        const found = [...rowsOf(table).values()].map(rowToJson).filter((row) => matches(row, filters)).slice(0, limit);
        return { ok: true, rows: found.map((row) => Object.fromEntries(columns.map((column) => [column, row[column] ?? null]))) };
      },
      async delete(name, filters) {
        const table = spec(name);
        if (table === undefined) return missing(name);
        const broke = failure();
        if (broke !== null) return broke;
        const stored = rowsOf(table);
        for (const [key, row] of stored) if (matches(rowToJson(row), filters)) stored.delete(key);
        return { ok: true, rows: undefined };
      },
      async close() {},
      },
    },
    stored() {
      const stored = new Map<string, Buffer>();
      for (const [name, rows] of tables) {
        const table = spec(name);
        if (table === undefined || table.role === 'users') continue;
        for (const [key, row] of rows) {
          const payload = row.cells['payload'];
          if (isJsonCell(payload)) stored.set(rowLocation(table, key), Buffer.from(payload.text));
        }
      }
      return stored;
    },
    breakWith(mode) {
      broken = mode;
      bucket?.breakWith(mode);
    },
  };
}
