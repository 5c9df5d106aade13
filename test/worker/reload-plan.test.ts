import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { loadWorkerWithTenants } from '../../src/config/load-config.js';
import { tenantConfigSchema, type TenantConfig, type TenantConfigInput } from '../../src/config/tenant-schema.js';
import { loadReloadPlan } from '../../src/worker/load-reload-plan.js';
import { planReload } from '../../src/worker/reload-plan.js';

function tenant(input: TenantConfigInput): TenantConfig {
  return tenantConfigSchema.parse(input);
}

const base: TenantConfigInput = {
  tenant: 'acme',
  topics: ['terra.events'],
  deadLetterTopic: 'terra.events.dlq',
  destinations: [
    { name: 'lake', type: 'file', config: { directory: '/tmp/lake' } },
    { name: 'app', type: 'webhook', config: { url: 'https://app.example.com/terra', secret: 'one' } },
  ],
};

const names = (lanes: ReadonlyArray<{ name: string }>): string[] => lanes.map((lane) => lane.name).sort();

describe('planReload', () => {
  it('leaves lanes whose resolved settings are equal alone, even when the YAML spells them differently', () => {
    const again = tenant({
      ...base,
      defaults: { batch: { maxRecords: 500 } }, // the built-in default, spelled out
      destinations: [
        { name: 'app', type: 'webhook', config: { url: 'https://app.example.com/terra', secret: 'one' } },
        { name: 'lake', type: 'file', batch: { lingerMs: 200 }, config: { directory: '/tmp/lake', fsync: true } },
      ],
    });
    const plan = planReload([tenant(base)], [again]);
    assert.deepEqual(names(plan.unchanged), ['acme/app', 'acme/lake']);
    assert.deepEqual([plan.restarted, plan.started, plan.stopped], [[], [], []]);
  });

  it('restarts only the lane whose batch settings changed, and says which part changed', () => {
    const changed = tenant({ ...base, destinations: [{ name: 'lake', type: 'file', batch: { maxRecords: 50 }, config: { directory: '/tmp/lake' } }, base.destinations[1]!] });
    const plan = planReload([tenant(base)], [changed]);
    assert.deepEqual(names(plan.restarted), ['acme/lake']);
    assert.deepEqual(plan.restarted[0]?.changed, ['batch']);
    assert.equal(plan.restarted[0]?.destination.batch?.maxRecords, 50, 'the plan carries the new config');
    assert.deepEqual(names(plan.unchanged), ['acme/app']);
  });

  it('restarts a lane whose secret changed (compared by value) and never puts the secret in the plan', () => {
    const rotated = tenant({ ...base, destinations: [base.destinations[0]!, { name: 'app', type: 'webhook', config: { url: 'https://app.example.com/terra', secret: 'two' } }] });
    const plan = planReload([tenant(base)], [rotated]);
    assert.deepEqual(names(plan.restarted), ['acme/app']);
    assert.deepEqual(plan.restarted[0]?.changed, ['config']);
    const printed = JSON.stringify(plan);
    assert.ok(!printed.includes('"one"') && !printed.includes('"two"'), 'secrets print redacted');
  });

  it('restarts every lane of a tenant whose topics, dead-letter topic or signature check changed', () => {
    const moved = tenant({ ...base, topics: ['terra.events', 'terra.more'], source: { signature: { secret: 'signing' } } });
    const plan = planReload([tenant(base)], [moved]);
    assert.deepEqual(names(plan.restarted), ['acme/app', 'acme/lake']);
    assert.deepEqual(plan.restarted[0]?.changed, ['topics', 'source']);
  });

  it('starts added destinations and tenants, stops removed ones', () => {
    const other = tenant({ ...base, tenant: 'beta', destinations: [base.destinations[0]!] });
    const fewer = tenant({ ...base, destinations: [base.destinations[0]!, { name: 'audit', type: 'file', config: { directory: '/tmp/audit' } }] });
    const plan = planReload([tenant(base)], [fewer, other]);
    assert.deepEqual(names(plan.started), ['acme/audit', 'beta/lake']);
    assert.deepEqual(plan.stopped, [{ name: 'acme/app', tenant: 'acme', destination: 'app' }]);
    assert.deepEqual(names(plan.unchanged), ['acme/lake']);
  });
});

describe('loadReloadPlan', () => {
  const dirs: string[] = [];
  after(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  async function deployment(tenants: Record<string, unknown>): Promise<{ dir: string; workerPath: string }> {
    const dir = await mkdtemp(join(tmpdir(), 'terra-fanout-reload-'));
    dirs.push(dir);
    const workerPath = join(dir, 'worker.yaml');
    await writeFile(workerPath, stringify({ kafka: { brokers: ['127.0.0.1:9092'] } }));
    await mkdir(join(dir, 'tenants'));
    for (const [name, content] of Object.entries(tenants)) await writeFile(join(dir, 'tenants', name), typeof content === 'string' ? content : stringify(content));
    return { dir, workerPath };
  }

  it('re-reads secrets from the environment: a rotated ${VAR} restarts the lanes that use it', async () => {
    const { workerPath } = await deployment({ 'acme.yaml': { ...base, destinations: [base.destinations[0], { name: 'app', type: 'webhook', config: { url: 'https://app.example.com/terra', secret: '${APP_SECRET}' } }] } });
    const loaded = await loadWorkerWithTenants(workerPath, { APP_SECRET: 'first' });
    assert.ok(loaded.ok);
    const same = await loadReloadPlan(loaded.value, { APP_SECRET: 'first' });
    assert.ok(same.ok);
    assert.equal(same.plan.restarted.length, 0);
    const rotated = await loadReloadPlan(loaded.value, { APP_SECRET: 'second' });
    assert.ok(rotated.ok);
    assert.deepEqual(names(rotated.plan.restarted), ['acme/app']);
    assert.deepEqual(rotated.workerChanged, []);
  });

  it('an invalid file gives its problems with file:line and no plan', async () => {
    const { dir, workerPath } = await deployment({ 'acme.yaml': base });
    const loaded = await loadWorkerWithTenants(workerPath, {});
    assert.ok(loaded.ok);
    await writeFile(join(dir, 'tenants', 'acme.yaml'), ['tenant: acme', 'topics: [terra.events]', 'deadLetterTopic: terra.events.dlq', 'destinations:', '  - name: lake', '    type: carrier-pigeon', '    config: {}', ''].join('\n'));
    const candidate = await loadReloadPlan(loaded.value, {});
    assert.equal(candidate.ok, false);
    assert.ok(!candidate.ok && candidate.problems.some((problem) => problem.startsWith(`${join(dir, 'tenants', 'acme.yaml')}:6:`)), JSON.stringify(candidate));
  });

  it('reports worker-file sections that changed (they apply at the next restart)', async () => {
    const { workerPath } = await deployment({ 'acme.yaml': base });
    const loaded = await loadWorkerWithTenants(workerPath, {});
    assert.ok(loaded.ok);
    await writeFile(workerPath, stringify({ kafka: { brokers: ['127.0.0.1:9093'] }, budgets: { laneInFlightBytes: '8MiB' } }));
    const candidate = await loadReloadPlan(loaded.value, {});
    assert.ok(candidate.ok);
    assert.deepEqual(candidate.workerChanged, ['budgets', 'kafka']);
    assert.equal(candidate.plan.unchanged.length, 2);
  });
});
