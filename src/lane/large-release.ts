/**
 * After lanes let go of large messages, one full collection soon, instead of waiting for V8 to
 * notice. A 30 MB heart-rate series leaves about 100 MiB behind once delivered (its bytes, the
 * string JSON.parse read, the parsed samples); V8 collects by the heap's growth since the last
 * collection, so with a few such events in a row the garbage of several piles up. Measured with a
 * 96 MiB budget and eight 30 MB events read one per fetch into a file lane: peak RSS ~320 MiB above
 * idle without, ~200 MiB with (README, Performance).
 *
 * Only messages of at least LARGE_MESSAGE_BYTES count (small ones are young garbage the scavenger
 * handles cheaply), a collection waits until LARGE_RELEASE_BYTES of them were released, at most one
 * per MIN_INTERVAL_MS, and it runs from setImmediate, once the releasing code has dropped its
 * references. A full collection costs tens of milliseconds of the event loop per 100 MiB of live
 * heap, a few percent of the CPU a 30 MB event takes to decode and deliver.
 */
import { collectGarbage } from '../runtime/collect-garbage.js';

export const LARGE_MESSAGE_BYTES = 4 * 1024 * 1024;
export const LARGE_RELEASE_BYTES = 16 * 1024 * 1024;
export const MIN_INTERVAL_MS = 250;

export interface LargeReleasePolicy {
  /** Called with the messages a lane just released (`bytes`: what each held of the budget). */
  released(messages: Iterable<{ readonly bytes: number }>): void;
}

/** `schedule` runs `run` after `delayMs` (0: once the current callbacks are done). */
export function createLargeReleasePolicy(options: { collect: () => void; schedule: (run: () => void, delayMs: number) => void; now: () => number }): LargeReleasePolicy {
  let pending = 0;
  let scheduled = false;
  let lastMs = Number.NEGATIVE_INFINITY;
  const run = (): void => {
    scheduled = false;
    if (pending < LARGE_RELEASE_BYTES) return;
    const waitMs = lastMs + MIN_INTERVAL_MS - options.now();
    if (waitMs > 0) {
      scheduled = true;
      options.schedule(run, waitMs);
      return;
    }
    pending = 0;
    lastMs = options.now();
    options.collect();
  };
  return {
    released(messages) {
      for (const { bytes } of messages) if (bytes >= LARGE_MESSAGE_BYTES) pending += bytes;
      if (pending < LARGE_RELEASE_BYTES || scheduled) return;
      scheduled = true;
      options.schedule(run, 0);
    },
  };
}

/** The process-wide policy the lanes share. */
export const largeReleases: LargeReleasePolicy = createLargeReleasePolicy({
  collect: () => void collectGarbage(),
  schedule: (run, delayMs) => void (delayMs === 0 ? setImmediate(run) : setTimeout(run, delayMs).unref()),
  now: Date.now,
});
