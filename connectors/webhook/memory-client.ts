import type { MemoryPort } from '../../src/connector/contract.js';
import { safeUrlLabel } from '../shared/http-errors.js';
import type { WebhookPort } from './client.js';

/**
 * An in-memory idempotent receiver for the contract suite: it keeps the last body per
 * `<url>#<Idempotency-Key>` (the location webhookLocation gives) and acknowledges requests without
 * that header (healthchecks) without storing them. `unavailable` answers 503, `rejected` answers 400.
 */
export function createMemoryWebhookPort(): MemoryPort<WebhookPort> {
  const received = new Map<string, Buffer>();
  let broken: 'unavailable' | 'rejected' | null = null;

  return {
    client: {
      async post(request) {
        if (broken === 'unavailable') return { status: 503, retryAfter: null };
        if (broken === 'rejected') return { status: 400, retryAfter: null };
        const key = Object.entries(request.headers).find(([name]) => name.toLowerCase() === 'idempotency-key')?.[1];
        if (key !== undefined) received.set(`${safeUrlLabel(request.url)}#${key}`, Buffer.from(request.body));
        return { status: 200, retryAfter: null };
      },
      async close() {},
    },
    stored: () => received,
    breakWith(mode) {
      broken = mode;
    },
  };
}
