import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { pino } from 'pino';
import { sqsConfigSchema } from '../../../connectors/sqs/config.js';
import { createSqsDestination } from '../../../connectors/sqs/destination.js';
import { sqsConnector } from '../../../connectors/sqs/index.js';
import type { ConnectorContext, Destination } from '../../../src/connector/contract.js';
import { FanoutError } from '../../../src/errors/catalogue.js';
import { uniqueName } from '../../support/kafka.js';
import { createMotoIamUser, enforceMotoIam, motoRegion, startMoto } from '../../support/moto.js';
import { makeRecord } from '../../support/records.js';
import { useServer } from '../../support/server-process.js';

/** Credentials and permissions against moto with IAM enforced (a moto of its own: enforcement is process-wide). */
const moto = useServer(async () => {
  const server = await startMoto();
  // moto authorizes SendMessageBatch as sqs:SendMessageBatch; AWS as sqs:SendMessage.
  const sender = await createMotoIamUser(server, 'sender', ['sqs:SendMessage', 'sqs:SendMessageBatch', 'sqs:CreateQueue']);
  const nobody = await createMotoIamUser(server, 'nobody', null);
  await enforceMotoIam(server, true);
  const client = new SQSClient({ region: motoRegion, endpoint: server.endpoint, credentials: { accessKeyId: sender.accessKeyId, secretAccessKey: sender.secretAccessKey } });
  const queueUrl = (await client.send(new CreateQueueCommand({ QueueName: uniqueName('auth-queue') }))).QueueUrl ?? '';
  client.destroy();
  return { ...server, sender, nobody, queueUrl };
});

const context: ConnectorContext = { tenant: 'acme', destination: 'queue', logger: pino({ level: 'silent' }) };
const destinations: Destination[] = [];
after(async () => {
  for (const destination of destinations) await destination.close();
});

function destinationAs(accessKeyId: string, secretAccessKey: string): Destination {
  const config = sqsConfigSchema.parse({ queueUrl: moto.current.queueUrl, region: motoRegion, endpoint: moto.current.endpoint, maxAttempts: 1, credentials: { accessKeyId, secretAccessKey } });
  const destination = createSqsDestination(config, sqsConnector.createClient(config, context), context);
  destinations.push(destination);
  return destination;
}

describe('sqs credentials against moto with IAM enforced', () => {
  it('a sender with sqs:SendMessage passes check() and delivers', async () => {
    const { sender } = moto.current;
    const destination = destinationAs(sender.accessKeyId, sender.secretAccessKey);
    await destination.check();
    assert.deepEqual(await destination.send([makeRecord()], new AbortController().signal), [{ ok: true }]);
  });

  it('an unknown key, a wrong secret and a user without permission are destination_auth_failed in check() and send()', async () => {
    const { sender, nobody } = moto.current;
    for (const [accessKeyId, secretAccessKey] of [
      ['AKIAUNKNOWNKEY000000', 'unknown-key-secret'],
      [sender.accessKeyId, 'wrong-secret-value'],
      [nobody.accessKeyId, nobody.secretAccessKey],
    ] as const) {
      const destination = destinationAs(accessKeyId, secretAccessKey);
      await assert.rejects(destination.check(), (error: unknown) => error instanceof FanoutError && error.code === 'destination_auth_failed');
      const [outcome] = await destination.send([makeRecord()], new AbortController().signal);
      assert.ok(outcome !== undefined && !outcome.ok);
      assert.equal(outcome.error.code, 'destination_auth_failed');
      assert.equal(outcome.error.retryable, false);
      assert.ok(!outcome.error.message.includes(secretAccessKey));
    }
  });
});
