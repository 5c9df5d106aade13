import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient, type Message } from '@aws-sdk/client-sqs';
import { pino } from 'pino';
import { loadWorkerWithTenants } from '../../../src/config/load-config.js';
import { deadLetterHeader } from '../../../src/lane/dead-letter.js';
import { startWorker } from '../../../src/worker/worker.js';
import { uniqueName, useKafkaBroker } from '../../support/kafka.js';
import { motoCredentials, motoRegion, startMoto } from '../../support/moto.js';
import { useServer } from '../../support/server-process.js';
import { activityEvent, useCleanups, waitFor, writeWorkerFiles } from '../../support/worker-files.js';

/** End to end: the worker reads the local Kafka broker and sends to SQS on moto, large records through an S3 claim check. */
const kafka = useKafkaBroker();
const moto = useServer(() => startMoto());
const keys = (): { accessKeyId: string; secretAccessKey: string } => ({ accessKeyId: motoCredentials.accessKeyId, secretAccessKey: motoCredentials.secretAccessKey });

async function drain(sqs: SQSClient, queueUrl: string): Promise<Message[]> {
  const received: Message[] = [];
  for (let empty = 0; empty < 3; ) {
    const answer = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, MessageAttributeNames: ['All'], MessageSystemAttributeNames: ['All'] }));
    const messages = answer.Messages ?? [];
    if (messages.length === 0) {
      empty += 1;
      await new Promise((resolve) => setTimeout(resolve, 100));
      continue;
    }
    received.push(...messages);
    await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: messages.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle ?? '' })) }));
  }
  return received;
}

describe('sqs through the worker and the local Kafka broker', () => {
  const cleanups = useCleanups();

  it('delivers to a FIFO queue in user order, a 1.5 MB record as a pointer, a replay adds nothing; without a claim check the large record is parked', async () => {
    const sqs = new SQSClient({ region: motoRegion, endpoint: moto.current.endpoint, credentials: keys() });
    const s3 = new S3Client({ region: motoRegion, endpoint: moto.current.endpoint, forcePathStyle: true, credentials: keys() });
    cleanups.push(async () => {
      sqs.destroy();
      s3.destroy();
    });
    const fifoQueue = (await sqs.send(new CreateQueueCommand({ QueueName: `${uniqueName('events')}.fifo`, Attributes: { FifoQueue: 'true' } }))).QueueUrl ?? '';
    const plainQueue = (await sqs.send(new CreateQueueCommand({ QueueName: uniqueName('plain') }))).QueueUrl ?? '';
    const bucket = uniqueName('claims');
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));

    const topic = uniqueName('events');
    const dlq = `${topic}.dlq`;
    const connection = { region: motoRegion, endpoint: moto.current.endpoint, maxAttempts: 1, credentials: { accessKeyId: motoCredentials.accessKeyId, secretAccessKey: '${MOTO_SECRET}' } };
    const fast = { batch: { lingerMs: 20 }, retry: { initialDelayMs: 50, maxDelayMs: 200 } };
    const { dir, workerPath } = await writeWorkerFiles({
      brokers: kafka.brokers,
      tenants: [
        {
          tenant: 'acme',
          topics: [topic],
          deadLetterTopic: dlq,
          destinations: [
            { name: 'fifo', type: 'sqs', ...fast, config: { queueUrl: fifoQueue, ...connection, claimCheck: { type: 's3', config: { bucket, prefix: 'claims', forcePathStyle: true, ...connection } } } },
            { name: 'plain', type: 'sqs', ...fast, config: { queueUrl: plainQueue, ...connection, healthcheck: false } },
          ],
        },
      ],
    });
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const loaded = await loadWorkerWithTenants(workerPath, { ...process.env, MOTO_SECRET: motoCredentials.secretAccessKey });
    assert.ok(loaded.ok, loaded.ok ? '' : JSON.stringify(loaded.problems));
    const worker = await startWorker(loaded.value, { logger: pino({ level: 'silent' }), httpPort: 0 });
    cleanups.push(() => worker.stop());
    assert.ok(await waitFor(async () => (await fetch(`${worker.http.url}/readyz`)).status === 200, 30_000), 'both lanes checked and joined');

    const users = ['u-1', 'u-2', 'u-3'];
    const events = users.flatMap((user) => [0, 1].map((index) => activityEvent(user, index)));
    events.push(activityEvent('u-big', 0, { samples: 'x'.repeat(1_500_000) }));
    // One partition and explicit timestamps: the replay below is the same Kafka messages again.
    const messages = events.map((event, index) => ({ key: 'all', value: JSON.stringify(event), timestamp: String(Date.UTC(2026, 6, 1, 9, 0, index)) }));
    await kafka.produce(topic, messages);

    const metric = async (destination: string, value: number): Promise<boolean> =>
      new RegExp(`terra_fanout_records_delivered_total\\{tenant="acme",destination="${destination}",connector="sqs"\\} ${value}\\b`).test(await (await fetch(`${worker.http.url}/metrics`)).text());
    assert.ok(await waitFor(() => metric('fifo', events.length), 30_000), 'fifo lane delivered every record');
    const parked = await kafka.consumeAll(dlq, { groupId: uniqueName('dlq-reader'), expected: 1, timeoutMs: 30_000 });
    assert.equal(parked.length, 1);
    assert.equal(parked[0]?.headers[deadLetterHeader.destination], 'plain');
    assert.equal(parked[0]?.headers[deadLetterHeader.code], 'destination_record_too_large');
    assert.match(String(parked[0]?.headers[deadLetterHeader.message]), /no claimCheck bucket is configured/);

    await kafka.produce(topic, messages);
    assert.ok(await waitFor(() => metric('fifo', 2 * events.length), 30_000), 'the replay went through the lane again');

    const received = (await drain(sqs, fifoQueue)).filter((message) => message.MessageAttributes?.['type']?.StringValue !== 'healthcheck');
    assert.equal(received.length, events.length, 'FIFO deduplicated the replay: one message per record');
    for (const user of users) {
      const starts = received
        .filter((message) => message.Attributes?.MessageGroupId === user)
        .map((message) => (JSON.parse(message.Body ?? '{}') as { data: Array<{ metadata: { summary_id: string } }> }).data[0]?.metadata.summary_id);
      assert.deepEqual(starts, [`${user}-act-0`, `${user}-act-1`], `${user} in order`);
    }
    const pointer = JSON.parse(received.find((message) => message.Attributes?.MessageGroupId === 'u-big')?.Body ?? '{}') as { type?: string; url?: string };
    assert.equal(pointer.type, 's3_payload');
    const fetched = JSON.parse(await (await fetch(pointer.url ?? '')).text()) as { user: { user_id: string }; data: Array<{ samples: string }> };
    assert.equal(fetched.user.user_id, 'u-big');
    assert.equal(fetched.data[0]?.samples.length, 1_500_000);
    assert.equal((await drain(sqs, plainQueue)).length, 2 * (events.length - 1), 'the standard queue has no deduplication: the replay is delivered again');
  });
});
