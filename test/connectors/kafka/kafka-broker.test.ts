import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { pino } from 'pino';
import { createKafkaOutClient } from '../../../connectors/kafka/client.js';
import { kafkaOutConfigSchema } from '../../../connectors/kafka/config.js';
import { createKafkaDestination, type KafkaDestinationOptions } from '../../../connectors/kafka/destination.js';
import { kafkaOutHeader } from '../../../connectors/kafka/encode.js';
import type { ConnectorContext, Destination, RecordOutcome } from '../../../src/connector/contract.js';
import { FanoutError } from '../../../src/errors/catalogue.js';
import { applyLibrdkafkaMockCompat } from '../../../src/kafka/librdkafka-mock-compat.js';
import type { TerraRecord } from '../../../src/records/record.js';
import { makeActivityBatch, makeDailyRecord, makeRecord } from '../../support/records.js';
import { uniqueName, useKafkaBroker } from '../../support/kafka.js';
import { freePort } from '../../support/server-process.js';
import { createMemoryClaimCheck } from './memory-claim-check.js';
import { readTopics, sequenceByKey } from './read-topics.js';

/**
 * The Kafka destination against the local Kafka-protocol broker (librdkafka's mock cluster, 3
 * brokers), records read back with kafkajs. What the mock cannot show (message size limits,
 * ACLs, SASL, topics that are not auto-created) is covered with kafkajs's own errors in
 * kafka-encode.test.ts.
 */

const kafka = useKafkaBroker();
const context: ConnectorContext = { tenant: 'acme', destination: 'stream', logger: pino({ level: 'silent' }) };
const signal = new AbortController().signal;
const saslPassword = 'sasl-password-never-logged';

before(() => {
  // The worker applies this when its config says kafka.librdkafkaMockCompat; here the destination runs alone.
  applyLibrdkafkaMockCompat();
});

function destinationFor(input: Record<string, unknown>, options: KafkaDestinationOptions = {}): Destination {
  const config = kafkaOutConfigSchema.parse({ brokers: kafka.brokers, connectionTimeoutMs: 1000, ...input });
  return createKafkaDestination(config, createKafkaOutClient(config, context.logger), context, options);
}

function expectedByKey(records: readonly TerraRecord[]): Map<string, string[]> {
  const byKey = new Map<string, string[]>();
  for (const record of records) byKey.set(record.userId ?? '', [...(byKey.get(record.userId ?? '') ?? []), record.identity]);
  return byKey;
}

function errorOf(outcome: RecordOutcome | undefined): FanoutError {
  assert.ok(outcome !== undefined && !outcome.ok, `expected a failure, got ${JSON.stringify(outcome)}`);
  return outcome.error;
}

describe('kafka destination against the local broker', () => {
  it('produces keyed records with their headers to per-type topics; a second send appends the same sequence per user', async () => {
    const prefix = uniqueName('out');
    const claims = createMemoryClaimCheck(600);
    const destination = destinationFor({ topic: `${prefix}.{type}`, payload: { mode: 'auto', maxInlineBytes: 2000 } }, { claimCheck: claims });
    try {
      await destination.check();
      const activities = makeActivityBatch(12, ['u-1', 'u-2', 'u-3']);
      const big = { ...makeRecord({ userId: 'u-2', summaryId: 'big' }), body: Buffer.from(JSON.stringify({ type: 'activity', padding: 'x'.repeat(4000) })) };
      activities.splice(5, 0, big);
      const daily = makeDailyRecord({ userId: 'u-1' });
      const batch = [...activities, daily];
      assert.deepEqual(await destination.send(batch, signal), batch.map(() => ({ ok: true })));
      assert.deepEqual(await destination.send(batch, signal), batch.map(() => ({ ok: true })), 'a replay is accepted again');

      const got = await readTopics(kafka, [`${prefix}.activity`, `${prefix}.daily`, `${prefix}.healthcheck`], 2 * batch.length + 1);
      assert.equal(got.length, 2 * batch.length + 1);
      const health = got.filter((message) => message.topic === `${prefix}.healthcheck`);
      assert.equal(health.length, 1);
      assert.equal(JSON.parse(health[0]?.value ?? '{}').type, 'healthcheck');
      assert.equal(health[0]?.key, null);

      const activity = got.filter((message) => message.topic === `${prefix}.activity`);
      const byRecord = new Map(batch.map((record) => [record.identity, record]));
      for (const message of [...activity, ...got.filter((m) => m.topic === `${prefix}.daily`)]) {
        const record = byRecord.get(String(message.headers[kafkaOutHeader.recordIdentity]));
        assert.ok(record !== undefined, 'every message names its record');
        assert.equal(message.key, record.userId, 'keyed by user id');
        assert.equal(message.headers[kafkaOutHeader.userId], record.userId);
        assert.equal(message.headers[kafkaOutHeader.recordType], record.type);
        assert.equal(message.headers[kafkaOutHeader.tenant], 'acme');
        assert.equal(message.headers[kafkaOutHeader.traceId], record.traceId);
        assert.equal(message.headers[kafkaOutHeader.orderingTimestamp], String(record.orderingTimestampMs));
        assert.equal(message.headers[kafkaOutHeader.terraReference], 'terra-ref-1');
        if (record === big) {
          assert.equal(message.headers[kafkaOutHeader.payload], 'pointer');
          const pointer = JSON.parse(message.value ?? '{}') as Record<string, unknown>;
          assert.deepEqual([pointer['type'], pointer['expires_in'], pointer['identity'], pointer['user_id']], ['s3_payload', 600, big.identity, 'u-2']);
          assert.deepEqual(claims.objects.get(String(pointer['url'])), big.body);
        } else {
          assert.equal(message.headers[kafkaOutHeader.payload], 'inline');
          assert.equal(message.value, record.body.toString(), 'the value is the record, byte for byte');
        }
      }
      for (const user of ['u-1', 'u-2', 'u-3']) {
        const partitions = new Set(activity.filter((message) => message.key === user).map((message) => message.partition));
        assert.equal(partitions.size, 1, `${user}'s records share one partition`);
      }
      const expected = expectedByKey(activities);
      const doubled = new Map([...expected].map(([key, sequence]) => [key, [...sequence, ...sequence]]));
      assert.deepEqual(sequenceByKey(activity), doubled, 'per user: the batch order, then the same sequence again');
    } finally {
      await destination.close();
    }
  });

  it('works without idempotence, with gzip and keyless; auto without a claim check parks only the oversized record', async () => {
    const topic = uniqueName('plain');
    const destination = destinationFor({ topic, idempotent: false, compression: 'gzip', key: 'none', healthcheckTopic: `${topic}.health`, payload: { maxInlineBytes: 2000 } });
    try {
      await destination.check();
      const batch = makeActivityBatch(6, ['u-1', 'u-2']);
      const big = { ...makeRecord({ userId: 'u-1', summaryId: 'big' }), body: Buffer.alloc(3000, 32) };
      batch.splice(3, 0, big);
      const outcomes = await destination.send(batch, signal);
      assert.equal(errorOf(outcomes[3]).code, 'destination_record_too_large');
      assert.deepEqual(outcomes.filter((_, index) => index !== 3), batch.slice(1).map(() => ({ ok: true })));
      const got = await readTopics(kafka, [topic], 6);
      assert.equal(got.length, 6);
      assert.ok(got.every((message) => message.key === null));
      assert.deepEqual(new Set(got.map((message) => message.value)), new Set(batch.filter((record) => record !== big).map((record) => record.body.toString())));
    } finally {
      await destination.close();
    }
  });

  it('SASL against a broker without it is misconfigured; an unreachable broker is retryable; no secret in any message', async () => {
    const sasl = destinationFor({ topic: uniqueName('sasl'), sasl: { mechanism: 'plain', username: 'terra', password: saslPassword } });
    const errors: FanoutError[] = [];
    try {
      await assert.rejects(sasl.check(), (error: unknown) => {
        assert.ok(error instanceof FanoutError);
        assert.equal(error.code, 'destination_misconfigured');
        assert.match(error.message, /SaslHandshake/);
        errors.push(error);
        return true;
      });
      errors.push(errorOf((await sasl.send([makeRecord()], signal))[0]));
    } finally {
      await sasl.close();
    }
    const port = await freePort();
    const gone = destinationFor({ brokers: [`127.0.0.1:${port}`], topic: 'x', connectionTimeoutMs: 500, sasl: { mechanism: 'plain', username: 'terra', password: saslPassword } });
    try {
      const outcomes = await gone.send(makeActivityBatch(2, ['u-1']), signal);
      for (const outcome of outcomes) {
        const error = errorOf(outcome);
        assert.equal(error.code, 'destination_unavailable');
        assert.equal(error.retryable, true);
        errors.push(error);
      }
    } finally {
      await gone.close();
    }
    for (const error of errors) assert.ok(!`${error.message} ${JSON.stringify(error.detail)}`.includes(saslPassword));
  });
});
