import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AuthenticationError, CredentialUnavailableError } from '@azure/identity';
import { RestError } from '@azure/storage-blob';
import { pino } from 'pino';
import { createAzureBlobClient } from '../../../connectors/azure_blob/client.js';
import { azureBlobConfigSchema, credentialForm, parseConnectionString } from '../../../connectors/azure_blob/config.js';
import { classifyAzureBlobError, type AzureClassifyOptions } from '../../../connectors/azure_blob/destination.js';
import { azureBlobName, azureMetadata, isAzureMetadataName } from '../../../connectors/azure_blob/encode.js';
import { azureBlobConnector } from '../../../connectors/azure_blob/index.js';
import { createObjectStoreClaimCheck } from '../../../connectors/shared/object-store/claim-check-store.js';
import { planObjects } from '../../../connectors/shared/object-store/encode.js';
import { createMemoryObjectStore } from '../../../connectors/shared/object-store/memory-port.js';
import { makeActivityBatch, makeAthleteRecord, makeRecord, makeUserEventRecord } from '../../support/records.js';

const account = 'https://acct.blob.core.windows.net';
const key = 'c2VjcmV0LWFjY291bnQta2V5LXZhbHVl';
const sasQuery = 'sv=2026-04-06&se=2030-01-01T00%3A00%3A00Z&sr=c&sp=racwl&sig=c2lnbmF0dXJlLXNlY3JldA%3D%3D';
const context = { tenant: 'acme', destination: 'blobs', logger: pino({ level: 'silent' }) };

function problems(input: Record<string, unknown>): string[] {
  const result = azureBlobConfigSchema.safeParse(input);
  return result.success ? [] : result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
}

describe('azure_blob config', () => {
  it('accepts each of the four credential forms and says which it is', () => {
    const forms = [
      [{ connectionString: `DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=${key};EndpointSuffix=core.windows.net` }, 'connection-string'],
      [{ accountName: 'acct', accountKey: key }, 'shared-key'],
      [{ accountName: 'devstoreaccount1', accountKey: key, accountUrl: 'http://127.0.0.1:10000/devstoreaccount1' }, 'shared-key'],
      [{ sasUrl: `${account}/terra?${sasQuery}` }, 'sas-url'],
      [{ sasUrl: `${account}/?sv=2026-04-06&ss=b&srt=co&sp=rwac&se=2030-01-01&sig=abc` }, 'sas-url'],
      [{ accountUrl: account }, 'default-credential'],
    ] as const;
    for (const [credential, form] of forms) {
      const config = azureBlobConfigSchema.parse({ container: 'terra', ...credential });
      assert.equal(credentialForm(config), form, JSON.stringify(credential));
    }
  });

  it('applies defaults: Terra layout, json, 4MiB blocks above 8MiB, 2 minutes per object', () => {
    const config = azureBlobConfigSchema.parse({ container: 'terra', accountUrl: account });
    assert.equal(config.format, 'json');
    assert.equal(config.gzip, false);
    assert.equal(config.unit, 'record');
    assert.equal(config.blockSize, 4 * 1024 * 1024);
    assert.equal(config.maxSingleUploadSize, 8 * 1024 * 1024);
    assert.equal(config.blockConcurrency, 4);
    assert.equal(config.timeoutMs, 120_000);
  });

  it('demands exactly one credential form, with a message that lists the forms', () => {
    assert.match(problems({ container: 'terra' }).join('\n'), /No credential given\. Give exactly one credential: connectionString; accountName \+ accountKey; sasUrl; or accountUrl alone/);
    assert.match(problems({ container: 'terra', connectionString: 'UseDevelopmentStorage=true', sasUrl: `${account}/terra?${sasQuery}` }).join('\n'), /Found connectionString and sasUrl/);
    assert.match(problems({ container: 'terra', accountName: 'acct', accountKey: key, sasUrl: `${account}/terra?${sasQuery}` }).join('\n'), /Found sasUrl and accountName \+ accountKey/);
    assert.match(problems({ container: 'terra', accountKey: key }).join('\n'), /accountName: accountKey needs accountName/);
    assert.match(problems({ container: 'terra', accountName: 'acct', accountUrl: account }).join('\n'), /accountName: accountName needs accountKey/);
    assert.match(problems({ container: 'terra', connectionString: 'UseDevelopmentStorage=true', accountUrl: account }).join('\n'), /accountUrl: accountUrl cannot be combined with connectionString/);
  });

  it('rejects what cannot work, naming the field', () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ container: 'Terra_Events', accountUrl: account }, /^container: Container names are 3-63/],
      [{ container: 'a--b', accountUrl: account }, /^container:/],
      [{ container: 'terra', accountUrl: 'http://acct.blob.core.windows.net' }, /^accountUrl: DefaultAzureCredential .* needs an https accountUrl/],
      [{ container: 'terra', accountUrl: `${account}/?${sasQuery}` }, /^accountUrl: accountUrl must not carry a query string/],
      [{ container: 'terra', accountName: 'Not-Valid', accountKey: key }, /^accountName: Storage account names/],
      [{ container: 'terra', connectionString: 'AccountName=acct' }, /^connectionString: connectionString needs AccountName and AccountKey/],
      [{ container: 'terra', connectionString: `SharedAccessSignature=${sasQuery}` }, /^connectionString: .*needs BlobEndpoint/],
      [{ container: 'terra', sasUrl: `${account}/terra` }, /^sasUrl: sasUrl has no sig= parameter/],
      [{ container: 'terra', sasUrl: `${account}/other?${sasQuery}` }, /^sasUrl: sasUrl is a container SAS for "other" but container is "terra"/],
      [{ container: 'terra', sasUrl: `${account}/terra/x.json?sv=1&sr=b&sp=rw&sig=abc` }, /^sasUrl: sasUrl is a blob SAS/],
      [{ container: 'terra', sasUrl: `${account}/terra?sv=1&sr=c&sp=rc&sig=abc` }, /^sasUrl: sasUrl grants sp=rc without write \(w\)/],
      [{ container: 'terra', sasUrl: `${account}/?sv=1&ss=q&srt=o&sp=rw&sig=abc` }, /^sasUrl: sasUrl is an account SAS without the blob service/],
      [{ container: 'terra', accountUrl: account, blockSize: '1KiB' }, /^blockSize: blockSize must be between 64KiB and 4000MiB/],
      [{ container: 'terra', accountUrl: account, maxSingleUploadSize: '1GiB' }, /^maxSingleUploadSize: maxSingleUploadSize must be at most 256MiB/],
      [{ container: 'terra', accountUrl: account, format: 'ndjson', keyTemplate: '{type}/{identity}.json' }, /^keyTemplate:/],
      [{ container: 'terra', accountUrl: account, keyTemplate: '{nope}.json' }, /^keyTemplate: keyTemplate uses an unknown field \{nope\}/],
      [{ container: 'terra', accountUrl: account, prefix: '../escape' }, /^prefix:/],
      [{ container: 'terra', accountUrl: account, extra: 1 }, /unknown key "extra"; expected one of: container,/],
    ];
    for (const [input, expected] of cases) assert.match(problems(input).join('\n'), expected, JSON.stringify(input));
  });

  it('never prints a credential: keys, connection strings and SAS signatures are secrets', () => {
    const config = azureBlobConfigSchema.parse({ container: 'terra', sasUrl: `${account}/terra?${sasQuery}` });
    const withKey = azureBlobConfigSchema.parse({ container: 'terra', accountName: 'acct', accountKey: key });
    const printed = JSON.stringify([config, withKey]);
    assert.ok(!printed.includes('c2lnbmF0dXJl') && !printed.includes(key));
    // Validation messages about a SAS URL quote its permissions, never its signature.
    const messages = problems({ container: 'terra', sasUrl: `${account}/other?${sasQuery}` }).join('\n');
    assert.ok(!messages.includes('c2lnbmF0dXJl'));
  });

  it('parses connection strings whose values contain "="', () => {
    const parts = parseConnectionString(`DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=${key}==;`);
    assert.equal(parts.get('accountkey'), `${key}==`);
    assert.equal(parts.get('accountname'), 'acct');
  });

  it('builds clients for every form without any I/O, labelled by the container URL without query', () => {
    const configs = [
      { container: 'terra', sasUrl: `${account}/terra?${sasQuery}` },
      { container: 'terra', sasUrl: `${account}/?sv=1&ss=b&srt=co&sp=rwac&sig=abc` },
      { container: 'terra', accountName: 'acct', accountKey: key },
      { container: 'terra', accountUrl: account },
      { container: 'terra', connectionString: `DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=${key};EndpointSuffix=core.windows.net` },
    ];
    for (const input of configs) {
      const port = createAzureBlobClient(azureBlobConfigSchema.parse(input), context);
      assert.equal(port.label, `${account}/terra`, JSON.stringify(input));
    }
  });
});

describe('azure_blob encoding', () => {
  it("locates records at Terra's layout under the prefix", () => {
    const config = azureBlobConfigSchema.parse({ container: 'terra', accountUrl: account, prefix: 'raw/' });
    const [activity] = makeActivityBatch(1, ['user-a']);
    assert.ok(activity);
    assert.equal(azureBlobName(config, activity), 'raw/2022-03-16/activity/user-a-2026-07-01T06:00:00Z.json');
    assert.equal(azureBlobConnector.locate(config, makeUserEventRecord({ userId: 'u-9' }), 'acme'), 'raw/2022-03-16/auth/u-9-2026-07-01T08:00:00Z.json');
    assert.equal(azureBlobConnector.locate(config, makeAthleteRecord({ userId: 'u-9' }), 'acme'), 'raw/2022-03-16/athlete/u-9.json');
    const templated = azureBlobConfigSchema.parse({ container: 'terra', accountUrl: account, keyTemplate: '{tenant}/{type}/{user_id}/{summary_id}.json' });
    assert.equal(azureBlobConnector.locate(templated, makeRecord(), 'acme'), 'acme/activity/user-1/summary-1.json');
  });

  it('every metadata name the object-store core writes is a valid Azure (C# identifier) name', () => {
    const batch = [...makeActivityBatch(2, ['a']), makeUserEventRecord()];
    const names = new Set<string>();
    for (const format of ['json', 'ndjson'] as const) {
      const layout = azureBlobConfigSchema.parse({ container: 'terra', accountUrl: account, format });
      for (const object of planObjects(layout, batch, { tenant: 'acme' })) for (const name of Object.keys(object.metadata)) names.add(name);
    }
    const memory = createMemoryObjectStore('memory://claims');
    return createObjectStoreClaimCheck(memory.client, { expiresInSeconds: 60 })
      .store(makeRecord(), new AbortController().signal)
      .then(() => {
        for (const object of memory.objects().values()) for (const name of Object.keys(object.metadata)) names.add(name);
        assert.ok(names.size >= 10, [...names].join(','));
        for (const name of names) assert.ok(isAzureMetadataName(name), `${name} is a C# identifier`);
      });
  });

  it('separates names Azure would refuse', () => {
    assert.deepEqual(azureMetadata({ user_id: 'u', 'first-offset': '1', '9lives': 'x', _ok: 'y' }), { metadata: { user_id: 'u', _ok: 'y' }, invalid: ['first-offset', '9lives'] });
  });
});

/**
 * A RestError as the SDK builds it from a storage answer: x-ms-error-code as `code`, the answer's
 * headers on `response`, and a message that may echo the request URL (here, a SAS signature).
 */
function storageError(statusCode: number, code: string | undefined, headers: Record<string, string> = {}): RestError {
  const error = new RestError(`Azure said no (${code ?? statusCode}) ${account}/terra/key.json?${sasQuery}`, { statusCode, ...(code === undefined ? {} : { code }) });
  Object.defineProperty(error, 'response', { value: { status: statusCode, headers: { get: (name: string) => headers[name.toLowerCase()] } } });
  return error;
}

describe('azure_blob error classification (the SDK’s own error objects)', () => {
  const options = (credential: AzureClassifyOptions['credential'] = 'sas-url'): AzureClassifyOptions => ({ target: `Azure Blob ${account}/terra`, container: 'terra', credential });

  it('maps storage error codes to the catalogue, with what to fix', () => {
    const cases: Array<[RestError, string, boolean, RegExp]> = [
      [storageError(404, 'ContainerNotFound'), 'destination_not_found', false, /container "terra" does not exist .* terra-fanout does not create containers/],
      [storageError(403, 'AuthenticationFailed'), 'destination_auth_failed', false, /refused the credentials\. Check the SAS URL: not expired \(se=\)/],
      [storageError(403, 'AuthorizationFailure'), 'destination_auth_failed', false, /firewall blocks this worker\. Check the SAS URL/],
      [storageError(403, 'AuthorizationPermissionMismatch'), 'destination_auth_failed', false, /create \(c\) and write \(w\)/],
      [storageError(403, 'AuthorizationSourceIPMismatch'), 'destination_auth_failed', false, /firewall/],
      [storageError(413, 'RequestBodyTooLarge'), 'destination_record_too_large', false, /lower maxSingleUploadSize/],
      [storageError(503, 'ServerBusy', { 'retry-after': '7' }), 'destination_throttled', true, /throttling/],
      [storageError(429, undefined), 'destination_throttled', true, /429/],
      [storageError(500, 'OperationTimedOut'), 'destination_timeout', true, /did not finish/],
      [storageError(500, 'InternalError'), 'destination_unavailable', true, /500 InternalError/],
      [storageError(502, undefined), 'destination_unavailable', true, /502/],
      [storageError(400, 'InvalidResourceName'), 'destination_rejected', false, /400 InvalidResourceName/],
      [storageError(409, 'LeaseIdMissing'), 'destination_rejected', false, /409 LeaseIdMissing/],
    ];
    for (const [error, code, retryable, message] of cases) {
      const classified = classifyAzureBlobError(error, options());
      assert.equal(classified.code, code, error.code ?? String(error.statusCode));
      assert.equal(classified.retryable, retryable);
      assert.match(classified.message, message);
      assert.ok(!classified.message.includes('c2lnbmF0dXJl'), 'the SDK message (which can echo the SAS) is not copied');
      const cause = classified.cause;
      assert.ok(cause instanceof Error && cause.name === 'RestError');
      assert.ok(!`${cause.message} ${cause.stack ?? ''}`.includes('c2lnbmF0dXJl'), 'the cause, which pino prints, has the SAS redacted');
      assert.match(cause.message, /key\.json\?\[redacted\]/);
    }
    assert.equal(classifyAzureBlobError(storageError(503, 'ServerBusy', { 'retry-after': '7' }), options()).retryAfterMs, 7000);
    assert.deepEqual(classifyAzureBlobError(storageError(404, 'ContainerNotFound'), options()).detail, { status: 404, azureCode: 'ContainerNotFound' });
  });

  it('names the RBAC role for DefaultAzureCredential and the key for shared keys', () => {
    assert.match(classifyAzureBlobError(storageError(403, 'AuthorizationPermissionMismatch'), options('default-credential')).message, /Storage Blob Data Contributor/);
    assert.match(classifyAzureBlobError(storageError(403, 'AuthenticationFailed'), options('default-credential')).message, /Storage Blob Data Contributor/);
    assert.match(classifyAzureBlobError(storageError(403, 'AuthenticationFailed'), options('shared-key')).message, /accountKey .*rotated key/);
  });

  it('failures without an answer are retryable', () => {
    const sendError = new RestError('connect ECONNREFUSED 127.0.0.1:1', { code: 'ECONNREFUSED' });
    assert.equal(classifyAzureBlobError(sendError, options()).code, 'destination_unavailable');
    const requestSend = new RestError('socket hang up', { code: RestError.REQUEST_SEND_ERROR });
    const classified = classifyAzureBlobError(requestSend, options());
    assert.equal(classified.code, 'destination_unavailable');
    assert.match(classified.message, /could not be reached \(REQUEST_SEND_ERROR\)/);
    const abort = Object.assign(new Error('The operation was aborted.'), { name: 'AbortError' });
    assert.equal(classifyAzureBlobError(abort, { ...options(), timedOut: true }).code, 'destination_timeout');
    assert.match(classifyAzureBlobError(abort, { ...options(), shutdown: true }).message, /aborted at shutdown/);
  });

  it('DefaultAzureCredential without a usable identity is a permanent auth failure that says how to fix it', () => {
    const unavailable = classifyAzureBlobError(new CredentialUnavailableError('ManagedIdentityCredential: no endpoint'), options('default-credential'));
    assert.equal(unavailable.code, 'destination_auth_failed');
    assert.match(unavailable.message, /DefaultAzureCredential got no token .* managed identity, workload identity/);
    const refused = classifyAzureBlobError(new AuthenticationError(400, { error: 'invalid_client', error_description: 'bad secret' }), options('default-credential'));
    assert.equal(refused.code, 'destination_auth_failed');
    const down = classifyAzureBlobError(new AuthenticationError(503, { error: 'temporarily_unavailable', error_description: 'busy' }), options('default-credential'));
    assert.equal(down.code, 'destination_unavailable');
  });

  it('redacts keys and authorization values from causes', () => {
    const error = new RestError(`failed: AccountKey=${key};x Authorization: SharedKey acct:c2lnbmF0dXJl`, { code: 'ECONNRESET' });
    const cause = classifyAzureBlobError(error, options()).cause;
    assert.ok(cause instanceof Error);
    assert.equal(cause.message, 'failed: AccountKey=[redacted];x Authorization: SharedKey [redacted]');
    assert.equal(Reflect.get(cause, 'code'), 'ECONNRESET');
  });

  it('anything else is a programming error, never retried', () => {
    assert.equal(classifyAzureBlobError(new TypeError('x is not a function'), options()).code, 'internal_error');
  });
});
