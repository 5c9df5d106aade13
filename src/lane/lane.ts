import type { Logger } from 'pino';
import type { Destination } from '../connector/contract.js';
import { FanoutError, toFanoutError } from '../errors/catalogue.js';
import type { BatchControls, CommitOffset, InboundBatch, InboundMessage, LaneConsumer, MessageProducer, PartitionAssignment } from '../kafka/kafka-client.js';
import type { Metrics } from '../observability/metrics.js';
import { estimateDecodedBytes, type DecodedMessage, type TenantDecoder } from '../pipeline/tenant-decoder.js';
import { selectRecords, type DestinationFilter, type FilterReason, type Selection } from '../pipeline/read-message.js';
import type { TerraRecord } from '../records/record.js';
import type { LaneState, LaneStatus, PartitionLag, TapSink } from '../worker/worker-control.js';
import type { ByteBudget } from './byte-budget.js';
import { buildDeadLetter, type DeadLetterInput } from './dead-letter.js';
import { DeliveryAborted, deadLetterFor, deliverWithRetry, deliveryEntry, type DeliveryEntry, type DeliveryOptions } from './delivery.js';
import { largeReleases } from './large-release.js';
import { LaneHealth } from './lane-health.js';
import { bindLaneMetrics, type LaneMetrics } from './lane-metrics.js';
import { PartitionState, partitionKey, type HeldMessage } from './partition-state.js';
import { backoffDelayMs, mayRetry, type RetryPolicy } from './retry-policy.js';

/**
 * How a lane turns messages into what it delivers. `select` is synchronous (the decode is shared
 * by the tenant's lanes); `resolve` follows an `s3_payload` pointer when `select` asked for a fetch.
 */
export interface LaneReader {
  select(message: InboundMessage): Selection;
  resolve(message: InboundMessage): Promise<Selection>;
}

/** The reader of a lane over its tenant's shared decoder. */
export function tenantLaneReader(decoder: TenantDecoder, filter: DestinationFilter): LaneReader {
  return {
    select: (message) => selectRecords(decoder.decode(message), filter),
    resolve: async (message) => {
      const decoded: DecodedMessage = decoder.decode(message);
      return selectRecords(decoded.pointer === null ? decoded : await decoder.resolve(message, decoded), filter);
    },
  };
}

export interface BatchSettings {
  maxRecords: number;
  maxBytes: number;
  lingerMs: number;
}

export interface LaneOptions {
  tenant: string;
  destinationName: string;
  connectorType: string;
  /** The lane's consumer group, for status. */
  groupId: string;
  destination: Destination;
  consumer: LaneConsumer;
  deadLetters: MessageProducer;
  deadLetterTopic: string;
  reader: LaneReader;
  batch: BatchSettings;
  retry: RetryPolicy;
  /** How long a retryable `s3_payload` fetch failure is retried before the message is parked. */
  pointerMaxRetryMs: number;
  /** Bytes this lane may hold (messages and their decoded estimate) before it must flush. */
  laneBudgetBytes: number;
  processBudget: ByteBudget;
  metrics: Metrics;
  logger: Logger;
  /** Where a delivered record landed, for tap (the connector's locate()). */
  locate?: (record: TerraRecord) => string;
  tap?: TapSink;
  /** A lane with work that makes no progress this long logs one warning. Default 60 s. */
  stallWarningMs?: number;
  /** How often a lane with work logs a progress line. Default 60 s; 0 turns it off. */
  progressIntervalMs?: number;
  /** The lane starts paused by an operator (the pause survived a reload or restart). */
  pausedBy?: { by: string; atMs: number } | undefined;
  /** Called once when the lane cannot go on (its consumer crashed and will not restart). */
  onFatal?: (error: Error) => void;
  now?: () => number;
  random?: () => number;
}

interface Rejection {
  error: FanoutError;
  cause?: FanoutError | undefined;
  attempts: number;
  firstFailureMs: number;
  lastFailureMs: number;
}

/** A taken message waiting for the next flush: its records, or why it is parked. */
interface PendingMessage {
  message: InboundMessage;
  bytes: number;
  records: readonly TerraRecord[];
  rejection: Rejection | null;
}

/** How often a lane heartbeats its group while its batch handler waits for a flush or budget. */
const HEARTBEAT_WHILE_WAITING_MS = 1_000;

class Aborted extends Error {
  constructor() {
    super('lane stopping');
  }
}

const filterReasons: readonly FilterReason[] = ['event_type', 'provider', 'format', 'empty'];

/**
 * One (tenant, destination) lane: its own consumer group, batches, retries, dead letters and
 * offsets. The class is the conductor; the jobs live beside it: decoding is shared per tenant
 * (TenantDecoder, read through `reader`), per-partition intake in PartitionState, delivery with
 * retry in delivery.ts, health (stalls, progress) in LaneHealth.
 *
 * Flow per message: take (budget, offset order per partition) → select (filter on the envelope
 * type first, then decode verdict, records, provider filter) → pending → flush (send in chunks,
 * retry retryable failures with backoff while paused, park the rest) → commit per partition.
 * An `s3_payload` pointer is fetched without blocking the batch handler: its partition waits (and
 * is paused in Kafka while the fetch is retried, at most `pointerMaxRetryMs`), the others flow.
 *
 * Delivery guarantee: an offset is committed only after every record of every message up to it
 * was delivered or parked. Flushes are serialized, so records of a partition go out in offset order.
 */
export class Lane {
  readonly name: string;
  readonly #options: LaneOptions;
  readonly #log: Logger;
  readonly #metrics: LaneMetrics;
  readonly #health: LaneHealth;
  readonly #abort = new AbortController();
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #delivery: DeliveryOptions;

  readonly #partitions = new Map<string, PartitionState>();
  #assignment: readonly PartitionAssignment[] = [];
  #pending: PendingMessage[] = [];
  #pendingBytes = 0;
  #pendingRecords = 0;
  #pendingRecordBytes = 0;
  /** Messages of the flush in progress (for the age of the oldest uncommitted message). */
  #flushing: readonly PendingMessage[] = [];
  #heldBytes = 0;
  #lingerTimer: NodeJS.Timeout | undefined;
  #flushChain: Promise<void> = Promise.resolve();
  #flushesRunning = 0;
  #controls: BatchControls | undefined;
  #pausedForRetry = false;
  /**
   * Set from a chunk's first retryable failure until the chunk is delivered or parked: the lane is
   * stalled on its destination the whole time, during each attempt as well as between them.
   */
  #retryingDelivery = false;
  #pausedForBudget = false;
  #operatorPause: { by: string; atMs: number } | null;
  #operatorResumed: { promise: Promise<void>; resolve: () => void } | null = null;
  #state: LaneState = 'checking';
  #stopping = false;
  #checked = false;
  #joined = false;
  #lag: { messages: number; seconds: number; partitions: PartitionLag[] } = { messages: 0, seconds: 0, partitions: [] };
  #totals = { delivered: 0, parked: 0 };
  #lastProgressLog = { atMs: 0, delivered: 0, parked: 0 };
  #lastDeliveryMs: number | null = null;
  #lastErrorCode: string | null = null;
  /** Counted per message, reported once per fetched batch (prom-client label hashing is not free). */
  #counts = { messages: 0, records: 0, filtered: new Map<FilterReason, number>() };

  constructor(options: LaneOptions) {
    this.#options = options;
    this.name = `${options.tenant}/${options.destinationName}`;
    this.#log = options.logger.child({ tenant: options.tenant, destination: options.destinationName, lane: this.name, connector: options.connectorType });
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
    this.#metrics = bindLaneMetrics(options.metrics, options.tenant, options.destinationName, options.connectorType);
    this.#health = new LaneHealth(this.#metrics, this.#log, this.#now, options.stallWarningMs ?? 60_000);
    this.#operatorPause = options.pausedBy ?? null;
    if (this.#operatorPause !== null) this.#metrics.paused.set(1);
    this.#delivery = {
      tenant: options.tenant,
      destinationName: options.destinationName,
      connectorType: options.connectorType,
      destination: options.destination,
      retry: options.retry,
      metrics: this.#metrics,
      logger: this.#log,
      signal: this.#abort.signal,
      waitBeforeRetry: (delayMs, error) => this.#waitBeforeRetry(delayMs, error),
      onDelivered: (entries) => this.#onDelivered(entries),
      now: this.#now,
      random: this.#random,
    };
  }

  get ready(): boolean {
    return this.#checked && this.#joined;
  }

  get pausedByOperator(): { by: string; atMs: number } | null {
    return this.#operatorPause;
  }

  /** Checks the destination (retrying until it passes), then joins the group and consumes until stop(). */
  async start(): Promise<void> {
    await this.#checkDestination();
    if (this.#stopping) return;
    this.#state = this.#operatorPause === null ? 'running' : 'paused';
    this.#options.consumer.onJoined((assignment) => this.#onAssigned(assignment));
    this.#options.consumer.onCrash((error) => {
      this.#log.error({ err: error }, 'Lane consumer crashed and will not restart.');
      this.#joined = false;
      this.#updateReady();
      this.#options.onFatal?.(error);
    });
    await this.#options.consumer.start((batch, controls) => this.#onBatch(batch, controls));
    this.#applyPause();
  }

  /**
   * Stops fetching, delivers and commits what is pending within `deadlineMs`, then leaves the
   * group. Anything not settled by the deadline is left uncommitted and will be read again.
   */
  async stop(deadlineMs: number): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#state = 'stopping';
    this.#applyPause();
    const deadline = setTimeout(() => this.#abort.abort(new Aborted()), deadlineMs);
    try {
      // An operator-paused lane sends nothing, not even at shutdown: what it holds is read again later.
      if (this.#operatorPause === null) await this.#flush();
    } catch (error) {
      if (!(error instanceof Aborted) && !(error instanceof DeliveryAborted)) this.#log.error({ err: error }, 'Final flush failed.');
    } finally {
      clearTimeout(deadline);
      this.#abort.abort(new Aborted());
      this.#operatorResumed?.resolve();
    }
    try {
      await this.#options.consumer.stop();
    } catch (error) {
      this.#log.warn({ err: error }, 'Leaving the consumer group failed.');
    }
    try {
      await this.#options.destination.close();
    } catch (error) {
      this.#log.warn({ err: error }, 'Closing the destination failed.');
    }
    this.#releaseHeld();
    this.#joined = false;
    this.#updateReady();
    this.#state = 'stopped';
    this.#log.info({ delivered: this.#totals.delivered, parked: this.#totals.parked }, 'Lane stopped.');
  }

  /** Removes the lane's metric series (a reload removed it for good). Call after stop(). */
  forgetMetrics(): void {
    this.#metrics.remove();
  }

  /** Operator pause: stop fetching and sending until resume(); what is held stays uncommitted. */
  pause(by: string): void {
    if (this.#operatorPause !== null || this.#stopping) return;
    this.#operatorPause = { by, atMs: this.#now() };
    this.#metrics.paused.set(1);
    if (this.#state === 'running' || this.#state === 'retrying') this.#state = 'paused';
    this.#applyPause();
    this.#log.info({ by }, 'Lane paused by an operator.');
  }

  resume(by: string): void {
    if (this.#operatorPause === null) return;
    this.#operatorPause = null;
    this.#metrics.paused.set(0);
    if (this.#state === 'paused') this.#state = this.#checked ? 'running' : 'checking';
    this.#applyPause();
    this.#operatorResumed?.resolve();
    this.#operatorResumed = null;
    this.#log.info({ by }, 'Lane resumed by an operator.');
    if (this.#pending.length > 0) this.#flushInBackground();
  }

  status(): LaneStatus {
    const stalled = this.#health.stalled;
    const options = this.#options;
    let state = this.#state;
    if (state === 'running' && (this.#health.isHeld('destination_unavailable') || this.#health.isHeld('pointer_retry') || this.#health.isHeld('dead_letter_unavailable'))) state = 'retrying';
    return {
      tenant: options.tenant,
      destination: options.destinationName,
      connector: options.connectorType,
      group: options.groupId,
      state,
      ready: this.ready,
      stalled: stalled === null ? null : { reason: stalled.reason, since: new Date(stalled.sinceMs).toISOString() },
      pausedByOperator: this.#operatorPause === null ? null : { by: this.#operatorPause.by, at: new Date(this.#operatorPause.atMs).toISOString() },
      lag: this.#lag,
      lastDeliveryAt: this.#lastDeliveryMs === null ? null : new Date(this.#lastDeliveryMs).toISOString(),
      lastErrorCode: this.#lastErrorCode,
      delivered: this.#totals.delivered,
      parked: this.#totals.parked,
    };
  }

  /** The partitions this process holds for the lane (from the last group join). */
  get assignment(): readonly PartitionAssignment[] {
    return this.#assignment;
  }

  /**
   * Called by the worker's timer with the brokers' offsets: refreshes lag (messages and seconds)
   * for every assigned partition, warns about a lane with work that is not progressing, and logs
   * a progress line every `progressIntervalMs`.
   */
  tick(offsets: { high: ReadonlyMap<string, bigint>; low: ReadonlyMap<string, bigint>; committed: ReadonlyMap<string, bigint> }): void {
    const nowMs = this.#now();
    const oldest = this.#oldestUncommitted();
    const partitions: PartitionLag[] = [];
    let totalMessages = 0;
    let maxSeconds = 0;
    for (const { topic, partitions: numbers } of this.#assignment) {
      for (const number of numbers) {
        const key = partitionKey(topic, number);
        const state = this.#partition(topic, number);
        const high = offsets.high.get(key) ?? state.highWatermark;
        if (high === null) continue;
        if (state.highWatermark === null || high > state.highWatermark) state.highWatermark = high;
        const fromGroup = offsets.committed.get(key);
        let committed = state.committed;
        if (fromGroup !== undefined && fromGroup >= 0n && (committed === null || fromGroup > committed)) committed = fromGroup;
        if (committed === null) committed = offsets.low.get(key) ?? high;
        const messages = Number(high > committed ? high - committed : 0n);
        const oldestMs = oldest.get(key);
        if (messages === 0 && oldestMs === undefined) state.lastCaughtUpMs = nowMs;
        const seconds = messages === 0 ? 0 : Math.max(0, (nowMs - (oldestMs ?? state.lastCaughtUpMs)) / 1000);
        this.#metrics.lag(topic, number, messages, seconds);
        partitions.push({ topic, partition: number, messages, seconds });
        totalMessages += messages;
        maxSeconds = Math.max(maxSeconds, seconds);
      }
    }
    this.#lag = { messages: totalMessages, seconds: maxSeconds, partitions };
    const hasWork = totalMessages > 0 || this.#pending.length > 0 || this.#flushing.length > 0;
    if (this.#operatorPause === null && this.#checked) this.#health.check(hasWork, { messages: totalMessages, seconds: maxSeconds });
    this.#logProgress(nowMs, hasWork);
  }

  #logProgress(nowMs: number, hasWork: boolean): void {
    const interval = this.#options.progressIntervalMs ?? 60_000;
    if (interval <= 0 || nowMs - this.#lastProgressLog.atMs < interval) return;
    const delivered = this.#totals.delivered - this.#lastProgressLog.delivered;
    const parked = this.#totals.parked - this.#lastProgressLog.parked;
    if (delivered > 0 || parked > 0 || hasWork) {
      this.#log.info({ delivered, parked, lagMessages: this.#lag.messages, lagSeconds: Math.round(this.#lag.seconds), intervalMs: interval, stalled: this.#health.stalled?.reason }, 'Lane progress.');
    }
    this.#lastProgressLog = { atMs: nowMs, delivered: this.#totals.delivered, parked: this.#totals.parked };
  }

  /** Timestamp of the oldest message taken but not committed, per partition. */
  #oldestUncommitted(): Map<string, number> {
    const oldest = new Map<string, number>();
    const see = (message: InboundMessage): void => {
      const key = partitionKey(message.topic, message.partition);
      const known = oldest.get(key);
      if (known === undefined || message.timestampMs < known) oldest.set(key, message.timestampMs);
    };
    for (const pending of this.#flushing) see(pending.message);
    for (const pending of this.#pending) see(pending.message);
    for (const state of this.#partitions.values()) {
      if (state.fetching !== null) see(state.fetching.message);
      for (const held of state.backlog) see(held.message);
    }
    return oldest;
  }

  async #checkDestination(): Promise<void> {
    let attempt = 0;
    while (!this.#stopping) {
      attempt += 1;
      try {
        await this.#options.destination.check();
        this.#checked = true;
        this.#health.release('check_failed');
        this.#updateReady();
        if (attempt > 1) this.#log.info({ attempt }, 'Destination check passed.');
        return;
      } catch (thrown) {
        const error = toFanoutError(thrown);
        this.#lastErrorCode = error.code;
        if (attempt === 1) this.#health.hold('check_failed');
        const delayMs = backoffDelayMs({ ...this.#options.retry, maxAttempts: null }, attempt, error.retryAfterMs, this.#random);
        const context = { err: error, code: error.code, attempt, delayMs };
        if (error.retryable) this.#log.warn(context, 'Destination check failed; the lane waits and tries again.');
        else this.#log.error(context, 'Destination check failed and needs someone to fix it; the lane waits and tries again.');
        try {
          await this.#sleep(delayMs);
        } catch {
          return;
        }
      }
    }
  }

  #onAssigned(assignment: readonly PartitionAssignment[]): void {
    this.#assignment = assignment;
    const assigned = new Set<string>();
    for (const { topic, partitions } of assignment) for (const partition of partitions) assigned.add(partitionKey(topic, partition));
    for (const [key, state] of this.#partitions) {
      if (assigned.has(key)) continue;
      // Revoked: what waits for a pointer is abandoned (the next owner reads it again), and this
      // lane must read it again too if the partition comes back.
      state.assigned = false;
      const first = state.fetching ?? state.backlog[0];
      if (first !== undefined) state.nextOffset = BigInt(first.message.offset);
      let released = state.fetching?.bytes ?? 0;
      for (const held of state.backlog) released += held.bytes;
      state.backlog.length = 0;
      state.fetching = null;
      if (state.pausedForRetry) this.#health.release('pointer_retry');
      state.pausedForRetry = false;
      this.#release(released);
      this.#metrics.dropLag(state.topic, state.partition);
      this.#partitions.delete(key);
    }
    this.#joined = true;
    this.#updateReady();
    this.#applyPause();
    this.#log.info({ assignment }, 'Lane joined its consumer group.');
  }

  #partition(topic: string, partition: number): PartitionState {
    const key = partitionKey(topic, partition);
    let state = this.#partitions.get(key);
    if (state === undefined) {
      state = new PartitionState(topic, partition, this.#now());
      this.#partitions.set(key, state);
    }
    return state;
  }

  async #onBatch(batch: InboundBatch, controls: BatchControls): Promise<void> {
    this.#controls = controls;
    const part = this.#partition(batch.topic, batch.partition);
    part.assigned = true;
    const high = BigInt(batch.highWatermark);
    if (part.highWatermark === null || high > part.highWatermark) part.highWatermark = high;
    // Taking a message only marks it as fetched (resolveOffset); resolving the last one taken covers
    // the ones before it. Nothing is committed here: commits follow delivery, in #commit.
    let lastTaken: string | undefined;
    // Offsets rise within a batch: once one message is new to this lane, so are the rest.
    let fresh = part.nextOffset === null;
    try {
      for (const message of batch.messages) {
        if (this.#stopping || !controls.isActive()) break;
        if (!fresh) {
          if (BigInt(message.offset) < (part.nextOffset ?? 0n)) {
            lastTaken = message.offset; // already taken by this lane
            continue;
          }
          fresh = true;
        }
        const bytes = message.sizeBytes + estimateDecodedBytes(message.value?.length ?? 0);
        if (!this.#tryHold(bytes)) await this.#hold(bytes);
        part.nextOffset = null; // set from the last message taken, below
        lastTaken = message.offset;
        this.#counts.messages += 1;
        const held: HeldMessage = { message, bytes };
        if (part.blocked) part.backlog.push(held);
        else if (this.#take(part, held) && this.#full()) {
          // One flush may run while the next messages are read: writing overlaps with decoding.
          if (this.#flushesRunning > 0) await this.#heartbeatWhile(this.#flushChain);
          this.#flushInBackground();
        }
      }
    } catch (error) {
      if (!(error instanceof Aborted)) throw error;
    } finally {
      if (lastTaken !== undefined) {
        const next = BigInt(lastTaken) + 1n;
        if (part.nextOffset === null || next > part.nextOffset) part.nextOffset = next;
        controls.resolveOffset(lastTaken);
      }
      this.#reportCounts();
    }
    if (!this.#full()) this.#armLinger();
  }

  /** Selects a message's records; a pointer starts its fetch and blocks the partition. True when accepted now. */
  #take(part: PartitionState, held: HeldMessage): boolean {
    let selection: Selection;
    try {
      selection = this.#options.reader.select(held.message);
    } catch (error) {
      selection = { kind: 'rejected', error: toFanoutError(error) };
    }
    if (selection.kind === 'fetch') {
      part.fetching = held;
      void this.#fetchPointer(part, held);
      return false;
    }
    this.#accept(held, selection, null);
    return true;
  }

  #accept(held: HeldMessage, selection: Exclude<Selection, { kind: 'fetch' }>, failure: Omit<Rejection, 'error'> | null): void {
    const { message, bytes } = held;
    let records: readonly TerraRecord[] = [];
    let rejection: Rejection | null = null;
    if (selection.kind === 'records') {
      records = selection.records;
      this.#counts.records += records.length;
      if (selection.dropped > 0) this.#metrics.recordsFiltered('provider', selection.dropped);
      for (const record of records) this.#pendingRecordBytes += record.body.length;
    } else if (selection.kind === 'filtered') {
      this.#counts.filtered.set(selection.reason, (this.#counts.filtered.get(selection.reason) ?? 0) + 1);
      this.#publishFiltered(message);
    } else {
      const nowMs = this.#now();
      rejection = { error: selection.error, ...(failure ?? { attempts: 1, firstFailureMs: nowMs, lastFailureMs: nowMs }) };
      this.#metrics.messageRejected(selection.error.code);
    }
    this.#pending.push({ message, bytes, records, rejection });
    this.#pendingBytes += bytes;
    this.#pendingRecords += records.length;
  }

  #full(): boolean {
    const { maxRecords, maxBytes } = this.#options.batch;
    return this.#pendingRecords >= maxRecords || this.#pendingRecordBytes >= maxBytes || this.#pendingBytes >= this.#options.laneBudgetBytes;
  }

  /**
   * Fetches a pointer's event without blocking the batch handler. A retryable failure is retried
   * with the lane's backoff while this partition alone is paused, until `pointerMaxRetryMs` (then
   * `s3_payload_unavailable` is parked) or the retry policy's maxAttempts (`retries_exhausted`).
   * Then the partition's backlog is taken in order.
   */
  async #fetchPointer(part: PartitionState, held: HeldMessage): Promise<void> {
    let attempts = 0;
    let firstFailureMs = 0;
    let retrying = false;
    try {
      for (;;) {
        let selection: Selection;
        try {
          selection = await this.#options.reader.resolve(held.message);
        } catch (error) {
          selection = { kind: 'rejected', error: toFanoutError(error) };
        }
        if (this.#stopping || !part.assigned || part.fetching !== held) return;
        if (selection.kind === 'fetch') selection = { kind: 'rejected', error: new FanoutError('internal_error', 'A resolved s3_payload asked for another fetch.') };
        if (selection.kind === 'rejected' && selection.error.retryable) {
          const nowMs = this.#now();
          attempts += 1;
          if (attempts === 1) firstFailureMs = nowMs;
          const error = selection.error;
          this.#lastErrorCode = error.code;
          const elapsedMs = nowMs - firstFailureMs;
          const maxRetryMs = this.#options.pointerMaxRetryMs;
          if (elapsedMs >= maxRetryMs || !mayRetry(this.#options.retry, attempts)) {
            const parked =
              elapsedMs >= maxRetryMs
                ? new FanoutError('s3_payload_unavailable', `Gave up on the s3_payload after ${attempts} attempts over ${elapsedMs} ms (s3Payload.maxRetryMs ${maxRetryMs}): ${error.message}`, { detail: error.detail, cause: error })
                : new FanoutError('retries_exhausted', `Gave up after ${attempts} attempts: ${error.code}: ${error.message}`);
            this.#accept(held, { kind: 'rejected', error: parked }, { cause: parked.code === 'retries_exhausted' ? error : undefined, attempts, firstFailureMs, lastFailureMs: nowMs });
            break;
          }
          if (!retrying) {
            retrying = true;
            part.pausedForRetry = true;
            this.#health.hold('pointer_retry');
            this.#applyPause();
          }
          this.#metrics.retry(error.code);
          const delayMs = Math.min(backoffDelayMs(this.#options.retry, attempts, error.retryAfterMs, this.#random), Math.max(0, maxRetryMs - elapsedMs));
          this.#log.warn({ err: error, code: error.code, attempts, delayMs, ...position(held.message) }, 'Fetching an s3_payload failed; its partition waits and retries, the others go on.');
          await this.#sleep(delayMs);
          if (this.#stopping || !part.assigned || part.fetching !== held) return;
          continue;
        }
        this.#accept(held, selection, attempts === 0 ? null : { attempts, firstFailureMs, lastFailureMs: this.#now() });
        break;
      }
    } catch (error) {
      if (!(error instanceof Aborted)) this.#log.error({ err: error, ...position(held.message) }, 'Fetching an s3_payload failed unexpectedly.');
      return;
    } finally {
      if (retrying) {
        this.#health.release('pointer_retry');
        part.pausedForRetry = false;
      }
    }
    part.fetching = null;
    // The partition's later messages, in order, until one of them needs a fetch of its own.
    while (part.fetching === null && part.backlog.length > 0) {
      const next = part.backlog.shift();
      if (next !== undefined) this.#take(part, next);
    }
    this.#applyPause();
    this.#reportCounts();
    if (this.#full()) this.#flushInBackground();
    else this.#armLinger();
  }

  #reportCounts(): void {
    this.#reportBytes();
    const counts = this.#counts;
    if (counts.messages > 0) this.#metrics.messagesReceived.inc(counts.messages);
    if (counts.records > 0) this.#metrics.recordsReceived.inc(counts.records);
    if (counts.filtered.size > 0) {
      for (const reason of filterReasons) {
        const count = counts.filtered.get(reason);
        if (count !== undefined) this.#metrics.messagesFiltered(reason, count);
      }
      counts.filtered.clear();
    }
    counts.messages = 0;
    counts.records = 0;
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
      if (!budget.tryAcquire(bytes)) {
        this.#pausedForBudget = true;
        this.#health.hold('budget');
        this.#applyPause();
        try {
          await this.#heartbeatWhile(budget.acquire(bytes, this.#abort.signal));
        } finally {
          this.#pausedForBudget = false;
          this.#health.release('budget');
          this.#applyPause();
        }
      }
    }
    this.#heldBytes += bytes;
    this.#reportBytes();
  }

  #release(bytes: number): void {
    if (bytes <= 0) return;
    this.#heldBytes -= bytes;
    this.#options.processBudget.release(bytes);
    this.#reportBytes();
  }

  #releaseHeld(): void {
    if (this.#heldBytes > 0) this.#release(this.#heldBytes);
  }

  #reportBytes(): void {
    this.#metrics.inFlightBytes.set(this.#heldBytes);
    this.#options.metrics.processInFlightBytes.set(this.#options.processBudget.used);
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
      if (!(error instanceof Aborted) && !(error instanceof DeliveryAborted)) this.#log.error({ err: error }, 'Flush failed.');
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
    await this.#whileOperatorPaused();
    const taken = this.#pending;
    if (taken.length === 0) return;
    const takenBytes = this.#pendingBytes;
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#pendingRecords = 0;
    this.#pendingRecordBytes = 0;
    this.#flushing = taken;
    try {
      const parked: DeadLetterInput[] = [];
      const entries: DeliveryEntry[] = [];
      for (const pending of taken) {
        if (pending.rejection !== null) parked.push(deadLetterFor(pending.message, pending.rejection.error, pending.rejection, this.#delivery));
        for (const record of pending.records) entries.push(deliveryEntry(record, pending.message));
      }
      for (const chunk of this.#chunks(entries)) {
        let failed: DeadLetterInput[];
        try {
          failed = await deliverWithRetry(chunk, this.#delivery);
        } finally {
          this.#endRetries();
        }
        for (const input of failed) parked.push(input);
      }
      if (parked.length > 0) await this.#park(parked);
      await this.#commit(taken);
    } finally {
      this.#flushing = [];
      this.#release(takenBytes);
      largeReleases.released(taken);
    }
  }

  *#chunks(entries: DeliveryEntry[]): Generator<DeliveryEntry[]> {
    const { maxRecords, maxBytes } = this.#options.batch;
    let chunk: DeliveryEntry[] = [];
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

  async #waitBeforeRetry(delayMs: number, error: FanoutError): Promise<void> {
    this.#lastErrorCode = error.code;
    this.#pausedForRetry = true;
    if (!this.#retryingDelivery) {
      this.#retryingDelivery = true;
      this.#health.hold('destination_unavailable');
    }
    this.#applyPause();
    try {
      await this.#sleep(delayMs);
    } catch {
      throw new DeliveryAborted();
    } finally {
      this.#pausedForRetry = false;
      this.#applyPause();
    }
  }

  /** The chunk whose retries held the lane stalled is delivered, parked or abandoned. */
  #endRetries(): void {
    if (!this.#retryingDelivery) return;
    this.#retryingDelivery = false;
    this.#health.release('destination_unavailable');
  }

  #onDelivered(entries: readonly DeliveryEntry[]): void {
    this.#totals.delivered += entries.length;
    this.#lastDeliveryMs = this.#now();
    const tap = this.#options.tap;
    if (tap === undefined || !tap.wants(this.#options.tenant, this.#options.destinationName)) return;
    const at = new Date(this.#lastDeliveryMs).toISOString();
    for (const { record } of entries) {
      tap.publish(
        {
          at,
          tenant: this.#options.tenant,
          destination: this.#options.destinationName,
          outcome: 'delivered',
          type: record.type,
          userId: record.userId,
          identity: record.identity,
          ...(this.#options.locate === undefined ? {} : { location: this.#options.locate(record) }),
          source: { topic: record.source.topic, partition: record.source.partition, offset: record.source.offset },
        },
        () => record.body,
      );
    }
  }

  #publishFiltered(message: InboundMessage): void {
    const tap = this.#options.tap;
    if (tap === undefined || !tap.wants(this.#options.tenant, this.#options.destinationName)) return;
    tap.publish(
      { at: new Date(this.#now()).toISOString(), tenant: this.#options.tenant, destination: this.#options.destinationName, outcome: 'filtered', type: null, userId: null, identity: null, source: position(message) },
      () => message.value ?? Buffer.alloc(0),
    );
  }

  /** Produces dead letters; retries until the dead-letter topic takes them (nothing is dropped). */
  async #park(inputs: DeadLetterInput[]): Promise<void> {
    const messages = inputs.map(buildDeadLetter);
    let attempt = 0;
    try {
      for (;;) {
        try {
          await this.#options.deadLetters.send(this.#options.deadLetterTopic, messages);
          break;
        } catch (thrown) {
          attempt += 1;
          const error = new FanoutError('dead_letter_unavailable', `Producing to the dead-letter topic failed: ${thrown instanceof Error ? thrown.message : String(thrown)}`);
          if (attempt === 1) this.#health.hold('dead_letter_unavailable');
          this.#lastErrorCode = error.code;
          const delayMs = backoffDelayMs({ ...this.#options.retry, maxAttempts: null }, attempt, undefined, this.#random);
          this.#log.error({ err: error, code: error.code, attempt, delayMs, count: messages.length }, 'Dead-letter topic unavailable; the lane waits and retries.');
          this.#pausedForRetry = true;
          this.#applyPause();
          try {
            await this.#sleep(delayMs);
          } finally {
            this.#pausedForRetry = false;
            this.#applyPause();
          }
        }
      }
    } finally {
      if (attempt > 0) this.#health.release('dead_letter_unavailable');
    }
    this.#totals.parked += inputs.length;
    const tap = this.#options.tap;
    const tapping = tap !== undefined && tap.wants(this.#options.tenant, this.#options.destinationName);
    for (const input of inputs) {
      this.#lastErrorCode = input.error.code;
      this.#metrics.deadLettered(input.error.code);
      this.#log.warn(
        { code: input.error.code, err: input.error, attempts: input.attempts, identity: input.record?.identity, type: input.record?.type, ...position(input.message) },
        'Parked in the dead-letter topic.',
      );
      if (tapping) {
        tap.publish(
          {
            at: new Date(this.#now()).toISOString(),
            tenant: this.#options.tenant,
            destination: this.#options.destinationName,
            outcome: 'parked',
            code: input.error.code,
            type: input.record?.type ?? null,
            userId: null,
            identity: input.record?.identity ?? null,
            source: position(input.message),
          },
          () => input.message.value ?? Buffer.alloc(0),
        );
      }
    }
  }

  async #commit(settled: readonly PendingMessage[]): Promise<void> {
    // A partition's messages are settled in offset order: its last one is its highest.
    const last = new Map<string, InboundMessage>();
    for (const { message } of settled) last.set(partitionKey(message.topic, message.partition), message);
    const highest = new Map<string, { topic: string; partition: number; offset: bigint }>();
    for (const [key, message] of last) highest.set(key, { topic: message.topic, partition: message.partition, offset: BigInt(message.offset) });
    const offsets: CommitOffset[] = [];
    for (const { topic, partition, offset } of highest.values()) offsets.push({ topic, partition, offset: String(offset + 1n) });
    try {
      await this.#options.consumer.commit(offsets);
      this.#metrics.commits.inc();
      this.#health.progressed();
      let oldest: Map<string, number> | undefined;
      const nowMs = this.#now();
      for (const [key, { topic, partition, offset }] of highest) {
        const state = this.#partitions.get(key);
        if (state === undefined || state.highWatermark === null) continue;
        state.committed = offset + 1n;
        const lag = state.highWatermark - state.committed;
        if (lag <= 0n) {
          this.#metrics.lag(topic, partition, 0, 0);
          continue;
        }
        oldest ??= this.#oldestUncommitted();
        this.#metrics.lag(topic, partition, Number(lag), Math.max(0, (nowMs - (oldest.get(key) ?? state.lastCaughtUpMs)) / 1000));
      }
    } catch (error) {
      // Nothing is lost: the records are delivered, and whoever owns the partition next reads them again.
      this.#log.warn({ err: error, offsets }, 'Committing offsets failed (likely a rebalance); the records may be delivered again.');
    }
  }

  async #whileOperatorPaused(): Promise<void> {
    while (this.#operatorPause !== null && !this.#stopping) {
      if (this.#operatorResumed === null) {
        let resolve: () => void = () => undefined;
        const promise = new Promise<void>((done) => {
          resolve = done;
        });
        this.#operatorResumed = { promise, resolve };
      }
      await this.#operatorResumed.promise;
    }
    if (this.#stopping && this.#operatorPause !== null) throw new Aborted();
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

  /** Waits, heartbeating the group every second. Throws Aborted on stop. */
  async #sleep(ms: number): Promise<void> {
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

  /**
   * Tells the consumer what to fetch: nothing while stopping, paused by an operator, retrying a
   * send, parking or waiting for budget; otherwise every partition except those retrying a pointer.
   */
  #applyPause(): void {
    const all = this.#stopping || this.#operatorPause !== null || this.#pausedForRetry || this.#pausedForBudget;
    const partitions: Array<{ topic: string; partition: number }> = [];
    if (!all) for (const state of this.#partitions.values()) if (state.pausedForRetry) partitions.push({ topic: state.topic, partition: state.partition });
    this.#options.consumer.setPaused({ all, partitions });
  }

  #updateReady(): void {
    this.#metrics.ready.set(this.ready ? 1 : 0);
  }
}

function position(message: InboundMessage): { topic: string; partition: number; offset: string } {
  return { topic: message.topic, partition: message.partition, offset: message.offset };
}
