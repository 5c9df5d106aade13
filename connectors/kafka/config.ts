import { z } from 'zod';
import { strictObject } from '../../src/config/strict-object.js';
import { brokerEntrySchema, saslSchema, sslSchema } from '../../src/config/worker-schema.js';
import { claimCheckConfigSchema } from '../claim-check.js';
import { payloadSettingsSchema } from '../shared/payload-mode.js';
import { topicTemplateFields, topicTemplateProblems } from './encode.js';

/** Kafka's default message.max.bytes is 1,048,588; this leaves room for the key, headers and batch overhead. */
export const DEFAULT_MAX_INLINE_BYTES = 1_000_000;

const TOPIC = /^[A-Za-z0-9._-]{1,249}$/;

function milliseconds(description: string, fallback: number) {
  return z.number().int().positive().default(fallback).meta({ description: `${description} Milliseconds.`, examples: [fallback] });
}

/**
 * The `config:` block of a `type: kafka` destination. The cluster settings (brokers, ssl, sasl)
 * have the same shape as the worker file's `kafka:` block; they are the destination's own, so
 * it can write to another cluster, or to the same one with other credentials.
 */
export const kafkaOutConfigSchema = strictObject({
  brokers: z
    .array(brokerEntrySchema)
    .min(1)
    .meta({ description: 'Bootstrap brokers of the cluster records are produced to, host:port. May be the cluster terra-fanout reads from.', examples: [['kafka-1:9092', 'kafka-2:9092'], ['${OUT_KAFKA_BROKERS:-127.0.0.1:9092}']] })
    .transform((entries) => entries.flat()),
  clientId: z.string().min(1).default('terra-fanout').meta({ description: 'Kafka client id of the producer, shown in broker logs and quotas.', examples: ['terra-fanout-out'] }),
  ssl: z
    .union([z.boolean(), sslSchema], { error: () => 'expected true, false, or a mapping of ca, cert, key, rejectUnauthorized' })
    .default(false)
    .meta({ description: 'TLS to the brokers: true for TLS with the system trust store, or a mapping for a private CA or mutual TLS.', examples: [true, { ca: '/etc/kafka/ca.pem' }] }),
  sasl: saslSchema
    .optional()
    .meta({ description: 'SASL authentication. Leave out when the brokers do not authenticate clients.', examples: [{ mechanism: 'plain', username: 'terra-fanout', password: '${OUT_KAFKA_PASSWORD}' }] }),
  topic: z
    .string()
    .superRefine((template, context) => {
      for (const message of topicTemplateProblems(template)) context.addIssue({ code: 'custom', message });
    })
    .meta({
      description: `Topic each record is produced to; a template. Fields: ${Object.keys(topicTemplateFields)
        .map((field) => `{${field}}`)
        .join(' ')}. Substituted characters Kafka does not allow become "_".`,
      examples: ['terra.events', 'terra.{type}', 'terra.{tenant}.{type}'],
    }),
  healthcheckTopic: z
    .string()
    .regex(TOPIC, 'expected a Kafka topic name: 1 to 249 letters, digits, dot, underscore or dash')
    .optional()
    .meta({ description: 'Topic check() writes a Terra healthcheck event to at start, proving write access. Default: the topic template with {type} = healthcheck.', examples: ['terra.healthcheck'] }),
  key: z
    .enum(['user_id', 'identity', 'none'])
    .default('user_id')
    .meta({
      description: 'Message key. user_id: one user\'s records share a partition and keep their order (records without a user are keyed by identity). identity: the record identity. none: keyless, as Terra sends.',
      examples: ['user_id'],
    }),
  unit: z
    .enum(['record', 'event'])
    .default('record')
    .meta({ description: 'record: one message per data item, a valid Terra event with one item. event: one message per event, exactly as received.', examples: ['record', 'event'] }),
  payload: payloadSettingsSchema({ defaultMaxInlineBytes: DEFAULT_MAX_INLINE_BYTES, limitName: "the topic's max.message.bytes (broker default 1,048,588)" }),
  claimCheck: claimCheckConfigSchema.optional(),
  compression: z
    .enum(['none', 'gzip'])
    .default('none')
    .meta({ description: 'Compression of produced batches. gzip costs CPU here and saves bandwidth and broker disk (JSON shrinks 4-5x).', examples: ['none', 'gzip'] }),
  idempotent: z
    .boolean()
    .default(true)
    .meta({
      description:
        'Idempotent producer (one request in flight per broker, broker-side dedup of retried batches). When the cluster does not support it, the destination logs a warning and produces without it.',
      examples: [true],
    }),
  allowAutoTopicCreation: z
    .boolean()
    .default(true)
    .meta({ description: 'Ask the broker to create a missing topic (works when the broker has auto.create.topics.enable). false: a missing topic is destination_not_found.', examples: [true] }),
  connectionTimeoutMs: milliseconds('How long to wait for a broker connection.', 3000),
  requestTimeoutMs: milliseconds('How long to wait for a broker to acknowledge a produce request (acks=all).', 30000),
  timeoutMs: milliseconds(
    "Longest time one send may take in all: connecting the producer, kafkajs's own retries and the acknowledgement of every message. Past it the records fail as destination_timeout (retried) and the producer is replaced, never reused (a message may then arrive twice: the destination is at-least-once).",
    60000,
  ),
}).meta({ description: 'Settings of a Kafka destination: the cluster, topic, key and payload form. See connectors/kafka/README.md.' });

export type KafkaOutConfig = z.infer<typeof kafkaOutConfigSchema>;
