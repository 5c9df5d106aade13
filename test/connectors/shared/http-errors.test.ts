import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  classifyHttpStatus,
  classifyNetworkError,
  compileRetryStatuses,
  parseRetryAfterMs,
  retryStatusesSchema,
  safeUrlLabel,
} from '../../../connectors/shared/http-errors.js';
import { FanoutError } from '../../../src/errors/catalogue.js';

const target = 'Webhook https://example.com/hook';

describe('classifyHttpStatus (catalogue meaning)', () => {
  const cases: Array<[number, string, boolean]> = [
    [500, 'destination_unavailable', true],
    [502, 'destination_unavailable', true],
    [503, 'destination_unavailable', true],
    [504, 'destination_timeout', true],
    [408, 'destination_timeout', true],
    [429, 'destination_throttled', true],
    [401, 'destination_auth_failed', false],
    [403, 'destination_auth_failed', false],
    [404, 'destination_not_found', false],
    [410, 'destination_not_found', false],
    [413, 'destination_record_too_large', false],
    [400, 'destination_rejected', false],
    [422, 'destination_rejected', false],
    [301, 'destination_rejected', false],
    [307, 'destination_rejected', false],
  ];
  for (const [status, code, retryable] of cases) {
    it(`${status} is ${code}`, () => {
      const error = classifyHttpStatus(status, null, { target });
      assert.equal(error.code, code);
      assert.equal(error.retryable, retryable);
      assert.equal(error.detail['status'], status);
      assert.match(error.message, new RegExp(`^${target} answered ${status}`));
    });
  }

  it('429 carries Retry-After in seconds', () => {
    assert.equal(classifyHttpStatus(429, '7', { target }).retryAfterMs, 7000);
  });

  it('503 carries Retry-After as an HTTP-date', () => {
    const now = Date.parse('2026-07-01T08:00:00Z');
    const error = classifyHttpStatus(503, 'Wed, 01 Jul 2026 08:00:30 GMT', { target, nowMs: now });
    assert.equal(error.retryAfterMs, 30_000);
  });

  it('a permanent status ignores Retry-After', () => {
    assert.equal(classifyHttpStatus(400, '5', { target }).retryAfterMs, undefined);
  });
});

describe('classifyHttpStatus with a retry policy', () => {
  it('retrying every status turns permanent meanings into destination_refused, keeping the meaning in detail', () => {
    const error = classifyHttpStatus(401, null, { target, retryStatus: () => true });
    assert.equal(error.code, 'destination_refused');
    assert.equal(error.retryable, true);
    assert.equal(error.detail['meaning'], 'destination_auth_failed');
    assert.equal(classifyHttpStatus(429, '2', { target, retryStatus: () => true }).code, 'destination_throttled');
    assert.equal(classifyHttpStatus(429, '2', { target, retryStatus: () => true }).retryAfterMs, 2000);
  });

  it('a narrowed list makes unlisted statuses permanent', () => {
    const retryStatus = compileRetryStatuses(['5xx', '429']);
    assert.equal(classifyHttpStatus(503, null, { target, retryStatus }).code, 'destination_unavailable');
    assert.equal(classifyHttpStatus(429, null, { target, retryStatus }).code, 'destination_throttled');
    const timeout = classifyHttpStatus(408, null, { target, retryStatus });
    assert.equal(timeout.code, 'destination_rejected');
    assert.equal(timeout.detail['meaning'], 'destination_timeout');
    assert.equal(classifyHttpStatus(400, null, { target, retryStatus }).code, 'destination_rejected');
    assert.equal(classifyHttpStatus(403, null, { target, retryStatus }).code, 'destination_auth_failed');
  });
});

describe('compileRetryStatuses and its schema', () => {
  it('matches classes and exact statuses', () => {
    const policy = compileRetryStatuses(['5xx', '429', '408']);
    assert.deepEqual([500, 599, 429, 408, 400, 404, 302].map(policy), [true, true, true, true, false, false, false]);
  });

  it('accepts 3xx/4xx/5xx patterns only', () => {
    assert.ok(retryStatusesSchema.safeParse(['5xx', '429', '3xx', '308']).success);
    for (const bad of [[], ['2xx'], ['200'], ['5XX'], ['42'], ['600'], ['5xxx']]) assert.equal(retryStatusesSchema.safeParse(bad).success, false, JSON.stringify(bad));
  });
});

describe('parseRetryAfterMs', () => {
  it('reads seconds and HTTP-dates, clamps past dates, ignores junk', () => {
    const now = Date.parse('2026-07-01T08:00:00Z');
    assert.equal(parseRetryAfterMs('0', now), 0);
    assert.equal(parseRetryAfterMs(' 120 ', now), 120_000);
    assert.equal(parseRetryAfterMs('Wed, 01 Jul 2026 08:01:00 GMT', now), 60_000);
    assert.equal(parseRetryAfterMs('Wed, 01 Jul 2026 07:00:00 GMT', now), 0);
    assert.equal(parseRetryAfterMs('1.5', now), undefined);
    assert.equal(parseRetryAfterMs('-3', now), undefined);
    assert.equal(parseRetryAfterMs('soon', now), undefined);
    assert.equal(parseRetryAfterMs(null, now), undefined);
  });
});

function systemError(code: string): Error {
  return new TypeError('fetch failed', { cause: Object.assign(new Error(`connect ${code} 127.0.0.1:1`), { code }) });
}

describe('classifyNetworkError', () => {
  for (const code of ['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_SOCKET']) {
    it(`${code} is destination_unavailable`, () => {
      const error = classifyNetworkError(systemError(code), { target });
      assert.equal(error.code, 'destination_unavailable');
      assert.equal(error.detail['errorCode'], code);
      assert.ok(error.message.includes(code));
    });
  }

  it('timeouts are destination_timeout', () => {
    assert.equal(classifyNetworkError(systemError('UND_ERR_CONNECT_TIMEOUT'), { target }).code, 'destination_timeout');
    assert.equal(classifyNetworkError(new DOMException('The operation was aborted due to timeout', 'TimeoutError'), { target }).code, 'destination_timeout');
    assert.equal(classifyNetworkError(new DOMException('aborted', 'AbortError'), { target, timedOut: true }).code, 'destination_timeout');
  });

  it('a shutdown abort is retryable destination_unavailable', () => {
    const error = classifyNetworkError(new DOMException('This operation was aborted', 'AbortError'), { target });
    assert.equal(error.code, 'destination_unavailable');
    assert.match(error.message, /shutdown/);
  });

  it('TLS failures are retryable destination_unavailable', () => {
    assert.equal(classifyNetworkError(systemError('CERT_HAS_EXPIRED'), { target }).code, 'destination_unavailable');
  });

  it('a programming error is internal_error and a FanoutError passes through', () => {
    assert.equal(classifyNetworkError(new RangeError('bad'), { target }).code, 'internal_error');
    const given = new FanoutError('destination_rejected', 'x');
    assert.equal(classifyNetworkError(given, { target }), given);
  });
});

describe('safeUrlLabel', () => {
  it('drops credentials, query and fragment', () => {
    assert.equal(safeUrlLabel('https://user:pw@example.com:8443/a/b?token=s3cret#frag'), 'https://example.com:8443/a/b');
    assert.equal(safeUrlLabel('not a url'), '[invalid URL]');
  });
});
