import type { TapEvent } from '../worker/worker-control.js';

/**
 * What one `/admin/tap` reader asked for. The hub applies it to its subscribers; with
 * `run --processes N` the worker processes apply the same filters before they forward anything.
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

/** Whether a lane's events can match the filter (what `TapSink.wants` asks). */
export function laneMatches(filter: TapFilter, tenant: string, destination: string): boolean {
  return (filter.tenant === null || filter.tenant === tenant) && (filter.destination === null || filter.destination === destination);
}

export function eventMatches(filter: TapFilter, event: TapEvent): boolean {
  return (
    laneMatches(filter, event.tenant, event.destination) &&
    (filter.type === null || filter.type === event.type) &&
    (filter.userId === null || filter.userId === event.userId) &&
    (filter.outcome === null || filter.outcome === event.outcome)
  );
}
