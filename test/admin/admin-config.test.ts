import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadWorkerFile } from '../../src/config/load-config.js';
import { formatted, removeConfigFiles, writeConfigFiles, yamlLines } from '../config/config-files.js';

after(removeConfigFiles);

describe('admin and reload settings in the worker file', () => {
  it('an enabled admin API needs a token of at least 16 characters, reported at its line', async () => {
    const dir = await writeConfigFiles({
      'none.yaml': yamlLines('kafka:', '  brokers: [127.0.0.1:9092]', 'admin:', '  enabled: true'),
      'short.yaml': yamlLines('kafka:', '  brokers: [127.0.0.1:9092]', 'admin:', '  enabled: true', '  token: "${ADMIN_TOKEN}"'),
    });
    const none = await loadWorkerFile(join(dir, 'none.yaml'), {});
    assert.equal(none.ok, false);
    assert.deepEqual(formatted(none.ok ? [] : none.problems, dir), ['none.yaml:4:3: admin.token: required key is missing; needed while the admin API is enabled; expected token: ${SOME_ENV_VAR} with at least 16 characters']);
    const short = await loadWorkerFile(join(dir, 'short.yaml'), { ADMIN_TOKEN: 'too-short' });
    assert.equal(short.ok, false);
    const problems = formatted(short.ok ? [] : short.problems, dir);
    assert.deepEqual(problems, ['short.yaml:5:10: admin.token: expected a token of at least 16 characters']);
    assert.ok(!problems.join().includes('too-short'), 'the token never appears in a problem');
  });

  it('a token from the environment parses to a secret; reload settings have bounds', async () => {
    const dir = await writeConfigFiles({
      'ok.yaml': yamlLines('kafka:', '  brokers: [127.0.0.1:9092]', 'admin:', '  enabled: true', '  token: "${ADMIN_TOKEN}"', 'tenants:', '  watch: false', '  rescanIntervalMs: 5000'),
      'bad.yaml': yamlLines('kafka:', '  brokers: [127.0.0.1:9092]', 'tenants:', '  rescanIntervalMs: 10', '  debounceMs: -1'),
    });
    const ok = await loadWorkerFile(join(dir, 'ok.yaml'), { ADMIN_TOKEN: 'a-long-enough-admin-token' });
    assert.ok(ok.ok);
    assert.equal(ok.value.admin.token?.reveal(), 'a-long-enough-admin-token');
    assert.equal(String(ok.value.admin.token), '[redacted]');
    assert.deepEqual([ok.value.tenants.watch, ok.value.tenants.rescanIntervalMs, ok.value.tenants.debounceMs], [false, 5000, 1000]);
    const bad = await loadWorkerFile(join(dir, 'bad.yaml'), {});
    assert.equal(bad.ok, false);
    assert.deepEqual(formatted(bad.ok ? [] : bad.problems, dir).map((problem) => problem.split(':').slice(0, 4).join(':')), ['bad.yaml:4:21: tenants.rescanIntervalMs', 'bad.yaml:5:15: tenants.debounceMs']);
  });
});
