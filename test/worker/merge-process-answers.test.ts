import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { laneStatePrecedence, mergeLaneStatuses, mergeReloadResults } from '../../src/worker/merge-process-answers.js';
import type { LaneState, ReloadResult } from '../../src/worker/worker-control.js';
import { laneStatus } from '../support/fake-worker-control.js';

const partition = (number: number, messages: number, seconds: number) => ({ topic: 'terra.events', partition: number, messages, seconds });

describe('merging the lanes of worker processes', () => {
  it('lists each lane once, adding up what the processes hold', () => {
    const merged = mergeLaneStatuses([
      {
        process: 2,
        lanes: [
          laneStatus({ tenant: 'acme', destination: 'lake', delivered: 5, parked: 1, lag: { messages: 7, seconds: 30, partitions: [partition(3, 4, 30), partition(1, 3, 12)] }, lastDeliveryAt: '2026-07-01T06:00:05.000Z' }),
        ],
      },
      {
        process: 1,
        lanes: [
          laneStatus({ tenant: 'acme', destination: 'lake', delivered: 10, parked: 2, lag: { messages: 2, seconds: 45, partitions: [partition(0, 1, 45), partition(2, 1, 3)] }, lastDeliveryAt: '2026-07-01T06:00:09.000Z' }),
          laneStatus({ tenant: 'acme', destination: 'app', delivered: 1 }),
        ],
      },
    ]);
    assert.deepEqual(merged.map((lane) => lane.destination), ['lake', 'app'], 'in the order the lowest slot lists them');
    const lake = merged[0];
    assert.equal(lake?.delivered, 15);
    assert.equal(lake?.parked, 3);
    assert.equal(lake?.lag.messages, 9, 'lag messages summed');
    assert.equal(lake?.lag.seconds, 45, 'lag seconds: the oldest');
    assert.deepEqual(lake?.lag.partitions.map((held) => [held.partition, held.process]), [[0, 1], [1, 2], [2, 1], [3, 2]], 'partitions concatenated, each with its process');
    assert.equal(lake?.lastDeliveryAt, '2026-07-01T06:00:09.000Z', 'the latest delivery');
    assert.equal(merged[1]?.delivered, 1, 'a lane only one process answered for');
  });

  it('shows the earliest stall, any operator pause, the most telling state, and ready only when every process is', () => {
    const [lane] = mergeLaneStatuses([
      {
        process: 1,
        lanes: [laneStatus({ tenant: 'acme', destination: 'lake', state: 'retrying', ready: true, stalled: { reason: 'destination_unavailable', since: '2026-07-01T06:10:00.000Z' }, lastErrorCode: 'destination_unavailable', lastDeliveryAt: '2026-07-01T06:00:00.000Z' })],
      },
      {
        process: 2,
        lanes: [laneStatus({ tenant: 'acme', destination: 'lake', state: 'checking', ready: false, stalled: { reason: 'check_failed', since: '2026-07-01T06:05:00.000Z' }, lastErrorCode: 'check_failed' })],
      },
      {
        process: 3,
        lanes: [laneStatus({ tenant: 'acme', destination: 'lake', state: 'running', ready: true, lastErrorCode: 'pointer_expired', lastDeliveryAt: '2026-07-01T06:20:00.000Z' })],
      },
    ]);
    assert.equal(lane?.state, 'retrying', 'retrying beats checking and running');
    assert.equal(lane?.ready, false);
    assert.deepEqual(lane?.stalled, { reason: 'check_failed', since: '2026-07-01T06:05:00.000Z' }, 'the earliest stall');
    assert.equal(lane?.lastErrorCode, 'destination_unavailable', 'the error of the process stalled most recently');
    assert.equal(lane?.lastDeliveryAt, '2026-07-01T06:20:00.000Z');
    assert.equal(lane?.pausedByOperator, null);

    const [settled] = mergeLaneStatuses([
      { process: 1, lanes: [laneStatus({ tenant: 'acme', destination: 'lake', lastErrorCode: 'destination_rejected', lastDeliveryAt: '2026-07-01T06:00:00.000Z' })] },
      { process: 2, lanes: [laneStatus({ tenant: 'acme', destination: 'lake', lastErrorCode: 'retries_exhausted', lastDeliveryAt: '2026-07-01T07:00:00.000Z' })] },
      { process: 3, lanes: [laneStatus({ tenant: 'acme', destination: 'lake' })] },
    ]);
    assert.equal(settled?.lastErrorCode, 'retries_exhausted', 'nobody stalled: the error of the process that delivered last');

    const [paused] = mergeLaneStatuses([
      { process: 1, lanes: [laneStatus({ tenant: 'acme', destination: 'lake', state: 'paused', pausedByOperator: { by: 'alice', at: '2026-07-01T06:00:01.000Z' } })] },
      { process: 2, lanes: [laneStatus({ tenant: 'acme', destination: 'lake', state: 'retrying', pausedByOperator: { by: 'bob', at: '2026-07-01T06:00:02.000Z' } })] },
      { process: 3, lanes: [laneStatus({ tenant: 'acme', destination: 'lake', state: 'running' })] },
    ]);
    assert.equal(paused?.state, 'paused', 'paused anywhere shows paused');
    assert.equal(paused?.pausedByOperator?.by, 'alice', 'the earliest pause');
  });

  it('orders every state, stopped last', () => {
    assert.deepEqual([...laneStatePrecedence].sort(), ['checking', 'paused', 'retrying', 'running', 'stopped', 'stopping'] satisfies LaneState[], 'every state has a place');
    const stateOf = (...states: LaneState[]) => mergeLaneStatuses(states.map((state, index) => ({ process: index + 1, lanes: [laneStatus({ tenant: 'acme', destination: 'lake', state })] })))[0]?.state;
    assert.equal(stateOf('running', 'stopping'), 'stopping');
    assert.equal(stateOf('stopped', 'running'), 'running');
    assert.equal(stateOf('stopped', 'stopped'), 'stopped');
    assert.equal(stateOf('running', 'checking'), 'checking');
  });

  it('merges nothing into nothing', () => {
    assert.deepEqual(mergeLaneStatuses([]), []);
    assert.deepEqual(mergeLaneStatuses([{ process: 1, lanes: [] }]), []);
  });
});

describe('merging the reloads of worker processes', () => {
  const result = (overrides: Partial<ReloadResult>): ReloadResult => ({ ok: true, problems: [], started: [], restarted: [], stopped: [], unchanged: [], ...overrides });

  it('is ok only when every process is, with each problem once', () => {
    const problem = 'tenants/acme.yaml:4:5: destinations[0].type: unknown destination type';
    const merged = mergeReloadResults([result({ ok: false, problems: [problem], unchanged: ['acme/lake'] }), result({ ok: false, problems: [problem], unchanged: ['acme/lake'] })], []);
    assert.equal(merged.ok, false);
    assert.deepEqual(merged.problems, [problem]);
    assert.deepEqual(merged.missingProcesses, []);
    const mixed = mergeReloadResults([result({ restarted: ['acme/lake'] }), result({ ok: false, problems: ['process 2 could not read tenants/'] })], []);
    assert.equal(mixed.ok, false);
  });

  it('lists what changed anywhere, unchanged only what changed nowhere', () => {
    const merged = mergeReloadResults(
      [result({ restarted: ['acme/lake'], started: ['acme/new'], unchanged: ['acme/app'] }), result({ unchanged: ['acme/lake', 'acme/app'], started: ['acme/new'] })],
      [],
    );
    assert.deepEqual(merged, { ok: true, problems: [], started: ['acme/new'], restarted: ['acme/lake'], stopped: [], unchanged: ['acme/app'], missingProcesses: [] });
  });

  it('is not ok when a process did not answer, and says which', () => {
    const merged = mergeReloadResults([result({ unchanged: ['acme/lake'] })], [2]);
    assert.equal(merged.ok, false);
    assert.deepEqual(merged.missingProcesses, [2]);
    assert.match(merged.problems[0] ?? '', /worker process 2 did not answer/);
  });
});
