import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { inspect } from 'node:util';
import { formatProblem, loadTenantFile, loadWorkerFile, validatePaths } from '../../src/config/load-config.js';
import { removeConfigFiles, writeConfigFiles, yamlLines } from './config-files.js';

after(removeConfigFiles);

/** Invalid for every kind of field (spaces, `!`), so each use below is a problem. */
const SECRET = 'Hunter2 Sup3r Secret!';
const env = { KAFKA_PASSWORD: SECRET, TLS_KEY: SECRET, SIGNING: SECRET, HOOK_SECRET: SECRET, TOKEN: SECRET, BAD: SECRET };

function assertHidden(text: string, where: string): void {
  assert.ok(!text.includes(SECRET), `the secret appears in ${where}: ${text}`);
  assert.ok(!text.includes('Sup3r'), `part of the secret appears in ${where}`);
}

describe('secrets from ${VAR}', () => {
  it('never print from a loaded worker config', async () => {
    const dir = await writeConfigFiles({
      'worker.yaml': yamlLines(
        'kafka:',
        '  brokers: [k:9092]',
        '  ssl: { key: "${TLS_KEY}" }',
        '  sasl: { mechanism: plain, username: fanout, password: "${KAFKA_PASSWORD}" }',
      ),
    });
    const loaded = await loadWorkerFile(join(dir, 'worker.yaml'), env);
    assert.ok(loaded.ok);
    assertHidden(JSON.stringify(loaded.value), 'JSON.stringify');
    assertHidden(inspect(loaded.value, { depth: Infinity }), 'util.inspect');
    assertHidden(String(loaded.value.kafka.sasl?.password), 'String()');
    assert.equal(loaded.value.kafka.sasl?.password.reveal(), SECRET);
  });

  it('never print from a loaded tenant config', async () => {
    const dir = await writeConfigFiles({
      'acme.yaml': yamlLines(
        'tenant: acme',
        'topics: [terra.events]',
        'deadLetterTopic: terra.events.dlq.acme',
        'source: { signature: { secret: "${SIGNING}" } }',
        'destinations:',
        '  - name: hook',
        '    type: webhook',
        '    config:',
        '      url: https://example.com/terra',
        '      secret: ${HOOK_SECRET}',
        '      headers: { Authorization: "Bearer ${TOKEN}" }',
      ),
    });
    const loaded = await loadTenantFile(join(dir, 'acme.yaml'), env);
    assert.ok(loaded.ok, loaded.ok ? '' : loaded.problems.map(formatProblem).join('\n'));
    assertHidden(JSON.stringify(loaded.value), 'JSON.stringify');
    assertHidden(inspect(loaded.value, { depth: Infinity }), 'util.inspect');
    assert.equal(loaded.value.source?.signature?.secret.reveal(), SECRET);
  });

  it('never appear in problem messages, wherever the value lands', async () => {
    const dir = await writeConfigFiles({
      'worker.yaml': yamlLines(
        'kafka:',
        '  brokers: ["${BAD}"]',
        '  groupPrefix: ${BAD}',
        '  sasl: { mechanism: "${BAD}", username: u, password: "${KAFKA_PASSWORD}" }',
        '  ssl: "${BAD}"',
        'http: { port: "${BAD}" }',
        'budgets: { maxMessageBytes: "${BAD}" }',
        's3Payload: { allowedHosts: ["${BAD}"], allowHttp: "${BAD}" }',
        'log: { level: "${BAD}" }',
      ),
      'acme.yaml': yamlLines(
        'tenant: ${BAD}',
        'topics: ["${BAD}"]',
        'deadLetterTopic: ${BAD}',
        'source: { signature: { secret: "${SIGNING}", required: "${BAD}" } }',
        'destinations:',
        '  - name: ${BAD}',
        '    type: file',
        '    events: ["${BAD}"]',
        '    providers: ["${BAD}"]',
        '    batch: { maxBytes: "${BAD}" }',
        '    config: { directory: ./out, prefix: "${BAD}", keyTemplate: "${BAD}", unit: "${BAD}" }',
        '  - name: x',
        '    type: ${BAD}',
        '    config: {}',
        '  - name: hook',
        '    type: webhook',
        '    config: { url: "https://example.com/${BAD}", headers: { "${BAD}": "${TOKEN}" } }',
      ),
      'hook.yaml': yamlLines(
        'tenant: hook',
        'topics: [t]',
        'deadLetterTopic: d',
        'destinations:',
        '  - name: hook',
        '    type: webhook',
        '    config: { url: "${BAD}" }',
      ),
    });
    const result = await validatePaths([dir], env);
    assert.ok(result.problems.length >= 15, `expected many problems, got ${result.problems.length}`);
    for (const problem of result.problems) assertHidden(formatProblem(problem), 'a problem');
  });
});
