import type { ConnectorDefinition } from '../../src/connector/contract.js';
import { objectStoreFormatProblem, objectStoreFormats } from '../shared/object-store/config.js';
import type { ObjectStorePort } from '../shared/object-store/port.js';
import { createGcsClient } from './client.js';
import { gcsConfigSchema, type GcsConfig } from './config.js';
import { createGcsDestination } from './destination.js';
import { gcsObjectKey } from './encode.js';
import { createMemoryGcsPort } from './memory-client.js';

/** A placeholder service-account key for the contract suite: the shape only, never used to sign. */
const CONTRACT_KEY = JSON.stringify({
  type: 'service_account',
  client_email: 'contract@terra-fanout-contract.iam.gserviceaccount.com',
  private_key: '-----BEGIN PRIVATE KEY-----\ncontract-private-key-placeholder\n-----END PRIVATE KEY-----\n',
});

/** `type: gcs`: each record (or ndjson batch) as an object in a Google Cloud Storage bucket. */
export const gcsConnector: ConnectorDefinition<GcsConfig, ObjectStorePort> = {
  type: 'gcs',
  description: "Writes each record as an object in a Google Cloud Storage bucket at Terra's key layout (or ndjson batches, optionally gzip), overwriting on replay.",
  configSchema: gcsConfigSchema,
  unit: (config) => config.unit,
  formats: objectStoreFormats,
  formatProblem: objectStoreFormatProblem,
  locate: (config, record, tenant) => gcsObjectKey(config, record, tenant),
  createClient: (config) => createGcsClient(config),
  createDestination: (config, client, context) => createGcsDestination(config, client, context),
  contract: {
    exampleConfig: () => gcsConfigSchema.parse({ bucket: 'terra-fanout-contract', prefix: 'terra', credentials: CONTRACT_KEY }),
    memoryPort: (config) => createMemoryGcsPort(config),
  },
};
