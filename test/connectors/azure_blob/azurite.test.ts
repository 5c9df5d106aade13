import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { AccountSASPermissions, BlobServiceClient, ContainerSASPermissions, StorageSharedKeyCredential, type ContainerClient } from '@azure/storage-blob';
import { pino } from 'pino';
import { createAzureBlobClient, type AzureBlobClientOptions } from '../../../connectors/azure_blob/client.js';
import { azureBlobConfigSchema, type AzureBlobConfig } from '../../../connectors/azure_blob/config.js';
import { azureBlobConnector } from '../../../connectors/azure_blob/index.js';
import { createObjectStoreClaimCheck } from '../../../connectors/shared/object-store/claim-check-store.js';
import type { ObjectStorePort } from '../../../connectors/shared/object-store/port.js';
import type { ConnectorContext, Destination, RecordOutcome } from '../../../src/connector/contract.js';
import { Secret } from '../../../src/config/secret.js';
import { FanoutError } from '../../../src/errors/catalogue.js';
import type { TerraRecord } from '../../../src/records/record.js';
import { azuriteAccount, azuriteKey, startAzurite } from '../../support/azurite.js';
import { uniqueName } from '../../support/kafka.js';
import { makeActivityBatch, makeAthleteRecord, makeRecord, makeUserEventRecord } from '../../support/records.js';
import { useServer } from '../../support/server-process.js';

const azurite = useServer(() => startAzurite());
const context: ConnectorContext = { tenant: 'acme', destination: 'blobs', logger: pino({ level: 'silent' }) };
const signal = new AbortController().signal;
const wrongKey = Buffer.from('not-the-azurite-account-key-at-all').toString('base64');

function admin(): BlobServiceClient {
  return new BlobServiceClient(azurite.current.accountUrl, new StorageSharedKeyCredential(azuriteAccount, azuriteKey), { retryOptions: { maxTries: 1 } });
}

/** A fresh container with a unique name. */
async function newContainer(): Promise<ContainerClient> {
  const container = admin().getContainerClient(uniqueName('c'));
  await container.create();
  return container;
}

function config(input: Record<string, unknown>): AzureBlobConfig {
  return azureBlobConfigSchema.parse(input);
}

function keyConfig(container: string, extra: Record<string, unknown> = {}): AzureBlobConfig {
  return config({ container, accountName: azuriteAccount, accountKey: azuriteKey, accountUrl: azurite.current.accountUrl, ...extra });
}

function open(cfg: AzureBlobConfig, options: AzureBlobClientOptions = {}): { port: ObjectStorePort; destination: Destination } {
  const port = options.now === undefined ? azureBlobConnector.createClient(cfg, context) : createAzureBlobClient(cfg, context, options);
  return { port, destination: azureBlobConnector.createDestination(cfg, port, context) };
}

async function containerSas(container: ContainerClient, permissions: string, expiresInSeconds = 3600): Promise<string> {
  return container.generateSasUrl({ permissions: ContainerSASPermissions.parse(permissions), expiresOn: new Date(Date.now() + expiresInSeconds * 1000) });
}

async function blobNames(container: ContainerClient, prefix?: string): Promise<string[]> {
  const names: string[] = [];
  for await (const blob of container.listBlobsFlat(prefix === undefined ? {} : { prefix })) names.push(blob.name);
  return names.sort();
}

function failure(outcome: RecordOutcome | undefined): FanoutError {
  assert.ok(outcome !== undefined && !outcome.ok, 'expected a failed outcome');
  return outcome.error;
}

function at(record: TerraRecord, offset: number): TerraRecord {
  return { ...record, source: { ...record.source, topic: 'terra.events', partition: 3, offset: String(offset) } };
}

describe('azure_blob against Azurite: layout, formats, idempotency', () => {
  it("writes each record at Terra's layout, read back with the SDK, with content type and metadata; a replay overwrites, never adds", async () => {
    const container = await newContainer();
    const cfg = keyConfig(container.containerName, { prefix: 'terra/' });
    const { destination } = open(cfg);
    const batch = [...makeActivityBatch(4, ['user-a', 'user-b']), makeUserEventRecord({ userId: 'user-c' }), makeAthleteRecord({ userId: 'user-a' })];
    assert.deepEqual(await destination.send(batch, signal), batch.map(() => ({ ok: true })));

    const expected = batch.map((record) => azureBlobConnector.locate(cfg, record, 'acme')).sort();
    assert.deepEqual(await blobNames(container), expected);
    assert.ok(expected.includes('terra/2022-03-16/activity/user-a-2026-07-01T06:00:00Z.json'));
    assert.ok(expected.includes('terra/2022-03-16/auth/user-c-2026-07-01T08:00:00Z.json'));
    assert.ok(expected.includes('terra/2022-03-16/athlete/user-a.json'));
    const etags = new Map<string, string | undefined>();
    for (const record of batch) {
      const blob = container.getBlobClient(azureBlobConnector.locate(cfg, record, 'acme'));
      assert.deepEqual(await blob.downloadToBuffer(), record.body);
      const properties = await blob.getProperties();
      assert.equal(properties.contentType, 'application/json');
      assert.equal(properties.contentEncoding, undefined);
      assert.equal(properties.metadata?.['identity'], record.identity);
      assert.equal(properties.metadata?.['tenant'], 'acme');
      assert.equal(properties.metadata?.['type'], record.type);
      assert.equal(properties.metadata?.['user_id'], record.userId);
      etags.set(blob.name, properties.etag);
    }

    assert.deepEqual(await destination.send(batch, signal), batch.map(() => ({ ok: true })));
    assert.deepEqual(await blobNames(container), expected, 'the replay added nothing');
    for (const [name, etag] of etags) assert.notEqual((await container.getBlobClient(name).getProperties()).etag, etag, `${name} was rewritten`);
    await destination.close();
    await destination.close();
  });

  it('ndjson + gzip: one object per batch group named by its first offset, decoding back to the records; a replay rewrites it', async () => {
    const container = await newContainer();
    const cfg = keyConfig(container.containerName, { format: 'ndjson', gzip: true, prefix: 'lake' });
    const { destination } = open(cfg);
    const batch = makeActivityBatch(6, ['a', 'b', 'c']).map((record, index) => at(record, 500 + index));
    assert.ok((await destination.send(batch, signal)).every((outcome) => outcome.ok));
    const names = await blobNames(container);
    assert.deepEqual(names, ['lake/activity/terra.events+3+00000000000000000500.ndjson.gz']);
    const blob = container.getBlobClient(names[0] ?? '');
    const properties = await blob.getProperties();
    assert.equal(properties.contentType, 'application/x-ndjson');
    assert.equal(properties.contentEncoding, 'gzip');
    assert.equal(properties.metadata?.['record_count'], '6');
    assert.equal(properties.metadata?.['first_offset'], '500');
    const lines = gunzipSync(await blob.downloadToBuffer()).toString('utf8').trimEnd().split('\n');
    assert.deepEqual(lines.map((line) => JSON.parse(line)), batch.map((record) => JSON.parse(record.body.toString('utf8'))));

    assert.ok((await destination.send(batch, signal)).every((outcome) => outcome.ok));
    assert.deepEqual(await blobNames(container), names, 'the replay rewrote the same object');
  });

  it('a 20 MB record goes up as staged blocks (Put Block + Put Block List) within the memory budget and reads back identical', async () => {
    const container = await newContainer();
    const cfg = keyConfig(container.containerName);
    const { destination } = open(cfg);
    const padding = createHash('sha256').update('seed').digest('hex').repeat((20 * 1024 * 1024) / 64);
    const big = makeRecord({ userId: 'user-big', event: { type: 'activity', user: { user_id: 'user-big' }, data: [{ metadata: { summary_id: 's-big' }, padding }], version: '2022-03-16' } });
    const record: TerraRecord = { ...big, body: Buffer.from(JSON.stringify(big.event)) };
    assert.ok(record.body.length > 20 * 1024 * 1024);
    const small = makeRecord({ userId: 'user-small' });

    const baseline = process.memoryUsage();
    let peakExternal = 0;
    let samples = 0;
    const sampler = setInterval(() => {
      samples += 1;
      const now = process.memoryUsage();
      peakExternal = Math.max(peakExternal, now.arrayBuffers - baseline.arrayBuffers);
    }, 2);
    let outcomes: RecordOutcome[];
    try {
      outcomes = await destination.send([record, small], signal);
    } finally {
      clearInterval(sampler);
    }
    assert.deepEqual(outcomes, [{ ok: true }, { ok: true }]);

    const bigBlob = container.getBlockBlobClient(azureBlobConnector.locate(cfg, record, 'acme'));
    const blocks = await bigBlob.getBlockList('committed');
    const committed = blocks.committedBlocks ?? [];
    assert.equal(committed.length, Math.ceil(record.body.length / cfg.blockSize), 'one committed block per blockSize');
    assert.ok(committed.slice(0, -1).every((block) => block.size === cfg.blockSize));
    const smallBlocks = await container.getBlockBlobClient(azureBlobConnector.locate(cfg, small, 'acme')).getBlockList('committed');
    assert.equal(smallBlocks.committedBlocks?.length ?? 0, 0, 'a small object is one Put Blob, no blocks');

    const stored = await bigBlob.downloadToBuffer();
    assert.equal(stored.length, record.body.length);
    assert.equal(createHash('sha256').update(stored).digest('hex'), createHash('sha256').update(record.body).digest('hex'));
    // The body is sliced into blocks, not copied: the upload holds far less than another copy of it.
    assert.ok(samples >= 3, `memory was sampled during the upload (${samples} samples)`);
    assert.ok(peakExternal < 12 * 1024 * 1024, `extra buffer memory during the upload was ${Math.round(peakExternal / 1024 / 1024)} MiB`);
  });
});

describe('azure_blob against Azurite: check() and credentials', () => {
  it('check() passes with an account key and with a connection string, and removes its probe', async () => {
    const container = await newContainer();
    await open(keyConfig(container.containerName, { prefix: 'env/prod' })).destination.check();
    await open(config({ container: container.containerName, connectionString: azurite.current.connectionString })).destination.check();
    assert.deepEqual(await blobNames(container), [], 'probe deleted');
  });

  it('a SAS URL with create and write but no delete passes check() (the probe stays) and delivers', async () => {
    const container = await newContainer();
    const cfg = config({ container: container.containerName, sasUrl: await containerSas(container, 'cw') });
    const { destination } = open(cfg);
    await destination.check();
    const left = await blobNames(container);
    assert.equal(left.length, 1);
    assert.match(left[0] ?? '', /^\.terra-fanout-probe\/.+\.json$/);
    const batch = makeActivityBatch(2, ['u']);
    assert.ok((await destination.send(batch, signal)).every((outcome) => outcome.ok));
    assert.ok((await destination.send(batch, signal)).every((outcome) => outcome.ok), 'replays overwrite with w');
  });

  it('an account SAS, as sasUrl (service endpoint) or in a connection string, works too', async () => {
    const container = await newContainer();
    const accountSas = await admin().generateAccountSasUrl(new Date(Date.now() + 3600_000), AccountSASPermissions.parse('rwc'), 'co');
    const cfg = config({ container: container.containerName, sasUrl: accountSas });
    assert.ok((await open(cfg).destination.send(makeActivityBatch(1), signal)).every((outcome) => outcome.ok));
    assert.equal((await blobNames(container)).length, 1);

    // The same SAS as a connection string (BlobEndpoint + SharedAccessSignature); claim-check URLs reuse it.
    const sasConnection = `BlobEndpoint=${azurite.current.accountUrl};SharedAccessSignature=${new URL(accountSas).search.slice(1)}`;
    const viaConnection = open(config({ container: container.containerName, connectionString: sasConnection }));
    await viaConnection.destination.check();
    const record = makeRecord({ userId: 'sas-connection' });
    const ticket = await createObjectStoreClaimCheck(viaConnection.port, { expiresInSeconds: 600 }).store(record, signal);
    assert.deepEqual(Buffer.from(await (await fetch(ticket.url)).arrayBuffer()), record.body);
  });

  it('a create-only SAS fails check(): it could not overwrite on replay', async () => {
    const container = await newContainer();
    const createOnly = await containerSas(container, 'c');
    assert.equal(azureBlobConfigSchema.safeParse({ container: container.containerName, sasUrl: createOnly }).success, false, 'validate refuses a SAS without w');
    // A SAS that slipped past validation still fails check(), on the overwrite.
    const forced: AzureBlobConfig = { ...config({ container: container.containerName, sasUrl: await containerSas(container, 'cw') }), sasUrl: new Secret(createOnly) };
    await assert.rejects(open(forced).destination.check(), (error: unknown) => {
      assert.ok(error instanceof FanoutError);
      assert.equal(error.code, 'destination_auth_failed');
      assert.equal(error.detail['azureCode'], 'AuthorizationPermissionMismatch');
      assert.match(error.message, /create \(c\) and write \(w\)/);
      assert.ok(!error.message.includes('sig='));
      return true;
    });
  });

  it('a missing container: check() and send() give destination_not_found, naming the container', async () => {
    const name = uniqueName('missing');
    const { destination } = open(keyConfig(name));
    await assert.rejects(destination.check(), (error: unknown) => {
      assert.ok(error instanceof FanoutError);
      assert.equal(error.code, 'destination_not_found');
      assert.equal(error.retryable, false);
      assert.match(error.message, new RegExp(`container "${name}" does not exist.*does not create containers`));
      return true;
    });
    const outcomes = await destination.send(makeActivityBatch(2), signal);
    assert.deepEqual(outcomes.map((outcome) => failure(outcome).code), ['destination_not_found', 'destination_not_found']);
  });

  it('a wrong account key: Azurite answers 403 and check() and send() give destination_auth_failed without the key', async () => {
    const container = await newContainer();
    const { destination } = open(config({ container: container.containerName, accountName: azuriteAccount, accountKey: wrongKey, accountUrl: azurite.current.accountUrl }));
    await assert.rejects(destination.check(), (error: unknown) => {
      assert.ok(error instanceof FanoutError);
      assert.equal(error.code, 'destination_auth_failed');
      assert.equal(error.detail['status'], 403);
      assert.match(error.message, /Check accountName and accountKey/);
      assert.ok(!error.message.includes(wrongKey) && !error.message.includes(azuriteKey));
      return true;
    });
    const [outcome] = await destination.send(makeActivityBatch(1), signal);
    assert.equal(failure(outcome).code, 'destination_auth_failed');
    assert.deepEqual(await blobNames(container), []);
  });

  it('an expired SAS is refused with destination_auth_failed', async () => {
    const container = await newContainer();
    const expired = await containerSas(container, 'rcw', -60);
    const [outcome] = await open(config({ container: container.containerName, sasUrl: expired })).destination.send(makeActivityBatch(1), signal);
    const error = failure(outcome);
    assert.equal(error.code, 'destination_auth_failed');
    assert.match(error.message, /not expired \(se=\)/);
  });
});

describe('azure_blob against Azurite: claim check (signed read URLs)', () => {
  it('account key: a blob SAS that fetch() can GET; Azurite refuses it expired or tampered', async () => {
    const container = await newContainer();
    const cfg = keyConfig(container.containerName);
    const claimCheck = createObjectStoreClaimCheck(open(cfg).port, { prefix: 'claims', expiresInSeconds: 600 });
    await claimCheck.check(signal);
    const record = makeRecord({ userId: 'claim-user' });
    const ticket = await claimCheck.store(record, signal);
    assert.equal(ticket.expiresInSeconds, 600);
    assert.match(ticket.url, new RegExp(`/${container.containerName}/claims/activity/${record.identity}\\.json\\?.*sp=r.*sig=`));
    const response = await fetch(ticket.url);
    assert.equal(response.status, 200);
    assert.deepEqual(Buffer.from(await response.arrayBuffer()), record.body);
    assert.equal(response.headers.get('content-type'), 'application/json');

    const tampered = ticket.url.replace(/sig=[^&]+/, `sig=${encodeURIComponent(Buffer.alloc(32, 7).toString('base64'))}`);
    assert.equal((await fetch(tampered)).status, 403, 'a tampered signature is refused');
    const otherBlob = ticket.url.replace(`${record.identity}.json`, 'someone-else.json');
    assert.equal((await fetch(otherBlob)).status, 403, 'the SAS is for that one blob');
    assert.notEqual((await fetch(ticket.url.split('?')[0] ?? '')).status, 200, 'the blob is not public');

    // A port whose clock is an hour behind signs URLs that expired before they were made.
    const late = createObjectStoreClaimCheck(open(cfg, { now: () => Date.now() - 3600_000 }).port, { prefix: 'claims', expiresInSeconds: 600 });
    const stale = await late.store(record, signal);
    assert.equal((await fetch(stale.url)).status, 403, 'an expired SAS is refused');
  });

  it('SAS URL: the configured SAS is reused when it grants read; without r it is a configuration error', async () => {
    const container = await newContainer();
    const withRead = createObjectStoreClaimCheck(open(config({ container: container.containerName, sasUrl: await containerSas(container, 'rcw') })).port, { expiresInSeconds: 600 });
    const record = makeRecord({ userId: 'claim-sas' });
    const ticket = await withRead.store(record, signal);
    const response = await fetch(ticket.url);
    assert.equal(response.status, 200);
    assert.deepEqual(Buffer.from(await response.arrayBuffer()), record.body);

    const withoutRead = createObjectStoreClaimCheck(open(config({ container: container.containerName, sasUrl: await containerSas(container, 'cw') })).port, { expiresInSeconds: 600 });
    await assert.rejects(withoutRead.store(record, signal), (error: unknown) => {
      assert.ok(error instanceof FanoutError);
      assert.equal(error.code, 'destination_misconfigured');
      assert.match(error.message, /no read \(r\) permission \(sp=cw\)/);
      assert.ok(!error.message.includes('sig='));
      return true;
    });
  });
});

describe('azure_blob: failures without an answer', () => {
  const servers: Server[] = [];
  const sockets: Socket[] = [];
  after(async () => {
    for (const socket of sockets) socket.destroy();
    for (const server of servers) await new Promise((resolve) => server.close(resolve));
  });

  async function listen(onConnection: (socket: Socket) => void): Promise<number> {
    const server = createServer(onConnection);
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    assert.ok(address !== null && typeof address === 'object');
    return address.port;
  }

  it('nothing listening: destination_unavailable, retryable', async () => {
    const port = await listen(() => undefined);
    await new Promise((resolve) => servers.pop()?.close(resolve));
    const { destination } = open(config({ container: 'terra', accountName: azuriteAccount, accountKey: azuriteKey, accountUrl: `http://127.0.0.1:${port}/${azuriteAccount}` }));
    const [outcome] = await destination.send(makeActivityBatch(1), signal);
    const error = failure(outcome);
    assert.equal(error.code, 'destination_unavailable');
    assert.equal(error.retryable, true);
    await assert.rejects(destination.check(), { code: 'destination_unavailable' });
  });

  it('a server that never answers: destination_timeout after timeoutMs; a shutdown aborts at once', async () => {
    const port = await listen((socket) => void sockets.push(socket));
    const cfg = config({ container: 'terra', accountName: azuriteAccount, accountKey: azuriteKey, accountUrl: `http://127.0.0.1:${port}/${azuriteAccount}`, timeoutMs: 1000 });
    const { destination } = open(cfg);
    const started = Date.now();
    const [outcome] = await destination.send(makeActivityBatch(1), signal);
    assert.equal(failure(outcome).code, 'destination_timeout');
    assert.ok(Date.now() - started < 5000);

    const shutdown = new AbortController();
    const sending = destination.send(makeActivityBatch(1), shutdown.signal);
    setTimeout(() => shutdown.abort(), 100);
    const [aborted] = await sending;
    const error = failure(aborted);
    assert.equal(error.code, 'destination_unavailable');
    assert.match(error.message, /aborted at shutdown/);
  });
});
