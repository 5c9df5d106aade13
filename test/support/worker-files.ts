import { mkdtemp, mkdir, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { after } from 'node:test';
import { stringify } from 'yaml';
import { TEMP_FOLDER } from '../../connectors/file/client.js';

/** Writes a worker file (mock-friendly Kafka settings) and tenant files into a fresh directory. */
export async function writeWorkerFiles(options: {
  brokers: string[];
  tenants: Array<Record<string, unknown>>;
  worker?: Record<string, unknown>;
}): Promise<{ dir: string; workerPath: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'terra-fanout-it-'));
  await mkdir(join(dir, 'tenants'));
  const worker = {
    kafka: {
      brokers: options.brokers,
      clientId: 'terra-fanout-test',
      librdkafkaMockCompat: true,
      sessionTimeoutMs: 6000,
      heartbeatIntervalMs: 500,
      maxWaitTimeMs: 100,
    },
    http: { host: '127.0.0.1', port: 0 },
    shutdown: { drainTimeoutMs: 5000 },
    log: { level: 'warn' },
    ...options.worker,
  };
  const workerPath = join(dir, 'worker.yaml');
  await writeFile(workerPath, stringify(worker));
  for (const tenant of options.tenants) await writeFile(join(dir, 'tenants', `${String(tenant['tenant'])}.yaml`), stringify(tenant));
  return { dir, workerPath };
}

/** Polls until `check` returns true or the timeout passes; returns the last result. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, intervalMs = 100): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > until) return false;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** A valid Terra activity event with one item; start times differ per `index` so parity keys differ. */
export function activityEvent(userId: string, index: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const start = new Date(Date.UTC(2026, 6, 1, 6, 0, 0) + index * 60_000);
  const end = new Date(start.getTime() + 30 * 60_000);
  return {
    type: 'activity',
    user: { user_id: userId, provider: 'GARMIN', reference_id: `ref-${userId}`, scopes: 'ACTIVITY_EXPORT', active: true, last_webhook_update: null },
    data: [
      {
        metadata: { summary_id: `${userId}-act-${index}`, start_time: start.toISOString(), end_time: end.toISOString(), type: 1, upload_type: 1, name: 'Morning run' },
        distance_data: { summary: { distance_meters: 5000 + index } },
        MET_data: { avg_level: 7.5 },
        ...extra,
      },
    ],
    version: '2022-03-16',
  };
}

/** Every file below `dir` (recursively), or none when it does not exist yet. */
export async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  // A file destination writes each file under .terra-fanout-tmp/ first, then renames it into place.
  return entries.filter((entry) => entry.isFile() && !entry.parentPath.split(sep).includes(TEMP_FOLDER)).map((entry) => join(entry.parentPath, entry.name));
}

/** Registers an after() hook in the calling file that runs the pushed clean-ups, last first. */
export function useCleanups(): Array<() => Promise<void>> {
  const cleanups: Array<() => Promise<void>> = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });
  return cleanups;
}
