import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { builtInBatch, builtInRetry } from '../../src/config/delivery-settings.js';
import { resolveDestinationSettings } from '../../src/config/tenant-schema.js';

describe('resolveDestinationSettings', () => {
  it('gives the built-in defaults when nothing is set', () => {
    assert.deepEqual(resolveDestinationSettings({}, {}), {
      batch: { maxRecords: 500, maxBytes: 4 * 1024 * 1024, lingerMs: 200 },
      retry: { initialDelayMs: 500, maxDelayMs: 60_000, multiplier: 2, jitter: 0.2, maxAttempts: null },
    });
    assert.deepEqual(resolveDestinationSettings({}, {}).batch, { ...builtInBatch });
    assert.deepEqual(resolveDestinationSettings({}, {}).retry, { ...builtInRetry });
  });

  it('merges built-in < tenant defaults < destination, field by field', () => {
    const tenant = { defaults: { batch: { maxRecords: 100, lingerMs: 50 }, retry: { maxAttempts: 10, jitter: 0 } } };
    const destination = { batch: { lingerMs: 5 }, retry: { initialDelayMs: 1000 } };
    assert.deepEqual(resolveDestinationSettings(tenant, destination), {
      batch: { maxRecords: 100, maxBytes: 4 * 1024 * 1024, lingerMs: 5 },
      retry: { initialDelayMs: 1000, maxDelayMs: 60_000, multiplier: 2, jitter: 0, maxAttempts: 10 },
    });
  });

  it('lets a destination set maxAttempts back to null (retry forever) over a tenant limit', () => {
    const settings = resolveDestinationSettings({ defaults: { retry: { maxAttempts: 10 } } }, { retry: { maxAttempts: null } });
    assert.equal(settings.retry.maxAttempts, null);
  });
});
