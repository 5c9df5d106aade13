import { z } from 'zod';
import { strictObject } from '../../src/config/strict-object.js';
import { timeoutMsField } from '../shared/timeout-field.js';
import { secretString } from '../../src/config/secret-schema.js';
import { identifierSchema, layoutSchema, tableNamesSchema, tableNames } from '../shared/sql-rows/config.js';
import { tableLayout, type TableLayout } from '../shared/sql-rows/tables.js';

const URL_SCHEMES: Readonly<Record<'postgres' | 'mysql', readonly string[]>> = {
  postgres: ['postgres:', 'postgresql:'],
  mysql: ['mysql:', 'mariadb:'],
};

const tlsSchema = strictObject({
    mode: z
      .enum(['disable', 'require', 'verify'])
      .default('verify')
      .meta({
        description:
          'disable: no TLS. require: encrypted, the server certificate is not checked (like sslmode=require). verify: encrypted, and the certificate chain and host name are checked (like sslmode=verify-full).',
        examples: ['verify', 'require'],
      }),
    ca: z
      .string()
      .min(1)
      .optional()
      .meta({ description: 'PEM certificate(s) of the certificate authority that signed the server certificate (verify mode). Default: the system CAs.', examples: ['${DB_CA_PEM}'] }),
    cert: z.string().min(1).optional().meta({ description: 'PEM client certificate, when the server asks for one.', examples: ['${DB_CLIENT_CERT_PEM}'] }),
    key: secretString('PEM private key of the client certificate.').optional(),
    servername: z.string().min(1).optional().meta({ description: 'Host name the server certificate must carry, when it differs from the URL\'s host.', examples: ['db.internal.example.com'] }),
  })
  .meta({ description: 'TLS to the database. Leave out to use what the URL says (for PostgreSQL, its sslmode).' });

const poolSchema = strictObject({
    max: z.number().int().min(1).max(200).default(10).meta({ description: 'Most connections this destination opens to the database.', examples: [10] }),
    idleTimeoutMs: z.number().int().min(1000).default(30_000).meta({ description: 'An idle connection is closed after this long. Milliseconds.', examples: [30_000] }),
    connectTimeoutMs: z.number().int().min(100).max(300_000).default(10_000).meta({ description: 'Giving up on opening a connection after this long (retried). Milliseconds.', examples: [10_000] }),
  })
  .prefault({})
  .meta({ description: 'Connection pool limits.' });

/** The `config:` block of a `type: sql` destination. */
export const sqlConfigSchema = strictObject({
    dialect: z.enum(['postgres', 'mysql']).meta({ description: 'postgres: PostgreSQL 12 or later. mysql: MySQL 8 or MariaDB 10.6 or later.', examples: ['postgres', 'mysql'] }),
    url: secretString('Connection URL: postgres://user:password@host:5432/database or mysql://user:password@host:3306/database (mariadb:// works too).', '${DATABASE_URL}'),
    password: secretString('Password, when it is not in the URL (it replaces the URL\'s).', '${DATABASE_PASSWORD}').optional(),
    schema: layoutSchema,
    namespace: identifierSchema(
      'PostgreSQL schema, or MySQL/MariaDB database, the tables are in. Default: terra for PostgreSQL (Terra\'s own), the URL\'s database for MySQL.',
      'terra',
    ).optional(),
    tables: tableNamesSchema,
    autoCreate: z
      .boolean()
      .default(true)
      .meta({
        description:
          'Create missing schema, tables and indexes at start (idempotent; safe when replicas start together). false: the tables must exist, created from connectors/sql/ddl/<dialect>/*.sql.',
        examples: [true, false],
      }),
    pool: poolSchema,
    statementTimeoutMs: z
      .number()
      .int()
      .min(100)
      .max(600_000)
      .default(30_000)
      .meta({ description: 'A statement (or a wait for a row lock) running longer is cancelled and the batch retried. Milliseconds.', examples: [30_000] }),
    timeoutMs: timeoutMsField(
      'Longest time one write may take on the client side: getting a connection, BEGIN, every statement and COMMIT (and, at start, each step of the check). A database that stops answering fails the write as destination_timeout (retried) within this time; the connection is closed, never reused. Keep it above statementTimeoutMs so that the server cancels a slow statement first.',
      60_000,
      900_000,
    ),
    maxRowsPerStatement: z.number().int().min(1).max(2000).default(500).meta({ description: 'Most rows in one multi-row upsert; a batch is split into statements of this size, all in one transaction.', examples: [500] }),
    tls: tlsSchema.optional(),
  })
  .superRefine((config, context) => {
    const url = config.url.reveal();
    if (!URL.canParse(url)) {
      context.addIssue({ code: 'custom', path: ['url'], message: 'not a URL; expected postgres://user:password@host:port/database or mysql://...' });
      return;
    }
    const parsed = new URL(url);
    if (!URL_SCHEMES[config.dialect].includes(parsed.protocol)) {
      context.addIssue({ code: 'custom', path: ['url'], message: `the URL scheme does not match dialect ${config.dialect}; expected ${URL_SCHEMES[config.dialect].map((scheme) => `${scheme}//`).join(' or ')}` });
    }
    if (config.dialect === 'mysql' && config.namespace === undefined && databaseOf(url) === null) {
      context.addIssue({ code: 'custom', path: ['namespace'], message: 'name the database: in the URL path (mysql://host/database) or as namespace' });
    }
  })
  .meta({ description: 'Settings of a SQL destination (PostgreSQL, MySQL, MariaDB): connection, table layout, pool and timeouts. See connectors/sql/README.md.' });

export type SqlConfig = z.infer<typeof sqlConfigSchema>;
export type SqlDialect = SqlConfig['dialect'];

/** The database named in a connection URL's path, or null. */
export function databaseOf(url: string): string | null {
  if (!URL.canParse(url)) return null;
  const path = decodeURIComponent(new URL(url).pathname.replace(/^\//, ''));
  return path === '' ? null : path;
}

/** The tables this destination writes, with the namespace resolved per dialect. */
export function sqlLayout(config: SqlConfig): TableLayout {
  const namespace = config.namespace ?? (config.dialect === 'postgres' ? 'terra' : null);
  return tableLayout({ layout: config.schema, namespace, tables: tableNames(config.tables) });
}
