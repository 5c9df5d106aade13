import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { formatProblem, loadWorkerWithTenants, validatePaths } from '../../src/config/load-config.js';
import { repoRoot } from './config-files.js';

describe('the config/ folder', () => {
  it('every YAML file in config/ validates (without any environment variable set)', async () => {
    const result = await validatePaths([join(repoRoot, 'config')], {});
    assert.deepEqual(result.problems.map(formatProblem), []);
    const checked = result.checked.map((file) => file.slice(join(repoRoot, 'config').length + 1));
    for (const expected of ['worker.yaml', 'tenants/demo.yaml', 'examples/file.yaml', 'examples/webhook.yaml', 'examples/s3.yaml', 'examples/sqs.yaml']) assert.ok(checked.includes(expected), `${expected} was not checked`);
  });

  it('the quick-start worker loads with the demo tenant', async () => {
    const loaded = await loadWorkerWithTenants(join(repoRoot, 'config', 'worker.yaml'), { KAFKA_BROKERS: 'localhost:19092', TERRA_FANOUT_OUT: '/tmp/out' });
    assert.ok(loaded.ok, loaded.ok ? '' : loaded.problems.map(formatProblem).join('\n'));
    assert.deepEqual(loaded.value.worker.kafka.brokers, ['localhost:19092']);
    assert.deepEqual(
      loaded.value.tenants.map((tenant) => tenant.tenant),
      ['demo'],
    );
    const [demo] = loaded.value.tenants;
    assert.equal(demo?.deadLetterTopic, 'terra.events.dlq.demo');
    assert.deepEqual(
      demo?.destinations.map((destination) => [destination.name, destination.type, destination.events ?? 'all']),
      [
        ['raw', 'file', 'all'],
        ['activity-only', 'file', ['activity']],
      ],
    );
  });
});
