/**
 * The object-store destinations (S3, GCS, Azure Blob) against a store that accepts connections and
 * never answers (test/support/silent-server.ts), each through its real SDK client pointed at the
 * silent server by its endpoint setting: check() and send() fail as destination_timeout within
 * timeoutMs, the connections of the abandoned requests are closed, and close() is bounded.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import { azureBlobConnector } from '../../../connectors/azure_blob/index.js';
import { gcsConnector } from '../../../connectors/gcs/index.js';
import { s3Connector } from '../../../connectors/s3/index.js';
import { CLOSE_GRACE_MS } from '../../../connectors/shared/call-deadline.js';
import type { AnyConnectorDefinition, ConnectorContext, Destination } from '../../../src/connector/contract.js';
import { FanoutError } from '../../../src/errors/catalogue.js';
import { azuriteAccount, azuriteKey } from '../../support/azurite.js';
import { makeActivityBatch } from '../../support/records.js';
import { startSilentServer, type SilentServer } from '../../support/silent-server.js';

const context: ConnectorContext = { tenant: 'acme', destination: 'lake', logger: pino({ level: 'silent' }) };
const timeoutMs = 1_500;
/** What a loaded 2-core machine may add to timeoutMs before the error arrives. */
const marginMs = 2_500;

const stores: Array<{ name: string; connector: AnyConnectorDefinition; config(silent: SilentServer): Record<string, unknown> }> = [
  {
    name: 's3',
    connector: s3Connector,
    config: (silent) => ({
      bucket: 'silent-bucket',
      region: 'us-east-1',
      endpoint: silent.url,
      forcePathStyle: true,
      credentials: { accessKeyId: 'test-access-key', secretAccessKey: 'test-secret-key' },
      timeoutMs,
    }),
  },
  {
    name: 'gcs',
    connector: gcsConnector,
    config: (silent) => ({ bucket: 'silent-bucket', projectId: 'silent-project', apiEndpoint: silent.url, timeoutMs }),
  },
  {
    name: 'azure_blob',
    connector: azureBlobConnector,
    config: (silent) => ({ container: 'silent-container', accountName: azuriteAccount, accountKey: azuriteKey, accountUrl: `${silent.url}/${azuriteAccount}`, timeoutMs }),
  },
];

const servers: SilentServer[] = [];
after(async () => {
  for (const server of servers) await server.close();
});

for (const store of stores) {
  describe(`${store.name} destination: a store that accepts connections and never answers`, () => {
    it('check() and send() fail as destination_timeout within timeoutMs; the abandoned connections are closed; close() is bounded', async () => {
      const silent = await startSilentServer();
      servers.push(silent);
      const config = store.connector.configSchema.parse(store.config(silent));
      const destination: Destination = store.connector.createDestination(config, store.connector.createClient(config, context), context);

      let started = Date.now();
      await assert.rejects(destination.check(), (error: unknown) => {
        assert.ok(error instanceof FanoutError);
        assert.deepEqual([error.code, error.retryable], ['destination_timeout', true], error.message);
        return true;
      });
      let elapsed = Date.now() - started;
      assert.ok(elapsed < timeoutMs + marginMs, `check() failed after ${elapsed} ms (timeoutMs ${timeoutMs})`);

      started = Date.now();
      const outcomes = await destination.send(makeActivityBatch(3, ['u-1', 'u-2', 'u-3']), new AbortController().signal);
      elapsed = Date.now() - started;
      for (const outcome of outcomes) {
        assert.ok(!outcome.ok, 'the upload failed');
        assert.deepEqual([outcome.error.code, outcome.error.retryable], ['destination_timeout', true], outcome.error.message);
      }
      assert.ok(elapsed >= timeoutMs - 100 && elapsed < timeoutMs + marginMs, `send() failed after ${elapsed} ms (timeoutMs ${timeoutMs})`);
      assert.ok(silent.used > 0, 'the requests reached the store');
      const deadline = Date.now() + 5_000;
      while (silent.usedClosedByClient < silent.used && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(silent.usedClosedByClient, silent.used, 'every connection that carried an abandoned request was closed by the client');

      const inFlight = destination.send(makeActivityBatch(1), new AbortController().signal);
      await new Promise((resolve) => setTimeout(resolve, 100));
      started = Date.now();
      await destination.close();
      assert.ok(Date.now() - started < CLOSE_GRACE_MS + marginMs, `close() took ${Date.now() - started} ms`);
      const [last] = await inFlight;
      assert.ok(last !== undefined && !last.ok && last.error.retryable);
    });
  });
}
