import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gcsLabel, gcsStorageOptions, loadGcsCredentials, type GcsCredentials } from '../../../connectors/gcs/client.js';
import { bucketNameProblems, gcsConfigSchema } from '../../../connectors/gcs/config.js';
import { gcsConnector } from '../../../connectors/gcs/index.js';
import { FanoutError } from '../../../src/errors/catalogue.js';
import { fakeServiceAccount } from '../../support/gcs-emulator.js';
import { makeActivityBatch, makeAthleteRecord, makeRecord, makeTeamsRecord, makeUserEventRecord } from '../../support/records.js';

/** Pure: the config schema, the SDK options it gives, and where records land. */

function problems(input: Record<string, unknown>): string[] {
  const result = gcsConfigSchema.safeParse(input);
  return result.success ? [] : result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
}

describe('gcs config', () => {
  it('needs only a bucket; defaults are Terra parity json, 8 MiB resumable threshold, SDK auth rules', () => {
    const config = gcsConfigSchema.parse({ bucket: 'acme-terra' });
    assert.equal(config.format, 'json');
    assert.equal(config.gzip, false);
    assert.equal(config.unit, 'record');
    assert.equal(config.resumableThreshold, 8 * 1024 * 1024);
    assert.equal(config.timeoutMs, 120_000);
    assert.equal(config.useAuthWithCustomEndpoint, false);
    assert.equal(gcsConfigSchema.parse({ bucket: 'acme-terra', resumableThreshold: '512KiB' }).resumableThreshold, 512 * 1024);
  });

  it('checks bucket names by Google\'s rules and explains gs:// and folders', () => {
    for (const good of ['acme-terra', 'a_b.c-d', 'abc', 'example.com.bucket']) assert.deepEqual(bucketNameProblems(good), [], good);
    assert.match(bucketNameProblems('gs://acme-terra')[0] ?? '', /without gs:\/\//);
    assert.match(bucketNameProblems('acme/terra')[0] ?? '', /put folders in prefix/);
    assert.ok(bucketNameProblems('Acme').length > 0);
    assert.ok(bucketNameProblems('ab').length > 0);
    assert.ok(bucketNameProblems('a'.repeat(64)).length > 0);
    assert.ok(bucketNameProblems('-acme').length > 0);
    assert.ok(bucketNameProblems('goog-terra').length > 0);
    assert.ok(bucketNameProblems('my-google-terra').length > 0);
    assert.ok(bucketNameProblems('192.168.1.1').length > 0);
    assert.deepEqual(problems({}), ['bucket: Invalid input: expected string, received undefined']);
  });

  it('credentials must be a key JSON; problems never quote it', () => {
    const account = fakeServiceAccount();
    assert.deepEqual(problems({ bucket: 'acme-terra', credentials: account.json }), []);
    const notJson = '-----BEGIN PRIVATE KEY-----\nMIIEsecret\n-----END PRIVATE KEY-----';
    const found = problems({ bucket: 'acme-terra', credentials: notJson });
    assert.deepEqual(found, ['credentials: credentials is not valid JSON; use the whole JSON key file Google gave you.']);
    assert.deepEqual(problems({ bucket: 'acme-terra', credentials: JSON.stringify({ type: 'service_account', client_email: 'a@b' }) }), ['credentials: credentials is not a service-account key: it has no private_key.']);
    assert.deepEqual(problems({ bucket: 'acme-terra', credentials: JSON.stringify({ type: 'external_account', audience: '//iam.googleapis.com/x' }) }), []);
    assert.deepEqual(problems({ bucket: 'acme-terra', credentials: '[1]' }), ['credentials: credentials must be a JSON object (the key file Google gave you).']);
    assert.ok(!JSON.stringify(gcsConfigSchema.parse({ bucket: 'acme-terra', credentials: account.json })).includes('PRIVATE'), 'the parsed config prints no key');
  });

  it('rejects keyFile with credentials, useAuthWithCustomEndpoint without apiEndpoint, odd endpoints, and ndjson with a keyTemplate', () => {
    const account = fakeServiceAccount();
    assert.deepEqual(problems({ bucket: 'acme-terra', keyFile: '/k.json', credentials: account.json }), ['credentials: Give keyFile or credentials, not both.']);
    assert.match(problems({ bucket: 'acme-terra', useAuthWithCustomEndpoint: true })[0] ?? '', /^useAuthWithCustomEndpoint: useAuthWithCustomEndpoint applies only with apiEndpoint/);
    assert.match(problems({ bucket: 'acme-terra', apiEndpoint: 'http://user:pw@127.0.0.1:9199' })[0] ?? '', /no credentials or query string/);
    assert.ok(problems({ bucket: 'acme-terra', apiEndpoint: 'ftp://127.0.0.1' }).length > 0);
    assert.match(problems({ bucket: 'acme-terra', format: 'ndjson', keyTemplate: '{type}/{identity}.json' })[0] ?? '', /^keyTemplate: keyTemplate applies to format: json only/);
    assert.match(problems({ bucket: 'acme-terra', keyTemplate: '{type}/{nope}.json' })[0] ?? '', /unknown field \{nope\}/);
    assert.match(problems({ bucket: 'acme-terra', prefix: '../up' })[0] ?? '', /"\.\." segment/);
    assert.match(problems({ bucket: 'acme-terra', bukket: 'x' })[0] ?? '', /bukket/);
  });
});

describe('gcs storage options', () => {
  it('turns SDK retries off and passes the timeout', () => {
    const options = gcsStorageOptions(gcsConfigSchema.parse({ bucket: 'acme-terra', timeoutMs: 30_000 }));
    assert.deepEqual(options, { retryOptions: { autoRetry: false }, timeout: 30_000 });
  });

  it('credentials: the parsed key when given, none for application default credentials', () => {
    const account = fakeServiceAccount();
    const key = JSON.parse(account.json) as GcsCredentials;
    const inline = gcsStorageOptions(gcsConfigSchema.parse({ bucket: 'acme-terra', projectId: 'acme-prod' }), key);
    assert.equal(inline.credentials, key);
    assert.equal(inline.projectId, 'acme-prod');
    assert.equal(inline.keyFilename, undefined, 'key files are read by the client, not the SDK');
    assert.equal(gcsStorageOptions(gcsConfigSchema.parse({ bucket: 'acme-terra' })).credentials, undefined);
  });

  it('a custom endpoint gets tokens only when asked', () => {
    const emulator = gcsStorageOptions(gcsConfigSchema.parse({ bucket: 'acme-terra', apiEndpoint: 'http://127.0.0.1:9199' }));
    assert.equal(emulator.apiEndpoint, 'http://127.0.0.1:9199');
    assert.equal(emulator.useAuthWithCustomEndpoint, false);
    const psc = gcsStorageOptions(gcsConfigSchema.parse({ bucket: 'acme-terra', apiEndpoint: 'https://storage-acme.p.googleapis.com', useAuthWithCustomEndpoint: true }));
    assert.equal(psc.useAuthWithCustomEndpoint, true);
  });

  it('labels say gs://bucket/prefix', () => {
    assert.equal(gcsLabel({ bucket: 'acme-terra', prefix: undefined }), 'gs://acme-terra');
    assert.equal(gcsLabel({ bucket: 'acme-terra', prefix: 'raw/prod/' }), 'gs://acme-terra/raw/prod');
  });
});

describe('gcs credentials loading', () => {
  const dir = mkdtempSync(join(tmpdir(), 'terra-fanout-gcs-keys-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const label = 'gs://acme-terra';

  async function loadError(keyFile: string): Promise<FanoutError> {
    try {
      await loadGcsCredentials(gcsConfigSchema.parse({ bucket: 'acme-terra', keyFile }), label);
    } catch (error) {
      assert.ok(error instanceof FanoutError);
      return error;
    }
    assert.fail('expected the key file to be refused');
  }

  it('inline credentials and a keyFile give the same parsed key; neither gives none (ADC)', async () => {
    const account = fakeServiceAccount();
    const keyFile = join(dir, 'key.json');
    writeFileSync(keyFile, account.json);
    assert.deepEqual(await loadGcsCredentials(gcsConfigSchema.parse({ bucket: 'acme-terra', credentials: account.json }), label), JSON.parse(account.json));
    assert.deepEqual(await loadGcsCredentials(gcsConfigSchema.parse({ bucket: 'acme-terra', keyFile }), label), JSON.parse(account.json));
    assert.equal(await loadGcsCredentials(gcsConfigSchema.parse({ bucket: 'acme-terra' }), label), undefined);
  });

  it('a keyFile that is missing, not JSON or not a key is destination_misconfigured, naming the path and never the content', async () => {
    const missing = await loadError(join(dir, 'missing.json'));
    assert.equal(missing.code, 'destination_misconfigured');
    assert.equal(missing.message, `${label}: keyFile ${join(dir, 'missing.json')} cannot be read (ENOENT).`);

    const pem = join(dir, 'key.pem');
    writeFileSync(pem, '-----BEGIN PRIVATE KEY-----\nMIIEsecretsecret\n-----END PRIVATE KEY-----\n');
    const notJson = await loadError(pem);
    assert.equal(notJson.message, `${label}: keyFile ${pem} is not valid JSON; use the whole JSON key file Google gave you.`);
    assert.equal(notJson.cause, undefined);

    const half = join(dir, 'half.json');
    writeFileSync(half, JSON.stringify({ type: 'service_account', client_email: 'a@b.iam.gserviceaccount.com' }));
    assert.equal((await loadError(half)).message, `${label}: keyFile ${half} is not a service-account key: it has no private_key.`);
  });
});

describe('gcs locate', () => {
  const config = gcsConfigSchema.parse({ bucket: 'acme-terra', prefix: 'terra' });

  it("follows Terra's bucket layout under the prefix", () => {
    const [activity] = makeActivityBatch(1, ['user-a']);
    assert.ok(activity);
    assert.equal(gcsConnector.locate(config, activity, 'acme'), 'terra/2022-03-16/activity/user-a-2026-07-01T06:00:00Z.json');
    assert.equal(gcsConnector.locate(config, makeRecord({ userId: 'u1' }), 'acme'), 'terra/2022-03-16/activity/u1-2026-07-01T06:04:11Z.json');
    assert.equal(gcsConnector.locate(config, makeUserEventRecord({ userId: 'u1' }), 'acme'), 'terra/2022-03-16/auth/u1-2026-07-01T08:00:00Z.json');
    assert.equal(gcsConnector.locate(config, makeAthleteRecord({ userId: 'u1' }), 'acme'), 'terra/2022-03-16/athlete/u1.json');
    const teams = makeTeamsRecord();
    assert.equal(gcsConnector.locate(config, teams, 'acme'), `terra/teams/test.retrieved/${teams.identity}.json`);
  });

  it('a key template chooses another layout; ndjson names objects by topic, partition and first offset', () => {
    const templated = gcsConfigSchema.parse({ bucket: 'acme-terra', keyTemplate: '{tenant}/{type}/{yyyy}/{mm}/{dd}/{summary_id}.json' });
    assert.equal(gcsConnector.locate(templated, makeRecord({ summaryId: 's/1' }), 'acme'), 'acme/activity/2026/07/01/s_1.json');
    const ndjson = gcsConfigSchema.parse({ bucket: 'acme-terra', format: 'ndjson', gzip: true });
    const record = makeRecord({ source: { topic: 'terra.events', partition: 3, offset: '1234', timestampMs: 0, headers: {} } });
    assert.equal(gcsConnector.locate(ndjson, record, 'acme'), 'activity/terra.events+3+00000000000000001234.ndjson.gz');
  });
});
