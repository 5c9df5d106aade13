import type { Logger } from 'pino';
import type { Destination, RecordOutcome } from '../connector/contract.js';
import { FanoutError, toFanoutError } from '../errors/catalogue.js';
import type { BatchControls, CommitOffset, InboundBatch, InboundMessage, LaneConsumer, MessageProducer } from '../kafka/kafka-client.js';
import type { Metrics } from '../observability/metrics.js';
import type { TerraRecord } from '../records/record.js';
import type { ByteBudget } from './byte-budget.js';
import { buildDeadLetter, type DeadLetterInput } from './dead-letter.js';
import { backoffDelayMs, mayRetry, type RetryPolicy } from './retry-policy.js';

/** What one Kafka message became: records for this destination (maybe none), or a rejection. */
export type MessageOutcome = { ok: true; records: TerraRecord[]; filtered: boolean } | { ok: false; error: FanoutError };

/** Decodes, filters and explodes one message for this lane. May fetch (s3_payload). */
export type MessageReader = (message: InboundMessage) => Promise<MessageOutcome>;

export interface BatchSettings {
  maxRecords: number;
  maxBytes: number;
  lingerMs: number;
}

export interface LaneOptions {
  tenant: string;
  destinationName: string;
  connectorType: string;
  destination: Destination;
  consumer: LaneConsumer;
  deadLetters: MessageProducer;
  deadLetterTopic: string;
  read: MessageReader;
  batch: BatchSettings;
  retry: RetryPolicy;
  /** Message bytes this lane may hold before it must flush. */
  laneBudgetBytes: number;
  processBudget: ByteBudget;
  metrics: Metrics;
  logger: Logger;
  /** Called once when the lane cannot go on (its consumer crashed and will not restart). */
  onFatal?: (error: Error) => void;
  now?: () => number;
  random?: () => number;
}

interface PendingMessage {
  message: InboundMessage;
  records: TerraRecord[];
  rejection: { error: FanoutError; cause?: FanoutError | undefined; attempts: number; firstFailureMs: number; lastFailureMs: number } | null;
}

interface Attempted {
  record: TerraRecord;
  message: InboundMessage;
  attempts: number;
  firstFailureMs: number;
  lastFailureMs: number;
  lastError: FanoutError | null;
}

/** How often a lane heartbeats its group while its batch handler waits for a flush. */
const HEARTBEAT_WHILE_WAITING_MS = 1_000;

class Aborted extends Error {
  constructor() {
    super('lane stopping');
  }
}

const partitionKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

/**
 * One (tenant, destination) lane: its own consumer group, batches, retries, dead letters and
 * offsets. Flow per message: read (decode, filter, explode) → pending → flush (send in batches,
 * retry retryable failures with backoff while paused, park the rest) → commit.
 *
 * Delivery guarantee: an offset is committed only after every record of every message up to it
 * was delivered or parked. Flushes are serialized, so records of a partition go out in offset order.
 */
export class Lane {
  readonly name: string;
  readonly #options: LaneOptions;
  readonly #log: Logger;
  readonly #labels: { tenant: string; destination: string };
  readonly #connectorLabels: { tenant: string; destination: string; connector: string };
  readonly #abort = new AbortController();
  readonly #now: () => number;
  readonly #random: () => number;

  #pending: PendingMessage[] = [];
  #pendingBytes = 0;
  #pendingRecords = 0;
  #pendingRecordBytes = 0;
  #heldBytes = 0;
  #lingerTimer: NodeJS.Timeout | undefined;
  #flushChain: Promise<void> = Promise.resolve();
  #flushesRunning = 0;
  #nextOffset = new Map<string, bigint>();
  #highWatermark = new Map<string, bigint>();
  #controls: BatchControls | undefined;
  #pausedReasons = new Set<string>();
  #stopping = false;
  #checked = false;
  #joined = false;
  /** Counted per message, reported once per fetched batch (prom-client label hashing is not free). */
  #received = { messages: 0, records: 0, filtered: 0 };

  constructor(options: LaneOptions) {
    this.#options = options;
    this.name = `${options.tenant}/${options.destinationName}`;
    this.#labels = { tenant: options.tenant, destination: options.destinationName };
    this.#connectorLabels = { ...this.#labels, connector: options.connectorType };
    this.#log = options.logger.child({ tenant: options.tenant, destination: options.destinationName, lane: this.name, connector: options.connectorType });
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
    options.metrics.laneReady.set(this.#labels, 0);
    options.metrics.lanePaused.set(this.#labels, 0);
    options.metrics.inFlightBytes.set(this.#labels, 0);
  }

  get ready(): boolean {
    return this.#checked && this.#joined;
  }

  /** Checks the destination (retrying until it passes), then joins the group and consumes until stop(). */
  async start(): Promise<void> {
    await this.#checkDestination();
    if (this.#stopping) return;
    this.#options.consumer.onJoined(() => {
      this.#joined = true;
      this.#updateReady();
      this.#log.info('Lane joined its consumer group.');
    });
    this.#options.consumer.onCrash((error) => {
      this.#log.error({ err: error }, 'Lane consumer crashed and will not restart.');
      this.#joined = false;
      this.#updateReady();
      this.#options.onFatal?.(error);
    });
    await this.#options.consumer.start((batch, controls) => this.#onBatch(batch, controls));
  }

  /**
   * Stops fetching, delivers and commits what is pending within `deadlineMs`, then leaves the
   * group. Anything not settled by the deadline is left uncommitted and will be read again.
   */
  async stop(deadlineMs: number): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#options.consumer.pause();
    const deadline = setTimeout(() => this.#abort.abort(new Aborted()), deadlineMs);
    try {
      await this.#flush();
    } catch (error) {
      if (!(error instanceof Aborted)) this.#log.error({ err: error }, 'Final flush failed.');
    } finally {
      clearTimeout(deadline);
      this.#abort.abort(new Aborted());
    }
    try {
      await this.#options.consumer.stop();
    } catch (error) {
      this.#log.warn({ err: error }, 'Leaving the consumer group failed.');
    }
    await this.#options.destination.close();
    this.#releaseHeld();
    this.#options.metrics.laneReady.set(this.#labels, 0);
    this.#log.info('Lane stopped.');
  }

  async #checkDestination(): Promise<void> {
    let attempt = 0;
    while (!this.#stopping) {
      attempt += 1;
      try {
        await this.#options.destination.check();
        this.#checked = true;
        this.#updateReady();
        if (attempt > 1) this.#log.info({ attempt }, 'Destination check passed.');
        return;
      } catch (thrown) {
        const error = toFanoutError(thrown);
        const delayMs = backoffDelayMs({ ...this.#options.retry, maxAttempts: null }, attempt, error.retryAfterMs, this.#random);
        const context = { err: error, code: error.code, attempt, delayMs };
        if (error.retryable) this.#log.warn(context, 'Destination check failed; the lane waits and tries again.');
        else this.#log.error(context, 'Destination check failed and needs someone to fix it; the lane waits and tries again.');
        try {
          await this.#sleep(delayMs, false);
        } catch {
          return;
        }
      }
    }
  }

  async #onBatch(batch: InboundBatch, controls: BatchControls): Promise<void> {
    this.#controls = controls;
    const key = partitionKey(batch.topic, batch.partition);
    this.#highWatermark.set(key, BigInt(batch.highWatermark));
    // Taking a message only marks it as fetched (resolveOffset); resolving the last one taken covers
    // the ones before it. Nothing is committed here: commits follow delivery, in #commit.
    let lastTaken: string | undefined;
    try {
      for (const message of batch.messages) {
        if (this.#stopping || !controls.isActive()) return;
        const offset = BigInt(message.offset);
        const next = this.#nextOffset.get(key);
        if (next !== undefined && offset < next) {
          lastTaken = message.offset; // already pending or settled in this lane
          continue;
        }
        if (!this.#tryHold(message.sizeBytes)) await this.#hold(message.sizeBytes);
        this.#received.messages += 1;
        const outcome = await this.#readOnce(message);
        const pending = outcome.ok ? this.#accept(message, outcome) : await this.#retryRead(message, outcome.error);
        if (this.#stopping && this.#abort.signal.aborted) return;
        this.#pending.push(pending);
        this.#pendingBytes += message.sizeBytes;
        this.#pendingRecords += pending.records.length;
        for (const record of pending.records) this.#pendingRecordBytes += record.body.length;
        this.#nextOffset.set(key, offset + 1n);
        lastTaken = message.offset;
        const { maxRecords, maxBytes } = this.#options.batch;
        if (this.#pendingRecords >= maxRecords || this.#pendingRecordBytes >= maxBytes || this.#pendingBytes >= this.#options.laneBudgetBytes) {
          // One flush may run while the next batch is read: writing overlaps with decoding.
          if (this.#flushesRunning > 0) await this.#heartbeatWhile(this.#flushChain);
          this.#flushInBackground();
        } else {
          this.#armLinger();
        }
      }
    } catch (error) {
      if (error instanceof Aborted) return;
      throw error;
    } finally {
      if (lastTaken !== undefined) controls.resolveOffset(lastTaken);
      this.#reportReceived();
    }
  }

  #reportReceived(): void {
    this.#reportBytes();
    const { metrics } = this.#options;
    const { messages, records, filtered } = this.#received;
    if (messages > 0) metrics.messagesReceived.inc(this.#labels, messages);
    if (records > 0) metrics.recordsReceived.inc(this.#connectorLabels, records);
    if (filtered > 0) metrics.recordsFiltered.inc(this.#labels, filtered);
    this.#received = { messages: 0, records: 0, filtered: 0 };
  }

  /** Reserves a message's bytes when both budgets have room now; the common, synchronous case. */
  #tryHold(bytes: number): boolean {
    if (this.#heldBytes > 0 && this.#heldBytes + bytes > this.#options.laneBudgetBytes) return false;
    if (!this.#options.processBudget.tryAcquire(bytes)) return false;
    this.#heldBytes += bytes; // reported with the batch's counts, not per message
    return true;
  }

  /** Reserves a message's bytes in the lane and process budgets, flushing first if full. */
  async #hold(bytes: number): Promise<void> {
    // The lane's budget counts every byte it holds: the pending batch and the one being flushed.
    if (this.#heldBytes > 0 && this.#heldBytes + bytes > this.#options.laneBudgetBytes) await this.#heartbeatWhile(this.#flush());
    const budget = this.#options.processBudget;
    if (!budget.tryAcquire(bytes)) {
      if (this.#pending.length > 0) await this.#heartbeatWhile(this.#flush());
      this.#setPaused('budget', true);
      try {
        await this.#heartbeatWhile(budget.acquire(bytes, this.#abort.signal));
      } finally {
        this.#setPaused('budget', false);
      }
    }
    this.#heldBytes += bytes;
    this.#reportBytes();
  }

  #release(bytes: number): void {
    this.#heldBytes -= bytes;
    this.#options.processBudget.release(bytes);
    this.#reportBytes();
  }

  #releaseHeld(): void {
    if (this.#heldBytes > 0) this.#release(this.#heldBytes);
  }

  #reportBytes(): void {
    this.#options.metrics.inFlightBytes.set(this.#labels, this.#heldBytes);
    this.#options.metrics.processInFlightBytes.set(this.#options.processBudget.used);
  }

  async #readOnce(message: InboundMessage): Promise<MessageOutcome> {
    try {
      return await this.#options.read(message);
    } catch (thrown) {
      return { ok: false, error: toFanoutError(thrown) };
    }
  }

  #accept(message: InboundMessage, outcome: Extract<MessageOutcome, { ok: true }>): PendingMessage {
    if (outcome.filtered) this.#received.filtered += 1;
    this.#received.records += outcome.records.length;
    return { message, records: outcome.records, rejection: null };
  }

  /**
   * After a failed read: retries retryable failures (an s3_payload store that is down) with
   * backoff while the lane is paused, and turns the final failure into a rejection to park.
   */
  async #retryRead(message: InboundMessage, firstError: FanoutError): Promise<PendingMessage> {
    let error = firstError;
    let attempts = 0;
    let firstFailureMs = 0;
    try {
      for (;;) {
        attempts += 1;
        const nowMs = this.#now();
        if (attempts === 1) firstFailureMs = nowMs;
        this.#options.metrics.recordsFailed.inc({ ...this.#connectorLabels, code: error.code });
        if (!error.retryable || !mayRetry(this.#options.retry, attempts)) {
          const exhausted = error.retryable;
          const parked = exhausted ? new FanoutError('retries_exhausted', `Gave up after ${attempts} attempts: ${error.code}: ${error.message}`) : error;
          return { message, records: [], rejection: { error: parked, cause: exhausted ? error : undefined, attempts, firstFailureMs, lastFailureMs: nowMs } };
        }
        const delayMs = backoffDelayMs(this.#options.retry, attempts, error.retryAfterMs, this.#random);
        this.#options.metrics.retries.inc({ ...this.#labels, code: error.code });
        this.#log.warn({ err: error, code: error.code, attempts, delayMs, ...position(message) }, 'Reading a message failed; retrying.');
        await this.#sleep(delayMs, true);
        const outcome = await this.#readOnce(message);
        if (outcome.ok) return this.#accept(message, outcome);
        error = outcome.error;
      }
    } finally {
      this.#setPaused('retry', false);
    }
  }

  #armLinger(): void {
    if (this.#lingerTimer !== undefined || this.#pending.length === 0) return;
    this.#lingerTimer = setTimeout(() => {
      this.#lingerTimer = undefined;
      this.#flushInBackground();
    }, this.#options.batch.lingerMs);
  }

  #flushInBackground(): void {
    this.#flush().catch((error: unknown) => {
      if (!(error instanceof Aborted)) this.#log.error({ err: error }, 'Flush failed.');
    });
  }

  /**
   * Settles everything pending now. Serialized: a flush starts after the previous one finished,
   * so records go out and offsets are committed in order.
   */
  #flush(): Promise<void> {
    this.#flushesRunning += 1;
    const run = this.#flushChain.then(() => this.#flushNow());
    this.#flushChain = run.catch(() => undefined).finally(() => {
      this.#flushesRunning -= 1;
    });
    return run;
  }

  async #flushNow(): Promise<void> {
    if (this.#lingerTimer !== undefined) {
      clearTimeout(this.#lingerTimer);
      this.#lingerTimer = undefined;
    }
    const taken = this.#pending;
    if (taken.length === 0) return;
    const takenBytes = this.#pendingBytes;
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#pendingRecords = 0;
    this.#pendingRecordBytes = 0;
    try {
      const parked: DeadLetterInput[] = [];
      for (const pending of taken) {
        if (pending.rejection !== null) parked.push(this.#deadLetterInput(pending.message, pending.rejection.error, pending.rejection));
      }
      const entries: Attempted[] = [];
      for (const pending of taken) {
        for (const record of pending.records) entries.push({ record, message: pending.message, attempts: 0, firstFailureMs: 0, lastFailureMs: 0, lastError: null });
      }
      for (const chunk of this.#chunks(entries)) parked.push(...(await this.#deliver(chunk)));
      if (parked.length > 0) await this.#park(parked);
      await this.#commit(taken);
    } finally {
      this.#release(takenBytes);
    }
  }

  *#chunks(entries: Attempted[]): Generator<Attempted[]> {
    const { maxRecords, maxBytes } = this.#options.batch;
    let chunk: Attempted[] = [];
    let bytes = 0;
    for (const entry of entries) {
      if (chunk.length > 0 && (chunk.length >= maxRecords || bytes + entry.record.body.length > maxBytes)) {
        yield chunk;
        chunk = [];
        bytes = 0;
      }
      chunk.push(entry);
      bytes += entry.record.body.length;
    }
    if (chunk.length > 0) yield chunk;
  }

  /** Sends a chunk until every record is delivered or must be parked; returns the parked ones. */
  async #deliver(chunk: Attempted[]): Promise<DeadLetterInput[]> {
    const { metrics } = this.#options;
    const parked: DeadLetterInput[] = [];
    let remaining = chunk;
    try {
      while (remaining.length > 0) {
        const outcomes = await this.#send(remaining.map((entry) => entry.record));
        const retry: Attempted[] = [];
        let delivered = 0;
        const nowMs = this.#now();
        for (const [index, entry] of remaining.entries()) {
          const outcome = outcomes[index] ?? { ok: false as const, error: new FanoutError('internal_error', 'The destination returned fewer outcomes than records.') };
          if (outcome.ok) {
            delivered += 1;
            continue;
          }
          const error = outcome.error;
          entry.attempts += 1;
          if (entry.attempts === 1) entry.firstFailureMs = nowMs;
          entry.lastFailureMs = nowMs;
          entry.lastError = error;
          metrics.recordsFailed.inc({ ...this.#connectorLabels, code: error.code });
          if (error.retryable && mayRetry(this.#options.retry, entry.attempts)) {
            retry.push(entry);
            metrics.retries.inc({ ...this.#labels, code: error.code });
          } else if (error.retryable) {
            const exhausted = new FanoutError('retries_exhausted', `Gave up after ${entry.attempts} attempts: ${error.code}: ${error.message}`);
            parked.push(this.#deadLetterInput(entry.message, exhausted, { ...entry, cause: error }, entry.record));
          } else {
            if (error.code === 'internal_error') this.#log.error({ err: error, identity: entry.record.identity }, 'A programming error failed a record; it is parked.');
            parked.push(this.#deadLetterInput(entry.message, error, entry, entry.record));
          }
        }
        if (delivered > 0) metrics.recordsDelivered.inc(this.#connectorLabels, delivered);
        if (retry.length === 0) break;
        const attempts = Math.max(...retry.map((entry) => entry.attempts));
        const retryAfterMs = Math.max(0, ...retry.map((entry) => entry.lastError?.retryAfterMs ?? 0));
        const delayMs = backoffDelayMs(this.#options.retry, attempts, retryAfterMs, this.#random);
        const first = retry[0]?.lastError;
        this.#log.warn({ code: first?.code, err: first, failed: retry.length, attempts, delayMs }, 'Destination failed; the lane pauses and retries.');
        await this.#sleep(delayMs, true);
        remaining = retry;
      }
    } finally {
      this.#setPaused('retry', false);
    }
    return parked;
  }

  async #send(records: TerraRecord[]): Promise<RecordOutcome[]> {
    const { metrics, destination } = this.#options;
    metrics.batchSize.observe(this.#connectorLabels, records.length);
    const started = process.hrtime.bigint();
    let outcomes: RecordOutcome[];
    try {
      outcomes = await destination.send(records, this.#abort.signal);
    } catch (thrown) {
      if (this.#abort.signal.aborted) throw new Aborted();
      const error = toFanoutError(thrown);
      outcomes = records.map(() => ({ ok: false as const, error }));
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const failed = outcomes.some((outcome) => !outcome.ok);
    metrics.sendDuration.observe({ ...this.#connectorLabels, outcome: failed ? 'failed' : 'ok' }, seconds);
    return outcomes;
  }

  #deadLetterInput(
    message: InboundMessage,
    error: FanoutError,
    failure: { attempts: number; firstFailureMs: number; lastFailureMs: number; cause?: FanoutError | undefined },
    record?: TerraRecord,
  ): DeadLetterInput {
    return {
      message,
      error,
      cause: failure.cause,
      attempts: failure.attempts,
      firstFailureMs: failure.firstFailureMs,
      lastFailureMs: failure.lastFailureMs,
      tenant: this.#options.tenant,
      destination: this.#options.destinationName,
      connector: this.#options.connectorType,
      record: record === undefined ? undefined : { identity: record.identity, type: record.type, itemIndex: record.itemIndex },
    };
  }

  /** Produces dead letters; retries until the dead-letter topic takes them (nothing is dropped). */
  async #park(inputs: DeadLetterInput[]): Promise<void> {
    const messages = inputs.map(buildDeadLetter);
    let attempt = 0;
    for (;;) {
      try {
        await this.#options.deadLetters.send(this.#options.deadLetterTopic, messages);
        break;
      } catch (thrown) {
        attempt += 1;
        const error = new FanoutError('dead_letter_unavailable', `Producing to the dead-letter topic failed: ${thrown instanceof Error ? thrown.message : String(thrown)}`);
        const delayMs = backoffDelayMs({ ...this.#options.retry, maxAttempts: null }, attempt, undefined, this.#random);
        this.#log.error({ err: error, code: error.code, attempt, delayMs, count: messages.length }, 'Dead-letter topic unavailable; the lane waits and retries.');
        try {
          await this.#sleep(delayMs, true);
        } finally {
          this.#setPaused('retry', false);
        }
      }
    }
    for (const input of inputs) {
      this.#options.metrics.recordsDeadLettered.inc({ ...this.#labels, code: input.error.code });
      this.#log.warn(
        { code: input.error.code, err: input.error, attempts: input.attempts, identity: input.record?.identity, type: input.record?.type, ...position(input.message) },
        'Parked in the dead-letter topic.',
      );
    }
  }

  async #commit(settled: readonly PendingMessage[]): Promise<void> {
    const highest = new Map<string, { topic: string; partition: number; offset: bigint }>();
    for (const { message } of settled) {
      const key = partitionKey(message.topic, message.partition);
      const offset = BigInt(message.offset);
      const seen = highest.get(key);
      if (seen === undefined || offset > seen.offset) highest.set(key, { topic: message.topic, partition: message.partition, offset });
    }
    const offsets: CommitOffset[] = [...highest.values()].map(({ topic, partition, offset }) => ({ topic, partition, offset: String(offset + 1n) }));
    try {
      await this.#options.consumer.commit(offsets);
      this.#options.metrics.commits.inc(this.#labels);
      for (const { topic, partition, offset } of offsets) {
        const highWatermark = this.#highWatermark.get(partitionKey(topic, partition));
        if (highWatermark !== undefined) {
          const lag = highWatermark - BigInt(offset);
          this.#options.metrics.laneLag.set({ ...this.#labels, topic, partition: String(partition) }, Number(lag > 0n ? lag : 0n));
        }
      }
    } catch (error) {
      // Nothing is lost: the records are delivered, and whoever owns the partition next reads them again.
      this.#log.warn({ err: error, offsets }, 'Committing offsets failed (likely a rebalance); the records may be delivered again.');
    }
  }

  /**
   * Awaits `work` (a flush, budget room) from inside the consumer's batch handler while
   * heartbeating the group every second: a destination slower than the session timeout must not
   * cost the lane its partitions (a rebalance would redeliver what is being written).
   */
  async #heartbeatWhile<T>(work: Promise<T>): Promise<T> {
    const timer = setInterval(() => {
      void this.#controls?.heartbeat().catch(() => undefined);
    }, HEARTBEAT_WHILE_WAITING_MS);
    try {
      return await work;
    } finally {
      clearInterval(timer);
    }
  }

  /** Waits, heartbeating the group; with `paused`, the lane stops fetching meanwhile. Throws Aborted on stop. */
  async #sleep(ms: number, paused: boolean): Promise<void> {
    if (paused) this.#setPaused('retry', true);
    const signal = this.#abort.signal;
    const until = this.#now() + ms;
    while (this.#now() < until) {
      if (signal.aborted) throw new Aborted();
      const slice = Math.min(1000, until - this.#now());
      await new Promise<void>((resolve) => {
        const onAbort = (): void => {
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        }, Math.max(0, slice));
        signal.addEventListener('abort', onAbort, { once: true });
      });
      await this.#controls?.heartbeat().catch(() => undefined);
    }
    if (signal.aborted) throw new Aborted();
  }

  #setPaused(reason: string, paused: boolean): void {
    const was = this.#pausedReasons.size > 0;
    if (paused) this.#pausedReasons.add(reason);
    else this.#pausedReasons.delete(reason);
    const is = this.#pausedReasons.size > 0;
    if (was === is) return;
    this.#options.metrics.lanePaused.set(this.#labels, is ? 1 : 0);
    if (is) this.#options.consumer.pause();
    else if (!this.#stopping) this.#options.consumer.resume();
  }

  #updateReady(): void {
    this.#options.metrics.laneReady.set(this.#labels, this.ready ? 1 : 0);
  }
}

function position(message: InboundMessage): { topic: string; partition: number; offset: string } {
  return { topic: message.topic, partition: message.partition, offset: message.offset };
}
