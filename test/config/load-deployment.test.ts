import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { connectorRegistry } from '../../connectors/registry.js';
import { loadWorkerWithTenants, validatePaths } from '../../src/config/load-config.js';
import { formatted, removeConfigFiles, tenantWith, writeConfigFiles, yamlLines } from './config-files.js';

after(removeConfigFiles);

/** The destination types the problems list, in registry order. */
const knownTypes = connectorRegistry.map((connector) => connector.type).join(', ');

const worker = yamlLines('kafka:', '  brokers: [k:9092]', 'tenants:', '  dir: tenants');
const fileDestination = ['  - name: raw', '    type: file', '    config: { directory: ./out }'];

describe('loadWorkerWithTenants', () => {
  it('loads the worker and every tenant file in its tenants folder', async () => {
    const dir = await writeConfigFiles({
      'worker.yaml': worker,
      'tenants/b.yml': tenantWith(...fileDestination).replace('tenant: acme', 'tenant: beta'),
      'tenants/a.yaml': tenantWith(...fileDestination),
      'tenants/notes.txt': 'not config',
    });
    const loaded = await loadWorkerWithTenants(join(dir, 'worker.yaml'), {});
    assert.ok(loaded.ok, loaded.ok ? '' : formatted(loaded.problems, dir).join('\n'));
    assert.deepEqual(
      loaded.value.tenants.map((tenant) => tenant.tenant),
      ['acme', 'beta'],
    );
    assert.deepEqual(loaded.value.tenantFiles, [join(dir, 'tenants/a.yaml'), join(dir, 'tenants/b.yml')]);
    assert.equal(loaded.value.workerPath, join(dir, 'worker.yaml'));
    assert.equal(loaded.value.worker.tenants.dir, join(dir, 'tenants'));
  });

  it('reports the problems of every file at once, and duplicate tenant names', async () => {
    const dir = await writeConfigFiles({
      'worker.yaml': yamlLines('kafka:', '  brokers: []', 'tenants:', '  dir: tenants'),
      'tenants/a.yaml': tenantWith(...fileDestination),
      'tenants/b.yaml': tenantWith(...fileDestination),
      'tenants/c.yaml': tenantWith('  - name: raw', '    type: nope', '    config: {}'),
    });
    const loaded = await loadWorkerWithTenants(join(dir, 'worker.yaml'), {});
    assert.ok(!loaded.ok);
    assert.deepEqual(formatted(loaded.problems, dir), [
      'worker.yaml:2:12: kafka.brokers: expected array to have >=1 items',
      'tenants/b.yaml:1:9: tenant: tenant name already used by a.yaml; expected one file per tenant',
      `tenants/c.yaml:6:11: destinations[0].type: unknown destination type; expected one of: ${knownTypes}`,
    ]);
  });

  it('reports a missing or empty tenants folder at tenants.dir', async () => {
    const missing = await writeConfigFiles({ 'worker.yaml': worker });
    const loadedMissing = await loadWorkerWithTenants(join(missing, 'worker.yaml'), {});
    assert.ok(!loadedMissing.ok);
    assert.deepEqual(formatted(loadedMissing.problems, missing), [
      'worker.yaml:4:8: tenants.dir: the tenants folder does not exist; expected a readable folder of tenant files (relative paths start at the worker file)',
    ]);

    const empty = await writeConfigFiles({ 'worker.yaml': worker, 'tenants/README.md': 'no tenants yet' });
    const loadedEmpty = await loadWorkerWithTenants(join(empty, 'worker.yaml'), {});
    assert.ok(!loadedEmpty.ok);
    assert.deepEqual(formatted(loadedEmpty.problems, empty), ['worker.yaml:4:8: tenants.dir: the tenants folder has no tenant files; expected at least one *.yaml or *.yml file']);
  });
});

describe('validatePaths', () => {
  it('tells worker and tenant files apart, recursing into folders', async () => {
    const dir = await writeConfigFiles({
      'worker.yaml': worker,
      'tenants/a.yaml': tenantWith(...fileDestination),
      'nested/deeper/bad.yml': tenantWith('  - name: raw', '    type: file', '    config: {}'),
      'other.yaml': yamlLines('name: something else'),
      'ignored.json': '{}',
    });
    const result = await validatePaths([dir, join(dir, 'worker.yaml')], {});
    assert.deepEqual(
      result.checked.map((file) => file.replace(`${dir}/`, '')),
      ['nested/deeper/bad.yml', 'other.yaml', 'tenants/a.yaml', 'worker.yaml'],
    );
    assert.deepEqual(formatted(result.problems, dir), [
      'nested/deeper/bad.yml:7:13: destinations[0].config.directory: required key is missing; expected a string',
      'other.yaml:1:1: not a terra-fanout config file; expected a worker file (with `kafka`) or a tenant file (with `tenant` and `destinations`)',
    ]);
  });

  it('reports a path that does not exist', async () => {
    const result = await validatePaths(['/nonexistent/terra-fanout'], {});
    assert.deepEqual(result.checked, []);
    assert.deepEqual(formatted(result.problems, ''), ['/nonexistent/terra-fanout: not found; expected a config file or a folder of them']);
  });
});
