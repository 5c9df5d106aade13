/**
 * The DDL shipped as plain .sql files for DBAs who do not let applications create tables:
 * connectors/sql/ddl/{postgres,mysql}/*.sql and connectors/supabase/ddl/*.sql. They are rendered
 * from the same objects `autoCreate` runs (./ddl.ts), with the default names; a test fails when a
 * file on disk differs from what this returns.
 */
import { ddlObjects, renderDdlFile, type DdlFlavor } from './ddl.js';
import { defaultTableNames, tableLayout, type TableSpec } from './tables.js';

export interface DdlFile {
  /** Relative to the repository root. */
  path: string;
  content: string;
}

interface FlavorFiles {
  flavor: DdlFlavor;
  folder: string;
  namespace: string | null;
  title: string;
  run: string;
  grants: readonly string[];
}

const flavors: readonly FlavorFiles[] = [
  {
    flavor: 'postgres',
    folder: 'connectors/sql/ddl/postgres',
    namespace: 'terra',
    title: 'PostgreSQL (sql destination, dialect: postgres, namespace: terra)',
    run: 'psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -f <file>',
    grants: [
      'GRANT USAGE ON SCHEMA terra TO terra_fanout;',
      'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA terra TO terra_fanout;',
    ],
  },
  {
    flavor: 'mysql',
    folder: 'connectors/sql/ddl/mysql',
    namespace: null,
    title: 'MySQL 8 / MariaDB 10.6+ (sql destination, dialect: mysql), in the database you connect to',
    run: 'mysql --database=<database> < <file>',
    grants: ["GRANT SELECT, INSERT, UPDATE, DELETE ON <database>.* TO 'terra_fanout'@'%';"],
  },
  {
    flavor: 'supabase',
    folder: 'connectors/supabase/ddl',
    namespace: 'public',
    title: 'Supabase (supabase destination, namespace: public)',
    run: 'paste into the Supabase SQL editor, or: psql "$SUPABASE_DB_URL" -v ON_ERROR_STOP=1 -f <file>',
    grants: ['The service-role key writes through PostgREST; row level security is enabled with no policies, so anon and authenticated keys see nothing.'],
  },
];

function header(files: FlavorFiles, part: string, tables: readonly TableSpec[]): string[] {
  return [
    `terra-fanout: ${part} for ${files.title}.`,
    `Tables: ${tables.map((table) => table.name).join(', ')}.`,
    '',
    'Generated from connectors/shared/sql-rows (tables.ts, ddl.ts): do not edit by hand; a test',
    'compares this file with the statements autoCreate runs. Regenerate:',
    '  npx tsc -p tsconfig.json && node dist/test/connectors/sql/write-ddl-files.js',
    'Safe to run again: every statement creates only what is missing.',
    `Run: ${files.run}`,
    'Other table names or namespace: set them in the tenant file and use autoCreate, or edit a copy.',
    '',
    'Rights the writer needs afterwards (example role terra_fanout):',
    ...files.grants.map((line) => `  ${line}`),
  ];
}

/** Every shipped DDL file with the content it must have. */
export function shippedDdlFiles(): DdlFile[] {
  const files: DdlFile[] = [];
  for (const flavor of flavors) {
    const terra = tableLayout({ layout: 'terra', namespace: flavor.namespace, tables: defaultTableNames });
    const typed = tableLayout({ layout: 'typed', namespace: flavor.namespace, tables: defaultTableNames });
    const typedTables = [...typed.typed.values()];
    files.push({
      path: `${flavor.folder}/01-terra-tables.sql`,
      content: renderDdlFile(header(flavor, 'Terra\'s tables (schema: terra)', terra.all), ddlObjects(flavor.flavor, terra.all)),
    });
    files.push({
      path: `${flavor.folder}/02-typed-tables.sql`,
      content: renderDdlFile(header(flavor, 'the typed tables, added by schema: typed (run 01-terra-tables.sql first)', typedTables), ddlObjects(flavor.flavor, typedTables)),
    });
  }
  return files;
}
