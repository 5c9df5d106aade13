import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { Writable } from 'node:stream';
import { connectorRegistry } from '../../connectors/registry.js';
import { loadWorkerWithTenants } from '../../src/config/load-config.js';
import { tenantConfigSchema, type TenantConfig, type TenantConfigInput } from '../../src/config/tenant-schema.js';
import { createLogger } from '../../src/observability/logger.js';
import { laneSpecs } from '../../src/worker/lane-spec.js';
import { planReload as planSpecs, type ReloadPlan } from '../../src/worker/reload-plan.js';
import type { LaneSpec } from '../../src/worker/lane-spec.js';
import { createTenantsLoader } from '../../src/worker/reload-tenants.js';

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

/** The plan between two tenant sets, as the worker makes it (laneSpecs, then planReload). */
function planReload(current: readonly TenantConfig[], next: readonly TenantConfig[]): ReloadPlan<LaneSpec> {
  return planSpecs(laneSpecs(current, connectorRegistry), laneSpecs(next, connectorRegistry));
}

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

  it('restarts only the lane whose batch settings changed', () => {
    const changed = tenant({ ...base, destinations: [{ name: 'lake', type: 'file', batch: { maxRecords: 50 }, config: { directory: '/tmp/lake' } }, base.destinations[1]!] });
    const plan = planReload([tenant(base)], [changed]);
    assert.deepEqual(names(plan.restarted), ['acme/lake']);
    assert.equal(plan.restarted[0]?.settings.batch.maxRecords, 50, 'the plan carries the new settings');
    assert.deepEqual(names(plan.unchanged), ['acme/app']);
  });

  it('restarts a lane whose secret changed (compared by value) and never puts the secret in the plan', () => {
    const rotated = tenant({ ...base, destinations: [base.destinations[0]!, { name: 'app', type: 'webhook', config: { url: 'https://app.example.com/terra', secret: 'two' } }] });
    const plan = planReload([tenant(base)], [rotated]);
    assert.deepEqual(names(plan.restarted), ['acme/app']);
    const printed = JSON.stringify(plan.restarted[0]?.destination);
    assert.ok(!printed.includes('"one"') && !printed.includes('"two"'), 'secrets print redacted');
  });

  it('restarts every lane of a tenant whose topics, dead-letter topic or signature check changed', () => {
    const moved = tenant({ ...base, topics: ['terra.events', 'terra.more'], source: { signature: { secret: 'signing' } } });
    const plan = planReload([tenant(base)], [moved]);
    assert.deepEqual(names(plan.restarted), ['acme/app', 'acme/lake']);
    const moved2 = tenant({ ...base, deadLetterTopic: 'terra.events.dlq2' });
    assert.deepEqual(names(planReload([tenant(base)], [moved2]).restarted), ['acme/app', 'acme/lake']);
  });

  it('starts added destinations and tenants, stops removed ones', () => {
    const other = tenant({ ...base, tenant: 'beta', destinations: [base.destinations[0]!] });
    const fewer = tenant({ ...base, destinations: [base.destinations[0]!, { name: 'audit', type: 'file', config: { directory: '/tmp/audit' } }] });
    const plan = planReload([tenant(base)], [fewer, other]);
    assert.deepEqual(names(plan.started), ['acme/audit', 'beta/lake']);
    assert.deepEqual(names(plan.stopped), ['acme/app']);
    assert.deepEqual(names(plan.unchanged), ['acme/lake']);
  });
});

describe('the tenants loader of reload', () => {
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

  function captureLogs(): { lines: string[]; logger: ReturnType<typeof createLogger> } {
    const lines: string[] = [];
    const logger = createLogger('debug', new Writable({ write(chunk: Buffer, _encoding, done) { lines.push(chunk.toString()); done(); } }));
    return { lines, logger };
  }

  it('re-reads secrets from the environment at each reload: a rotated ${VAR} restarts the lanes that use it', async () => {
    const { workerPath } = await deployment({ 'acme.yaml': { ...base, destinations: [base.destinations[0], { name: 'app', type: 'webhook', config: { url: 'https://app.example.com/terra', secret: '${APP_SECRET}' } }] } });
    const env: NodeJS.ProcessEnv = { APP_SECRET: 'first' };
    const loaded = await loadWorkerWithTenants(workerPath, env);
    assert.ok(loaded.ok);
    const load = createTenantsLoader(workerPath, loaded.value.worker, createLogger('fatal'), env);
    const same = await load();
    assert.ok(same.ok);
    assert.equal(planReload(loaded.value.tenants, same.tenants).restarted.length, 0);
    env['APP_SECRET'] = 'second';
    const rotated = await load();
    assert.ok(rotated.ok);
    assert.deepEqual(names(planReload(loaded.value.tenants, rotated.tenants).restarted), ['acme/app']);
  });

  it('an invalid file gives its problems with file:line and no tenants', async () => {
    const { dir, workerPath } = await deployment({ 'acme.yaml': base });
    const loaded = await loadWorkerWithTenants(workerPath, {});
    assert.ok(loaded.ok);
    await writeFile(join(dir, 'tenants', 'acme.yaml'), ['tenant: acme', 'topics: [terra.events]', 'deadLetterTopic: terra.events.dlq', 'destinations:', '  - name: lake', '    type: carrier-pigeon', '    config: {}', ''].join('\n'));
    const candidate = await createTenantsLoader(workerPath, loaded.value.worker, createLogger('fatal'), {})();
    assert.equal(candidate.ok, false);
    assert.ok(!candidate.ok && candidate.problems.some((problem) => problem.startsWith(`${join(dir, 'tenants', 'acme.yaml')}:6:`)), JSON.stringify(candidate));
  });

  it('logs worker-file sections that changed once (they apply at the next restart)', async () => {
    const { workerPath } = await deployment({ 'acme.yaml': base });
    const loaded = await loadWorkerWithTenants(workerPath, {});
    assert.ok(loaded.ok);
    await writeFile(workerPath, stringify({ kafka: { brokers: ['127.0.0.1:9093'] }, budgets: { laneInFlightBytes: '8MiB' } }));
    const { lines, logger } = captureLogs();
    const load = createTenantsLoader(workerPath, loaded.value.worker, logger, {});
    assert.ok((await load()).ok);
    assert.ok((await load()).ok);
    const warnings = lines.map((line) => JSON.parse(line) as { msg: string; sections?: string[] }).filter((line) => line.msg.startsWith('The worker file changed'));
    assert.equal(warnings.length, 1);
    assert.deepEqual(warnings[0]?.sections, ['budgets', 'kafka']);
  });
});
