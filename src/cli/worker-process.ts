/**
 * The entry of one worker process of `run --processes N` (forked by src/worker/process-group.ts
 * with `<worker.yaml> <slot>`; not a command of its own). It runs every lane of the worker file,
 * like `run`, with these differences:
 * - its HTTP server listens on 127.0.0.1 on a free port (the primary serves the configured one);
 * - it answers the primary's metrics requests over IPC, and reports its readiness (what its own
 *   `/readyz` says) whenever that changes;
 * - SIGTERM, SIGINT, the primary's `stop` message, and the primary going away all start the same
 *   single drain (a Ctrl-C reaches both the primary and its workers; that is still one drain).
 */
import { createLogger } from '../observability/logger.js';
import { createTenantsLoader } from '../worker/reload-tenants.js';
import { metricsAsJson, readinessSchema, toWorkerProcessSchema, type FromWorkerProcess, type Readiness } from '../worker/process-group-messages.js';
import { startWorker, type RunningWorker } from '../worker/worker.js';
import { CommandError, exitOnError } from './run-action.js';
import { exitOnFatal, loadDeployment, logStrayRejections } from './run-worker.js';
import { applyHeapGrowth } from './v8-heap.js';

/** The lists of a /readyz body (its status code says whether it is ready). */
const readyzBodySchema = readinessSchema.omit({ ready: true }).partial();
import { onReloadSignal } from './reload-signal.js';

/** How often the process looks at its own /readyz. */
const READINESS_POLL_MS = 500;

function tell(message: FromWorkerProcess): void {
  if (process.connected) process.send?.(message);
}

/** What the worker's own /readyz says. */
async function readiness(running: RunningWorker): Promise<Readiness> {
  try {
    const response = await fetch(`${running.http.url}/readyz`, { signal: AbortSignal.timeout(2000) });
    const body = readyzBodySchema.safeParse(await response.json().catch(() => null));
    return { ready: response.ok, waiting: [], stalled: [], paused: [], ...(body.success ? body.data : {}) };
  } catch {
    return { ready: false, waiting: ['readiness unknown (its /readyz did not answer)'], stalled: [], paused: [] };
  }
}

async function main(): Promise<void> {
  const [config, slot] = process.argv.slice(2);
  if (config === undefined || slot === undefined || process.send === undefined) throw new CommandError('worker-process is started by `terra-fanout run --processes N`, not by hand.');
  const deployment = await loadDeployment(config);
  const logger = createLogger(deployment.worker.log.level).child({ process: Number(slot) });
  const worker = { ...deployment.worker, http: { host: '127.0.0.1', port: 0 } };
  applyHeapGrowth();
  logStrayRejections(logger);
  // Reloads come from its own tenants-folder watcher and from SIGHUP, which the primary passes on.
  const running = await startWorker({ ...deployment, worker }, { logger, loadTenants: createTenantsLoader(config, deployment.worker, logger) });
  onReloadSignal((reason) => running.reload(reason));

  let draining: Promise<void> | undefined;
  const drain = (why: string): void => {
    if (draining !== undefined) return;
    logger.info(`${why}; draining.`);
    draining = running.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'Draining failed.');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => drain('Received SIGTERM'));
  process.on('SIGINT', () => drain('Received SIGINT'));
  process.on('disconnect', () => drain('The primary process went away'));
  process.on('message', (raw: unknown) => {
    const parsed = toWorkerProcessSchema.safeParse(raw);
    if (!parsed.success) return;
    const message = parsed.data;
    if (message.type === 'stop') drain('Asked to stop');
    else
      void metricsAsJson(running.metrics.registry).then(
        (metrics) => tell({ type: 'metrics', id: message.id, metrics }),
        (error: unknown) => logger.warn({ err: error }, 'Collecting metrics failed.'),
      );
  });
  exitOnFatal(running, logger, 'A lane');

  let last = '';
  const report = async (): Promise<void> => {
    const now = await readiness(running);
    const text = JSON.stringify(now);
    if (text !== last) tell({ type: 'readiness', ...now });
    last = text;
  };
  await report();
  const timer = setInterval(() => void report(), READINESS_POLL_MS);
  timer.unref();
}

main().catch(exitOnError);
