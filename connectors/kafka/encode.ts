import { FanoutError } from '../../src/errors/catalogue.js';
import type { TerraRecord } from '../../src/records/record.js';
import type { KafkaOutConfig } from './config.js';

/**
 * Pure mapping from a record to the Kafka message it becomes: topic, key, headers and value.
 * The value is chosen by connectors/shared/payload-mode.ts (the record inline, or Terra's
 * s3_payload pointer); everything else is decided here.
 */

/** One message to produce. Messages with the same key go to the same partition, in order. */
export interface KafkaOutMessage {
  key: Buffer | null;
  value: Buffer;
  headers: Record<string, string>;
}

/** Headers terra-fanout sets on every message (names as Kafka stores them; case-sensitive). */
export const kafkaOutHeader = {
  /** The same names as the dead-letter headers (src/lane/dead-letter.ts) where they mean the same. */
  recordType: 'x-terra-fanout-record-type',
  recordIdentity: 'x-terra-fanout-record-identity',
  tenant: 'x-terra-fanout-tenant',
  userId: 'x-terra-fanout-user-id',
  /** `inline` or `pointer`: which form the value has. */
  payload: 'x-terra-fanout-payload',
  /** With a `format:` other than terra: the record body's media type (inline, or behind the pointer). */
  contentType: 'x-terra-fanout-content-type',
  /** Terra's own delivery headers (reference/terra-delivery-spec.md section 1.2), as the webhook destination sends them. */
  terraReference: 'terra-reference',
  traceId: 'X-Terra-Trace-Id',
  orderingTimestamp: 'X-Terra-Ordering-Timestamp',
} as const;

/** The fields a topic template may use. */
export const topicTemplateFields = {
  type: 'The Terra event type, e.g. activity, sleep, auth, athlete.registered.',
  kind: 'data, user (auth-like events) or teams.',
  provider: 'The provider as Terra sends it, e.g. GARMIN (none when the record has no provider).',
  tenant: 'The tenant name from the tenant file.',
} as const;

type TopicField = keyof typeof topicTemplateFields;
type TopicPart = { literal: string } | { field: TopicField };

/** Characters Kafka allows in a topic name. */
const TOPIC_CHARS = /^[A-Za-z0-9._-]*$/;
const MAX_TOPIC_LENGTH = 249;

function isTopicField(name: string): name is TopicField {
  return Object.hasOwn(topicTemplateFields, name);
}

/** Parses `terra.{type}` into parts; returns every problem at once. */
function parseTopicTemplate(template: string): { parts: TopicPart[]; problems: string[] } {
  const parts: TopicPart[] = [];
  const problems: string[] = [];
  if (template.length === 0) return { parts, problems: ['topic must not be empty.'] };
  for (const piece of template.split(/(\{[^{}]*\})/)) {
    if (piece === '') continue;
    const field = /^\{([^{}]*)\}$/.exec(piece)?.[1];
    if (field === undefined) {
      if (/[{}]/.test(piece)) problems.push('topic has an unbalanced "{" or "}".');
      else if (!TOPIC_CHARS.test(piece)) problems.push(`topic text "${piece}" may only use letters, digits, ".", "_" and "-".`);
      else parts.push({ literal: piece });
    } else if (isTopicField(field)) {
      parts.push({ field });
    } else {
      problems.push(`topic uses an unknown field {${field}}; known fields: ${Object.keys(topicTemplateFields).map((name) => `{${name}}`).join(' ')}.`);
    }
  }
  const literal = parts.every((part) => 'literal' in part);
  if (problems.length === 0 && literal && (template.length > MAX_TOPIC_LENGTH || template === '.' || template === '..')) {
    problems.push(`topic "${template}" is not a valid Kafka topic name (at most ${MAX_TOPIC_LENGTH} characters, not "." or "..").`);
  }
  return { parts, problems };
}

/** Problems with a topic template, for the config schema. */
export function topicTemplateProblems(template: string): string[] {
  return parseTopicTemplate(template).problems;
}

/** A substituted value: characters Kafka does not allow become `_`; a missing value is `none`. */
function topicValue(value: string | null): string {
  if (value === null || value === '') return 'none';
  return value.replace(/[^A-Za-z0-9._-]/g, '_');
}

function fieldValue(field: TopicField, record: TerraRecord, tenant: string): string {
  switch (field) {
    case 'type':
      return topicValue(record.type);
    case 'kind':
      return record.kind;
    case 'provider':
      return topicValue(record.provider);
    case 'tenant':
      return topicValue(tenant);
  }
}

const compiledTopics = new Map<string, readonly TopicPart[]>();

/**
 * The topic a record goes to: `config.topic` with its fields filled in. Throws
 * destination_misconfigured when the template is invalid (the schema rejects those) or the
 * rendered name is not a valid topic (too long, `.` or `..`).
 */
export function kafkaTopic(config: Pick<KafkaOutConfig, 'topic'>, record: TerraRecord, tenant: string): string {
  let parts = compiledTopics.get(config.topic);
  if (parts === undefined) {
    const parsed = parseTopicTemplate(config.topic);
    if (parsed.problems.length > 0) throw new FanoutError('destination_misconfigured', `Invalid topic template: ${parsed.problems.join(' ')}`);
    parts = parsed.parts;
    if (compiledTopics.size >= 100) compiledTopics.clear();
    compiledTopics.set(config.topic, parts);
  }
  const topic = parts.map((part) => ('literal' in part ? part.literal : fieldValue(part.field, record, tenant))).join('');
  if (topic.length > MAX_TOPIC_LENGTH || topic === '.' || topic === '..') {
    throw new FanoutError('destination_misconfigured', `The topic template "${config.topic}" gives an invalid Kafka topic name for a ${record.type} record (at most ${MAX_TOPIC_LENGTH} characters, not "." or "..").`);
  }
  return topic;
}

/**
 * The message key as text: the user id by default (one user's records share a partition and keep
 * their order), the record identity, or none (Terra's keyless sends). A record without a user id
 * (auth_cancelled, healthcheck) is keyed by its identity.
 */
export function kafkaKey(config: Pick<KafkaOutConfig, 'key'>, record: TerraRecord): string | null {
  switch (config.key) {
    case 'user_id':
      return record.userId ?? record.identity;
    case 'identity':
      return record.identity;
    case 'none':
      return null;
  }
}

/** The headers of a record's message: what it is, whose it is, and Terra's delivery headers. */
export function kafkaHeaders(record: TerraRecord, tenant: string, form: 'inline' | 'pointer'): Record<string, string> {
  const headers: Record<string, string> = {
    [kafkaOutHeader.recordType]: record.type,
    [kafkaOutHeader.recordIdentity]: record.identity,
    [kafkaOutHeader.tenant]: tenant,
    [kafkaOutHeader.payload]: form,
    [kafkaOutHeader.traceId]: record.traceId,
    [kafkaOutHeader.orderingTimestamp]: String(record.orderingTimestampMs),
  };
  if (record.userId !== null) headers[kafkaOutHeader.userId] = record.userId;
  if (record.encoding !== undefined) headers[kafkaOutHeader.contentType] = record.encoding.contentType;
  if (record.terraReference !== null) headers[kafkaOutHeader.terraReference] = record.terraReference;
  return headers;
}

/** Pure: the message a record becomes, given the value payload-mode chose for it. */
export function encodeKafkaMessage(config: Pick<KafkaOutConfig, 'key'>, record: TerraRecord, tenant: string, payload: { form: 'inline' | 'pointer'; body: Buffer }): KafkaOutMessage {
  const key = kafkaKey(config, record);
  return { key: key === null ? null : Buffer.from(key), value: payload.body, headers: kafkaHeaders(record, tenant, payload.form) };
}

/** Bytes a message puts on the wire, near enough to keep requests under the broker's limit. */
export function messageBytes(message: KafkaOutMessage): number {
  let bytes = message.value.length + (message.key?.length ?? 0);
  for (const [name, value] of Object.entries(message.headers)) bytes += name.length + Buffer.byteLength(value);
  return bytes;
}

/**
 * Where a record lands (what `locate()` returns): `<topic>/<key>#<identity>`, or `<topic>#<identity>`
 * for keyless messages. A consumer dedupes on the identity header; the key says which partition.
 */
export function kafkaLocation(topic: string, key: string | null, identity: string): string {
  return key === null ? `${topic}#${identity}` : `${topic}/${encodeURIComponent(key)}#${identity}`;
}

/**
 * Pure: the Terra healthcheck event check() produces, shaped like the ones Terra sends to its
 * SQS and Kafka destinations. Keyless, with a type header and no identity: it is not a record.
 */
export function encodeHealthcheck(now: Date, tenant: string): KafkaOutMessage {
  const event = { type: 'healthcheck', status: 'success', creation_timestamp: now.toISOString(), trend_percentage: 0, sent_webhooks_last_hour: 0 };
  return {
    key: null,
    value: Buffer.from(JSON.stringify(event)),
    headers: { [kafkaOutHeader.recordType]: 'healthcheck', [kafkaOutHeader.tenant]: tenant, [kafkaOutHeader.payload]: 'inline' },
  };
}

/** The topic check() writes its healthcheck to: `healthcheckTopic`, else the template rendered for type `healthcheck`. */
export function healthcheckTopic(config: Pick<KafkaOutConfig, 'topic' | 'healthcheckTopic'>, tenant: string): string {
  if (config.healthcheckTopic !== undefined) return config.healthcheckTopic;
  const parts = parseTopicTemplate(config.topic);
  if (parts.problems.length > 0) throw new FanoutError('destination_misconfigured', `Invalid topic template: ${parts.problems.join(' ')}`);
  const values: Record<TopicField, string> = { type: 'healthcheck', kind: 'user', provider: 'none', tenant: topicValue(tenant) };
  return parts.parts.map((part) => ('literal' in part ? part.literal : values[part.field])).join('');
}
