import type { ConnectorDefinition } from '../../src/connector/contract.js';
import { fanoutUserAgent } from '../shared/user-agent.js';
import { createFhirClient, type FhirPort } from './client.js';
import { fhirConfigSchema, type FhirConfig } from './config.js';
import { createFhirDestination } from './destination.js';
import { fhirLocation } from './encode.js';
import { createMemoryFhirPort } from './memory-client.js';

/** `type: fhir`: each record as a FHIR R4 transaction of conditional requests to a FHIR server. */
export const fhirConnector: ConnectorDefinition<FhirConfig, FhirPort> = {
  type: 'fhir',
  description: 'Sends each record to a FHIR R4 server as a transaction Bundle (Patient, Device, Observations) with conditional requests, so a replay updates rather than duplicates.',
  configSchema: fhirConfigSchema,
  unit: () => 'record',
  formats: ['fhir'],
  formatSettings: (config) => ({ fhirBundleType: config.bundleType }),
  locate: (config, record) => fhirLocation(config, record),
  createClient: (config) => createFhirClient({ baseUrl: config.baseUrl, auth: config.auth, timeoutMs: config.timeoutMs, userAgent: fanoutUserAgent() }),
  createDestination: (config, client, context) => createFhirDestination(config, client, context),
  contract: {
    exampleConfig: () => fhirConfigSchema.parse({ baseUrl: 'http://127.0.0.1:9/fhir/R4', auth: { type: 'bearer', token: 'contract-fhir-token' } }),
    memoryPort: (config) => createMemoryFhirPort(config),
  },
};
