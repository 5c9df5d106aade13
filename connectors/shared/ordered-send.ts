import type { RecordOutcome } from '../../src/connector/contract.js';
import { FanoutError, toFanoutError } from '../../src/errors/catalogue.js';
import { shutdownError } from './call-deadline.js';

export interface OrderedSendOptions<Item> {
  /** Items with the same key are sent one after another, in batch order (a user, an object key). */
  keyOf(item: Item, index: number): string;
  /** How many keys are worked on at the same time (at least 1). */
  concurrency: number;
  /** The send's shutdown signal: items not started when it aborts are not sent. */
  signal: AbortSignal;
}

/**
 * Sends a batch with bounded parallelism while keeping the order within each key, and reports one
 * outcome per item in batch order. `sendOne` reports its own failures as outcomes; a throw
 * becomes that item's outcome (internal_error unless it is a FanoutError).
 *
 * After a retryable failure, the later items of the same key are held back with a retryable
 * outcome, so the engine's retry can never land an older item after a newer one. After a
 * permanent failure (the item is parked) the key goes on. Items not started at shutdown get
 * destination_unavailable.
 */
export async function sendInKeyOrder<Item>(
  items: readonly Item[],
  options: OrderedSendOptions<Item>,
  sendOne: (item: Item, index: number) => Promise<RecordOutcome>,
): Promise<RecordOutcome[]> {
  const groups = new Map<string, number[]>();
  items.forEach((item, index) => {
    const key = options.keyOf(item, index);
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [index]);
    else group.push(index);
  });
  const queue = [...groups.values()];
  const outcomes: RecordOutcome[] = new Array<RecordOutcome>(items.length);

  const runGroup = async (indexes: readonly number[]): Promise<void> => {
    let blocker: FanoutError | undefined;
    for (const index of indexes) {
      const item = items[index];
      if (item === undefined) continue;
      if (blocker !== undefined) {
        outcomes[index] = { ok: false, error: heldBack(blocker) };
      } else if (options.signal.aborted) {
        outcomes[index] = { ok: false, error: shutdownError('sent') };
      } else {
        const outcome = await sendOne(item, index).catch((error: unknown): RecordOutcome => ({ ok: false, error: toFanoutError(error) }));
        outcomes[index] = outcome;
        if (!outcome.ok && outcome.error.retryable) blocker = outcome.error;
      }
    }
  };

  const worker = async (): Promise<void> => {
    for (let group = queue.shift(); group !== undefined; group = queue.shift()) await runGroup(group);
  };
  const workers = Math.max(1, Math.min(options.concurrency, queue.length));
  await Promise.all(Array.from({ length: workers }, worker));
  return outcomes;
}

function heldBack(blocker: FanoutError): FanoutError {
  const message = `Not sent: an earlier record with the same ordering key failed (${blocker.code}).`;
  const detail = { heldBack: true, blockedBy: blocker.code };
  return new FanoutError(blocker.code, message, blocker.retryAfterMs === undefined ? { detail } : { detail, retryAfterMs: blocker.retryAfterMs });
}
