/**
 * `terra-fanout run`: the long-running worker, in this process or (`--processes N`) in N worker
 * processes supervised by this one. Loaded only when `run` is chosen (it pulls in every connector).
 */
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { type LoadedDeployment, loadWorkerWithTenants } from '../config/load-config.js';
import { createLogger } from '../observability/logger.js';
import type { RunningWorker } from '../worker/worker.js';
import { SHUTDOWN_MARGIN_MS, startWorker } from '../worker/worker.js';
import { createGroupOperations } from '../worker/group-operations.js';
import { startProcessGroup } from '../worker/process-group.js';
import { createTenantsLoader } from '../worker/reload-tenants.js';
import { startGatewayBesideWorker } from './ingest.js';
import { exitCode, failWithProblems } from './run-action.js';
import { onReloadSignal } from './reload-signal.js';
import { applyHeapGrowth, workerEnvironment, workerNodeFlags } from './v8-heap.js';
import { onShutdownSignal } from './shutdown-signal.js';
import { version } from './version.js';

/** How long after the drain deadline and its margin a process still waits before it exits regardless. */
const HARD_DEADLINE_SLACK_MS = 2_000;

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

/**
 * A promise some SDK rejected and nobody holds (seen with a client torn down after a failed check)
 * ends a Node process by default, taking every tenant's lanes with it. A lane's own failures are all
 * awaited and reported through its lane, so such a stray is logged at ERROR and the worker goes on.
 */
export function logStrayRejections(logger: Logger): void {
  process.on('unhandledRejection', (reason) => {
    logger.error({ err: reason instanceof Error ? reason : new Error(String(reason)) }, 'A promise was rejected with nobody awaiting it (a library\'s background work); the worker goes on.');
  });
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
  const { drainTimeoutMs } = deployment.worker.shutdown;
  if (options.processes <= 1) {
    applyHeapGrowth();
    logStrayRejections(logger);
    const worker = await startWorker(deployment, { logger, loadTenants: createTenantsLoader(options.config, deployment.worker, logger) });
    onReloadSignal((reason) => worker.reload(reason));
    // With `ingest.enabled`, the ingest gateway runs beside the lanes; both drain in parallel on SIGTERM.
    const gateway = await startGatewayBesideWorker(deployment, worker.metrics.registry, logger);
    const stop = async (): Promise<void> => void (await Promise.all([gateway?.stop(), worker.stop()]));
    // worker.stop() resolves by the drain deadline plus SHUTDOWN_MARGIN_MS (the gateway by the drain deadline); the hard deadline is a last resort.
    onShutdownSignal(stop, (message) => logger.info(message), { hardDeadlineMs: drainTimeoutMs + SHUTDOWN_MARGIN_MS + HARD_DEADLINE_SLACK_MS });
    exitOnFatal({ fatal: worker.fatal, stop }, logger, 'A lane');
    return;
  }
  // Each worker process's stop() ends by drainTimeoutMs + SHUTDOWN_MARGIN_MS; the group waits a
  // little longer for them, then kills the stragglers; the hard deadline is a last resort.
  const stopMarginMs = SHUTDOWN_MARGIN_MS + HARD_DEADLINE_SLACK_MS;
  // The gateway (with `ingest.enabled`) runs in this process, once, its metrics beside the workers'.
  const ownMetrics = new Registry();
  // The admin API (with `admin.enabled`) is served here too, answered by the worker processes.
  const operations = createGroupOperations({ configPath: options.config, deployment, registry: ownMetrics, logger });
  const group = await startProcessGroup({
    workerModule: fileURLToPath(new URL('./worker-process.js', import.meta.url)),
    args: [options.config],
    execArgv: [...workerNodeFlags(deployment.worker.budgets.processInFlightBytes), ...process.execArgv],
    env: workerEnvironment(),
    processes: options.processes,
    http: deployment.worker.http,
    drainTimeoutMs,
    stopMarginMs,
    logger,
    ownMetrics,
    extraRoutes: operations.routes,
    startState: operations.startState,
    onTap: (batch) => operations.onTap(batch),
  });
  operations.attach(group.processes);
  const gateway = await startGatewayBesideWorker(deployment, ownMetrics, logger);
  // Each worker process reloads its own lanes (it also watches the tenants folder): pass SIGHUP on.
  onReloadSignal(async (reason) => {
    for (const pid of group.pids()) if (pid > 0) process.kill(pid, 'SIGHUP');
    await operations.refreshTenants(reason);
  });
  const stop = async (): Promise<void> => {
    // Redrive jobs stop after the dead letter in hand and tap streams end while the processes drain.
    await Promise.all([gateway?.stop(), operations.close(), group.stop()]);
  };
  onShutdownSignal(
    stop,
    (message) => logger.info(message),
    { hardDeadlineMs: drainTimeoutMs + stopMarginMs + HARD_DEADLINE_SLACK_MS, force: () => group.kill() },
  );
  exitOnFatal({ fatal: group.fatal, stop }, logger, 'A worker process');
}
