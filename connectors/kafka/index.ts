import { createClaimCheck } from '../claim-check.js';
import type { ConnectorDefinition } from '../../src/connector/contract.js';
import { createKafkaOutClient, type KafkaOutPort } from './client.js';
import { kafkaOutConfigSchema, type KafkaOutConfig } from './config.js';
import { createKafkaDestination } from './destination.js';
import { kafkaKey, kafkaLocation, kafkaTopic } from './encode.js';
import { createMemoryKafkaOutPort } from './memory-client.js';

/** `type: kafka`: produces each record to a Kafka topic, keyed by user, inline or as Terra's s3_payload pointer. */
export const kafkaConnector: ConnectorDefinition<KafkaOutConfig, KafkaOutPort> = {
  type: 'kafka',
  description: 'Produces each record to a Kafka topic (acks=all, keyed by user id), inline as a Terra event or as Terra\'s s3_payload pointer when it is too large.',
  configSchema: kafkaOutConfigSchema,
  unit: (config) => config.unit,
  formats: ['terra', 'fhir', 'fit'],
  locate: (config, record, tenant) => kafkaLocation(kafkaTopic(config, record, tenant), kafkaKey(config, record), record.identity),
  createClient: (config, context) => createKafkaOutClient(config, context.logger),
  createDestination: (config, client, context) =>
    createKafkaDestination(config, client, context, { claimCheck: config.claimCheck === undefined ? undefined : createClaimCheck(config.claimCheck, context) }),
  contract: {
    exampleConfig: () =>
      kafkaOutConfigSchema.parse({
        brokers: ['127.0.0.1:9'],
        topic: 'terra.{type}',
        sasl: { mechanism: 'scram-sha-512', username: 'contract-user', password: 'contract-sasl-password' },
      }),
    memoryPort: () => createMemoryKafkaOutPort(),
  },
};
