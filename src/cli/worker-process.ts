/**
 * The entry of one worker process of `run --processes N` (forked by src/worker/process-group.ts
 * with `<worker.yaml> <slot>`; not a command of its own). It runs every lane of the worker file,
 * like `run`, with these differences:
 * - its HTTP server listens on 127.0.0.1 on a free port (the primary serves the configured one);
 * - it answers the primary's metrics and admin requests over IPC, and reports its readiness (what
 *   its own `/readyz` says) whenever that changes; its own port serves no admin API (the primary does);
 * - before it reads its config it says `hello` and waits for the primary's `start`: the operator
 *   pauses in force, so its lanes start paused (a restarted process never delivers for a paused
 *   lane), and the tap readers, whose events it forwards to the primary;
 * - SIGTERM, SIGINT, the primary's `stop` message, and the primary going away all start the same
 *   single drain (a Ctrl-C reaches both the primary and its workers; that is still one drain).
 */
import type { Logger } from 'pino';
import { createLogger } from '../observability/logger.js';
import { createTapForwarder } from '../tap/tap-forwarder.js';
import type { TapSubscriptionFilter } from '../tap/tap-hub.js';
import { createTenantsLoader } from '../worker/reload-tenants.js';
import {
  metricsAsJson,
  readinessSchema,
  toWorkerProcessSchema,
  type FromWorkerProcess,
  type Readiness,
  type WorkerRequest,
} from '../worker/process-group-messages.js';
import { answerRequest } from '../worker/process-group-requests.js';
import type { OperatorPause } from '../worker/worker-control.js';
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

  /** Set once startWorker() is called: from then on the lanes exist, and requests go to them. */
  let launched = false;
  let started: (running: { worker: RunningWorker; logger: Logger }) => void = () => undefined;
  const running = new Promise<{ worker: RunningWorker; logger: Logger }>((resolve) => {
    started = resolve;
  });
  let receivedStart: () => void = () => undefined;
  const start = new Promise<void>((resolve) => {
    receivedStart = resolve;
  });
  /** The operator pauses the lanes start with: the primary's, and any change that arrives before the lanes exist. */
  let pauses: OperatorPause[] = [];
  /** The tap readers, until the forwarder exists to take them. */
  let earlyTapSubscriptions: readonly TapSubscriptionFilter[] = [];
  let onTapSubscriptions = (subscriptions: readonly TapSubscriptionFilter[]): void => {
    earlyTapSubscriptions = subscriptions;
  };
  let draining = false;

  const drain = (why: string): void => {
    if (draining) return;
    draining = true;
    // Before its lanes exist there is nothing to drain.
    if (!launched) process.exit(0);
    void running.then(({ worker, logger }) => {
      logger.info(`${why}; draining.`);
      return worker.stop().then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error({ err: error }, 'Draining failed.');
          process.exit(1);
        },
      );
    });
  };

  const answer = async (id: number, request: WorkerRequest): Promise<void> => {
    if (!launched && (request.kind === 'pause' || request.kind === 'resume')) {
      pauses = pauses.filter((pause) => pause.tenant !== request.tenant || pause.destination !== request.destination);
      if (request.kind === 'pause') pauses.push({ tenant: request.tenant, destination: request.destination, by: request.by, atMs: Date.now() });
    }
    const { worker, logger } = await running;
    tell({ type: 'answer', id, answer: await answerRequest(worker, request, logger) });
  };

  // Listen first: what the primary sends before this process listens would be lost.
  process.on('SIGTERM', () => drain('Received SIGTERM'));
  process.on('SIGINT', () => drain('Received SIGINT'));
  process.on('disconnect', () => drain('The primary process went away'));
  process.on('message', (raw: unknown) => {
    const parsed = toWorkerProcessSchema.safeParse(raw);
    if (!parsed.success) return;
    const message = parsed.data;
    switch (message.type) {
      case 'start':
        // Taken here, not after `await start`: changes sent right behind it may be handled first.
        pauses = [...message.pauses];
        earlyTapSubscriptions = message.tapSubscriptions;
        receivedStart();
        break;
      case 'stop':
        drain('Asked to stop');
        break;
      case 'tap-subscriptions':
        onTapSubscriptions(message.subscriptions);
        break;
      case 'request':
        void answer(message.id, message.request);
        break;
      case 'collect-metrics':
        void running.then(({ worker, logger }) =>
          metricsAsJson(worker.metrics.registry).then(
            (metrics) => tell({ type: 'metrics', id: message.id, metrics }),
            (error: unknown) => logger.warn({ err: error }, 'Collecting metrics failed.'),
          ),
        );
        break;
    }
  });
  tell({ type: 'hello' });
  await start;

  const deployment = await loadDeployment(config);
  const logger = createLogger(deployment.worker.log.level).child({ process: Number(slot) });
  // The primary serves the admin API for every process; this process's port is for the primary alone.
  const settings = { ...deployment.worker, http: { host: '127.0.0.1', port: 0 }, admin: { ...deployment.worker.admin, enabled: false } };
  applyHeapGrowth();
  logStrayRejections(logger);
  const tap = createTapForwarder({
    queueEvents: settings.admin.tap.queueEvents,
    maxBodyBytes: settings.admin.tap.maxBodyBytes,
    send(batch, written) {
      if (!process.connected || process.send === undefined) return false;
      try {
        // Queued even when send() says the channel is backed up; the callback tells when it left.
        process.send({ type: 'tap', ...batch } satisfies FromWorkerProcess, undefined, undefined, () => written());
        return true;
      } catch {
        return false;
      }
    },
  });
  tap.setSubscriptions(earlyTapSubscriptions);
  onTapSubscriptions = (subscriptions) => tap.setSubscriptions(subscriptions);
  // Pauses that arrive while startWorker() runs wait for it and are applied then (answer()). The
  // window that remains: startWorker() does not wait for the destination checks, only for its
  // HTTP server, so for those milliseconds a lane that passed its check and fetched could deliver
  // a batch before such a late pause lands. Pauses known before (the restart case) are in force
  // from the lane's first fetch.
  launched = true;
  // Reloads come from its own tenants-folder watcher, from SIGHUP (which the primary passes on) and from the primary's admin API.
  const worker = await startWorker({ ...deployment, worker: settings }, { logger, tap, operatorPauses: pauses, loadTenants: createTenantsLoader(config, deployment.worker, logger) });
  started({ worker, logger });
  onReloadSignal((reason) => worker.reload(reason));
  exitOnFatal(worker, logger, 'A lane');

  let last = '';
  const report = async (): Promise<void> => {
    const now = await readiness(worker);
    const text = JSON.stringify(now);
    if (text !== last) tell({ type: 'readiness', ...now });
    last = text;
  };
  await report();
  const timer = setInterval(() => void report(), READINESS_POLL_MS);
  timer.unref();
}

main().catch(exitOnError);
