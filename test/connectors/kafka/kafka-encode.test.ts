import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { describe, it } from 'node:test';
import kafkajs from 'kafkajs';
import { idempotenceUnsupported, kafkaErrorFacts } from '../../../connectors/kafka/client.js';
import { DEFAULT_MAX_INLINE_BYTES, kafkaOutConfigSchema } from '../../../connectors/kafka/config.js';
import { classifyKafkaError } from '../../../connectors/kafka/destination.js';
import {
  encodeHealthcheck,
  encodeKafkaMessage,
  healthcheckTopic,
  kafkaKey,
  kafkaLocation,
  kafkaOutHeader,
  kafkaTopic,
  messageBytes,
} from '../../../connectors/kafka/encode.js';
import { kafkaConnector } from '../../../connectors/kafka/index.js';
import { FanoutError } from '../../../src/errors/catalogue.js';
import { makeRecord, makeTeamsRecord, makeUserEventRecord } from '../../support/records.js';

// kafkajs is CommonJS and spreads its error classes into module.exports: no named ESM imports.
const { KafkaJSConnectionError, KafkaJSNonRetriableError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError, KafkaJSRequestTimeoutError, KafkaJSServerDoesNotSupportApiKey } = kafkajs;

/** kafkajs's typings give KafkaJSSASLAuthenticationError no constructor argument; this is what it throws. */
function saslError(message: string): Error {
  return Object.assign(new Error(message), { name: 'KafkaJSSASLAuthenticationError', retriable: false });
}

const base = { brokers: ['127.0.0.1:9092'], topic: 'terra.{type}' };

/** A Kafka protocol error as kafkajs builds it from a response code. */
function protocolError(type: string, code: number, retriable: boolean): Error {
  return new KafkaJSProtocolError(Object.assign(new Error(`${type} from the broker`), { type, code, retriable }));
}

/** What kafkajs's retrier throws for a non-retriable error: a wrapper with the original as `cause`. */
function bailed(error: Error): Error {
  return Object.assign(new KafkaJSNonRetriableError(error), { cause: error });
}

const target = { target: 'Kafka topic "terra.activity"', allowAutoTopicCreation: true };

describe('kafka config', () => {
  it('applies defaults: key by user id, record unit, auto payload under 1 MB, idempotent, acks-all producer settings', () => {
    const config = kafkaOutConfigSchema.parse(base);
    assert.equal(config.key, 'user_id');
    assert.equal(config.unit, 'record');
    assert.deepEqual(config.payload, { mode: 'auto', maxInlineBytes: DEFAULT_MAX_INLINE_BYTES });
    assert.equal(config.idempotent, true);
    assert.equal(config.compression, 'none');
    assert.equal(config.allowAutoTopicCreation, true);
    assert.equal(config.ssl, false);
    assert.equal(config.sasl, undefined);
    assert.equal(config.clientId, 'terra-fanout');
  });

  it('reads brokers like the worker file (comma lists) and byte sizes with units', () => {
    const config = kafkaOutConfigSchema.parse({ ...base, brokers: ['a:9092,b:9093', 'c:9094'], payload: { maxInlineBytes: '256KiB', mode: 'inline' } });
    assert.deepEqual(config.brokers, ['a:9092', 'b:9093', 'c:9094']);
    assert.deepEqual(config.payload, { mode: 'inline', maxInlineBytes: 256 * 1024 });
  });

  it('rejects bad topics, unknown template fields, bad brokers and unknown keys, reporting each', () => {
    const problems = (input: Record<string, unknown>): string[] => {
      const parsed = kafkaOutConfigSchema.safeParse(input);
      assert.equal(parsed.success, false, JSON.stringify(input));
      return parsed.error?.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`) ?? [];
    };
    assert.match(problems({ ...base, topic: 'terra/{type}' }).join(), /topic: topic text "terra\/" may only use/);
    assert.match(problems({ ...base, topic: 'terra.{user_id}' }).join(), /unknown field \{user_id\}; known fields: \{type\} \{kind\} \{provider\} \{tenant\}/);
    assert.match(problems({ ...base, topic: 'terra.{type' }).join(), /unbalanced/);
    assert.match(problems({ ...base, topic: '' }).join(), /must not be empty/);
    assert.match(problems({ ...base, topic: 'x'.repeat(250) }).join(), /not a valid Kafka topic name/);
    assert.match(problems({ ...base, brokers: ['no-port'] }).join(), /brokers\.0: expected host:port/);
    assert.match(problems({ ...base, key: 'reference_id' }).join(), /key:/);
    assert.match(problems({ ...base, acks: 1 }).join(), /acks/);
    assert.match(problems({ ...base, healthcheckTopic: 'bad topic' }).join(), /healthcheckTopic/);
    assert.match(problems({ ...base, payload: { mode: 'sometimes' } }).join(), /payload\.mode/);
    assert.match(problems({ ...base, payload: { maxInlineBytes: 'lots' } }).join(), /payload\.maxInlineBytes: not a valid byte size/);
  });

  it('keeps the SASL password and TLS key out of printed config', () => {
    const config = kafkaOutConfigSchema.parse({
      ...base,
      ssl: { ca: '/etc/kafka/ca.pem', key: 'tls-private-key-value' },
      sasl: { mechanism: 'scram-sha-256', username: 'terra', password: 'sasl-password-value' },
    });
    const printed = `${JSON.stringify(config)} ${inspect(config, { depth: 10 })}`;
    assert.ok(!printed.includes('sasl-password-value'));
    assert.ok(!printed.includes('tls-private-key-value'));
    assert.equal(config.sasl?.password.reveal(), 'sasl-password-value');
  });
});

describe('kafka encode', () => {
  const config = kafkaOutConfigSchema.parse(base);

  it('renders the topic template per record; values Kafka does not allow become _', () => {
    const activity = makeRecord();
    assert.equal(kafkaTopic(config, activity, 'acme'), 'terra.activity');
    const all = kafkaOutConfigSchema.parse({ ...base, topic: 'out.{tenant}.{kind}.{provider}.{type}' });
    assert.equal(kafkaTopic(all, activity, 'acme'), 'out.acme.data.GARMIN.activity');
    assert.equal(kafkaTopic(all, makeTeamsRecord(), 'acme'), 'out.acme.teams.VALD.test.retrieved');
    assert.equal(kafkaTopic(all, makeRecord({ provider: 'WEIRD PROVIDER/1' }), 'acme'), 'out.acme.data.WEIRD_PROVIDER_1.activity');
    assert.equal(kafkaTopic(all, makeUserEventRecord({ provider: null }), 'acme'), 'out.acme.user.none.auth');
    assert.equal(kafkaTopic(kafkaOutConfigSchema.parse({ ...base, topic: 'fixed' }), activity, 'acme'), 'fixed');
  });

  it('refuses to render a topic name Kafka cannot hold', () => {
    const long = kafkaOutConfigSchema.parse({ ...base, topic: `${'x'.repeat(245)}.{type}` });
    assert.throws(() => kafkaTopic(long, makeRecord(), 'acme'), (error: unknown) => error instanceof FanoutError && error.code === 'destination_misconfigured');
  });

  it('keys by user id by default (identity when there is no user), by identity, or not at all', () => {
    const record = makeRecord({ userId: 'user-7' });
    assert.equal(kafkaKey(config, record), 'user-7');
    assert.equal(kafkaKey(config, makeRecord({ userId: null })), makeRecord({ userId: null }).identity);
    assert.equal(kafkaKey({ key: 'identity' }, record), record.identity);
    assert.equal(kafkaKey({ key: 'none' }, record), null);
  });

  it('carries type, identity, tenant, user id, payload form and Terra headers; the value unchanged', () => {
    const record = makeRecord({ userId: 'user-7' });
    const message = encodeKafkaMessage(config, record, 'acme', { form: 'inline', body: record.body });
    assert.equal(message.key?.toString(), 'user-7');
    assert.equal(message.value, record.body);
    assert.deepEqual(message.headers, {
      'x-terra-fanout-record-type': 'activity',
      'x-terra-fanout-record-identity': record.identity,
      'x-terra-fanout-tenant': 'acme',
      'x-terra-fanout-user-id': 'user-7',
      'x-terra-fanout-payload': 'inline',
      'X-Terra-Trace-Id': record.traceId,
      'X-Terra-Ordering-Timestamp': String(record.orderingTimestampMs),
      'terra-reference': 'terra-ref-1',
    });
    const bare = encodeKafkaMessage({ key: 'none' }, makeRecord({ userId: null, terraReference: null }), 'acme', { form: 'pointer', body: Buffer.from('{}') });
    assert.equal(bare.key, null);
    assert.equal(bare.headers[kafkaOutHeader.userId], undefined);
    assert.equal(bare.headers[kafkaOutHeader.terraReference], undefined);
    assert.equal(bare.headers[kafkaOutHeader.payload], 'pointer');
    assert.ok(messageBytes(message) > record.body.length + 'user-7'.length + 200);
  });

  it('locates a record at <topic>/<key>#<identity>, which is what locate() reports', () => {
    const record = makeRecord({ userId: 'user/7' });
    assert.equal(kafkaLocation('terra.activity', 'user/7', record.identity), `terra.activity/user%2F7#${record.identity}`);
    assert.equal(kafkaLocation('t', null, 'abc'), 't#abc');
    assert.equal(kafkaConnector.locate(config, record, 'acme'), `terra.activity/user%2F7#${record.identity}`);
  });

  it('builds a keyless Terra healthcheck for check(), to healthcheckTopic or the template with type healthcheck', () => {
    const message = encodeHealthcheck(new Date('2026-07-01T08:00:00Z'), 'acme');
    assert.equal(message.key, null);
    assert.deepEqual(JSON.parse(message.value.toString()), { type: 'healthcheck', status: 'success', creation_timestamp: '2026-07-01T08:00:00.000Z', trend_percentage: 0, sent_webhooks_last_hour: 0 });
    assert.equal(message.headers[kafkaOutHeader.recordType], 'healthcheck');
    assert.equal(message.headers[kafkaOutHeader.recordIdentity], undefined);
    assert.equal(healthcheckTopic(config, 'acme'), 'terra.healthcheck');
    assert.equal(healthcheckTopic(kafkaOutConfigSchema.parse({ ...base, topic: '{tenant}.{type}', healthcheckTopic: 'hc' }), 'acme'), 'hc');
    assert.equal(healthcheckTopic(kafkaOutConfigSchema.parse({ ...base, topic: '{tenant}.{type}' }), 'acme'), 'acme.healthcheck');
  });
});

describe('kafka error classification', () => {
  const code = (error: unknown, context = target): string => classifyKafkaError(error, context).code;
  const exhausted = (cause: Error): Error => new KafkaJSNumberOfRetriesExceeded(cause, { retryCount: 5, retryTime: 1000 });

  it('connection failures, timeouts and exhausted retries are retryable', () => {
    const refused = new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:1', { broker: '127.0.0.1:1', code: 'ECONNREFUSED' });
    assert.equal(code(refused), 'destination_unavailable');
    assert.equal(code(exhausted(refused)), 'destination_unavailable');
    assert.equal(code(exhausted(protocolError('NOT_LEADER_FOR_PARTITION', 6, true))), 'destination_unavailable');
    assert.equal(code(exhausted(protocolError('NOT_ENOUGH_REPLICAS', 19, true))), 'destination_unavailable');
    assert.equal(code(new KafkaJSRequestTimeoutError('Request Produce(key: 0, version: 7) timed out')), 'destination_timeout');
    assert.equal(code(exhausted(protocolError('REQUEST_TIMED_OUT', 7, true))), 'destination_timeout');
    for (const error of [refused, exhausted(refused), new KafkaJSRequestTimeoutError('timed out')]) assert.equal(classifyKafkaError(error, target).retryable, true);
  });

  it('too large, auth, a missing topic without auto-creation and refused records are permanent, saying what to fix', () => {
    const tooLarge = classifyKafkaError(bailed(protocolError('MESSAGE_TOO_LARGE', 10, false)), target);
    assert.equal(tooLarge.code, 'destination_record_too_large');
    assert.match(tooLarge.message, /max\.message\.bytes|maxInlineBytes/);
    assert.equal(code(protocolError('RECORD_LIST_TOO_LARGE', 18, false)), 'destination_record_too_large');
    const acl = classifyKafkaError(protocolError('TOPIC_AUTHORIZATION_FAILED', 29, false), target);
    assert.equal(acl.code, 'destination_auth_failed');
    assert.match(acl.message, /grant Write and Describe/);
    assert.equal(code(bailed(saslError('SASL SCRAM SHA512 authentication failed: wrong password'))), 'destination_auth_failed');
    assert.equal(code(protocolError('CLUSTER_AUTHORIZATION_FAILED', 31, false)), 'destination_auth_failed');
    const missing = exhausted(protocolError('UNKNOWN_TOPIC_OR_PARTITION', 3, true));
    assert.equal(code(missing, { ...target, allowAutoTopicCreation: false }), 'destination_not_found');
    assert.equal(code(missing, target), 'destination_unavailable', 'with auto-creation the topic may still be on its way');
    assert.equal(code(protocolError('INVALID_TOPIC_EXCEPTION', 17, false)), 'destination_misconfigured');
    assert.equal(code(protocolError('POLICY_VIOLATION', 44, false)), 'destination_rejected');
    assert.equal(code(new KafkaJSServerDoesNotSupportApiKey('The Kafka server does not support the requested API version', { apiKey: 17, apiName: 'SaslHandshake' })), 'destination_misconfigured');
  });

  it('a producer closing under a send is retryable, not a refusal', () => {
    const closing = new KafkaJSNonRetriableError("The producer is disconnecting; therefore, it can't safely accept messages anymore");
    assert.equal(code(closing), 'destination_unavailable');
  });

  it('keeps FanoutErrors, and treats anything that is not from kafkajs as a programming error', () => {
    const own = new FanoutError('destination_timeout', 'x');
    assert.equal(classifyKafkaError(own, target), own);
    assert.equal(code(new TypeError('Cannot read properties of undefined')), 'internal_error');
  });

  it('reads the cause chain of wrapped errors', () => {
    const facts = kafkaErrorFacts(exhausted(protocolError('UNKNOWN_TOPIC_OR_PARTITION', 3, true)));
    assert.deepEqual(facts.names, ['KafkaJSNumberOfRetriesExceeded', 'KafkaJSProtocolError']);
    assert.deepEqual(facts.types, ['UNKNOWN_TOPIC_OR_PARTITION']);
    assert.equal(facts.retriable, true);
    assert.equal(facts.messages.length, 2);
  });

  it('falls back from idempotence only when the cluster does not offer it', () => {
    assert.equal(idempotenceUnsupported(bailed(new KafkaJSServerDoesNotSupportApiKey('unsupported', { apiKey: 22, apiName: 'InitProducerId' }))), true);
    assert.equal(idempotenceUnsupported(bailed(protocolError('CLUSTER_AUTHORIZATION_FAILED', 31, false))), true);
    assert.equal(idempotenceUnsupported(protocolError('UNSUPPORTED_VERSION', 35, false)), true);
    assert.equal(idempotenceUnsupported(new KafkaJSServerDoesNotSupportApiKey('unsupported', { apiKey: 17, apiName: 'SaslHandshake' })), false);
    assert.equal(idempotenceUnsupported(new KafkaJSConnectionError('Connection error: connect ECONNREFUSED')), false);
    assert.equal(idempotenceUnsupported(saslError('SASL PLAIN authentication failed')), false);
  });
});
