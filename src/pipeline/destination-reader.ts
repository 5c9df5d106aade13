import type { AnyConnectorDefinition } from '../connector/contract.js';
import type { DestinationConfig, TenantConfig } from '../config/tenant-schema.js';
import type { WorkerConfig } from '../config/worker-schema.js';
import type { MessageReader } from '../lane/lane.js';
import { createMessageReader } from './read-message.js';

/**
 * The message reader of one destination, built from config exactly as its lane builds it
 * (budgets, the tenant's signature check, s3Payload limits, the connector's unit, the
 * destination's event and provider filters). The worker and the dead-letter redrive share it, so
 * a redriven record is decoded as the lane would decode it now.
 */
export function createDestinationReader(
  worker: Pick<WorkerConfig, 'budgets' | 's3Payload'>,
  tenant: Pick<TenantConfig, 'source'>,
  destination: DestinationConfig,
  connector: AnyConnectorDefinition,
  fetch?: typeof globalThis.fetch,
): MessageReader {
  const signature = tenant.source?.signature;
  return createMessageReader({
    maxMessageBytes: worker.budgets.maxMessageBytes,
    signature: signature === undefined ? undefined : { secret: signature.secret.reveal(), required: signature.required, toleranceSeconds: signature.toleranceSeconds },
    s3Payload: worker.s3Payload,
    unit: connector.unit(destination.config),
    events: destination.events === undefined ? null : new Set(destination.events),
    providers: destination.providers === undefined ? null : new Set(destination.providers.map((provider) => provider.toUpperCase())),
    fetch,
  });
}
