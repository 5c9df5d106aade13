import type { Logger } from 'pino';
import type { StallReason } from '../worker/worker-control.js';
import type { LaneMetrics } from './lane-metrics.js';

/**
 * Why a lane is not making progress, and since when: the `terra_fanout_lane_stalled{reason}` and
 * `..._last_progress_timestamp_seconds` gauges, the `stalled` field of the lane status, and one
 * warning when a lane with work has made no progress for `stallWarningMs` (one line when it
 * recovers). Reasons are counted, so two partitions retrying pointers are one reason held twice.
 */
export class LaneHealth {
  readonly #metrics: LaneMetrics;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #stallWarningMs: number;
  readonly #held = new Map<StallReason, { count: number; sinceMs: number }>();
  #lastProgressMs: number;
  #warned = false;

  constructor(metrics: LaneMetrics, log: Logger, now: () => number, stallWarningMs: number) {
    this.#metrics = metrics;
    this.#log = log;
    this.#now = now;
    this.#stallWarningMs = stallWarningMs;
    this.#lastProgressMs = now();
    metrics.lastProgress.set(this.#lastProgressMs / 1000);
  }

  hold(reason: StallReason): void {
    const held = this.#held.get(reason);
    if (held !== undefined) {
      held.count += 1;
      return;
    }
    this.#held.set(reason, { count: 1, sinceMs: this.#now() });
    this.#metrics.stalled[reason].set(1);
  }

  release(reason: StallReason): void {
    const held = this.#held.get(reason);
    if (held === undefined) return;
    held.count -= 1;
    if (held.count > 0) return;
    this.#held.delete(reason);
    this.#metrics.stalled[reason].set(0);
  }

  /** The oldest reason still held, with when it began. */
  get stalled(): { reason: StallReason; sinceMs: number } | null {
    let oldest: { reason: StallReason; sinceMs: number } | null = null;
    for (const [reason, { sinceMs }] of this.#held) if (oldest === null || sinceMs < oldest.sinceMs) oldest = { reason, sinceMs };
    return oldest;
  }

  isHeld(reason: StallReason): boolean {
    return this.#held.has(reason);
  }

  get lastProgressMs(): number {
    return this.#lastProgressMs;
  }

  /** The lane committed, or had nothing to do: it is not stuck. */
  progressed(): void {
    this.#lastProgressMs = this.#now();
    this.#metrics.lastProgress.set(this.#lastProgressMs / 1000);
    if (this.#warned) {
      this.#warned = false;
      this.#log.info('Lane is making progress again.');
    }
  }

  /** Called on the lane's timer: warns once when a lane with work has not progressed for too long. */
  check(hasWork: boolean, lag: { messages: number; seconds: number }): void {
    if (!hasWork) {
      this.progressed();
      return;
    }
    const idleMs = this.#now() - this.#lastProgressMs;
    if (this.#warned || idleMs < this.#stallWarningMs) return;
    this.#warned = true;
    const stalled = this.stalled;
    this.#log.warn(
      { reason: stalled?.reason ?? 'unknown', stalledSince: stalled === null ? undefined : new Date(stalled.sinceMs).toISOString(), noProgressMs: idleMs, lagMessages: lag.messages, lagSeconds: lag.seconds },
      'Lane has made no progress; see reason.',
    );
  }
}
