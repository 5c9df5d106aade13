import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { motoCredentials, motoRegion, startMoto } from '../../test/support/moto.js';
import type { BenchTarget } from '../bench-target.js';

/**
 * SQS on a local moto: a standard queue, records inline (the bench's ~1 KB events always fit),
 * SendMessageBatch of 10. count() reads ApproximateNumberOfMessages.
 *
 * moto, not the connector, sets the pace here. It serves one request at a time and recomputes
 * the queue's attributes over every stored message for each message it accepts, so a batch of 10
 * costs ~60 ms on an empty queue and ~500 ms at 2,500 messages (a consumer draining the queue
 * competes for the same single thread and does not help). Run this target with about a thousand
 * events, not the 50,000 of the file run; small lane batches keep one send well inside the
 * consumer group's session timeout.
 */
export async function startSqsBenchTarget(): Promise<BenchTarget> {
  const moto = await startMoto();
  // A copy: the SDK marks the credentials object it is given.
  const client = new SQSClient({ region: motoRegion, endpoint: moto.endpoint, credentials: { ...motoCredentials } });
  let queueUrl: string;
  try {
    const created = await client.send(new CreateQueueCommand({ QueueName: `bench-${Date.now()}` }));
    if (created.QueueUrl === undefined) throw new Error('moto created a queue without a URL');
    queueUrl = created.QueueUrl;
  } catch (error) {
    client.destroy();
    await moto.stop();
    throw error;
  }
  return {
    label: 'lane -> sqs (moto), standard queue',
    maxEvents: 1_000,
    destination: {
      type: 'sqs',
      config: {
        queueUrl,
        region: motoRegion,
        endpoint: moto.endpoint,
        credentials: { accessKeyId: motoCredentials.accessKeyId, secretAccessKey: motoCredentials.secretAccessKey },
        healthcheck: false,
        concurrency: 1,
      },
      batch: { maxRecords: 50, lingerMs: 50 },
    },
    async count() {
      const answer = await client.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }));
      return Number(answer.Attributes?.['ApproximateNumberOfMessages'] ?? Number.NaN);
    },
    async stop() {
      client.destroy();
      await moto.stop();
    },
  };
}
