/**
 * The admin API of `run --processes 2` on the local broker, served by the primary and answered by
 * both worker processes: the token, one status per lane with the partitions of both processes, a
 * tap fed by both, a pause in force in both (and in a process restarted after a crash, and across
 * a reload that restarts the lane), a resume that delivers every record once, dead letters
 * inspected from the primary, and offsets refused.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { adminEvents, type ServerSentEvent } from '../../src/cli/admin-client.js';
import type { InspectResult } from '../../src/dead-letters/inspect-dead-letters.js';
import type { LaneListing, LaneStatus, TapEvent } from '../../src/worker/worker-control.js';
import { exited, isAlive } from '../support/child-processes.js';
import { uniqueName, useKafkaBroker } from '../support/kafka.js';
import { collectLogs } from '../support/process-logs.js';
import { freePort } from '../support/server-process.js';
import { startWebhookReceiver } from '../support/webhook-receiver.js';
import { activityEvent, listFiles, useCleanups, waitFor, writeWorkerFiles } from '../support/worker-files.js';

const topic = uniqueName('admin-procs');
const kafka = useKafkaBroker({ topics: [{ name: topic, partitions: 4 }] });
const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const token = 'processes-admin-token-0123456789';

describe('admin API of run --processes 2', () => {
  const cleanups = useCleanups();

  it('lists each lane once over both processes, taps both, pauses both (through a crash and a reload), resumes without loss or doubles, inspects dead letters, rewinds a lane held in both', async () => {
    const receiver = await startWebhookReceiver();
    cleanups.push(() => receiver.close());
    const port = await freePort();
    const tenant = (hookBatch: number): Record<string, unknown> => ({
      tenant: 'acme',
      topics: [topic],
      deadLetterTopic: `${topic}.dlq`,
      destinations: [
        { name: 'hook', type: 'webhook', batch: { lingerMs: 20, maxRecords: hookBatch }, config: { url: `${receiver.url}/hook` } },
        { name: 'files', type: 'file', batch: { lingerMs: 20, maxRecords: 50 }, config: { directory: '${OUT_DIR}', fsync: false } },
      ],
    });
    const { dir, workerPath } = await writeWorkerFiles({
      brokers: kafka.brokers,
      tenants: [tenant(100)],
      worker: {
        http: { host: '127.0.0.1', port },
        log: { level: 'info' },
        kafka: { brokers: kafka.brokers, clientId: 'terra-fanout-test', groupPrefix: uniqueName('ap'), librdkafkaMockCompat: true, sessionTimeoutMs: 6000, heartbeatIntervalMs: 500, maxWaitTimeMs: 100 },
        admin: { enabled: true, token: '${ADMIN_TOKEN}' },
        tenants: { dir: 'tenants', watch: false },
        lanes: { lagIntervalMs: 500 },
      },
    });
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const out = join(dir, 'out');
    const url = `http://127.0.0.1:${port}`;

    const primary = spawn(process.execPath, [cli, 'run', '--config', workerPath, '--processes', '2'], { env: { ...process.env, ADMIN_TOKEN: token, OUT_DIR: out }, stdio: ['ignore', 'pipe', 'pipe'] });
    primary.stderr?.resume();
    cleanups.push(async () => void primary.kill('SIGKILL'));
    const logs = collectLogs(primary);
    const started = () => logs.filter((line) => line.msg === 'Worker process started.');
    cleanups.push(async () => {
      for (const { pid } of started()) if (pid !== undefined && isAlive(pid)) process.kill(pid, 'SIGKILL');
    });

    const call = (method: string, path: string, body?: unknown): Promise<Response> =>
      fetch(`${url}${path}`, { method, headers: { authorization: `Bearer ${token}`, 'x-operator': 'alice', 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }), signal: AbortSignal.timeout(60_000) });
    const listing = async (): Promise<LaneListing> => (await (await call('GET', '/admin/lanes')).json()) as LaneListing;
    const laneOf = async (destination: string): Promise<LaneStatus | undefined> => (await listing()).lanes.find((lane) => lane.destination === destination);
    const readyz = async (): Promise<{ status: number; paused: string[] }> => {
      const response = await fetch(`${url}/readyz`).catch(() => null);
      if (response === null) return { status: 0, paused: [] };
      return { status: response.status, paused: ((await response.json()) as { paused: string[] }).paused };
    };
    const hookRequests = () => receiver.requests.filter((request) => request.path === '/hook' && !request.body.includes('"healthcheck"'));
    const filesWritten = async (): Promise<number> => (await listFiles(out)).filter((path) => path.endsWith('.json')).length;
    /** Each lane's four partitions, held by the two processes, each partition by one. */
    const spread = (lane: LaneStatus | undefined): boolean =>
      lane !== undefined && lane.lag.partitions.length === 4 && new Set(lane.lag.partitions.map((held) => held.partition)).size === 4 && new Set(lane.lag.partitions.map((held) => held.process)).size === 2;
    const bothPaused = async (): Promise<boolean> => {
      const { paused } = await readyz();
      return paused.includes('process 1: acme/hook') && paused.includes('process 2: acme/hook');
    };
    let produced = 0;
    const produce = async (count: number): Promise<void> => {
      const from = produced;
      produced += count;
      await kafka.produce(topic, Array.from({ length: count }, (_, index) => ({ key: `user-${(from + index) % 16}`, value: JSON.stringify(activityEvent(`user-${(from + index) % 16}`, from + index)) })));
    };

    assert.ok(await waitFor(async () => (await readyz()).status === 200, 90_000, 200), 'both worker processes ready');

    // The token is required, as on one worker; counted in the primary's own metric.
    const refused = await fetch(`${url}/admin/lanes`);
    assert.equal(refused.status, 401);
    assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'unauthorized');

    // One status per lane, with the partitions of both processes.
    assert.ok(await waitFor(async () => {
      const lanes = (await listing()).lanes;
      return lanes.length === 2 && lanes.every(spread);
    }, 60_000, 250), `each lane spread over both processes: ${JSON.stringify(await listing())}`);
    const first = await listing();
    assert.deepEqual(first.missingProcesses, []);
    assert.deepEqual(first.lanes.map((lane) => `${lane.tenant}/${lane.destination}`).sort(), ['acme/files', 'acme/hook']);

    // The tap carries what both processes deliver: produce until records from partitions of each process came through.
    const filesLane = await laneOf('files');
    const processOf = new Map(filesLane?.lag.partitions.map((held) => [held.partition, held.process]));
    const stopTap = new AbortController();
    const tapped: ServerSentEvent[] = [];
    const reading = (async () => {
      for await (const message of adminEvents({ url, token, operator: 'alice', timeoutMs: 10_000 }, '/admin/tap?destination=files', stopTap.signal)) tapped.push(message);
    })();
    const tapEvents = (): TapEvent[] => tapped.filter((message) => message.event === 'tap').map((message) => JSON.parse(message.data) as TapEvent);
    assert.ok(await waitFor(() => tapped.some((message) => message.event === 'hello'), 10_000), 'the tap stream opened');
    const tappedBoth = await waitFor(async () => {
      if (new Set(tapEvents().map((event) => processOf.get(event.source.partition))).size === 2) return true;
      await produce(16);
      return false;
    }, 60_000, 1000);
    stopTap.abort();
    await reading;
    assert.ok(tappedBoth, `tap events from the partitions of both processes: ${JSON.stringify(tapEvents().map((event) => event.source.partition))}`);
    assert.ok(tapEvents().every((event) => event.destination === 'files' && event.outcome === 'delivered' && event.body === undefined));

    // Everything delivered and committed by both lanes before the pause, so nothing can be sent twice later.
    assert.ok(await waitFor(async () => hookRequests().length === produced && (await filesWritten()) === produced, 60_000, 200), `all ${produced} delivered by both lanes`);
    assert.ok(await waitFor(async () => (await listing()).lanes.every((lane) => lane.lag.messages === 0), 30_000, 250), 'both lanes committed everything');

    // Pause the hook lane: in force in both processes; events produced meanwhile wait in Kafka.
    const paused = await call('POST', '/admin/lanes/acme/hook/pause');
    assert.equal(paused.status, 200);
    const pausedBody = (await paused.json()) as { lane: LaneStatus; missingProcesses: number[] };
    assert.deepEqual([pausedBody.lane.state, pausedBody.lane.pausedByOperator?.by, pausedBody.missingProcesses], ['paused', 'alice', []]);
    assert.ok(await waitFor(bothPaused, 10_000, 200), 'paused in both processes');
    const deliveredBeforePause = hookRequests().length;
    await produce(32);
    assert.ok(await waitFor(async () => (await filesWritten()) === produced, 60_000, 200), 'the file lane delivered what was produced while paused');
    assert.ok(await waitFor(async () => (await laneOf('hook'))?.lag.messages === 32, 30_000, 250), 'the paused lane holds back all 32, over both processes');
    assert.equal(hookRequests().length, deliveredBeforePause, 'the paused lane delivered nothing');

    // A worker process that crashes comes back with the pause in force.
    const victim = started().find((line) => line.process === 1)?.pid ?? 0;
    process.kill(victim, 'SIGKILL');
    assert.ok(await waitFor(() => started().length === 3, 30_000), 'process 1 restarted');
    assert.ok(await waitFor(async () => (await readyz()).status === 200 && (await bothPaused()), 60_000, 200), 'the restarted process started paused');
    await produce(16);
    assert.ok(await waitFor(async () => (await filesWritten()) === produced, 60_000, 200), 'the file lane goes on');
    assert.ok(await waitFor(async () => (await laneOf('hook'))?.lag.messages === 48, 30_000, 250), 'the paused lane holds back all 48');
    assert.equal(hookRequests().length, deliveredBeforePause, 'still nothing delivered by the paused lane');

    // A reload through the API restarts the changed lane in both processes; the pause stays.
    await writeFile(join(dir, 'tenants', 'acme.yaml'), stringify(tenant(50)));
    const reload = await call('POST', '/admin/reload');
    assert.equal(reload.status, 200);
    const result = ((await reload.json()) as { result: { ok: boolean; restarted: string[]; unchanged: string[]; missingProcesses: number[] } }).result;
    assert.deepEqual([result.ok, result.restarted, result.unchanged, result.missingProcesses], [true, ['acme/hook'], ['acme/files'], []]);
    assert.ok(await waitFor(async () => (await laneOf('hook'))?.state === 'paused' && (await bothPaused()), 60_000, 250), 'the restarted lane is paused in both processes');
    assert.equal(hookRequests().length, deliveredBeforePause);

    // Resume: every record held back is delivered, once.
    const resumed = await call('POST', '/admin/lanes/acme/hook/resume');
    assert.equal(resumed.status, 200);
    assert.equal(((await resumed.json()) as { lane: LaneStatus }).lane.pausedByOperator, null);
    assert.ok(await waitFor(() => hookRequests().length >= produced, 60_000, 200), `the resumed lane delivered the rest (${hookRequests().length}/${produced})`);
    const keys = () => hookRequests().map((request) => request.headers['idempotency-key']);

    // Dead letters are inspected by the primary: a message no lane can decode is parked by both.
    await kafka.produce(topic, [{ key: 'user-0', value: 'not json at all' }]);
    assert.ok(await waitFor(async () => (await listing()).lanes.every((lane) => lane.parked >= 1), 60_000, 250), 'both lanes parked the bad message');
    const dlq = await call('GET', '/admin/dlq?tenant=acme');
    assert.equal(dlq.status, 200);
    const inspected = (await dlq.json()) as InspectResult;
    assert.deepEqual(inspected.records.map((record) => record.destination).sort(), ['files', 'hook']);
    assert.equal(inspected.summary.complete, true);

    assert.equal(hookRequests().length, produced, 'no record delivered twice by the hook lane');
    assert.equal(new Set(keys()).size, produced, 'each record once');
    assert.equal(await filesWritten(), produced);

    // Rewind the hook lane: held in both processes, moved by the primary, started again in both;
    // it delivers every record a second time (as a rewind asks), the file lane nothing more.
    const offsets = await call('POST', '/admin/lanes/acme/hook/offsets', { to: 'earliest' });
    assert.equal(offsets.status, 200, await offsets.clone().text());
    const moved = (await offsets.json()) as { lane: LaneStatus; missingProcesses: number[] };
    assert.deepEqual([moved.lane.destination, moved.missingProcesses], ['hook', []]);
    assert.ok(await waitFor(() => hookRequests().length >= 2 * produced, 90_000, 200), `the rewound lane delivered everything again (${hookRequests().length}/${2 * produced})`);
    assert.ok(await waitFor(async () => (await laneOf('hook'))?.lag.messages === 0, 30_000, 250), 'and committed it');
    const counts = new Map<unknown, number>();
    for (const key of keys()) counts.set(key, (counts.get(key) ?? 0) + 1);
    assert.deepEqual([counts.size, [...new Set(counts.values())]], [produced, [2]], 'each record exactly twice: once before and once after the rewind');
    assert.equal(await filesWritten(), produced, 'the file lane was not rewound');

    const metrics = await (await fetch(`${url}/metrics`)).text();
    assert.match(metrics, /^terra_fanout_admin_requests_total\{route="\/admin\/lanes",status="401"\} 1$/m, 'counted once, by the primary');
    assert.match(metrics, /^terra_fanout_admin_requests_total\{route="\/admin\/lanes\/\{tenant\}\/\{destination\}\/pause",status="200"\} 1$/m);

    primary.kill('SIGTERM');
    assert.equal(await exited(primary), 0, 'SIGTERM drains both processes and exits 0');
  });
});
