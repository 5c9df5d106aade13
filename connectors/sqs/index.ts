import type { ConnectorDefinition } from '../../src/connector/contract.js';
import { createSqsClients, type SqsClients } from './client.js';
import { sqsConfigSchema, type SqsConfig } from './config.js';
import { createSqsDestination } from './destination.js';
import { sqsLocation } from './encode.js';
import { createMemorySqsClients } from './memory-client.js';

/** `type: sqs`: one message per record on a standard or FIFO queue, inline or as Terra's s3_payload pointer. */
export const sqsConnector: ConnectorDefinition<SqsConfig, SqsClients> = {
  type: 'sqs',
  description: "Sends each record as an Amazon SQS message (standard or FIFO queue), inline or in Terra's s3_payload pointer form with the body in an S3 bucket.",
  configSchema: sqsConfigSchema,
  unit: (config) => config.unit,
  formats: ['terra', 'fhir', 'fit'],
  // SQS bodies are text: a binary FIT file can only travel behind Terra's s3_payload pointer.
  formatProblem: (config, format) =>
    format === 'fit' && config.payload !== 'pointer' ? 'format: fit writes binary FIT files and SQS message bodies are text; set payload: pointer (with a claimCheck bucket) so each file is stored there and the message carries its URL.' : null,
  locate: (config, record) => sqsLocation(config, record),
  createClient: (config, context) => createSqsClients(config, context),
  createDestination: (config, clients, context) => createSqsDestination(config, clients, context),
  contract: {
    exampleConfig: () =>
      sqsConfigSchema.parse({
        queueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/contract-events.fifo',
        credentials: { accessKeyId: 'AKIACONTRACTEXAMPLE0', secretAccessKey: 'contract-sqs-secret-key' },
        claimCheck: {
          type: 's3',
          config: {
            bucket: 'contract-claims',
            region: 'eu-west-1',
            credentials: { accessKeyId: 'AKIACONTRACTEXAMPLE1', secretAccessKey: 'contract-claim-secret-key', sessionToken: 'contract-claim-session-token' },
          },
        },
      }),
    memoryPort: (config) => createMemorySqsClients(config),
  },
};
