import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { loadWorkerWithTenants } from '../config/load-config.js';
import { formatProblem } from '../config/config-problem.js';
import { startLocalBroker } from '../dev/local-broker.js';
import { createKafkaClient } from '../kafka/kafka-client.js';
import { createLogger } from '../observability/logger.js';
import { startWorker } from '../worker/worker.js';
import { CommandError } from './run-action.js';
import { onShutdownSignal } from './shutdown-signal.js';

export interface DevOptions {
  config: string;
  samples: string;
  httpPort?: number | undefined;
}

/** A message that is not Terra JSON, fed in so the dead-letter path shows up in the demo. */
const poisonSample = Buffer.from('{"type":"activity","user":');

/**
 * The quick start: a local Kafka-protocol broker, the sample worker and tenants from config/,
 * sample Terra events produced to every tenant topic, and the worker consuming them.
 */
export async function runDev(options: DevOptions): Promise<void> {
  const say = (line: string): void => void process.stderr.write(`terra-fanout dev: ${line}\n`);
  const broker = await startLocalBroker({ brokers: 1 }).catch((error: unknown) => {
    throw new CommandError(`the local broker could not start: ${error instanceof Error ? error.message : String(error)}`);
  });
  say(`local Kafka-protocol broker (librdkafka mock cluster) at ${broker.brokers.join(',')}`);
  try {
    const loaded = await loadWorkerWithTenants(options.config, { ...process.env, KAFKA_BROKERS: broker.brokers.join(',') });
    if (!loaded.ok) {
      for (const problem of loaded.problems) say(formatProblem(problem));
      throw new CommandError(`${loaded.problems.length} problem${loaded.problems.length === 1 ? '' : 's'} found in ${options.config}.`);
    }
    const worker = { ...loaded.value.worker, kafka: { ...loaded.value.worker.kafka, brokers: broker.brokers, librdkafkaMockCompat: true, sessionTimeoutMs: 6000, heartbeatIntervalMs: 500, maxWaitTimeMs: 100 } };
    const logger = createLogger(worker.log.level);
    const kafka = createKafkaClient(worker.kafka, logger);

    const samples = (await readFile(options.samples, 'utf8')).split('\n').filter((line) => line.trim() !== '');
    const producer = kafka.createProducer();
    for (const tenant of loaded.value.tenants) {
      for (const topic of tenant.topics) {
        await producer.send(topic, [...samples.map((line) => ({ key: null, value: Buffer.from(line), headers: {} })), { key: null, value: poisonSample, headers: {} }]);
      }
    }
    await producer.close();

    const running = await startWorker({ worker, tenants: loaded.value.tenants }, { logger, kafka, ...(options.httpPort === undefined ? {} : { httpPort: options.httpPort }) });
    for (const tenant of loaded.value.tenants) {
      say(`fed ${samples.length} sample Terra events and 1 malformed message to ${tenant.topics.join(', ')} (tenant ${tenant.tenant})`);
      for (const destination of tenant.destinations) {
        const where = destination.type === 'file' && typeof destination.config === 'object' && destination.config !== null && 'directory' in destination.config ? resolve(String(destination.config.directory)) : destination.type;
        say(`records for ${tenant.tenant}/${destination.name} land in ${where}`);
      }
      say(`dead letters go to topic ${tenant.deadLetterTopic}`);
    }
    say(`metrics at ${running.http.url}/metrics, health at ${running.http.url}/healthz and ${running.http.url}/readyz`);
    say('press Ctrl-C to stop');
    onShutdownSignal(
      async () => {
        await running.stop();
        await broker.stop();
      },
      (line) => say(line),
    );
  } catch (error) {
    // Nothing may outlive a failed start: the broker is a child process of ours.
    await broker.stop();
    throw error;
  }
}
