import type { ConnectorDefinition } from '../../src/connector/contract.js';
import { createWebhookClient, type WebhookPort } from './client.js';
import { webhookConfigSchema, type WebhookConfig } from './config.js';
import { createWebhookDestination } from './destination.js';
import { webhookLocation } from './encode.js';
import { createMemoryWebhookPort } from './memory-client.js';

/** `type: webhook`: POSTs each event to a URL, signed and with the headers Terra sends. */
export const webhookConnector: ConnectorDefinition<WebhookConfig, WebhookPort> = {
  type: 'webhook',
  description: 'POSTs each event to an HTTP endpoint exactly as Terra delivers webhooks: same body, same signature, same headers.',
  configSchema: webhookConfigSchema,
  unit: (config) => config.unit,
  formats: ['terra', 'fhir', 'fit'],
  // Each record is its own request: waiting to gather a batch only adds latency (Terra-to-app p99).
  batchDefaults: { lingerMs: 5 },
  locate: (config, record) => webhookLocation(config, record),
  createClient: (config) => createWebhookClient({ secret: config.secret, headers: config.headers, timeoutMs: config.timeoutMs, connections: config.concurrency }),
  createDestination: (config, client, context) => createWebhookDestination(config, client, context),
  contract: {
    // Narrowed retryStatuses so that the contract suite sees a permanent 400; the default retries every non-2xx.
    exampleConfig: () =>
      webhookConfigSchema.parse({
        url: 'http://127.0.0.1:9/terra/webhook?token=contract-query-token',
        secret: 'contract-signing-secret',
        retryStatuses: ['5xx', '429', '408'],
        headers: { Authorization: 'Bearer contract-header-secret' },
      }),
    memoryPort: () => createMemoryWebhookPort(),
  },
};
