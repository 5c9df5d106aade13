/**
 * Holding a lane for a move of its offsets (what every worker process does for the primary of
 * `run --processes`): drained and stopped until released, a reload meanwhile does not start it,
 * and a hold nobody releases ends by itself.
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadWorkerWithTenants } from '../../src/config/load-config.js';
import type { TenantConfig } from '../../src/config/tenant-schema.js';
import { createLogger } from '../../src/observability/logger.js';
import { startWorker } from '../../src/worker/worker.js';
import { uniqueName, useKafkaBroker } from '../support/kafka.js';
import { activityEvent, listFiles, useCleanups, waitFor, writeWorkerFiles } from '../support/worker-files.js';

const kafka = useKafkaBroker();

describe('a lane held for a move of its offsets', () => {
  const cleanups = useCleanups();

  it('stays stopped while held (also across a reload that changes it), runs again when released, and a forgotten hold ends by itself', async () => {
    const topic = uniqueName('hold');
    const { dir, workerPath } = await writeWorkerFiles({
      brokers: kafka.brokers,
      tenants: [{ tenant: 'acme', topics: [topic], deadLetterTopic: `${topic}.dlq`, destinations: [{ name: 'files', type: 'file', batch: { lingerMs: 20 }, config: { directory: '${OUT_DIR}' } }] }],
      worker: { tenants: { dir: 'tenants', watch: false } },
    });
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const out = join(dir, 'out');
    const loaded = await loadWorkerWithTenants(workerPath, { ...process.env, OUT_DIR: out });
    assert.ok(loaded.ok, loaded.ok ? '' : JSON.stringify(loaded.problems));
    const worker = await startWorker(loaded.value, { logger: createLogger('warn'), httpPort: 0 });
    cleanups.push(() => worker.stop());
    const written = async (): Promise<number> => (await listFiles(out)).length;
    const produce = (from: number, count: number) => kafka.produce(topic, Array.from({ length: count }, (_, index) => ({ key: 'u', value: JSON.stringify(activityEvent('u', from + index)) })));
    const laneNames = async (): Promise<string[]> => (await worker.control.lanes()).lanes.map((lane) => `${lane.tenant}/${lane.destination}`);

    await produce(0, 3);
    assert.ok(await waitFor(async () => (await written()) === 3, 60_000), 'the lane runs');

    await worker.holdLane('acme', 'files', 600_000);
    assert.deepEqual(await laneNames(), [], 'held: not running');
    await produce(3, 3);
    // A reload that changes the held lane updates what it will run with, and does not start it.
    const changed: TenantConfig[] = loaded.value.tenants.map((tenant) => ({ ...tenant, destinations: tenant.destinations.map((destination) => ({ ...destination, batch: { ...destination.batch, maxRecords: 7 } })) }));
    const reload = await worker.apply(changed);
    assert.deepEqual(reload.restarted, ['acme/files']);
    assert.deepEqual(await laneNames(), [], 'still held after the reload');
    assert.equal(await written(), 3, 'nothing delivered while held');

    const released = worker.releaseLane('acme', 'files');
    assert.equal(released.destination, 'files');
    assert.ok(await waitFor(async () => (await written()) === 6, 60_000), 'released: delivers what waited');

    await worker.holdLane('acme', 'files', 1_000);
    assert.deepEqual(await laneNames(), []);
    await produce(6, 2);
    assert.ok(await waitFor(async () => (await laneNames()).length === 1 && (await written()) === 8, 60_000), 'a hold nobody released ended by itself');
  });
});
