import type { Logger } from 'pino';
import type { AnyConnectorDefinition, Destination, RecordOutcome } from '../connector/contract.js';
import { resolveDestinationSettings, type TenantConfig } from '../config/tenant-schema.js';
import type { WorkerConfig } from '../config/worker-schema.js';
import { FanoutError, toFanoutError } from '../errors/catalogue.js';
import type { InboundMessage, KafkaClient, MessageProducer } from '../kafka/kafka-client.js';
import { buildDeadLetter, type DeadLetterInput } from '../lane/dead-letter.js';
import { backoffDelayMs, mayRetry, type RetryPolicy } from '../lane/retry-policy.js';
import { createDestinationReader } from '../pipeline/destination-reader.js';
import type { MessageOutcome, MessageReader } from '../pipeline/read-message.js';
import type { TerraRecord } from '../records/record.js';
import { filterFingerprint, matchesFilter, type DeadLetterFilter } from './dead-letter-filter.js';
import { originalMessage, readParkedRecord, type ParkedRecord } from './parked-record.js';
import { scanDeadLetters, type HandleResult, type ScanResult } from './scan-dead-letters.js';

/**
 * `dlq redrive`: delivers parked records again to the one destination that parked them, through
 * that destination's connector with the tenant's current config and the lane's decode path, never
 * by producing to the source topic (which every lane of the tenant reads).
 *
 * Progress is durable: the pass runs as its own consumer group over the dead-letter topic and
 * commits after each dead letter is settled (delivered, parked again or skipped), so a redrive that
 * is stopped or killed resumes after the last settled one; at most the dead letter in hand is sent
 * again, which the destination's idempotent write absorbs. A pass stops at the high watermarks it
 * saw at start, so what it parks again waits for the next pass.
 */
export interface RedriveRequest {
  tenant: TenantConfig;
  destination: string;
  /** Its `destination` is ignored: a redrive serves `destination` only. */
  filter: DeadLetterFilter;
  /** Stop after this many selected dead letters; null for all. */
  limit: number | null;
  /** List what would be sent; send, park and commit nothing. */
  dryRun: boolean;
  /** Most records sent per second; null for no pacing. */
  ratePerSecond: number | null;
  /** Most attempts per record in this pass (the destination's retry policy, capped at this). */
  maxAttempts: number;
}

export interface RedriveEnvironment {
  kafka: KafkaClient;
  worker: Pick<WorkerConfig, 'budgets' | 's3Payload'> & { kafka: Pick<WorkerConfig['kafka'], 'groupPrefix' | 'sessionTimeoutMs'> };
  connectors: readonly AnyConnectorDefinition[];
  logger: Logger;
  /** Stops after the dead letter in hand (it is committed only if it was settled). */
  signal?: AbortSignal | undefined;
  fetch?: typeof globalThis.fetch | undefined;
  /**
   * Called with the running totals every `progressIntervalMs` while something changed (after every
   * dead letter when it is 0), and at the end.
   */
  onProgress?: ((progress: RedriveProgress) => void) | undefined;
  progressIntervalMs?: number | undefined;
  /** Called once per selected dead letter with what happened to it. */
  onRecord?: ((record: ParkedRecord, outcome: RedriveOutcome) => void) | undefined;
  random?: () => number;
}

/**
 * - `no_source_position`: the dead letter does not say where its message came from (not written by terra-fanout);
 * - `filtered_now`: the destination's current event/provider filters leave nothing of the message;
 * - `identity_not_found`: the message no longer gives the record the dead letter names;
 * - `duplicate`: a dead letter for the same record was already settled earlier in this pass (an
 *   earlier redrive parked it again, so the topic holds it twice).
 */
export type SkipReason = 'no_source_position' | 'filtered_now' | 'identity_not_found' | 'duplicate';

export type RedriveOutcome =
  | { kind: 'delivered'; records: number }
  | { kind: 'parked_again'; records: number; code: string }
  | { kind: 'would_redrive' }
  | { kind: 'skipped'; reason: SkipReason };

export interface RedriveProgress {
  tenant: string;
  destination: string;
  group: string;
  dryRun: boolean;
  startedAt: string;
  elapsedMs: number;
  /** Dead letters read (of every destination). */
  scanned: number;
  /** Dead letters of this destination that the filter selected. */
  selected: number;
  /** Records the destination confirmed. */
  delivered: number;
  /** Records that failed again and were parked again. */
  parkedAgain: number;
  skipped: Record<SkipReason, number>;
  /** Set when the pass is over. */
  ended: ScanResult['ended'] | 'limit' | null;
}

export class RedriveError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RedriveError';
  }
}

/** The consumer group of a redrive: `<groupPrefix>.<tenant>.redrive.<destination>[.<filter fingerprint>]`. */
export function redriveGroupId(groupPrefix: string, tenant: string, destination: string, filter: DeadLetterFilter): string {
  const fingerprint = filterFingerprint(filter);
  return `${groupPrefix}.${tenant}.redrive.${destination}${fingerprint === null ? '' : `.${fingerprint}`}`;
}

const CHECK_TIMEOUT_MS = 60_000;
/** Records remembered per pass to skip their later copies; past it, idempotent writes absorb the repeats. */
const MAX_REMEMBERED = 200_000;
const HEARTBEAT_MS = 1_000;

class Stopped extends Error {}

async function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new FanoutError('destination_timeout', `${what} did not finish within ${ms} ms.`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

interface Failure {
  record: TerraRecord | null;
  error: FanoutError;
  cause: FanoutError | undefined;
  attempts: number;
  firstFailureMs: number;
  lastFailureMs: number;
}

/** One pass over the tenant's dead-letter topic for one destination. Returns the final totals. */
export async function redriveDeadLetters(request: RedriveRequest, environment: RedriveEnvironment): Promise<RedriveProgress> {
  const { tenant, destination: destinationName } = request;
  const { logger } = environment;
  const destinationConfig = tenant.destinations.find((candidate) => candidate.name === destinationName);
  if (destinationConfig === undefined) {
    throw new RedriveError(`Tenant ${tenant.tenant} has no destination ${destinationName} in its current config, so its dead letters have nowhere to go. Add it back to redrive them.`);
  }
  const connector = environment.connectors.find((candidate) => candidate.type === destinationConfig.type);
  if (connector === undefined) throw new RedriveError(`Unknown destination type ${destinationConfig.type}.`);

  const filter: DeadLetterFilter = { ...request.filter, destination: destinationName };
  const group = redriveGroupId(environment.worker.kafka.groupPrefix, tenant.tenant, destinationName, filter);
  const { retry } = resolveDestinationSettings(tenant, destinationConfig);
  const policy: RetryPolicy = { ...retry, maxAttempts: Math.min(retry.maxAttempts ?? request.maxAttempts, request.maxAttempts) };
  const read: MessageReader = createDestinationReader(environment.worker, tenant, destinationConfig, connector, environment.fetch);
  const random = environment.random ?? Math.random;
  const signal = environment.signal;
  const log = logger.child({ tenant: tenant.tenant, destination: destinationName, group });

  const started = Date.now();
  const progress: RedriveProgress = {
    tenant: tenant.tenant,
    destination: destinationName,
    group,
    dryRun: request.dryRun,
    startedAt: new Date(started).toISOString(),
    elapsedMs: 0,
    scanned: 0,
    selected: 0,
    delivered: 0,
    parkedAgain: 0,
    skipped: { no_source_position: 0, filtered_now: 0, identity_not_found: 0, duplicate: 0 },
    ended: null,
  };
  const snapshot = (): RedriveProgress => ({ ...progress, skipped: { ...progress.skipped }, elapsedMs: Date.now() - started });

  /** The destination and the producer that parks again; null in a dry run, which sends nothing. */
  let live: { destination: Destination; producer: MessageProducer } | null = null;
  if (!request.dryRun) {
    const context = { tenant: tenant.tenant, destination: destinationName, logger: log };
    const destination = connector.createDestination(destinationConfig.config, connector.createClient(destinationConfig.config, context), context);
    try {
      await withTimeout(destination.check(), CHECK_TIMEOUT_MS, 'The destination check');
    } catch (thrown) {
      const error = toFanoutError(thrown);
      await destination.close().catch(() => undefined);
      throw new RedriveError(`Destination ${tenant.tenant}/${destinationName} fails its check (${error.code}: ${error.message}); nothing was redriven. Fix its config or the service first.`, { cause: error });
    }
    live = { destination, producer: environment.kafka.createProducer() };
  }

  /** Waits `ms`, heartbeating the group; throws Stopped when the redrive is stopped meanwhile. */
  const sleep = async (ms: number, heartbeat: () => Promise<void>): Promise<void> => {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      if (signal?.aborted === true) throw new Stopped();
      const slice = Math.min(HEARTBEAT_MS, until - Date.now());
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.max(0, slice));
        function done(): void {
          clearTimeout(timer);
          signal?.removeEventListener('abort', done);
          resolve();
        }
        signal?.addEventListener('abort', done, { once: true });
      });
      await heartbeat().catch(() => undefined);
    }
    if (signal?.aborted === true) throw new Stopped();
  };

  let nextSendAtMs = 0;
  const pace = async (records: number, heartbeat: () => Promise<void>): Promise<void> => {
    if (request.ratePerSecond === null) return;
    const now = Date.now();
    if (nextSendAtMs > now) await sleep(nextSendAtMs - now, heartbeat);
    nextSendAtMs = Math.max(now, nextSendAtMs) + (records * 1000) / request.ratePerSecond;
  };

  const readOnce = async (message: InboundMessage): Promise<MessageOutcome> => {
    try {
      return await read(message);
    } catch (thrown) {
      return { ok: false, error: toFanoutError(thrown) };
    }
  };

  /** Reads the original message again, retrying retryable failures (an s3_payload store that is down) within the bound. */
  const readWithRetry = async (message: InboundMessage, heartbeat: () => Promise<void>): Promise<{ ok: true; records: TerraRecord[] } | { ok: false; failure: Failure }> => {
    let attempts = 0;
    let firstFailureMs = 0;
    for (;;) {
      const outcome = await readOnce(message);
      if (outcome.ok) return { ok: true, records: outcome.records };
      attempts += 1;
      const nowMs = Date.now();
      if (attempts === 1) firstFailureMs = nowMs;
      const error = outcome.error;
      if (!error.retryable || !mayRetry(policy, attempts)) {
        const exhausted = error.retryable ? new FanoutError('retries_exhausted', `Gave up after ${attempts} attempts: ${error.code}: ${error.message}`) : error;
        return { ok: false, failure: { record: null, error: exhausted, cause: error.retryable ? error : undefined, attempts, firstFailureMs, lastFailureMs: nowMs } };
      }
      await sleep(backoffDelayMs(policy, attempts, error.retryAfterMs, random), heartbeat);
    }
  };

  /** Sends until every record is delivered or has failed for good; returns the failures. */
  const deliver = async (destination: Destination, records: TerraRecord[], heartbeat: () => Promise<void>): Promise<{ delivered: number; failures: Failure[] }> => {
    const attempts = new Map<TerraRecord, { attempts: number; firstFailureMs: number }>();
    const failures: Failure[] = [];
    let delivered = 0;
    let remaining = records;
    while (remaining.length > 0) {
      await pace(remaining.length, heartbeat);
      let outcomes: RecordOutcome[];
      try {
        outcomes = await destination.send(remaining, signal ?? new AbortController().signal);
      } catch (thrown) {
        if (signal?.aborted === true) throw new Stopped();
        const error = toFanoutError(thrown);
        outcomes = remaining.map(() => ({ ok: false as const, error }));
      }
      const retry: TerraRecord[] = [];
      let delayMs = 0;
      const nowMs = Date.now();
      for (const [index, record] of remaining.entries()) {
        const outcome = outcomes[index] ?? { ok: false as const, error: new FanoutError('internal_error', 'The destination returned fewer outcomes than records.') };
        if (outcome.ok) {
          delivered += 1;
          continue;
        }
        const seen = attempts.get(record) ?? { attempts: 0, firstFailureMs: nowMs };
        seen.attempts += 1;
        attempts.set(record, seen);
        const error = outcome.error;
        if (error.retryable && mayRetry(policy, seen.attempts)) {
          retry.push(record);
          delayMs = Math.max(delayMs, backoffDelayMs(policy, seen.attempts, error.retryAfterMs, random));
          continue;
        }
        const exhausted = error.retryable ? new FanoutError('retries_exhausted', `Gave up after ${seen.attempts} attempts: ${error.code}: ${error.message}`) : error;
        failures.push({ record, error: exhausted, cause: error.retryable ? error : undefined, attempts: seen.attempts, firstFailureMs: seen.firstFailureMs, lastFailureMs: nowMs });
      }
      if (retry.length > 0) {
        log.warn({ failed: retry.length, delayMs }, 'Redrive: the destination failed; retrying.');
        await sleep(delayMs, heartbeat);
      }
      remaining = retry;
    }
    return { delivered, failures };
  };

  const parkAgain = async (producer: MessageProducer, deadLetter: InboundMessage, parked: ParkedRecord, original: InboundMessage, failures: Failure[]): Promise<void> => {
    const previous = { attempts: parked.attempts, redriven: parked.redriven, firstFailureMs: parked.firstFailureAt === null ? null : Date.parse(parked.firstFailureAt) };
    const inputs: DeadLetterInput[] = failures.map((failure) => ({
      message: original,
      error: failure.error,
      cause: failure.cause,
      attempts: failure.attempts,
      firstFailureMs: failure.firstFailureMs,
      lastFailureMs: failure.lastFailureMs,
      tenant: tenant.tenant,
      destination: destinationName,
      connector: connector.type,
      record:
        failure.record !== null
          ? { identity: failure.record.identity, type: failure.record.type, itemIndex: failure.record.itemIndex }
          : parked.identity !== null
            ? { identity: parked.identity, type: parked.type ?? 'unknown', itemIndex: parked.itemIndex }
            : undefined,
      previous,
    }));
    await producer.send(tenant.deadLetterTopic, inputs.map(buildDeadLetter));
    for (const input of inputs) {
      log.warn({ code: input.error.code, identity: input.record?.identity, deadLetter: `${deadLetter.topic}/${deadLetter.partition}@${deadLetter.offset}` }, 'Redrive: the record failed again and is parked again.');
    }
  };

  let lastReported = -1;
  const changeCount = (): number => progress.scanned + progress.delivered + progress.parkedAgain;
  const everyDeadLetter = environment.progressIntervalMs === 0;
  const reporter =
    environment.onProgress === undefined || everyDeadLetter
      ? undefined
      : setInterval(() => {
          if (changeCount() === lastReported) return;
          lastReported = changeCount();
          environment.onProgress?.(snapshot());
        }, environment.progressIntervalMs ?? 10_000);

  /** The records this pass settled, by source position and identity. */
  const settled = new Set<string>();
  const handle = async (deadLetter: InboundMessage, heartbeat: () => Promise<void>): Promise<HandleResult> => {
    progress.scanned += 1;
    const parked = readParkedRecord(deadLetter);
    if (!matchesFilter(parked, filter)) return 'continue';
    if (request.limit !== null && progress.selected >= request.limit) {
      progress.ended = 'limit';
      return 'stop';
    }
    progress.selected += 1;
    const settle = (outcome: RedriveOutcome): HandleResult => {
      if (outcome.kind === 'skipped') progress.skipped[outcome.reason] += 1;
      environment.onRecord?.(parked, outcome);
      if (everyDeadLetter) environment.onProgress?.(snapshot());
      return 'continue';
    };
    if (live === null) return settle({ kind: 'would_redrive' });
    const original = originalMessage(deadLetter, parked);
    if (original === null) return settle({ kind: 'skipped', reason: 'no_source_position' });
    const key = `${original.topic}/${original.partition}@${original.offset}#${parked.identity ?? '*'}`;
    if (settled.has(key)) return settle({ kind: 'skipped', reason: 'duplicate' });
    if (settled.size < MAX_REMEMBERED) settled.add(key);
    try {
      const decoded = await readWithRetry(original, heartbeat);
      if (!decoded.ok) {
        await parkAgain(live.producer, deadLetter, parked, original, [decoded.failure]);
        progress.parkedAgain += 1;
        return settle({ kind: 'parked_again', records: 1, code: decoded.failure.error.code });
      }
      const records = parked.identity === null ? decoded.records : decoded.records.filter((record) => record.identity === parked.identity);
      if (records.length === 0) {
        const reason: SkipReason = parked.identity === null ? 'filtered_now' : 'identity_not_found';
        log.warn({ reason, identity: parked.identity, deadLetter: `${deadLetter.topic}/${deadLetter.partition}@${deadLetter.offset}` }, 'Redrive: the message gives this destination nothing to send now; skipped.');
        return settle({ kind: 'skipped', reason });
      }
      const { delivered, failures } = await deliver(live.destination, records, heartbeat);
      progress.delivered += delivered;
      if (failures.length > 0) {
        await parkAgain(live.producer, deadLetter, parked, original, failures);
        progress.parkedAgain += failures.length;
        return settle({ kind: 'parked_again', records: failures.length, code: failures[0]?.error.code ?? 'unknown' });
      }
      return settle({ kind: 'delivered', records: delivered });
    } catch (error) {
      if (error instanceof Stopped) return 'stop';
      throw error;
    }
  };

  log.info({ dryRun: request.dryRun, topic: tenant.deadLetterTopic }, 'Redrive started.');
  try {
    const result = await scanDeadLetters(
      {
        kafka: environment.kafka,
        topic: tenant.deadLetterTopic,
        groupId: group,
        commit: !request.dryRun,
        logger: log,
        signal,
        idleTimeoutMs: Math.max(60_000, 2 * environment.worker.kafka.sessionTimeoutMs),
      },
      handle,
    );
    progress.ended ??= result.ended === 'stopped' && signal?.aborted === true ? 'aborted' : result.ended;
  } finally {
    if (reporter !== undefined) clearInterval(reporter);
    await live?.destination.close().catch(() => undefined);
    await live?.producer.close().catch(() => undefined);
  }
  const totals = snapshot();
  environment.onProgress?.(totals);
  log.info({ scanned: totals.scanned, selected: totals.selected, delivered: totals.delivered, parkedAgain: totals.parkedAgain, skipped: totals.skipped, ended: totals.ended, durationMs: totals.elapsedMs }, 'Redrive finished.');
  return totals;
}
