import type { AnyConnectorDefinition } from '../connector/contract.js';
import type { DestinationConfig, TenantConfig } from '../config/tenant-schema.js';
import type { WorkerConfig } from '../config/worker-schema.js';
import { resolveDestinationFormat, type ResolvedFormat } from '../formats/destination-format.js';
import { createMessageReader, type DestinationFilter, type MessageReader } from './read-message.js';
import type { DecoderSettings } from './tenant-decoder.js';

/**
 * How a tenant's messages are decoded and what one destination takes from them (filters and format), built from config
 * in one place: the worker's lanes and the dead-letter redrive both use these, so a redriven record
 * is decoded exactly as its lane would decode it now.
 */

/** The decode settings every lane of `tenant` shares (budgets, the signature check, s3Payload limits). */
export function tenantDecoderSettings(worker: Pick<WorkerConfig, 'budgets' | 's3Payload'>, tenant: Pick<TenantConfig, 'source'>, fetch: typeof globalThis.fetch | undefined): Omit<DecoderSettings, 'cacheBytes'> {
  const signature = tenant.source?.signature;
  const { allowedHosts, allowHttp, maxBytes, timeoutMs, maxExpiresInSeconds } = worker.s3Payload;
  return {
    maxMessageBytes: worker.budgets.maxMessageBytes,
    signature: signature === undefined ? undefined : { secret: signature.secret.reveal(), required: signature.required, toleranceSeconds: signature.toleranceSeconds },
    s3Payload: { allowedHosts, allowHttp, maxBytes, timeoutMs, maxExpiresInSeconds },
    fetch,
  };
}

/** What a destination takes: its connector's delivery unit, its event types and providers, and its format. */
export function destinationFilter(connector: AnyConnectorDefinition, destination: DestinationConfig): DestinationFilter & { format: ResolvedFormat } {
  return {
    unit: connector.unit(destination.config),
    events: destination.events === undefined ? null : new Set(destination.events),
    providers: destination.providers === undefined ? null : new Set(destination.providers.map((provider) => provider.toUpperCase())),
    format: resolveDestinationFormat(destination, connector),
  };
}

/** A reader of one destination's records, outside a lane (no decode cache shared with other lanes). */
export function createDestinationReader(
  worker: Pick<WorkerConfig, 'budgets' | 's3Payload'>,
  tenant: Pick<TenantConfig, 'source'>,
  destination: DestinationConfig,
  connector: AnyConnectorDefinition,
  fetch?: typeof globalThis.fetch,
): MessageReader {
  return createMessageReader({ ...tenantDecoderSettings(worker, tenant, fetch), ...destinationFilter(connector, destination) });
}
