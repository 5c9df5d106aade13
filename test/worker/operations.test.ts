import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { connectorRegistry } from '../../connectors/registry.js';
import { workerConfigSchema } from '../../src/config/worker-schema.js';
import { createKafkaClient } from '../../src/kafka/kafka-client.js';
import { startHttpServer } from '../../src/observability/http-server.js';
import { createLogger } from '../../src/observability/logger.js';
import { createOperations } from '../../src/worker/operations.js';
import { createFakeWorkerControl, laneStatus } from '../support/fake-worker-control.js';
import { waitFor } from '../support/worker-files.js';

const token = 'operations-token-0123456789';
const logger = createLogger('fatal');

describe('the operations surface of a worker', () => {
  const dirs: string[] = [];
  after(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('answers 503 until attached, then serves the admin API and reloads when a tenant file changes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'terra-fanout-ops-'));
    dirs.push(dir);
    await writeFile(join(dir, 'acme.yaml'), 'tenant: acme\n');
    const worker = workerConfigSchema.parse({
      kafka: { brokers: ['127.0.0.1:9'] },
      tenants: { dir, debounceMs: 100 },
      admin: { enabled: true, token },
    });
    const registry = new Registry();
    const ops = createOperations({ worker, registry, logger });
    const http = await startHttpServer({ host: '127.0.0.1', port: 0, registry, health: { notReady: () => [] }, extraRoutes: ops.routes });
    try {
      const lanes = (): Promise<Response> => fetch(`${http.url}/admin/lanes`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal((await lanes()).status, 503);
      await assert.rejects(ops.reload('too early'), /starting/);

      const control = createFakeWorkerControl([laneStatus({ tenant: 'acme', destination: 'lake' })], ops.tap);
      ops.attach(control, { deadLetters: { kafka: createKafkaClient(worker.kafka, logger), worker: () => worker, tenant: () => undefined, connectors: connectorRegistry, logger }, watch: true });
      assert.equal((await lanes()).status, 200);

      await ops.reload('SIGHUP');
      assert.deepEqual(control.reloadReasons, ['SIGHUP']);
      // The watcher takes its first look asynchronously; a change made after that is reported.
      assert.ok(await waitFor(async () => {
        await writeFile(join(dir, 'acme.yaml'), `tenant: acme\n# ${Date.now()}\n`);
        return control.reloadReasons.length > 1;
      }, 20_000, 500), 'a changed tenant file reloads');
      assert.match(control.reloadReasons[1] ?? '', /tenants folder changed/);
      assert.match(await registry.metrics(), /terra_fanout_config_reloads_total\{outcome="unchanged"\} [2-9]/);

      await ops.close();
      const seen = control.reloadReasons.length;
      await writeFile(join(dir, 'acme.yaml'), 'tenant: acme\n# after close\n');
      assert.equal(await waitFor(() => control.reloadReasons.length > seen, 1500), false, 'no reload after close');
    } finally {
      await http.close();
    }
  });

  it('answers 404 on /admin when the admin API is off, and leaves other routes alone', async () => {
    const worker = workerConfigSchema.parse({ kafka: { brokers: ['127.0.0.1:9'] }, tenants: { watch: false } });
    const registry = new Registry();
    const ops = createOperations({ worker, registry, logger });
    const http = await startHttpServer({ host: '127.0.0.1', port: 0, registry, health: { notReady: () => [] }, extraRoutes: ops.routes });
    try {
      assert.equal((await fetch(`${http.url}/admin/lanes`)).status, 404);
      ops.attach(createFakeWorkerControl([], ops.tap), { deadLetters: { kafka: createKafkaClient(worker.kafka, logger), worker: () => worker, tenant: () => undefined, connectors: connectorRegistry, logger }, watch: worker.tenants.watch });
      assert.equal((await fetch(`${http.url}/admin/lanes`, { headers: { authorization: 'Bearer anything-long-enough' } })).status, 404);
      assert.equal((await fetch(`${http.url}/healthz`)).status, 200);
      assert.match(await (await fetch(`${http.url}/metrics`)).text(), /terra_fanout_config_problems/);
    } finally {
      await ops.close();
      await http.close();
    }
  });
});
