import type { TapEvent, TapSink } from '../worker/worker-control.js';
import { eventMatches, laneMatches } from './tap-filter.js';
import type { TapSubscriptionFilter } from './tap-hub.js';

/**
 * The tap of a worker process of `run --processes N`. Lanes publish to it as they would to the
 * tap hub; it forwards to the primary, whose hub serves the `/admin/tap` readers, only what those
 * readers selected: the primary sends their filters while it has readers, and with none `wants()`
 * is false and lanes build nothing.
 *
 * Events go in batches, one per turn of the event loop. At most `queueEvents` events are on their
 * way at once (batched, or handed to the IPC channel and not yet written out); beyond that an
 * event is dropped and counted for each reader it was meant for, and the counts go with the next
 * batch, so those readers are told what they lost, as with the hub's own bound. A lane never waits.
 * Bodies are sent only when a reader asked for them, cut one byte past `maxBodyBytes`: the
 * primary's hub cuts them again and so still marks the long ones as cut.
 */
export interface TapBatch {
  /** Events, `body` set when some reader asked for bodies. */
  events: TapEvent[];
  /** Events dropped since the last batch, per reader (the primary hub's subscription id). */
  dropped: Array<{ subscription: number; count: number }>;
}

export interface TapForwarder extends TapSink {
  /** The readers' filters now (the primary sends them whenever one comes or goes); empty stops the tap. */
  setSubscriptions(subscriptions: readonly TapSubscriptionFilter[]): void;
}

export interface TapForwarderOptions {
  queueEvents: number;
  maxBodyBytes: number;
  /**
   * Hands a batch to the channel and calls `written` once it left the process. Returns false when
   * it could not be sent (the primary is gone): the batch is forgotten.
   */
  send(batch: TapBatch, written: () => void): boolean;
}

export function createTapForwarder(options: TapForwarderOptions): TapForwarder {
  let subscriptions: readonly TapSubscriptionFilter[] = [];
  let batch: TapEvent[] = [];
  const dropped = new Map<number, number>();
  /** Events batched or sent and not yet written out. */
  let onTheirWay = 0;
  let scheduled = false;

  const flush = (): void => {
    scheduled = false;
    if (batch.length === 0 && dropped.size === 0) return;
    const events = batch;
    const count = events.length;
    batch = [];
    const lost = [...dropped].map(([subscription, number]) => ({ subscription, count: number }));
    dropped.clear();
    let released = false;
    const written = (): void => {
      if (released) return;
      released = true;
      onTheirWay -= count;
    };
    if (!options.send({ events, dropped: lost }, written)) written();
  };

  const schedule = (): void => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(flush);
  };

  return {
    setSubscriptions(next) {
      subscriptions = next;
      if (next.length === 0) {
        // Nobody reads any more: what is batched and the drop counts have no reader left.
        onTheirWay -= batch.length;
        batch = [];
        dropped.clear();
      }
    },

    wants(tenant, destination) {
      return subscriptions.some(({ filter }) => laneMatches(filter, tenant, destination));
    },

    publish(event, body) {
      const matching = subscriptions.filter(({ filter }) => eventMatches(filter, event));
      if (matching.length === 0) return;
      if (onTheirWay >= options.queueEvents) {
        for (const { id } of matching) dropped.set(id, (dropped.get(id) ?? 0) + 1);
        schedule();
        return;
      }
      const { body: _ignored, ...bare } = event;
      let forwarded: TapEvent = bare;
      if (matching.some(({ filter }) => filter.bodies)) {
        const bytes = body();
        forwarded = { ...bare, body: bytes.subarray(0, options.maxBodyBytes + 1).toString('utf8') };
      }
      batch.push(forwarded);
      onTheirWay += 1;
      schedule();
    },
  };
}
