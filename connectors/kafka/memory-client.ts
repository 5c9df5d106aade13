import type { MemoryPort } from '../../src/connector/contract.js';
import type { KafkaOutPort } from './client.js';
import { kafkaLocation, kafkaOutHeader, messageBytes, type KafkaOutMessage } from './encode.js';

/** A produced message as the memory port keeps it. */
export interface ProducedMessage extends KafkaOutMessage {
  topic: string;
}

export interface MemoryKafkaOutPort extends MemoryPort<KafkaOutPort> {
  /** Every message produced, in order, duplicates included (a Kafka log keeps them all). */
  log(): readonly ProducedMessage[];
  /** The number of messages in each produce request, failed ones included. */
  requests(): readonly number[];
}

export interface MemoryKafkaOutOptions {
  /** A request holding a message larger than this fails as the broker does (MESSAGE_TOO_LARGE). */
  maxMessageBytes?: number;
  /** A request holding more than this in all fails as one partition's batch over the limit does (MESSAGE_TOO_LARGE). */
  maxRequestBytes?: number;
}

/** An error shaped like the ones kafkajs throws (see kafkaErrorFacts); no kafkajs import here. */
function kafkaLikeError(name: string, message: string, fields: { type?: string; retriable: boolean; cause?: Error }): Error {
  return Object.assign(new Error(message), { name, ...fields });
}

/**
 * An in-memory stand-in for the producer, for the contract suite and unit tests. `stored()` is
 * what a consumer that dedupes on the identity header sees: the last value per
 * `<topic>/<key>#<identity>` (kafkaLocation); `log()` is the topic as Kafka keeps it. Healthchecks
 * (no identity header) are logged, not stored. `unavailable` fails like an unreachable cluster
 * (retries exhausted over a connection error), `rejected` like a missing topic ACL.
 */
export function createMemoryKafkaOutPort(options: MemoryKafkaOutOptions = {}): MemoryKafkaOutPort {
  const log: ProducedMessage[] = [];
  const requests: number[] = [];
  const stored = new Map<string, Buffer>();
  let broken: 'unavailable' | 'rejected' | null = null;

  return {
    client: {
      async produce(topic, messages) {
        requests.push(messages.length);
        if (broken === 'unavailable') {
          const cause = kafkaLikeError('KafkaJSConnectionError', 'Connection error: connect ECONNREFUSED 127.0.0.1:9092', { retriable: true });
          throw kafkaLikeError('KafkaJSNumberOfRetriesExceeded', cause.message, { retriable: false, cause });
        }
        if (broken === 'rejected') {
          throw kafkaLikeError('KafkaJSProtocolError', 'Not authorized to access topics: [Topic authorization failed]', { type: 'TOPIC_AUTHORIZATION_FAILED', retriable: false });
        }
        const limit = options.maxMessageBytes;
        const total = messages.reduce((sum, message) => sum + messageBytes(message), 0);
        if ((limit !== undefined && messages.some((message) => messageBytes(message) > limit)) || total > (options.maxRequestBytes ?? Infinity)) {
          throw kafkaLikeError('KafkaJSProtocolError', 'The request included a message larger than the max message size the server will accept', { type: 'MESSAGE_TOO_LARGE', retriable: false });
        }
        for (const message of messages) {
          log.push({ topic, key: message.key, value: Buffer.from(message.value), headers: { ...message.headers } });
          const identity = message.headers[kafkaOutHeader.recordIdentity];
          if (identity !== undefined) stored.set(kafkaLocation(topic, message.key?.toString() ?? null, identity), Buffer.from(message.value));
        }
      },
      async close() {},
    },
    stored: () => stored,
    log: () => log,
    requests: () => requests,
    breakWith(mode) {
      broken = mode;
    },
  };
}
