import { formatProblem, loadWorkerWithTenants, type LoadedDeployment } from '../config/load-config.js';
import { planReload, workerChanges, type ReloadPlan } from './reload-plan.js';

/**
 * The first half of `WorkerControl.reload`: reads the worker file and every tenant file again
 * (`${VAR}` references, secrets included, re-read from `env`), validates them all, and plans the
 * change against the last good config. Nothing is applied here.
 *
 * - `ok: false`: some file has problems, each as `file:line:column: path: message`; the caller
 *   keeps the last good config and runs on.
 * - `ok: true`: the new deployment, the plan, and the worker-file sections that changed (those
 *   take effect at the next restart only; the caller should say so in its log).
 */
export type ReloadCandidate =
  | { ok: false; problems: string[] }
  | { ok: true; deployment: LoadedDeployment; plan: ReloadPlan; workerChanged: string[] };

export async function loadReloadPlan(current: Pick<LoadedDeployment, 'worker' | 'tenants' | 'workerPath'>, env: NodeJS.ProcessEnv = process.env): Promise<ReloadCandidate> {
  const loaded = await loadWorkerWithTenants(current.workerPath, env);
  if (!loaded.ok) return { ok: false, problems: loaded.problems.map(formatProblem) };
  return {
    ok: true,
    deployment: loaded.value,
    plan: planReload(current.tenants, loaded.value.tenants),
    workerChanged: workerChanges(current.worker, loaded.value.worker),
  };
}
