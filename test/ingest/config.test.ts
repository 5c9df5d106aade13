import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tenantConfigSchema } from '../../src/config/tenant-schema.js';
import { workerConfigSchema } from '../../src/config/worker-schema.js';
import { gatewaySettings } from '../../src/ingest/config.js';

const destinations = [{ name: 'files', type: 'file', config: { directory: '/tmp/unused' } }];
const worker = workerConfigSchema.parse({ kafka: { brokers: ['127.0.0.1:9092'] } });

function tenant(name: string, extra: Record<string, unknown>) {
  return tenantConfigSchema.parse({ tenant: name, topics: [`${name}.events`, `${name}.more`], deadLetterTopic: `${name}.dlq`, destinations, ...extra });
}

describe('ingest config', () => {
  it('has defaults that keep a 2xx meaningful: 32 MiB bodies, a produce timeout below Terra\'s 8 s, healthchecks answered, not run beside the worker', () => {
    assert.deepEqual(
      { ...worker.ingest },
      { enabled: false, host: '0.0.0.0', port: 8080, bodyLimit: 32 * 1024 * 1024, maxInFlightBytes: 256 * 1024 * 1024, headersTimeoutMs: 10_000, readTimeoutMs: 30_000, keepAliveTimeoutMs: 5_000, produceTimeoutMs: 5_000, retryAfterSeconds: 30, healthcheck: 'answer' },
    );
  });

  it('routes only tenants with ingest enabled, to ingest.topic or their first topic, with their signing secret and tolerance', () => {
    const settings = gatewaySettings(worker, [
      tenant('first', { source: { signature: { secret: 's1', toleranceSeconds: 120 } }, ingest: {} }),
      tenant('chosen', { source: { signature: { secret: 's2' } }, ingest: { topic: 'chosen.webhooks', rejectInvalid: true } }),
      tenant('off', { source: { signature: { secret: 's3' } }, ingest: { enabled: false } }),
      tenant('none', { source: { signature: { secret: 's4' } } }),
    ]);
    assert.deepEqual([...settings.tenants.keys()], ['first', 'chosen']);
    const first = settings.tenants.get('first');
    assert.equal(first?.topic, 'first.events');
    assert.equal(first?.toleranceSeconds, 120);
    assert.equal(first?.secret.reveal(), 's1');
    assert.equal(first?.rejectInvalid, false);
    assert.equal(settings.tenants.get('chosen')?.topic, 'chosen.webhooks');
    assert.equal(settings.tenants.get('chosen')?.rejectInvalid, true);
    assert.equal(settings.drainTimeoutMs, worker.shutdown.drainTimeoutMs);
  });

  it('refuses a tenant route without a signing secret, or one that produces to the dead-letter topic', () => {
    const unsigned = tenantConfigSchema.safeParse({ tenant: 'a', topics: ['a.events'], deadLetterTopic: 'a.dlq', destinations, ingest: {} });
    assert.equal(unsigned.success, false);
    assert.match(JSON.stringify(unsigned.error?.issues), /source\.signature/);
    assert.deepEqual(unsigned.error?.issues[0]?.path, ['ingest']);
    const toDlq = tenantConfigSchema.safeParse({ tenant: 'a', topics: ['a.events'], deadLetterTopic: 'a.dlq', destinations, source: { signature: { secret: 's' } }, ingest: { topic: 'a.dlq' } });
    assert.deepEqual(toDlq.error?.issues[0]?.path, ['ingest', 'topic']);
    // A disabled route needs no secret.
    assert.ok(tenantConfigSchema.safeParse({ tenant: 'a', topics: ['a.events'], deadLetterTopic: 'a.dlq', destinations, ingest: { enabled: false } }).success);
  });
});
