/**
 * `run --processes 2` on the local broker: two worker processes share the lane's consumer group,
 * every record lands exactly once in the file destination, /metrics and /readyz on the one port
 * cover both, a worker process killed with SIGKILL is restarted, and SIGTERM drains both.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { exited, isAlive } from '../support/child-processes.js';
import { collectLogs } from '../support/process-logs.js';
import { freePort } from '../support/server-process.js';
import { uniqueName, useKafkaBroker } from '../support/kafka.js';
import { activityEvent, listFiles, useCleanups, waitFor, writeWorkerFiles } from '../support/worker-files.js';

const topic = uniqueName('grouped');
const kafka = useKafkaBroker({ topics: [{ name: topic, partitions: 4 }] });
const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

async function get(url: string): Promise<{ status: number; text: string }> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
    return { status: response.status, text: await response.text() };
  } catch {
    return { status: 0, text: '' };
  }
}

/** Sum of a metric's samples whose label set matches `labels` (a regex over the `{...}` part). */
function sample(metrics: string, name: string, labels = /.*/): number {
  let sum = 0;
  for (const line of metrics.split('\n')) {
    const match = new RegExp(`^${name}(\\{.*\\})? (\\S+)$`).exec(line);
    if (match !== null && labels.test(match[1] ?? '')) sum += Number(match[2]);
  }
  return sum;
}

describe('run --processes 2', () => {
  const cleanups = useCleanups();

  it('shares the partitions, delivers every record once, aggregates metrics and readiness, restarts a killed process and drains both on SIGTERM', async () => {
    const port = await freePort();
    const groupPrefix = uniqueName('pg');
    const { dir, workerPath } = await writeWorkerFiles({
      brokers: kafka.brokers,
      tenants: [{ tenant: 'acme', topics: [topic], deadLetterTopic: `${topic}.dlq`, destinations: [{ name: 'files', type: 'file', batch: { maxRecords: 50, lingerMs: 10 }, config: { directory: '${OUT_DIR}', fsync: false } }] }],
      worker: { http: { host: '127.0.0.1', port }, log: { level: 'info' }, kafka: { brokers: kafka.brokers, clientId: 'terra-fanout-test', groupPrefix, librdkafkaMockCompat: true, sessionTimeoutMs: 6000, heartbeatIntervalMs: 500, maxWaitTimeMs: 100 } },
    });
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const out = join(dir, 'out');
    const base = `http://127.0.0.1:${port}`;

    const { MALLOC_MMAP_THRESHOLD_: _unset, ...environment } = process.env;
    const primary = spawn(process.execPath, [cli, 'run', '--config', workerPath, '--processes', '2'], { env: { ...environment, OUT_DIR: out }, stdio: ['ignore', 'pipe', 'pipe'] });
    primary.stderr?.resume();
    cleanups.push(async () => void primary.kill('SIGKILL'));
    const logs = collectLogs(primary);
    const started = () => logs.filter((line) => line.msg === 'Worker process started.');

    assert.ok(await waitFor(async () => (await get(`${base}/healthz`)).status === 200, 30_000), 'the primary serves /healthz');
    const waiting = await get(`${base}/readyz`);
    assert.ok(waiting.status === 200 || /process [12]: /.test(waiting.text), `/readyz names the processes it waits for: ${waiting.text}`);
    assert.ok(await waitFor(async () => (await get(`${base}/readyz`)).status === 200, 60_000, 200), 'both worker processes ready');
    assert.equal(started().length, 2);
    const pids = started().map((line) => line.pid ?? 0);
    cleanups.push(async () => {
      for (const pid of pids) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    });
    for (const pid of pids) {
      const environ = (await readFile(`/proc/${pid}/environ`, 'utf8')).split('\0');
      assert.ok(environ.includes('MALLOC_MMAP_THRESHOLD_=1048576'), `worker process ${pid} runs with the malloc threshold`);
    }

    const events = (from: number, count: number) => Array.from({ length: count }, (_, index) => ({ key: `user-${(from + index) % 16}`, value: JSON.stringify(activityEvent(`user-${(from + index) % 16}`, from + index)) }));
    await kafka.produce(topic, events(0, 400));
    assert.ok(await waitFor(async () => (await listFiles(out)).length >= 400, 60_000, 200), 'the first 400 records delivered');

    const metrics = (await get(`${base}/metrics`)).text;
    assert.ok(sample(metrics, 'terra_fanout_records_delivered_total') >= 400, 'delivered records are summed over the processes');
    assert.equal(sample(metrics, 'terra_fanout_lane_ready', /process="1"/), 1, 'per-process gauge of process 1');
    assert.equal(sample(metrics, 'terra_fanout_lane_ready', /process="2"/), 1, 'per-process gauge of process 2');
    assert.doesNotMatch(metrics, /^terra_fanout_records_delivered_total\{[^}]*process=/m, 'counters carry no process label');
    // Both processes committed offsets of some of the four partitions (the lag gauge is set per
    // partition a process commits, and carries its process label).
    for (const process of ['1', '2']) assert.match(metrics, new RegExp(`^terra_fanout_lane_lag_messages\\{[^}]*partition="\\d"[^}]*process="${process}"`, 'm'), `process ${process} consumed: ${metrics.split('\n').filter((line) => line.startsWith('terra_fanout_lane_lag')).join('\n')}`);

    // A worker process that dies is restarted, and the records it held are delivered by someone.
    const victim = pids[0] ?? 0;
    process.kill(victim, 'SIGKILL');
    assert.ok(await waitFor(() => logs.some((line) => line.msg === 'Worker process exited unexpectedly; restarting it.'), 30_000), 'the death is logged');
    assert.ok(await waitFor(() => started().length === 3, 30_000), 'a new worker process started');
    await kafka.produce(topic, events(400, 200));
    assert.ok(await waitFor(async () => (await listFiles(out)).length >= 600, 90_000, 200), 'every record delivered after the restart');
    assert.ok(await waitFor(async () => (await get(`${base}/readyz`)).status === 200, 60_000, 200), 'ready again');
    const running = started()
      .slice(1)
      .map((line) => line.pid ?? 0);
    pids.push(...running);

    primary.kill('SIGTERM');
    const before = Date.now();
    assert.equal(await exited(primary), 0, 'SIGTERM drains both processes and exits 0');
    assert.ok(Date.now() - before < 5000 + 5000 + 10_000, 'within drainTimeoutMs plus the margin');
    for (const pid of running) assert.ok(!isAlive(pid), `worker process ${pid} is gone`);
    assert.ok(logs.some((line) => line.msg === 'Worker processes stopped.'));

    const written = await listFiles(out);
    assert.equal(written.filter((path) => !path.endsWith('.json')).length, 0, 'no temp files left behind');
    assert.equal(written.length, 600, 'no missing and no extra files');
    const ids = new Set<string>();
    for (const path of written) {
      const event = JSON.parse(await readFile(path, 'utf8')) as { data: Array<{ metadata: { summary_id: string } }> };
      ids.add(event.data[0]?.metadata.summary_id ?? '');
    }
    assert.equal(ids.size, 600, 'each record once, each file complete');
  });
});
