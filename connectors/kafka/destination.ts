import type { ConnectorContext, Destination, RecordOutcome } from '../../src/connector/contract.js';
import { FanoutError, toFanoutError, type ErrorCode } from '../../src/errors/catalogue.js';
import type { TerraRecord } from '../../src/records/record.js';
import { deadlineError, shutdownError } from '../shared/call-deadline.js';
import type { ClaimCheck } from '../shared/claim-check.js';
import { encodePayload, type PayloadOptions } from '../shared/payload-mode.js';
import { kafkaErrorFacts, type KafkaOutPort } from './client.js';
import type { KafkaOutConfig } from './config.js';
import { encodeHealthcheck, encodeKafkaMessage, healthcheckTopic, kafkaKey, kafkaTopic, messageBytes, type KafkaOutMessage } from './encode.js';

/** What the destination needs besides its config and client. */
export interface KafkaDestinationOptions {
  /** Stores bodies for `pointer` (and oversized `auto`) records. Absent: no claim-check bucket configured. */
  claimCheck?: ClaimCheck | undefined;
  /** Clock for the healthcheck event. */
  now?: () => Date;
}

/** Claim-check stores running at once while a batch is encoded. */
const PARALLEL_STORES = 8;

/**
 * Most bytes in one produce request. The broker's message.max.bytes applies to each partition's
 * part of a request, so a request spread over many keys may hold more than maxInlineBytes; fewer,
 * larger requests are what make acks=all fast.
 */
export const MAX_REQUEST_BYTES = 8 * 1024 * 1024;

const TOO_LARGE = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE']);
const AUTH = new Set(['TOPIC_AUTHORIZATION_FAILED', 'CLUSTER_AUTHORIZATION_FAILED', 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED', 'SASL_AUTHENTICATION_FAILED', 'UNSUPPORTED_SASL_MECHANISM', 'ILLEGAL_SASL_STATE']);
const REJECTED = new Set(['INVALID_RECORD', 'CORRUPT_MESSAGE', 'POLICY_VIOLATION', 'UNSUPPORTED_FOR_MESSAGE_FORMAT', 'INVALID_REQUIRED_ACKS', 'INVALID_TIMESTAMP']);
const TIMEOUT = new Set(['REQUEST_TIMED_OUT']);

export interface KafkaErrorContext {
  /** e.g. `Kafka topic "terra.activity"`; never a credential. */
  target: string;
  allowAutoTopicCreation: boolean;
}

/**
 * Translates a kafkajs error (or a look-alike from the memory port) into the catalogue.
 * Connection failures, timeouts, leader changes and exhausted internal retries are retryable;
 * too large, authorization, a missing topic (auto-creation off) and refused records are not.
 * An error that is not from kafkajs is a programming error.
 */
export function classifyKafkaError(error: unknown, context: KafkaErrorContext): FanoutError {
  if (error instanceof FanoutError) return error;
  const abandoned = deadlineError(error, context.target);
  if (abandoned !== undefined) return abandoned;
  const facts = kafkaErrorFacts(error);
  const has = (set: ReadonlySet<string>): string | undefined => facts.types.find((type) => set.has(type));
  const make = (code: ErrorCode, message: string, reason: string): FanoutError => new FanoutError(code, message, { detail: { kafka: reason }, cause: error });

  const tooLarge = has(TOO_LARGE);
  if (tooLarge !== undefined) {
    return make('destination_record_too_large', `${context.target} refused the message as too large (${tooLarge}): raise the topic's max.message.bytes, or lower payload.maxInlineBytes so larger records go as pointers.`, tooLarge);
  }
  const auth = has(AUTH) ?? (facts.names.includes('KafkaJSSASLAuthenticationError') ? 'SASL_AUTHENTICATION_FAILED' : undefined);
  if (auth !== undefined) {
    return make('destination_auth_failed', `${context.target} refused our credentials or ACLs (${auth}): check sasl, and grant Write and Describe on the topic (IdempotentWrite on the cluster for brokers before 2.8).`, auth);
  }
  if (facts.types.includes('UNKNOWN_TOPIC_OR_PARTITION')) {
    if (!context.allowAutoTopicCreation) {
      return make('destination_not_found', `${context.target} does not exist and allowAutoTopicCreation is false: create the topic, or allow auto-creation.`, 'UNKNOWN_TOPIC_OR_PARTITION');
    }
    return make('destination_unavailable', `${context.target} is not available yet (UNKNOWN_TOPIC_OR_PARTITION); if it persists, the broker does not auto-create topics: create it.`, 'UNKNOWN_TOPIC_OR_PARTITION');
  }
  if (facts.types.includes('INVALID_TOPIC_EXCEPTION')) {
    return make('destination_misconfigured', `${context.target} is not a valid topic name for this cluster (INVALID_TOPIC_EXCEPTION): change the topic template.`, 'INVALID_TOPIC_EXCEPTION');
  }
  const unsupported = facts.unsupportedApis[0];
  if (unsupported !== undefined) {
    return make('destination_misconfigured', `The Kafka cluster for ${context.target} does not support ${unsupported}: check that ssl and sasl match the brokers' listener.`, `unsupported:${unsupported}`);
  }
  const rejected = has(REJECTED);
  if (rejected !== undefined) {
    return make('destination_rejected', `${context.target} refused the record (${rejected}).`, rejected);
  }
  const timedOut = has(TIMEOUT) ?? (facts.names.includes('KafkaJSRequestTimeoutError') ? 'request timed out' : undefined);
  if (timedOut !== undefined) {
    return make('destination_timeout', `${context.target} did not acknowledge in time (${timedOut}).`, timedOut);
  }
  const kafkajs = facts.names.some((name) => name.startsWith('KafkaJS'));
  if (!kafkajs) return toFanoutError(error);
  if (facts.messages.some((message) => /producer is disconnect/.test(message))) {
    return make('destination_unavailable', `The producer for ${context.target} was closing (shutdown); the records were not sent.`, 'producer disconnecting');
  }
  const reason = facts.types[0] ?? facts.names[facts.names.length - 1] ?? 'KafkaJSError';
  // Exhausted retries of a retriable cause (connection refused, leader moved, ...) stay retryable for the lane.
  if (facts.retriable !== false || facts.names.includes('KafkaJSNumberOfRetriesExceeded')) {
    return make('destination_unavailable', `${context.target} could not be reached or did not accept the batch (${reason}).`, reason);
  }
  return make('destination_rejected', `${context.target} refused the batch (${reason}).`, reason);
}

/** A record on its way to Kafka, or the reason it cannot go. */
interface Planned {
  index: number;
  /** Records with the same ordering key keep their order: `<topic>\0<key>`, or null for keyless messages. */
  orderKey: string | null;
  message?: KafkaOutMessage;
  bytes: number;
  error?: FanoutError;
}

function heldBack(blocker: FanoutError): FanoutError {
  const message = `Not sent: an earlier record with the same key failed (${blocker.code}).`;
  const detail = { heldBack: true, blockedBy: blocker.code };
  return new FanoutError(blocker.code, message, blocker.retryAfterMs === undefined ? { detail } : { detail, retryAfterMs: blocker.retryAfterMs });
}

/** Errors about one record rather than the topic: worth finding the one culprit in a batch. */
function recordSpecific(error: FanoutError): boolean {
  return error.code === 'destination_record_too_large' || error.code === 'destination_rejected';
}

async function mapLimit<Item, Result>(items: readonly Item[], limit: number, map: (item: Item, index: number) => Promise<Result>): Promise<Result[]> {
  const results = new Array<Result>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let index = next++; index < items.length; index = next++) {
      const item = items[index];
      if (item !== undefined) results[index] = await map(item, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

class KafkaDestination implements Destination {
  private readonly payload: PayloadOptions;
  private readonly now: () => Date;
  /** Per topic: a request budget lowered after the broker refused a request as too large. */
  private readonly requestBudget = new Map<string, number>();
  private closed = false;

  constructor(
    private readonly config: KafkaOutConfig,
    private readonly client: KafkaOutPort,
    private readonly context: ConnectorContext,
    private readonly claimCheck: ClaimCheck | undefined,
    now: (() => Date) | undefined,
  ) {
    this.payload = { mode: config.payload.mode, maxInlineBytes: config.payload.maxInlineBytes, claimCheck };
    this.now = now ?? (() => new Date());
  }

  /** Produces a Terra healthcheck event (a write with the rights send() needs) and checks the claim-check bucket. */
  async check(): Promise<void> {
    if (this.config.payload.mode === 'pointer' && this.claimCheck === undefined) {
      throw new FanoutError('destination_misconfigured', 'payload.mode is pointer but no claim-check bucket is configured for this destination; configure one or use mode auto or inline.');
    }
    const topic = healthcheckTopic(this.config, this.context.tenant);
    try {
      await this.client.produce(topic, [encodeHealthcheck(this.now(), this.context.tenant)]);
    } catch (error) {
      throw classifyKafkaError(error, this.errorContext(topic));
    }
    await this.claimCheck?.check(new AbortController().signal);
  }

  /**
   * Encodes every record (storing pointer bodies first), then produces each topic's messages in
   * batch order; topics in parallel. One outcome per record.
   */
  async send(batch: readonly TerraRecord[], signal: AbortSignal): Promise<RecordOutcome[]> {
    const outcomes = new Array<RecordOutcome>(batch.length);
    const planned = await mapLimit(batch, PARALLEL_STORES, (record, index) => this.plan(record, index, signal));
    const byTopic = new Map<string, Planned[]>();
    for (const { topic, entry } of planned) {
      if (topic === undefined) {
        outcomes[entry.index] = { ok: false, error: entry.error ?? new FanoutError('internal_error', 'A record without a topic has no error.') };
        continue;
      }
      const list = byTopic.get(topic);
      if (list === undefined) byTopic.set(topic, [entry]);
      else list.push(entry);
    }
    await Promise.all([...byTopic].map(([topic, entries]) => this.produceTopic(topic, entries, outcomes, signal)));
    return outcomes;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.client.close();
    await this.claimCheck?.close();
  }

  private errorContext(topic: string): KafkaErrorContext {
    return { target: `Kafka topic "${topic}"`, allowAutoTopicCreation: this.config.allowAutoTopicCreation };
  }

  /** The topic, key, headers and value of one record; failures become that record's error. */
  private async plan(record: TerraRecord, index: number, signal: AbortSignal): Promise<{ topic: string | undefined; entry: Planned }> {
    let topic: string;
    try {
      topic = kafkaTopic(this.config, record, this.context.tenant);
    } catch (error) {
      return { topic: undefined, entry: { index, orderKey: null, bytes: 0, error: toFanoutError(error) } };
    }
    const key = kafkaKey(this.config, record);
    const orderKey = key === null ? null : `${topic}\u0000${key}`;
    const encoded = await encodePayload(record, this.payload, signal);
    if (!encoded.ok) return { topic, entry: { index, orderKey, bytes: 0, error: encoded.error } };
    const message = encodeKafkaMessage(this.config, record, this.context.tenant, encoded);
    return { topic, entry: { index, orderKey, message, bytes: messageBytes(message) } };
  }

  /**
   * Produces one topic's records in batch order. A request holds at most the topic's request
   * budget in all, and at most payload.maxInlineBytes per key (one key is one partition, and the
   * broker's limit applies per partition). After a retryable failure, later records with the same
   * key are held back, so a retry never lands an older record after a newer one; after a permanent
   * failure of the topic (auth, not found), the rest of the topic gets the same error without
   * another request. A request refused for one of its records (too large, invalid) is split in
   * halves, in order, until the record is found; a too-large refusal also lowers the topic's budget to half the refused request.
   */
  private async produceTopic(topic: string, entries: readonly Planned[], outcomes: RecordOutcome[], signal: AbortSignal): Promise<void> {
    const blocked = new Map<string, FanoutError>();
    let topicFailed: FanoutError | undefined;
    let chunk: Planned[] = [];
    let chunkBytes = 0;
    let keyBytes = new Map<string, number>();

    const settle = (entry: Planned, outcome: RecordOutcome): void => {
      outcomes[entry.index] = outcome;
      if (!outcome.ok && outcome.error.retryable && entry.orderKey !== null && !blocked.has(entry.orderKey)) blocked.set(entry.orderKey, outcome.error);
    };
    /** Why this record may not be sent now, if it may not. */
    const stopper = (entry: Planned): FanoutError | undefined => {
      if (topicFailed !== undefined) return topicFailed;
      const blocker = entry.orderKey === null ? undefined : blocked.get(entry.orderKey);
      return blocker === undefined ? undefined : heldBack(blocker);
    };

    const request = async (candidates: readonly Planned[]): Promise<void> => {
      const sending: Planned[] = [];
      for (const entry of candidates) {
        const stop = stopper(entry);
        if (stop === undefined) sending.push(entry);
        else settle(entry, { ok: false, error: stop });
      }
      if (sending.length === 0) return;
      const halves = async (): Promise<void> => {
        const half = Math.ceil(sending.length / 2);
        await request(sending.slice(0, half));
        await request(sending.slice(half));
      };
      const bytes = sending.reduce((sum, entry) => sum + entry.bytes, 0);
      if (sending.length > 1 && bytes > this.budgetFor(topic)) return halves(); // the budget shrank since this request was built
      const failure = await this.produceChunk(topic, sending, signal);
      if (failure === undefined) {
        for (const entry of sending) settle(entry, { ok: true });
      } else if (sending.length > 1 && recordSpecific(failure)) {
        if (failure.code === 'destination_record_too_large') this.requestBudget.set(topic, Math.max(this.config.payload.maxInlineBytes, Math.floor(bytes / 2)));
        await halves();
      } else {
        for (const entry of sending) settle(entry, { ok: false, error: failure });
        if (!failure.retryable && !recordSpecific(failure)) topicFailed = failure;
      }
    };

    const flush = async (): Promise<void> => {
      const sending = chunk;
      chunk = [];
      chunkBytes = 0;
      keyBytes = new Map();
      await request(sending);
    };

    for (const entry of entries) {
      if (entry.error !== undefined) {
        settle(entry, { ok: false, error: entry.error });
        continue;
      }
      const forKey = entry.orderKey === null ? 0 : (keyBytes.get(entry.orderKey) ?? 0);
      if (chunk.length > 0 && (chunkBytes + entry.bytes > this.budgetFor(topic) || forKey + entry.bytes > this.config.payload.maxInlineBytes)) await flush();
      const stop = stopper(entry);
      if (stop !== undefined) {
        settle(entry, { ok: false, error: stop });
      } else {
        chunk.push(entry);
        chunkBytes += entry.bytes;
        if (entry.orderKey !== null) keyBytes.set(entry.orderKey, (keyBytes.get(entry.orderKey) ?? 0) + entry.bytes);
      }
    }
    await flush();
  }

  /** Bytes one request to `topic` may hold: MAX_REQUEST_BYTES (at least maxInlineBytes) until the broker refused that much. */
  private budgetFor(topic: string): number {
    return this.requestBudget.get(topic) ?? Math.max(MAX_REQUEST_BYTES, this.config.payload.maxInlineBytes);
  }

  /** One produce request; resolves with the classified failure, or undefined when every message was acknowledged. */
  private async produceChunk(topic: string, entries: readonly Planned[], signal: AbortSignal): Promise<FanoutError | undefined> {
    if (signal.aborted) return shutdownError('sent');
    try {
      await this.client.produce(
        topic,
        entries.flatMap((entry) => (entry.message === undefined ? [] : [entry.message])),
        signal,
      );
      return undefined;
    } catch (error) {
      return classifyKafkaError(error, this.errorContext(topic));
    }
  }
}

/** A Kafka destination over `client`. Performs no I/O until check() or send(). */
export function createKafkaDestination(config: KafkaOutConfig, client: KafkaOutPort, context: ConnectorContext, options: KafkaDestinationOptions = {}): Destination {
  return new KafkaDestination(config, client, context, options.claimCheck, options.now);
}
