import type { Logger } from 'pino';
import { mergeLaneStatuses, mergeReloadResults, type ProcessLanes } from './merge-process-answers.js';
import type { WorkerAnswer, WorkerRequest } from './process-group-messages.js';
import type { WorkerProcesses } from './process-group.js';
import { LaneNotFoundError, ProcessesUnansweredError, type LaneAnswer, type OffsetTarget, type OperatorPause, type ReloadResult, type TapSink, type WorkerControl } from './worker-control.js';

/**
 * The WorkerControl of `run --processes N`, in the primary: the admin API steers the worker
 * processes through it, over IPC (process-group.ts `WorkerProcesses`). Each call asks the
 * processes and merges their answers (merge-process-answers.ts); a process that does not answer
 * within the deadline is left out and named in `missingProcesses`, so no call hangs on one.
 *
 * - `lanes()` asks every started process; one still starting is missing.
 * - `pause()` / `resume()` go to every listening process. The primary remembers the pauses it
 *   applied (`startPauses()`), and a worker process that (re)starts gets them before its lanes
 *   exist, so a crash never lifts an operator pause. A process that did not answer in time still
 *   gets the pause (IPC keeps it) and applies it when it gets to it.
 * - `reload()` goes to every listening process, each reloading through its own reload trigger; a
 *   process not listening yet reads the tenant files when it starts. A lane a reload stopped
 *   everywhere loses its remembered pause, as in one worker.
 * - `setOffsets()` holds the lane in every process (each drains it and keeps it stopped), so the
 *   group is empty of this worker's members; then `moveOffsets` moves them from the primary, and
 *   every process starts the lane again, whatever the move did. It is refused when a process does
 *   not take part (still starting, or no answer within `holdTimeoutMs`): a process that runs the
 *   lane meanwhile would be in the group. A process whose hold answer came too late still gets
 *   the release; one that holds after the release starts the lane again by itself after
 *   `maxHoldMs`. Moves are made one at a time.
 * - `tap` is the primary's tap hub, which the worker processes feed.
 */
export interface ProcessGroupControl extends WorkerControl {
  /** The operator pauses a starting worker process must apply before its lanes start. */
  startPauses(): OperatorPause[];
  /** Connects the control to the worker processes; until then every call but startPauses() throws. */
  attach(processes: WorkerProcesses): void;
}

export interface ProcessGroupControlOptions {
  /** The primary's tap hub. */
  tap: TapSink;
  /** How long lanes(), pause() and resume() wait for each process. */
  answerTimeoutMs: number;
  /** How long reload() waits for each process (it drains the lanes it restarts first). */
  reloadTimeoutMs: number;
  /** How long setOffsets() waits for each process to drain and hold the lane. */
  holdTimeoutMs: number;
  /** The longest a worker process keeps a lane held if the release never comes. */
  maxHoldMs: number;
  /** Moves the lane's group offsets once no process of this group runs the lane (lane-offsets.ts). */
  moveOffsets(move: { tenant: string; destination: string; target: OffsetTarget; force: boolean; by: string }): Promise<void>;
  logger: Logger;
  now?: () => number;
}

interface Asked {
  slot: number;
  answer: WorkerAnswer | null;
}

export function createProcessGroupControl(options: ProcessGroupControlOptions): ProcessGroupControl {
  const { logger } = options;
  const now = options.now ?? Date.now;
  const pauses = new Map<string, OperatorPause>();
  /** The move of offsets in progress; the next one waits for it. */
  let moving: Promise<unknown> = Promise.resolve();
  let attached: WorkerProcesses | null = null;

  const processes = (): WorkerProcesses => {
    if (attached === null) throw new Error('The worker processes are not attached yet.');
    return attached;
  };

  const askEach = (slots: readonly number[], request: WorkerRequest, timeoutMs: number): Promise<Asked[]> =>
    Promise.all(slots.map(async (slot) => ({ slot, answer: await processes().ask(slot, request, timeoutMs) })));

  /** Every slot without a usable answer: not asked (not running or not ready for it), silent, or failed. */
  const missingOf = (asked: readonly Asked[]): number[] => {
    const answered = new Set(asked.filter(({ answer }) => answer !== null && answer.kind !== 'failed').map(({ slot }) => slot));
    return processes().slots.filter((slot) => !answered.has(slot));
  };

  /** Pause or resume in every listening process, answered with the lane's merged status. */
  const steer = async (kind: 'pause' | 'resume', tenant: string, destination: string, by: string): Promise<LaneAnswer> => {
    const asked = await askEach(processes().listening(), { kind, tenant, destination, by }, options.answerTimeoutMs);
    const statuses: ProcessLanes[] = asked.flatMap(({ slot, answer }) => (answer?.kind === 'lane' ? [{ process: slot, lanes: [answer.lane] }] : []));
    const missingProcesses = missingOf(asked);
    const [lane] = mergeLaneStatuses(statuses);
    if (lane !== undefined) return { lane, missingProcesses };
    if (asked.some(({ answer }) => answer?.kind === 'lane_not_found')) throw new LaneNotFoundError(tenant, destination);
    const failed = asked.find(({ answer }) => answer?.kind === 'failed')?.answer;
    if (failed?.kind === 'failed') throw new Error(`A worker process could not ${kind} ${tenant}/${destination}: ${failed.message}`);
    throw new ProcessesUnansweredError(`${kind} ${tenant}/${destination}`, missingProcesses);
  };

  return {
    tap: options.tap,

    startPauses: () => [...pauses.values()].map((pause) => ({ ...pause })),

    attach(processesToAttach) {
      if (attached !== null) throw new Error('The worker processes are attached already.');
      attached = processesToAttach;
    },

    async lanes() {
      const asked = await askEach(processes().started(), { kind: 'lanes' }, options.answerTimeoutMs);
      const answers: ProcessLanes[] = asked.flatMap(({ slot, answer }) => (answer?.kind === 'lanes' ? [{ process: slot, lanes: answer.lanes }] : []));
      return { lanes: mergeLaneStatuses(answers), missingProcesses: missingOf(asked) };
    },

    async pause(tenant, destination, by) {
      const name = `${tenant}/${destination}`;
      const known = pauses.get(name);
      // Remembered before it is sent, so a process that says hello meanwhile starts with it.
      if (known === undefined) pauses.set(name, { tenant, destination, by, atMs: now() });
      try {
        return await steer('pause', tenant, destination, by);
      } catch (error) {
        if (error instanceof LaneNotFoundError && known === undefined) pauses.delete(name);
        throw error;
      }
    },

    async resume(tenant, destination, by) {
      pauses.delete(`${tenant}/${destination}`);
      return steer('resume', tenant, destination, by);
    },

    setOffsets(tenant, destination, target, { by, force }) {
      const move = moving.then(async (): Promise<LaneAnswer> => {
        const name = `${tenant}/${destination}`;
        const listening = processes().listening();
        const absent = processes().slots.filter((slot) => !listening.includes(slot));
        if (absent.length > 0) throw new ProcessesUnansweredError(`move the offsets of ${name}`, absent);
        logger.warn({ lane: name, by, target, force }, 'Moving a lane\'s committed offsets on request: holding it in every worker process.');
        const holds = await askEach(listening, { kind: 'hold', tenant, destination, maxHoldMs: options.maxHoldMs }, options.holdTimeoutMs);
        let released: Asked[] = [];
        try {
          const held = holds.filter(({ answer }) => answer?.kind === 'held');
          if (held.length === 0 && holds.some(({ answer }) => answer?.kind === 'lane_not_found')) throw new LaneNotFoundError(tenant, destination);
          const failed = holds.find(({ answer }) => answer?.kind === 'failed')?.answer;
          if (failed?.kind === 'failed') throw new Error(`A worker process could not stop ${name} for the move: ${failed.message}`);
          const silent = holds.filter(({ answer }) => answer === null).map(({ slot }) => slot);
          if (silent.length > 0) throw new ProcessesUnansweredError(`stop ${name} for the move of its offsets`, silent);
          await options.moveOffsets({ tenant, destination, target, force, by });
        } finally {
          // Every process asked is told to start the lane again, also one whose hold answer never came.
          released = await askEach(listening, { kind: 'release', tenant, destination }, options.answerTimeoutMs);
        }
        const statuses: ProcessLanes[] = released.flatMap(({ slot, answer }) => (answer?.kind === 'lane' ? [{ process: slot, lanes: [answer.lane] }] : []));
        const [lane] = mergeLaneStatuses(statuses);
        if (lane === undefined) throw new ProcessesUnansweredError(`start ${name} again after the move`, missingOf(released));
        return { lane, missingProcesses: missingOf(released) };
      });
      moving = move.catch(() => undefined);
      return move;
    },

    async reload(reason) {
      const asked = await askEach(processes().listening(), { kind: 'reload', reason }, options.reloadTimeoutMs);
      const results: ReloadResult[] = asked.flatMap(({ slot, answer }): ReloadResult[] => {
        if (answer?.kind === 'reloaded') return [answer.result];
        if (answer?.kind === 'failed') return [{ ok: false, problems: [`worker process ${slot}: reloading failed: ${answer.message}`], started: [], restarted: [], stopped: [], unchanged: [] }];
        return [];
      });
      const merged = mergeReloadResults(
        results,
        asked.filter(({ answer }) => answer === null).map(({ slot }) => slot),
      );
      const kept = new Set([...merged.started, ...merged.restarted, ...merged.unchanged]);
      for (const name of merged.stopped) if (!kept.has(name)) pauses.delete(name);
      logger.info({ reason, ok: merged.ok, started: merged.started, restarted: merged.restarted, stopped: merged.stopped, missingProcesses: merged.missingProcesses }, 'Worker processes reloaded their tenant files.');
      return merged;
    },
  };
}
