import assert from 'node:assert/strict';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { FanoutError } from '../../src/errors/catalogue.js';
import { readTerraEvent, type ReadOptions } from '../../src/terra/read-event.js';
import { resolveS3Payload, type S3PayloadOptions } from '../../src/terra/resolve-s3-payload.js';
import type { S3PayloadPointer } from '../../src/terra/schemas/s3-payload.js';
import { NOW_MS, validFixture } from './support/terra-fixtures.js';

const activity = validFixture('activity');
const requests: string[] = [];
let server: Server;
let origin = '';
let host = '';

function route(path: string, respond: (res: ServerResponse) => void): [string, (res: ServerResponse) => void] {
  return [path, respond];
}

const routes = new Map([
  route('/ok', (res) => res.writeHead(200, { 'content-type': 'application/json' }).end(activity)),
  route('/s3-expired', (res) =>
    res.writeHead(403, { 'content-type': 'application/xml' }).end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Request has expired</Message><X-Amz-Expires>3600</X-Amz-Expires></Error>'),
  ),
  route('/gcs-expired', (res) => res.writeHead(400).end("<?xml version='1.0' encoding='UTF-8'?><Error><Code>ExpiredToken</Code><Message>The provided token has expired.</Message></Error>")),
  route('/azure-expired', (res) =>
    res.writeHead(403).end('<?xml version="1.0" encoding="utf-8"?><Error><Code>AuthenticationFailed</Code><Message>Server failed to authenticate the request.</Message><AuthenticationErrorDetail>Signed expiry time [Wed, 01 Jul 2026 10:00:00 GMT] must be after signed start time</AuthenticationErrorDetail></Error>'),
  ),
  route('/denied', (res) => res.writeHead(403).end('<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>')),
  route('/missing', (res) => res.writeHead(404).end('<Error><Code>NoSuchKey</Code></Error>')),
  route('/throttled', (res) => res.writeHead(429).end('slow down')),
  route('/boom', (res) => res.writeHead(500).end('internal')),
  route('/slow', () => undefined),
  route('/slow-body', (res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"type":');
  }),
  route('/big', (res) => res.writeHead(200, { 'content-length': String(activity.length) }).end(activity)),
  route('/big-chunked', (res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    for (let i = 0; i < 20; i += 1) res.write(Buffer.alloc(1024, 0x20));
    res.end('{}');
  }),
  route('/redirect', (res) => res.writeHead(302, { location: `${origin}/ok` }).end()),
  route('/nested', (res) =>
    res.writeHead(200).end(JSON.stringify({ type: 's3_payload', status: 'success', url: `${origin}/ok`, expires_in: 3600 })),
  ),
  route('/not-json', (res) => res.writeHead(200).end('{"type": "activity", ')),
]);

before(async () => {
  server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    requests.push(path);
    const handler = routes.get(path);
    if (handler === undefined) res.writeHead(404).end();
    else handler(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  host = `127.0.0.1:${port}`;
  origin = `http://${host}`;
});

after(() => {
  server.closeAllConnections();
  server.close();
});

function pointer(path: string, expiresIn = 3600): S3PayloadPointer {
  return { type: 's3_payload', status: 'success', url: `${origin}${path}?X-Amz-Signature=deadbeefsecret&X-Amz-Expires=${expiresIn}`, expires_in: expiresIn };
}

function options(overrides: Partial<S3PayloadOptions> = {}): S3PayloadOptions {
  return { allowedHosts: [host], allowHttp: true, maxBytes: 1024 * 1024, timeoutMs: 2000, maxExpiresInSeconds: 3600, nowMs: NOW_MS, sentAtMs: NOW_MS - 60_000, ...overrides };
}

async function expectCode(promise: Promise<unknown>, code: string): Promise<FanoutError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof FanoutError, `not a FanoutError: ${String(error)}`);
    assert.equal(error.code, code, error.message);
    assert.ok(!error.message.includes('deadbeefsecret') && !error.message.includes('X-Amz'), `query string leaked: ${error.message}`);
    return error;
  }
  assert.fail(`expected ${code}, got a result`);
}

function requestsTo(path: string): number {
  return requests.filter((p) => p === path).length;
}

describe('resolveS3Payload against a local server', () => {
  it('fetches the body', async () => {
    const body = await resolveS3Payload(pointer('/ok'), options());
    assert.ok(body.equals(activity));
  });

  it('refuses hosts outside the allowlist without a request', async () => {
    const before = requests.length;
    await expectCode(resolveS3Payload(pointer('/ok'), options({ allowedHosts: ['bucket.s3.amazonaws.com'] })), 's3_payload_host_not_allowed');
    await expectCode(resolveS3Payload(pointer('/ok'), options({ allowedHosts: ['127.0.0.1'] })), 's3_payload_host_not_allowed');
    await expectCode(resolveS3Payload(pointer('/ok'), options({ allowHttp: false })), 's3_payload_host_not_allowed');
    assert.equal(requests.length, before);
  });

  it('refuses a pointer already expired by time without a request', async () => {
    const before = requestsTo('/ok');
    await expectCode(resolveS3Payload(pointer('/ok', 60), options({ sentAtMs: NOW_MS - 61_000 })), 's3_payload_expired');
    assert.equal(requestsTo('/ok'), before);
  });

  it('never believes expires_in beyond maxExpiresInSeconds', async () => {
    const before = requestsTo('/ok');
    const claimsAYear = pointer('/ok', 365 * 86_400);
    const error = await expectCode(resolveS3Payload(claimsAYear, options({ sentAtMs: NOW_MS - 601_000, maxExpiresInSeconds: 600 })), 's3_payload_expired');
    assert.match(error.message, /capped at s3Payload\.maxExpiresInSeconds 600 s/);
    assert.equal(requestsTo('/ok'), before, 'no request for a pointer past the cap');
    const body = await resolveS3Payload(claimsAYear, options({ sentAtMs: NOW_MS - 599_000, maxExpiresInSeconds: 600 }));
    assert.ok(body.length > 0, 'within the cap it is fetched');
    assert.equal(requestsTo('/ok'), before + 1);
  });

  it('classifies expiry answers from S3, GCS and Azure', async () => {
    const error = await expectCode(resolveS3Payload(pointer('/s3-expired'), options()), 's3_payload_expired');
    assert.equal(error.detail['status'], 403);
    await expectCode(resolveS3Payload(pointer('/gcs-expired'), options()), 's3_payload_expired');
    await expectCode(resolveS3Payload(pointer('/azure-expired'), options()), 's3_payload_expired');
  });

  it('other 4xx are refused, not retryable', async () => {
    const denied = await expectCode(resolveS3Payload(pointer('/denied'), options()), 's3_payload_refused');
    assert.equal(denied.retryable, false);
    await expectCode(resolveS3Payload(pointer('/missing'), options()), 's3_payload_refused');
  });

  it('5xx, 429, network errors and timeouts are unavailable (retryable)', async () => {
    const boom = await expectCode(resolveS3Payload(pointer('/boom'), options()), 's3_payload_unavailable');
    assert.equal(boom.retryable, true);
    await expectCode(resolveS3Payload(pointer('/throttled'), options()), 's3_payload_unavailable');
    await expectCode(resolveS3Payload(pointer('/slow'), options({ timeoutMs: 150 })), 's3_payload_unavailable');
    await expectCode(resolveS3Payload(pointer('/slow-body'), options({ timeoutMs: 150 })), 's3_payload_unavailable');
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedHost = `127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const refused = { ...pointer('/ok'), url: `http://${closedHost}/ok?X-Amz-Signature=deadbeefsecret` };
    await expectCode(resolveS3Payload(refused, options({ allowedHosts: [closedHost] })), 's3_payload_unavailable');
  });

  it('stops at maxBytes, by content-length and while streaming', async () => {
    await expectCode(resolveS3Payload(pointer('/big'), options({ maxBytes: 1000 })), 's3_payload_too_large');
    await expectCode(resolveS3Payload(pointer('/big-chunked'), options({ maxBytes: 4096 })), 's3_payload_too_large');
  });

  it('never follows a redirect', async () => {
    const before = requestsTo('/ok');
    const error = await expectCode(resolveS3Payload(pointer('/redirect'), options()), 's3_payload_refused');
    assert.match(error.message, /redirect/);
    assert.equal(requestsTo('/ok'), before);
  });

  it('uses an injected fetch', async () => {
    const calls: string[] = [];
    const fake: typeof fetch = async (input) => {
      calls.push(String(input));
      return new Response('{"type":"healthcheck"}', { status: 200 });
    };
    const body = await resolveS3Payload(pointer('/anything'), options({ fetch: fake }));
    assert.equal(body.toString(), '{"type":"healthcheck"}');
    assert.equal(calls.length, 1);
  });
});

describe('readTerraEvent through a pointer', () => {
  function readOptions(overrides: Partial<ReadOptions> = {}): ReadOptions {
    return {
      maxMessageBytes: 1024,
      headers: {},
      nowMs: NOW_MS,
      sentAtMs: NOW_MS - 60_000,
      s3Payload: { allowedHosts: [host], allowHttp: true, maxBytes: 1024 * 1024, timeoutMs: 2000, maxExpiresInSeconds: 3600 },
      ...overrides,
    };
  }
  const message = (path: string): Buffer => Buffer.from(JSON.stringify(pointer(path)));

  it('fetches and decodes the real event; body is the fetched bytes', async () => {
    const result = await readTerraEvent(message('/ok'), readOptions());
    assert.ok(result.ok, result.ok ? '' : result.error.message);
    assert.equal(result.viaPointer, true);
    assert.equal(result.kind, 'data');
    assert.equal(result.event.type, 'activity');
    assert.ok(result.body.equals(activity));
  });

  it('a direct event is not via a pointer', async () => {
    const result = await readTerraEvent(validFixture('deauth'), readOptions());
    assert.ok(result.ok);
    assert.equal(result.viaPointer, false);
  });

  it('a fetched pointer is s3_payload_nested', async () => {
    const result = await readTerraEvent(message('/nested'), readOptions());
    assert.ok(!result.ok);
    assert.equal(result.error.code, 's3_payload_nested');
  });

  it('a fetched body that is not JSON is malformed_json', async () => {
    const result = await readTerraEvent(message('/not-json'), readOptions());
    assert.ok(!result.ok);
    assert.equal(result.error.code, 'malformed_json');
    assert.match(result.error.message, /fetched s3_payload/);
  });

  it('fetch failures come back as results, never throws', async () => {
    const result = await readTerraEvent(message('/boom'), readOptions());
    assert.ok(!result.ok);
    assert.equal(result.error.code, 's3_payload_unavailable');
    assert.equal(result.error.retryable, true);
  });
});
