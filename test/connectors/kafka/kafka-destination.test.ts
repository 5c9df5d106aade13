import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import type { KafkaOutPort } from '../../../connectors/kafka/client.js';
import { kafkaOutConfigSchema } from '../../../connectors/kafka/config.js';
import { createKafkaDestination } from '../../../connectors/kafka/destination.js';
import { encodeKafkaMessage, kafkaOutHeader, messageBytes, type KafkaOutMessage } from '../../../connectors/kafka/encode.js';
import { createMemoryKafkaOutPort } from '../../../connectors/kafka/memory-client.js';
import type { ConnectorContext, RecordOutcome } from '../../../src/connector/contract.js';
import { FanoutError } from '../../../src/errors/catalogue.js';
import type { TerraRecord } from '../../../src/records/record.js';
import { makeActivityBatch, makeDailyRecord, makeRecord } from '../../support/records.js';
import { createMemoryClaimCheck } from './memory-claim-check.js';

/**
 * The destination's own logic over in-memory ports: requests per topic and size, order per key
 * after failures, per-record outcomes, payload modes. The same behaviour against the local broker
 * is in kafka-broker.test.ts.
 */

const context: ConnectorContext = { tenant: 'acme', destination: 'stream', logger: pino({ level: 'silent' }) };
const signal = new AbortController().signal;

interface Request {
  topic: string;
  messages: readonly KafkaOutMessage[];
}

/** A port that records every request and answers with `fail(request, call)` (undefined: success). */
function scriptedPort(fail: (request: Request, call: number) => Error | undefined = () => undefined): KafkaOutPort & { requests: Request[] } {
  const requests: Request[] = [];
  return {
    requests,
    async produce(topic, messages) {
      const request = { topic, messages: [...messages] };
      requests.push(request);
      const error = fail(request, requests.length);
      if (error !== undefined) throw error;
    },
    async close() {},
  };
}

function kafkaLike(name: string, fields: { type?: string; retriable: boolean }): Error {
  return Object.assign(new Error(`${name} ${fields.type ?? ''}`), { name, ...fields });
}

const connectionLost = (): Error => kafkaLike('KafkaJSConnectionError', { retriable: true });

function config(input: Record<string, unknown> = {}) {
  return kafkaOutConfigSchema.parse({ brokers: ['127.0.0.1:9'], topic: 'terra.{type}', ...input });
}

function errorOf(outcome: RecordOutcome | undefined): FanoutError {
  assert.ok(outcome !== undefined && !outcome.ok, `expected a failure, got ${JSON.stringify(outcome)}`);
  return outcome.error;
}

/** The bytes a record's message takes, as the destination counts them. */
function bytesOf(record: TerraRecord): number {
  return messageBytes(encodeKafkaMessage(config(), record, context.tenant, { form: 'inline', body: record.body }));
}

const identities = (messages: readonly KafkaOutMessage[]): string[] => messages.map((message) => message.headers[kafkaOutHeader.recordIdentity] ?? '?');
const ids = (records: readonly TerraRecord[]): string[] => records.map((record) => record.identity);

describe('kafka destination over an in-memory producer', () => {
  it('produces each topic in batch order; a request holds at most maxInlineBytes per key', async () => {
    const batch = [...makeActivityBatch(10, ['u-1']), makeDailyRecord({ userId: 'u-1' })];
    const size = messageBytes({ key: Buffer.from('u-1'), value: batch[0]?.body ?? Buffer.alloc(0), headers: {} }) + 400;
    const port = scriptedPort();
    const destination = createKafkaDestination(config({ payload: { maxInlineBytes: size * 3 } }), port, context);
    const outcomes = await destination.send(batch, signal);
    assert.deepEqual(outcomes, batch.map(() => ({ ok: true })));
    const activity = port.requests.filter((request) => request.topic === 'terra.activity');
    assert.ok(activity.length >= 4, `one user's 10 records in requests of about 3: ${activity.length} requests`);
    for (const request of activity) assert.ok(request.messages.reduce((sum, message) => sum + messageBytes(message), 0) <= size * 3);
    assert.deepEqual(activity.flatMap((request) => identities(request.messages)), ids(batch.slice(0, 10)));
    assert.deepEqual(port.requests.filter((request) => request.topic === 'terra.daily').flatMap((request) => identities(request.messages)), ids(batch.slice(10)));
  });

  it('puts many keys in one request up to the request budget, beyond maxInlineBytes', async () => {
    const users = Array.from({ length: 20 }, (_, index) => `u-${index}`);
    const batch = makeActivityBatch(40, users);
    const size = messageBytes({ key: Buffer.from('u-1'), value: batch[0]?.body ?? Buffer.alloc(0), headers: {} }) + 400;
    const port = scriptedPort();
    const destination = createKafkaDestination(config({ payload: { maxInlineBytes: size * 3 } }), port, context);
    assert.deepEqual(await destination.send(batch, signal), batch.map(() => ({ ok: true })));
    assert.equal(port.requests.length, 1, 'two records per key fit in one request');
    assert.deepEqual(identities(port.requests[0]?.messages ?? []), ids(batch));
  });

  it('a request the broker refuses as too large is split in halves, in order; the topic\'s budget shrinks', async () => {
    // Same-sized messages, so the halves are exact.
    const users = Array.from({ length: 16 }, (_, index) => `u-${String.fromCharCode(97 + index)}`);
    const batch = makeActivityBatch(16, users).map((record) => ({ ...record, body: Buffer.alloc(1000, 32) }));
    const size = bytesOf(batch[0] ?? makeRecord());
    assert.ok(batch.every((record) => bytesOf(record) === size));
    const memory = createMemoryKafkaOutPort({ maxRequestBytes: Math.floor(size * 4.5) });
    const destination = createKafkaDestination(config({ payload: { maxInlineBytes: size * 2 } }), memory.client, context);
    assert.deepEqual(await destination.send(batch, signal), batch.map(() => ({ ok: true })));
    assert.deepEqual(identities(memory.log()), ids(batch), 'every record once, in batch order');
    assert.deepEqual(memory.requests(), [16, 8, 4, 4, 4, 4], '16 refused, 8 refused, then requests of 4 (the second 8 split without trying)');
    const again = makeActivityBatch(8, users.slice(0, 8)).map((record, index) => ({ ...record, body: Buffer.alloc(1000, 32), identity: `again-${index}`.padEnd(32, '0') }));
    assert.deepEqual(await destination.send(again, signal), again.map(() => ({ ok: true })));
    assert.deepEqual(memory.requests().slice(6), [4, 4], 'the next send starts from the shrunk budget');
  });

  it('after a retryable failure holds back the later records of the same keys, and sends the other keys', async () => {
    const first = makeActivityBatch(2, ['u-1', 'u-2']);
    const later = makeActivityBatch(4, ['u-1', 'u-3']).map((record, index) => ({ ...record, identity: `later-${index}`.padEnd(32, '0') }));
    const batch = [...first, ...later];
    const port = scriptedPort((_request, call) => (call === 1 ? connectionLost() : undefined));
    // One record per key per request: u-1's second record starts the next request.
    const destination = createKafkaDestination(config({ payload: { maxInlineBytes: Math.max(...batch.map(bytesOf)) + 10 } }), port, context);
    const outcomes = await destination.send(batch, signal);
    // Request 1 (u-1, u-2) failed; u-1's later records wait for the retry; u-3's go.
    assert.equal(errorOf(outcomes[0]).code, 'destination_unavailable');
    assert.equal(errorOf(outcomes[1]).code, 'destination_unavailable');
    for (const index of [2, 4]) {
      const error = errorOf(outcomes[index]);
      assert.equal(error.code, 'destination_unavailable');
      assert.equal(error.retryable, true);
      assert.equal(error.detail['heldBack'], true);
    }
    assert.deepEqual([outcomes[3], outcomes[5]], [{ ok: true }, { ok: true }]);
    const sent = port.requests.slice(1).flatMap((request) => identities(request.messages));
    assert.deepEqual(sent, [later[1]?.identity, later[3]?.identity], 'held-back records were not produced');
  });

  it('narrows a record-specific refusal down to its record; the rest of the request is delivered', async () => {
    const batch = makeActivityBatch(5, ['u-1']);
    const big = { ...makeRecord({ userId: 'u-1', summaryId: 'big' }), body: Buffer.alloc(5000, 32) };
    batch.splice(2, 0, big);
    const memory = createMemoryKafkaOutPort({ maxMessageBytes: 4000 });
    const destination = createKafkaDestination(config(), memory.client, context);
    const outcomes = await destination.send(batch, signal);
    assert.equal(errorOf(outcomes[2]).code, 'destination_record_too_large');
    assert.deepEqual(outcomes.filter((_, index) => index !== 2), batch.slice(1).map(() => ({ ok: true })));
    assert.deepEqual(identities(memory.log()), ids(batch.filter((record) => record !== big)), 'the others land once, in order');
  });

  it('a permanent topic failure (ACL) fails the rest of that topic without more requests; other topics go on', async () => {
    const batch = [...makeActivityBatch(6, ['u-1', 'u-2']), makeDailyRecord({ userId: 'u-1' })];
    const size = messageBytes({ key: Buffer.from('u-1'), value: batch[0]?.body ?? Buffer.alloc(0), headers: {} }) + 400;
    const port = scriptedPort((request) => (request.topic === 'terra.activity' ? kafkaLike('KafkaJSProtocolError', { type: 'TOPIC_AUTHORIZATION_FAILED', retriable: false }) : undefined));
    const destination = createKafkaDestination(config({ payload: { maxInlineBytes: size * 2 } }), port, context);
    const outcomes = await destination.send(batch, signal);
    for (const outcome of outcomes.slice(0, 6)) assert.equal(errorOf(outcome).code, 'destination_auth_failed');
    assert.deepEqual(outcomes[6], { ok: true });
    assert.equal(port.requests.filter((request) => request.topic === 'terra.activity').length, 1);
  });

  it('auto mode: a record over maxInlineBytes goes as a pointer through the claim check, the others inline', async () => {
    const claims = createMemoryClaimCheck(600);
    const small = makeRecord({ userId: 'u-1', summaryId: 'small' });
    const big = { ...makeRecord({ userId: 'u-1', summaryId: 'big' }), body: Buffer.from(JSON.stringify({ type: 'activity', padding: 'x'.repeat(3000) })) };
    const memory = createMemoryKafkaOutPort();
    const destination = createKafkaDestination(config({ payload: { mode: 'auto', maxInlineBytes: 2000 } }), memory.client, context, { claimCheck: claims });
    assert.deepEqual(await destination.send([small, big], signal), [{ ok: true }, { ok: true }]);
    const [inline, pointer] = memory.log();
    assert.equal(inline?.headers[kafkaOutHeader.payload], 'inline');
    assert.deepEqual(inline?.value, small.body);
    assert.equal(pointer?.headers[kafkaOutHeader.payload], 'pointer');
    assert.equal(pointer?.key?.toString(), 'u-1');
    const body = JSON.parse(pointer?.value.toString() ?? '{}') as Record<string, unknown>;
    assert.equal(body['type'], 's3_payload');
    assert.equal(body['identity'], big.identity);
    assert.deepEqual(claims.objects.get(String(body['url'])), big.body);
  });

  it('auto mode without a claim check parks only the oversized record; the user\'s later records still go', async () => {
    const before = makeRecord({ userId: 'u-1', summaryId: 'before' });
    const big = { ...makeRecord({ userId: 'u-1', summaryId: 'big' }), body: Buffer.alloc(3000, 32) };
    const afterwards = makeRecord({ userId: 'u-1', summaryId: 'after' });
    const memory = createMemoryKafkaOutPort();
    const destination = createKafkaDestination(config({ payload: { maxInlineBytes: 2000 } }), memory.client, context);
    const outcomes = await destination.send([before, big, afterwards], signal);
    assert.deepEqual(outcomes[0], { ok: true });
    const error = errorOf(outcomes[1]);
    assert.equal(error.code, 'destination_record_too_large');
    assert.equal(error.retryable, false);
    assert.deepEqual(outcomes[2], { ok: true });
    assert.deepEqual(identities(memory.log()), [before.identity, afterwards.identity]);
  });

  it('a claim check that is down fails its record retryably and holds back that user\'s later records', async () => {
    const claims = createMemoryClaimCheck();
    claims.failWith(new FanoutError('destination_unavailable', 'The claim-check bucket is down.'));
    const big = { ...makeRecord({ userId: 'u-1', summaryId: 'big' }), body: Buffer.alloc(3000, 32) };
    const next = makeRecord({ userId: 'u-1', summaryId: 'next' });
    const other = makeRecord({ userId: 'u-2', summaryId: 'other' });
    const memory = createMemoryKafkaOutPort();
    const destination = createKafkaDestination(config({ payload: { maxInlineBytes: 2000 } }), memory.client, context, { claimCheck: claims });
    const outcomes = await destination.send([big, next, other], signal);
    assert.equal(errorOf(outcomes[0]).code, 'destination_unavailable');
    assert.equal(errorOf(outcomes[1]).detail['heldBack'], true);
    assert.deepEqual(outcomes[2], { ok: true });
    assert.deepEqual(identities(memory.log()), [other.identity]);
  });

  it('check() produces a healthcheck and checks the claim check; pointer mode without one is misconfigured', async () => {
    const claims = createMemoryClaimCheck();
    const memory = createMemoryKafkaOutPort();
    const now = (): Date => new Date('2026-07-01T08:00:00Z');
    const destination = createKafkaDestination(config({ payload: { mode: 'pointer' } }), memory.client, context, { claimCheck: claims, now });
    await destination.check();
    assert.deepEqual(memory.log().map((message) => [message.topic, message.headers[kafkaOutHeader.recordType]]), [['terra.healthcheck', 'healthcheck']]);
    claims.failWith(new FanoutError('destination_auth_failed', 'The bucket refused our credentials.'));
    await assert.rejects(destination.check(), (error: unknown) => error instanceof FanoutError && error.code === 'destination_auth_failed');
    await destination.close();
    await destination.close();
    assert.equal(claims.closed, 1, 'close() closes the claim check once');

    const without = createKafkaDestination(config({ payload: { mode: 'pointer' } }), createMemoryKafkaOutPort().client, context);
    await assert.rejects(without.check(), (error: unknown) => error instanceof FanoutError && error.code === 'destination_misconfigured' && /claim-check/.test(error.message));
  });

  it('sends nothing once the shutdown signal is aborted, with retryable outcomes', async () => {
    const port = scriptedPort();
    const destination = createKafkaDestination(config(), port, context);
    const aborted = new AbortController();
    aborted.abort();
    const outcomes = await destination.send(makeActivityBatch(3, ['u-1']), aborted.signal);
    for (const outcome of outcomes) assert.equal(errorOf(outcome).detail['shutdown'], true);
    assert.equal(port.requests.length, 0);
  });

  it('a record whose topic cannot be named is misconfigured; the others go', async () => {
    const memory = createMemoryKafkaOutPort();
    const destination = createKafkaDestination(config({ topic: `${'x'.repeat(235)}.{type}` }), memory.client, context);
    const outcomes = await destination.send([makeRecord(), makeRecord({ type: 'a-very-long-event-type-name', summaryId: 'long' })], signal);
    assert.deepEqual(outcomes[0], { ok: true });
    assert.equal(errorOf(outcomes[1]).code, 'destination_misconfigured');
  });
});
