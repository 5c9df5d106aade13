/**
 * Pure: what one record becomes in the relational layout. Every relational destination (`sql`
 * with its dialects, `supabase`) writes exactly these rows; only the statements differ.
 *
 * - a data record: one row in `terra_data_payloads` (or its typed table in layout `typed`);
 * - any other record (user events, Teams events): one row in `terra_other_payloads`;
 * - auth, deauth, access_revoked: also an upsert of `terra_users` with the new `state`;
 * - user_reauth: also a re-key of `terra_users` from the old user id to the new one.
 */
import type { TerraRecord } from '../../../src/records/record.js';
import { isPlainObject } from '../../../src/json/json-value.js';
import { instantMs, parseTerraTime } from '../../../src/terra/terra-time.js';
import { rowLocation, type TableLayout, type TableSpec } from './tables.js';

/** A JSON column value: the text written by SQL dialects, the object sent by JSON APIs (PostgREST). */
export interface JsonCell {
  readonly kind: 'json';
  readonly text: string;
  readonly value: Readonly<Record<string, unknown>>;
}

/** A column value. `timestamp` columns hold unix milliseconds; each dialect formats them. */
export type Cell = string | number | boolean | null | JsonCell;

export interface EncodedRow {
  table: TableSpec;
  /** One value per column of `table.columns`. */
  cells: Readonly<Record<string, Cell>>;
}

/**
 * `terra_users` re-keyed from `oldUserId` to the new user of `row`: the new row takes over the old
 * one's `created_at` and fields the event lacks, then the old row is removed (unless a newer event
 * for it was stored).
 */
export interface ReauthWrite {
  oldUserId: string;
  row: EncodedRow;
}

export interface RecordWrites {
  /** The payload row first, then the users row when the event changes a user's state. */
  rows: EncodedRow[];
  reauth: ReauthWrite | null;
}

export function isJsonCell(cell: Cell | undefined): cell is JsonCell {
  return typeof cell === 'object' && cell !== null && cell.kind === 'json';
}

export function jsonCell(value: Readonly<Record<string, unknown>>, text: string = JSON.stringify(value)): JsonCell {
  return { kind: 'json', text, value };
}

/**
 * An ISO-8601 time as unix ms, read by src/terra/terra-time.ts (the rule the decoder validates
 * with). A time without offset (Terra's "user's local time") is read as UTC; a date alone is
 * midnight UTC. Null for anything else, and outside years 1000-9999 (the range every supported
 * database stores). Pure; never throws.
 */
export function parseInstantMs(raw: string | null | undefined): number | null {
  if (typeof raw !== 'string') return null;
  const parsed = parseTerraTime(raw.trim());
  return parsed.ok ? instantMs(parsed.time) : null;
}

/** The table a record's payload row goes to. */
export function payloadTableFor(layout: TableLayout, record: Pick<TerraRecord, 'kind' | 'type'>): TableSpec {
  if (record.kind !== 'data') return layout.other;
  return layout.typed.get(record.type) ?? layout.data;
}

/** Where `locate()` says a record lands: `<namespace>.<table>#<identity>`. */
export function recordLocation(layout: TableLayout, record: TerraRecord): string {
  return rowLocation(payloadTableFor(layout, record), record.identity);
}

/** What a user event does to `terra_users`, by event type. */
const stateByEvent: Readonly<Record<string, string>> = {
  auth: 'active',
  deauth: 'deauth',
  access_revoked: 'access_revoked',
  user_reauth: 'user_reauth',
};

function stringOrNull(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

/** Pure: the rows one record becomes. */
export function encodeRecordRows(layout: TableLayout, record: TerraRecord): RecordWrites {
  const table = payloadTableFor(layout, record);
  const startMs = parseInstantMs(record.startTime);
  const endMs = parseInstantMs(record.endTime);
  const cells: Record<string, Cell> = {
    payload_id: record.identity,
    user_id: record.userId,
    reference_id: record.referenceId,
    data_type: record.type,
    provider: record.provider,
    ordering_ts: record.orderingTimestampMs,
    payload: jsonCell(record.event, record.body.toString('utf8')),
  };
  if (table.role !== 'other') {
    cells['summary_id'] = record.summaryId;
    cells['start_time'] = startMs;
    cells['end_time'] = endMs;
  }
  const item = record.item ?? {};
  for (const column of table.typedColumns) cells[column.name] = column.read(item, { startMs, endMs });

  const rows: EncodedRow[] = [{ table, cells }];
  let reauth: ReauthWrite | null = null;
  const state = record.kind === 'user' ? stateByEvent[record.type] : undefined;
  const event = record.event;
  if (state !== undefined && record.userId !== null && !(record.type === 'auth' && event['status'] === 'error')) {
    const user = isPlainObject(event['new_user']) ? event['new_user'] : isPlainObject(event['user']) ? event['user'] : {};
    const oldUser = isPlainObject(event['old_user']) ? stringOrNull(event['old_user']['user_id']) : null;
    const userRow: EncodedRow = {
      table: layout.users,
      cells: {
        user_id: record.userId,
        reference_id: record.referenceId,
        provider: record.provider,
        granted_scopes: stringOrNull(user['scopes']),
        state,
        previous_user_id: record.type === 'user_reauth' ? oldUser : null,
        ordering_ts: record.orderingTimestampMs,
      },
    };
    if (record.type === 'user_reauth' && oldUser !== null && oldUser !== record.userId) reauth = { oldUserId: oldUser, row: userRow };
    else rows.push(userRow);
  }
  return { rows, reauth };
}
