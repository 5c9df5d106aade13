import type { Logger } from 'pino';
import { connectorRegistry } from '../../connectors/registry.js';
import type { AnyConnectorDefinition } from '../connector/contract.js';
import type { TenantConfig } from '../config/tenant-schema.js';
import { resolveDestinationSettings } from '../config/delivery-settings.js';
import type { WorkerConfig } from '../config/worker-schema.js';
import { createKafkaClient, type KafkaClient } from '../kafka/kafka-client.js';
import { ByteBudget } from '../lane/byte-budget.js';
import { Lane } from '../lane/lane.js';
import { startHttpServer, type HttpServer } from '../observability/http-server.js';
import { createMetrics, type Metrics } from '../observability/metrics.js';
import { destinationFormatWarnings, resolveDestinationFormat } from '../formats/destination-format.js';
import { createFormatDropReport } from '../formats/report-format-drops.js';
import { createMessageReader } from '../pipeline/read-message.js';

export interface WorkerInput {
  worker: WorkerConfig;
  tenants: readonly TenantConfig[];
}

export interface WorkerOptions {
  logger: Logger;
  /** Injected in tests; built from worker.kafka otherwise. */
  kafka?: KafkaClient;
  metrics?: Metrics;
  /** Overrides worker.http.port (0 = any free port). */
  httpPort?: number;
  fetch?: typeof fetch;
  /** The destination types available; the registry unless a test or benchmark adds its own. */
  connectors?: readonly AnyConnectorDefinition[];
}

export interface RunningWorker {
  lanes: readonly Lane[];
  http: HttpServer;
  metrics: Metrics;
  /**
   * Resolves with the error when a lane cannot go on (its consumer crashed for good, or it could
   * not start). The caller should stop() the worker and exit non-zero so it is restarted.
   */
  fatal: Promise<Error>;
  /** Drains every lane within worker.shutdown.drainTimeoutMs, commits, and closes. */
  stop(): Promise<void>;
}

const MiB = 1024 * 1024;

/** The Kafka consumer group of a lane: `<groupPrefix>.<tenant>.<destination>`. */
export function laneGroupId(groupPrefix: string, tenant: string, destination: string): string {
  return `${groupPrefix}.${tenant}.${destination}`;
}

/** Builds one lane per (tenant, destination), starts them and the HTTP endpoints. */
export async function startWorker(input: WorkerInput, options: WorkerOptions): Promise<RunningWorker> {
  const { worker } = input;
  const logger = options.logger;
  const metrics = options.metrics ?? createMetrics();
  const kafka = options.kafka ?? createKafkaClient(worker.kafka, logger);
  const deadLetters = kafka.createProducer();
  const processBudget = new ByteBudget(worker.budgets.processInFlightBytes);
  const laneBudgetBytes = Math.min(worker.budgets.laneInFlightBytes, worker.budgets.processInFlightBytes);
  const limits = { maxBytes: Math.max(64 * 1024, Math.min(10 * MiB, laneBudgetBytes)), maxBytesPerPartition: Math.max(64 * 1024, Math.min(MiB, laneBudgetBytes)) };

  const connectors = options.connectors ?? connectorRegistry;
  let reportFatal: (error: Error) => void = () => undefined;
  const fatal = new Promise<Error>((resolve) => {
    reportFatal = resolve;
  });
  const lanes: Lane[] = [];
  for (const tenant of input.tenants) {
    for (const destinationConfig of tenant.destinations) {
      const connector = connectors.find((candidate) => candidate.type === destinationConfig.type);
      if (connector === undefined) throw new Error(`Unknown destination type ${destinationConfig.type}; known: ${connectors.map((c) => c.type).join(', ')}`);
      const context = { tenant: tenant.tenant, destination: destinationConfig.name, logger: logger.child({ tenant: tenant.tenant, destination: destinationConfig.name }) };
      const settings = resolveDestinationSettings(tenant, destinationConfig);
      for (const warning of destinationFormatWarnings(destinationConfig, connector)) context.logger.warn({ field: warning.path.join('.') }, warning.message);
      const client = connector.createClient(destinationConfig.config, context);
      const destination = connector.createDestination(destinationConfig.config, client, context);
      const signature = tenant.source?.signature;
      const read = createMessageReader({
        maxMessageBytes: worker.budgets.maxMessageBytes,
        signature: signature === undefined ? undefined : { secret: signature.secret.reveal(), required: signature.required, toleranceSeconds: signature.toleranceSeconds },
        s3Payload: worker.s3Payload,
        unit: connector.unit(destinationConfig.config),
        events: destinationConfig.events === undefined ? null : new Set(destinationConfig.events),
        providers: destinationConfig.providers === undefined ? null : new Set(destinationConfig.providers.map((provider) => provider.toUpperCase())),
        fetch: options.fetch,
        format: {
          ...resolveDestinationFormat(destinationConfig, connector),
          onFiltered: createFormatDropReport(metrics, context.logger, { tenant: tenant.tenant, destination: destinationConfig.name, connector: connector.type }),
        },
      });
      const groupId = laneGroupId(worker.kafka.groupPrefix, tenant.tenant, destinationConfig.name);
      lanes.push(
        new Lane({
          tenant: tenant.tenant,
          destinationName: destinationConfig.name,
          connectorType: connector.type,
          destination,
          consumer: kafka.createLaneConsumer(groupId, tenant.topics, limits),
          deadLetters,
          deadLetterTopic: tenant.deadLetterTopic,
          read,
          batch: settings.batch,
          retry: settings.retry,
          laneBudgetBytes,
          processBudget,
          metrics,
          logger,
          onFatal: reportFatal,
        }),
      );
    }
  }

  const http = await startHttpServer({
    host: worker.http.host,
    port: options.httpPort ?? worker.http.port,
    registry: metrics.registry,
    health: { notReady: () => lanes.filter((lane) => !lane.ready).map((lane) => lane.name) },
  });
  logger.info({ lanes: lanes.map((lane) => lane.name), http: http.url }, 'Worker started.');

  for (const lane of lanes) {
    lane.start().catch((error: unknown) => {
      logger.error({ err: error, lane: lane.name }, 'Lane could not start.');
      reportFatal(error instanceof Error ? error : new Error(String(error)));
    });
  }

  let stopping: Promise<void> | undefined;
  return {
    lanes,
    http,
    metrics,
    fatal,
    stop() {
      stopping ??= (async () => {
        logger.info({ deadlineMs: worker.shutdown.drainTimeoutMs }, 'Draining lanes.');
        await Promise.all(lanes.map((lane) => lane.stop(worker.shutdown.drainTimeoutMs)));
        await deadLetters.close().catch((error: unknown) => logger.warn({ err: error }, 'Closing the dead-letter producer failed.'));
        await http.close();
        logger.info('Worker stopped.');
      })();
      return stopping;
    },
  };
}
