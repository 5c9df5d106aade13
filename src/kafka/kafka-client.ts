import { readFileSync } from 'node:fs';
import { Kafka, Partitioners, logLevel, type Batch as KafkaBatch, type Consumer, type IHeaders, type KafkaConfig, type LogEntry, type Producer, type SASLOptions } from 'kafkajs';
import type { Logger } from 'pino';
import type { Secret } from '../config/secret.js';
import { FanoutError } from '../errors/catalogue.js';
import { installGzipCodec } from './gzip-codec.js';
import { applyLibrdkafkaMockCompat } from './librdkafka-mock-compat.js';
import { moveGroupOffsets, type OffsetMove } from './move-group-offsets.js';

/**
 * The one engine file that talks to kafkajs. Lanes and dead letters depend on the small ports
 * below, so they can be tested with in-memory ports and the Kafka client could be swapped.
 */

/** Raw Kafka headers as read: every value kept, in order, as bytes. */
export type RawHeaders = Readonly<Record<string, readonly Buffer[]>>;

export interface InboundMessage {
  topic: string;
  partition: number;
  offset: string;
  timestampMs: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: RawHeaders;
  /** Bytes this message holds in memory (value + key + headers), for budgets. */
  sizeBytes: number;
}

export interface InboundBatch {
  topic: string;
  partition: number;
  highWatermark: string;
  messages: readonly InboundMessage[];
}

export interface BatchControls {
  /** Marks a message as taken so the consumer does not fetch it again (does not commit). */
  resolveOffset(offset: string): void;
  heartbeat(): Promise<void>;
  /** False once the consumer is stopping or the batch's partition was revoked. */
  isActive(): boolean;
}

export interface CommitOffset {
  topic: string;
  partition: number;
  /** The next offset to read (last settled + 1). */
  offset: string;
}

/** Partitions of one topic assigned to this member. */
export interface PartitionAssignment {
  topic: string;
  partitions: readonly number[];
}

/** What a consumer should not fetch: everything (`all`), or only these partitions. */
export interface PauseState {
  all: boolean;
  partitions: ReadonlyArray<{ topic: string; partition: number }>;
}

/** One lane's consumer group membership. */
export interface LaneConsumer {
  /** Joins the group and calls `onBatch` for fetched batches, one partition at a time, until stopped. */
  start(onBatch: (batch: InboundBatch, controls: BatchControls) => Promise<void>): Promise<void>;
  commit(offsets: readonly CommitOffset[]): Promise<void>;
  /**
   * Sets which partitions are not fetched (replacing the previous state). Cheap when the state is
   * unchanged; batches of a paused partition already fetched are not handed over.
   */
  setPaused(state: PauseState): void;
  /** Called after every group join (start and each rebalance) with this member's partitions. */
  onJoined(listener: (assignment: readonly PartitionAssignment[]) => void): void;
  onCrash(listener: (error: Error) => void): void;
  /** Leaves the group. Waits for the batch in progress to return. */
  stop(): Promise<void>;
}

export interface OutboundMessage {
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer | string | Array<Buffer | string>>;
}

export interface MessageProducer {
  send(topic: string, messages: readonly OutboundMessage[]): Promise<void>;
  close(): Promise<void>;
}

export interface KafkaConnection {
  brokers: string[];
  clientId: string;
  ssl: boolean | { ca?: string | undefined; cert?: string | undefined; key?: Secret | undefined; rejectUnauthorized?: boolean | undefined };
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: Secret } | undefined;
  connectionTimeoutMs: number;
  requestTimeoutMs: number;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  maxWaitTimeMs: number;
  fromBeginning: boolean;
  librdkafkaMockCompat: boolean;
}

export interface ConsumerLimits {
  /** Upper bound of bytes fetched per request; keeps a lane's read buffers inside its budget. */
  maxBytes: number;
  maxBytesPerPartition: number;
}

/** Offsets of one partition: `low` the earliest retained, `high` the high watermark (next offset to be written). */
export interface PartitionOffsets {
  partition: number;
  low: string;
  high: string;
}

export interface GroupOffset {
  topic: string;
  partition: number;
  /** The group's committed offset (next to read), or `-1` when it has none for this partition. */
  offset: string;
}

/**
 * Cluster metadata and consumer-group offsets: lag, rewinds and the dead-letter tools. Every call
 * is bounded by the connection's request timeout.
 */
export interface KafkaAdmin {
  topicOffsets(topic: string): Promise<PartitionOffsets[]>;
  groupOffsets(groupId: string, topics: readonly string[]): Promise<GroupOffset[]>;
  /** The earliest offset per partition whose timestamp is at or after `timestampMs` (the high watermark when none). */
  offsetsAtTime(topic: string, timestampMs: number): Promise<Array<{ partition: number; offset: string }>>;
  /**
   * Moves a group's committed offsets by joining the group (see move-group-offsets.ts). Throws
   * GroupHasMembersError when others are in the group, unless `force`.
   */
  moveGroupOffsets(groupId: string, moves: readonly OffsetMove[], options: { force: boolean }): Promise<{ otherMembers: number }>;
  close(): Promise<void>;
}

export interface KafkaClient {
  createLaneConsumer(groupId: string, topics: readonly string[], limits: ConsumerLimits): LaneConsumer;
  createProducer(): MessageProducer;
  createAdmin(): KafkaAdmin;
  /**
   * A group member over one topic that starts from the earliest retained offset when the group has
   * no committed offset, whatever `fromBeginning` says: the dead-letter tools scan a topic from its
   * start up to the high watermarks they saw, pausing each partition that got there.
   */
  createScanConsumer(groupId: string, topic: string, limits: ConsumerLimits): LaneConsumer;
}

function pemOrFile(value: string): string {
  return value.includes('-----BEGIN') ? value : readFileSync(value, 'utf8');
}

/** The cluster part of a connection: what any kafkajs client (the engine's, or the kafka destination's) needs. */
export type KafkaClusterSettings = Pick<KafkaConnection, 'brokers' | 'clientId' | 'ssl' | 'sasl' | 'connectionTimeoutMs' | 'requestTimeoutMs'>;

/**
 * kafkajs settings for a cluster, with kafkajs's own log lines routed to `logger` under
 * `component`. The only place a SASL password or TLS key is revealed to kafkajs.
 */
export function kafkaClientConfig(connection: KafkaClusterSettings, logger: Logger, component: string): KafkaConfig {
  const ssl =
    typeof connection.ssl === 'boolean'
      ? connection.ssl
      : {
          rejectUnauthorized: connection.ssl.rejectUnauthorized ?? true,
          ...(connection.ssl.ca === undefined ? {} : { ca: [pemOrFile(connection.ssl.ca)] }),
          ...(connection.ssl.cert === undefined ? {} : { cert: pemOrFile(connection.ssl.cert) }),
          ...(connection.ssl.key === undefined ? {} : { key: pemOrFile(connection.ssl.key.reveal()) }),
        };
  let sasl: SASLOptions | undefined;
  if (connection.sasl !== undefined) {
    const { mechanism, username, password } = connection.sasl;
    sasl = mechanism === 'plain'
      ? { mechanism, username, password: password.reveal() }
      : mechanism === 'scram-sha-256'
        ? { mechanism, username, password: password.reveal() }
        : { mechanism, username, password: password.reveal() };
  }
  const kafkaLogger = logger.child({ component });
  return {
    clientId: connection.clientId,
    brokers: connection.brokers,
    ssl,
    ...(sasl === undefined ? {} : { sasl }),
    connectionTimeout: connection.connectionTimeoutMs,
    requestTimeout: connection.requestTimeoutMs,
    logLevel: logLevel.WARN,
    logCreator: () => (entry: LogEntry) => {
      const { message, ...fields } = entry.log;
      const context = { namespace: entry.namespace, error: fields.error, groupId: fields.groupId };
      if (entry.level <= logLevel.ERROR) kafkaLogger.warn(context, `kafkajs: ${message}`);
      else kafkaLogger.debug(context, `kafkajs: ${message}`);
    },
  };
}

/** Shared by every message without headers (most of them): nothing is allocated for them. */
const noHeaders: RawHeaders = Object.freeze({});

function readHeaders(headers: IHeaders | undefined): RawHeaders {
  if (headers === undefined) return noHeaders;
  let result: Record<string, Buffer[]> | undefined;
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    const values = Array.isArray(value) ? value : [value];
    result ??= {};
    result[name] = values.map((item) => (typeof item === 'string' ? Buffer.from(item) : item));
  }
  return result ?? noHeaders;
}

function headerBytes(headers: RawHeaders): number {
  let total = 0;
  for (const [name, values] of Object.entries(headers)) for (const value of values) total += name.length + value.length;
  return total;
}

function toInboundBatch(batch: KafkaBatch): InboundBatch {
  const messages: InboundMessage[] = batch.messages.map((message) => {
    const headers = readHeaders(message.headers);
    const key = message.key ?? null;
    const value = message.value ?? null;
    return {
      topic: batch.topic,
      partition: batch.partition,
      offset: message.offset,
      timestampMs: Number(message.timestamp),
      key,
      value,
      headers,
      sizeBytes: (value?.length ?? 0) + (key?.length ?? 0) + headerBytes(headers),
    };
  });
  return { topic: batch.topic, partition: batch.partition, highWatermark: batch.highWatermark, messages };
}

/**
 * Orders a consumer's start and stop. kafkajs lets disconnect() overtake a run() that is still
 * joining its group: the join then completes after the disconnect and leaves a member that holds
 * partitions and never fetches (seen when a reload or an offsets move stopped a lane that was still
 * joining). So stop() waits for a start in progress to settle (connect, subscribe, join) and start()
 * does not run a consumer that was asked to stop meanwhile.
 */
function startStopOrder(): { starting(work: () => Promise<void>): Promise<void>; stopping(work: () => Promise<void>): Promise<void>; readonly stopRequested: boolean } {
  let stopRequested = false;
  let startup: Promise<void> = Promise.resolve();
  return {
    get stopRequested() {
      return stopRequested;
    },
    starting(work) {
      const run = work();
      startup = run.catch(() => undefined);
      return run;
    },
    async stopping(work) {
      stopRequested = true;
      await startup;
      await work();
    },
  };
}

function createLaneConsumer(kafka: Kafka, connection: KafkaConnection, groupId: string, topics: readonly string[], limits: ConsumerLimits): LaneConsumer {
  const consumer: Consumer = kafka.consumer({
    groupId,
    sessionTimeout: connection.sessionTimeoutMs,
    heartbeatInterval: connection.heartbeatIntervalMs,
    maxWaitTimeInMs: connection.maxWaitTimeMs,
    maxBytes: limits.maxBytes,
    maxBytesPerPartition: limits.maxBytesPerPartition,
    allowAutoTopicCreation: true,
    retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 300, maxRetryTime: 30_000 },
  });
  let running = false;
  const order = startStopOrder();
  let applied = 'none';
  let wanted: PauseState = { all: false, partitions: [] };
  const applyPause = (): void => {
    if (!running) return;
    const signature = wanted.all ? 'all' : wanted.partitions.map(({ topic, partition }) => `${topic}:${partition}`).join(',') || 'none';
    if (signature === applied) return;
    // kafkajs keeps whole-topic and per-partition pauses apart; resuming the topics first and then
    // pausing what is wanted gives exactly the wanted state.
    consumer.resume(topics.map((topic) => ({ topic })));
    if (wanted.all) consumer.pause(topics.map((topic) => ({ topic })));
    else {
      const byTopic = new Map<string, number[]>();
      for (const { topic, partition } of wanted.partitions) byTopic.set(topic, [...(byTopic.get(topic) ?? []), partition]);
      if (byTopic.size > 0) consumer.pause([...byTopic].map(([topic, partitions]) => ({ topic, partitions })));
    }
    applied = signature;
  };
  return {
    start: (onBatch) =>
      order.starting(async () => {
        await consumer.connect();
        for (const topic of topics) await consumer.subscribe({ topic, fromBeginning: connection.fromBeginning });
        if (order.stopRequested) return;
        const started = consumer.run({
          autoCommit: false,
          eachBatchAutoResolve: false,
          partitionsConsumedConcurrently: 1,
          eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
            await onBatch(toInboundBatch(batch), { resolveOffset, heartbeat, isActive: () => running && isRunning() && !isStale() });
          },
        });
        // kafkajs accepts pause()/resume() only once run() has created its consumer group (which run()
        // does before its first await): a lane that starts paused (an operator pause kept across a
        // restart) pauses here, before anything is fetched.
        running = true;
        applyPause();
        await started;
      }),
    async commit(offsets) {
      if (offsets.length === 0) return;
      await consumer.commitOffsets(offsets.map(({ topic, partition, offset }) => ({ topic, partition, offset })));
    },
    setPaused(state) {
      wanted = state;
      applyPause();
    },
    onJoined(listener) {
      consumer.on(consumer.events.GROUP_JOIN, (event) => {
        const assignment = Object.entries(event.payload.memberAssignment).map(([topic, partitions]) => ({ topic, partitions: [...partitions] }));
        listener(assignment);
      });
    },
    onCrash(listener) {
      consumer.on(consumer.events.CRASH, (event) => {
        if (!event.payload.restart) listener(event.payload.error);
      });
    },
    stop: () =>
      order.stopping(async () => {
        running = false;
        await consumer.disconnect();
      }),
  };
}

function createProducer(kafka: Kafka): MessageProducer {
  const producer: Producer = kafka.producer({ allowAutoTopicCreation: true, retry: { retries: 5 } });
  let connected: Promise<void> | undefined;
  return {
    async send(topic, messages) {
      connected ??= producer.connect();
      await connected;
      await producer.send({ topic, acks: -1, messages: messages.map((message) => ({ key: message.key, value: message.value, headers: message.headers })) });
    },
    async close() {
      if (connected !== undefined) await producer.disconnect();
      connected = undefined;
    },
  };
}

function createAdmin(kafka: Kafka, connection: KafkaConnection): KafkaAdmin {
  const admin = kafka.admin({ retry: { retries: 2 } });
  let connected: Promise<void> | undefined;
  const ready = async (): Promise<void> => {
    connected ??= admin.connect().catch((error: unknown) => {
      connected = undefined;
      throw error;
    });
    await connected;
  };
  return {
    async topicOffsets(topic) {
      await ready();
      const offsets = await admin.fetchTopicOffsets(topic);
      return offsets.map(({ partition, low, high }) => ({ partition, low, high }));
    },
    async groupOffsets(groupId, topics) {
      await ready();
      const byTopic = await admin.fetchOffsets({ groupId, topics: [...topics] });
      return byTopic.flatMap(({ topic, partitions }) => partitions.map(({ partition, offset }) => ({ topic, partition, offset })));
    },
    async offsetsAtTime(topic, timestampMs) {
      await ready();
      const offsets = await admin.fetchTopicOffsetsByTimestamp(topic, timestampMs);
      return offsets.map(({ partition, offset }) => ({ partition, offset }));
    },
    moveGroupOffsets(groupId, moves, { force }) {
      // Joining waits out the rebalance: at most a session timeout for a member that left uncleanly.
      return moveGroupOffsets(kafka, groupId, moves, { force, sessionTimeoutMs: connection.sessionTimeoutMs, timeoutMs: connection.sessionTimeoutMs + 2 * connection.requestTimeoutMs });
    },
    async close() {
      if (connected !== undefined) await admin.disconnect();
      connected = undefined;
    },
  };
}

export function createKafkaClient(connection: KafkaConnection, logger: Logger): KafkaClient {
  if (connection.librdkafkaMockCompat) applyLibrdkafkaMockCompat();
  installGzipCodec();
  const kafka = new Kafka(kafkaClientConfig(connection, logger, 'kafkajs'));
  return {
    createLaneConsumer: (groupId, topics, limits) => createLaneConsumer(kafka, connection, groupId, topics, limits),
    createProducer: () => createProducer(kafka),
    createAdmin: () => createAdmin(kafka, connection),
    createScanConsumer: (groupId, topic, limits) => createLaneConsumer(kafka, { ...connection, fromBeginning: true }, groupId, [topic], limits),
  };
}

export interface TopicMessages {
  topic: string;
  messages: readonly OutboundMessage[];
}

/**
 * The ingest gateway's producer: idempotent, acks=all, every call bounded by a timeout.
 * A resolved `send` means every in-sync replica has the messages, so the gateway may answer 2xx.
 */
export interface AcknowledgedProducer {
  /**
   * Connects and obtains a producer id within `timeoutMs`; does nothing when already connected.
   * Rejects with a FanoutError `kafka_unavailable` (or `kafka_refused` for bad credentials).
   */
  connect(timeoutMs: number): Promise<void>;
  /**
   * Produces `batch` (one request per leader broker) and resolves once all in-sync replicas
   * acknowledged it. Rejects within `timeoutMs` with a FanoutError: `kafka_unavailable` (timed out,
   * unreachable, or retriable broker errors past the client's few retries: the messages may or may
   * not be stored), `kafka_message_too_large`, or `kafka_refused` (not stored, and a retry will not
   * help). After a failure whose outcome is unknown the producer instance is retired: the next call
   * connects a new one with a new producer id, so an abandoned write can never make the broker take
   * a later batch for a duplicate of it (same producer id and sequence number).
   */
  send(batch: readonly TopicMessages[], timeoutMs: number): Promise<void>;
  /** True while a producer instance is connected and its last send did not fail. */
  readonly connected: boolean;
  /** Disconnects, after waiting up to `timeoutMs` for sends still in flight (retired ones too). */
  close(timeoutMs: number): Promise<void>;
}

export interface AcknowledgedProducerOptions {
  /**
   * Bounds each broker request of this producer (and so how long an abandoned send lingers):
   * the lower of this and connection.requestTimeoutMs.
   */
  requestTimeoutMs: number;
}

interface ProducerInstance {
  producer: Producer;
  /** Settles when connect() and InitProducerId finished; rejected when they failed. */
  connecting: Promise<void>;
  connected: boolean;
  retired: boolean;
  inFlight: Set<Promise<unknown>>;
}

/** Broker errors that mean "the message is too big": no retry of the same bytes can succeed. */
const TOO_LARGE = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE']);

/** The first kafkajs protocol error in an error's cause chain (kafkajs wraps them when retries end). */
function protocolErrorType(error: unknown): { type: string; retriable: boolean } | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 8 && current instanceof Error; depth += 1) {
    const type: unknown = Reflect.get(current, 'type');
    if (current.name === 'KafkaJSProtocolError' && typeof type === 'string') return { type, retriable: Reflect.get(current, 'retriable') === true };
    if (current.name === 'KafkaJSSASLAuthenticationError') return { type: 'SASL_AUTHENTICATION_FAILED', retriable: false };
    current = current.cause;
  }
  return undefined;
}

/** Translates a kafkajs produce or connect failure into the catalogue. */
function produceFailure(error: unknown): FanoutError {
  if (error instanceof FanoutError) return error;
  const protocol = protocolErrorType(error);
  const reason = error instanceof Error ? error.message : String(error);
  if (protocol !== undefined && TOO_LARGE.has(protocol.type)) {
    return new FanoutError('kafka_message_too_large', `The broker refused the message as too large (${protocol.type}).`, { detail: { kafkaError: protocol.type }, cause: error });
  }
  if (protocol !== undefined && !protocol.retriable) {
    return new FanoutError('kafka_refused', `Kafka refused the produce: ${reason}`, { detail: { kafkaError: protocol.type }, cause: error });
  }
  return new FanoutError('kafka_unavailable', `Kafka did not acknowledge the produce: ${reason}`, { cause: error });
}

/** Runs `work` but gives up after `timeoutMs` with `kafka_unavailable`; `work` itself is not cancelled. */
async function withTimeout<T>(work: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new FanoutError('kafka_unavailable', `Kafka did not ${what} within ${timeoutMs} ms.`, { detail: { timeoutMs } })), timeoutMs);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Builds the ingest gateway's producer on its own kafkajs client: idempotent (the broker drops a
 * retried batch it already has), acks=all, the Java client's murmur2 partitioner (a user id lands
 * on the partition any Kafka client would choose), and only a few quick retries, so a send settles
 * (or is abandoned) in bounded time.
 */
export function createAcknowledgedProducer(connection: KafkaConnection, logger: Logger, options: AcknowledgedProducerOptions): AcknowledgedProducer {
  if (connection.librdkafkaMockCompat) applyLibrdkafkaMockCompat();
  const requestTimeoutMs = Math.min(connection.requestTimeoutMs, options.requestTimeoutMs);
  const retry = { retries: 2, initialRetryTime: 100, maxRetryTime: 1000 };
  installGzipCodec();
  const kafka = new Kafka({ ...kafkaClientConfig({ ...connection, requestTimeoutMs }, logger, 'kafkajs-ingest'), retry });
  const log = logger.child({ component: 'ingest-producer' });
  let current: ProducerInstance | undefined;
  const retiring = new Set<Promise<void>>();
  let closed = false;

  const track = <T>(instance: ProducerInstance, work: Promise<T>): Promise<T> => {
    const settled = work.then(
      () => undefined,
      () => undefined,
    );
    instance.inFlight.add(settled);
    void settled.then(() => instance.inFlight.delete(settled));
    return work;
  };

  const open = (): ProducerInstance => {
    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: true,
      createPartitioner: Partitioners.DefaultPartitioner,
      retry,
    });
    const instance: ProducerInstance = { producer, connecting: Promise.resolve(), connected: false, retired: false, inFlight: new Set() };
    instance.connecting = track(instance, producer.connect()).then(() => {
      instance.connected = true;
    });
    // A failed connect is reported to whoever awaits it; this only keeps it from being unhandled.
    instance.connecting.catch(() => undefined);
    return instance;
  };

  /** Stops using an instance; it is disconnected once its in-flight calls settled (each is bounded by the retry settings). */
  const retire = (instance: ProducerInstance, reason: FanoutError): void => {
    if (instance.retired) return;
    instance.retired = true;
    instance.connected = false;
    if (current === instance) current = undefined;
    log.warn({ code: reason.code, err: reason }, 'Ingest producer retired; the next produce connects a new one.');
    const done = Promise.allSettled([...instance.inFlight])
      .then(() => instance.producer.disconnect())
      .catch((error: unknown) => log.debug({ err: error }, 'Disconnecting a retired ingest producer failed.'));
    retiring.add(done);
    void done.then(() => retiring.delete(done));
  };

  const ready = async (timeoutMs: number): Promise<ProducerInstance> => {
    if (closed) throw new FanoutError('kafka_unavailable', 'The ingest producer is closed.');
    current ??= open();
    const instance = current;
    try {
      await withTimeout(instance.connecting, timeoutMs, 'accept a connection and give a producer id');
    } catch (error) {
      const failure = produceFailure(error);
      retire(instance, failure);
      throw failure;
    }
    return instance;
  };

  return {
    get connected() {
      return current?.connected === true && !current.retired;
    },
    async connect(timeoutMs) {
      await ready(timeoutMs);
    },
    async send(batch, timeoutMs) {
      const started = Date.now();
      const instance = await ready(timeoutMs);
      const work = track(
        instance,
        instance.producer.sendBatch({
          acks: -1,
          timeout: timeoutMs,
          topicMessages: batch.map(({ topic, messages }) => ({
            topic,
            messages: messages.map((message) => ({ key: message.key, value: message.value, headers: message.headers })),
          })),
        }),
      );
      try {
        await withTimeout(work, Math.max(1, timeoutMs - (Date.now() - started)), 'acknowledge the produce');
      } catch (error) {
        const failure = produceFailure(error);
        if (failure.code === 'kafka_unavailable') retire(instance, failure);
        throw failure;
      }
    },
    async close(timeoutMs) {
      closed = true;
      const instance = current;
      current = undefined;
      const drained = Promise.allSettled([...(instance?.inFlight ?? []), ...retiring]);
      await withTimeout(drained, timeoutMs, 'finish the sends in flight').catch(() => log.warn({ timeoutMs }, 'Ingest producer closed with sends still in flight.'));
      if (instance !== undefined) await instance.producer.disconnect().catch((error: unknown) => log.debug({ err: error }, 'Disconnecting the ingest producer failed.'));
    },
  };
}
