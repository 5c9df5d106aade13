/**
 * A throwaway MariaDB for one test file: a copy of a data directory made once by
 * `mariadb-install-db`, `mariadbd` on 127.0.0.1 and a free port (root, empty password), one database per file; killed
 * by PID and removed in after() (the data is thrown away, so no clean shutdown is needed).
 *
 * TEST_MYSQL_URL=mysql://user:pass@host:port/ uses that server (MySQL 8 or MariaDB) instead: each
 * file gets its own database there, dropped in after().
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';
import { scratchDir } from './scratch-dir.js';
import { freePort, startServerProcess, useServer, type UsedServer } from './server-process.js';

const run = promisify(execFile);

/** A small redo log (the default is 96 MiB): the data directory is copied for every test file. */
const INNODB_LOG_SIZE = '--innodb-log-file-size=16M';

export interface MariaDb {
  /** URL of this file's own database, as root. */
  url: string;
  /** Runs SQL on this file's database as root. */
  query<Row = Record<string, unknown>>(text: string, values?: unknown[]): Promise<Row[]>;
  /** Creates another empty database and returns its URL. */
  createDatabase(prefix: string): Promise<string>;
  /** The server's process id (the postmaster for PostgreSQL), or null for an external server (TEST_*_URL): tests that freeze it then skip. */
  pid: number | null;
  /** How long the server took to be ready, in ms (0 for TEST_MYSQL_URL). */
  startMs: number;
  stop(): Promise<void>;
}

async function canConnect(url: string): Promise<boolean> {
  try {
    const connection = await mysql.createConnection({ uri: url, connectTimeout: 1_000 });
    await connection.query('SELECT 1');
    await connection.end();
    return true;
  } catch {
    return false;
  }
}

async function adminQuery(adminUrl: string, text: string): Promise<void> {
  const connection = await mysql.createConnection({ uri: adminUrl });
  try {
    await connection.query(text);
  } finally {
    await connection.end();
  }
}

/**
 * A data directory made by mariadb-install-db once per machine, then copied for each test file
 * (install-db bootstraps the server; a copy is much cheaper, above all on a busy machine). Made in
 * a temporary folder and renamed into place; when two files race, one rename wins.
 */
async function templateDataDirectory(asRoot: readonly string[]): Promise<string> {
  const template = join(await scratchDir(), `terra-fanout-mariadb-template-${process.getuid?.() ?? 0}-log16m`);
  const ready = (): Promise<boolean> => stat(join(template, 'mysql')).then(() => true, () => false);
  if (await ready()) return template;
  const building = await mkdtemp(join(await scratchDir(), 'tf-maria-template-'));
  try {
    await run('mariadb-install-db', ['--no-defaults', `--datadir=${join(building, 'data')}`, '--auth-root-authentication-method=normal', '--skip-test-db', '--skip-name-resolve', INNODB_LOG_SIZE, ...asRoot]);
    await rename(join(building, 'data'), template);
  } catch (error) {
    if (!(await ready())) throw new Error(`mariadb-install-db failed: ${(error as { stderr?: string }).stderr ?? String(error)}`, { cause: error });
  } finally {
    await rm(building, { recursive: true, force: true });
  }
  return template;
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

export async function startMariaDb(): Promise<MariaDb> {
  const started = Date.now();
  const external = process.env['TEST_MYSQL_URL'];
  let adminUrl: string;
  let stopServer: () => Promise<void> = async () => undefined;
  let pid: number | null = null;
  if (external !== undefined && external !== '') {
    adminUrl = withDatabase(external, '');
  } else {
    const dir = await mkdtemp(join(await scratchDir(), 'tf-maria-'));
    const data = join(dir, 'data');
    const asRoot = process.getuid?.() === 0 ? ['--user=root'] : [];
    try {
      await run('cp', ['-a', await templateDataDirectory(asRoot), data]);
    } catch (error) {
      await rm(dir, { recursive: true, force: true });
      throw error;
    }
    const port = await freePort();
    adminUrl = `mysql://root@127.0.0.1:${port}/`;
    const url = adminUrl;
    const server = await startServerProcess({
      name: 'mariadbd',
      command: process.env['MARIADBD'] ?? '/usr/sbin/mariadbd',
      args: [
        '--no-defaults',
        `--datadir=${data}`,
        `--port=${port}`,
        '--bind-address=127.0.0.1',
        `--socket=${join(dir, 'mariadbd.sock')}`,
        `--pid-file=${join(dir, 'mariadbd.pid')}`,
        '--skip-name-resolve',
        '--skip-log-bin',
        '--innodb-buffer-pool-size=64M',
        '--innodb-flush-log-at-trx-commit=0',
        '--innodb-doublewrite=0',
        // tmpfs (see scratch-dir.ts) has no O_DIRECT.
        '--innodb-flush-method=fsync',
        INNODB_LOG_SIZE,
        '--performance-schema=OFF',
        '--max-connections=200',
        ...asRoot,
      ],
      ready: () => canConnect(url),
      stopSignal: 'SIGKILL',
      scratchDir: dir,
    });
    stopServer = () => server.stop();
    pid = server.pid;
  }

  const databases: string[] = [];
  const createDatabase = async (prefix: string): Promise<string> => {
    const name = `${prefix}_${randomUUID().slice(0, 8)}`.replace(/[^A-Za-z0-9_]/g, '_').slice(0, 60);
    await adminQuery(adminUrl, `CREATE DATABASE \`${name}\``);
    databases.push(name);
    return withDatabase(adminUrl, name);
  };
  const url = await createDatabase('tf_test');
  const pool = mysql.createPool({ uri: url, connectionLimit: 4, dateStrings: true, supportBigNumbers: true });
  const startMs = external === undefined || external === '' ? Date.now() - started : 0;

  return {
    url,
    pid,
    startMs,
    query: async <Row>(text: string, values?: unknown[]) => {
      const [rows] = await pool.query(text, values);
      return rows as Row[];
    },
    createDatabase,
    async stop() {
      await pool.end().catch(() => undefined);
      if (external !== undefined && external !== '') {
        for (const name of databases) await adminQuery(adminUrl, `DROP DATABASE IF EXISTS \`${name}\``).catch(() => undefined);
      }
      await stopServer();
    },
  };
}

/** A MariaDB started in before() and stopped in after() of the calling file (or suite). */
export function useMariaDb(): UsedServer<MariaDb> {
  return useServer(() => startMariaDb());
}
