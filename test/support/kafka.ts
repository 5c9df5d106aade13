/**
 * Kafka helpers for integration tests, on the local librdkafka mock cluster.
 *
 * Typical use, one broker per test file:
 *
 *   const kafka = useKafkaBroker({ topics: [{ name: 'events', partitions: 4 }] });
 *   test('...', async () => {
 *     await kafka.produce('events', [{ key: 'u1', value: '{}' }]);
 *     const got = await kafka.consumeAll('events', { groupId: uniqueName('g'), expected: 1 });
 *   });
 *
 * Budget >= 3 s per new consumer group (the mock's initial rebalance delay); reuse a group where
 * a test allows it. Give topics and groups unique names (uniqueName) so tests never collide.
 */
import { randomUUID } from 'node:crypto';
import { after, before } from 'node:test';
import {
  Kafka,
  Partitioners,
  logLevel,
  type Consumer,
  type ConsumerConfig,
  type IHeaders,
  type KafkaConfig,
  type LogEntry,
  type Message,
  type RecordMetadata,
} from 'kafkajs';

import { startLocalBroker, type LocalBroker, type LocalBrokerOptions } from '../../src/dev/local-broker.js';
import { applyLibrdkafkaMockCompat } from '../../src/kafka/librdkafka-mock-compat.js';

/** Consumer settings the mock needs (see shared/reference/kafka-test-broker.md). */
export const mockConsumerSettings = {
  /** An empty Fetch is held for the full MaxWait even when data arrives. */
  maxWaitTimeInMs: 100,
  /** Must exceed the mock's 3 s initial rebalance delay. */
  sessionTimeout: 6000,
  heartbeatInterval: 500,
} as const satisfies Partial<ConsumerConfig>;

/** A message read back by consumeAll, with key, value and headers decoded as UTF-8 text. */
export interface ConsumedMessage {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  value: string | null;
  /** Multi-value headers become arrays, in the order they were sent. */
  headers: Record<string, string | string[]>;
}

export interface ConsumeAllOptions {
  groupId: string;
  /** Stop as soon as this many messages have arrived. */
  expected: number;
  /** Give up and return what arrived so far. Default 20 s (a new group alone takes >= 3 s). */
  timeoutMs?: number;
  /** Default true. */
  fromBeginning?: boolean;
}

/** A running mock cluster plus helpers bound to it. */
export interface KafkaTestBroker {
  readonly brokers: string[];
  readonly pid: number;
  /** A kafkajs client with the compat patch applied. */
  client(clientId?: string): Kafka;
  /** A consumer with mockConsumerSettings; `overrides` win. */
  consumer(groupId: string, overrides?: Partial<ConsumerConfig>): Consumer;
  /** Sends the messages with acks=-1 through a short-lived producer. */
  produce(topic: string, messages: Message[]): Promise<RecordMetadata[]>;
  /**
   * Reads messages back through a new member of `groupId` (auto-commit on) until `expected` have
   * arrived or the timeout passed, then disconnects. Returns everything received by then: fewer
   * than expected on timeout, possibly more if extra messages were already in flight.
   */
  /** Reads one topic, or several through the one group. */
  consumeAll(topic: string | readonly string[], options: ConsumeAllOptions): Promise<ConsumedMessage[]>;
  stop(): Promise<void>;
}

/** Unique names for topics and groups: `<prefix>-<8 hex>`. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/** Errors a healthy group answers while it rebalances; kafkajs logs each at ERROR. */
const REBALANCE_NOISE = new Set([
  'The group is rebalancing, so a rejoin is needed',
  // INVALID_REQUEST: the mock's SyncGroup race, re-labelled by the compat patch.
  'This most likely occurs because of a request being malformed by the client library or the message was sent to an incompatible broker. See the broker logs for more details',
]);

/**
 * Prints kafkajs ERROR logs on stderr as one short line each, except the expected answers of a
 * rebalancing group (Heartbeat/JoinGroup/SyncGroup responses), which are noise in tests.
 */
function testLogCreator(): (entry: LogEntry) => void {
  return ({ namespace, label, log }) => {
    const { message, timestamp: _timestamp, ...fields } = log;
    const error: unknown = fields['error'];
    if (typeof error === 'string' && REBALANCE_NOISE.has(error) && /Response (Heartbeat|JoinGroup|SyncGroup)/.test(message)) {
      return;
    }
    process.stderr.write(`kafkajs ${label} ${namespace}: ${message} ${JSON.stringify(fields)}\n`);
  };
}

/**
 * A kafkajs client for the mock: compat patch applied, ERROR logs only (without rebalance
 * noise). Pass `{ logLevel: logLevel.DEBUG }` to see everything.
 */
export function createTestKafka(brokers: string[], config: Partial<KafkaConfig> = {}): Kafka {
  applyLibrdkafkaMockCompat();
  return new Kafka({
    clientId: 'terra-fanout-test',
    logLevel: logLevel.ERROR,
    logCreator: testLogCreator,
    connectionTimeout: 3000,
    ...config,
    brokers,
  });
}

/** Starts a mock cluster and returns it with bound helpers. The caller must stop() it. */
export async function startKafkaTestBroker(options: LocalBrokerOptions = {}): Promise<KafkaTestBroker> {
  const broker = await startLocalBroker(options);
  return bindHelpers(broker);
}

/**
 * Registers before/after hooks in the current test file (or suite) that start one mock cluster
 * and stop it. The returned object is usable inside tests, not at module load time.
 */
export function useKafkaBroker(options: LocalBrokerOptions = {}): KafkaTestBroker {
  let started: KafkaTestBroker | undefined;
  const current = (): KafkaTestBroker => {
    if (started === undefined) throw new Error('useKafkaBroker: the broker is used before the before() hook ran');
    return started;
  };
  before(async () => {
    started = await startKafkaTestBroker(options);
  });
  after(async () => {
    await started?.stop();
  });
  return {
    get brokers() {
      return current().brokers;
    },
    get pid() {
      return current().pid;
    },
    client: (clientId) => current().client(clientId),
    consumer: (groupId, overrides) => current().consumer(groupId, overrides),
    produce: (topic, messages) => current().produce(topic, messages),
    consumeAll: (topic, consumeOptions) => current().consumeAll(topic, consumeOptions),
    stop: () => current().stop(),
  };
}

function bindHelpers(broker: LocalBroker): KafkaTestBroker {
  const client = (clientId?: string): Kafka =>
    createTestKafka(broker.brokers, clientId === undefined ? {} : { clientId });
  const consumer = (groupId: string, overrides: Partial<ConsumerConfig> = {}): Consumer =>
    client().consumer({ ...mockConsumerSettings, ...overrides, groupId });
  return {
    brokers: broker.brokers,
    pid: broker.pid,
    client,
    consumer,
    produce: (topic, messages) => produceWith(client(), topic, messages),
    consumeAll: (topic, options) => consumeAllWith(consumer(options.groupId), topic, options),
    stop: () => broker.stop(),
  };
}

async function produceWith(kafka: Kafka, topic: string, messages: Message[]): Promise<RecordMetadata[]> {
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    return await producer.send({ topic, messages, acks: -1 });
  } finally {
    await producer.disconnect();
  }
}

async function consumeAllWith(
  consumer: Consumer,
  topic: string | readonly string[],
  { expected, timeoutMs = 20_000, fromBeginning = true }: ConsumeAllOptions,
): Promise<ConsumedMessage[]> {
  const received: ConsumedMessage[] = [];
  let done = (): void => {};
  const enough = new Promise<void>((resolve) => {
    done = resolve;
  });
  const timer = setTimeout(done, timeoutMs);
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: typeof topic === 'string' ? [topic] : [...topic], fromBeginning });
    await consumer.run({
      eachMessage: async ({ topic: from, partition, message }) => {
        received.push({
          topic: from,
          partition,
          offset: message.offset,
          key: message.key === null ? null : message.key.toString('utf8'),
          value: message.value === null ? null : message.value.toString('utf8'),
          headers: decodeHeaders(message.headers),
        });
        if (received.length >= expected) done();
      },
    });
    if (expected <= 0) done();
    await enough;
    return received;
  } finally {
    clearTimeout(timer);
    await consumer.disconnect();
  }
}

/** kafkajs header values are Buffer | string | (Buffer | string)[] | undefined. */
export function decodeHeaders(headers: IHeaders | undefined): Record<string, string | string[]> {
  const decoded: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value === undefined) continue;
    decoded[name] = Array.isArray(value) ? value.map((item) => item.toString()) : value.toString();
  }
  return decoded;
}
