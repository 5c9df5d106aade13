/**
 * The admin control of `run --processes N` over stand-in worker processes (no Kafka): answers
 * merged, processes that do not answer left out and named, operator pauses re-sent to a
 * restarted process, offsets moved with the lane held in every process.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { createTapHub } from '../../src/tap/tap-hub.js';
import { createProcessGroupControl, type ProcessGroupControl } from '../../src/worker/process-group-control.js';
import { startProcessGroup, type RunningProcessGroup } from '../../src/worker/process-group.js';
import { LaneBusyError, LaneNotFoundError, ProcessesUnansweredError, type LaneState, type OffsetTarget } from '../../src/worker/worker-control.js';
import { waitFor } from '../support/worker-files.js';

const workerModule = fileURLToPath(new URL('./fixtures/scripted-worker-process.js', import.meta.url));
const logger = pino({ level: 'silent' });

interface Move {
  target: OffsetTarget;
  /** The lane's state in each process while the offsets moved. */
  statesDuring: LaneState[];
}

async function startGroup(behaviour: string, answerTimeoutMs = 5000, moveFails?: Error): Promise<{ group: RunningProcessGroup; control: ProcessGroupControl; moves: Move[] }> {
  const moves: Move[] = [];
  const control: ProcessGroupControl = createProcessGroupControl({
    tap: createTapHub({ maxSubscribers: 1, queueEvents: 10, maxBodyBytes: 10 }),
    answerTimeoutMs,
    reloadTimeoutMs: answerTimeoutMs,
    holdTimeoutMs: answerTimeoutMs,
    maxHoldMs: 60_000,
    async moveOffsets({ target }) {
      const { lanes } = await control.lanes();
      moves.push({ target, statesDuring: lanes.flatMap((lane) => lane.lag.partitions.map(() => lane.state)) });
      if (moveFails !== undefined) throw moveFails;
    },
    logger,
  });
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
  return { group, control, moves };
}

const readyz = async (group: RunningProcessGroup): Promise<{ status: number; paused: string[] }> => {
  const response = await fetch(`${group.http.url}/readyz`);
  return { status: response.status, paused: ((await response.json()) as { paused: string[] }).paused };
};

describe('process group control', () => {
  it('merges the lanes of every process, pauses in all of them, keeps the pause for a restarted process, and moves offsets with the lane held in all of them', async () => {
    const { group, control, moves } = await startGroup('lanes');
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

      const moved = await control.setOffsets('acme', 'files', { to: 'earliest' }, { by: 'alice', force: false });
      assert.deepEqual(moves, [{ target: { to: 'earliest' }, statesDuring: ['stopped', 'stopped'] }], 'moved once, while both processes held the lane');
      assert.equal(moved.lane.state, 'running', 'started again in both');
      assert.deepEqual(moved.missingProcesses, []);
      await assert.rejects(control.setOffsets('acme', 'nowhere', { to: 'latest' }, { by: 'alice', force: false }), LaneNotFoundError);
      assert.equal(moves.length, 1, 'no move for a lane nobody runs');
    } finally {
      await group.stop();
    }
  });

  it('leaves out a process that does not answer in time, says which, and never hangs', async () => {
    const { group, control, moves } = await startGroup('lanes-2-silent', 500);
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

      await assert.rejects(control.setOffsets('acme', 'files', { to: 'earliest' }, { by: 'alice', force: false }), ProcessesUnansweredError);
      assert.deepEqual(moves, [], 'no move while a process may still run the lane');
      assert.equal((await control.lanes()).lanes[0]?.state, 'paused', 'process 1 got its lane back (paused, as before)');
    } finally {
      await group.stop();
    }
  });

  it('a move that fails (another replica is in the group) still starts the lane again everywhere', async () => {
    const { group, control, moves } = await startGroup('lanes', 5000, new LaneBusyError('acme/files', 1));
    try {
      assert.ok(await waitFor(async () => (await readyz(group)).status === 200, 20_000), 'both processes started');
      await assert.rejects(control.setOffsets('acme', 'files', { to: 'latest' }, { by: 'alice', force: false }), LaneBusyError);
      assert.equal(moves.length, 1);
      assert.equal((await control.lanes()).lanes[0]?.state, 'running');
    } finally {
      await group.stop();
    }
  });

  it('answers that nobody answered when no process does', async () => {
    const control = createProcessGroupControl({
      tap: createTapHub({ maxSubscribers: 1, queueEvents: 10, maxBodyBytes: 10 }),
      answerTimeoutMs: 100,
      reloadTimeoutMs: 100,
      holdTimeoutMs: 100,
      maxHoldMs: 1000,
      moveOffsets: async () => assert.fail('no move without the processes'),
      logger,
    });
    control.attach({ slots: [1, 2], started: () => [], listening: () => [1], ask: async () => null, sendTapSubscriptions: () => undefined });
    assert.deepEqual(await control.lanes(), { lanes: [], missingProcesses: [1, 2] });
    await assert.rejects(control.pause('acme', 'files', 'alice'), ProcessesUnansweredError);
    assert.equal(control.startPauses().length, 1, 'kept: the processes get it when they start or get to it');
  });
});
