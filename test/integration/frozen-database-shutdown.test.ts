/**
 * Shutdown with a database that hangs: the real CLI `run` with a file lane and a SQL lane
 * (PostgreSQL, then MariaDB), the database frozen with SIGSTOP while events flow, then SIGTERM.
 * The worker must exit within shutdown.drainTimeoutMs plus a small fixed margin, whatever the
 * database does; the file lane keeps delivering while the database is frozen; after the thaw a
 * restarted worker delivers every record to both destinations, none lost.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { freezeProcessTree } from '../support/freeze-process.js';
import { uniqueName, useKafkaBroker } from '../support/kafka.js';
import { useMariaDb } from '../support/mariadb.js';
import { usePostgres } from '../support/postgres.js';
import type { UsedServer } from '../support/server-process.js';
import { activityEvent, listFiles, useCleanups, waitFor, writeWorkerFiles } from '../support/worker-files.js';

const kafka = useKafkaBroker({ topics: [] });
const postgres = usePostgres();
const mariadb = useMariaDb();
const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

const DRAIN_TIMEOUT_MS = 5_000;
/** What shutdown may take beyond drainTimeoutMs: closing clients (2 s grace), leaving groups, a loaded machine. */
const MARGIN_MS = 6_000;

interface Database {
  url: string;
  pid: number | null;
  query<Row>(text: string, values?: unknown[]): Promise<Row[]>;
}

function startWorkerProcess(workerPath: string, env: Record<string, string>): { child: ChildProcess; output(): string } {
  const child = spawn(process.execPath, [cli, 'run', '--config', workerPath], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-8_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return { child, output: () => output };
}

const exited = (child: ChildProcess): Promise<number | null> =>
  child.exitCode !== null || child.signalCode !== null ? Promise.resolve(child.exitCode) : new Promise((resolve) => child.once('exit', (code) => resolve(code)));

function describeFrozenDatabase(name: string, dialect: 'postgres' | 'mysql', server: UsedServer<Database & { stop(): Promise<void> }>, table: string): void {
  describe(`shutdown with ${name} frozen (SIGSTOP) while events flow`, () => {
    const cleanups = useCleanups();

    it(`SIGTERM exits within drainTimeoutMs plus a margin; the file lane is not held up; after the thaw a restart delivers every record`, async (t) => {
      const pid = server.current.pid;
      if (pid === null) return t.skip('external database: cannot freeze it');
      const topic = uniqueName('events');
      const batch = { maxRecords: 25, lingerMs: 10 };
      const { dir, workerPath } = await writeWorkerFiles({
        brokers: kafka.brokers,
        worker: { shutdown: { drainTimeoutMs: DRAIN_TIMEOUT_MS } },
        tenants: [
          {
            tenant: 'acme',
            topics: [topic],
            deadLetterTopic: `${topic}.dlq`,
            destinations: [
              { name: 'files', type: 'file', batch, config: { directory: '${OUT_DIR}', fsync: false } },
              { name: 'warehouse', type: 'sql', batch, config: { dialect, url: '${DB_URL}', schema: 'terra' } },
            ],
          },
        ],
      });
      cleanups.push(() => rm(dir, { recursive: true, force: true }));
      const out = join(dir, 'out');
      const env = { OUT_DIR: out, DB_URL: server.current.url };
      const total = 600;
      const events = Array.from({ length: total }, (_, index) => activityEvent(`user-${index % 10}`, index));
      const produce = (from: number, to: number): Promise<unknown> =>
        kafka.produce(topic, events.slice(from, to).map((event, offset) => ({ key: String((from + offset) % 10), value: JSON.stringify(event) })));
      const rows = async (): Promise<number> => Number((await server.current.query<{ n: number | string }>(`SELECT COUNT(*) AS n FROM ${table}`))[0]?.n ?? 0);

      await produce(0, 200);
      const first = startWorkerProcess(workerPath, env);
      cleanups.push(async () => void first.child.kill('SIGKILL'));
      assert.ok(await waitFor(async () => (await rows().catch(() => 0)) >= 50, 60_000, 100), `the SQL lane delivers before the freeze\n${first.output()}`);

      const frozen = freezeProcessTree(pid);
      cleanups.push(async () => frozen.thaw());
      let elapsed: number;
      let code: number | null;
      try {
        await produce(200, total);
        assert.ok(await waitFor(async () => (await listFiles(out)).length >= total, 60_000, 50), 'the file lane delivers every record while the database is frozen');
        const started = Date.now();
        first.child.kill('SIGTERM');
        code = await Promise.race([exited(first.child), new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), DRAIN_TIMEOUT_MS + 60_000))]).then((result) => (result === 'hung' ? -1 : result));
        elapsed = Date.now() - started;
      } finally {
        frozen.thaw();
      }
      assert.ok(elapsed < DRAIN_TIMEOUT_MS + MARGIN_MS, `the worker exited ${elapsed} ms after SIGTERM (drainTimeoutMs ${DRAIN_TIMEOUT_MS}, margin ${MARGIN_MS})\n${first.output()}`);
      assert.equal(code, 0, `a drained shutdown exits 0\n${first.output()}`);

      // Nothing was lost: what the SQL lane had not committed is read again by the next worker.
      const second = startWorkerProcess(workerPath, env);
      cleanups.push(async () => void second.child.kill('SIGKILL'));
      assert.ok(await waitFor(async () => (await rows().catch(() => 0)) >= total, 90_000, 200), `the restarted worker delivers every record to ${name}\n${second.output()}`);
      second.child.kill('SIGTERM');
      assert.equal(await exited(second.child), 0);
      assert.equal(await rows(), total, 'one row per record');
      assert.equal((await listFiles(out)).length, total, 'one file per record');
    });
  });
}

describeFrozenDatabase('PostgreSQL', 'postgres', postgres, 'terra.terra_data_payloads');
describeFrozenDatabase('MariaDB', 'mysql', mariadb, 'terra_data_payloads');
