import type { MemoryPort } from '../../src/connector/contract.js';
import { isJsonCell, type EncodedRow } from '../shared/sql-rows/encode-rows.js';
import { mergeRow } from '../shared/sql-rows/merge-rows.js';
import type { BatchWrites } from '../shared/sql-rows/plan-writes.js';
import { qualifiedName, rowLocation } from '../shared/sql-rows/tables.js';
import type { SqlPort } from './client.js';
import type { SqlConfig } from './config.js';

/** Stored rows by qualified table name, then by key. */
export type MemoryTables = Map<string, Map<string, EncodedRow>>;

export interface MemorySqlPort extends MemoryPort<SqlPort> {
  /** Every stored row, for assertions beyond stored(). */
  tables(): ReadonlyMap<string, ReadonlyMap<string, EncodedRow>>;
}

function driverError(config: SqlConfig, mode: 'unavailable' | 'rejected'): Error {
  if (mode === 'unavailable') return Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
  if (config.dialect === 'postgres') return Object.assign(new Error('permission denied for table terra_data_payloads'), { code: '42501' });
  return Object.assign(new Error("INSERT command denied to user 'terra'@'localhost' for table 'terra_data_payloads'"), { code: 'ER_TABLEACCESS_DENIED_ERROR', errno: 1142, sqlState: '42000' });
}

function keyOf(row: EncodedRow): string {
  return String(row.cells[row.table.key] ?? '');
}

/** Applies a plan to `tables` with the same rules the SQL statements follow. */
export function applyPlan(tables: MemoryTables, plan: BatchWrites): void {
  const tableOf = (row: EncodedRow): Map<string, EncodedRow> => {
    const name = qualifiedName(row.table);
    let rows = tables.get(name);
    if (rows === undefined) {
      rows = new Map();
      tables.set(name, rows);
    }
    return rows;
  };
  for (const { rows } of plan.upserts) {
    for (const row of rows) {
      const stored = tableOf(row);
      stored.set(keyOf(row), mergeRow(stored.get(keyOf(row)), row));
    }
  }
  for (const reauth of plan.reauths) {
    const users = tableOf(reauth.row);
    const old = users.get(reauth.oldUserId);
    const carried: EncodedRow = { table: reauth.row.table, cells: { ...reauth.row.cells } };
    if (old !== undefined) {
      const cells = { ...carried.cells } as Record<string, EncodedRow['cells'][string]>;
      for (const column of reauth.row.table.columns) {
        if (column.merge === 'coalesce' && column.name !== 'previous_user_id') cells[column.name] = reauth.row.cells[column.name] ?? old.cells[column.name] ?? null;
      }
      carried.cells = cells;
    }
    users.set(keyOf(carried), mergeRow(users.get(keyOf(carried)), carried));
    const ordering = reauth.row.cells['ordering_ts'];
    const oldOrdering = old?.cells['ordering_ts'];
    if (old !== undefined && typeof ordering === 'number' && typeof oldOrdering === 'number' && oldOrdering <= ordering) users.delete(reauth.oldUserId);
  }
}

/**
 * An in-memory SqlPort for the contract suite and unit tests: tables of rows merged with the same
 * rules as the SQL. `unavailable` fails like a refused connection, `rejected` like a missing grant.
 */
export function createMemorySqlPort(config: SqlConfig): MemorySqlPort {
  const tables: MemoryTables = new Map();
  let broken: 'unavailable' | 'rejected' | null = null;
  const failIfBroken = (): void => {
    if (broken !== null) throw driverError(config, broken);
  };
  return {
    client: {
      async ensureObjects() {
        failIfBroken();
        return [];
      },
      async write(plan, options) {
        failIfBroken();
        const staged: MemoryTables = new Map([...tables].map(([name, rows]) => [name, new Map(rows)]));
        applyPlan(staged, plan);
        if (options.rollback === true) return;
        tables.clear();
        for (const [name, rows] of staged) tables.set(name, rows);
      },
      async close() {},
    },
    stored() {
      const stored = new Map<string, Buffer>();
      for (const rows of tables.values()) {
        for (const row of rows.values()) {
          const payload = row.cells['payload'];
          if (isJsonCell(payload)) stored.set(rowLocation(row.table, keyOf(row)), Buffer.from(payload.text));
        }
      }
      return stored;
    },
    tables: () => tables,
    breakWith(mode) {
      broken = mode;
    },
  };
}
