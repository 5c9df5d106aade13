import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { gcsConfigSchema, type GcsConfig } from '../../../connectors/gcs/config.js';
import { gcsConnector } from '../../../connectors/gcs/index.js';
import type { ConnectorContext, Destination } from '../../../src/connector/contract.js';
import { FanoutError, type ErrorCode } from '../../../src/errors/catalogue.js';
import type { TerraRecord } from '../../../src/records/record.js';
import { fakeServiceAccount, isolateGoogleSdks, useGcsEmulator } from '../../support/gcs-emulator.js';
import { uniqueName } from '../../support/kafka.js';
import { makeActivityBatch, makeRecord } from '../../support/records.js';
import { startGcsFaultProxy, type GcsFaultProxy } from './gcs-fault-proxy.js';

/**
 * Errors the emulator cannot produce (it creates buckets on first use and has no IAM), from
 * GCS-shaped answers of the fault proxy in front of it, through the real SDK and client.
 */

isolateGoogleSdks();
let proxy: GcsFaultProxy;

const context: ConnectorContext = { tenant: 'acme', destination: 'lake', logger: pino({ level: 'silent' }) };
const account = fakeServiceAccount();

function configFor(bucket: string, input: Record<string, unknown> = {}): GcsConfig {
  // resumableThreshold 1 KiB: the "large" record below takes the resumable path without 20 MB.
  return gcsConfigSchema.parse({ bucket, apiEndpoint: proxy.endpoint, credentials: account.json, resumableThreshold: '1KiB', ...input });
}

function destinationFor(config: GcsConfig): Destination {
  return gcsConnector.createDestination(config, gcsConnector.createClient(config, context), context);
}

/** A small record (multipart upload) and one above 1 KiB (resumable upload). */
function smallAndLarge(): TerraRecord[] {
  const small = makeRecord({ userId: 'user-small' });
  const large = makeRecord({ userId: 'user-large' });
  return [small, { ...large, body: Buffer.from(JSON.stringify({ ...large.event, padding: 'x'.repeat(4096) })) }];
}

async function failuresOf(destination: Destination, batch: readonly TerraRecord[], signal = new AbortController().signal): Promise<FanoutError[]> {
  const outcomes = await destination.send(batch, signal);
  assert.equal(outcomes.length, batch.length);
  return outcomes.map((outcome, index) => {
    assert.equal(outcome.ok, false, `record ${index} failed`);
    return outcome.ok ? new FanoutError('internal_error', 'unreachable') : outcome.error;
  });
}

function assertCode(errors: readonly FanoutError[], code: ErrorCode, message: RegExp): void {
  for (const error of errors) {
    assert.equal(error.code, code, error.message);
    assert.match(error.message, message);
  }
}

describe('gcs connector: errors the emulator cannot show, from GCS-shaped answers', () => {
  const gcs = useGcsEmulator();
  before(async () => {
    proxy = await startGcsFaultProxy(gcs.current.endpoint);
  });
  after(async () => {
    await proxy.close();
  });

  it('a bucket that does not exist: destination_not_found, permanent, naming the bucket, for multipart and resumable uploads and check()', async () => {
    const bucket = uniqueName('gcs-missing');
    proxy.setPolicy(bucket, { missing: true });
    const destination = destinationFor(configFor(bucket));
    const errors = await failuresOf(destination, smallAndLarge());
    assertCode(errors, 'destination_not_found', new RegExp(`bucket "${bucket}" does not exist or the service account cannot see it`));
    assert.ok(errors.every((error) => !error.retryable));
    assert.ok(proxy.requests(bucket).some((request) => request.includes('uploadType=resumable')), 'the large record tried a resumable upload');
    await assert.rejects(destination.check(), (error: unknown) => error instanceof FanoutError && error.code === 'destination_not_found');
  });

  it('credentials GCS refuses (401): destination_auth_failed; with a tokenless custom endpoint the message says why', async () => {
    const bucket = uniqueName('gcs-badcreds');
    proxy.setPolicy(bucket, { invalidCredentials: true });
    const errors = await failuresOf(destinationFor(configFor(bucket)), smallAndLarge());
    assertCode(errors, 'destination_auth_failed', /did not accept the credentials \(401 authError\).*useAuthWithCustomEndpoint/);
    assert.ok(errors.every((error) => !error.retryable));
  });

  it('roles/storage.objectCreator only: the first write passes, the replay cannot overwrite (storage.objects.delete), and check() says so before any record is sent', async () => {
    const bucket = uniqueName('gcs-creator');
    proxy.setPolicy(bucket, { denied: ['storage.objects.delete'] });
    const destination = destinationFor(configFor(bucket));
    const batch = smallAndLarge();
    assert.deepEqual(await destination.send(batch, new AbortController().signal), [{ ok: true }, { ok: true }]);
    const errors = await failuresOf(destination, batch);
    assertCode(errors, 'destination_auth_failed', /permission denied \(403 forbidden\): the service account lacks storage\.objects\.delete\. Grant the service account roles\/storage\.objectUser/);
    assert.ok(errors.every((error) => !error.message.includes(proxy.identity)), 'the message names the permission, not the account');

    const fresh = uniqueName('gcs-creator-check');
    proxy.setPolicy(fresh, { denied: ['storage.objects.delete'] });
    await assert.rejects(destinationFor(configFor(fresh)).check(), (error: unknown) => {
      assert.ok(error instanceof FanoutError);
      assert.equal(error.code, 'destination_auth_failed');
      assert.match(error.message, /storage\.objects\.delete/);
      return true;
    });

    const readOnly = uniqueName('gcs-viewer');
    proxy.setPolicy(readOnly, { denied: ['storage.objects.create', 'storage.objects.delete'] });
    await assert.rejects(destinationFor(configFor(readOnly)).check(), (error: unknown) => error instanceof FanoutError && error.code === 'destination_auth_failed' && /storage\.objects\.create/.test(error.message));
  });

  it('429 is destination_throttled and 503 destination_unavailable (retryable), after exactly one attempt: the SDK does not retry', async () => {
    for (const status of [429, 503] as const) {
      const bucket = uniqueName(`gcs-${status}`);
      proxy.setPolicy(bucket, { status });
      const errors = await failuresOf(destinationFor(configFor(bucket)), smallAndLarge());
      assertCode(errors, status === 429 ? 'destination_throttled' : 'destination_unavailable', new RegExp(`${status}`));
      assert.ok(errors.every((error) => error.retryable));
      const uploads = proxy.requests(bucket).filter((request) => request.startsWith('POST /upload/'));
      assert.equal(uploads.length, 2, `one attempt per object: ${uploads.join(', ')}`);
    }
  });

  it('a resumable upload whose bytes get a 503 is destination_unavailable (retryable), after one PUT', async () => {
    const bucket = uniqueName('gcs-put-503');
    proxy.setPolicy(bucket, { uploadStatus: 503 });
    const [, large] = smallAndLarge();
    assert.ok(large);
    const errors = await failuresOf(destinationFor(configFor(bucket)), [large]);
    assertCode(errors, 'destination_unavailable', /503/);
    assert.equal(proxy.requests(bucket).filter((request) => request.startsWith('PUT /upload/')).length, 1);
  });

  it('a resumable session GCS no longer knows (404 or 410 on its PUT) is retryable, not a missing bucket', async () => {
    const [, large] = smallAndLarge();
    assert.ok(large);
    for (const status of [404, 410]) {
      const bucket = uniqueName(`gcs-put-${status}`);
      proxy.setPolicy(bucket, { uploadStatus: status });
      const errors = await failuresOf(destinationFor(configFor(bucket)), [large]);
      assertCode(errors, 'destination_unavailable', new RegExp(`no longer knows the resumable upload session \\(${status}\\)`));
      proxy.setPolicy(bucket, null);
      assert.deepEqual(await destinationFor(configFor(bucket)).send([large], new AbortController().signal), [{ ok: true }], 'the retry starts a new session');
    }
  });

  it('an upload that gets no answer is abandoned after timeoutMs as destination_timeout', async () => {
    const bucket = uniqueName('gcs-hang');
    proxy.setPolicy(bucket, { hang: true });
    const started = Date.now();
    const errors = await failuresOf(destinationFor(configFor(bucket, { timeoutMs: 1000 })), smallAndLarge());
    assertCode(errors, 'destination_timeout', /did not answer in time/);
    assert.ok(Date.now() - started < 5000, `gave up after ${Date.now() - started} ms`);
  });

  it('shutdown aborts uploads in flight at once (retryable, so the records are read again)', async () => {
    const bucket = uniqueName('gcs-shutdown');
    proxy.setPolicy(bucket, { hang: true });
    const shutdown = new AbortController();
    setTimeout(() => shutdown.abort(), 200);
    const started = Date.now();
    const errors = await failuresOf(destinationFor(configFor(bucket, { timeoutMs: 60_000 })), smallAndLarge(), shutdown.signal);
    assertCode(errors, 'destination_unavailable', /aborted at shutdown/);
    assert.ok(Date.now() - started < 3000, `stopped after ${Date.now() - started} ms`);
  });

  it('recovers once GCS answers again; no error message carries the key', async () => {
    const bucket = uniqueName('gcs-recover');
    const destination = destinationFor(configFor(bucket));
    const batch = makeActivityBatch(3, ['user-a']);
    const seen: FanoutError[] = [];
    for (const policy of [{ missing: true }, { invalidCredentials: true }, { status: 503 }, { denied: ['storage.objects.create' as const] }]) {
      proxy.setPolicy(bucket, policy);
      seen.push(...(await failuresOf(destination, batch)));
      await destination.check().catch((error: unknown) => {
        assert.ok(error instanceof FanoutError);
        seen.push(error);
      });
    }
    proxy.setPolicy(bucket, null);
    assert.deepEqual(await destination.send(batch, new AbortController().signal), batch.map(() => ({ ok: true })));
    const key = JSON.parse(account.json) as { private_key: string };
    const keyBody = key.private_key.split('\n')[1] ?? '';
    assert.ok(keyBody.length > 20);
    for (const error of seen) {
      const text = `${error.message} ${JSON.stringify(error.detail)} ${String(error.cause)}`;
      assert.ok(!text.includes(keyBody) && !text.includes('PRIVATE KEY'), `${error.code} carries key material`);
    }
  });
});
