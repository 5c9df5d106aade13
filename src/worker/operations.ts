import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { createAdminApi } from '../admin/admin-api.js';
import { answerStarting } from '../admin/admin-http.js';
import type { WorkerConfig } from '../config/worker-schema.js';
import { createDeadLetterOperations, type DeadLetterContext, type DeadLetterOperations } from '../dead-letters/dead-letter-operations.js';
import type { ExtraRoutes } from '../observability/http-server.js';
import { createOperationsMetrics, type OperationsMetrics } from '../observability/metrics.js';
import { createReloadTrigger, type ReloadTrigger } from '../reload/reload-trigger.js';
import { watchTenantsFolder, type TenantsWatcher } from '../reload/tenants-watcher.js';
import { createTapHub, type TapHub } from '../tap/tap-hub.js';
import type { ReloadResult, WorkerControl } from './worker-control.js';

/**
 * The operations surface of one worker, wired in two steps because the lanes need the tap hub
 * before the worker (and so its WorkerControl) exists:
 *
 *   const ops = createOperations({ worker, registry: metrics.registry, logger });
 *   // lanes publish to ops.tap; startHttpServer({ ..., extraRoutes: ops.routes })
 *   ops.attach(control, { deadLetters, watch }); // admin API live, tenants watcher started
 *   ops.reload('SIGHUP')                         // from the CLI's SIGHUP handler
 *   await ops.close();                           // at shutdown, before the lanes drain
 *
 * Until attach(), /admin answers 503 (404 when the admin API is off).
 */
export interface Operations {
  tap: TapHub;
  routes: ExtraRoutes;
  metrics: OperationsMetrics;
  /**
   * Starts the admin API and, with `watch`, the tenants-folder watcher (the worker passes
   * `tenants.watch` when it can reload, i.e. it was started from a worker file). Call once.
   */
  attach(control: WorkerControl, options: { deadLetters: DeadLetterContext; watch: boolean }): void;
  /** Serialized, counted and logged reload (the watcher, SIGHUP and POST /admin/reload all come here). */
  reload(reason: string): Promise<ReloadResult>;
  /** Stops the watcher, cancels redrive jobs (each stops after the dead letter in hand) and ends tap streams. */
  close(): Promise<void>;
}

export function createOperations(options: { worker: WorkerConfig; registry: Registry; logger: Logger }): Operations {
  const { worker, logger } = options;
  const log = logger.child({ component: 'operations' });
  const metrics = createOperationsMetrics(options.registry);
  const tap = createTapHub(worker.admin.tap);
  let trigger: ReloadTrigger | null = null;
  let api: ExtraRoutes | null = null;
  let deadLetters: DeadLetterOperations | null = null;
  let watcher: TenantsWatcher | null = null;

  return {
    tap,
    metrics,
    routes: {
      handle: (request, response) => (api === null ? answerStarting(request, response, worker.admin.enabled) : api.handle(request, response)),
      close: () => api?.close?.(),
    },
    attach(control, { deadLetters: context, watch }) {
      if (trigger !== null) throw new Error('Operations are attached already.');
      const reloadTrigger = createReloadTrigger({ control, metrics, logger: log });
      trigger = reloadTrigger;
      deadLetters = createDeadLetterOperations(context);
      api = createAdminApi({ config: worker.admin, control, reload: (reason) => reloadTrigger.reload(reason), tap, deadLetters, metrics, logger: log.child({ component: 'admin' }) });
      if (watch) {
        watcher = watchTenantsFolder({
          dir: worker.tenants.dir,
          debounceMs: worker.tenants.debounceMs,
          rescanIntervalMs: worker.tenants.rescanIntervalMs,
          logger: log,
          onChange: (reason) => void reloadTrigger.reload(reason).catch(() => undefined),
        });
      }
    },
    reload(reason) {
      if (trigger === null) return Promise.reject(new Error('The worker is starting; reload after it started.'));
      return trigger.reload(reason);
    },
    async close() {
      watcher?.close();
      await deadLetters?.jobs.stopAll();
      tap.closeAll();
    },
  };
}
