import type { ConnectorDefinition } from '../../src/connector/contract.js';
import { objectStoreFormatProblem, objectStoreFormats } from '../shared/object-store/config.js';
import type { ObjectStorePort } from '../shared/object-store/port.js';
import { createAzureBlobClient } from './client.js';
import { azureBlobConfigSchema, type AzureBlobConfig } from './config.js';
import { createAzureBlobDestination } from './destination.js';
import { azureBlobName } from './encode.js';
import { createMemoryAzureBlobStore } from './memory-client.js';

/** `type: azure_blob`: one blob per record (or one ndjson blob per batch) in an Azure Storage container. */
export const azureBlobConnector: ConnectorDefinition<AzureBlobConfig, ObjectStorePort> = {
  type: 'azure_blob',
  description: "Writes each record as a blob in an Azure Blob Storage container, at Terra's own key layout (or ndjson batches), with block uploads for large bodies.",
  configSchema: azureBlobConfigSchema,
  unit: (config) => config.unit,
  formats: objectStoreFormats,
  formatProblem: objectStoreFormatProblem,
  locate: (config, record, tenant) => azureBlobName(config, record, { tenant }),
  createClient: (config, context) => createAzureBlobClient(config, context),
  createDestination: (config, client, context) => createAzureBlobDestination(config, client, context),
  contract: {
    exampleConfig: () =>
      azureBlobConfigSchema.parse({
        container: 'terra-contract',
        accountName: 'contractaccount',
        accountKey: 'Y29udHJhY3QtYWNjb3VudC1rZXk=',
        accountUrl: 'http://127.0.0.1:9/contractaccount',
        prefix: 'contract/',
      }),
    memoryPort: (config) => createMemoryAzureBlobStore(config),
  },
};
