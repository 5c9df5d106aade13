import type { TapEvent, TapSink } from '../worker/worker-control.js';
import { eventMatches, laneMatches, type TapFilter } from './tap-filter.js';

export type { TapFilter } from './tap-filter.js';

/**
 * The tap hub: lanes publish what leaves them (delivered, parked, filtered) and `/admin/tap`
 * readers subscribe with a filter. Lanes never wait on a reader: each subscriber has a bounded
 * queue, and an event that finds it full is dropped for that subscriber and counted, so a slow
 * reader loses events (and is told how many) instead of slowing a lane. With nobody listening,
 * `wants()` is false and a lane builds nothing.
 */

/** One event as a subscriber receives it. */
export interface TappedEvent extends TapEvent {
  /** Set when the body was asked for and cut at maxBodyBytes. */
  bodyTruncated?: boolean;
}

export interface TapSubscription {
  /** Takes what is queued and the number of events dropped since the last take. */
  take(): { events: TappedEvent[]; dropped: number };
  /** True once closed, by the reader or by closeAll(); the reader's onReady is called then too. */
  readonly closed: boolean;
  close(): void;
}

export interface TapHub extends TapSink {
  /**
   * Adds a subscriber; `onReady` is called (at most once per turn of the event loop) when events
   * were queued for it. Null when maxSubscribers are already subscribed.
   */
  subscribe(filter: TapFilter, onReady: () => void): TapSubscription | null;
  readonly subscribers: number;
  /** Every subscriber's filter now, with its id. */
  subscriptions(): TapSubscriptionFilter[];
  /**
   * Counts events a subscriber lost before they reached the hub (with `run --processes N`, a
   * worker process's own bound); its reader is told with its own drops. An unknown id is ignored.
   */
  lose(subscription: number, count: number): void;
  /** Ends every subscription (at shutdown). */
  closeAll(): void;
}

/** A subscriber's filter and the id `lose()` knows it by. */
export interface TapSubscriptionFilter {
  id: number;
  filter: TapFilter;
}

export interface TapHubOptions {
  maxSubscribers: number;
  queueEvents: number;
  maxBodyBytes: number;
  /**
   * Called with every subscriber's filter after one subscribed or left (`run --processes N`
   * passes them on to its worker processes, which forward only what they select).
   */
  onSubscriptionsChange?: (subscriptions: readonly TapSubscriptionFilter[]) => void;
}

interface Subscriber {
  id: number;
  filter: TapFilter;
  queue: TappedEvent[];
  dropped: number;
  scheduled: boolean;
  onReady: () => void;
}

export function createTapHub(options: TapHubOptions): TapHub {
  const subscribers = new Set<Subscriber>();
  const closers = new Map<Subscriber, () => void>();
  let nextId = 1;
  const subscriptions = (): TapSubscriptionFilter[] => [...subscribers].map(({ id, filter }) => ({ id, filter }));
  const changed = (): void => options.onSubscriptionsChange?.(subscriptions());

  const schedule = (subscriber: Subscriber): void => {
    if (subscriber.scheduled) return;
    subscriber.scheduled = true;
    setImmediate(() => {
      subscriber.scheduled = false;
      if (subscribers.has(subscriber)) subscriber.onReady();
    });
  };

  return {
    get subscribers() {
      return subscribers.size;
    },

    subscriptions,

    wants(tenant, destination) {
      if (subscribers.size === 0) return false;
      for (const subscriber of subscribers) if (laneMatches(subscriber.filter, tenant, destination)) return true;
      return false;
    },

    publish(event, body) {
      if (subscribers.size === 0) return;
      // The body is built once, and only when some subscriber asked for it.
      let text: { body: string; truncated: boolean } | undefined;
      for (const subscriber of subscribers) {
        if (!eventMatches(subscriber.filter, event)) continue;
        if (subscriber.queue.length >= options.queueEvents) {
          subscriber.dropped += 1;
          schedule(subscriber);
          continue;
        }
        const { body: _ignored, ...bare } = event;
        let tapped: TappedEvent = bare;
        if (subscriber.filter.bodies) {
          if (text === undefined) {
            const bytes = body();
            const truncated = bytes.length > options.maxBodyBytes;
            text = { body: (truncated ? bytes.subarray(0, options.maxBodyBytes) : bytes).toString('utf8'), truncated };
          }
          tapped = text.truncated ? { ...bare, body: text.body, bodyTruncated: true } : { ...bare, body: text.body };
        }
        subscriber.queue.push(tapped);
        schedule(subscriber);
      }
    },

    subscribe(filter, onReady) {
      if (subscribers.size >= options.maxSubscribers) return null;
      const subscriber: Subscriber = { id: nextId++, filter, queue: [], dropped: 0, scheduled: false, onReady };
      subscribers.add(subscriber);
      changed();
      let closed = false;
      const close = (): void => {
        if (closed) return;
        closed = true;
        subscribers.delete(subscriber);
        closers.delete(subscriber);
        subscriber.queue = [];
        changed();
        onReady();
      };
      closers.set(subscriber, close);
      return {
        take() {
          const taken = { events: subscriber.queue, dropped: subscriber.dropped };
          subscriber.queue = [];
          subscriber.dropped = 0;
          return taken;
        },
        get closed() {
          return closed;
        },
        close,
      };
    },

    lose(subscription, count) {
      for (const subscriber of subscribers) {
        if (subscriber.id !== subscription) continue;
        subscriber.dropped += count;
        schedule(subscriber);
      }
    },

    closeAll() {
      for (const close of [...closers.values()]) close();
    },
  };
}
