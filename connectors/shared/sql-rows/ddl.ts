/**
 * The DDL of the relational layout, generated from ./tables.ts for three flavors:
 * - `postgres`: PostgreSQL (the `sql` connector, dialect postgres);
 * - `mysql`: MySQL 8 and MariaDB 10.5+ (the `sql` connector, dialect mysql);
 * - `supabase`: PostgreSQL as Supabase runs it, written through PostgREST. PostgREST's upsert can
 *   only overwrite, so a BEFORE UPDATE trigger per table applies the merge rules (an older row is
 *   ignored, coalesced columns and enrichment scores are kept), and row level security is enabled
 *   (no policies: only the service role, which bypasses RLS, can read or write).
 *
 * The same objects are what `autoCreate` runs and what connectors/sql/ddl/ and
 * connectors/supabase/ddl/ ship as plain files (a test fails when the files drift).
 */
import { derivedName, qualifiedName, type ColumnSpec, type ColumnType, type TableSpec } from './tables.js';

export type DdlFlavor = 'postgres' | 'mysql' | 'supabase';

export type DdlObjectKind = 'schema' | 'table' | 'index' | 'function' | 'trigger' | 'row-security';

/** One thing `autoCreate` makes sure exists. */
export interface DdlObject {
  kind: DdlObjectKind;
  /** Schema (PostgreSQL) or database (MySQL); null for the connection's default. */
  namespace: string | null;
  /** The object's own name (for an index, the index name). */
  name: string;
  /** The table an index or trigger belongs to. */
  table: string | null;
  /** The statement that creates it; safe to run again (IF NOT EXISTS / OR REPLACE) where the dialect allows. */
  sql: string;
  /** False for statements only run on an existing table that lacks the object (MySQL indexes, created inline otherwise). */
  inFile: boolean;
}

export function quoteIdentifier(flavor: DdlFlavor, name: string): string {
  return flavor === 'mysql' ? `\`${name.replaceAll('`', '``')}\`` : `"${name.replaceAll('"', '""')}"`;
}

/** `"ns"."name"` / `` `ns`.`name` ``, or the bare quoted name without a namespace. */
export function quotedName(flavor: DdlFlavor, namespace: string | null, name: string): string {
  const quoted = quoteIdentifier(flavor, name);
  return namespace === null ? quoted : `${quoteIdentifier(flavor, namespace)}.${quoted}`;
}

export function quotedTable(flavor: DdlFlavor, table: Pick<TableSpec, 'namespace' | 'name'>): string {
  return quotedName(flavor, table.namespace, table.name);
}

const postgresTypes: Readonly<Record<ColumnType, string>> = {
  id: 'text',
  label: 'text',
  text: 'text',
  bigint: 'bigint',
  integer: 'integer',
  double: 'double precision',
  boolean: 'boolean',
  timestamp: 'timestamptz',
  json: 'jsonb',
};

const mysqlTypes: Readonly<Record<ColumnType, string>> = {
  id: 'VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin',
  label: 'VARCHAR(64)',
  text: 'TEXT',
  bigint: 'BIGINT',
  integer: 'INT',
  double: 'DOUBLE',
  boolean: 'BOOLEAN',
  timestamp: 'DATETIME(3)',
  json: 'JSON',
};

/** The SQL type of a column in a dialect; also the cast a PostgreSQL parameter gets. */
export function columnType(flavor: DdlFlavor, type: ColumnType): string {
  return flavor === 'mysql' ? mysqlTypes[type] : postgresTypes[type];
}

const STORED = '__stored__';
const INCOMING = '__incoming__';
const ENRICHMENT = "'{data,0,data_enrichment}'";

/**
 * PostgreSQL expression: the payload after `incoming` is written over `stored` (both jsonb
 * expressions). Per data_enrichment key, the incoming value unless it is null or missing, then the
 * stored one (Terra: scores are not a superset; never let a later null overwrite a stored score).
 * Other keys of the payload are the incoming copy's.
 */
export function postgresPayloadMerge(stored: string, incoming: string): string {
  const template = [
    `CASE WHEN jsonb_typeof(${STORED} #> ${ENRICHMENT}) = 'object' AND jsonb_typeof(${INCOMING} #> '{data,0}') = 'object'`,
    `  THEN jsonb_set(${INCOMING}, ${ENRICHMENT},`,
    `    (CASE WHEN jsonb_typeof(${INCOMING} #> ${ENRICHMENT}) = 'object' THEN ${INCOMING} #> ${ENRICHMENT} ELSE '{}'::jsonb END)`,
    `    || COALESCE((SELECT jsonb_object_agg(kept.key, kept.value) FROM jsonb_each(${STORED} #> ${ENRICHMENT}) AS kept`,
    `        WHERE COALESCE((${INCOMING} #> ${ENRICHMENT}) -> kept.key, 'null'::jsonb) = 'null'::jsonb), '{}'::jsonb))`,
    `  ELSE ${INCOMING} END`,
  ].join('\n');
  return template.replaceAll(STORED, stored).replaceAll(INCOMING, incoming);
}

function columnLine(flavor: DdlFlavor, column: ColumnSpec): string {
  return `${quoteIdentifier(flavor, column.name)} ${columnType(flavor, column.type)}${column.nullable ? '' : ' NOT NULL'}`;
}

function timestampColumns(flavor: DdlFlavor): string[] {
  const type = flavor === 'mysql' ? 'DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)' : 'timestamptz NOT NULL DEFAULT now()';
  return [`${quoteIdentifier(flavor, 'created_at')} ${type}`, `${quoteIdentifier(flavor, 'updated_at')} ${type}`];
}

function createTable(flavor: DdlFlavor, table: TableSpec): string {
  const width = Math.max(...table.columns.map((column) => columnLine(flavor, column).length), 0) + 1;
  const lines = table.columns.map((column) => `  ${`${columnLine(flavor, column)},`.padEnd(width)} -- ${column.description}`);
  lines.push(...timestampColumns(flavor).map((line, index) => `  ${`${line},`.padEnd(width)} -- ${index === 0 ? 'When terra-fanout first wrote the row.' : 'When the row last changed.'}`));
  if (flavor === 'mysql') {
    lines.push(`  PRIMARY KEY (${quoteIdentifier(flavor, table.key)}),`);
    for (const index of table.indexes) lines.push(`  INDEX ${quoteIdentifier(flavor, index.name)} (${index.columns.map((column) => quoteIdentifier(flavor, column)).join(', ')}),`);
  } else {
    lines.push(`  CONSTRAINT ${quoteIdentifier(flavor, derivedName(table.name, 'pkey'))} PRIMARY KEY (${quoteIdentifier(flavor, table.key)}),`);
  }
  const last = lines.length - 1;
  lines[last] = (lines[last] ?? '').replace(/,$/, '');
  const suffix = flavor === 'mysql' ? ') ENGINE=InnoDB DEFAULT CHARSET=utf8mb4' : ')';
  return `CREATE TABLE IF NOT EXISTS ${quotedTable(flavor, table)} (\n${lines.join('\n')}\n${suffix}`;
}

function indexColumns(flavor: DdlFlavor, columns: readonly string[]): string {
  return columns.map((column) => quoteIdentifier(flavor, column)).join(', ');
}

/** The BEFORE UPDATE trigger function that makes a PostgREST upsert follow the merge rules. */
function supabaseTriggerFunction(table: TableSpec, functionName: string): string {
  const q = (name: string): string => quoteIdentifier('supabase', name);
  const body: string[] = [
    `  IF NEW.${q('ordering_ts')} < OLD.${q('ordering_ts')} THEN`,
    '    RETURN NULL; -- an older copy never overwrites a newer one',
    '  END IF;',
    `  NEW.${q('created_at')} := OLD.${q('created_at')};`,
    `  NEW.${q('updated_at')} := now();`,
  ];
  for (const column of table.columns) {
    if (column.merge === 'coalesce') body.push(`  NEW.${q(column.name)} := COALESCE(NEW.${q(column.name)}, OLD.${q(column.name)});`);
    if (column.merge === 'payload') {
      const merged = postgresPayloadMerge(`OLD.${q(column.name)}`, `NEW.${q(column.name)}`).replaceAll('\n', '\n    ');
      body.push(`  NEW.${q(column.name)} := ${merged};`);
    }
  }
  body.push('  RETURN NEW;');
  return [
    `CREATE OR REPLACE FUNCTION ${quotedName('supabase', table.namespace, functionName)}() RETURNS trigger`,
    "LANGUAGE plpgsql SET search_path = '' AS $$",
    'BEGIN',
    ...body,
    'END',
    '$$',
  ].join('\n');
}

/** Every object of `tables`, in the order they must be created. */
export function ddlObjects(flavor: DdlFlavor, tables: readonly TableSpec[]): DdlObject[] {
  const objects: DdlObject[] = [];
  const namespaces = [...new Set(tables.map((table) => table.namespace))];
  for (const namespace of namespaces) {
    if (namespace === null || (flavor === 'supabase' && namespace === 'public')) continue;
    const sql = flavor === 'mysql' ? `CREATE DATABASE IF NOT EXISTS ${quoteIdentifier(flavor, namespace)} DEFAULT CHARACTER SET utf8mb4` : `CREATE SCHEMA IF NOT EXISTS ${quoteIdentifier(flavor, namespace)}`;
    objects.push({ kind: 'schema', namespace: null, name: namespace, table: null, sql, inFile: true });
  }
  for (const table of tables) {
    objects.push({ kind: 'table', namespace: table.namespace, name: table.name, table: table.name, sql: createTable(flavor, table), inFile: true });
    for (const index of table.indexes) {
      const sql =
        flavor === 'mysql'
          ? `ALTER TABLE ${quotedTable(flavor, table)} ADD INDEX ${quoteIdentifier(flavor, index.name)} (${indexColumns(flavor, index.columns)})`
          : `CREATE INDEX IF NOT EXISTS ${quoteIdentifier(flavor, index.name)} ON ${quotedTable(flavor, table)} (${indexColumns(flavor, index.columns)})`;
      objects.push({ kind: 'index', namespace: table.namespace, name: index.name, table: table.name, sql, inFile: flavor !== 'mysql' });
    }
    if (flavor === 'supabase') {
      const name = derivedName(table.name, 'newest_wins');
      objects.push({ kind: 'function', namespace: table.namespace, name, table: table.name, sql: supabaseTriggerFunction(table, name), inFile: true });
      objects.push({
        kind: 'trigger',
        namespace: table.namespace,
        name,
        table: table.name,
        sql: `CREATE OR REPLACE TRIGGER ${quoteIdentifier(flavor, name)} BEFORE UPDATE ON ${quotedTable(flavor, table)}\n  FOR EACH ROW EXECUTE FUNCTION ${quotedName(flavor, table.namespace, name)}()`,
        inFile: true,
      });
      objects.push({ kind: 'row-security', namespace: table.namespace, name: table.name, table: table.name, sql: `ALTER TABLE ${quotedTable(flavor, table)} ENABLE ROW LEVEL SECURITY`, inFile: true });
    }
  }
  return objects;
}

/** A DDL file: a header, then every object's statement followed by `;`. */
export function renderDdlFile(header: readonly string[], objects: readonly DdlObject[]): string {
  const statements = objects.filter((object) => object.inFile).map((object) => `${object.sql};`);
  return `${header.map((line) => (line === '' ? '--' : `-- ${line}`)).join('\n')}\n\n${statements.join('\n\n')}\n`;
}

/** For messages: every table of the layout, qualified. */
export function tableList(tables: readonly TableSpec[]): string {
  return tables.map(qualifiedName).join(', ');
}
