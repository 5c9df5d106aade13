/**
 * `terra-fanout run`: the long-running worker, in this process or (`--processes N`) in N worker
 * processes supervised by this one. Loaded only when `run` is chosen (it pulls in every connector).
 */
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { type LoadedDeployment, loadWorkerWithTenants } from '../config/load-config.js';
import { createLogger } from '../observability/logger.js';
import type { RunningWorker } from '../worker/worker.js';
import { startWorker } from '../worker/worker.js';
import { startProcessGroup } from '../worker/process-group.js';
import { exitCode, failWithProblems } from './run-action.js';
import { onShutdownSignal } from './shutdown-signal.js';
import { version } from './version.js';

export interface RunOptions {
  config: string;
  /** Worker processes; 1 runs the worker in this process. */
  processes: number;
}

/** The worker file and its tenants, or the command ends with exit code 2 and every problem. */
export async function loadDeployment(config: string): Promise<LoadedDeployment> {
  const loaded = await loadWorkerWithTenants(config);
  if (!loaded.ok) failWithProblems(loaded.problems, exitCode.cannotRun);
  return loaded.value;
}

/** When a lane fails for good: drain the others and exit 1 so the process is restarted. */
export function exitOnFatal(worker: Pick<RunningWorker, 'fatal' | 'stop'>, logger: Logger, what: string): void {
  void worker.fatal.then(async (error) => {
    logger.fatal({ err: error }, `${what} failed for good; draining and exiting so it is restarted.`);
    await worker.stop().catch(() => undefined);
    process.exit(exitCode.rejected);
  });
}

export async function runWorkerCommand(options: RunOptions): Promise<void> {
  const deployment = await loadDeployment(options.config);
  const logger = createLogger(deployment.worker.log.level);
  const tenants = deployment.tenants.map((tenant) => tenant.tenant);
  logger.info({ version, config: options.config, tenants, processes: options.processes }, 'Starting terra-fanout.');
  if (options.processes <= 1) {
    const worker = await startWorker(deployment, { logger });
    onShutdownSignal(() => worker.stop(), (message) => logger.info(message));
    exitOnFatal(worker, logger, 'A lane');
    return;
  }
  const group = await startProcessGroup({
    workerModule: fileURLToPath(new URL('./worker-process.js', import.meta.url)),
    args: [options.config],
    processes: options.processes,
    http: deployment.worker.http,
    drainTimeoutMs: deployment.worker.shutdown.drainTimeoutMs,
    logger,
  });
  onShutdownSignal(
    () => group.stop(),
    (message) => logger.info(message),
    () => group.kill(),
  );
  exitOnFatal(group, logger, 'A worker process');
}
