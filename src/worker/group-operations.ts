import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { connectorRegistry } from '../../connectors/registry.js';
import { createAdminApi } from '../admin/admin-api.js';
import { answerStarting } from '../admin/admin-http.js';
import type { LoadedDeployment } from '../config/load-config.js';
import type { TenantConfig } from '../config/tenant-schema.js';
import { createDeadLetterOperations, type DeadLetterOperations } from '../dead-letters/dead-letter-operations.js';
import { createKafkaClient } from '../kafka/kafka-client.js';
import type { ExtraRoutes } from '../observability/http-server.js';
import { createAdminMetrics } from '../observability/metrics.js';
import { watchTenantsFolder, type TenantsWatcher } from '../reload/tenants-watcher.js';
import type { TapBatch } from '../tap/tap-forwarder.js';
import { createTapHub } from '../tap/tap-hub.js';
import { createProcessGroupControl } from './process-group-control.js';
import type { StartMessage } from './process-group-messages.js';
import type { WorkerProcesses } from './process-group.js';
import { moveLaneOffsets } from './lane-offsets.js';
import { createTenantsLoader } from './reload-tenants.js';
import { MAX_HOLD_MS, laneGroupId } from './worker.js';
import { LaneNotFoundError } from './worker-control.js';

/**
 * The operations surface of `run --processes N`, in the primary: the same admin API as one
 * worker's (admin-api.ts: routes, token, errors, `terra_fanout_admin_requests_total` in the
 * primary's own registry), served on the primary's port and answered by the worker processes
 * (process-group-control.ts). Wired in two steps, because the group's HTTP server and its
 * processes' start state need this before the group exists:
 *
 *   const ops = createGroupOperations({ configPath, deployment, registry: ownMetrics, logger });
 *   const group = await startProcessGroup({ ..., extraRoutes: ops.routes, startState: ops.startState, onTap: ops.onTap });
 *   ops.attach(group.processes);   // admin API live
 *   ops.refreshTenants('SIGHUP');  // when the primary passes SIGHUP on
 *   await ops.close();             // at shutdown, before the group stops
 *
 * - Tap: `/admin/tap` readers subscribe the primary's own tap hub; while it has readers, their
 *   filters go to every worker process, whose lanes forward what matches (tap-forwarder.ts).
 * - Offsets: every process holds the lane, the move is made here, every process starts it again.
 * - Dead letters (`/admin/dlq*`) run here, in the primary, against its own copy of the tenant
 *   files: read again after every reload through the admin API, on SIGHUP, and, with
 *   `tenants.watch`, when the folder changes (the worker processes reload themselves meanwhile).
 * Until attach(), /admin answers 503 (404 when the admin API is off).
 */
export interface GroupOperations {
  routes: ExtraRoutes;
  /** What a worker process starts with: the operator pauses in force and the tap readers. */
  startState(): Omit<StartMessage, 'type'>;
  /** Tap events the worker processes forwarded. */
  onTap(batch: TapBatch): void;
  attach(processes: WorkerProcesses): void;
  /** Reads the tenant files again for the dead-letter operations; a bad set keeps the last good one. */
  refreshTenants(reason: string): Promise<void>;
  /** Stops the watcher, cancels redrive jobs (each stops after the dead letter in hand) and ends tap streams. */
  close(): Promise<void>;
}

export interface GroupOperationsOptions {
  /** The worker file, read again for the dead-letter operations' tenants. */
  configPath: string;
  deployment: LoadedDeployment;
  /** The primary's own registry (served with the worker processes' metrics). */
  registry: Registry;
  logger: Logger;
  /** How long lanes, pause and resume wait for a worker process. Default 5 s. */
  answerTimeoutMs?: number;
}

/** Past the drain deadline, what a reload may take in a worker process (loading files, starting lanes). */
const RELOAD_MARGIN_MS = 10_000;

export function createGroupOperations(options: GroupOperationsOptions): GroupOperations {
  const { worker } = options.deployment;
  const log = options.logger.child({ component: 'operations' });
  let processes: WorkerProcesses | null = null;
  const tap = createTapHub({ ...worker.admin.tap, onSubscriptionsChange: (subscriptions) => processes?.sendTapSubscriptions(subscriptions) });
  let tenants: readonly TenantConfig[] = options.deployment.tenants;
  const kafka = createKafkaClient(worker.kafka, log);
  const kafkaAdmin = kafka.createAdmin();
  const control = createProcessGroupControl({
    tap,
    answerTimeoutMs: options.answerTimeoutMs ?? 5000,
    reloadTimeoutMs: worker.shutdown.drainTimeoutMs + RELOAD_MARGIN_MS,
    holdTimeoutMs: worker.shutdown.drainTimeoutMs + RELOAD_MARGIN_MS,
    maxHoldMs: MAX_HOLD_MS,
    async moveOffsets({ tenant, destination, target, force, by }) {
      const topics = tenants.find((candidate) => candidate.tenant === tenant)?.topics;
      if (topics === undefined) throw new LaneNotFoundError(tenant, destination);
      await moveLaneOffsets({ admin: kafkaAdmin, lane: `${tenant}/${destination}`, groupId: laneGroupId(worker.kafka.groupPrefix, tenant, destination), topics, target, force, by, logger: log });
    },
    logger: log,
  });

  const loadTenants = createTenantsLoader(options.configPath, worker, log);
  const refreshTenants = async (reason: string): Promise<void> => {
    const loaded = await loadTenants();
    if (loaded.ok) tenants = loaded.tenants;
    else log.debug({ reason, problems: loaded.problems.length }, 'The tenant files have problems; dead-letter operations keep the last good set.');
  };

  const deadLetters: DeadLetterOperations = createDeadLetterOperations({
    kafka,
    worker: () => worker,
    tenant: (name) => tenants.find((tenant) => tenant.tenant === name),
    connectors: connectorRegistry,
    logger: log,
  });
  const api = createAdminApi({
    config: worker.admin,
    control,
    reload: async (reason) => {
      const result = await control.reload(reason);
      await refreshTenants(reason);
      return result;
    },
    tap,
    deadLetters,
    metrics: createAdminMetrics(options.registry),
    logger: log.child({ component: 'admin' }),
  });
  let watcher: TenantsWatcher | null = null;

  return {
    routes: {
      handle: (request, response) => (processes === null ? answerStarting(request, response, worker.admin.enabled) : api.handle(request, response)),
      close: () => api.close?.(),
    },
    startState: () => ({ pauses: control.startPauses(), tapSubscriptions: tap.subscriptions() }),
    onTap(batch) {
      for (const { body, ...event } of batch.events) tap.publish(event, () => Buffer.from(body ?? '', 'utf8'));
      for (const { subscription, count } of batch.dropped) tap.lose(subscription, count);
    },
    attach(attached) {
      if (processes !== null) throw new Error('Operations are attached already.');
      control.attach(attached);
      processes = attached;
      if (worker.admin.enabled && worker.tenants.watch) {
        watcher = watchTenantsFolder({
          dir: worker.tenants.dir,
          debounceMs: worker.tenants.debounceMs,
          rescanIntervalMs: worker.tenants.rescanIntervalMs,
          logger: log,
          onChange: (reason) => void refreshTenants(reason),
        });
      }
    },
    refreshTenants,
    async close() {
      watcher?.close();
      await deadLetters.jobs.stopAll();
      await kafkaAdmin.close().catch(() => undefined);
      tap.closeAll();
    },
  };
}
