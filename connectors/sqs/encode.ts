import { createHash } from 'node:crypto';
import type { TerraRecord } from '../../src/records/record.js';
import { safeUrlLabel } from '../shared/http-errors.js';
import { SQS_MAX_BATCH_BYTES, SQS_MAX_BATCH_ENTRIES, type SqsConfig } from './config.js';

/**
 * Pure mapping for the SQS destination: which queue, what each message carries (body,
 * attributes, FIFO group and deduplication id), how big it is to SQS, and how a batch is cut
 * into SendMessageBatch calls.
 */

/** The queue a config names. */
export interface QueueTarget {
  /** The queue URL when configured; resolved with GetQueueUrl otherwise. */
  url: string | undefined;
  name: string;
  fifo: boolean;
  /** The configured region, else the one in an AWS queue URL (`sqs.<region>.amazonaws.com`). */
  region: string | undefined;
  /** For messages and locations: `SQS queue <url>` or `SQS queue "name"`. */
  label: string;
}

const AWS_QUEUE_HOST = /^sqs\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$|^([a-z0-9-]+)\.queue\.amazonaws\.com(\.cn)?$/;

export function queueTarget(config: Pick<SqsConfig, 'queueUrl' | 'queueName' | 'region'>): QueueTarget {
  if (config.queueUrl !== undefined) {
    const url = new URL(config.queueUrl);
    const name = url.pathname.split('/').filter((part) => part !== '').at(-1) ?? '';
    const host = AWS_QUEUE_HOST.exec(url.hostname);
    const region = config.region ?? host?.[1] ?? host?.[3];
    return { url: config.queueUrl, name, fifo: name.endsWith('.fifo'), region, label: `SQS queue ${safeUrlLabel(config.queueUrl)}` };
  }
  const name = config.queueName ?? '';
  return { url: undefined, name, fifo: name.endsWith('.fifo'), region: config.region, label: `SQS queue "${name}"` };
}

/** Where a record lands (what locate() and check-event show): the queue and the record identity. */
export function sqsLocation(config: Pick<SqsConfig, 'queueUrl' | 'queueName' | 'region'>, record: TerraRecord): string {
  return `${queueTarget(config).label}#${record.identity}`;
}

/** One message as the port sends it. Attributes are all of SQS type String. */
export interface SqsMessage {
  body: string;
  attributes: Readonly<Record<string, string>>;
  /** FIFO only. */
  groupId?: string;
  /** FIFO only. */
  deduplicationId?: string;
}

/** A message in a SendMessageBatch; `id` is unique within the batch. */
export interface SqsEntry extends SqsMessage {
  id: string;
}

/**
 * The message attributes a consumer can route on without reading the body: `type`, `user_id`
 * (absent when the record has no user), `tenant`, `identity`, and `content_type` when the
 * destination has a `format:` other than terra (the record body's type, inline or behind a pointer).
 */
export function messageAttributes(record: TerraRecord, tenant: string): Record<string, string> {
  const attributes: Record<string, string> = { type: record.type };
  if (record.userId !== null && record.userId !== '') attributes['user_id'] = record.userId;
  attributes['tenant'] = tenant;
  attributes['identity'] = record.identity;
  if (record.encoding !== undefined) attributes['content_type'] = record.encoding.contentType;
  return attributes;
}

const STRING_TYPE_BYTES = Buffer.byteLength('String');

/** What attributes count toward the message size: name, data type and value of each. */
export function attributesBytes(attributes: Readonly<Record<string, string>>): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(attributes)) bytes += Buffer.byteLength(name) + STRING_TYPE_BYTES + Buffer.byteLength(value);
  return bytes;
}

/** A message's size as SQS counts it against the 1 MiB limits: body plus attributes. */
export function messageBytes(message: SqsMessage): number {
  return Buffer.byteLength(message.body) + attributesBytes(message.attributes);
}

/** Characters SQS accepts in a body: #x9 #xA #xD #x20-#xD7FF #xE000-#xFFFD #x10000-#x10FFFF. */
const REFUSED_CHARACTERS = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

/**
 * The body as SQS text. JSON bodies can only hold a refused character (U+FFFE, U+FFFF) inside a
 * string, where the \uXXXX escape means the same: the JSON value is unchanged.
 */
export function sqsBody(body: Buffer): string {
  const text = body.toString('utf8');
  return text.replace(REFUSED_CHARACTERS, (character) => {
    let escaped = '';
    for (let i = 0; i < character.length; i += 1) escaped += `\\u${character.charCodeAt(i).toString(16).padStart(4, '0')}`;
    return escaped;
  });
}

/** Characters SQS allows in MessageGroupId and MessageDeduplicationId, at most 128 of them. */
const ID_CHARACTERS = /[^A-Za-z0-9!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/g;
const MAX_ID_LENGTH = 128;

function sqsId(value: string): string {
  const cleaned = value.replace(ID_CHARACTERS, '_');
  return cleaned.length <= MAX_ID_LENGTH ? cleaned : createHash('sha256').update(value).digest('hex');
}

/**
 * FIFO MessageGroupId: the user id (one user's records stay in order, users go in parallel) or
 * the tenant. A record without a user gets a group of its own.
 */
export function messageGroupId(groupBy: SqsConfig['messageGroupBy'], record: TerraRecord, tenant: string): string {
  if (groupBy === 'tenant') return sqsId(tenant);
  return sqsId(record.userId === null || record.userId === '' ? `record-${record.identity}` : record.userId);
}

/**
 * FIFO MessageDeduplicationId: the record identity and its ordering timestamp. A replay of the
 * same Kafka message (same identity, same X-Terra-Ordering-Timestamp or Kafka timestamp) is
 * dropped by SQS within its 5-minute window; a newer version of the same record (Terra resends
 * supersets) has a newer timestamp and is delivered, not mistaken for a duplicate.
 */
export function deduplicationId(record: TerraRecord): string {
  return `${record.identity}-${record.orderingTimestampMs}`;
}

/** The message for a record whose body form (inline or pointer) is already chosen. */
export function sqsMessage(body: Buffer, record: TerraRecord, options: { tenant: string; fifo: boolean; groupBy: SqsConfig['messageGroupBy'] }): SqsMessage {
  const message: SqsMessage = { body: sqsBody(body), attributes: messageAttributes(record, options.tenant) };
  if (options.fifo) {
    message.groupId = messageGroupId(options.groupBy, record, options.tenant);
    message.deduplicationId = deduplicationId(record);
  }
  return message;
}

/**
 * Cuts messages (by their sizes, in order) into SendMessageBatch calls of at most 10 entries and
 * 1 MiB. Every size is at most the message limit, so every message fits a batch of its own.
 */
export function planBatches(sizes: readonly number[], limits = { maxEntries: SQS_MAX_BATCH_ENTRIES, maxBytes: SQS_MAX_BATCH_BYTES }): number[][] {
  const batches: number[][] = [];
  let current: number[] = [];
  let bytes = 0;
  sizes.forEach((size, index) => {
    if (current.length > 0 && (current.length >= limits.maxEntries || bytes + size > limits.maxBytes)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(index);
    bytes += size;
  });
  if (current.length > 0) batches.push(current);
  return batches;
}

/** The Terra healthcheck event check() sends, shaped like the ones Terra sends to SQS destinations. */
export function healthcheckBody(now: Date): Buffer {
  return Buffer.from(JSON.stringify({ type: 'healthcheck', status: 'success', creation_timestamp: now.toISOString(), trend_percentage: 0, sent_webhooks_last_hour: 0 }));
}
