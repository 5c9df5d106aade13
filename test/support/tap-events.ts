/** Tap events and filters for the tap hub and forwarder tests. */
import type { TapFilter } from '../../src/tap/tap-hub.js';
import type { TapEvent } from '../../src/worker/worker-control.js';

/** A filter that selects everything, without bodies. */
export const all: TapFilter = { tenant: null, destination: null, type: null, userId: null, outcome: null, bodies: false };

/** A delivered activity record of acme/lake, with `overrides`. */
export const event = (overrides: Partial<TapEvent> = {}): TapEvent => ({
  at: '2026-07-01T06:00:00.000Z',
  tenant: 'acme',
  destination: 'lake',
  outcome: 'delivered',
  type: 'activity',
  userId: 'u-1',
  identity: 'id',
  source: { topic: 't', partition: 0, offset: '1' },
  ...overrides,
});

/** Resolves after the callbacks queued now have run. */
export const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
