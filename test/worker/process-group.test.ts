/** The process group's supervision with stand-in worker processes: aggregation, readiness, restarts with backoff, giving up, killing stragglers. */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { isAlive } from '../support/child-processes.js';
import { startProcessGroup, type ProcessGroupOptions } from '../../src/worker/process-group.js';

const workerModule = fileURLToPath(new URL('./fixtures/scripted-worker-process.js', import.meta.url));

function capturedLogger(): { logger: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return check();
}

function options(behaviour: string, overrides: Partial<ProcessGroupOptions> = {}): ProcessGroupOptions {
  return { workerModule, args: [behaviour], processes: 2, http: { host: '127.0.0.1', port: 0 }, drainTimeoutMs: 5000, logger: capturedLogger().logger, ...overrides };
}

describe('startProcessGroup', () => {
  it('serves the processes\' readiness and metrics on one port: counters summed, per-process gauges labelled', async () => {
    const group = await startProcessGroup(options('ready'));
    try {
      assert.ok(await until(async () => (await fetch(`${group.http.url}/readyz`)).status === 200, 20_000), 'ready once both processes said so');
      const body = (await (await fetch(`${group.http.url}/readyz`)).json()) as { paused: string[] };
      assert.deepEqual(body.paused, ['process 1: acme/files', 'process 2: acme/files'], 'each process\'s lanes, named by process');
      const metrics = await (await fetch(`${group.http.url}/metrics`)).text();
      assert.match(metrics, /^terra_fanout_records_delivered_total\{tenant="acme"\} 30$/m);
      assert.match(metrics, /^terra_fanout_lane_ready\{tenant="acme",process="1"\} 1$/m);
      assert.match(metrics, /^terra_fanout_lane_ready\{tenant="acme",process="2"\} 1$/m);
      assert.match(metrics, /^process_cpu_seconds_total \S+$/m, 'the primary\'s own process metrics');
    } finally {
      const pids = group.pids();
      await group.stop();
      for (const pid of pids) assert.ok(!isAlive(pid), 'every worker process exited');
    }
  });

  it('restarts a process that dies, with a doubling delay, and gives up after the configured failures in a row', async () => {
    const { logger, lines } = capturedLogger();
    const group = await startProcessGroup(options('crash', { processes: 1, logger, restart: { initialDelayMs: 50, maxDelayMs: 150, stableAfterMs: 60_000, maxQuickFailures: 3 } }));
    const reason = await group.fatal;
    assert.match(reason.message, /worker process 1 failed 3 times in a row/);
    const restarts = lines.filter((line) => line['msg'] === 'Worker process exited unexpectedly; restarting it.');
    assert.deepEqual(restarts.map((line) => [line['code'], line['restartInMs']]), [[3, 50], [3, 100], [3, 150]]);
    assert.equal(lines.filter((line) => line['msg'] === 'Worker process started.').length, 4);
    const ready = await fetch(`${group.http.url}/readyz`);
    assert.equal(ready.status, 503);
    await group.stop();
  });

  it('kills a process that does not drain within drainTimeoutMs plus the margin, and says so', async () => {
    const group = await startProcessGroup(options('stubborn', { processes: 1, drainTimeoutMs: 200, stopMarginMs: 100 }));
    assert.ok(await until(async () => (await fetch(`${group.http.url}/readyz`)).status === 200, 20_000));
    const [pid] = group.pids();
    const started = Date.now();
    await assert.rejects(group.stop(), /worker processes did not drain cleanly: process 1 \(SIGKILL\)/);
    assert.ok(Date.now() - started < 5000, 'bounded by the deadline');
    assert.ok(!isAlive(pid ?? 0));
  });
});
