import { readFileSync } from 'node:fs';
import { CompressionTypes, Kafka, Partitioners, logLevel, type KafkaConfig, type LogEntry, type Producer, type SASLOptions } from 'kafkajs';
import type { Logger } from 'pino';
import type { KafkaOutConfig } from './config.js';
import type { KafkaOutMessage } from './encode.js';

/** The one call the Kafka destination makes, over the producer. */
export interface KafkaOutPort {
  /**
   * Appends `messages` to `topic` in the given order, with acks=all. Messages with the same key go
   * to the same partition. Resolves once every message is acknowledged. Rejects with the kafkajs
   * error otherwise; some of the messages may have been written (other partitions), so a retry
   * can duplicate them, never reorder them.
   */
  produce(topic: string, messages: readonly KafkaOutMessage[]): Promise<void>;
  /** Disconnects the producer. Safe to call more than once. */
  close(): Promise<void>;
}

/** What an error thrown by kafkajs says about itself, along its `cause` chain (outermost first). */
export interface KafkaErrorFacts {
  /** Error class names, e.g. KafkaJSNumberOfRetriesExceeded, KafkaJSConnectionError. */
  names: string[];
  /** Kafka protocol error types, e.g. MESSAGE_TOO_LARGE, TOPIC_AUTHORIZATION_FAILED. */
  types: string[];
  /** APIs the broker did not support, e.g. SaslHandshake, InitProducerId. */
  unsupportedApis: string[];
  /** kafkajs's own `retriable` flag of the innermost error that has one. */
  retriable: boolean | undefined;
}

function readString(value: unknown, key: string): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const found: unknown = Reflect.get(value, key);
  return typeof found === 'string' ? found : undefined;
}

/** Reads a kafkajs error without importing its classes (tests and the memory port build look-alikes). */
export function kafkaErrorFacts(error: unknown): KafkaErrorFacts {
  const facts: KafkaErrorFacts = { names: [], types: [], unsupportedApis: [], retriable: undefined };
  const seen = new Set<unknown>();
  for (let current: unknown = error; typeof current === 'object' && current !== null && !seen.has(current); current = Reflect.get(current, 'cause')) {
    seen.add(current);
    const name = readString(current, 'name');
    const type = readString(current, 'type');
    const api = readString(current, 'apiName');
    const retriable: unknown = Reflect.get(current, 'retriable');
    if (name !== undefined) facts.names.push(name);
    if (type !== undefined) facts.types.push(type);
    if (api !== undefined && name === 'KafkaJSServerDoesNotSupportApiKey') facts.unsupportedApis.push(api);
    if (typeof retriable === 'boolean') facts.retriable = retriable;
  }
  return facts;
}

/**
 * True when connecting an idempotent producer failed because the cluster does not offer
 * idempotence to us: InitProducerId unknown (old brokers, some Kafka-compatible services),
 * UNSUPPORTED_VERSION, or CLUSTER_AUTHORIZATION_FAILED (brokers before 2.8 need the IdempotentWrite ACL).
 */
export function idempotenceUnsupported(error: unknown): boolean {
  const facts = kafkaErrorFacts(error);
  return (
    facts.unsupportedApis.includes('InitProducerId') ||
    facts.types.includes('UNSUPPORTED_VERSION') ||
    facts.types.includes('CLUSTER_AUTHORIZATION_FAILED')
  );
}

/** Errors after which the producer's id and sequence numbers are no longer valid: start a new producer. */
const PRODUCER_STATE_LOST = new Set(['OUT_OF_ORDER_SEQUENCE_NUMBER', 'UNKNOWN_PRODUCER_ID', 'INVALID_PRODUCER_EPOCH', 'INVALID_PRODUCER_ID_MAPPING']);

function producerStateLost(error: unknown): boolean {
  return kafkaErrorFacts(error).types.some((type) => PRODUCER_STATE_LOST.has(type));
}

function pemOrFile(value: string): string {
  return value.includes('-----BEGIN') ? value : readFileSync(value, 'utf8');
}

/** kafkajs settings from the destination config. The only place the SASL password and TLS key are revealed. */
function toKafkaConfig(config: KafkaOutConfig, logger: Logger): KafkaConfig {
  const ssl =
    typeof config.ssl === 'boolean'
      ? config.ssl
      : {
          rejectUnauthorized: config.ssl.rejectUnauthorized,
          ...(config.ssl.ca === undefined ? {} : { ca: [pemOrFile(config.ssl.ca)] }),
          ...(config.ssl.cert === undefined ? {} : { cert: pemOrFile(config.ssl.cert) }),
          ...(config.ssl.key === undefined ? {} : { key: pemOrFile(config.ssl.key.reveal()) }),
        };
  let sasl: SASLOptions | undefined;
  if (config.sasl !== undefined) {
    const { mechanism, username, password } = config.sasl;
    sasl = mechanism === 'plain'
      ? { mechanism, username, password: password.reveal() }
      : mechanism === 'scram-sha-256'
        ? { mechanism, username, password: password.reveal() }
        : { mechanism, username, password: password.reveal() };
  }
  const kafkaLogger = logger.child({ component: 'kafkajs-producer' });
  return {
    clientId: config.clientId,
    brokers: config.brokers,
    ssl,
    ...(sasl === undefined ? {} : { sasl }),
    connectionTimeout: config.connectionTimeoutMs,
    requestTimeout: config.requestTimeoutMs,
    // Bounded: the lane retries with its own backoff, and a send must come back to report per record.
    retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 5_000 },
    logLevel: logLevel.WARN,
    logCreator: () => (entry: LogEntry) => {
      const { message, ...fields } = entry.log;
      const context = { namespace: entry.namespace, error: fields.error };
      if (entry.level <= logLevel.ERROR) kafkaLogger.warn(context, `kafkajs: ${message}`);
      else kafkaLogger.debug(context, `kafkajs: ${message}`);
    },
  };
}

/**
 * The real port over a kafkajs producer, connected on first use. The producer uses acks=all,
 * one request in flight per broker (so a retried request cannot overtake the next one) and the
 * Java client's partitioner (murmur2), so a key lands on the same partition as from Java clients.
 * With `idempotent`, a cluster that refuses idempotence gets a non-idempotent producer and one
 * warning. After an error that invalidates the producer id, the next call starts a new producer.
 */
export function createKafkaOutClient(config: KafkaOutConfig, logger: Logger): KafkaOutPort {
  const kafka = new Kafka(toKafkaConfig(config, logger));
  const compression = config.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None;
  let idempotent = config.idempotent;
  let connecting: Promise<Producer> | undefined;

  const newProducer = (withIdempotence: boolean): Producer =>
    kafka.producer({
      idempotent: withIdempotence,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: config.allowAutoTopicCreation,
      createPartitioner: Partitioners.DefaultPartitioner,
    });

  const connect = async (): Promise<Producer> => {
    const producer = newProducer(idempotent);
    try {
      await producer.connect();
      return producer;
    } catch (error) {
      await producer.disconnect().catch(() => undefined);
      if (!idempotent || !idempotenceUnsupported(error)) throw error;
      idempotent = false;
      const facts = kafkaErrorFacts(error);
      logger.warn(
        { reason: [...facts.types, ...facts.unsupportedApis].join(',') || facts.names.join(',') },
        'The Kafka cluster does not grant an idempotent producer; producing without idempotence (acks=all, one request in flight).',
      );
      const fallback = newProducer(false);
      try {
        await fallback.connect();
        return fallback;
      } catch (fallbackError) {
        await fallback.disconnect().catch(() => undefined);
        throw fallbackError;
      }
    }
  };

  const producer = (): Promise<Producer> => {
    const current = connecting ?? connect();
    connecting = current;
    current.catch(() => {
      if (connecting === current) connecting = undefined; // the next call tries again
    });
    return current;
  };

  const reset = (failed: Promise<Producer>): void => {
    if (connecting !== failed) return;
    connecting = undefined;
    void failed.then((old) => old.disconnect()).catch(() => undefined);
  };

  return {
    async produce(topic, messages) {
      const current = producer();
      const ready = await current;
      try {
        await ready.send({
          topic,
          acks: -1,
          compression,
          timeout: config.requestTimeoutMs,
          messages: messages.map((message) => ({ key: message.key, value: message.value, headers: message.headers })),
        });
      } catch (error) {
        if (producerStateLost(error)) reset(current);
        throw error;
      }
    },
    async close() {
      const current = connecting;
      connecting = undefined;
      if (current === undefined) return;
      const ready = await current.catch(() => undefined);
      await ready?.disconnect();
    },
  };
}
