/**
 * A PostgREST STAND-IN, not PostgREST: a small HTTP server over a real PostgreSQL that answers only
 * the calls the supabase destination (and its tests) make through @supabase/supabase-js, the way
 * PostgREST (behind Supabase's gateway) answers them. No real PostgREST runs here (no Debian
 * package, and the supabase CLI needs Docker); see shared/reference/local-services.md section 5.
 *
 * - `POST /rest/v1/<table>?on_conflict=<key>&columns=<list>` with `Prefer: resolution=merge-duplicates`:
 *   `INSERT ... SELECT ... FROM json_populate_recordset(...) ON CONFLICT (key) DO UPDATE SET c = EXCLUDED.c`,
 *   as PostgREST runs an upsert (the tables' triggers do the rest), 201;
 * - `GET /rest/v1/<table>?select=<list>&<column>=eq.<v>|lte.<v>&limit=<n>`: rows as PostgreSQL
 *   renders JSON (json_agg), as PostgREST does;
 * - `DELETE /rest/v1/<table>?<filters>`: 204;
 * - `apikey` and `Authorization: Bearer` must carry the service key (else 401 "Invalid API key");
 *   `Content-Profile` / `Accept-Profile` pick the schema (only `exposedSchemas`, else 406 PGRST106);
 * - errors as PostgREST shapes them (`{code, message, details, hint}`): unknown table 404 PGRST205,
 *   unknown column 400 PGRST204 (write) / 42703 (read), PostgreSQL errors by SQLSTATE (23505 409,
 *   22xxx/23502 400, 42501 403, 53xxx 503, others 500).
 *
 * Not emulated: roles and JWTs (everything runs as the database superuser, so row level security is
 * bypassed as for the service role), embedding, RPC, counts, ordering, other operators.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import pg from 'pg';
import { shippedDdlFiles } from '../../connectors/shared/sql-rows/ddl-files.js';
import { startPostgres, type Postgres } from './postgres.js';
import { useServer, type UsedServer } from './server-process.js';

export interface PostgrestStandIn {
  /** The "project URL" to give supabase-js, e.g. http://127.0.0.1:40123 */
  url: string;
  stop(): Promise<void>;
}

export interface PostgrestStandInOptions {
  databaseUrl: string;
  serviceKey: string;
  exposedSchemas?: readonly string[];
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const quote = (name: string): string => `"${name}"`;

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: { code: string; message: string; details: string | null; hint: string | null },
  ) {
    super(body.message);
  }
}

function fail(status: number, code: string, message: string): never {
  throw new ApiError(status, { code, message, details: null, hint: null });
}

/** PostgREST's HTTP status for a PostgreSQL error. */
function statusOf(sqlState: string): number {
  if (sqlState === '23505' || sqlState === '23503') return 409;
  if (sqlState === '42501') return 403;
  if (sqlState === '42P01') return 404;
  if (sqlState.startsWith('22') || sqlState.startsWith('23') || sqlState === '42703' || sqlState === '42804') return 400;
  if (sqlState.startsWith('53') || sqlState.startsWith('08')) return 503;
  return 500;
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString('utf8');
}

interface Filter {
  column: string;
  op: 'eq' | 'lte';
  value: string;
}

function filtersOf(params: URLSearchParams, reserved: ReadonlySet<string>): Filter[] {
  const filters: Filter[] = [];
  for (const [column, expression] of params) {
    if (reserved.has(column)) continue;
    const match = /^(eq|lte)\.(.*)$/s.exec(expression);
    if (match === null || !IDENTIFIER.test(column)) fail(400, 'PGRST100', `"failed to parse filter (${expression})" (line 1, column 1)`);
    filters.push({ column, op: match[1] === 'eq' ? 'eq' : 'lte', value: match[2] ?? '' });
  }
  return filters;
}

function whereClause(filters: readonly Filter[], values: unknown[]): string {
  if (filters.length === 0) return '';
  const terms = filters.map((filter) => {
    values.push(filter.value);
    return `${quote(filter.column)} ${filter.op === 'eq' ? '=' : '<='} $${values.length}`;
  });
  return ` WHERE ${terms.join(' AND ')}`;
}

export async function startPostgrestStandIn(options: PostgrestStandInOptions): Promise<PostgrestStandIn> {
  const pool = new pg.Pool({ connectionString: options.databaseUrl, max: 8 });
  pool.on('error', () => undefined);
  const exposed = new Set(options.exposedSchemas ?? ['public']);

  async function columnsOf(schema: string, table: string): Promise<Set<string>> {
    const result = await pool.query<{ column_name: string }>('SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2', [schema, table]);
    if (result.rows.length === 0) fail(404, 'PGRST205', `Could not find the table '${schema}.${table}' in the schema cache`);
    return new Set(result.rows.map((row) => row.column_name));
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const key = options.serviceKey;
    if (request.headers['apikey'] !== key || request.headers['authorization'] !== `Bearer ${key}`) {
      response.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'Invalid API key', hint: 'Double check your Supabase `anon` or `service_role` API key.' }));
      return;
    }
    const url = new URL(request.url ?? '/', 'http://stand-in');
    const match = /^\/rest\/v1\/([^/]+)$/.exec(url.pathname);
    if (match === null || !IDENTIFIER.test(match[1] ?? '')) fail(404, 'PGRST125', `Invalid path specified in request URL`);
    const table = match[1] ?? '';
    const profile = request.method === 'POST' ? request.headers['content-profile'] : request.headers['accept-profile'];
    const schema = typeof profile === 'string' && profile !== '' ? profile : 'public';
    if (!exposed.has(schema)) fail(406, 'PGRST106', `The schema must be one of the following: ${[...exposed].join(', ')}`);
    const columns = await columnsOf(schema, table);
    const target = `${quote(schema)}.${quote(table)}`;
    const values: unknown[] = [];

    if (request.method === 'POST') {
      const body: unknown = JSON.parse(await readBody(request));
      const rows = Array.isArray(body) ? body : [body];
      const listed = url.searchParams.get('columns');
      const names = listed === null ? Object.keys((rows[0] ?? {}) as object) : listed.split(',').map((name) => name.trim().replace(/^"|"$/g, ''));
      for (const name of names) if (!IDENTIFIER.test(name) || !columns.has(name)) fail(400, 'PGRST204', `Could not find the '${name}' column of '${table}' in the schema cache`);
      const conflict = (url.searchParams.get('on_conflict') ?? '').split(',').filter((name) => name !== '');
      const prefer = String(request.headers['prefer'] ?? '');
      const list = names.map(quote).join(', ');
      let sql = `INSERT INTO ${target} (${list}) SELECT ${list} FROM json_populate_recordset(NULL::${target}, $1::json)`;
      values.push(JSON.stringify(rows));
      if (prefer.includes('resolution=merge-duplicates') && conflict.length > 0) {
        const updates = names.filter((name) => !conflict.includes(name)).map((name) => `${quote(name)} = EXCLUDED.${quote(name)}`);
        sql += ` ON CONFLICT (${conflict.map(quote).join(', ')}) DO ${updates.length === 0 ? 'NOTHING' : `UPDATE SET ${updates.join(', ')}`}`;
      } else if (prefer.includes('resolution=ignore-duplicates')) {
        sql += ' ON CONFLICT DO NOTHING';
      }
      await pool.query(sql, values);
      response.writeHead(201).end();
      return;
    }

    if (request.method === 'GET') {
      const selected = (url.searchParams.get('select') ?? '*').split(',').map((name) => name.trim());
      for (const name of selected) if (name !== '*' && (!IDENTIFIER.test(name) || !columns.has(name))) fail(400, '42703', `column ${table}.${name} does not exist`);
      const filters = filtersOf(url.searchParams, new Set(['select', 'limit', 'offset', 'order']));
      for (const filter of filters) if (!columns.has(filter.column)) fail(400, '42703', `column ${table}.${filter.column} does not exist`);
      const limit = url.searchParams.get('limit');
      const list = selected.includes('*') ? '*' : selected.map(quote).join(', ');
      const sql = `SELECT COALESCE(json_agg(found), '[]'::json) AS rows FROM (SELECT ${list} FROM ${target}${whereClause(filters, values)}${limit === null ? '' : ` LIMIT ${Number(limit)}`}) AS found`;
      const result = await pool.query<{ rows: unknown }>(sql, values);
      response.writeHead(200, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(result.rows[0]?.rows ?? []));
      return;
    }

    if (request.method === 'DELETE') {
      const filters = filtersOf(url.searchParams, new Set());
      for (const filter of filters) if (!columns.has(filter.column)) fail(400, '42703', `column ${table}.${filter.column} does not exist`);
      await pool.query(`DELETE FROM ${target}${whereClause(filters, values)}`, values);
      response.writeHead(204).end();
      return;
    }

    fail(405, 'PGRST117', `Unsupported HTTP method: ${request.method ?? ''}`);
  }

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (response.headersSent) return;
      if (error instanceof ApiError) {
        response.writeHead(error.status, { 'content-type': 'application/json' }).end(JSON.stringify(error.body));
        return;
      }
      const sqlState = typeof error === 'object' && error !== null && typeof Reflect.get(error, 'code') === 'string' ? String(Reflect.get(error, 'code')) : 'XX000';
      const message = error instanceof Error ? error.message : String(error);
      response.writeHead(statusOf(sqlState), { 'content-type': 'application/json' }).end(JSON.stringify({ code: sqlState, message, details: null, hint: null }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await pool.end().catch(() => undefined);
    },
  };
}

/** What the supabase tests write to: a real project, or the stand-in over a throwaway PostgreSQL. */
export interface SupabaseProject {
  url: string;
  serviceKey: string;
  /** The stand-in's database (null for a real project): for setups the API cannot make. */
  database: Postgres | null;
  stop(): Promise<void>;
}

/**
 * SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY set: that real project, whose tables must already be
 * made from connectors/supabase/ddl/*.sql. Otherwise a PostgreSQL for this file with those files
 * applied, behind the stand-in.
 */
export async function startSupabaseProject(): Promise<SupabaseProject> {
  const realUrl = process.env['SUPABASE_URL'];
  const realKey = process.env['SUPABASE_SERVICE_ROLE_KEY'];
  if (realUrl !== undefined && realUrl !== '' && realKey !== undefined && realKey !== '') {
    return { url: realUrl, serviceKey: realKey, database: null, stop: async () => undefined };
  }
  const database = await startPostgres();
  try {
    for (const file of shippedDdlFiles().filter((candidate) => candidate.path.startsWith('connectors/supabase/ddl/'))) await database.query(file.content);
    const serviceKey = `stand-in-service-role-key-${randomUUID()}`;
    const standIn = await startPostgrestStandIn({ databaseUrl: database.url, serviceKey });
    return {
      url: standIn.url,
      serviceKey,
      database,
      async stop() {
        await standIn.stop();
        await database.stop();
      },
    };
  } catch (error) {
    await database.stop();
    throw error;
  }
}

/** A project for the calling file: started in before(), stopped in after(). */
export function useSupabaseProject(): UsedServer<SupabaseProject> {
  return useServer(() => startSupabaseProject());
}
