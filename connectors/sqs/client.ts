import {
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
  type MessageAttributeValue,
} from '@aws-sdk/client-sqs';
import type { ConnectorContext } from '../../src/connector/contract.js';
import { createClaimCheck } from '../claim-check.js';
import { awsClientSettings } from '../shared/aws-connection.js';
import { deadlineError, withDeadline } from '../shared/call-deadline.js';
import type { ClaimCheck } from '../shared/claim-check.js';
import type { SqsConfig } from './config.js';
import { classifySqsError, type SqsCallPlace } from './destination.js';
import { queueTarget, type SqsEntry, type SqsMessage } from './encode.js';

/** What SQS said about one entry of a SendMessageBatch. */
export type SqsEntryResult = { ok: true } | { ok: false; code: string; senderFault: boolean };

/** The calls the SQS destination makes. Every failure leaves as a FanoutError. */
export interface SqsQueuePort {
  /** `SQS queue <url>` or `SQS queue "name"`, for messages. */
  readonly label: string;
  /** The queue URL: the configured one, or GetQueueUrl once (cached after it succeeds). */
  resolve(signal: AbortSignal): Promise<string>;
  /**
   * One SendMessageBatch (at most 10 entries, 1 MiB). Resolves with a result per entry id that
   * SQS reported; throws a FanoutError when the call as a whole failed (nothing was sent).
   */
  sendBatch(entries: readonly SqsEntry[], signal: AbortSignal): Promise<ReadonlyMap<string, SqsEntryResult>>;
  /** One SendMessage (check()'s healthcheck). */
  send(message: SqsMessage, signal: AbortSignal): Promise<void>;
  /** GetQueueAttributes: the queue exists and the credentials can reach it, without sending anything. */
  describe(signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

/** What an SQS destination is built on: the queue, and the claim check when one is configured. */
export interface SqsClients {
  queue: SqsQueuePort;
  claimCheck: ClaimCheck | undefined;
}

function sdkAttributes(attributes: Readonly<Record<string, string>>): Record<string, MessageAttributeValue> {
  const converted: Record<string, MessageAttributeValue> = {};
  for (const name in attributes) converted[name] = { DataType: 'String', StringValue: attributes[name] };
  return converted;
}

/** A message as the SDK takes it (one object per message, no spreads: this runs for every record). */
function sdkMessage(message: SqsMessage): { MessageBody: string; MessageAttributes: Record<string, MessageAttributeValue>; MessageGroupId?: string; MessageDeduplicationId?: string } {
  const sdk: { MessageBody: string; MessageAttributes: Record<string, MessageAttributeValue>; MessageGroupId?: string; MessageDeduplicationId?: string } = {
    MessageBody: message.body,
    MessageAttributes: sdkAttributes(message.attributes),
  };
  if (message.groupId !== undefined) sdk.MessageGroupId = message.groupId;
  if (message.deduplicationId !== undefined) sdk.MessageDeduplicationId = message.deduplicationId;
  return sdk;
}

/**
 * The SQS port over the AWS SDK v3 (JSON protocol), plus the S3 claim check when configured.
 * The only place the SQS SDK is used.
 */
export function createSqsClients(config: SqsConfig, context: ConnectorContext): SqsClients {
  const target = queueTarget(config);
  const client = new SQSClient(awsClientSettings({ ...config, region: target.region }));
  let region = target.region;
  let resolved: Promise<string> | undefined = target.url === undefined ? undefined : Promise.resolve(target.url);
  let closed = false;

  const placeOf = async (action: string): Promise<SqsCallPlace> => {
    if (region === undefined) region = await client.config.region().catch(() => undefined);
    return { label: target.label, region, endpoint: config.endpoint, action };
  };

  /**
   * Runs one SDK call within timeoutMs (the SDK's own attempts included), aborted through its
   * signal at the deadline or at shutdown; every failure leaves as a FanoutError.
   */
  const call = async <T>(action: string, signal: AbortSignal, run: (abortSignal: AbortSignal) => Promise<T>): Promise<T> => {
    try {
      return await withDeadline(config.timeoutMs, signal, (deadline) => deadline.within(run(deadline.signal), action));
    } catch (error) {
      throw deadlineError(error, target.label) ?? classifySqsError(error, await placeOf(action), signal.aborted);
    }
  };

  const resolve = (signal: AbortSignal): Promise<string> => {
    if (resolved !== undefined) return resolved;
    const lookup = call('sqs:GetQueueUrl', signal, async (abortSignal) => {
      const answer = await client.send(new GetQueueUrlCommand({ QueueName: target.name }), { abortSignal });
      if (answer.QueueUrl === undefined) throw new Error('GetQueueUrl answered without a QueueUrl');
      return answer.QueueUrl;
    });
    resolved = lookup;
    lookup.catch(() => {
      if (resolved === lookup) resolved = undefined;
    });
    return lookup;
  };

  const queue: SqsQueuePort = {
    label: target.label,
    resolve,

    async sendBatch(entries, signal) {
      const queueUrl = await resolve(signal);
      const answer = await call('sqs:SendMessage', signal, (abortSignal) =>
        client.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries.map((entry) => Object.assign(sdkMessage(entry), { Id: entry.id })) }), { abortSignal }),
      );
      const results = new Map<string, SqsEntryResult>();
      for (const success of answer.Successful ?? []) if (success.Id !== undefined) results.set(success.Id, { ok: true });
      for (const failure of answer.Failed ?? []) {
        // SQS sends a JSON boolean; moto a string, which the SDK passes through.
        const senderFault = String(failure.SenderFault) === 'true';
        if (failure.Id !== undefined) results.set(failure.Id, { ok: false, code: failure.Code ?? 'Unknown', senderFault });
      }
      return results;
    },

    async send(message, signal) {
      const queueUrl = await resolve(signal);
      await call('sqs:SendMessage', signal, (abortSignal) => client.send(new SendMessageCommand({ QueueUrl: queueUrl, ...sdkMessage(message) }), { abortSignal }));
    },

    async describe(signal) {
      const queueUrl = await resolve(signal);
      await call('sqs:GetQueueAttributes', signal, (abortSignal) => client.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }), { abortSignal }));
    },

    async close() {
      if (closed) return;
      closed = true;
      // destroy() closes every socket at once; nothing is flushed, so there is nothing to wait for.
      client.destroy();
    },
  };
  return { queue, claimCheck: config.claimCheck === undefined ? undefined : createClaimCheck(config.claimCheck, context) };
}
