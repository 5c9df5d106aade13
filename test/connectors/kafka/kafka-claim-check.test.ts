import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { pino } from 'pino';
import { kafkaConnector } from '../../../connectors/kafka/index.js';
import { kafkaOutConfigSchema } from '../../../connectors/kafka/config.js';
import { kafkaOutHeader } from '../../../connectors/kafka/encode.js';
import type { ConnectorContext } from '../../../src/connector/contract.js';
import { applyLibrdkafkaMockCompat } from '../../../src/kafka/librdkafka-mock-compat.js';
import { makeActivityBatch, makeRecord } from '../../support/records.js';
import { azuriteAccount, azuriteKey, startAzurite } from '../../support/azurite.js';
import { uniqueName, useKafkaBroker } from '../../support/kafka.js';
import { useServer } from '../../support/server-process.js';
import { readTopics } from './read-topics.js';

/**
 * The kafka destination built from its tenant-file config with a `claimCheck` block, end to end:
 * the local broker for the messages, Azurite (which checks SAS signatures) for the bodies. The
 * pointer's URL is fetched with plain fetch(), as a consumer would.
 */

const kafka = useKafkaBroker();
const azurite = useServer(() => startAzurite());
const context: ConnectorContext = { tenant: 'acme', destination: 'stream', logger: pino({ level: 'silent' }) };
const signal = new AbortController().signal;

before(() => applyLibrdkafkaMockCompat());

describe('kafka destination with a claim-check bucket', () => {
  it('sends oversized records as s3_payload pointers whose signed URL returns the record; the rest inline', async () => {
    const container = uniqueName('claims').toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 60);
    const admin = new BlobServiceClient(azurite.current.accountUrl, new StorageSharedKeyCredential(azuriteAccount, azuriteKey));
    await admin.getContainerClient(container).create();
    const topic = uniqueName('pointers');
    const config = kafkaOutConfigSchema.parse({
      brokers: kafka.brokers,
      topic,
      healthcheckTopic: `${topic}.health`,
      payload: { mode: 'auto', maxInlineBytes: 4000 },
      claimCheck: { type: 'azure_blob', expiresInSeconds: 300, config: { container, connectionString: azurite.current.connectionString, prefix: 'kafka' } },
    });
    const destination = kafkaConnector.createDestination(config, kafkaConnector.createClient(config, context), context);
    try {
      await destination.check();
      const big = { ...makeRecord({ userId: 'u-9', summaryId: 'big' }), body: Buffer.from(JSON.stringify({ type: 'activity', padding: 'y'.repeat(20_000) })) };
      const batch = [...makeActivityBatch(2, ['u-9']), big];
      assert.deepEqual(await destination.send(batch, signal), batch.map(() => ({ ok: true })));

      const got = await readTopics(kafka, [topic], batch.length);
      assert.equal(got.length, batch.length);
      const pointerMessage = got.find((message) => message.headers[kafkaOutHeader.payload] === 'pointer');
      assert.ok(pointerMessage !== undefined, 'the oversized record went as a pointer');
      assert.equal(got.filter((message) => message.headers[kafkaOutHeader.payload] === 'inline').length, 2);
      const pointer = JSON.parse(pointerMessage.value ?? '{}') as { status: string; type: string; url: string; expires_in: number; identity: string };
      assert.deepEqual([pointer.status, pointer.type, pointer.expires_in, pointer.identity], ['success', 's3_payload', 300, big.identity]);
      assert.ok(pointer.url.startsWith(`${azurite.current.accountUrl}/${container}/kafka/activity/${big.identity}.json?`), pointer.url);
      const fetched = await fetch(pointer.url);
      assert.equal(fetched.status, 200);
      assert.deepEqual(Buffer.from(await fetched.arrayBuffer()), big.body);
      const tampered = await fetch(pointer.url.replace(/sig=[^&]+/, 'sig=AAAA'));
      assert.equal(tampered.status, 403, 'the store checks the signature');
    } finally {
      await destination.close();
    }
  });

  it('check() fails with destination_not_found when the claim-check container is missing', async () => {
    const config = kafkaOutConfigSchema.parse({
      brokers: kafka.brokers,
      topic: uniqueName('nobucket'),
      payload: { mode: 'pointer' },
      claimCheck: { type: 'azure_blob', config: { container: 'no-such-container', connectionString: azurite.current.connectionString } },
    });
    const destination = kafkaConnector.createDestination(config, kafkaConnector.createClient(config, context), context);
    try {
      await assert.rejects(destination.check(), { code: 'destination_not_found' });
    } finally {
      await destination.close();
    }
  });
});
