import type { TapEvent, TapSink } from '../worker/worker-control.js';

/**
 * The tap hub: lanes publish what leaves them (delivered, parked, filtered) and `/admin/tap`
 * readers subscribe with a filter. Lanes never wait on a reader: each subscriber has a bounded
 * queue, and an event that finds it full is dropped for that subscriber and counted, so a slow
 * reader loses events (and is told how many) instead of slowing a lane. With nobody listening,
 * `wants()` is false and a lane builds nothing.
 */
export interface TapFilter {
  tenant: string | null;
  destination: string | null;
  type: string | null;
  userId: string | null;
  outcome: TapEvent['outcome'] | null;
  /** Include the record body (cut at the hub's maxBodyBytes). */
  bodies: boolean;
}

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
  /** Ends every subscription (at shutdown). */
  closeAll(): void;
}

export interface TapHubOptions {
  maxSubscribers: number;
  queueEvents: number;
  maxBodyBytes: number;
}

interface Subscriber {
  filter: TapFilter;
  queue: TappedEvent[];
  dropped: number;
  scheduled: boolean;
  onReady: () => void;
}

function laneMatches(filter: TapFilter, tenant: string, destination: string): boolean {
  return (filter.tenant === null || filter.tenant === tenant) && (filter.destination === null || filter.destination === destination);
}

function eventMatches(filter: TapFilter, event: TapEvent): boolean {
  return (
    laneMatches(filter, event.tenant, event.destination) &&
    (filter.type === null || filter.type === event.type) &&
    (filter.userId === null || filter.userId === event.userId) &&
    (filter.outcome === null || filter.outcome === event.outcome)
  );
}

export function createTapHub(options: TapHubOptions): TapHub {
  const subscribers = new Set<Subscriber>();
  const closers = new Map<Subscriber, () => void>();

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
      const subscriber: Subscriber = { filter, queue: [], dropped: 0, scheduled: false, onReady };
      subscribers.add(subscriber);
      let closed = false;
      const close = (): void => {
        if (closed) return;
        closed = true;
        subscribers.delete(subscriber);
        closers.delete(subscriber);
        subscriber.queue = [];
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

    closeAll() {
      for (const close of [...closers.values()]) close();
    },
  };
}
