import { join } from 'node:path';
import type { ConnectorDefinition } from '../../src/connector/contract.js';
import { createFileClient, type FilePort } from './client.js';
import { fileConfigSchema, type FileConfig } from './config.js';
import { createFileDestination } from './destination.js';
import { fileKey } from './encode.js';
import { createMemoryFilePort } from './memory-client.js';

/** `type: file`: one JSON file per record under a local directory, written atomically. */
export const fileConnector: ConnectorDefinition<FileConfig, FilePort> = {
  type: 'file',
  description: 'Writes each record as a JSON file under a local directory, atomically, with the same layout as Terra uses in buckets.',
  configSchema: fileConfigSchema,
  unit: (config) => config.unit,
  formats: ['terra', 'fhir', 'fit'],
  locate: (config, record, tenant) => fileKey(config, record, { tenant }),
  createClient: (config) => createFileClient(config.directory, { fsync: config.fsync, timeoutMs: config.timeoutMs }),
  createDestination: (config, client, context) => createFileDestination(config, client, context),
  contract: {
    exampleConfig: (workdir) => fileConfigSchema.parse({ directory: join(workdir, 'file-destination') }),
    memoryPort: () => createMemoryFilePort(),
  },
};
