import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import type { SqsClients, SqsEntryResult, SqsQueuePort } from '../../../connectors/sqs/client.js';
import { sqsConfigSchema, type SqsConfig } from '../../../connectors/sqs/config.js';
import { SQSServiceException } from '@aws-sdk/client-sqs';
import { classifyEntryFailure, classifySqsError, createSqsDestination } from '../../../connectors/sqs/destination.js';
import {
  attributesBytes,
  deduplicationId,
  messageAttributes,
  messageBytes,
  messageGroupId,
  planBatches,
  queueTarget,
  sqsBody,
  sqsLocation,
  type SqsEntry,
} from '../../../connectors/sqs/encode.js';
import { createObjectStoreClaimCheck } from '../../../connectors/shared/object-store/claim-check-store.js';
import { createMemoryObjectStore } from '../../../connectors/shared/object-store/memory-port.js';
import type { ConnectorContext, RecordOutcome } from '../../../src/connector/contract.js';
import { FanoutError } from '../../../src/errors/catalogue.js';
import { makeActivityBatch, makeRecord, makeUserEventRecord } from '../../support/records.js';

const context: ConnectorContext = { tenant: 'acme', destination: 'queue', logger: pino({ level: 'silent' }) };
const signal = new AbortController().signal;
const FIFO_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/terra.fifo';
const STANDARD_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/terra';

function config(input: Record<string, unknown>): SqsConfig {
  return sqsConfigSchema.parse(input);
}

describe('sqs config', () => {
  it('applies defaults and keeps secrets out of printed config', () => {
    const parsed = config({ queueUrl: STANDARD_URL, credentials: { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'sqs-secret' } });
    assert.equal(parsed.payload, 'auto');
    assert.equal(parsed.unit, 'record');
    assert.equal(parsed.messageGroupBy, 'user_id');
    assert.equal(parsed.maxMessageBytes, 1_048_576);
    assert.equal(parsed.concurrency, 4);
    assert.equal(parsed.healthcheck, true);
    assert.equal(parsed.maxAttempts, 2);
    assert.ok(!JSON.stringify(parsed).includes('sqs-secret'));
  });

  it('rejects what cannot work', () => {
    for (const input of [
      {},
      { queueUrl: STANDARD_URL, queueName: 'terra' },
      { queueName: 'has space' },
      { queueName: `${'q'.repeat(80)}.fifo` },
      { queueUrl: 'https://sqs.eu-west-1.amazonaws.com/terra' },
      { queueUrl: 'ftp://sqs.eu-west-1.amazonaws.com/1/terra' },
      { queueUrl: STANDARD_URL, payload: 'pointer' },
      { queueUrl: STANDARD_URL, payload: 'sometimes' },
      { queueUrl: STANDARD_URL, maxMessageBytes: 2_000_000 },
      { queueUrl: STANDARD_URL, claimCheck: { type: 's3', config: { bucket: 'claims', kmsKeyId: 'alias/x' } } },
      { queueUrl: STANDARD_URL, extra: 1 },
    ]) {
      assert.equal(sqsConfigSchema.safeParse(input).success, false, JSON.stringify(input));
    }
    assert.ok(sqsConfigSchema.safeParse({ queueName: 'terra.fifo', region: 'eu-west-1', payload: 'pointer', claimCheck: { type: 's3', config: { bucket: 'claims' } } }).success);
  });
});

describe('sqs encode', () => {
  it('reads the queue from its URL or name; the region comes from an AWS queue URL', () => {
    assert.deepEqual(queueTarget({ queueUrl: FIFO_URL }), { url: FIFO_URL, name: 'terra.fifo', fifo: true, region: 'eu-west-1', label: `SQS queue ${FIFO_URL}` });
    assert.equal(queueTarget({ queueUrl: FIFO_URL, region: 'us-east-2' }).region, 'us-east-2');
    assert.equal(queueTarget({ queueUrl: 'http://127.0.0.1:4566/000000000000/local' }).region, undefined);
    assert.deepEqual(queueTarget({ queueName: 'terra', region: 'eu-west-1' }), { url: undefined, name: 'terra', fifo: false, region: 'eu-west-1', label: 'SQS queue "terra"' });
    const record = makeRecord();
    assert.equal(sqsLocation({ queueUrl: FIFO_URL }, record), `SQS queue ${FIFO_URL}#${record.identity}`);
  });

  it('attributes carry type, user id, tenant and identity, and count toward the size', () => {
    const record = makeRecord();
    assert.deepEqual(messageAttributes(record, 'acme'), { type: 'activity', user_id: 'user-1', tenant: 'acme', identity: record.identity });
    assert.deepEqual(Object.keys(messageAttributes(makeUserEventRecord({ userId: null }), 'acme')), ['type', 'tenant', 'identity']);
    assert.equal(attributesBytes({ type: 'activity' }), 'type'.length + 'String'.length + 'activity'.length);
    const message = { body: 'é', attributes: { a: 'b' } };
    assert.equal(messageBytes(message), 2 + 1 + 6 + 1);
  });

  it('bodies keep their bytes; characters SQS refuses are JSON-escaped, the JSON value unchanged', () => {
    const plain = Buffer.from('{"type":"activity","name":"Lauf über 5 km 🏃","tab":"\\t"}');
    assert.equal(sqsBody(plain), plain.toString('utf8'));
    const odd = Buffer.from(JSON.stringify({ note: 'a\uFFFFb\uFFFEc' }));
    const escaped = sqsBody(odd);
    assert.ok(!escaped.includes('\uFFFF') && escaped.includes('\\uffff'));
    assert.deepEqual(JSON.parse(escaped), { note: 'a\uFFFFb\uFFFEc' });
  });

  it('FIFO group ids follow the user (or the tenant); dedup ids follow identity and ordering time', () => {
    const record = makeRecord({ userId: 'user-1' });
    assert.equal(messageGroupId('user_id', record, 'acme'), 'user-1');
    assert.equal(messageGroupId('tenant', record, 'acme'), 'acme');
    const noUser = makeUserEventRecord({ userId: null });
    assert.equal(messageGroupId('user_id', noUser, 'acme'), `record-${noUser.identity}`);
    assert.equal(messageGroupId('user_id', makeRecord({ userId: 'ü s' }), 'acme'), '__s');
    assert.equal(messageGroupId('user_id', makeRecord({ userId: 'x'.repeat(200) }), 'acme').length, 64);
    assert.equal(deduplicationId(record), `${record.identity}-${record.orderingTimestampMs}`);
    const newer = { ...record, orderingTimestampMs: record.orderingTimestampMs + 1000 };
    assert.notEqual(deduplicationId(newer), deduplicationId(record), 'a newer version of the record is not a duplicate');
  });

  it('cuts batches at 10 entries and 1 MiB; a message near the limit goes alone', () => {
    assert.deepEqual(planBatches(Array.from({ length: 23 }, () => 100)).map((batch) => batch.length), [10, 10, 3]);
    assert.deepEqual(planBatches([600_000, 600_000, 100, 1_048_576, 1]), [[0], [1, 2], [3], [4]]);
    assert.deepEqual(planBatches([]), []);
  });

  it('classifies per-entry failures: server faults and throttling retried, sender faults permanent', () => {
    const cases: Array<[string, boolean, string, boolean]> = [
      ['InternalError', false, 'destination_unavailable', true],
      ['ServiceUnavailable', false, 'destination_unavailable', true],
      ['ThrottlingException', true, 'destination_throttled', true],
      ['InvalidParameterValue', true, 'destination_rejected', false],
      ['InvalidMessageContents', true, 'destination_rejected', false],
      ['KmsAccessDenied', true, 'destination_auth_failed', false],
      ['KmsDisabled', true, 'destination_misconfigured', false],
    ];
    for (const [code, senderFault, expected, retryable] of cases) {
      const error = classifyEntryFailure('SQS queue "q"', code, senderFault);
      assert.equal(error.code, expected, code);
      assert.equal(error.retryable, retryable, code);
      assert.equal(error.detail['awsCode'], code);
    }
  });
});

describe('sqs error classification (SDK error objects)', () => {
  const place = { label: 'SQS queue "terra"', region: 'eu-west-1', endpoint: undefined, action: 'sqs:SendMessage' };
  const sdkError = (name: string, status: number): SQSServiceException =>
    new SQSServiceException({ name, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status, requestId: 'r-9' }, message: 'vendor text' });

  it('names the queue, region and missing action; KMS and over-limit batches are permanent', () => {
    const missing = classifySqsError(sdkError('QueueDoesNotExist', 400), place);
    assert.equal(missing.code, 'destination_not_found');
    assert.equal(missing.message, 'SQS queue "terra" does not exist in region eu-west-1. Create it, or fix queueUrl/queueName or region.');
    const denied = classifySqsError(sdkError('AccessDenied', 403), place);
    assert.equal(denied.code, 'destination_auth_failed');
    assert.match(denied.message, /lack sqs:SendMessage on this queue\. Grant it/);
    assert.match(classifySqsError(sdkError('KmsAccessDenied', 400), place).message, /kms:GenerateDataKey/);
    assert.equal(classifySqsError(sdkError('KmsDisabled', 400), place).code, 'destination_misconfigured');
    assert.equal(classifySqsError(sdkError('InvalidAddress', 404), place).code, 'destination_misconfigured');
    assert.equal(classifySqsError(sdkError('BatchRequestTooLong', 400), place).code, 'destination_rejected');
    assert.equal(classifySqsError(sdkError('RequestThrottled', 403), place).code, 'destination_throttled');
    assert.equal(classifySqsError(sdkError('ServiceUnavailable', 503), place).code, 'destination_unavailable');
    for (const error of [missing, denied]) assert.ok(!error.message.includes('vendor text'));
  });
});

/** A queue port that answers each SendMessageBatch entry as `answer` says, recording the calls. */
function scriptedClients(answer: (entry: SqsEntry, call: number) => SqsEntryResult | 'omit', claimCheck?: SqsClients['claimCheck']) {
  const calls: SqsEntry[][] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const queue: SqsQueuePort = {
    label: 'SQS queue "scripted"',
    resolve: async () => 'memory://scripted',
    async sendBatch(entries) {
      calls.push([...entries]);
      const call = calls.length - 1;
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 10));
      inFlight -= 1;
      const results = new Map<string, SqsEntryResult>();
      for (const entry of entries) {
        const result = answer(entry, call);
        if (result !== 'omit') results.set(entry.id, result);
      }
      return results;
    },
    send: async () => undefined,
    describe: async () => undefined,
    close: async () => undefined,
  };
  return { clients: { queue, claimCheck } satisfies SqsClients, calls, maxInFlight: () => maxInFlight };
}

function shape(outcomes: readonly RecordOutcome[]): string[] {
  return outcomes.map((outcome) => (outcome.ok ? 'ok' : outcome.error.detail['heldBack'] === true ? 'held' : outcome.error.code));
}

const identityOf = (entry: SqsEntry): string => entry.attributes['identity'] ?? '';

describe('sqs destination with a scripted queue', () => {
  it('a failed entry fails only its record; retrying sends only that record', async () => {
    const batch = makeActivityBatch(12, ['u-1', 'u-2', 'u-3', 'u-4']);
    const failing = batch[5]?.identity;
    let failures = 0;
    const { clients, calls } = scriptedClients((entry) => {
      if (identityOf(entry) === failing && failures === 0) {
        failures += 1;
        return { ok: false, code: 'InternalError', senderFault: false };
      }
      return { ok: true };
    });
    const destination = createSqsDestination(config({ queueUrl: STANDARD_URL }), clients, context);
    const outcomes = await destination.send(batch, signal);
    assert.deepEqual(shape(outcomes), batch.map((_, index) => (index === 5 ? 'destination_unavailable' : 'ok')));
    assert.deepEqual(calls.map((call) => call.length), [10, 2]);
    const retry = batch.filter((_, index) => !(outcomes[index]?.ok ?? false));
    assert.deepEqual(shape(await destination.send(retry, signal)), ['ok']);
    assert.deepEqual(calls.at(-1)?.map(identityOf), [failing]);
  });

  it('an entry SQS does not report on is retried', async () => {
    const batch = makeActivityBatch(3, ['u-1', 'u-2', 'u-3']);
    const { clients } = scriptedClients((entry) => (identityOf(entry) === batch[1]?.identity ? 'omit' : { ok: true }));
    const outcomes = await createSqsDestination(config({ queueUrl: STANDARD_URL }), clients, context).send(batch, signal);
    assert.deepEqual(shape(outcomes), ['ok', 'destination_unavailable', 'ok']);
  });

  it('FIFO: after a retryable failure the group\'s later records in later batches are held back; other groups go on', async () => {
    // 12 records of u-1 then 3 of u-2: u-1 spans two batches.
    const batch = makeActivityBatch(15, ['u-1']).map((record, index) => (index < 12 ? record : { ...record, userId: 'u-2' }));
    const failing = batch[3]?.identity;
    const { clients, calls } = scriptedClients((entry) => (identityOf(entry) === failing ? { ok: false, code: 'ServiceUnavailable', senderFault: false } : { ok: true }));
    const outcomes = await createSqsDestination(config({ queueUrl: FIFO_URL }), clients, context).send(batch, signal);
    const expected = batch.map((_, index) => (index < 3 ? 'ok' : index === 3 ? 'destination_unavailable' : index < 10 ? 'ok' : index < 12 ? 'held' : 'ok'));
    // Records 4..9 were in the same SendMessageBatch as the failed one: SQS took them (documented).
    assert.deepEqual(shape(outcomes), expected);
    assert.ok(calls.every((call) => call.every((entry) => entry.groupId !== undefined && entry.deduplicationId !== undefined)));
    assert.ok(!calls.flat().some((entry) => identityOf(entry) === batch[10]?.identity), 'held records were never sent');
  });

  it('FIFO: batches that share a message group go one after another; other batches in parallel', async () => {
    const users = Array.from({ length: 40 }, (_, index) => `u-${index}`);
    const { clients, calls, maxInFlight } = scriptedClients(() => ({ ok: true }));
    const fifo = createSqsDestination(config({ queueUrl: FIFO_URL, concurrency: 4 }), clients, context);
    assert.ok((await fifo.send(makeActivityBatch(40, users), signal)).every((outcome) => outcome.ok));
    assert.equal(calls.length, 4);
    assert.equal(maxInFlight(), 4, 'four batches of distinct users went in parallel');

    const single = scriptedClients(() => ({ ok: true }));
    const oneUser = createSqsDestination(config({ queueUrl: FIFO_URL, concurrency: 4 }), single.clients, context);
    const batch = makeActivityBatch(30, ['u-1']);
    assert.ok((await oneUser.send(batch, signal)).every((outcome) => outcome.ok));
    assert.equal(single.maxInFlight(), 1, 'one user: one batch at a time');
    assert.deepEqual(single.calls.flat().map(identityOf), batch.map((record) => record.identity), 'in record order');
  });

  it('a whole-call failure fails its batch with that error; the rest of the run goes on', async () => {
    const batch = makeActivityBatch(15, Array.from({ length: 15 }, (_, index) => `u-${index}`));
    let call = 0;
    const queue: SqsQueuePort = {
      ...scriptedClients(() => ({ ok: true })).clients.queue,
      async sendBatch(entries) {
        call += 1;
        if (call === 1) throw new FanoutError('destination_throttled', 'slow down');
        return new Map(entries.map((entry) => [entry.id, { ok: true } as const]));
      },
    };
    const outcomes = await createSqsDestination(config({ queueUrl: STANDARD_URL, concurrency: 1 }), { queue, claimCheck: undefined }, context).send(batch, signal);
    assert.deepEqual(shape(outcomes), [...Array.from({ length: 10 }, () => 'destination_throttled'), ...Array.from({ length: 5 }, () => 'ok')]);
  });

  it('an oversized record with no claim check is dead-lettered as destination_record_too_large, never truncated; with one it goes as a pointer', async () => {
    const big = makeRecord({ body: Buffer.alloc(1_100_000, 0x20) });
    const small = makeRecord({ summaryId: 'small', identity: 'f'.repeat(32) });
    for (const payload of ['auto', 'inline']) {
      const { clients, calls } = scriptedClients(() => ({ ok: true }));
      const outcomes = await createSqsDestination(config({ queueUrl: STANDARD_URL, payload }), clients, context).send([big, small], signal);
      assert.deepEqual(shape(outcomes), ['destination_record_too_large', 'ok'], payload);
      assert.equal(outcomes[0]?.ok === false && outcomes[0].error.retryable, false);
      assert.deepEqual(calls.flat().map(identityOf), [small.identity], 'nothing of the big record was sent');
    }
    const store = createMemoryObjectStore('s3://claims');
    const claimCheck = createObjectStoreClaimCheck(store.client, { expiresInSeconds: 600 });
    const { clients, calls } = scriptedClients(() => ({ ok: true }), claimCheck);
    const outcomes = await createSqsDestination(config({ queueUrl: STANDARD_URL, claimCheck: { type: 's3', config: { bucket: 'claims' } } }), clients, context).send([big, small], signal);
    assert.deepEqual(shape(outcomes), ['ok', 'ok']);
    const pointer = JSON.parse(calls.flat()[0]?.body ?? '{}') as Record<string, unknown>;
    assert.deepEqual(Object.keys(pointer), ['status', 'type', 'url', 'expires_in', 'payload_type', 'user_id', 'reference_id', 'identity']);
    assert.equal(pointer['type'], 's3_payload');
    assert.equal(calls.flat()[1]?.body, small.body.toString('utf8'), 'the small record stays inline');
    assert.deepEqual(store.stored().get(`activity/${big.identity}.json`), big.body);
  });

  it('a message whose attributes push it over the limit is too large, not sent', async () => {
    const { clients, calls } = scriptedClients(() => ({ ok: true }));
    const record = makeRecord({ body: Buffer.alloc(2_000, 0x20) });
    const outcomes = await createSqsDestination(config({ queueUrl: STANDARD_URL, maxMessageBytes: 2_010, payload: 'inline' }), clients, context).send([record], signal);
    assert.deepEqual(shape(outcomes), ['destination_record_too_large']);
    assert.equal(calls.length, 0);
  });
});
