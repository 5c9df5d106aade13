/**
 * The tables the relational destinations (`sql`, `supabase`) write, described once: the DDL
 * (./ddl.ts), the row encoder (./encode-rows.ts), the merge rules (./merge-rows.ts) and every
 * dialect's statements are all derived from these specs.
 *
 * Layout `terra` mirrors Terra's own SQL/Supabase destinations (reference/terra-delivery-spec.md
 * sections 4.2 and 4.3): `terra_users`, `terra_data_payloads`, `terra_other_payloads`, with the
 * payload itself in the row. Layout `typed` adds one table per common data type with the fields
 * analysts query most as real columns beside the JSON.
 */
import { typedTableDefinitions, type TypedColumn } from './typed-columns.js';

/**
 * Portable column types; each dialect maps them (./ddl.ts):
 * id: indexed string (text / VARCHAR(255) binary collation); label: short string (text / VARCHAR(64));
 * text: long string; timestamp: an instant, written from unix ms (timestamptz / DATETIME(3) in UTC).
 */
export type ColumnType = 'id' | 'label' | 'text' | 'bigint' | 'integer' | 'double' | 'boolean' | 'timestamp' | 'json';

/**
 * What an update does with a column when the incoming row is not older than the stored one:
 * `newest` takes the incoming value; `coalesce` keeps the stored value when the incoming one is
 * null (Terra's rule for data_enrichment scores, and for user fields an event may omit);
 * `payload` takes the incoming JSON but keeps stored `data_enrichment` scores the incoming
 * payload has as null or lacks.
 */
export type MergeRule = 'newest' | 'coalesce' | 'payload';

export interface ColumnSpec {
  name: string;
  type: ColumnType;
  nullable: boolean;
  merge: MergeRule;
  /** One line for the DDL comment and the README. */
  description: string;
}

export interface IndexSpec {
  name: string;
  columns: readonly string[];
}

export type TableRole = 'users' | 'data' | 'other' | 'typed';

export interface TableSpec {
  role: TableRole;
  /** For `typed` tables: the Terra data type the table holds. */
  dataType: string | null;
  /** PostgreSQL schema / MySQL database, or null for the connection's default. */
  namespace: string | null;
  name: string;
  /** The primary key column: `payload_id` (the record identity) or `user_id`. */
  key: string;
  /** Every column terra-fanout writes, key first. `created_at` and `updated_at` are kept by the database. */
  columns: readonly ColumnSpec[];
  indexes: readonly IndexSpec[];
  /** How typed columns are read from the data item (typed tables only). */
  typedColumns: readonly TypedColumn[];
}

export interface TableLayout {
  users: TableSpec;
  data: TableSpec;
  other: TableSpec;
  /** Typed tables by Terra data type; empty for layout `terra`. */
  typed: ReadonlyMap<string, TableSpec>;
  /** Every table, in creation order. */
  all: readonly TableSpec[];
}

export type LayoutName = 'terra' | 'typed';

export interface TableNames {
  users: string;
  dataPayloads: string;
  otherPayloads: string;
  /** Typed tables are named `<typedPrefix><data type>`, e.g. `terra_activity`. */
  typedPrefix: string;
}

export const defaultTableNames: TableNames = {
  users: 'terra_users',
  dataPayloads: 'terra_data_payloads',
  otherPayloads: 'terra_other_payloads',
  typedPrefix: 'terra_',
};

export interface LayoutOptions {
  layout: LayoutName;
  namespace: string | null;
  tables: TableNames;
}

/** The columns every payload table (data, other, typed) starts with. */
const payloadKey: ColumnSpec = { name: 'payload_id', type: 'id', nullable: false, merge: 'newest', description: 'The record identity (32 hex characters): one row per record, the key every write upserts on.' };
const orderingTs: ColumnSpec = {
  name: 'ordering_ts',
  type: 'bigint',
  nullable: false,
  merge: 'newest',
  description: 'X-Terra-Ordering-Timestamp (else the Kafka timestamp), unix ms. An update with an older value is ignored.',
};
const payload: ColumnSpec = {
  name: 'payload',
  type: 'json',
  nullable: false,
  merge: 'payload',
  description: 'The record as a Terra event (envelope plus its one data item). Stored data_enrichment scores are kept when a later copy has them null.',
};

function dataColumns(userNullable: boolean): ColumnSpec[] {
  return [
    payloadKey,
    { name: 'user_id', type: 'id', nullable: userNullable, merge: 'newest', description: 'Terra user id (`user.user_id`).' },
    { name: 'reference_id', type: 'text', nullable: true, merge: 'coalesce', description: 'Your own id for the user (`user.reference_id`).' },
    { name: 'data_type', type: 'label', nullable: false, merge: 'newest', description: 'Terra event type, e.g. activity, sleep, daily.' },
    { name: 'provider', type: 'label', nullable: true, merge: 'newest', description: 'Terra provider, e.g. GARMIN.' },
  ];
}

const timeColumns: ColumnSpec[] = [
  { name: 'summary_id', type: 'text', nullable: true, merge: 'newest', description: '`metadata.summary_id` where the item has one.' },
  { name: 'start_time', type: 'timestamp', nullable: true, merge: 'newest', description: '`metadata.start_time` as an instant (a time without offset is read as UTC; the payload keeps the original).' },
  { name: 'end_time', type: 'timestamp', nullable: true, merge: 'newest', description: '`metadata.end_time` as an instant.' },
];

/** Appends a suffix to a name, shortening the name so the result stays within PostgreSQL's 63 characters. */
export function derivedName(base: string, suffix: string): string {
  const name = `${base}_${suffix}`;
  return name.length <= 63 ? name : `${base.slice(0, 62 - suffix.length)}_${suffix}`;
}

/** Builds the tables of a layout with the configured names. Pure. */
export function tableLayout(options: LayoutOptions): TableLayout {
  const { namespace, tables } = options;
  const users: TableSpec = {
    role: 'users',
    dataType: null,
    namespace,
    name: tables.users,
    key: 'user_id',
    columns: [
      { name: 'user_id', type: 'id', nullable: false, merge: 'newest', description: 'Terra user id.' },
      { name: 'reference_id', type: 'id', nullable: true, merge: 'coalesce', description: 'Your own id for the user, set at auth.' },
      { name: 'provider', type: 'label', nullable: true, merge: 'coalesce', description: 'Terra provider, e.g. GARMIN.' },
      { name: 'granted_scopes', type: 'text', nullable: true, merge: 'coalesce', description: 'Scopes the user granted (`user.scopes`, comma-separated).' },
      { name: 'state', type: 'label', nullable: false, merge: 'newest', description: 'Lifecycle: active (auth), deauth, access_revoked, user_reauth (re-keyed from previous_user_id).' },
      { name: 'previous_user_id', type: 'id', nullable: true, merge: 'coalesce', description: 'The user id this row was re-keyed from by a user_reauth event.' },
      orderingTs,
    ],
    indexes: [{ name: derivedName(tables.users, 'reference_id_idx'), columns: ['reference_id'] }],
    typedColumns: [],
  };
  const data: TableSpec = {
    role: 'data',
    dataType: null,
    namespace,
    name: tables.dataPayloads,
    key: 'payload_id',
    columns: [...dataColumns(false), ...timeColumns, orderingTs, payload],
    indexes: [{ name: derivedName(tables.dataPayloads, 'user_type_start_idx'), columns: ['user_id', 'data_type', 'start_time'] }],
    typedColumns: [],
  };
  const other: TableSpec = {
    role: 'other',
    dataType: null,
    namespace,
    name: tables.otherPayloads,
    key: 'payload_id',
    columns: [...dataColumns(true), orderingTs, payload],
    indexes: [{ name: derivedName(tables.otherPayloads, 'user_type_idx'), columns: ['user_id', 'data_type'] }],
    typedColumns: [],
  };
  const typed = new Map<string, TableSpec>();
  if (options.layout === 'typed') {
    for (const definition of typedTableDefinitions) {
      const name = `${tables.typedPrefix}${definition.dataType}`;
      typed.set(definition.dataType, {
        role: 'typed',
        dataType: definition.dataType,
        namespace,
        name,
        key: 'payload_id',
        columns: [
          ...dataColumns(false),
          ...timeColumns,
          ...definition.columns.map((column): ColumnSpec => ({ name: column.name, type: column.type, nullable: true, merge: column.merge, description: column.description })),
          orderingTs,
          payload,
        ],
        indexes: [{ name: derivedName(name, 'user_start_idx'), columns: ['user_id', 'start_time'] }],
        typedColumns: definition.columns,
      });
    }
  }
  return { users, data, other, typed, all: [users, data, other, ...typed.values()] };
}

/** `namespace.name`, or `name` without a namespace: how tables are named in messages and locations. */
export function qualifiedName(table: Pick<TableSpec, 'namespace' | 'name'>): string {
  return table.namespace === null ? table.name : `${table.namespace}.${table.name}`;
}

/** Where a payload row is, as `locate()` reports it: `terra.terra_data_payloads#<payload_id>`. */
export function rowLocation(table: Pick<TableSpec, 'namespace' | 'name'>, payloadId: string): string {
  return `${qualifiedName(table)}#${payloadId}`;
}

/** SQL identifiers terra-fanout accepts in config: safe to quote in every dialect, at most 63 characters. */
export const SQL_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
