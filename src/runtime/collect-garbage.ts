/**
 * A full V8 collection on request, in the main thread or a worker thread. Node offers `gc()` only
 * with `--expose-gc`; the flag can be set at run time and the function read from a fresh context.
 * Used where large buffers (tens of MB of Terra samples) were just let go and would otherwise wait
 * for a collection that V8 schedules by the heap's growth, not by what the process holds.
 *
 * Off (a no-op) with TERRA_FANOUT_V8_TUNING=off, like the rest of the worker's V8 tuning.
 */
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { v8TuningOff } from './v8-tuning.js';

let collect: (() => void) | null | undefined;

function collector(): (() => void) | null {
  if (collect !== undefined) return collect;
  if (v8TuningOff()) return (collect = null);
  try {
    v8.setFlagsFromString('--expose-gc');
    const found: unknown = runInNewContext('gc');
    collect = typeof found === 'function' ? () => void (found as () => unknown)() : null;
  } catch {
    collect = null;
  }
  return collect;
}

/** Runs a full collection now; false when it is off or unavailable. */
export function collectGarbage(): boolean {
  const run = collector();
  run?.();
  return run !== null;
}
