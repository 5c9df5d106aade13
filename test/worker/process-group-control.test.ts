/**
 * The admin control of `run --processes N` over stand-in worker processes (no Kafka): answers
 * merged, processes that do not answer left out and named, operator pauses re-sent to a
 * restarted process, offsets refused.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { createTapHub } from '../../src/tap/tap-hub.js';
import { createProcessGroupControl, type ProcessGroupControl } from '../../src/worker/process-group-control.js';
import { startProcessGroup, type RunningProcessGroup } from '../../src/worker/process-group.js';
import { LaneNotFoundError, OffsetsNeedOneProcessError, ProcessesUnansweredError } from '../../src/worker/worker-control.js';
import { waitFor } from '../support/worker-files.js';

const workerModule = fileURLToPath(new URL('./fixtures/scripted-worker-process.js', import.meta.url));
const logger = pino({ level: 'silent' });

async function startGroup(behaviour: string, answerTimeoutMs = 5000): Promise<{ group: RunningProcessGroup; control: ProcessGroupControl }> {
  const control = createProcessGroupControl({ tap: createTapHub({ maxSubscribers: 1, queueEvents: 10, maxBodyBytes: 10 }), answerTimeoutMs, reloadTimeoutMs: answerTimeoutMs, logger });
  const group = await startProcessGroup({
    workerModule,
    args: [behaviour],
    processes: 2,
    http: { host: '127.0.0.1', port: 0 },
    drainTimeoutMs: 5000,
    logger,
    restart: { initialDelayMs: 50, maxDelayMs: 100, stableAfterMs: 60_000, maxQuickFailures: 5 },
    startState: () => ({ pauses: control.startPauses(), tapSubscriptions: [] }),
  });
  control.attach(group.processes);
  return { group, control };
}

const readyz = async (group: RunningProcessGroup): Promise<{ status: number; paused: string[] }> => {
  const response = await fetch(`${group.http.url}/readyz`);
  return { status: response.status, paused: ((await response.json()) as { paused: string[] }).paused };
};

describe('process group control', () => {
  it('merges the lanes of every process, pauses in all of them, keeps the pause for a restarted process, and refuses offsets', async () => {
    const { group, control } = await startGroup('lanes');
    try {
      assert.ok(await waitFor(async () => (await readyz(group)).status === 200, 20_000), 'both processes started');
      const listing = await control.lanes();
      assert.deepEqual(listing.missingProcesses, []);
      assert.equal(listing.lanes.length, 1, 'one lane, once');
      assert.deepEqual(listing.lanes[0]?.lag.partitions.map((partition) => [partition.partition, partition.process]), [[0, 1], [1, 2]]);
      assert.equal(listing.lanes[0]?.delivered, 30);

      const paused = await control.pause('acme', 'files', 'alice');
      assert.equal(paused.lane.state, 'paused');
      assert.deepEqual(paused.missingProcesses, []);
      assert.deepEqual(control.startPauses().map((pause) => [pause.tenant, pause.destination, pause.by]), [['acme', 'files', 'alice']]);
      assert.ok(await waitFor(async () => (await readyz(group)).paused.length === 2, 10_000), 'paused in both processes');

      const [first] = group.pids();
      process.kill(first ?? 0, 'SIGKILL');
      assert.ok(await waitFor(() => (group.pids()[0] ?? 0) !== first && (group.pids()[0] ?? 0) > 0, 10_000), 'process 1 restarted');
      assert.ok(await waitFor(async () => (await readyz(group)).paused.includes('process 1: acme/files'), 10_000), 'the restarted process started with the pause');
      const again = await control.lanes();
      assert.ok(again.lanes[0]?.pausedByOperator !== null && again.lanes[0]?.pausedByOperator.by === 'alice');

      await assert.rejects(control.pause('acme', 'nowhere', 'alice'), LaneNotFoundError);
      assert.equal(control.startPauses().length, 1, 'a pause of a lane nobody runs is not remembered');

      const resumed = await control.resume('acme', 'files', 'bob');
      assert.equal(resumed.lane.state, 'running');
      assert.deepEqual(control.startPauses(), []);

      const reload = await control.reload('test');
      assert.deepEqual([reload.ok, reload.restarted, reload.missingProcesses], [true, ['acme/files'], []]);

      await assert.rejects(control.setOffsets('acme', 'files', { to: 'earliest' }, { by: 'alice', force: true }), OffsetsNeedOneProcessError);
    } finally {
      await group.stop();
    }
  });

  it('leaves out a process that does not answer in time, says which, and never hangs', async () => {
    const { group, control } = await startGroup('lanes-2-silent', 500);
    try {
      assert.ok(await waitFor(async () => (await readyz(group)).status === 200, 20_000), 'both processes started');
      const before = Date.now();
      const listing = await control.lanes();
      assert.ok(Date.now() - before < 4000, 'bounded by the answer deadline');
      assert.deepEqual(listing.missingProcesses, [2]);
      assert.deepEqual(listing.lanes[0]?.lag.partitions.map((partition) => partition.process), [1], 'only what process 1 holds');

      const paused = await control.pause('acme', 'files', 'alice');
      assert.deepEqual(paused.missingProcesses, [2]);

      const reload = await control.reload('test');
      assert.equal(reload.ok, false);
      assert.deepEqual(reload.missingProcesses, [2]);
    } finally {
      await group.stop();
    }
  });

  it('answers that nobody answered when no process does', async () => {
    const control = createProcessGroupControl({ tap: createTapHub({ maxSubscribers: 1, queueEvents: 10, maxBodyBytes: 10 }), answerTimeoutMs: 100, reloadTimeoutMs: 100, logger });
    control.attach({ slots: [1, 2], started: () => [], listening: () => [1], ask: async () => null, sendTapSubscriptions: () => undefined });
    assert.deepEqual(await control.lanes(), { lanes: [], missingProcesses: [1, 2] });
    await assert.rejects(control.pause('acme', 'files', 'alice'), ProcessesUnansweredError);
    assert.equal(control.startPauses().length, 1, 'kept: the processes get it when they start or get to it');
  });
});
