import type { Logger } from 'pino';
import type { OperationsMetrics, ReloadOutcome } from '../observability/metrics.js';
import type { ReloadResult, WorkerControl } from '../worker/worker-control.js';

/**
 * The one door to `WorkerControl.reload` for the tenants-folder watcher, SIGHUP and
 * `POST /admin/reload`. Reloads run one at a time; asking while one runs queues exactly one more
 * (every caller meanwhile shares it), so a burst of file events gives at most two reloads. Each
 * outcome is counted (`terra_fanout_config_reloads_total{outcome}`, `terra_fanout_config_problems`)
 * and logged: problems at ERROR with file:line (the last good config stays), changes at INFO.
 */
export interface ReloadTrigger {
  reload(reason: string): Promise<ReloadResult>;
}

export function createReloadTrigger(options: { control: Pick<WorkerControl, 'reload'>; metrics: OperationsMetrics; logger: Logger }): ReloadTrigger {
  const { control, metrics, logger } = options;
  let running = false;
  let queued: { reasons: string[]; result: Promise<ReloadResult>; settle: (run: Promise<ReloadResult>) => void } | null = null;

  const count = (outcome: ReloadOutcome): void => {
    metrics.configReloads.inc({ outcome });
  };

  const runOnce = async (reason: string): Promise<ReloadResult> => {
    let result: ReloadResult;
    try {
      result = await control.reload(reason);
    } catch (error) {
      count('failed');
      logger.error({ err: error, reason }, 'Reloading the tenant files failed; lanes that were not touched keep running.');
      throw error;
    }
    if (!result.ok) {
      count('invalid');
      metrics.configProblems.set(result.problems.length);
      logger.error({ reason, problems: result.problems, count: result.problems.length }, 'The tenant files have problems; the last good config stays.');
      return result;
    }
    metrics.configProblems.set(0);
    const changes = result.started.length + result.restarted.length + result.stopped.length;
    count(changes === 0 ? 'unchanged' : 'applied');
    logger.info(
      { reason, started: result.started, restarted: result.restarted, stopped: result.stopped, unchanged: result.unchanged.length },
      changes === 0 ? 'Tenant files reloaded; nothing changed.' : 'Tenant files reloaded.',
    );
    return result;
  };

  const launch = (reason: string): Promise<ReloadResult> => {
    running = true;
    const run = runOnce(reason);
    const next = (): void => {
      running = false;
      const waiting = queued;
      queued = null;
      if (waiting !== null) waiting.settle(launch(waiting.reasons.join('; ')));
    };
    run.then(next, next);
    return run;
  };

  return {
    reload(reason) {
      if (!running) return launch(reason);
      if (queued === null) {
        let settle: (run: Promise<ReloadResult>) => void = () => undefined;
        const result = new Promise<ReloadResult>((resolve, reject) => {
          settle = (run) => run.then(resolve, reject);
        });
        queued = { reasons: [], result, settle };
      }
      queued.reasons.push(reason);
      return queued.result;
    },
  };
}
