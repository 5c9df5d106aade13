import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { connectorRegistry } from '../../connectors/registry.js';
import { loadTenantFile } from '../../src/config/load-config.js';
import { formatted, removeConfigFiles, tenantWith, writeConfigFiles, yamlLines } from './config-files.js';

after(removeConfigFiles);

/** The destination types the problems list, in registry order. */
const knownTypes = connectorRegistry.map((connector) => connector.type).join(', ');

async function problemsOf(text: string, env: NodeJS.ProcessEnv = {}): Promise<string[]> {
  const dir = await writeConfigFiles({ 'acme.yaml': text });
  const loaded = await loadTenantFile(join(dir, 'acme.yaml'), env);
  assert.ok(!loaded.ok, 'expected problems');
  return formatted(loaded.problems, dir);
}

describe('loadTenantFile', () => {
  it('loads a tenant with file and webhook destinations', async () => {
    const dir = await writeConfigFiles({
      'acme.yaml': tenantWith(
        '  - name: raw',
        '    type: file',
        '    events: [activity, athlete.registered]',
        '    providers: [GARMIN]',
        '    config: { directory: "${OUT:-./out}" }',
        '  - name: hook',
        '    type: webhook',
        '    batch: { maxBytes: 1MiB }',
        '    config: { url: "https://example.com/terra" }',
      ),
    });
    const loaded = await loadTenantFile(join(dir, 'acme.yaml'), {});
    assert.ok(loaded.ok, loaded.ok ? '' : formatted(loaded.problems, dir).join('\n'));
    const [raw, hook] = loaded.value.destinations;
    assert.equal(raw?.type, 'file');
    assert.deepEqual(raw?.events, ['activity', 'athlete.registered']);
    assert.deepEqual(raw?.config, { directory: './out', fsync: true, timeoutMs: 30_000, unit: 'record' });
    assert.equal(hook?.type, 'webhook');
    assert.equal(hook?.batch?.maxBytes, 1024 * 1024);
  });

  it('rejects an unknown key', async () => {
    assert.deepEqual(await problemsOf(tenantWith('  - name: raw', '    type: file', '    colour: blue', '    config: { directory: ./out }')), [
      'acme.yaml:7:5: destinations[0].colour: unknown key; expected one of: name, type, events, providers, format, fhir, batch, retry, config',
    ]);
  });

  it('rejects a value of the wrong type', async () => {
    assert.deepEqual(await problemsOf(tenantWith('  - name: raw', '    type: file', '    batch: { maxRecords: many }', '    config: { directory: ./out }')), [
      'acme.yaml:7:26: destinations[0].batch.maxRecords: expected a number, got a string',
    ]);
  });

  it('rejects an unknown destination type, naming the known ones', async () => {
    assert.deepEqual(await problemsOf(tenantWith('  - name: raw', '    type: fil', '    config: { directory: ./out }')), [
      `acme.yaml:6:11: destinations[0].type: unknown destination type; expected one of: ${knownTypes}`,
    ]);
  });

  it('rejects a duplicate destination name', async () => {
    assert.deepEqual(await problemsOf(tenantWith('  - name: raw', '    type: file', '    config: { directory: ./a }', '  - name: raw', '    type: file', '    config: { directory: ./b }')), [
      'acme.yaml:8:11: destinations[1].name: duplicate destination name; each destination of a tenant needs its own name',
    ]);
  });

  it('rejects an unknown event type, listing the known ones', async () => {
    const [problem, ...rest] = await problemsOf(tenantWith('  - name: raw', '    type: file', '    events: [activity, sleeep]', '    config: { directory: ./out }'));
    assert.deepEqual(rest, []);
    assert.match(problem ?? '', /^acme\.yaml:7:24: destinations\[0\]\.events\[1\]: unknown Terra event type; expected one of: activity, athlete, .*lab_report\.completed, lab_report\.failed, .*, lab_report$/);
  });

  it('rejects a missing environment variable at its line', async () => {
    assert.deepEqual(await problemsOf(tenantWith('  - name: raw', '    type: file', '    config:', '      directory: ${OUT_DIR}')), [
      'acme.yaml:8:18: destinations[0].config.directory: environment variable OUT_DIR is not set; set it, or give a default with ${OUT_DIR:-default}',
    ]);
  });

  it('checks the connector config', async () => {
    assert.deepEqual(await problemsOf(tenantWith('  - name: hook', '    type: webhook', '    config:', '      timeoutMs: 1000')), [
      'acme.yaml:8:7: destinations[0].config.url: required key is missing; expected a string',
    ]);
  });

  it('reports several problems of one file together, in file order', async () => {
    const text = yamlLines(
      'tenant: Acme',
      'topics: [terra.events]',
      'deadLetterTopic: terra.events',
      'destinations:',
      '  - name: raw',
      '    type: file',
      '    colour: blue',
      '    config:',
      '      directory: ./out',
      '  - name: raw',
      '    type: file',
      '    events: [activity, sleeep]',
      '    config:',
      '      directory: ${OUT_DIR}',
      '  - name: hook',
      '    type: webhok',
      '    config: {}',
      '  - name: hook2',
      '    config: {}',
      '  - name: hook3',
      '    type: webhook',
      '    providers: [garmin]',
      '    retry: { jitter: 2, maxDelayMs: soon }',
      '    config:',
      '      url: https://example.com/x',
      '      timeoutMs: ${HOOK_TIMEOUT}',
    );
    const problems = await problemsOf(text, { HOOK_TIMEOUT: '1s' });
    assert.deepEqual(
      problems.map((problem) => problem.replace(/expected one of: activity, .*$/, 'expected one of: ...')),
      [
        'acme.yaml:1:9: tenant: expected 1 to 63 lower-case letters, digits, _ or -, starting with a letter or digit',
        'acme.yaml:3:18: deadLetterTopic: the dead-letter topic is also in topics; expected a topic this tenant does not consume',
        'acme.yaml:7:5: destinations[0].colour: unknown key; expected one of: name, type, events, providers, format, fhir, batch, retry, config',
        'acme.yaml:10:11: destinations[1].name: duplicate destination name; each destination of a tenant needs its own name',
        'acme.yaml:12:24: destinations[1].events[1]: unknown Terra event type; expected one of: ...',
        'acme.yaml:14:18: destinations[1].config.directory: environment variable OUT_DIR is not set; set it, or give a default with ${OUT_DIR:-default}',
        `acme.yaml:16:11: destinations[2].type: unknown destination type; expected one of: ${knownTypes}`,
        `acme.yaml:18:5: destinations[3].type: required key is missing; expected one of: ${knownTypes}`,
        'acme.yaml:22:17: destinations[4].providers[0]: expected an upper-case provider name such as GARMIN or FITBIT',
        'acme.yaml:23:22: destinations[4].retry.jitter: expected number to be <=1',
        'acme.yaml:23:37: destinations[4].retry.maxDelayMs: expected a number, got a string',
        'acme.yaml:26:18: destinations[4].config.timeoutMs: expected a number, got a string (the ${VAR} value is not a number)',
      ],
    );
  });

  it('checks retry delays after merging tenant defaults', async () => {
    const text = yamlLines(
      'tenant: acme',
      'topics: [terra.events]',
      'deadLetterTopic: terra.events.dlq.acme',
      'defaults:',
      '  retry: { maxDelayMs: 1000 }',
      'destinations:',
      '  - name: raw',
      '    type: file',
      '    retry: { initialDelayMs: 5000 }',
      '    config: { directory: ./out }',
    );
    assert.deepEqual(await problemsOf(text), [
      'acme.yaml:9:12: destinations[0].retry: retry.maxDelayMs (with tenant defaults) is below retry.initialDelayMs; expected maxDelayMs >= initialDelayMs',
    ]);
  });

  it('needs at least one destination and one topic', async () => {
    assert.deepEqual(await problemsOf(yamlLines('tenant: acme', 'topics: []', 'deadLetterTopic: dlq', 'destinations: []')), [
      'acme.yaml:2:9: topics: expected array to have >=1 items',
      'acme.yaml:4:15: destinations: expected at least one destination',
    ]);
  });
});
