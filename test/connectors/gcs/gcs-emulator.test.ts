import assert from 'node:assert/strict';
import { createHash, verify, type KeyObject } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, it } from 'node:test';
import { Storage } from '@google-cloud/storage';
import { pino } from 'pino';
import { createGcsClient } from '../../../connectors/gcs/client.js';
import { gcsConfigSchema, type GcsConfig } from '../../../connectors/gcs/config.js';
import { gcsConnector } from '../../../connectors/gcs/index.js';
import { createObjectStoreClaimCheck } from '../../../connectors/shared/object-store/claim-check-store.js';
import type { ConnectorContext, RecordOutcome } from '../../../src/connector/contract.js';
import { FanoutError } from '../../../src/errors/catalogue.js';
import type { TerraRecord } from '../../../src/records/record.js';
import { fakeServiceAccount, isolateGoogleSdks, useGcsEmulator } from '../../support/gcs-emulator.js';
import { uniqueName } from '../../support/kafka.js';
import { makeActivityBatch, makeAthleteRecord, makeDailyRecord, makeRecord, makeUserEventRecord } from '../../support/records.js';
import { freePort } from '../../support/server-process.js';

/**
 * The GCS connector against the Firebase Storage emulator's GCS JSON API (a real HTTP server
 * speaking the JSON API the SDK uses), read back with the official SDK. What the emulator cannot
 * show (IAM, missing buckets, throttling) is in gcs-faults.test.ts.
 */

isolateGoogleSdks();
const gcs = useGcsEmulator();
const context: ConnectorContext = { tenant: 'acme', destination: 'lake', logger: pino({ level: 'silent' }) };
const MiB = 1024 * 1024;

function configFor(input: Record<string, unknown>): GcsConfig {
  return gcsConfigSchema.parse({ apiEndpoint: gcs.current.endpoint, ...input });
}

function sdk(): Storage {
  return new Storage({ apiEndpoint: gcs.current.endpoint, projectId: 'demo-terra-fanout' });
}

async function send(config: GcsConfig, batch: readonly TerraRecord[]): Promise<RecordOutcome[]> {
  const destination = gcsConnector.createDestination(config, gcsConnector.createClient(config, context), context);
  try {
    return await destination.send(batch, new AbortController().signal);
  } finally {
    await destination.close();
  }
}

async function objectNames(bucket: string, prefix = ''): Promise<string[]> {
  const [files] = await sdk().bucket(bucket).getFiles({ prefix });
  return files.map((file) => file.name).sort();
}

function at(record: TerraRecord, partition: number, offset: number): TerraRecord {
  return { ...record, source: { ...record.source, topic: 'terra.events', partition, offset: String(offset) } };
}

/** RFC 3986 encoding, as GCS canonicalises query parameters for V4 signatures. */
function strictEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * Verifies a V4 signed URL the way GCS does (cloud.google.com/storage/docs/access-control/signing-urls-manually):
 * canonical request, string to sign, RSA-SHA256 over it with the service account's public key.
 */
function verifiesAsV4(url: URL, publicKey: KeyObject): boolean {
  const params = [...url.searchParams.entries()].filter(([name]) => name !== 'X-Goog-Signature');
  const canonicalQuery = params
    .map(([name, value]) => `${strictEncode(name)}=${strictEncode(value)}`)
    .sort()
    .join('&');
  const canonicalRequest = ['GET', url.pathname, canonicalQuery, `host:${url.hostname}\n`, 'host', 'UNSIGNED-PAYLOAD'].join('\n');
  const date = url.searchParams.get('X-Goog-Date') ?? '';
  const scope = (url.searchParams.get('X-Goog-Credential') ?? '').split('/').slice(1).join('/');
  const stringToSign = ['GOOG4-RSA-SHA256', date, scope, createHash('sha256').update(canonicalRequest).digest('hex')].join('\n');
  return verify('RSA-SHA256', Buffer.from(stringToSign), publicKey, Buffer.from(url.searchParams.get('X-Goog-Signature') ?? '', 'hex'));
}

describe('gcs connector against the GCS emulator', () => {
  it("json: every record lands at Terra's key layout with its content type and user metadata, read back with the SDK", async () => {
    const bucket = uniqueName('gcs-json');
    const config = configFor({ bucket, prefix: 'terra' });
    const [activity] = makeActivityBatch(1, ['user-a']);
    assert.ok(activity);
    const batch = [activity, ...makeActivityBatch(3, ['user-a', 'user-b']).slice(1), makeDailyRecord({ userId: 'user-a' }), makeUserEventRecord({ userId: 'user-c' }), makeAthleteRecord({ userId: 'user-d' })];

    const outcomes = await send(config, batch);
    assert.deepEqual(outcomes, batch.map(() => ({ ok: true })));

    const names = await objectNames(bucket);
    assert.deepEqual(names, batch.map((record) => gcsConnector.locate(config, record, 'acme')).sort());
    // Terra's documented layout, spelled out (terra-delivery-spec.md section 4.4).
    assert.ok(names.includes('terra/2022-03-16/activity/user-a-2026-07-01T06:00:00Z.json'), names.join('\n'));
    assert.ok(names.includes('terra/2022-03-16/auth/user-c-2026-07-01T08:00:00Z.json'), names.join('\n'));
    assert.ok(names.includes('terra/2022-03-16/athlete/user-d.json'), names.join('\n'));

    for (const record of batch) {
      const file = sdk().bucket(bucket).file(gcsConnector.locate(config, record, 'acme'));
      const [body] = await file.download();
      assert.deepEqual(body, record.body, `${file.name} holds the record body`);
      const [metadata] = await file.getMetadata();
      assert.equal(metadata.contentType, 'application/json');
      assert.equal(metadata.contentEncoding, undefined);
      assert.deepEqual(metadata.metadata, {
        tenant: 'acme',
        type: record.type,
        user_id: record.userId ?? 'none',
        reference_id: record.referenceId ?? 'none',
        provider: record.provider ?? 'none',
        identity: record.identity,
      });
    }
  });

  it('a replay overwrites: the same keys, the same object count, a new generation of each object', async () => {
    const bucket = uniqueName('gcs-replay');
    const config = configFor({ bucket });
    const batch = makeActivityBatch(4, ['user-a', 'user-b']);
    await send(config, batch);
    const generations = async () => {
      const [files] = await sdk().bucket(bucket).getFiles();
      return new Map(files.map((file) => [file.name, String(file.metadata.generation)]));
    };
    const first = await generations();
    assert.equal(first.size, batch.length);

    const again = await send(config, batch);
    assert.ok(again.every((outcome) => outcome.ok));
    const second = await generations();
    assert.deepEqual([...second.keys()].sort(), [...first.keys()].sort(), 'no object added');
    for (const [name, generation] of second) assert.notEqual(generation, first.get(name), `${name} was rewritten`);
  });

  it('ndjson + gzip: one object per topic/partition/type named by its first offset; the raw bytes gunzip back to the records', async () => {
    const bucket = uniqueName('gcs-ndjson');
    const config = configFor({ bucket, prefix: 'lake', format: 'ndjson', gzip: true });
    const activities = makeActivityBatch(3, ['user-a', 'user-b']);
    const batch = [at(activities[0]!, 1, 41), at(makeUserEventRecord(), 1, 40), at(activities[1]!, 1, 42), at(activities[2]!, 2, 7)];

    assert.ok((await send(config, batch)).every((outcome) => outcome.ok));
    const expected = new Map([
      ['lake/activity/terra.events+1+00000000000000000041.ndjson.gz', [batch[0]!, batch[2]!]],
      ['lake/auth/terra.events+1+00000000000000000040.ndjson.gz', [batch[1]!]],
      ['lake/activity/terra.events+2+00000000000000000007.ndjson.gz', [batch[3]!]],
    ]);
    assert.deepEqual(await objectNames(bucket), [...expected.keys()].sort());

    for (const [name, records] of expected) {
      const file = sdk().bucket(bucket).file(name);
      const [metadata] = await file.getMetadata();
      assert.equal(metadata.contentType, 'application/x-ndjson');
      assert.equal(metadata.contentEncoding, 'gzip');
      assert.equal(metadata.metadata?.['record_count'], String(records.length));

      const [raw] = await file.download({ decompress: false });
      assert.deepEqual([raw[0], raw[1]], [0x1f, 0x8b], `${name} is stored gzip-compressed`);
      const lines = gunzipSync(raw).toString('utf8').split('\n');
      assert.equal(lines.pop(), '', 'ends with a newline');
      assert.deepEqual(lines.map((line) => JSON.parse(line) as unknown), records.map((record) => record.event));

      // The plain download: the emulator decompresses when the client does not accept gzip, and
      // the SDK decompresses what it is sent gzip-encoded; either way the reader gets the lines.
      const [plain] = await file.download();
      assert.equal(plain.toString('utf8'), `${records.map((record) => record.body.toString('utf8')).join('\n')}\n`);
    }

    assert.ok((await send(config, batch)).every((outcome) => outcome.ok), 'replay');
    assert.equal((await objectNames(bucket)).length, expected.size, 'a replay rewrites the same objects');
  });

  it('a 20 MB record goes up as a resumable upload, within the memory budget, and reads back identical', async (t) => {
    const bucket = uniqueName('gcs-large');
    const config = configFor({ bucket });
    const template = makeRecord({ userId: 'user-big' });
    const hrSamples = Array.from({ length: Math.ceil((21 * MiB) / 64) }, (_, index) => ({ t: index, bpm: 60 + (index % 120), pad: 'x'.repeat(32) }));
    const body = Buffer.from(JSON.stringify({ ...template.event, data: [{ ...template.item, heart_rate_data: { detailed: { hr_samples: hrSamples } } }] }));
    assert.ok(body.length >= 20 * MiB, `body is ${body.length} bytes`);
    const big = { ...template, body };
    const small = makeRecord({ userId: 'user-small' });
    const before = (await gcs.current.requests()).length;

    // Buffers live outside the V8 heap: arrayBuffers counts every copy of the body exactly.
    const baseline = process.memoryUsage();
    let peak = { rss: baseline.rss, arrayBuffers: baseline.arrayBuffers };
    let samples = 0;
    const sampler = setInterval(() => {
      samples += 1;
      const now = process.memoryUsage();
      peak = { rss: Math.max(peak.rss, now.rss), arrayBuffers: Math.max(peak.arrayBuffers, now.arrayBuffers) };
    }, 5);
    let outcomes: RecordOutcome[];
    try {
      outcomes = await send(config, [big, small]);
    } finally {
      clearInterval(sampler);
    }
    assert.deepEqual(outcomes, [{ ok: true }, { ok: true }]);
    const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;
    const buffers = peak.arrayBuffers - baseline.arrayBuffers;
    const rss = peak.rss - baseline.rss;
    t.diagnostic(`uploading ${mib(body.length)}: buffers +${mib(buffers)}, RSS +${mib(rss)} (${samples} samples)`);
    assert.ok(samples >= 3, 'memory was sampled during the upload');
    // The body is in memory already (the engine holds it); the upload streams it without a second copy.
    assert.ok(buffers < body.length / 2, `buffers grew by ${mib(buffers)} (RSS by ${mib(rss)}) while uploading ${mib(body.length)}`);

    const requests = (await gcs.current.requests()).slice(before);
    const bigName = encodeURIComponent(gcsConnector.locate(config, big, 'acme'));
    const smallName = encodeURIComponent(gcsConnector.locate(config, small, 'acme'));
    const uploads = requests.filter((request) => request.url.startsWith(`/upload/storage/v1/b/${bucket}/o`));
    const started = uploads.filter((request) => request.method === 'POST' && request.url.includes('uploadType=resumable') && request.url.includes(`name=${bigName}`));
    assert.equal(started.length, 1, `one resumable session for the big object: ${JSON.stringify(uploads)}`);
    assert.equal(uploads.filter((request) => request.method === 'PUT' && request.url.includes('upload_id=')).length, 1, 'its bytes went up in the session');
    assert.equal(uploads.filter((request) => request.url.includes('uploadType=multipart') && request.url.includes(`name=${bigName}`)).length, 0);
    assert.equal(uploads.filter((request) => request.url.includes('uploadType=multipart') && request.url.includes(`name=${smallName}`)).length, 1, 'small objects take one multipart request');

    const [stored] = await sdk().bucket(bucket).file(gcsConnector.locate(config, big, 'acme')).download();
    assert.equal(stored.length, body.length);
    assert.equal(createHash('sha256').update(stored).digest('hex'), createHash('sha256').update(body).digest('hex'));
  });

  it('claim check: stores the record and returns a V4 signed URL that fetch() reads back byte for byte', async () => {
    const bucket = uniqueName('gcs-claims');
    const account = fakeServiceAccount();
    const config = configFor({ bucket, credentials: account.json });
    const claimCheck = createObjectStoreClaimCheck(createGcsClient(config), { prefix: 'claims', expiresInSeconds: 600 });
    const record = makeRecord({ userId: 'user-claim' });

    await claimCheck.check(new AbortController().signal);
    const ticket = await claimCheck.store(record, new AbortController().signal);
    assert.equal(ticket.expiresInSeconds, 600);

    const url = new URL(ticket.url);
    assert.equal(url.origin, gcs.current.endpoint, 'signed for the configured endpoint');
    assert.equal(decodeURIComponent(url.pathname), `/${bucket}/claims/activity/${record.identity}.json`);
    assert.equal(url.searchParams.get('X-Goog-Algorithm'), 'GOOG4-RSA-SHA256');
    assert.match(url.searchParams.get('X-Goog-Credential') ?? '', new RegExp(`^${account.clientEmail.replace(/\./g, '\\.')}/\\d{8}/auto/storage/goog4_request$`));
    assert.equal(url.searchParams.get('X-Goog-Expires'), '600');
    assert.equal(url.searchParams.get('X-Goog-SignedHeaders'), 'host');
    const signedAt = Date.parse((url.searchParams.get('X-Goog-Date') ?? '').replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'));
    assert.ok(Math.abs(Date.now() - signedAt) < 60_000, 'X-Goog-Date is now');
    assert.match(url.searchParams.get('X-Goog-Signature') ?? '', /^[0-9a-f]{512}$/);
    assert.ok(verifiesAsV4(url, account.publicKey), 'the signature verifies with the service account public key');
    const moved = new URL(url);
    moved.pathname = `/${bucket}/claims/activity/someone-else.json`;
    assert.equal(verifiesAsV4(moved, account.publicKey), false, 'and does not verify for another object');

    const response = await fetch(ticket.url);
    assert.equal(response.status, 200);
    assert.deepEqual(Buffer.from(await response.arrayBuffer()), record.body);

    // The emulator serves signed-URL paths without checking the signature (a real bucket would
    // answer 403 SignatureDoesNotMatch): the signature is proven by verifiesAsV4 above instead.
    const tampered = new URL(ticket.url);
    tampered.searchParams.set('X-Goog-Signature', '0'.repeat(512));
    assert.equal((await fetch(tampered)).status, 200);
    await claimCheck.close();
  });

  it('check() writes, overwrites and deletes a probe object under the prefix and leaves nothing behind', async () => {
    const bucket = uniqueName('gcs-check');
    const config = configFor({ bucket, prefix: 'terra' });
    const destination = gcsConnector.createDestination(config, gcsConnector.createClient(config, context), context);
    const before = (await gcs.current.requests()).length;
    await destination.check();
    const probes = (await gcs.current.requests()).slice(before).filter((request) => request.url.includes('.terra-fanout-probe'));
    assert.deepEqual(
      probes.map((request) => request.method),
      ['POST', 'POST', 'DELETE'],
      `write, overwrite, delete: ${JSON.stringify(probes)}`,
    );
    assert.ok(probes.every((request) => request.url.includes(encodeURIComponent('terra/.terra-fanout-probe/'))), 'under the prefix');
    assert.deepEqual(await objectNames(bucket), []);
    await destination.close();
    await destination.close();
  });

  it('a keyFile mounted after start is picked up at the next attempt, and then signs URLs', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'terra-fanout-gcs-keyfile-'));
    try {
      const keyFile = join(dir, 'key.json');
      const account = fakeServiceAccount();
      const client = createGcsClient(configFor({ bucket: uniqueName('gcs-keyfile'), keyFile }));
      await assert.rejects(client.probe('probe.json', new AbortController().signal), (error: unknown) => {
        assert.ok(error instanceof FanoutError);
        assert.equal(error.code, 'destination_misconfigured');
        assert.match(error.message, /keyFile .*key\.json cannot be read \(ENOENT\)/);
        return true;
      });
      await writeFile(keyFile, account.json);
      await client.probe('probe.json', new AbortController().signal);
      const url = new URL(await client.signedReadUrl('probe.json', 60));
      assert.ok(verifiesAsV4(url, account.publicKey), 'signed with the key from the file');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('signed URLs without a service-account key fail as destination_misconfigured, saying what to configure', async () => {
    const client = createGcsClient(configFor({ bucket: uniqueName('gcs-nokey') }));
    await assert.rejects(client.signedReadUrl('claims/x.json', 600), (error: unknown) => {
      assert.ok(error instanceof FanoutError);
      assert.equal(error.code, 'destination_misconfigured');
      assert.match(error.message, /service-account/);
      return true;
    });
  });

  it('a server that is not there gives retryable destination_unavailable outcomes and check() failures', async () => {
    const config = gcsConfigSchema.parse({ bucket: 'gcs-nowhere', apiEndpoint: `http://127.0.0.1:${await freePort()}` });
    const outcomes = await send(config, makeActivityBatch(2));
    for (const outcome of outcomes) {
      assert.equal(outcome.ok, false);
      if (outcome.ok) continue;
      assert.equal(outcome.error.code, 'destination_unavailable');
      assert.equal(outcome.error.retryable, true);
      assert.match(outcome.error.message, /gs:\/\/gcs-nowhere could not be reached \(ECONNREFUSED\)/);
    }
    const destination = gcsConnector.createDestination(config, gcsConnector.createClient(config, context), context);
    await assert.rejects(destination.check(), (error: unknown) => error instanceof FanoutError && error.code === 'destination_unavailable');
  });
});
