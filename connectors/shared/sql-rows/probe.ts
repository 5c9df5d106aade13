/** The rows a relational destination's check() writes to prove it has the rights send() needs. */
import { randomUUID } from 'node:crypto';
import { jsonCell, type Cell, type EncodedRow, type RecordWrites } from './encode-rows.js';
import type { TableLayout, TableSpec } from './tables.js';

/** The ids of the rows check() writes start with this. */
export const PROBE_PREFIX = 'terra-fanout-check-';

export function probeId(): string {
  return `${PROBE_PREFIX}${randomUUID()}`;
}

/** The column check() reads back to see which of two writes of a probe row won. */
export function markerColumn(table: TableSpec): string {
  return table.role === 'users' ? 'state' : 'data_type';
}

/**
 * A row for `table` keyed `id`, with every required column set. `marker` goes in markerColumn()
 * (default: a healthcheck data type, or state `active`).
 */
export function probeRow(table: TableSpec, id: string, orderingTs = 0, marker?: string): EncodedRow {
  const cells: Record<string, Cell> = {};
  for (const column of table.columns) cells[column.name] = null;
  if (table.role === 'users') Object.assign(cells, { user_id: id, state: marker ?? 'active', ordering_ts: orderingTs });
  else Object.assign(cells, { payload_id: id, user_id: id, data_type: marker ?? table.dataType ?? 'healthcheck', ordering_ts: orderingTs, payload: jsonCell({ type: 'healthcheck', status: 'success' }) });
  return { table, cells };
}

/**
 * The writes check() runs in a transaction it rolls back: one row in every table and a user
 * re-key, so it needs exactly the rights send() needs (INSERT, UPDATE, DELETE, SELECT). The ids
 * are unique per check, so replicas checking at the same time never wait on each other's rows.
 */
export function probeWrites(layout: TableLayout, id: string = probeId()): RecordWrites[] {
  const user = probeRow(layout.users, id, 0, 'user_reauth');
  const userRow: EncodedRow = { table: layout.users, cells: { ...user.cells, previous_user_id: `${id}-old` } };
  const payloadTables = [layout.data, layout.other, ...layout.typed.values()];
  return [
    { rows: payloadTables.map((table) => probeRow(table, id)), reauth: null },
    { rows: [], reauth: { oldUserId: `${id}-old`, row: userRow } },
  ];
}
