/**
 * The V8 heap settings a worker runs with, derived from its byte budget:
 *
 * - a young generation sized from `budgets.processInFlightBytes` (semi-spaces of a quarter of the
 *   budget, 8 to 64 MiB): a lane allocates a few objects per message and keeps few of them, so a
 *   larger young generation means far fewer scavenges (measured with one lane to a discard sink and
 *   the default 256 MiB budget: 32 µs CPU per message with V8's 16 MiB, 21 µs with 64 MiB), while a
 *   small budget keeps a small one;
 * - a heap that grows by at most `HEAP_GROWING_PERCENT` over what survived each full collection
 *   (V8 may otherwise let it grow up to four times), so garbage cannot pile up to several times the
 *   budget before V8 collects it. Measured with a 96 MiB budget and a backlog of small events: peak
 *   RSS above idle ~220 MiB with V8's default, ~100 at 100%, ~65 at 20%; CPU per message is the same
 *   as the default at 100% but a third higher at 30% (more full collections), hence 100.
 *
 * - glibc's malloc told to give every allocation of 1 MiB or more its own mapping, returned to the
 *   system when freed (`MALLOC_MMAP_THRESHOLD_`). By default glibc raises that threshold to the size
 *   of the largest block freed, up to 32 MiB, and then keeps freed blocks below it in its heap: after
 *   a few 30 MB Terra events (their Kafka batches, decompressed values and file bodies) the process
 *   kept tens of MiB it no longer used. Measured with a 96 MiB budget and eight 30 MB events: peak
 *   RSS above idle 176 MiB with glibc's default, 148 with the threshold.
 *
 * The young generation and malloc's settings can only be set when Node starts, so `run` starts
 * itself again with them (this module is small and loads no SDK, so the first process stays small);
 * the heap growth is set at run time. An explicit `--max-semi-space-size` / `--heap-growing-percent`
 * in the node command or NODE_OPTIONS always wins, so does a `MALLOC_MMAP_THRESHOLD_` in the
 * environment, and TERRA_FANOUT_V8_TUNING=off leaves V8's and malloc's defaults.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import v8 from 'node:v8';
import { readYamlSource } from '../config/yaml-source.js';
import { workerConfigSchema } from '../config/worker-schema.js';
import { v8TuningOff } from '../runtime/v8-tuning.js';

const MiB = 1024 * 1024;
export const HEAP_GROWING_PERCENT = 100;
/** Set in the environment of the process `run` starts, so it never starts another one. */
const TUNED = 'TERRA_FANOUT_V8_TUNED';

function nodeFlags(): string {
  return `${process.execArgv.join(' ')} ${process.env['NODE_OPTIONS'] ?? ''}`;
}

/** Semi-space size for a process budget, in MiB: a quarter of the budget, 8 to 64. */
export function semiSpaceMiB(processBudgetBytes: number): number {
  return Math.max(8, Math.min(64, Math.round(processBudgetBytes / 4 / MiB)));
}

/** V8's own maximum semi-space on 64-bit machines, in MiB (what a budget of 256 MiB asks for anyway). */
const V8_DEFAULT_SEMI_SPACE_MIB = 16;

/**
 * The Node flags a worker process should start with: none when the budget asks for V8's default
 * (a 64 MiB budget does), when the user set their own, or when tuning is off.
 */
export function workerNodeFlags(processBudgetBytes: number): string[] {
  if (v8TuningOff() || nodeFlags().includes('--max-semi-space-size')) return [];
  const semi = semiSpaceMiB(processBudgetBytes);
  return semi === V8_DEFAULT_SEMI_SPACE_MIB ? [] : [`--max-semi-space-size=${semi}`];
}

const MALLOC_MMAP_THRESHOLD = 'MALLOC_MMAP_THRESHOLD_';

/**
 * The environment a worker process should start with besides its own: the malloc threshold above,
 * unless the environment sets one already or tuning is off. Ignored where malloc is not glibc's.
 */
export function workerEnvironment(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  if (v8TuningOff() || env[MALLOC_MMAP_THRESHOLD] !== undefined) return {};
  return { [MALLOC_MMAP_THRESHOLD]: String(MiB) };
}

/** Applies the run-time part (heap growth) to this process, unless the user set it. */
export function applyHeapGrowth(): void {
  if (v8TuningOff() || nodeFlags().includes('--heap-growing-percent')) return;
  v8.setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}

/**
 * For `run` in one process: when this process lacks the young-generation flag its budget calls
 * for, starts the same command again with it, forwards signals, and resolves with the exit code to
 * exit with; resolves null when this process should run the worker itself. The worker file is read
 * with the worker schema only (no connector, no SDK); a file that does not load is left for the
 * real run to report.
 */
export async function relaunchWithWorkerFlags(configPath: string): Promise<number | null> {
  if (process.env[TUNED] === '1') return null;
  const source = await readYamlSource(configPath, process.env);
  if (!source.usable) return null;
  const parsed = workerConfigSchema.safeParse(source.data);
  if (!parsed.success) return null;
  const flags = workerNodeFlags(parsed.data.budgets.processInFlightBytes);
  const environment = workerEnvironment();
  if (flags.length === 0 && Object.keys(environment).length === 0) return null;
  // The IPC channel only tells the worker when this process is gone (see dieWithLauncher).
  const child = spawn(process.execPath, [...flags, ...process.execArgv, ...process.argv.slice(1)], { stdio: ['inherit', 'inherit', 'inherit', 'ipc'], env: { ...process.env, ...environment, [TUNED]: '1' } });
  const forward = (signal: NodeJS.Signals): void => void child.kill(signal);
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, forward);
  return new Promise((resolve) => {
    child.on('error', () => resolve(1));
    child.on('exit', (code, signal) => resolve(code ?? 128 + (signal === null ? 0 : (constants.signals[signal] ?? 0))));
  });
}

/**
 * In a worker started by relaunchWithWorkerFlags: when the launcher is gone without asking this
 * process to stop (it was SIGKILLed, OOM-killed), go at once the same way, never draining on
 * after it: whoever restarts the launcher must not find this process still holding its lanes.
 */
export function dieWithLauncher(): void {
  if (process.env[TUNED] !== '1' || process.send === undefined) return;
  const die = (): void => void process.kill(process.pid, 'SIGKILL');
  // The launcher may be gone already (killed while this process was still loading).
  if (!process.connected) die();
  process.on('disconnect', die);
  process.channel?.unref();
}
