import type { Logger } from 'pino';
import { formatProblem, loadWorkerWithTenants } from '../config/load-config.js';
import type { TenantConfig } from '../config/tenant-schema.js';
import type { WorkerConfig } from '../config/worker-schema.js';
import { workerChanges } from './reload-plan.js';

export type LoadedTenants = { ok: true; tenants: readonly TenantConfig[] } | { ok: false; problems: string[] };

/**
 * The loader `WorkerControl.reload` calls (the worker's `loadTenants` option): reads the worker file
 * and every tenant file again, `${VAR}` references and secrets re-read from `env` at each call, and
 * validates them all. Any problem in any file refuses the whole set (`file:line:column: path:
 * message` each), so the last good config stays. Changes to the worker file itself are not applied
 * by a reload; they are logged as waiting for the next restart.
 */
export function createTenantsLoader(workerPath: string, running: WorkerConfig, logger: Logger, env: NodeJS.ProcessEnv = process.env): () => Promise<LoadedTenants> {
  let reported = '';
  return async () => {
    const loaded = await loadWorkerWithTenants(workerPath, env);
    if (!loaded.ok) return { ok: false, problems: loaded.problems.map(formatProblem) };
    const changed = workerChanges(running, loaded.value.worker);
    if (changed.length > 0 && changed.join() !== reported) logger.warn({ sections: changed }, 'The worker file changed; those sections take effect at the next restart (a reload applies tenant files only).');
    reported = changed.join();
    return { ok: true, tenants: loaded.value.tenants };
  };
}
