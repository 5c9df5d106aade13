import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import { adminEvents, type ServerSentEvent } from '../../src/cli/admin-client.js';
import { loadWorkerWithTenants } from '../../src/config/load-config.js';
import { createLogger } from '../../src/observability/logger.js';
import type { LaneStatus, TapEvent } from '../../src/worker/worker-control.js';
import { createTenantsLoader } from '../../src/worker/reload-tenants.js';
import { startWorker } from '../../src/worker/worker.js';
import { runCli } from '../support/cli-process.js';
import { uniqueName, useKafkaBroker } from '../support/kafka.js';
import { startWebhookReceiver } from '../support/webhook-receiver.js';
import { activityEvent, listFiles, useCleanups, waitFor, writeWorkerFiles } from '../support/worker-files.js';

const kafka = useKafkaBroker();
const token = 'real-worker-admin-token-0123';

describe('admin API of a running worker', () => {
  const cleanups = useCleanups();

  it('lists real lanes, taps delivered records, pauses a lane (ready, deliberate, kept across a reload) and resumes it; status prints the table', async () => {
    const receiver = await startWebhookReceiver();
    cleanups.push(() => receiver.close());
    const topic = uniqueName('events');
    const tenant = (hookBatch: number): Record<string, unknown> => ({
      tenant: 'acme',
      topics: [topic],
      deadLetterTopic: `${topic}.dlq`,
      destinations: [
        { name: 'hook', type: 'webhook', batch: { lingerMs: 20, maxRecords: hookBatch }, config: { url: `${receiver.url}/hook` } },
        { name: 'files', type: 'file', batch: { lingerMs: 20 }, config: { directory: '${OUT_DIR}' } },
      ],
    });
    const { dir, workerPath } = await writeWorkerFiles({
      brokers: kafka.brokers,
      tenants: [tenant(100)],
      worker: { admin: { enabled: true, token: '${ADMIN_TOKEN}' }, tenants: { dir: 'tenants', watch: false } },
    });
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const out = join(dir, 'out');
    const env = { ...process.env, ADMIN_TOKEN: token, OUT_DIR: out };
    const loaded = await loadWorkerWithTenants(workerPath, env);
    assert.ok(loaded.ok, loaded.ok ? '' : JSON.stringify(loaded.problems));
    const logger = createLogger('warn');
    const worker = await startWorker(loaded.value, { logger, httpPort: 0, loadTenants: createTenantsLoader(workerPath, loaded.value.worker, logger, env) });
    cleanups.push(() => worker.stop());
    const url = worker.http.url;
    const call = (method: string, path: string, body?: unknown): Promise<Response> =>
      fetch(`${url}${path}`, { method, headers: { authorization: `Bearer ${token}`, 'x-operator': 'alice', 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }), signal: AbortSignal.timeout(60_000) });
    const lanes = async (): Promise<LaneStatus[]> => ((await (await call('GET', '/admin/lanes')).json()) as { lanes: LaneStatus[] }).lanes;
    const hookLane = async (): Promise<LaneStatus | undefined> => (await lanes()).find((lane) => lane.destination === 'hook');
    const hooked = (): number => receiver.requests.filter((request) => request.path === '/hook' && !request.body.includes('"healthcheck"')).length;

    assert.ok(await waitFor(async () => (await fetch(`${url}/readyz`)).status === 200, 30_000), 'lanes ready');
    const listed = await lanes();
    assert.deepEqual(listed.map((lane) => [lane.destination, lane.connector, lane.state]).sort(), [['files', 'file', 'running'], ['hook', 'webhook', 'running']]);
    assert.equal((await fetch(`${url}/admin/lanes`)).status, 401, 'the token is required');

    // Tap the hook lane while five events are delivered.
    const stop = new AbortController();
    const tapped: ServerSentEvent[] = [];
    const reading = (async () => {
      for await (const message of adminEvents({ url, token, operator: 'alice', timeoutMs: 10_000 }, '/admin/tap?destination=hook', stop.signal)) {
        tapped.push(message);
        if (tapped.filter((item) => item.event === 'tap').length === 5) stop.abort();
      }
    })();
    assert.ok(await waitFor(() => worker.control.tap.wants('acme', 'hook'), 10_000), 'the tap subscribed');
    const events = Array.from({ length: 10 }, (_, index) => activityEvent(`u-${index % 3}`, index));
    await kafka.produce(topic, events.slice(0, 5).map((event, index) => ({ key: String(index % 3), value: JSON.stringify(event) })));
    await reading;
    const records = tapped.filter((item) => item.event === 'tap').map((item) => JSON.parse(item.data) as TapEvent);
    assert.equal(records.length, 5);
    for (const record of records) {
      assert.deepEqual([record.tenant, record.destination, record.outcome, record.type, record.source.topic], ['acme', 'hook', 'delivered', 'activity', topic]);
      assert.ok(record.identity !== null && record.body === undefined, 'identity, and no body unless asked');
    }
    assert.ok(await waitFor(() => hooked() === 5, 30_000));

    // Pause the hook lane: deliberate, still ready, and it delivers nothing while the file lane goes on.
    const paused = await call('POST', '/admin/lanes/acme/hook/pause');
    assert.equal(paused.status, 200);
    assert.equal((await hookLane())?.state, 'paused');
    assert.equal((await hookLane())?.pausedByOperator?.by, 'alice');
    const ready = await fetch(`${url}/readyz`);
    assert.equal(ready.status, 200, 'an operator pause is not unreadiness');
    assert.match(await ready.text(), /acme\/hook/);
    assert.match(await (await fetch(`${url}/metrics`)).text(), /terra_fanout_lane_paused\{tenant="acme",destination="hook"[^}]*\} 1/);
    await kafka.produce(topic, events.slice(5).map((event, index) => ({ key: String(index % 3), value: JSON.stringify(event) })));
    assert.ok(await waitFor(async () => (await listFiles(out)).length === 10, 30_000), 'the file lane delivered all ten');
    assert.equal(hooked(), 5, 'the paused lane delivered nothing more');

    // A reload that restarts the paused lane keeps it paused.
    await writeFile(join(dir, 'tenants', 'acme.yaml'), stringify(tenant(50)));
    const reload = await call('POST', '/admin/reload');
    assert.equal(reload.status, 200);
    const result = ((await reload.json()) as { result: { restarted: string[]; unchanged: string[] } }).result;
    assert.deepEqual([result.restarted, result.unchanged], [['acme/hook'], ['acme/files']]);
    assert.equal((await hookLane())?.pausedByOperator?.by, 'alice', 'the operator pause survived the restart');
    assert.ok(await waitFor(async () => (await hookLane())?.state === 'paused', 30_000), 'the restarted lane checked its destination and stays paused');

    // status prints the real lanes.
    const status = await runCli(['status', '--url', url, '--token', token]);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /acme +files +file +running/);
    assert.match(status.stdout, /acme +hook +webhook +paused by alice/);

    // Rewind the paused lane to the start: it stays paused, and after resume it delivers all ten
    // again (the first five a second time, as a rewind asks); the file lane is not touched.
    const rewind = await call('POST', '/admin/lanes/acme/hook/offsets', { to: 'earliest' });
    assert.equal(rewind.status, 200, await rewind.clone().text());
    assert.equal(((await rewind.json()) as { lane: LaneStatus }).lane.destination, 'hook');
    assert.ok(await waitFor(async () => (await hookLane())?.state === 'paused', 30_000), 'the lane is back, still paused');
    assert.equal(hooked(), 5, 'nothing delivered while paused');

    assert.equal((await call('POST', '/admin/lanes/acme/hook/resume')).status, 200);
    assert.ok(await waitFor(() => hooked() === 15, 60_000), `the resumed lane delivered all ten from the start (${hooked()}/15)`);
    const keys = receiver.requests.filter((request) => request.path === '/hook' && !request.body.includes('"healthcheck"')).map((request) => request.headers['idempotency-key']);
    const counts = new Map<unknown, number>();
    for (const key of keys) counts.set(key, (counts.get(key) ?? 0) + 1);
    assert.equal(counts.size, 10, 'ten distinct records');
    assert.deepEqual([...counts.values()].sort(), [1, 1, 1, 1, 1, 2, 2, 2, 2, 2], 'the five delivered before the rewind came again, the rest once');
    assert.equal((await listFiles(out)).length, 10, 'the file lane was not rewound');
  });
});
