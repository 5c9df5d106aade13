/**
 * `run --processes N`: N worker processes, each a full worker (every lane) on the same worker
 * file. They join the same consumer groups, so Kafka spreads each lane's partitions over them.
 * This primary process forks and supervises them and serves their `/metrics`, `/healthz` and
 * `/readyz` on the one configured port; it consumes nothing itself.
 *
 * - A worker process that exits when it was not asked to is restarted after a backoff (doubling
 *   from `restart.initialDelayMs` to `restart.maxDelayMs`); one that ran `restart.stableAfterMs`
 *   counts as healthy again. After `restart.maxQuickFailures` failures in a row, each sooner than
 *   that, the group gives up: `fatal` resolves, and the caller stops the others and exits non-zero
 *   so the orchestrator sees it.
 * - `stop()` asks every process to drain (the same as its own SIGTERM), waits up to
 *   `shutdown.drainTimeoutMs` plus `stopMarginMs`, then kills the stragglers with SIGKILL (their
 *   uncommitted offsets are read again, as after any crash).
 * - A worker process whose primary disappears drains and exits by itself (see worker-process.ts).
 * - The admin API (served here when `extraRoutes` are given) reaches the worker processes through
 *   `processes`: requests with an id and a deadline, like the metrics of a scrape; a process that
 *   says `hello` gets `startState()` first (process-group-messages.ts).
 */
import { fork, type ChildProcess } from 'node:child_process';
import type { Logger } from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { AggregatedRegistry, labelProcess } from '../observability/aggregate-metrics.js';
import { startHttpServer, type ExtraRoutes, type HttpServer } from '../observability/http-server.js';
import type { TapBatch } from '../tap/tap-forwarder.js';
import type { TapSubscriptionFilter } from '../tap/tap-hub.js';
import {
  fromWorkerProcessSchema,
  metricsAsJson,
  type FromWorkerProcess,
  type MetricJson,
  type Readiness,
  type StartMessage,
  type ToWorkerProcess,
  type WorkerAnswer,
  type WorkerRequest,
} from './process-group-messages.js';

export interface RestartPolicy {
  initialDelayMs: number;
  maxDelayMs: number;
  /** A process that ran this long before it died counts as a fresh failure, not one in a row. */
  stableAfterMs: number;
  /** Failures in a row (each within stableAfterMs of its start) after which the group gives up. */
  maxQuickFailures: number;
}

export const defaultRestartPolicy: RestartPolicy = { initialDelayMs: 1000, maxDelayMs: 30_000, stableAfterMs: 60_000, maxQuickFailures: 5 };

export interface ProcessGroupOptions {
  /** The module each worker process runs, with `args` and then its slot number ("1".."N"). */
  workerModule: string;
  args: readonly string[];
  /** Node flags for each worker process (default: this process's own). */
  execArgv?: readonly string[];
  /** Variables each worker process gets on top of this process's environment. */
  env?: Readonly<Record<string, string>>;
  processes: number;
  http: { host: string; port: number };
  drainTimeoutMs: number;
  logger: Logger;
  restart?: RestartPolicy;
  /** Added to drainTimeoutMs before stragglers are killed. Default 5 s. */
  stopMarginMs?: number;
  /** How long a scrape waits for a worker process's metrics; a late one is left out. Default 2 s. */
  scrapeTimeoutMs?: number;
  /**
   * This process's own metrics (for instance of an ingest gateway it runs), served with the
   * worker processes' ones; Node.js and process metrics are added to it. Default: a new registry.
   */
  ownMetrics?: Registry;
  /** Served on the port beside /metrics and the health routes (the primary's admin API). */
  extraRoutes?: ExtraRoutes;
  /** What a worker process starts with (operator pauses, tap readers), asked when it says hello. Default: nothing. */
  startState?: () => Omit<StartMessage, 'type'>;
  /** Receives the tap events the worker processes forward. */
  onTap?: (batch: TapBatch) => void;
}

/**
 * The worker processes as the primary's admin API reaches them. Slots are 1..N and keep their
 * number across restarts.
 */
export interface WorkerProcesses {
  readonly slots: readonly number[];
  /** Slots whose process started its worker (it reported its readiness): they answer at once. */
  started(): number[];
  /**
   * Slots whose process said hello and got its start state: a change of that state (a pause, the
   * tap readers) must be sent to them; a process that is not listening yet gets it with `start`.
   */
  listening(): number[];
  /**
   * Asks one process; resolves with its answer, or null when it is not listening or did not answer
   * within timeoutMs (a late answer is dropped). A process that has not started yet answers once it has.
   */
  ask(slot: number, request: WorkerRequest, timeoutMs: number): Promise<WorkerAnswer | null>;
  /** Sends the tap readers' filters to every listening process. */
  sendTapSubscriptions(subscriptions: readonly TapSubscriptionFilter[]): void;
}

export interface RunningProcessGroup {
  http: HttpServer;
  /** Process ids by slot; 0 while a slot is between a death and its restart. For logs and tests. */
  pids(): number[];
  processes: WorkerProcesses;
  /** Resolves when the group cannot go on (a process keeps failing). The caller should stop(). */
  fatal: Promise<Error>;
  /** Drains every worker process; resolves when all exited 0, rejects naming the ones that did not. */
  stop(): Promise<void>;
  /** Kills every worker process at once (SIGKILL), for a second Ctrl-C. */
  kill(): void;
}

interface Slot {
  index: number;
  child: ChildProcess | null;
  startedAt: number;
  /** The process said hello and was sent its start state. */
  listening: boolean;
  /** null until the process reported that it started; then what its /readyz waits for. */
  waiting: string[] | null;
  /** Its lanes that are stalled, and the ones an operator paused, as its /readyz last said. */
  stalled: Readiness['stalled'];
  paused: string[];
  quickFailures: number;
  restartTimer: NodeJS.Timeout | null;
  /** Exit code (or signal) of the last exit, for stop()'s verdict. */
  lastExit: string | null;
}

const DEFAULT_STOP_MARGIN_MS = 5000;

const exitOf = (child: ChildProcess): Promise<void> =>
  child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()));

export async function startProcessGroup(options: ProcessGroupOptions): Promise<RunningProcessGroup> {
  const { logger } = options;
  const restart = options.restart ?? defaultRestartPolicy;
  const scrapeTimeoutMs = options.scrapeTimeoutMs ?? 2000;
  const slots: Slot[] = Array.from({ length: options.processes }, (_, index) => ({ index: index + 1, child: null, startedAt: 0, listening: false, waiting: null, stalled: [], paused: [], quickFailures: 0, restartTimer: null, lastExit: null }));
  let stopping = false;
  let reportFatal: (error: Error) => void = () => undefined;
  const fatal = new Promise<Error>((resolve) => {
    reportFatal = resolve;
  });

  let nextRequest = 0;
  /** Requests waiting for their answer (metrics or an admin answer), by id; a process that exits answers none of its own. */
  const pending = new Map<number, { slot: Slot; finish: (message: FromWorkerProcess | null) => void }>();

  const send = (slot: Slot, message: ToWorkerProcess): boolean => {
    const child = slot.child;
    if (child === null || !child.connected) return false;
    try {
      child.send(message);
      return true;
    } catch {
      return false;
    }
  };

  const spawn = (slot: Slot): void => {
    slot.restartTimer = null;
    const child = fork(options.workerModule, [...options.args, String(slot.index)], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
      ...(options.execArgv === undefined ? {} : { execArgv: [...options.execArgv] }),
      ...(options.env === undefined ? {} : { env: { ...process.env, ...options.env } }),
    });
    slot.child = child;
    slot.startedAt = Date.now();
    slot.listening = false;
    slot.waiting = null;
    slot.stalled = [];
    slot.paused = [];
    logger.info({ process: slot.index, pid: child.pid }, 'Worker process started.');
    child.on('message', (raw: unknown) => {
      const parsed = fromWorkerProcessSchema.safeParse(raw);
      if (!parsed.success) return;
      const message = parsed.data;
      if (message.type === 'hello') {
        // Sent in the same turn as the state is read, so no change of it can fall in between.
        slot.listening = send(slot, { type: 'start', ...(options.startState?.() ?? { pauses: [], tapSubscriptions: [] }) });
      } else if (message.type === 'readiness') {
        slot.waiting = message.ready ? [] : message.waiting.length > 0 ? message.waiting : ['not ready'];
        slot.stalled = message.stalled;
        slot.paused = message.paused;
      } else if (message.type === 'tap') {
        options.onTap?.({ events: message.events, dropped: message.dropped });
      } else {
        pending.get(message.id)?.finish(message);
      }
    });
    // An IPC channel error (the process died mid-send) shows up as its exit too.
    child.on('error', (error) => logger.warn({ process: slot.index, err: error }, 'Worker process channel error.'));
    child.once('exit', (code, signal) => {
      if (slot.child === child) slot.child = null;
      slot.listening = false;
      slot.waiting = null;
      for (const request of [...pending.values()]) if (request.slot === slot) request.finish(null);
      slot.lastExit = signal ?? String(code);
      if (stopping) return;
      const ranMs = Date.now() - slot.startedAt;
      slot.quickFailures = ranMs < restart.stableAfterMs ? slot.quickFailures + 1 : 1;
      if (slot.quickFailures > restart.maxQuickFailures) {
        logger.error({ process: slot.index, pid: child.pid, code, signal, failures: slot.quickFailures - 1 }, 'Worker process keeps failing; giving up on the group.');
        reportFatal(new Error(`worker process ${slot.index} failed ${slot.quickFailures - 1} times in a row, each within ${restart.stableAfterMs} ms of its start`));
        return;
      }
      const delayMs = Math.min(restart.maxDelayMs, restart.initialDelayMs * 2 ** (slot.quickFailures - 1));
      logger.error({ process: slot.index, pid: child.pid, code, signal, ranMs, restartInMs: delayMs }, 'Worker process exited unexpectedly; restarting it.');
      slot.restartTimer = setTimeout(() => spawn(slot), delayMs);
    });
  };

  /** Sends `message(id)` and resolves with the answer carrying that id, or null when none came within timeoutMs. */
  const requestOf = (slot: Slot, message: (id: number) => ToWorkerProcess, timeoutMs: number): Promise<FromWorkerProcess | null> => {
    const id = nextRequest++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => finish(null), timeoutMs);
      const finish = (answer: FromWorkerProcess | null): void => {
        clearTimeout(timer);
        pending.delete(id);
        resolve(answer);
      };
      pending.set(id, { slot, finish });
      if (!send(slot, message(id))) finish(null);
    });
  };

  /** One process's metrics, or null when it did not answer in time. */
  const collect = async (slot: Slot): Promise<MetricJson[] | null> => {
    const answer = await requestOf(slot, (id) => ({ type: 'collect-metrics', id }), scrapeTimeoutMs);
    return answer?.type === 'metrics' ? answer.metrics : null;
  };

  const processes: WorkerProcesses = {
    slots: slots.map((slot) => slot.index),
    started: () => slots.filter((slot) => slot.waiting !== null).map((slot) => slot.index),
    listening: () => slots.filter((slot) => slot.listening).map((slot) => slot.index),
    async ask(index, request, timeoutMs) {
      const slot = slots[index - 1];
      if (slot === undefined || !slot.listening) return null;
      const answer = await requestOf(slot, (id) => ({ type: 'request', id, request }), timeoutMs);
      return answer?.type === 'answer' ? answer.answer : null;
    },
    sendTapSubscriptions(subscriptions) {
      for (const slot of slots) if (slot.listening) send(slot, { type: 'tap-subscriptions', subscriptions: [...subscriptions] });
    },
  };

  // The primary's own Node.js and process metrics join the sums (CPU, memory of the deployment).
  const own = options.ownMetrics ?? new Registry();
  collectDefaultMetrics({ register: own });
  const registry = new AggregatedRegistry(async () => {
    const started = slots.filter((slot) => slot.waiting !== null);
    const answers = await Promise.all(started.map(async (slot) => ({ slot, metrics: await collect(slot) })));
    const gathered = [await metricsAsJson(own)];
    for (const { slot, metrics } of answers) if (metrics !== null) gathered.push(labelProcess(metrics, String(slot.index)));
    return gathered;
  });

  const http = await startHttpServer({
    host: options.http.host,
    port: options.http.port,
    registry,
    extraRoutes: options.extraRoutes,
    // Each process's lanes, named `process N: tenant/destination` (every process runs every lane).
    health: {
      notReady: () => slots.flatMap((slot) => (slot.waiting === null ? [`process ${slot.index}: starting`] : slot.waiting.map((what) => `process ${slot.index}: ${what}`))),
      stalled: () => slots.flatMap((slot) => slot.stalled.map((stall) => ({ ...stall, lane: `process ${slot.index}: ${stall.lane}` }))),
      paused: () => slots.flatMap((slot) => slot.paused.map((lane) => `process ${slot.index}: ${lane}`)),
    },
  });
  for (const slot of slots) spawn(slot);
  logger.info({ processes: options.processes, http: http.url }, 'Worker processes started.');

  let stopped: Promise<void> | undefined;
  return {
    http,
    pids: () => slots.map((slot) => slot.child?.pid ?? 0),
    processes,
    fatal,
    kill() {
      stopping = true;
      for (const slot of slots) {
        if (slot.restartTimer !== null) clearTimeout(slot.restartTimer);
        slot.child?.kill('SIGKILL');
      }
    },
    stop() {
      stopped ??= (async () => {
        stopping = true;
        const deadlineMs = options.drainTimeoutMs + (options.stopMarginMs ?? DEFAULT_STOP_MARGIN_MS);
        logger.info({ deadlineMs }, 'Draining worker processes.');
        const running: Array<{ slot: Slot; child: ChildProcess }> = [];
        for (const slot of slots) {
          if (slot.restartTimer !== null) clearTimeout(slot.restartTimer);
          slot.restartTimer = null;
          if (slot.child === null) continue;
          running.push({ slot, child: slot.child });
          if (!send(slot, { type: 'stop' })) slot.child.kill('SIGTERM');
        }
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<'late'>((resolve) => {
          timer = setTimeout(() => resolve('late'), deadlineMs);
        });
        const outcome = await Promise.race([Promise.all(running.map(({ child }) => exitOf(child))), late]);
        clearTimeout(timer);
        const killed: number[] = [];
        if (outcome === 'late') {
          for (const { slot, child } of running) {
            if (child.exitCode !== null || child.signalCode !== null) continue;
            killed.push(slot.index);
            child.kill('SIGKILL');
          }
          logger.error({ processes: killed, deadlineMs }, 'Worker processes did not drain in time; killed them.');
          await Promise.all(running.map(({ child }) => exitOf(child)));
        }
        await http.close();
        const failed = running.filter(({ slot }) => slot.lastExit !== '0').map(({ slot }) => `process ${slot.index} (${slot.lastExit ?? 'unknown'})`);
        if (failed.length > 0) throw new Error(`worker processes did not drain cleanly: ${failed.join(', ')}`);
        logger.info('Worker processes stopped.');
      })();
      return stopped;
    },
  };
}
