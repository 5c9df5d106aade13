/**
 * A throwaway PostgreSQL for one test file: a copy of a data directory made once by `initdb` (trust
 * auth), `postgres` on 127.0.0.1 and a free port without fsync, one database per file; stopped by
 * PID and removed in after(). As root (CI), initdb and postgres run as the `postgres` user through
 * `setpriv` (which execs, so the PID is the server's own).
 *
 * TEST_POSTGRES_URL=postgres://user:pass@host:port/db uses that server instead: each file gets its
 * own database there, dropped in after().
 *
 *   const postgres = usePostgres();
 *   it('...', async () => { postgres.current.url ... });
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chown, mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { scratchDir } from './scratch-dir.js';
import { freePort, startServerProcess, useServer, type UsedServer } from './server-process.js';

const run = promisify(execFile);

export interface Postgres {
  /** URL of this file's own database, as the superuser (trust auth, no password). */
  url: string;
  /** Runs SQL on this file's database as the superuser. */
  query<Row = Record<string, unknown>>(text: string, values?: unknown[]): Promise<Row[]>;
  /** Creates another empty database and returns its URL. */
  createDatabase(prefix: string): Promise<string>;
  /** The server's process id (the postmaster for PostgreSQL), or null for an external server (TEST_*_URL): tests that freeze it then skip. */
  pid: number | null;
  /** How long the server took to be ready, in ms (0 for TEST_POSTGRES_URL). */
  startMs: number;
  stop(): Promise<void>;
}

/** The newest /usr/lib/postgresql/<version>/bin, or POSTGRES_BIN_DIR. */
async function binDir(): Promise<string> {
  const configured = process.env['POSTGRES_BIN_DIR'];
  if (configured !== undefined && configured !== '') return configured;
  const versions = (await readdir('/usr/lib/postgresql').catch(() => [])).filter((name) => /^\d+$/.test(name)).sort((a, b) => Number(b) - Number(a));
  const newest = versions[0];
  if (newest === undefined) throw new Error('PostgreSQL is not installed (no /usr/lib/postgresql/<version>/bin); set POSTGRES_BIN_DIR or TEST_POSTGRES_URL');
  return join('/usr/lib/postgresql', newest, 'bin');
}

interface Owner {
  uid: number;
  gid: number;
}

/** As root, the `postgres` user (initdb and postgres refuse root); otherwise null: run as ourselves. */
async function postgresOwner(): Promise<Owner | null> {
  if (process.getuid?.() !== 0) return null;
  const { stdout: uid } = await run('id', ['-u', 'postgres']);
  const { stdout: gid } = await run('id', ['-g', 'postgres']);
  return { uid: Number(uid.trim()), gid: Number(gid.trim()) };
}

function asOwner(owner: Owner | null, command: string, args: string[]): { command: string; args: string[] } {
  if (owner === null) return { command, args };
  return { command: 'setpriv', args: ['--reuid=postgres', '--regid=postgres', '--init-groups', '--', command, ...args] };
}

/**
 * A data directory made by initdb once per machine and PostgreSQL version, then copied for each
 * test file: initdb runs the server in bootstrap mode several times (1-2 s, much more on a busy
 * machine), a copy takes a fraction of that. Made in a temporary folder and renamed into place,
 * so a test file never sees a half-made template; when two files race, one rename wins.
 */
async function templateDataDirectory(bin: string, owner: Owner | null): Promise<string> {
  const template = join(await scratchDir(), `terra-fanout-pg-template-${bin.replace(/[^A-Za-z0-9]+/g, '_')}-${process.getuid?.() ?? 0}`);
  if (await stat(join(template, 'PG_VERSION')).then(() => true, () => false)) return template;
  const building = await mkdtemp(join(await scratchDir(), 'tf-pg-template-'));
  if (owner !== null) await chown(building, owner.uid, owner.gid);
  const initdb = asOwner(owner, join(bin, 'initdb'), ['-D', join(building, 'data'), '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale=C']);
  try {
    await run(initdb.command, initdb.args);
    await rename(join(building, 'data'), template);
  } catch (error) {
    if (!(await stat(join(template, 'PG_VERSION')).then(() => true, () => false))) {
      throw new Error(`initdb failed: ${(error as { stderr?: string }).stderr ?? String(error)}`, { cause: error });
    }
  } finally {
    await rm(building, { recursive: true, force: true });
  }
  return template;
}

/** Copies the template, keeping owner and modes (PostgreSQL wants its data directory 0700). */
async function copyDataDirectory(template: string, target: string): Promise<void> {
  await run('cp', ['-a', template, target]);
}

async function canConnect(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function adminQuery(adminUrl: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

function databaseName(prefix: string): string {
  return `${prefix}_${randomUUID().slice(0, 8)}`.toLowerCase().replace(/[^a-z0-9_]/g, '_').slice(0, 60);
}

export async function startPostgres(): Promise<Postgres> {
  const started = Date.now();
  const external = process.env['TEST_POSTGRES_URL'];
  let adminUrl: string;
  let stopServer: () => Promise<void> = async () => undefined;
  let pid: number | null = null;
  if (external !== undefined && external !== '') {
    adminUrl = external;
  } else {
    const bin = await binDir();
    const dir = await mkdtemp(join(await scratchDir(), 'tf-pg-'));
    const data = join(dir, 'data');
    const owner = await postgresOwner();
    if (owner !== null) await chown(dir, owner.uid, owner.gid);
    try {
      await copyDataDirectory(await templateDataDirectory(bin, owner), data);
    } catch (error) {
      await rm(dir, { recursive: true, force: true });
      throw error;
    }
    const port = await freePort();
    adminUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
    const serverArgs = ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=200'];
    const command = asOwner(owner, join(bin, 'postgres'), serverArgs);
    const url = adminUrl;
    const server = await startServerProcess({
      name: 'postgres',
      command: command.command,
      args: command.args,
      ready: () => canConnect(url),
      // Immediate shutdown: the data directory is thrown away anyway.
      stopSignal: 'SIGQUIT',
      scratchDir: dir,
    });
    stopServer = () => server.stop();
    pid = server.pid;
  }

  const databases: string[] = [];
  const createDatabase = async (prefix: string): Promise<string> => {
    const name = databaseName(prefix);
    await adminQuery(adminUrl, `CREATE DATABASE "${name}"`);
    databases.push(name);
    return withDatabase(adminUrl, name);
  };
  const url = await createDatabase('tf_test');
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  pool.on('error', () => undefined);
  const startMs = external === undefined || external === '' ? Date.now() - started : 0;

  return {
    url,
    pid,
    startMs,
    query: async <Row>(text: string, values?: unknown[]) => (await pool.query(text, values)).rows as Row[],
    createDatabase,
    async stop() {
      await pool.end().catch(() => undefined);
      if (external !== undefined && external !== '') {
        for (const name of databases) await adminQuery(adminUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).catch(() => undefined);
      }
      await stopServer();
    },
  };
}

/** A PostgreSQL started in before() and stopped in after() of the calling file (or suite). */
export function usePostgres(): UsedServer<Postgres> {
  return useServer(() => startPostgres());
}
