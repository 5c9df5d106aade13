/**
 * What the operations surface (admin API, reload, tap, `status`) sees of a running worker.
 * The worker implements it; the admin API, the tenants-folder watcher and the CLI clients
 * depend only on these types, so they can be tested with a fake.
 */

/** Why a lane cannot make progress right now (docs/metrics.md, terra_fanout_lane_stalled). */
export type StallReason = 'destination_unavailable' | 'pointer_retry' | 'budget' | 'check_failed' | 'dead_letter_unavailable';

export const stallReasons: readonly StallReason[] = ['destination_unavailable', 'pointer_retry', 'budget', 'check_failed', 'dead_letter_unavailable'];

/**
 * - `checking`: the destination's start-up check has not passed yet (see `stalled` for why);
 * - `running`: joined its group and delivering (or idle);
 * - `retrying`: running, but waiting to retry a failed send or pointer fetch (see `stalled`);
 * - `paused`: paused by an operator (deliberate; not a fault, not unready);
 * - `stopping` / `stopped`: draining or gone (reload removed or restarted it, or shutdown).
 */
export type LaneState = 'checking' | 'running' | 'retrying' | 'paused' | 'stopping' | 'stopped';

export interface PartitionLag {
  topic: string;
  partition: number;
  /** High watermark minus committed offset. */
  messages: number;
  /** Age of the oldest uncommitted message, seconds; 0 when caught up. */
  seconds: number;
  /** With `run --processes N`: the worker process (its slot, 1..N) that holds the partition. */
  process?: number;
}

export interface LaneStatus {
  tenant: string;
  destination: string;
  connector: string;
  /** The lane's Kafka consumer group. */
  group: string;
  state: LaneState;
  ready: boolean;
  /** Set while the lane cannot make progress; `since` is ISO-8601. */
  stalled: { reason: StallReason; since: string } | null;
  /** Set while an operator pause is in force; survives a reload of the tenant file. */
  pausedByOperator: { by: string; at: string } | null;
  /** Totals over the partitions this process holds, and each of them. */
  lag: { messages: number; seconds: number; partitions: PartitionLag[] };
  lastDeliveryAt: string | null;
  lastErrorCode: string | null;
  delivered: number;
  parked: number;
}

/** One record (or rejected message) as it leaves a lane, for `tap`. Never carries secrets. */
export interface TapEvent {
  at: string;
  tenant: string;
  destination: string;
  outcome: 'delivered' | 'parked' | 'filtered';
  /** Error code when parked. */
  code?: string;
  type: string | null;
  userId: string | null;
  identity: string | null;
  /** Where the record landed (object key, file path, table/row, URL path), when the connector can say. */
  location?: string;
  source: { topic: string; partition: number; offset: string };
  /** The record body as UTF-8, only when the subscriber asked for bodies. */
  body?: string;
}

/** Receives tap events from lanes. `wants` is checked first so a lane builds nothing when nobody listens. */
export interface TapSink {
  wants(tenant: string, destination: string): boolean;
  publish(event: TapEvent, body: () => Buffer): void;
}

/** An operator pause of a lane, as the primary of `run --processes N` remembers and re-sends it. */
export interface OperatorPause {
  tenant: string;
  destination: string;
  by: string;
  atMs: number;
}

export type OffsetTarget = { to: 'earliest' } | { to: 'latest' } | { to: 'time'; timestampMs: number };

export interface ReloadResult {
  ok: boolean;
  /** Problems that kept the last good config (file:line and field path), empty when ok. */
  problems: string[];
  started: string[];
  restarted: string[];
  stopped: string[];
  unchanged: string[];
  /** With `run --processes N`: the worker processes (slots) that did not answer in time. */
  missingProcesses?: number[];
}

/**
 * The answers of `lanes()` and of the lane actions. With `run --processes N` the primary gathers
 * them from its worker processes: `missingProcesses` then lists the slots (1..N) that did not
 * answer in time (or were restarting), whose partitions and counts are not in the figures. A
 * worker in one process leaves it out.
 */
export interface LaneListing {
  lanes: LaneStatus[];
  missingProcesses?: number[];
}

export interface LaneAnswer {
  lane: LaneStatus;
  missingProcesses?: number[];
}

/**
 * Called by the admin API (one request at a time per route; calls may overlap). A worker answers
 * from its own lanes; `run --processes N` answers by asking its worker processes over IPC, so every
 * answer may come later: callers await them, and none of them may be cached as the truth.
 */
export interface WorkerControl {
  lanes(): LaneListing | Promise<LaneListing>;
  /** Throws `LaneNotFoundError` for a lane the worker does not run. */
  pause(tenant: string, destination: string, by: string): Promise<LaneAnswer>;
  resume(tenant: string, destination: string, by: string): Promise<LaneAnswer>;
  /**
   * Stops the lane, moves its group's committed offsets, restarts it. Refuses (throws
   * `LaneBusyError`) when other members are in the group (another process runs the lane), unless
   * `force`. With `run --processes N`, every worker process holds the lane (drained, stopped) while
   * the primary moves the offsets, then starts it again.
   */
  setOffsets(tenant: string, destination: string, target: OffsetTarget, options: { by: string; force: boolean }): Promise<LaneAnswer>;
  /** Re-reads the tenants folder (and secrets from the environment) and applies what changed. */
  reload(reason: string): Promise<ReloadResult>;
  tap: TapSink;
}

export class LaneNotFoundError extends Error {
  constructor(tenant: string, destination: string) {
    super(`No lane ${tenant}/${destination} in this worker.`);
    this.name = 'LaneNotFoundError';
  }
}

export class LaneBusyError extends Error {
  constructor(lane: string, members: number) {
    super(`Lane ${lane} has ${members} other member(s) in its consumer group; stop them first or pass force.`);
    this.name = 'LaneBusyError';
  }
}

/** No worker process answered in time (`run --processes N`); what was asked may still happen when they do. */
export class ProcessesUnansweredError extends Error {
  constructor(
    what: string,
    readonly processes: readonly number[],
  ) {
    super(`No worker process answered ${what} in time (process${processes.length === 1 ? '' : 'es'} ${processes.join(', ')}).`);
    this.name = 'ProcessesUnansweredError';
  }
}
