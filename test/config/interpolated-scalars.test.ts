/** `${VAR}` in number and boolean fields, and "did you mean" for unknown keys. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadTenantFile, loadWorkerFile } from '../../src/config/load-config.js';
import { suggestKey } from '../../src/config/strict-object.js';
import { formatted, removeConfigFiles, tenantWith, writeConfigFiles, yamlLines } from './config-files.js';

after(removeConfigFiles);

const worker = yamlLines(
  'kafka:',
  '  brokers: [127.0.0.1:9092]',
  '  fromBeginning: ${FROM_BEGINNING}',
  '  librdkafkaMockCompat: ${MOCK:-false}',
  'http:',
  '  port: ${PORT}',
  'shutdown:',
  '  drainTimeoutMs: ${DRAIN_MS:-15000}',
  's3Payload:',
  '  allowHttp: ${ALLOW_HTTP}',
);

async function loadWorker(env: NodeJS.ProcessEnv) {
  const dir = await writeConfigFiles({ 'worker.yaml': worker });
  return { dir, loaded: await loadWorkerFile(join(dir, 'worker.yaml'), env) };
}

describe('${VAR} in number and boolean fields', () => {
  it('reads numbers and booleans from the environment, as YAML would read them in the file', async () => {
    const { loaded } = await loadWorker({ FROM_BEGINNING: 'False', PORT: ' 9465 ', ALLOW_HTTP: 'TRUE' });
    assert.ok(loaded.ok, JSON.stringify(!loaded.ok && loaded.problems));
    assert.equal(loaded.value.kafka.fromBeginning, false);
    assert.equal(loaded.value.kafka.librdkafkaMockCompat, false, 'from the default after :-');
    assert.equal(loaded.value.http.port, 9465);
    assert.equal(loaded.value.shutdown.drainTimeoutMs, 15000);
    assert.equal(loaded.value.s3Payload.allowHttp, true);
  });

  it('gives the field its own error when the value is no number or boolean, or breaks the field\'s rules', async () => {
    const { dir, loaded } = await loadWorker({ FROM_BEGINNING: 'yes-please', PORT: '99999', DRAIN_MS: '2.5s', ALLOW_HTTP: '1' });
    assert.ok(!loaded.ok);
    assert.deepEqual(formatted(loaded.problems, dir), [
      'worker.yaml:3:18: kafka.fromBeginning: expected true or false, got a string (the ${VAR} value is not true or false)',
      'worker.yaml:6:9: http.port: expected number to be <=65535',
      'worker.yaml:8:19: shutdown.drainTimeoutMs: expected a number, got a string (the ${VAR} value is not a number)',
      'worker.yaml:10:14: s3Payload.allowHttp: expected true or false, got a string (the ${VAR} value is not true or false)',
    ]);
    assert.ok(!JSON.stringify(loaded.problems).includes('yes-please'), 'the value itself is never repeated');
  });

  it('a whole number field still refuses a fraction from the environment', async () => {
    const { dir, loaded } = await loadWorker({ FROM_BEGINNING: 'true', PORT: '80.5', ALLOW_HTTP: 'false' });
    assert.ok(!loaded.ok);
    assert.deepEqual(formatted(loaded.problems, dir), ['worker.yaml:6:9: http.port: expected a whole number, got a number']);
  });

  it('leaves strings alone: a numeric secret stays a string, and a number written in quotes stays an error', async () => {
    const dir = await writeConfigFiles({
      'acme.yaml': tenantWith(
        '  - name: hook',
        '    type: webhook',
        '    batch: { maxRecords: "${MAX_RECORDS}" }',
        '    retry: { maxAttempts: "${ATTEMPTS}" }',
        '    config:',
        '      url: https://example.com/terra',
        '      secret: ${HOOK_SECRET}',
        '      timeoutMs: "5000"',
      ),
    });
    const loaded = await loadTenantFile(join(dir, 'acme.yaml'), { HOOK_SECRET: '12345678', MAX_RECORDS: '250', ATTEMPTS: '7' });
    assert.ok(!loaded.ok);
    // The quoted literal is the author's string; only values from references are read as numbers.
    assert.deepEqual(formatted(loaded.problems, dir), ['acme.yaml:12:18: destinations[0].config.timeoutMs: expected a number, got a string']);

    const fixed = await writeConfigFiles({
      'acme.yaml': tenantWith('  - name: hook', '    type: webhook', '    batch: { maxRecords: "${MAX_RECORDS}" }', '    retry: { maxAttempts: "${ATTEMPTS}" }', '    config:', '      url: https://example.com/terra', '      secret: ${HOOK_SECRET}'),
    });
    const good = await loadTenantFile(join(fixed, 'acme.yaml'), { HOOK_SECRET: '12345678', MAX_RECORDS: '250', ATTEMPTS: '7' });
    assert.ok(good.ok, JSON.stringify(!good.ok && good.problems));
    const destination = good.value.destinations[0];
    assert.equal(destination?.batch?.maxRecords, 250);
    assert.equal(destination?.retry?.maxAttempts, 7);
    const config = destination?.config as { secret?: { reveal(): string } } | undefined;
    assert.equal(config?.secret?.reveal(), '12345678', 'the secret is still the string it was');
  });
});

describe('unknown keys', () => {
  it('suggests the key that was probably meant', async () => {
    const dir = await writeConfigFiles({ 'worker.yaml': yamlLines('kafka:', '  brokers: [127.0.0.1:9092]', '  groupprefix: x', '  sesionTimeoutMs: 1', 'htpp: {}', 'colour: blue') });
    const loaded = await loadWorkerFile(join(dir, 'worker.yaml'), {});
    assert.ok(!loaded.ok);
    const lines = formatted(loaded.problems, dir).map((line) => line.replace(/ expected one of: .*$/, ''));
    assert.deepEqual(lines, [
      'worker.yaml:3:3: kafka.groupprefix: unknown key; did you mean "groupPrefix"?',
      'worker.yaml:4:3: kafka.sesionTimeoutMs: unknown key; did you mean "sessionTimeoutMs"?',
      'worker.yaml:5:1: htpp: unknown key; did you mean "http"?',
      'worker.yaml:6:1: colour: unknown key;',
    ]);
  });

  it('suggests inside connector configs too', async () => {
    const dir = await writeConfigFiles({ 'acme.yaml': tenantWith('  - name: files', '    type: file', '    config:', '      directory: /tmp/x', '      fsnyc: false') });
    const loaded = await loadTenantFile(join(dir, 'acme.yaml'), {});
    assert.ok(!loaded.ok);
    assert.match(formatted(loaded.problems, dir)[0] ?? '', /destinations\[0\]\.config\.fsnyc: unknown key; did you mean "fsync"\? expected one of: directory, fsync/);
  });

  it('suggests only what is close', () => {
    assert.equal(suggestKey('brokerz', ['brokers', 'clientId']), 'brokers');
    assert.equal(suggestKey('CLIENTID', ['brokers', 'clientId']), 'clientId');
    assert.equal(suggestKey('ssl', ['sasl', 'brokers']), 'sasl');
    assert.equal(suggestKey('tls', ['sasl', 'ssl']), null, 'two edits on a short key is a different word');
    assert.equal(suggestKey('timeout', ['brokers']), null);
    assert.equal(suggestKey('x', []), null);
  });
});
