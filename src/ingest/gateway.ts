import type { Logger } from 'pino';
import { createAcknowledgedProducer, type AcknowledgedProducer, type KafkaConnection } from '../kafka/kafka-client.js';
import { createIngestMetrics, type IngestMetrics } from '../observability/metrics.js';
import type { GatewaySettings } from './config.js';
import { createEventProducer } from './produce.js';
import { startIngestServer } from './server.js';

export interface GatewayOptions {
  kafka: KafkaConnection;
  logger: Logger;
  /** The worker's registry's ingest group when one process does both; a registry of its own otherwise. */
  metrics?: IngestMetrics;
  /** Injected in tests; built from `kafka` otherwise. */
  producer?: AcknowledgedProducer;
}

export interface RunningGateway {
  /** Base URL; webhooks go to `${url}/terra/<tenant>`. */
  url: string;
  metrics: IngestMetrics;
  /** What keeps the gateway from being ready (for a /readyz); empty when it is. */
  notReady(): string[];
  /**
   * Stops accepting webhooks, lets those in flight reach Kafka and be answered within
   * settings.drainTimeoutMs, then disconnects the producer. Idempotent.
   */
  stop(): Promise<void>;
}

/** Starts the ingest gateway: its producer (connecting in the background) and its HTTP server. */
export async function startGateway(settings: GatewaySettings, options: GatewayOptions): Promise<RunningGateway> {
  const logger = options.logger.child({ component: 'ingest' });
  const metrics = options.metrics ?? createIngestMetrics();
  const port = options.producer ?? createAcknowledgedProducer(options.kafka, options.logger, { requestTimeoutMs: settings.produceTimeoutMs });
  metrics.producerReady.set(0);
  const producer = createEventProducer(port, {
    produceTimeoutMs: settings.produceTimeoutMs,
    logger,
    onReadyChange: (ready) => metrics.producerReady.set(ready ? 1 : 0),
  });
  producer.start();
  const server = await startIngestServer({ settings, producer, metrics, logger }).catch(async (error: unknown) => {
    await producer.close(0);
    throw error;
  });
  logger.info({ url: server.url, tenants: [...settings.tenants.keys()] }, 'Ingest gateway started.');

  let stopping: Promise<void> | undefined;
  return {
    url: server.url,
    metrics,
    notReady: () => (stopping !== undefined ? ['ingest: shutting down'] : producer.ready ? [] : ['ingest: kafka producer']),
    stop() {
      stopping ??= (async () => {
        const deadline = Date.now() + settings.drainTimeoutMs;
        logger.info({ deadlineMs: settings.drainTimeoutMs, inFlight: server.inFlight }, 'Draining the ingest gateway.');
        await server.drain(deadline);
        await producer.close(Math.max(0, deadline - Date.now()));
        logger.info('Ingest gateway stopped.');
      })();
      return stopping;
    },
  };
}
