import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { listTenantFiles } from '../../src/config/load-config.js';
import { createLogger } from '../../src/observability/logger.js';
import { tenantsDigest, watchTenantsFolder } from '../../src/reload/tenants-watcher.js';
import { waitFor } from '../support/worker-files.js';

const quiet = createLogger('fatal');

describe('tenants folder watcher', () => {
  const dirs: string[] = [];
  after(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });
  const scratch = async (): Promise<string> => {
    const dir = await mkdtemp(join(tmpdir(), 'terra-fanout-watch-'));
    dirs.push(dir);
    return dir;
  };

  it('reports changed tenant files after a burst of writes settles; rewriting the same bytes or another kind of file changes nothing', async () => {
    const dir = await scratch();
    await writeFile(join(dir, 'acme.yaml'), 'tenant: acme\n');
    const reasons: string[] = [];
    const watcher = watchTenantsFolder({ dir, debounceMs: 500, rescanIntervalMs: 60_000, logger: quiet, onChange: (reason) => reasons.push(reason) });
    try {
      await watcher.ready;
      for (let index = 0; index < 5; index += 1) await writeFile(join(dir, 'acme.yaml'), `tenant: acme\n# edit ${index}\n`);
      assert.ok(await waitFor(() => reasons.length > 0, 10_000), 'the change was seen');
      assert.ok(reasons.length < 5, `the burst was debounced (${reasons.length} reports for 5 writes)`);
      const seen = reasons.length;
      const digest = await tenantsDigest(dir);
      await writeFile(join(dir, 'acme.yaml'), 'tenant: acme\n# edit 4\n');
      await writeFile(join(dir, 'notes.txt'), 'not yaml');
      assert.equal(await tenantsDigest(dir), digest, 'same bytes and non-tenant files leave the digest alone');
      await writeFile(join(dir, 'beta.yml'), 'tenant: beta\n');
      assert.ok(await waitFor(() => reasons.length === seen + 1, 10_000), 'the new tenant file was seen once');
      assert.ok(reasons.every((reason) => reason === 'tenants folder changed'));
    } finally {
      watcher.close();
    }
  });

  it('sees a ConfigMap-style symlink swap through the periodic rescan when no file event arrives', async () => {
    // Kubernetes mounts a ConfigMap as links: acme.yaml -> ..data/acme.yaml, ..data -> ..2026_v1; an update swaps ..data.
    const dir = await scratch();
    await mkdir(join(dir, '..v1'));
    await writeFile(join(dir, '..v1', 'acme.yaml'), 'tenant: acme\n');
    await symlink('..v1', join(dir, '..data'));
    await symlink(join('..data', 'acme.yaml'), join(dir, 'acme.yaml'));
    assert.deepEqual(await listTenantFiles(dir), ['acme.yaml'], 'linked tenant files are tenant files');
    const before = await tenantsDigest(dir);

    const reasons: string[] = [];
    // A debounce longer than the test: only the rescan can report within it.
    const watcher = watchTenantsFolder({ dir, debounceMs: 60_000, rescanIntervalMs: 1000, logger: quiet, onChange: (reason) => reasons.push(reason) });
    try {
      await watcher.ready;
      await mkdir(join(dir, '..v2'));
      await writeFile(join(dir, '..v2', 'acme.yaml'), 'tenant: acme\nchanged: true\n');
      await symlink('..v2', join(dir, '..data_tmp'));
      await rename(join(dir, '..data_tmp'), join(dir, '..data'));
      assert.notEqual(await tenantsDigest(dir), before);
      assert.ok(await waitFor(() => reasons.length > 0, 10_000), 'the rescan saw the swap');
      assert.deepEqual(reasons, ['tenants folder changed (periodic rescan)']);
    } finally {
      watcher.close();
    }
  });
});
