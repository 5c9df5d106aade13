import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { ApiError } from '@google-cloud/storage';
import { classifyGcsError, type GcsErrorContext } from '../../../connectors/gcs/destination.js';
import { FanoutError, type ErrorCode } from '../../../src/errors/catalogue.js';

/**
 * Pure classification of the SDK's own error objects: ApiError (JSON API calls), GaxiosError
 * (resumable uploads and Google's token endpoint) and the plain shapes the SDK throws. The same
 * shapes come out of real HTTP answers in gcs-faults.test.ts; the token endpoint (a revoked key,
 * invalid_grant) can only be shown here, since tests never reach Google.
 */

// gaxios is the SDK's HTTP client, loaded from where @google-cloud/storage loads it.
const sdkRequire = createRequire(import.meta.resolve('@google-cloud/storage').replace(/^file:\/\//, ''));
const { GaxiosError } = sdkRequire('gaxios') as {
  GaxiosError: new (message: string, config: object, response?: object) => Error & { status?: number };
};

const context: GcsErrorContext = { label: 'gs://acme-terra/terra', bucket: 'acme-terra', operation: 'write' };

function apiError(status: number, reason: string, message: string): ApiError {
  // The fields the SDK sets from a JSON API error body (nodejs-common util.parseHttpRespBody).
  return Object.assign(new ApiError(message), { code: status, errors: [{ message, reason }] });
}

function gaxiosError(status: number, data: unknown, url = 'https://storage.googleapis.com/upload/storage/v1/b/acme-terra/o'): Error {
  return new GaxiosError(`Request failed with status code ${status}`, { url: new URL(url) }, { status, statusText: '', data, headers: {}, config: {}, request: { responseURL: url } });
}

function expect(error: unknown, code: ErrorCode, message: RegExp, errorContext: GcsErrorContext = context): FanoutError {
  const classified = classifyGcsError(error, errorContext);
  assert.equal(classified.code, code, classified.message);
  assert.match(classified.message, message);
  return classified;
}

describe('classifyGcsError', () => {
  it('ApiError by status: 404 not found, 401/403 auth, 429 throttled, 5xx unavailable, 408 timeout, 413 too large, 412 and 400 rejected', () => {
    expect(apiError(404, 'notFound', 'The specified bucket does not exist.'), 'destination_not_found', /^gs:\/\/acme-terra\/terra: bucket "acme-terra" does not exist or the service account cannot see it \(404\)/);
    expect(apiError(401, 'authError', 'Invalid Credentials'), 'destination_auth_failed', /did not accept the credentials \(401 authError\)\. Check keyFile\/credentials/);
    const denied = expect(
      apiError(403, 'forbidden', "sa@p.iam.gserviceaccount.com does not have storage.objects.create access to the Google Cloud Storage object. Permission 'storage.objects.create' denied on resource (or it may not exist)."),
      'destination_auth_failed',
      /lacks storage\.objects\.create\. Grant the service account roles\/storage\.objectUser .*roles\/storage\.objectCreator alone is not enough/,
    );
    assert.ok(!denied.message.includes('sa@p'), 'names the permission, not the account');
    assert.deepEqual(denied.detail, { status: 403, reason: 'forbidden' });
    expect(apiError(429, 'rateLimitExceeded', 'The object exceeded the rate limit for object mutation operations'), 'destination_throttled', /one write per second to the same object name/);
    for (const status of [500, 502, 503]) expect(apiError(status, 'backendError', 'We encountered an internal error.'), 'destination_unavailable', new RegExp(`GCS answered ${status} backendError`));
    expect(apiError(504, 'backendError', 'Gateway Timeout'), 'destination_timeout', /504/);
    expect(apiError(408, 'requestTimeout', 'Request Timeout'), 'destination_timeout', /408/);
    expect(apiError(413, 'uploadTooLarge', 'Payload Too Large'), 'destination_record_too_large', /larger than GCS accepts/);
    expect(apiError(412, 'conditionNotMet', 'At least one of the pre-conditions you specified did not hold.'), 'destination_rejected', /412 Precondition Failed/);
    expect(apiError(400, 'invalid', 'Invalid argument.'), 'destination_rejected', /refused the request \(400 invalid\)/);
  });

  it('a 403 for an overwrite without storage.objects.delete says that replays need it', () => {
    const error = apiError(403, 'forbidden', "sa@p.iam.gserviceaccount.com does not have storage.objects.delete access to the Google Cloud Storage object. Permission 'storage.objects.delete' denied on resource (or it may not exist).");
    expect(error, 'destination_auth_failed', /lacks storage\.objects\.delete\..*GCS needs storage\.objects\.delete to overwrite an object/);
    // Without a permission in GCS's message, the operation decides which one is meant.
    expect(apiError(403, 'forbidden', 'Forbidden'), 'destination_auth_failed', /lacks storage\.objects\.delete/, { ...context, operation: 'overwrite' });
    expect(apiError(403, 'forbidden', 'Forbidden'), 'destination_auth_failed', /lacks storage\.objects\.create/);
  });

  it('answers that are not about permissions: retention policy or hold (rejected), Requester Pays (misconfigured)', () => {
    expect(apiError(403, 'retentionPolicyNotMet', "Object 'x' is subject to bucket's retention policy or object retention and cannot be deleted or overwritten"), 'destination_rejected', /retention policy or an object hold/);
    expect(apiError(403, 'forbidden', "Object 'x' is under active Event-Based hold and cannot be deleted, overwritten or archived until hold is removed."), 'destination_rejected', /object hold/);
    expect(apiError(400, 'required', 'Bucket is a requester pays bucket but no user project provided.'), 'destination_misconfigured', /Requester Pays \(400 required\)/);
    expect(apiError(403, 'userProjectMissing', 'Bucket is a requester pays bucket but no user project provided.'), 'destination_misconfigured', /Requester Pays/);
  });

  it('a 404 or 410 after the resumable session was created is a lost session (retryable), not a missing bucket', () => {
    const lost = { ...context, sessionStarted: true };
    expect(new Error('Retry limit exceeded - status: 404 - Not Found'), 'destination_unavailable', /no longer knows the resumable upload session \(404\)/, lost);
    expect({ code: 410, message: 'Gone', errors: [{ reason: 'notFound' }] }, 'destination_unavailable', /\(410\)/, lost);
    expect({ code: 410, message: 'Gone', errors: [{ reason: 'notFound' }] }, 'destination_not_found', /does not exist/);
  });

  it('a 401 through a custom endpoint without tokens says that no token was sent', () => {
    expect(apiError(401, 'required', 'Anonymous caller does not have storage.objects.create access'), 'destination_auth_failed', /no token was sent; set useAuthWithCustomEndpoint: true/, { ...context, tokenless: true });
  });

  it('GaxiosError (resumable uploads): status and reason from the response body', () => {
    const body = { error: { code: 404, message: 'The specified bucket does not exist.', errors: [{ reason: 'notFound', domain: 'global', message: 'The specified bucket does not exist.' }] } };
    const notFound = expect(gaxiosError(404, body), 'destination_not_found', /bucket "acme-terra" does not exist/);
    assert.deepEqual(notFound.detail, { status: 404, reason: 'notFound' });
    expect(gaxiosError(429, { error: { code: 429, message: 'rate', errors: [{ reason: 'rateLimitExceeded' }] } }), 'destination_throttled', /429 rateLimitExceeded/);
    expect(gaxiosError(503, 'Service Unavailable'), 'destination_unavailable', /503/);
    const denied = { error: { code: 403, message: "x does not have storage.objects.delete access. Permission 'storage.objects.delete' denied on resource", errors: [{ reason: 'forbidden' }] } };
    expect(gaxiosError(403, denied), 'destination_auth_failed', /lacks storage\.objects\.delete/);
  });

  it("Google's token endpoint refusing a key (invalid_grant: deleted key, wrong clock) is destination_auth_failed", () => {
    const error = gaxiosError(400, { error: 'invalid_grant', error_description: 'Invalid JWT Signature.' }, 'https://oauth2.googleapis.com/token');
    error.message = 'invalid_grant: Invalid JWT Signature.'; // what gtoken sets before rethrowing
    const classified = expect(error, 'destination_auth_failed', /token endpoint refused the credentials \(invalid_grant\).*Create a new key/);
    assert.equal(classified.retryable, false);
    expect(gaxiosError(401, { error: 'invalid_client', error_description: 'The OAuth client was disabled.' }, 'https://oauth2.googleapis.com/token'), 'destination_auth_failed', /invalid_client/);
  });

  it('plain GCS error objects and "Retry limit exceeded" errors (resumable uploads with SDK retries off) keep their status', () => {
    expect({ code: 403, message: "Permission 'storage.objects.create' denied", errors: [{ reason: 'forbidden' }] }, 'destination_auth_failed', /storage\.objects\.create/);
    expect(new Error('Retry limit exceeded - status: 503 - {"error":{"code":503}}'), 'destination_unavailable', /GCS answered 503/);
    expect(new Error('Retry total time limit exceeded - status: 429 - rate'), 'destination_throttled', /429/);
  });

  it('credentials problems are destination_misconfigured and never carry key text', () => {
    expect(new Error('Could not load the default credentials. Browse to https://cloud.google.com/docs/authentication/getting-started for more information.'), 'destination_misconfigured', /no usable Google credentials were found\. Set keyFile or credentials/);
    expect(new Error('Unable to find credentials in current environment. To learn more about authentication and Google APIs, visit: https://cloud.google.com/docs/authentication/getting-started'), 'destination_misconfigured', /no usable Google credentials/);
    expect(Object.assign(new Error("ENOENT: no such file or directory, open '/secrets/key.json'"), { code: 'ENOENT', syscall: 'open', path: '/secrets/key.json' }), 'destination_misconfigured', /a credentials file cannot be read \(ENOENT\); check keyFile or GOOGLE_APPLICATION_CREDENTIALS/);
    let parseError: unknown;
    try {
      JSON.parse('-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----');
    } catch (error) {
      parseError = error;
    }
    const fromParse = expect(parseError, 'destination_misconfigured', /not the JSON key file Google gave you/);
    assert.equal(fromParse.cause, undefined, 'a parse error quoting the key is not kept');
    assert.ok(!fromParse.message.includes('MIIE'));
    const signer = Object.assign(new Error('Unexpected token \'-\', "-----BEGIN PRIVATE KEY-----MIIE"... is not valid JSON'), { name: 'SigningError' });
    assert.equal(expect(signer, 'destination_misconfigured', /could not be read as a Google key/).cause, undefined);
    expect(new Error('The incoming JSON object does not contain a client_email field'), 'destination_misconfigured', /not a service-account key/);
  });

  it('signing: no key is misconfigured, a denied IAM signBlob is auth_failed, more than 7 days is misconfigured', () => {
    const sign: GcsErrorContext = { ...context, operation: 'sign' };
    expect(Object.assign(new Error('Cannot sign data without `client_email`.'), { name: 'SigningError' }), 'destination_misconfigured', /signed URLs need a service-account identity/, sign);
    expect(
      Object.assign(new Error("Permission 'iam.serviceAccounts.signBlob' denied on resource (or it may not exist)."), { name: 'SigningError' }),
      'destination_auth_failed',
      /lacks iam\.serviceAccounts\.signBlob.*roles\/iam\.serviceAccountTokenCreator/,
      sign,
    );
    expect(new Error('Max allowed expiration is seven days (604800 seconds).'), 'destination_misconfigured', /at most 7 days/, sign);
  });

  it('network failures, checksum mismatches and timeouts are retryable; an unknown error is internal_error', () => {
    expect(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }), 'destination_unavailable', /could not be reached \(ECONNRESET\)/);
    const gaxiosNetwork = new GaxiosError('request to https://storage.googleapis.com failed, reason: getaddrinfo ENOTFOUND storage.googleapis.com', {});
    Object.assign(gaxiosNetwork, { code: 'ENOTFOUND' });
    expect(gaxiosNetwork, 'destination_unavailable', /ENOTFOUND/);
    expect(Object.assign(new Error('The uploaded data did not match the data from the server.'), { code: 'FILE_NO_UPLOAD' }), 'destination_unavailable', /failed its checksum/);
    expect(Object.assign(new Error('network timeout at: https://storage.googleapis.com/'), { type: 'request-timeout' }), 'destination_timeout', /did not answer in time/);
    expect(new DOMException('The operation was aborted due to timeout', 'TimeoutError'), 'destination_timeout', /did not answer in time/, { ...context, timedOut: true });
    expect(new Error('Write stream destroyed'), 'destination_unavailable', /aborted at shutdown/, { ...context, shutdown: true });
    expect(new TypeError('Cannot read properties of undefined'), 'internal_error', /unexpected TypeError/);
  });

  it('a FanoutError passes through unchanged', () => {
    const original = new FanoutError('destination_throttled', 'slow down');
    assert.equal(classifyGcsError(original, context), original);
  });
});
