import { randomUUID } from 'node:crypto';
import type { ConnectorContext, Destination, RecordOutcome } from '../../src/connector/contract.js';
import { FanoutError, toFanoutError } from '../../src/errors/catalogue.js';
import type { TerraRecord } from '../../src/records/record.js';
import { awsWhere } from '../shared/aws-connection.js';
import { awsFanoutError, classifyAwsError, type AwsErrorFacts } from '../shared/aws-errors.js';
import { sendInKeyOrder } from '../shared/ordered-send.js';
import { encodePayload } from '../shared/payload-mode.js';
import type { SqsClients, SqsEntryResult } from './client.js';
import type { SqsConfig } from './config.js';
import { attributesBytes, healthcheckBody, messageAttributes, messageBytes, messageGroupId, planBatches, queueTarget, sqsMessage, type QueueTarget, type SqsMessage } from './encode.js';
import { shutdownError } from '../shared/call-deadline.js';

/** Where an SQS call went and what it needed, for messages that say what to fix. */
export interface SqsCallPlace {
  label: string;
  region: string | undefined;
  endpoint: string | undefined;
  /** The IAM action the call needs, e.g. `sqs:SendMessage`. */
  action: string;
}

const KMS_MISCONFIGURED = new Set(['KmsDisabled', 'KmsNotFound', 'KmsInvalidState', 'KmsInvalidKeyUsage', 'KmsOptInRequired', 'KMS.DisabledException', 'KMS.NotFoundException']);

function sqsSpecific(place: SqsCallPlace, facts: AwsErrorFacts, cause: unknown): FanoutError | undefined {
  const where = awsWhere(place.region, place.endpoint);
  switch (facts.code) {
    case 'QueueDoesNotExist':
    case 'AWS.SimpleQueueService.NonExistentQueue':
    case 'QueueDeletedRecently':
      return awsFanoutError('destination_not_found', `${place.label} does not exist in ${where}. Create it, or fix queueUrl/queueName or region.`, facts, cause);
    case 'AccessDenied':
    case 'AccessDeniedException':
    case 'KmsAccessDenied':
    case 'KMS.AccessDeniedException':
      return awsFanoutError(
        'destination_auth_failed',
        `${place.label} (${where}) answered ${facts.code}: the credentials lack ${place.action} on this queue${facts.code.startsWith('Kms') || facts.code.startsWith('KMS') ? " (or kms:GenerateDataKey on the queue's KMS key)" : ''}. Grant it; see connectors/sqs/README.md.`,
        facts,
        cause,
      );
    case 'InvalidAddress':
    case 'InvalidSecurity':
      return awsFanoutError('destination_misconfigured', `${place.label} refused the request (${facts.code}): check the queue URL, the region and that https is used.`, facts, cause);
    case 'BatchRequestTooLong':
    case 'TooManyEntriesInBatchRequest':
      return awsFanoutError('destination_rejected', `${place.label} refused the batch as too large (${facts.code}); lower maxMessageBytes to the queue's MaximumMessageSize.`, facts, cause);
    default:
      if (facts.code !== undefined && KMS_MISCONFIGURED.has(facts.code)) {
        return awsFanoutError('destination_misconfigured', `${place.label}: the queue's KMS key cannot be used (${facts.code}); fix or enable the key.`, facts, cause);
      }
      return undefined;
  }
}

/**
 * Translates what a whole SQS call threw (used by client.ts). Beyond the generic AWS rules: a
 * missing queue destination_not_found ("queue X does not exist in region Y"), AccessDenied
 * destination_auth_failed naming the missing action, KMS problems destination_misconfigured,
 * an over-limit batch destination_rejected.
 */
export function classifySqsError(error: unknown, place: SqsCallPlace, shutdown = false): FanoutError {
  return classifyAwsError(error, { target: `${place.label} (${awsWhere(place.region, place.endpoint)})`, specific: (facts) => sqsSpecific(place, facts, error), shutdown });
}

const THROTTLED_ENTRY_CODES = new Set(['ThrottlingException', 'RequestThrottled', 'KmsThrottled', 'KMS.ThrottlingException']);

/**
 * One failed entry of a SendMessageBatch. SenderFault false (InternalError, ServiceUnavailable)
 * is retried; SenderFault true is permanent, except throttling. The entry's vendor message is not
 * kept (it can quote the request).
 */
export function classifyEntryFailure(label: string, code: string, senderFault: boolean): FanoutError {
  const detail = { awsCode: code, senderFault };
  if (THROTTLED_ENTRY_CODES.has(code)) return new FanoutError('destination_throttled', `${label} throttled this message (${code}); the lane retries it.`, { detail });
  if (!senderFault) return new FanoutError('destination_unavailable', `${label} could not store this message (${code}); the lane retries it.`, { detail });
  if (code === 'InvalidMessageContents') return new FanoutError('destination_rejected', `${label} refused this message: it contains characters SQS does not accept (${code}).`, { detail });
  if (code === 'KmsAccessDenied' || code === 'KMS.AccessDeniedException') {
    return new FanoutError('destination_auth_failed', `${label} refused this message: no kms:GenerateDataKey on the queue's KMS key (${code}).`, { detail });
  }
  if (KMS_MISCONFIGURED.has(code)) return new FanoutError('destination_misconfigured', `${label}: the queue's KMS key cannot be used (${code}).`, { detail });
  return new FanoutError('destination_rejected', `${label} refused this message (${code}); retrying will not help.`, { detail });
}

/** check() gives up after this long; the lane tries again. */
const CHECK_TIMEOUT_MS = 30_000;

/** A tiny semaphore: at most `limit` tasks run at once. */
function limiter(limit: number): <T>(task: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: Array<() => void> = [];
  return async (task) => {
    if (running >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    running += 1;
    try {
      return await task();
    } finally {
      running -= 1;
      waiting.shift()?.();
    }
  };
}

function heldBack(blocker: FanoutError): FanoutError {
  const detail = { heldBack: true, blockedBy: blocker.code };
  const message = `Not sent: an earlier record of the same message group failed (${blocker.code}).`;
  return new FanoutError(blocker.code, message, blocker.retryAfterMs === undefined ? { detail } : { detail, retryAfterMs: blocker.retryAfterMs });
}

/** One send(): the records, their messages and outcomes, and the FIFO groups that are blocked. */
class SendRun {
  readonly outcomes: Array<RecordOutcome | undefined>;
  readonly messages: Array<SqsMessage | undefined>;
  /** FIFO: each record's message group; empty on standard queues. */
  private readonly groups: ReadonlyArray<string | undefined>;
  /** FIFO: the first record of a group that failed retryably; the group's later records are held back. */
  private readonly blocked = new Map<string, { index: number; error: FanoutError }>();

  constructor(
    readonly batch: readonly TerraRecord[],
    groupOf: ((record: TerraRecord) => string) | undefined,
  ) {
    this.outcomes = new Array<RecordOutcome | undefined>(batch.length);
    this.messages = new Array<SqsMessage | undefined>(batch.length);
    this.groups = groupOf === undefined ? [] : batch.map(groupOf);
  }

  group(index: number): string | undefined {
    return this.groups[index];
  }

  /** The record's outcome is settled; a retryable failure blocks the later records of its FIFO group. */
  settle(index: number, outcome: RecordOutcome): void {
    this.outcomes[index] = outcome;
    const group = this.groups[index];
    if (group === undefined || outcome.ok || !outcome.error.retryable) return;
    const current = this.blocked.get(group);
    if (current === undefined || index < current.index) this.blocked.set(group, { index, error: outcome.error });
  }

  /** The error that holds this record back: an earlier record of its group failed retryably. */
  blocker(index: number): FanoutError | undefined {
    const group = this.groups[index];
    const blocked = group === undefined ? undefined : this.blocked.get(group);
    return blocked !== undefined && blocked.index < index ? blocked.error : undefined;
  }
}

class SqsDestination implements Destination {
  private readonly target: QueueTarget;
  private closed = false;

  constructor(
    private readonly config: SqsConfig,
    private readonly clients: SqsClients,
    private readonly context: ConnectorContext,
  ) {
    this.target = queueTarget(config);
  }

  /**
   * Resolves the queue, then sends a Terra healthcheck message (or, with healthcheck: false, only
   * reads the queue's attributes), and checks the claim-check bucket when one is configured.
   */
  async check(): Promise<void> {
    const signal = AbortSignal.timeout(CHECK_TIMEOUT_MS);
    await this.clients.queue.resolve(signal);
    if (this.config.healthcheck) await this.clients.queue.send(this.healthcheckMessage(), signal);
    else await this.clients.queue.describe(signal);
    await this.clients.claimCheck?.check(signal);
  }

  /**
   * Encodes every record (storing pointer bodies through the claim check), cuts the messages into
   * SendMessageBatch calls of at most 10 entries and 1 MiB, sends them up to `concurrency` at a
   * time and reports per record. On FIFO queues a batch waits for the earlier batches that share
   * a message group, and after a retryable failure the group's later records are held back.
   */
  async send(batch: readonly TerraRecord[], signal: AbortSignal): Promise<RecordOutcome[]> {
    const { tenant } = this.context;
    const run = new SendRun(batch, this.target.fifo ? (record) => messageGroupId(this.config.messageGroupBy, record, tenant) : undefined);
    await this.encode(run, signal);
    const pending: number[] = [];
    batch.forEach((_, index) => {
      const encoded = run.outcomes[index];
      if (encoded !== undefined) {
        if (!encoded.ok) run.settle(index, encoded);
        return;
      }
      const blocker = run.blocker(index);
      if (blocker !== undefined) run.settle(index, { ok: false, error: heldBack(blocker) });
      else pending.push(index);
    });
    const sizes = pending.map((index) => messageBytes(run.messages[index] as SqsMessage));
    const calls = planBatches(sizes).map((positions) => positions.map((position) => pending[position] as number));
    const limit = limiter(this.config.concurrency);
    const lastOfGroup = new Map<string, Promise<void>>();
    await Promise.all(
      calls.map((indexes) => {
        const groups = [...new Set(indexes.flatMap((index) => run.group(index) ?? []))];
        const earlier = groups.flatMap((group) => lastOfGroup.get(group) ?? []);
        const done = Promise.all(earlier).then(() => limit(() => this.sendBatch(run, indexes, signal)));
        for (const group of groups) lastOfGroup.set(group, done);
        return done;
      }),
    );
    return run.outcomes.map((outcome) => outcome ?? { ok: false, error: new FanoutError('internal_error', 'The SQS destination left a record without an outcome.') });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.clients.queue.close();
    await this.clients.claimCheck?.close();
  }

  /**
   * Chooses each record's form (inline, or a pointer stored through the claim check) within the
   * message limit left after its attributes. Failures are left in run.outcomes; successes leave
   * the outcome empty and the message in run.messages.
   */
  private async encode(run: SendRun, signal: AbortSignal): Promise<void> {
    const { tenant } = this.context;
    const options = { tenant, fifo: this.target.fifo, groupBy: this.config.messageGroupBy };
    const results = await sendInKeyOrder(run.batch, { keyOf: (record) => record.identity, concurrency: this.config.concurrency, signal }, async (record, index) => {
      const attributes = messageAttributes(record, tenant);
      const limit = this.config.maxMessageBytes - attributesBytes(attributes);
      const payload = await encodePayload(record, { mode: this.config.payload, maxInlineBytes: limit, claimCheck: this.clients.claimCheck }, signal);
      if (!payload.ok) return { ok: false, error: payload.error };
      const message = sqsMessage(payload.body, record, options);
      if (messageBytes(message) > this.config.maxMessageBytes) {
        const error = new FanoutError('destination_record_too_large', `The message is ${messageBytes(message)} bytes with its attributes; the queue accepts at most ${this.config.maxMessageBytes}.`, {
          detail: { bytes: messageBytes(message), limit: this.config.maxMessageBytes },
        });
        return { ok: false, error };
      }
      run.messages[index] = message;
      return { ok: true };
    });
    results.forEach((result, index) => {
      // A record that encoded gets its outcome when its batch is sent.
      if (!result.ok) run.outcomes[index] = result;
      else if (run.messages[index] === undefined) run.outcomes[index] = { ok: false, error: new FanoutError('internal_error', 'A record was encoded without a message.') };
    });
  }

  /** One SendMessageBatch over the records at `indexes` that are not held back by their group. */
  private async sendBatch(run: SendRun, indexes: readonly number[], signal: AbortSignal): Promise<void> {
    const included: number[] = [];
    for (const index of indexes) {
      const blocker = run.blocker(index);
      if (blocker !== undefined) run.settle(index, { ok: false, error: heldBack(blocker) });
      else if (signal.aborted) run.settle(index, { ok: false, error: shutdownError('sent') });
      else included.push(index);
    }
    if (included.length === 0) return;
    const entries = included.map((index, position) => ({ id: String(position), ...(run.messages[index] as SqsMessage) }));
    let results: ReadonlyMap<string, SqsEntryResult>;
    try {
      results = await this.clients.queue.sendBatch(entries, signal);
    } catch (error) {
      const failure = toFanoutError(error);
      for (const index of included) run.settle(index, { ok: false, error: failure });
      return;
    }
    included.forEach((index, position) => {
      const result = results.get(String(position));
      if (result === undefined) {
        run.settle(index, { ok: false, error: new FanoutError('destination_unavailable', `${this.target.label} did not report on this message; the lane sends it again.`) });
      } else if (result.ok) {
        run.settle(index, { ok: true });
      } else {
        run.settle(index, { ok: false, error: classifyEntryFailure(this.target.label, result.code, result.senderFault) });
      }
    });
  }

  private healthcheckMessage(): SqsMessage {
    const message: SqsMessage = { body: healthcheckBody(new Date()).toString('utf8'), attributes: { type: 'healthcheck', tenant: this.context.tenant } };
    if (this.target.fifo) {
      message.groupId = 'terra-fanout-healthcheck';
      message.deduplicationId = `healthcheck-${randomUUID()}`;
    }
    return message;
  }
}

/** An SQS destination over `clients`. Performs no I/O until check() or send(). */
export function createSqsDestination(config: SqsConfig, clients: SqsClients, context: ConnectorContext): Destination {
  return new SqsDestination(config, clients, context);
}
