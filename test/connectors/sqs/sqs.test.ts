import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient, type Message } from '@aws-sdk/client-sqs';
import { pino } from 'pino';
import { sqsConfigSchema, type SqsConfig } from '../../../connectors/sqs/config.js';
import { createSqsDestination } from '../../../connectors/sqs/destination.js';
import { sqsConnector } from '../../../connectors/sqs/index.js';
import type { ConnectorContext, Destination, RecordOutcome } from '../../../src/connector/contract.js';
import { FanoutError } from '../../../src/errors/catalogue.js';
import type { TerraRecord } from '../../../src/records/record.js';
import { uniqueName } from '../../support/kafka.js';
import { motoCredentials, motoRegion, startMoto, startSqsEntryFaultProxy } from '../../support/moto.js';
import { makeActivityBatch, makeRecord, makeUserEventRecord } from '../../support/records.js';
import { useServer } from '../../support/server-process.js';

const moto = useServer(() => startMoto());
const context: ConnectorContext = { tenant: 'acme', destination: 'queue', logger: pino({ level: 'silent' }) };
const signal = new AbortController().signal;
const keys = (): { accessKeyId: string; secretAccessKey: string } => ({ accessKeyId: motoCredentials.accessKeyId, secretAccessKey: motoCredentials.secretAccessKey });

let sqsClient: SQSClient | undefined;
let s3Client: S3Client | undefined;
/** SDK clients of the test's own, to create queues and buckets and read back what was sent. */
function sqs(): SQSClient {
  sqsClient ??= new SQSClient({ region: motoRegion, endpoint: moto.current.endpoint, credentials: keys() });
  return sqsClient;
}
function s3(): S3Client {
  s3Client ??= new S3Client({ region: motoRegion, endpoint: moto.current.endpoint, forcePathStyle: true, credentials: keys() });
  return s3Client;
}
const destinations: Destination[] = [];
after(async () => {
  for (const destination of destinations) await destination.close();
  sqsClient?.destroy();
  s3Client?.destroy();
});

async function newQueue(fifo: boolean): Promise<string> {
  const name = fifo ? `${uniqueName('queue')}.fifo` : uniqueName('queue');
  const created = await sqs().send(new CreateQueueCommand({ QueueName: name, ...(fifo ? { Attributes: { FifoQueue: 'true' } } : {}) }));
  assert.ok(created.QueueUrl);
  return created.QueueUrl;
}

function configFor(queue: Record<string, unknown>, extra: Record<string, unknown> = {}): SqsConfig {
  return sqsConfigSchema.parse({ ...queue, region: motoRegion, endpoint: moto.current.endpoint, credentials: keys(), ...extra });
}

function destinationFor(config: SqsConfig): Destination {
  const destination = createSqsDestination(config, sqsConnector.createClient(config, context), context);
  destinations.push(destination);
  return destination;
}

/** Receives (and deletes) messages until `expected` arrived or the queue stays empty. */
async function receiveAll(queueUrl: string, expected: number): Promise<Message[]> {
  const received: Message[] = [];
  for (let empty = 0; received.length < expected && empty < 3; ) {
    const answer = await sqs().send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, MessageAttributeNames: ['All'], MessageSystemAttributeNames: ['All'] }));
    const messages = answer.Messages ?? [];
    if (messages.length === 0) {
      empty += 1;
      await new Promise((resolve) => setTimeout(resolve, 100));
      continue;
    }
    received.push(...messages);
    await sqs().send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: messages.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle ?? '' })) }));
  }
  return received;
}

function attribute(message: Message, name: string): string | undefined {
  return message.MessageAttributes?.[name]?.StringValue;
}

function failure(outcome: RecordOutcome | undefined): FanoutError {
  assert.ok(outcome !== undefined && !outcome.ok, 'expected a failed outcome');
  return outcome.error;
}

describe('sqs destination against moto', () => {
  it('standard queue: 25 records in batches of 10, bodies as sent, attributes type, user id, tenant and identity', async () => {
    const queueUrl = await newQueue(false);
    const destination = destinationFor(configFor({ queueUrl }));
    const batch: TerraRecord[] = [...makeActivityBatch(24, ['u-1', 'u-2', 'u-3']), makeUserEventRecord({ userId: null })];
    assert.deepEqual(await destination.send(batch, signal), batch.map(() => ({ ok: true })));
    const messages = await receiveAll(queueUrl, batch.length);
    assert.equal(messages.length, batch.length);
    const byIdentity = new Map(messages.map((message) => [attribute(message, 'identity'), message]));
    for (const record of batch) {
      const message = byIdentity.get(record.identity);
      assert.ok(message, `message for ${record.identity}`);
      assert.equal(message.Body, record.body.toString('utf8'));
      assert.equal(attribute(message, 'type'), record.type);
      assert.equal(attribute(message, 'tenant'), 'acme');
      assert.equal(attribute(message, 'user_id'), record.userId ?? undefined);
    }
  });

  it('FIFO queue: a batch of 10 keeps each user\'s order, group id = user id, and a replay is deduplicated', async () => {
    const queueUrl = await newQueue(true);
    const destination = destinationFor(configFor({ queueUrl }));
    const batch = makeActivityBatch(10, ['u-1', 'u-2']);
    assert.ok((await destination.send(batch, signal)).every((outcome) => outcome.ok));
    // moto deduplicates against messages still in the queue (SQS: for 5 minutes, deleted or not), so replay before receiving.
    assert.ok((await destination.send(batch, signal)).every((outcome) => outcome.ok), 'SQS accepts the replay');
    const messages = await receiveAll(queueUrl, 2 * batch.length);
    assert.equal(messages.length, 10, 'and keeps one copy of each record');
    for (const user of ['u-1', 'u-2']) {
      const ofUser = messages.filter((message) => message.Attributes?.MessageGroupId === user);
      assert.deepEqual(ofUser.map((message) => attribute(message, 'identity')), batch.filter((record) => record.userId === user).map((record) => record.identity), `${user} in order`);
    }
    const first = messages[0];
    const record = batch.find((candidate) => candidate.identity === attribute(first as Message, 'identity'));
    assert.equal(first?.Attributes?.MessageDeduplicationId, `${record?.identity}-${record?.orderingTimestampMs}`);
  });

  it('a 1.5 MB record goes out as a Terra s3_payload pointer and its URL fetches the record back', async () => {
    const queueUrl = await newQueue(false);
    const bucket = uniqueName('claims');
    await s3().send(new CreateBucketCommand({ Bucket: bucket }));
    const claimCheck = { type: 's3', config: { bucket, prefix: 'sqs-claims', region: motoRegion, endpoint: moto.current.endpoint, forcePathStyle: true, credentials: keys() } };
    const destination = destinationFor(configFor({ queueUrl }, { claimCheck }));
    await destination.check();
    const big = makeRecord({ body: Buffer.from(JSON.stringify({ type: 'activity', data: [{ samples: 'x'.repeat(1_500_000) }] })) });
    const small = makeRecord({ summaryId: 'small-one', startTime: '2026-07-01T08:00:00.000000+01:00' });
    assert.deepEqual(await destination.send([big, small], signal), [{ ok: true }, { ok: true }]);
    const messages = (await receiveAll(queueUrl, 3)).filter((message) => attribute(message, 'type') !== 'healthcheck');
    assert.equal(messages.length, 2);
    const pointerMessage = messages.find((message) => attribute(message, 'identity') === big.identity);
    const pointer = JSON.parse(pointerMessage?.Body ?? '{}') as Record<string, unknown>;
    assert.equal(pointer['status'], 'success');
    assert.equal(pointer['type'], 's3_payload');
    assert.equal(pointer['expires_in'], 600);
    assert.equal(pointer['payload_type'], 'activity');
    assert.equal(pointer['user_id'], big.userId);
    assert.equal(pointer['identity'], big.identity);
    assert.ok(typeof pointer['url'] === 'string' && pointer['url'].includes(`/${bucket}/sqs-claims/activity/${big.identity}.json?`));
    const fetched = await fetch(pointer['url']);
    assert.equal(fetched.status, 200);
    assert.deepEqual(Buffer.from(await fetched.arrayBuffer()), big.body);
    assert.equal(messages.find((message) => attribute(message, 'identity') === small.identity)?.Body, small.body.toString('utf8'), 'the small record stays inline');
  });

  it('the same 1.5 MB record without a claim check is refused as destination_record_too_large, nothing sent', async () => {
    const queueUrl = await newQueue(false);
    const destination = destinationFor(configFor({ queueUrl }));
    const big = makeRecord({ body: Buffer.alloc(1_500_000, 0x20) });
    const error = failure((await destination.send([big], signal))[0]);
    assert.equal(error.code, 'destination_record_too_large');
    assert.match(error.message, /no claimCheck bucket is configured/);
    assert.deepEqual(await receiveAll(queueUrl, 1), []);
  });

  it('a partial batch failure from moto fails only its record; the retry sends only that record', async () => {
    const queueUrl = await newQueue(false);
    const marker = 'refuse-this-one';
    const proxy = await startSqsEntryFaultProxy(moto.current, marker, 1);
    try {
      const proxiedUrl = `${proxy.endpoint}${new URL(queueUrl).pathname}`;
      const destination = destinationFor(configFor({ queueUrl: proxiedUrl }, { endpoint: proxy.endpoint }));
      const batch = makeActivityBatch(10, ['u-1', 'u-2', 'u-3']);
      const marked = makeRecord({ ...batch[4], body: Buffer.from(JSON.stringify({ type: 'activity', note: marker })) });
      batch[4] = marked;
      const outcomes = await destination.send(batch, signal);
      assert.equal(proxy.faults, 1);
      const error = failure(outcomes[4]);
      assert.equal(error.code, 'destination_rejected');
      assert.equal(error.detail['awsCode'], 'InvalidParameterValue');
      assert.equal(error.detail['senderFault'], true);
      assert.ok(outcomes.every((outcome, index) => index === 4 || outcome.ok));
      assert.equal((await receiveAll(queueUrl, 9)).length, 9, 'moto stored the other nine');
      // The engine would park a permanent failure; re-sending only the failed record shows nothing else moves.
      assert.deepEqual(await destination.send([marked], signal), [{ ok: true }]);
      const again = await receiveAll(queueUrl, 1);
      assert.deepEqual(again.map((message) => attribute(message, 'identity')), [marked.identity]);
    } finally {
      await proxy.stop();
    }
  });

  it('a queue that does not exist is destination_not_found, by URL and by name, in send() and check()', async () => {
    const missingUrl = `${moto.current.endpoint}/123456789012/${uniqueName('missing')}`;
    for (const queue of [{ queueUrl: missingUrl }, { queueName: uniqueName('missing') }]) {
      const destination = destinationFor(configFor(queue));
      const error = failure((await destination.send([makeRecord()], signal))[0]);
      assert.equal(error.code, 'destination_not_found');
      assert.equal(error.retryable, false);
      assert.match(error.message, /SQS queue .* does not exist in endpoint http:\/\/127\.0\.0\.1:\d+\/ \(region us-east-1\)/);
      await assert.rejects(destination.check(), (thrown: unknown) => thrown instanceof FanoutError && thrown.code === 'destination_not_found');
    }
  });

  it('check() sends a Terra healthcheck (FIFO too); healthcheck: false sends nothing; a queue name is resolved', async () => {
    const fifoUrl = await newQueue(true);
    await destinationFor(configFor({ queueUrl: fifoUrl })).check();
    const [healthcheck] = await receiveAll(fifoUrl, 1);
    const body = JSON.parse(healthcheck?.Body ?? '{}') as Record<string, unknown>;
    assert.equal(body['type'], 'healthcheck');
    assert.equal(body['status'], 'success');
    assert.equal(attribute(healthcheck as Message, 'type'), 'healthcheck');

    const standardUrl = await newQueue(false);
    const name = new URL(standardUrl).pathname.split('/').at(-1);
    const quiet = destinationFor(configFor({ queueName: name }, { healthcheck: false }));
    await quiet.check();
    assert.deepEqual(await receiveAll(standardUrl, 1), []);
    assert.deepEqual(await quiet.send([makeRecord()], signal), [{ ok: true }]);
    assert.equal((await receiveAll(standardUrl, 1)).length, 1, 'sent through the URL GetQueueUrl gave');
  });
});
