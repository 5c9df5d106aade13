import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffDelayMs, mayRetry, maxRetryAfterMs, type RetryPolicy } from '../../src/lane/retry-policy.js';

const policy: RetryPolicy = { initialDelayMs: 100, maxDelayMs: 1000, multiplier: 2, jitter: 0, maxAttempts: 4 };

describe('retry policy', () => {
  it('grows exponentially from the initial delay and stops at the cap', () => {
    assert.deepEqual([1, 2, 3, 4, 5, 6].map((attempt) => backoffDelayMs(policy, attempt)), [100, 200, 400, 800, 1000, 1000]);
  });

  it('spreads delays by the jitter fraction in both directions, within the cap', () => {
    const jittered = { ...policy, jitter: 0.5 };
    assert.equal(backoffDelayMs(jittered, 2, undefined, () => 0), 100);
    assert.equal(backoffDelayMs(jittered, 2, undefined, () => 1), 300);
    assert.equal(backoffDelayMs(jittered, 10, undefined, () => 1), 1000);
  });

  it('never waits less than the Retry-After the destination asked for, up to a ceiling', () => {
    assert.equal(backoffDelayMs(policy, 1, 5000), 5000);
    assert.equal(backoffDelayMs(policy, 1, 10 * maxRetryAfterMs), maxRetryAfterMs);
  });

  it('allows attempts up to maxAttempts, or forever when it is null', () => {
    assert.equal(mayRetry(policy, 3), true);
    assert.equal(mayRetry(policy, 4), false);
    assert.equal(mayRetry({ ...policy, maxAttempts: null }, 1_000_000), true);
  });
});
