import { CompressionTypes, Kafka, Partitioners, type KafkaConfig, type Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { kafkaClientConfig } from '../../src/kafka/kafka-client.js';
import { closeWithin, withDeadline } from '../shared/call-deadline.js';
import type { KafkaOutConfig } from './config.js';
import type { KafkaOutMessage } from './encode.js';

/** The one call the Kafka destination makes, over the producer. */
export interface KafkaOutPort {
  /**
   * Appends `messages` to `topic` in the given order, with acks=all. Messages with the same key go
   * to the same partition. Resolves once every message is acknowledged. Rejects with the kafkajs
   * error otherwise; some of the messages may have been written (other partitions), so a retry
   * can duplicate them, never reorder them. Bounded by timeoutMs (DeadlineExceeded) and `signal`
   * (ShutdownAbort); a producer whose send was abandoned is retired and replaced.
   */
  produce(topic: string, messages: readonly KafkaOutMessage[], signal?: AbortSignal): Promise<void>;
  /** Disconnects the producer, waiting at most CLOSE_GRACE_MS. Safe to call more than once. */
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
  /** The messages along the chain; for the few kafkajs states that have no type. */
  messages: string[];
}

function readString(value: unknown, key: string): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const found: unknown = Reflect.get(value, key);
  return typeof found === 'string' ? found : undefined;
}

/** Reads a kafkajs error without importing its classes (tests and the memory port build look-alikes). */
export function kafkaErrorFacts(error: unknown): KafkaErrorFacts {
  const facts: KafkaErrorFacts = { names: [], types: [], unsupportedApis: [], retriable: undefined, messages: [] };
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
    const message = readString(current, 'message');
    if (message !== undefined) facts.messages.push(message);
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

/** kafkajs settings from the destination config: the engine's cluster settings, with bounded retries. */
function toKafkaConfig(config: KafkaOutConfig, logger: Logger): KafkaConfig {
  return {
    ...kafkaClientConfig(config, logger, 'kafkajs-producer'),
    // Bounded: the lane retries with its own backoff, and a send must come back to report per record.
    retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 5_000 },
  };
}

/** A connected producer and the sends running on it. */
interface ProducerHolder {
  producer: Producer;
  idempotent: boolean;
  inFlight: number;
  /** No new sends; disconnected once the running ones return. */
  retired: boolean;
}

/**
 * The real port over a kafkajs producer, connected on first use. The producer uses acks=all,
 * one request in flight per broker (so a retried request cannot overtake the next one) and the
 * Java client's partitioner (murmur2), so a key lands on the same partition as from Java clients.
 * With `idempotent`, a cluster that refuses idempotence gets a non-idempotent producer and one
 * warning.
 *
 * After a failed send, an idempotent producer is replaced (new producer id). kafkajs rolls back
 * the sequence numbers of every partition in a failed request, also of partitions the broker had
 * written; a later, different batch with the same sequence range would then be taken for a
 * duplicate and dropped. A fresh producer id cannot collide. Retries inside one send (same
 * batches, same sequences) still get the broker's deduplication.
 */
export function createKafkaOutClient(config: KafkaOutConfig, logger: Logger): KafkaOutPort {
  const kafka = new Kafka(toKafkaConfig(config, logger));
  const compression = config.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None;
  let idempotent = config.idempotent;
  let connecting: Promise<ProducerHolder> | undefined;

  const newProducer = (withIdempotence: boolean): Producer =>
    kafka.producer({
      idempotent: withIdempotence,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: config.allowAutoTopicCreation,
      createPartitioner: Partitioners.DefaultPartitioner,
    });

  const connect = async (): Promise<ProducerHolder> => {
    const producer = newProducer(idempotent);
    try {
      await producer.connect();
      return { producer, idempotent, inFlight: 0, retired: false };
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
        return { producer: fallback, idempotent: false, inFlight: 0, retired: false };
      } catch (fallbackError) {
        await fallback.disconnect().catch(() => undefined);
        throw fallbackError;
      }
    }
  };

  const current = (): Promise<ProducerHolder> => {
    const pending = connecting ?? connect();
    connecting = pending;
    pending.catch(() => {
      if (connecting === pending) connecting = undefined; // the next call tries again
    });
    return pending;
  };

  const releaseIfRetired = (holder: ProducerHolder): void => {
    if (holder.retired && holder.inFlight === 0) void holder.producer.disconnect().catch(() => undefined);
  };

  return {
    produce(topic, messages, signal) {
      return withDeadline(config.timeoutMs, signal, async (deadline) => {
        let pending = current();
        let holder = await deadline.within(pending, 'connect the producer');
        // Another send may have retired this producer while we waited; it is disconnected once idle.
        while (holder.retired) {
          pending = current();
          holder = await deadline.within(pending, 'connect the producer');
        }
        const sending = holder.producer.send({
          topic,
          acks: -1,
          compression,
          timeout: config.requestTimeoutMs,
          messages: messages.map((message) => ({ key: message.key, value: message.value, headers: message.headers })),
        });
        // An abandoned send is not cancelled (kafkajs cannot): the holder counts it until it ends.
        const sender = holder;
        sender.inFlight += 1;
        void sending
          .catch(() => undefined)
          .finally(() => {
            sender.inFlight -= 1;
            releaseIfRetired(sender);
          });
        try {
          await deadline.within(sending, 'acknowledgement');
        } catch (error) {
          if ((sender.idempotent || producerStateLost(error) || deadline.over) && !sender.retired) {
            sender.retired = true;
            if (connecting === pending) connecting = undefined;
          }
          throw error;
        }
      });
    },
    close() {
      const pending = connecting;
      connecting = undefined;
      if (pending === undefined) return Promise.resolve();
      return closeWithin(
        async () => {
          const holder = await pending.catch(() => undefined);
          if (holder === undefined) return;
          holder.retired = true;
          await holder.producer.disconnect();
        },
        () => undefined,
      );
    },
  };
}
