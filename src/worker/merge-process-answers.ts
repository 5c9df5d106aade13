import type { LaneState, LaneStatus, PartitionLag, ReloadResult } from './worker-control.js';

/**
 * How the answers of the worker processes of `run --processes N` become one answer of the admin
 * API. Every process runs every lane and holds different partitions of the lane's group, so a
 * lane's status is the sum of its parts: what the processes hold is added up, and what says
 * whether the lane is healthy takes the most telling process.
 */

/** One worker process's lanes, by its slot (1..N). */
export interface ProcessLanes {
  process: number;
  lanes: readonly LaneStatus[];
}

/**
 * The state shown for a lane whose processes disagree, the most telling first: `paused` (an
 * operator pause is in force), then the states in which some process cannot deliver (`retrying`,
 * `checking`), then `stopping` (a reload or shutdown is under way), then `running`; `stopped`
 * only when it is stopped in every process that answered.
 */
export const laneStatePrecedence: readonly LaneState[] = ['paused', 'retrying', 'checking', 'stopping', 'running', 'stopped'];

const laneKey = (lane: Pick<LaneStatus, 'tenant' | 'destination'>): string => `${lane.tenant}/${lane.destination}`;

/** The time of an ISO-8601 string, or -Infinity for null (never). */
const timeOf = (iso: string | null): number => (iso === null ? Number.NEGATIVE_INFINITY : Date.parse(iso));

function latest<Item>(items: readonly Item[], time: (item: Item) => number): Item | undefined {
  let best: Item | undefined;
  for (const item of items) if (best === undefined || time(item) > time(best)) best = item;
  return best;
}

function earliest<Item>(items: readonly Item[], time: (item: Item) => number): Item | undefined {
  return latest(items, (item) => -time(item));
}

/** One lane's statuses in several processes, as one status. */
function mergeLane(parts: ReadonlyArray<{ process: number; lane: LaneStatus }>): LaneStatus {
  const first = parts[0];
  if (first === undefined) throw new Error('mergeLane needs at least one status');
  const lanes = parts.map(({ lane }) => lane);
  const partitions: PartitionLag[] = parts
    .flatMap(({ process, lane }) => lane.lag.partitions.map((partition) => ({ ...partition, process })))
    .sort((a, b) => (a.topic === b.topic ? a.partition - b.partition || (a.process ?? 0) - (b.process ?? 0) : a.topic < b.topic ? -1 : 1));
  const stalls = lanes.flatMap((lane) => (lane.stalled === null ? [] : [lane.stalled]));
  const pauses = lanes.flatMap((lane) => (lane.pausedByOperator === null ? [] : [lane.pausedByOperator]));
  // Processes do not time their errors: the code of a process stalled now (the latest stall)
  // says most; otherwise the one of the process that delivered last.
  const withCode = lanes.filter((lane) => lane.lastErrorCode !== null);
  const stalledWithCode = withCode.filter((lane) => lane.stalled !== null);
  const errorSource = stalledWithCode.length > 0 ? latest(stalledWithCode, (lane) => timeOf(lane.stalled?.since ?? null)) : latest(withCode, (lane) => timeOf(lane.lastDeliveryAt));
  const state = laneStatePrecedence.find((candidate) => lanes.some((lane) => lane.state === candidate)) ?? first.lane.state;
  return {
    tenant: first.lane.tenant,
    destination: first.lane.destination,
    connector: first.lane.connector,
    group: first.lane.group,
    state,
    ready: lanes.every((lane) => lane.ready),
    stalled: earliest(stalls, (stall) => timeOf(stall.since)) ?? null,
    pausedByOperator: earliest(pauses, (pause) => timeOf(pause.at)) ?? null,
    lag: {
      messages: lanes.reduce((sum, lane) => sum + lane.lag.messages, 0),
      seconds: lanes.reduce((max, lane) => Math.max(max, lane.lag.seconds), 0),
      partitions,
    },
    lastDeliveryAt: latest(lanes, (lane) => timeOf(lane.lastDeliveryAt))?.lastDeliveryAt ?? null,
    lastErrorCode: errorSource?.lastErrorCode ?? null,
    delivered: lanes.reduce((sum, lane) => sum + lane.delivered, 0),
    parked: lanes.reduce((sum, lane) => sum + lane.parked, 0),
  };
}

/**
 * Every lane once, in the order the processes list them (lowest slot first): the same lane
 * (tenant/destination) in several processes becomes one status:
 * - `lag.partitions`: every process's partitions, each marked with its `process`, by topic and
 *   partition (during a rebalance a partition may show twice, once per process that held it);
 * - `lag.messages`, `delivered`, `parked`: summed; `lag.seconds`: the largest;
 * - `stalled`: the earliest stall of any process; `pausedByOperator`: any pause, the earliest;
 * - `lastDeliveryAt`: the latest; `lastErrorCode`: from the process stalled most recently, else
 *   from the one that delivered last;
 * - `state`: by `laneStatePrecedence`; `ready`: only when ready in every process.
 * A lane that only some processes run (a reload under way) is merged from those.
 */
export function mergeLaneStatuses(answers: readonly ProcessLanes[]): LaneStatus[] {
  const byLane = new Map<string, Array<{ process: number; lane: LaneStatus }>>();
  for (const { process, lanes } of [...answers].sort((a, b) => a.process - b.process)) {
    for (const lane of lanes) {
      const key = laneKey(lane);
      const parts = byLane.get(key) ?? [];
      parts.push({ process, lane });
      byLane.set(key, parts);
    }
  }
  return [...byLane.values()].map(mergeLane);
}

/** Each item once, in the order first seen. */
const unique = (lists: ReadonlyArray<readonly string[]>): string[] => [...new Set(lists.flat())];

/**
 * The reloads of several processes as one result: ok only when every process answered and
 * applied it; problems de-duplicated (every process reads the same files, so they name the same
 * file:line); what started, restarted or stopped anywhere; `unchanged` only what no process
 * changed. A process in `missingProcesses` (asked, no answer in time) adds a problem: it may
 * still apply the reload, or may not.
 */
export function mergeReloadResults(results: readonly ReloadResult[], missingProcesses: readonly number[]): ReloadResult {
  const changed = unique(results.flatMap((result) => [result.started, result.restarted, result.stopped]));
  return {
    ok: missingProcesses.length === 0 && results.every((result) => result.ok),
    problems: [
      ...unique(results.map((result) => result.problems)),
      ...missingProcesses.map((process) => `worker process ${process} did not answer the reload in time; it may still apply it (its own log says)`),
    ],
    started: unique(results.map((result) => result.started)),
    restarted: unique(results.map((result) => result.restarted)),
    stopped: unique(results.map((result) => result.stopped)),
    unchanged: unique(results.map((result) => result.unchanged)).filter((name) => !changed.includes(name)),
    missingProcesses: [...missingProcesses],
  };
}
