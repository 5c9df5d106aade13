import { LaneBusyError, LaneNotFoundError, type LaneStatus, type OffsetTarget, type ReloadResult, type TapSink, type WorkerControl } from '../../src/worker/worker-control.js';

/**
 * A WorkerControl over a list of lane statuses, for testing the operations surface (admin API,
 * status, tap) without a worker. It keeps what it was asked to do, so tests can check the calls.
 */
export interface FakeWorkerControl extends WorkerControl {
  statuses: LaneStatus[];
  offsetCalls: Array<{ lane: string; target: OffsetTarget; by: string; force: boolean }>;
  reloadReasons: string[];
  /** The next reload() answers this. */
  nextReload: ReloadResult;
  /** Members other than us in each lane's group (setOffsets refuses unless forced). */
  otherMembers: Map<string, number>;
}

export function laneStatus(overrides: Partial<LaneStatus> & { tenant: string; destination: string }): LaneStatus {
  return {
    connector: 'file',
    group: `terra-fanout.${overrides.tenant}.${overrides.destination}`,
    state: 'running',
    ready: true,
    stalled: null,
    pausedByOperator: null,
    lag: { messages: 0, seconds: 0, partitions: [] },
    lastDeliveryAt: null,
    lastErrorCode: null,
    delivered: 0,
    parked: 0,
    ...overrides,
  };
}

export function createFakeWorkerControl(statuses: LaneStatus[], tap: TapSink): FakeWorkerControl {
  const find = (tenant: string, destination: string): LaneStatus => {
    const lane = control.statuses.find((candidate) => candidate.tenant === tenant && candidate.destination === destination);
    if (lane === undefined) throw new LaneNotFoundError(tenant, destination);
    return lane;
  };
  const control: FakeWorkerControl = {
    statuses,
    offsetCalls: [],
    reloadReasons: [],
    nextReload: { ok: true, problems: [], started: [], restarted: [], stopped: [], unchanged: [] },
    otherMembers: new Map(),
    tap,
    lanes: () => ({ lanes: control.statuses.map((lane) => ({ ...lane })) }),
    async pause(tenant, destination, by) {
      const lane = find(tenant, destination);
      lane.state = 'paused';
      lane.pausedByOperator = { by, at: new Date().toISOString() };
      return { lane: { ...lane } };
    },
    async resume(tenant, destination) {
      const lane = find(tenant, destination);
      lane.state = 'running';
      lane.pausedByOperator = null;
      return { lane: { ...lane } };
    },
    async setOffsets(tenant, destination, target, options) {
      const lane = find(tenant, destination);
      const members = control.otherMembers.get(`${tenant}/${destination}`) ?? 0;
      if (members > 0 && !options.force) throw new LaneBusyError(`${tenant}/${destination}`, members);
      control.offsetCalls.push({ lane: `${tenant}/${destination}`, target, by: options.by, force: options.force });
      return { lane: { ...lane } };
    },
    async reload(reason) {
      control.reloadReasons.push(reason);
      return control.nextReload;
    },
  };
  return control;
}
