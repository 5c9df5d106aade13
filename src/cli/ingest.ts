import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { formatProblem, loadWorkerWithTenants } from '../config/load-config.js';
import type { TenantConfig } from '../config/tenant-schema.js';
import type { WorkerConfig } from '../config/worker-schema.js';
import { gatewaySettings, type GatewaySettings } from '../ingest/config.js';
import { startGateway, type RunningGateway } from '../ingest/gateway.js';
import { startHttpServer } from '../observability/http-server.js';
import { createLogger } from '../observability/logger.js';
import { createIngestMetrics } from '../observability/metrics.js';
import { onShutdownSignal } from './shutdown-signal.js';
import { version } from './version.js';

/** How long after the drain deadline a shutdown that has not finished is cut short (exit 1). */
const HARD_DEADLINE_MARGIN_MS = 5_000;

/** Settings worth a warning at start: they work, but not as the operator likely meant. */
function warnAboutSettings(worker: WorkerConfig, settings: GatewaySettings, logger: Logger): void {
  if (settings.bodyLimit > worker.budgets.maxMessageBytes) {
    logger.warn(
      { bodyLimit: settings.bodyLimit, maxMessageBytes: worker.budgets.maxMessageBytes },
      'ingest.bodyLimit is above budgets.maxMessageBytes: the lanes will park the larger events as payload_too_large.',
    );
  }
}

/** `terra-fanout ingest`: the gateway alone, with /metrics, /healthz and /readyz on the worker's http port. */
export async function runIngest(configPath: string): Promise<void> {
  const loaded = await loadWorkerWithTenants(configPath);
  if (!loaded.ok) {
    for (const problem of loaded.problems) process.stderr.write(`${formatProblem(problem)}\n`);
    process.stderr.write(`${loaded.problems.length} problem${loaded.problems.length === 1 ? '' : 's'} found.\n`);
    process.exit(2);
  }
  const { worker, tenants } = loaded.value;
  const settings = gatewaySettings(worker, tenants);
  if (settings.tenants.size === 0) {
    process.stderr.write(`${configPath}: no tenant has an ingest section with enabled: true (and a source.signature secret); nothing to serve.\n`);
    process.exit(2);
  }
  const logger = createLogger(worker.log.level);
  logger.info({ version, config: configPath, tenants: [...settings.tenants.keys()] }, 'Starting the terra-fanout ingest gateway.');
  warnAboutSettings(worker, settings, logger);
  const gateway = await startGateway(settings, { kafka: worker.kafka, logger });
  const http = await startHttpServer({ host: worker.http.host, port: worker.http.port, registry: gateway.metrics.registry, health: { notReady: () => gateway.notReady() } });
  logger.info({ http: http.url }, 'Metrics and health endpoints started.');
  onShutdownSignal(
    async () => {
      await gateway.stop();
      await http.close();
    },
    (message) => logger.info(message),
    // gateway.stop() is bounded by the drain deadline; the margin covers the producer's disconnect.
    { hardDeadlineMs: worker.shutdown.drainTimeoutMs + HARD_DEADLINE_MARGIN_MS },
  );
}

/**
 * For `run` (and `dev`): the gateway beside the lanes, its metrics in the worker's registry.
 * Undefined when `ingest.enabled` is false, or when no tenant has ingest enabled (with a warning).
 */
export async function startGatewayBesideWorker(
  input: { worker: WorkerConfig; tenants: readonly TenantConfig[] },
  registry: Registry,
  logger: Logger,
  overrides: { port?: number | undefined; force?: boolean } = {},
): Promise<RunningGateway | undefined> {
  if (!input.worker.ingest.enabled && overrides.force !== true) return undefined;
  const settings = gatewaySettings(input.worker, input.tenants);
  if (settings.tenants.size === 0) {
    logger.warn('ingest.enabled is true but no tenant has an ingest section with enabled: true; the ingest gateway is not started.');
    return undefined;
  }
  warnAboutSettings(input.worker, settings, logger);
  return startGateway({ ...settings, port: overrides.port ?? settings.port }, { kafka: input.worker.kafka, logger, metrics: createIngestMetrics(registry) });
}
