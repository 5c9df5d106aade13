/**
 * Freezing a local test server to play a destination that hangs: SIGSTOP to the server process
 * and every process below it (PostgreSQL serves each connection from a forked backend), SIGCONT
 * to all of them on thaw(). The kernel still accepts TCP connections to a frozen server, so a
 * client connects and then waits for an answer that never comes: what a hung database, a
 * half-dead load balancer or a long GC pause look like from the client.
 *
 *   const frozen = freezeProcessTree(server.pid);
 *   try { ... } finally { frozen.thaw(); }
 */
import { readFileSync, readdirSync } from 'node:fs';

export interface FrozenProcess {
  /** Every process that was stopped, the root first. */
  readonly pids: readonly number[];
  /** Sends SIGCONT to every stopped process. Idempotent. */
  thaw(): void;
}

/** The direct children of `pid` (from /proc/<pid>/task/<tid>/children). */
function childrenOf(pid: number): number[] {
  const children: number[] = [];
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return children;
  }
  for (const task of tasks) {
    try {
      for (const child of readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim().split(/\s+/)) if (child !== '') children.push(Number(child));
    } catch {
      // the task ended meanwhile
    }
  }
  return children;
}

/** True once every thread of `pid` is stopped (state T in /proc/<pid>/task/<tid>/stat), or it is gone. */
function allThreadsStopped(pid: number): boolean {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return true;
  }
  for (const task of tasks) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/task/${task}/stat`, 'utf8');
    } catch {
      continue; // the thread ended meanwhile
    }
    // "tid (comm) S ...": the state follows the last ')' (comm may itself hold parentheses).
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (state !== 'T' && state !== 't') return false;
  }
  return true;
}

const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * kill(SIGSTOP) returns once the signal is queued, before every thread has stopped: on a loaded
 * machine a server thread can still answer a request sent in that window. Wait (synchronously,
 * so a hook that freezes just before a step is sent needs no await) until every thread of every
 * stopped process is stopped.
 */
function waitUntilStopped(pids: readonly number[]): void {
  const deadline = Date.now() + 10_000;
  for (const pid of pids) {
    while (!allThreadsStopped(pid)) {
      if (Date.now() > deadline) throw new Error(`freezeProcessTree: process ${pid} did not stop within 10 s`);
      Atomics.wait(pause, 0, 0, 1);
    }
  }
}

const frozenNow = new Set<FrozenProcess>();
let cleanupRegistered = false;

/**
 * Stops `pid` first (so it forks nothing new), then its descendants. Tests thaw in `finally`;
 * as a safety net every tree still frozen is thawed when the test process exits, so a failing
 * test never leaves a server stopped for the harness to stumble on.
 */
export function freezeProcessTree(pid: number): FrozenProcess {
  if (!cleanupRegistered) {
    cleanupRegistered = true;
    process.once('exit', () => {
      for (const frozen of frozenNow) frozen.thaw();
    });
  }
  const stopped: number[] = [];
  const pending = [pid];
  for (let next = pending.shift(); next !== undefined; next = pending.shift()) {
    try {
      process.kill(next, 'SIGSTOP');
      stopped.push(next);
    } catch {
      continue; // gone already
    }
    pending.push(...childrenOf(next));
  }
  let thawed = false;
  const frozen: FrozenProcess = {
    pids: stopped,
    thaw() {
      if (thawed) return;
      thawed = true;
      frozenNow.delete(frozen);
      for (const stoppedPid of stopped) {
        try {
          process.kill(stoppedPid, 'SIGCONT');
        } catch {
          // gone
        }
      }
    },
  };
  frozenNow.add(frozen);
  try {
    waitUntilStopped(stopped);
  } catch (error) {
    frozen.thaw();
    throw error;
  }
  return frozen;
}
