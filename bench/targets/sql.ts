/**
 * Benchmark target: one lane into a real PostgreSQL started for the run (the test harness's
 * throwaway server: fsync off, data in memory when /dev/shm has room), Terra's layout with the
 * payload in each row. `count()` is the number of rows in terra_data_payloads.
 */
import type { BenchTarget } from '../bench-target.js';
import { startPostgres } from '../../test/support/postgres.js';

export async function startSqlBenchTarget(): Promise<BenchTarget> {
  const postgres = await startPostgres();
  return {
    label: 'lane -> sql (PostgreSQL 15, fsync off), multi-row upserts',
    destination: {
      type: 'sql',
      config: { dialect: 'postgres', url: postgres.url, schema: 'terra', pool: { max: 4 } },
      batch: { maxRecords: 1000, lingerMs: 50 },
    },
    async count() {
      const [row] = await postgres.query<{ n: string }>('SELECT COUNT(*) AS n FROM terra.terra_data_payloads');
      return Number(row?.n ?? 0);
    },
    stop: () => postgres.stop(),
  };
}
