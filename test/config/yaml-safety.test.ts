import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadTenantFile, loadWorkerFile } from '../../src/config/load-config.js';
import { formatted, removeConfigFiles, tenantWith, writeConfigFiles, yamlLines } from './config-files.js';

after(removeConfigFiles);

describe('YAML safety', () => {
  it('rejects alias expansion bombs before building the data', async () => {
    const dir = await writeConfigFiles({
      'worker.yaml': yamlLines(
        'a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x"]',
        'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]',
        'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]',
        'd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]',
        'e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]',
        'f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]',
        'g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]',
        'kafka: { brokers: [k:9092] }',
      ),
    });
    const loaded = await loadWorkerFile(join(dir, 'worker.yaml'), {});
    assert.ok(!loaded.ok);
    assert.deepEqual(formatted(loaded.problems, dir), [
      'worker.yaml:2:8: aliases expand to too much data (more than 50 expansions, as in a YAML bomb); expected fewer or smaller aliases',
    ]);
  });

  it('still allows a few aliases and merge keys for shared settings', async () => {
    const dir = await writeConfigFiles({
      'acme.yaml': tenantWith(
        '  - name: a',
        '    type: file',
        '    retry: &patient { initialDelayMs: 1000, maxAttempts: null }',
        '    config: &out { directory: ./out }',
        '  - name: b',
        '    type: file',
        '    retry: { <<: *patient, maxAttempts: 3 }',
        '    config: *out',
      ),
    });
    const loaded = await loadTenantFile(join(dir, 'acme.yaml'), {});
    assert.ok(loaded.ok, loaded.ok ? '' : formatted(loaded.problems, dir).join('\n'));
    assert.deepEqual(loaded.value.destinations[1]?.retry, { initialDelayMs: 1000, maxAttempts: 3 });
  });

  it('does not execute or construct tagged values (!!js/function, !!binary, custom tags)', async () => {
    const dir = await writeConfigFiles({
      'worker.yaml': yamlLines(
        'kafka:',
        '  brokers: [k:9092]',
        '  clientId: !!js/function "function () { globalThis.pwned = true; return \'x\' }"',
        'http:',
        '  host: !!binary aGVsbG8=',
        'log: !include other.yaml',
      ),
    });
    const loaded = await loadWorkerFile(join(dir, 'worker.yaml'), {});
    assert.ok(!loaded.ok);
    assert.equal(Reflect.get(globalThis, 'pwned'), undefined);
    assert.deepEqual(formatted(loaded.problems, dir), [
      'worker.yaml:3:13: unsupported YAML tag; config files allow only plain YAML values (no !tags)',
      'worker.yaml:5:9: unsupported YAML tag; config files allow only plain YAML values (no !tags)',
      'worker.yaml:6:6: unsupported YAML tag; config files allow only plain YAML values (no !tags)',
    ]);
  });

  it('rejects duplicate keys', async () => {
    const dir = await writeConfigFiles({ 'worker.yaml': yamlLines('kafka:', '  brokers: [k:9092]', 'kafka:', '  brokers: [j:9092]') });
    const loaded = await loadWorkerFile(join(dir, 'worker.yaml'), {});
    assert.ok(!loaded.ok);
    assert.deepEqual(formatted(loaded.problems, dir), ['worker.yaml:3:1: duplicate key; each key may appear once in a mapping']);
  });

  it('keeps an environment value a plain string, even when it looks like YAML', async () => {
    const dir = await writeConfigFiles({ 'worker.yaml': yamlLines('kafka:', '  brokers: [k:9092]', '  clientId: ${CLIENT_ID}') });
    const loaded = await loadWorkerFile(join(dir, 'worker.yaml'), { CLIENT_ID: 'x\nsasl: { mechanism: plain }\n*alias' });
    assert.ok(loaded.ok);
    assert.equal(loaded.value.kafka.clientId, 'x\nsasl: { mechanism: plain }\n*alias');
    assert.equal(loaded.value.kafka.sasl, undefined);
  });

  it('does not interpolate keys', async () => {
    const dir = await writeConfigFiles({ 'worker.yaml': yamlLines('kafka:', '  brokers: [k:9092]', '  ${KEY}: 1') });
    const loaded = await loadWorkerFile(join(dir, 'worker.yaml'), { KEY: 'groupPrefix' });
    assert.ok(!loaded.ok);
    assert.deepEqual(
      formatted(loaded.problems, dir).map((problem) => problem.replace(/; expected one of: .*$/, '')),
      ['worker.yaml:3:3: kafka["${KEY}"]: unknown key'],
    );
  });

  it('writes $${ as a literal ${ in a loaded value', async () => {
    const dir = await writeConfigFiles({ 'worker.yaml': yamlLines('kafka:', '  brokers: ["${BROKER:-k:9092}"]', '  clientId: "fanout-$${NOT_A_VAR}"') });
    const loaded = await loadWorkerFile(join(dir, 'worker.yaml'), { NOT_A_VAR: 'no' });
    assert.ok(loaded.ok);
    assert.equal(loaded.value.kafka.clientId, 'fanout-${NOT_A_VAR}');
    assert.deepEqual(loaded.value.kafka.brokers, ['k:9092']);
  });
});
