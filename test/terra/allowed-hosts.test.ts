import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { workerConfigSchema } from '../../src/config/worker-schema.js';
import { allowedHostProblem, defaultAllowedHosts, isUrlAllowed, parseAllowedHost } from '../../src/terra/allowed-hosts.js';

describe('s3Payload.allowedHosts matching', () => {
  const allowed = [
    'terra-payloads.s3.eu-west-2.amazonaws.com',
    '*.storage.example.com',
    'minio.local:9000',
    '*.blob.core.windows.net',
    'objects.example.org:443',
    '*.cdn.example.net:8443',
    '[::1]:9000',
    '[2001:db8::7]',
    '127.0.0.1:4566',
    'storage.googleapis.com/terra-services-p-bkt-payloads',
    's3.eu-west-1.amazonaws.com/my-bucket/terra/',
  ];
  const cases: readonly [string, boolean, string][] = [
    ['https://terra-payloads.s3.eu-west-2.amazonaws.com/x', true, 'exact host'],
    ['https://TERRA-PAYLOADS.s3.eu-west-2.amazonaws.com/x', true, 'host case-insensitive'],
    ['https://terra-payloads.s3.eu-west-2.amazonaws.com:443/x', true, 'explicit default port is the default port'],
    ['https://terra-payloads.s3.eu-west-2.amazonaws.com:8443/x', false, 'no port in the entry: default port only'],
    ['http://terra-payloads.s3.eu-west-2.amazonaws.com/x', true, 'http default port 80 (the scheme check is separate)'],
    ['https://evil-terra-payloads.s3.eu-west-2.amazonaws.com/x', false, 'not a suffix match'],
    ['https://terra-payloads.s3.eu-west-2.amazonaws.com.evil.net/x', false, 'host followed by more labels'],
    ['https://bucket.storage.example.com/x', true, 'wildcard subdomain'],
    ['https://a.b.storage.example.com/x', true, 'wildcard deeper subdomain'],
    ['https://storage.example.com/x', false, 'wildcard never matches the suffix itself'],
    ['https://bucket.storage.example.com:8443/x', false, 'wildcard without port: default only'],
    ['https://xstorage.example.com/x', false, 'wildcard needs a label boundary'],
    ['http://minio.local:9000/x', true, 'host:port exact'],
    ['http://minio.local/x', false, 'host:port does not admit the default port'],
    ['http://minio.local:9001/x', false, 'host:port does not admit another port'],
    ['https://objects.example.org/x', true, 'host:443 admits https without a port'],
    ['https://acct.cdn.example.net:8443/x', true, 'wildcard with port'],
    ['https://acct.cdn.example.net/x', false, 'wildcard with port: not the default'],
    ['http://[::1]:9000/x', true, 'IPv6 with port'],
    ['http://[0:0:0:0:0:0:0:1]:9000/x', true, 'IPv6 normalized'],
    ['http://[::1]/x', false, 'IPv6 entry has a port'],
    ['https://[2001:db8::7]/x', true, 'IPv6 default port'],
    ['http://127.0.0.1:4566/x', true, 'IPv4 with port'],
    ['http://127.0.0.1:4567/x', false, 'IPv4 other port'],
    ['https://storage.googleapis.com/terra-services-p-bkt-payloads/2026/a.json', true, 'path-style bucket'],
    ['https://storage.googleapis.com/terra-services-p-bkt-payloads', true, 'the prefix itself'],
    ['https://storage.googleapis.com/terra-services-p-bkt-payloads-evil/a.json', false, 'path prefix needs a segment boundary'],
    ['https://storage.googleapis.com/other-bucket/a.json', false, 'another bucket on a shared host'],
    ['https://storage.googleapis.com/terra-services-p-bkt-payloads/../other-bucket/a.json', false, 'dot segments are resolved before matching'],
    ['https://storage.googleapis.com/terra-services-p-bkt-payloads/%2e%2e/other-bucket/a.json', false, 'encoded dot segments too'],
    ['https://s3.eu-west-1.amazonaws.com/my-bucket/terra/a.json', true, 'multi-segment prefix with trailing slash'],
    ['https://s3.eu-west-1.amazonaws.com/my-bucket/other/a.json', false, 'outside the multi-segment prefix'],
    ['https://s3.eu-west-1.amazonaws.com/My-Bucket/terra/a.json', false, 'path compared case-sensitively'],
  ];
  for (const [url, expected, why] of cases) {
    it(`${url} -> ${expected} (${why})`, () => assert.equal(isUrlAllowed(new URL(url), allowed), expected));
  }

  it("the default admits Terra's GCS payload bucket, path-style and virtual-hosted, and nothing else", () => {
    assert.ok(isUrlAllowed(new URL('https://storage.googleapis.com/terra-services-p-bkt-payloads/x.json?X-Goog-Signature=a'), defaultAllowedHosts));
    assert.ok(isUrlAllowed(new URL('https://terra-services-p-bkt-payloads.storage.googleapis.com/x.json'), defaultAllowedHosts));
    assert.equal(isUrlAllowed(new URL('https://storage.googleapis.com/someone-else/x.json'), defaultAllowedHosts), false);
    assert.equal(isUrlAllowed(new URL('https://bucket.s3.eu-west-1.amazonaws.com/x.json'), defaultAllowedHosts), false);
    assert.equal(isUrlAllowed(new URL('https://acct.blob.core.windows.net/c/x.json'), defaultAllowedHosts), false);
  });

  it('is the default of the worker config', () => {
    const parsed = workerConfigSchema.parse({ kafka: { brokers: ['127.0.0.1:9092'] } });
    assert.deepEqual(parsed.s3Payload.allowedHosts, [...defaultAllowedHosts]);
    assert.equal(parsed.s3Payload.maxRetryMs, 300_000);
    assert.equal(parsed.s3Payload.maxExpiresInSeconds, 3600);
  });
});

describe('s3Payload.allowedHosts entries', () => {
  const valid = ['example.com', 'example.com:8443', '*.example.com', '*.example.com:9000', '[::1]', '[::1]:9000', '10.0.0.7:9000', 'storage.googleapis.com/bucket', 'host:443/a/b/'];
  for (const entry of valid) it(`accepts ${entry}`, () => assert.equal(allowedHostProblem(entry), undefined));

  const invalid: readonly [string, RegExp][] = [
    ['https://example.com', /no scheme/],
    ['example.com:0', /port 0/],
    ['example.com:65536', /port 65536/],
    ['*.10.0.0.1', /DNS names/],
    ['*.com', /top-level/],
    ['exa mple.com', /expected host/],
    ['example..com', /not a host name/],
    ['-example.com', /not a host name/],
    ['example.com/a/../b', /no "\." or "\.\." segment/],
    ['example.com/a%2Fb', /%-escapes/],
    ['example.com/', /one or more \/segments/],
    ['', /expected host/],
  ];
  for (const [entry, problem] of invalid) it(`refuses ${JSON.stringify(entry)}`, () => assert.match(allowedHostProblem(entry) ?? '', problem));

  it('an invalid entry in the worker config is a config error naming the problem', () => {
    const parsed = workerConfigSchema.safeParse({ kafka: { brokers: ['127.0.0.1:9092'] }, s3Payload: { allowedHosts: ['minio.local:9000', 'https://x.com'] } });
    assert.equal(parsed.success, false);
    const issue = parsed.error?.issues[0];
    assert.deepEqual(issue?.path, ['s3Payload', 'allowedHosts', 1]);
    assert.match(issue?.message ?? '', /no scheme/);
  });

  it('normalizes what it parses', () => {
    const parsed = parseAllowedHost('Storage.GoogleAPIs.com:0443/Bucket/');
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.entry, { host: 'storage.googleapis.com', wildcard: false, port: '443', pathPrefix: '/Bucket' });
  });
});
