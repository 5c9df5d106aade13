import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { loadWorkerWithTenants } from '../config/load-config.js';
import { formatProblem } from '../config/config-problem.js';
import { type LocalBroker, startLocalBroker } from '../dev/local-broker.js';
import { createKafkaClient } from '../kafka/kafka-client.js';
import { createLogger } from '../observability/logger.js';
import { startWorker } from '../worker/worker.js';
import { computeTerraSignature } from '../terra/signature.js';
import { isKnownEventType, eventTypeKinds } from '../terra/event-types.js';
import { readEventFacts } from '../ingest/extract-key.js';
import { startGatewayBesideWorker } from './ingest.js';
import { CommandError } from './run-action.js';
import { onShutdownSignal } from './shutdown-signal.js';

export interface DevOptions {
  config: string;
  samples: string;
  httpPort?: number | undefined;
  /** Overrides the worker file's ingest.port (0 = any free port). */
  ingestPort?: number | undefined;
}

/** The shortest sample data event that a shell can quote as is: the body of the printed curl line. */
function curlSample(samples: readonly string[]): string | undefined {
  const candidates = samples.filter((line) => {
    const { type } = readEventFacts(Buffer.from(line));
    return !line.includes("'") && type !== null && isKnownEventType(type) && eventTypeKinds[type] === 'data';
  });
  return candidates.sort((a, b) => a.length - b.length)[0];
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
    await runOnBroker(broker, options, say);
  } catch (error) {
    // Nothing may outlive a failed start: the broker is a child process of ours.
    await broker.stop();
    throw error;
  }
}

async function runOnBroker(broker: LocalBroker, options: DevOptions, say: (line: string) => void): Promise<void> {
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

  const input = { worker, tenants: loaded.value.tenants };
  const gateway = await startGatewayBesideWorker(input, running.metrics.registry, logger, { port: options.ingestPort, force: true }).catch((error: unknown) => {
    say(`ingest gateway not started (${error instanceof Error ? error.message : String(error)}); choose another port with --ingest-port`);
    return undefined;
  });
  const sample = curlSample(samples);
  const route = loaded.value.tenants.find((tenant) => tenant.ingest?.enabled === true && tenant.source?.signature !== undefined);
  if (gateway !== undefined && route?.source?.signature !== undefined && sample !== undefined) {
    const signature = computeTerraSignature(sample, route.source.signature.secret.reveal(), Date.now() / 1000);
    say(`ingest gateway at ${gateway.url}/terra/<tenant>; this posts a sample event signed with tenant ${route.tenant}'s signing secret (valid for ${route.source.signature.toleranceSeconds} s):`);
    process.stdout.write(`curl -sS -X POST ${gateway.url}/terra/${route.tenant} -H 'content-type: application/json' -H 'terra-signature: ${signature}' --data-binary '${sample}'\n`);
  }
  say('press Ctrl-C to stop');
  onShutdownSignal(
    async () => {
      await gateway?.stop();
      await running.stop();
      await broker.stop();
    },
    (line) => say(line),
  );
}
