import type { ConnectorDefinition } from '../../src/connector/contract.js';
import { objectStoreFormatProblem, objectStoreFormats } from '../shared/object-store/config.js';
import type { ObjectStorePort } from '../shared/object-store/port.js';
import { createS3Client } from './client.js';
import { s3ClientOptions, s3ConfigSchema, type S3Config } from './config.js';
import { createS3Destination } from './destination.js';
import { s3ObjectKey } from './encode.js';
import { createMemoryS3Client } from './memory-client.js';

/** `type: s3`: one object per record (or ndjson per batch) in an S3 or S3-compatible bucket. */
export const s3Connector: ConnectorDefinition<S3Config, ObjectStorePort> = {
  type: 's3',
  description: "Writes each record as an object in an Amazon S3 (or S3-compatible) bucket, with Terra's own key layout, or ndjson batches for data lakes.",
  configSchema: s3ConfigSchema,
  unit: (config) => config.unit,
  formats: objectStoreFormats,
  formatProblem: objectStoreFormatProblem,
  locate: (config, record, tenant) => s3ObjectKey(config, record, tenant),
  createClient: (config) => createS3Client(s3ClientOptions(config)),
  createDestination: (config, client, context) => createS3Destination(config, client, context),
  contract: {
    exampleConfig: () =>
      s3ConfigSchema.parse({
        bucket: 'contract-bucket',
        region: 'eu-west-1',
        prefix: 'terra/',
        credentials: { accessKeyId: 'AKIACONTRACTEXAMPLE0', secretAccessKey: 'contract-secret-access-key', sessionToken: 'contract-session-token' },
      }),
    memoryPort: (config) => createMemoryS3Client(config),
  },
};
