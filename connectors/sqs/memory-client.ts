import type { MemoryPort } from '../../src/connector/contract.js';
import { FanoutError } from '../../src/errors/catalogue.js';
import { createObjectStoreClaimCheck } from '../shared/object-store/claim-check-store.js';
import { createMemoryObjectStore } from '../shared/object-store/memory-port.js';
import type { SqsClients, SqsEntryResult } from './client.js';
import type { SqsConfig } from './config.js';
import { queueTarget, type SqsMessage } from './encode.js';

/**
 * An in-memory SQS queue (plus an in-memory claim-check bucket when one is configured) for the
 * contract suite. It keeps the last body per `<queue label>#<identity attribute>` (the location
 * sqsLocation gives); a FIFO queue drops a repeated MessageDeduplicationId, as SQS does within
 * 5 minutes. Messages without an identity attribute (healthchecks) are acknowledged, not kept.
 * `unavailable` fails like SQS answering 503, `rejected` like AccessDenied.
 */
export function createMemorySqsClients(config: SqsConfig): MemoryPort<SqsClients> {
  const target = queueTarget(config);
  const stored = new Map<string, Buffer>();
  const seenDeduplicationIds = new Set<string>();
  const bucket = createMemoryObjectStore(`memory://${config.claimCheck?.type ?? 'none'}-claims`);
  let broken: 'unavailable' | 'rejected' | null = null;

  const failIfBroken = (): void => {
    if (broken === 'unavailable') throw new FanoutError('destination_unavailable', `${target.label} answered 503 Service Unavailable.`, { detail: { status: 503 } });
    if (broken === 'rejected') throw new FanoutError('destination_auth_failed', `${target.label} answered AccessDenied (403).`, { detail: { status: 403, awsCode: 'AccessDenied' } });
  };

  const keep = (message: SqsMessage): void => {
    if (message.deduplicationId !== undefined) {
      if (seenDeduplicationIds.has(message.deduplicationId)) return;
      seenDeduplicationIds.add(message.deduplicationId);
    }
    const identity = message.attributes['identity'];
    if (identity !== undefined) stored.set(`${target.label}#${identity}`, Buffer.from(message.body, 'utf8'));
  };

  const clients: SqsClients = {
    queue: {
      label: target.label,
      async resolve() {
        failIfBroken();
        return target.url ?? `memory://sqs/${target.name}`;
      },
      async sendBatch(entries) {
        failIfBroken();
        const results = new Map<string, SqsEntryResult>();
        for (const entry of entries) {
          keep(entry);
          results.set(entry.id, { ok: true });
        }
        return results;
      },
      async send(message) {
        failIfBroken();
        keep(message);
      },
      async describe() {
        failIfBroken();
      },
      async close() {},
    },
    claimCheck: config.claimCheck === undefined ? undefined : createObjectStoreClaimCheck(bucket.client, { prefix: config.claimCheck.config.prefix, expiresInSeconds: config.claimCheck.expiresInSeconds }),
  };
  return {
    client: clients,
    stored: () => stored,
    breakWith(mode) {
      broken = mode;
      bucket.breakWith(mode);
    },
  };
}
