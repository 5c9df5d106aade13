import type { ConnectorDefinition } from '../../src/connector/contract.js';
import { createMongoClient, type MongoPort } from './client.js';
import { mongodbConfigSchema, type MongodbConfig } from './config.js';
import { createMongodbDestination } from './destination.js';
import { mongodbLocation } from './encode.js';
import { createMemoryMongoPort } from './memory-client.js';

/** `type: mongodb`: one document per record, laid out as Terra's own MongoDB destination lays them out. */
export const mongodbConnector: ConnectorDefinition<MongodbConfig, MongoPort> = {
  type: 'mongodb',
  description:
    "Upserts each record as a MongoDB document in Terra's own layout (a collection per type, _id {user_id, start_time}, the user object beside the data); an older resend never replaces a newer document.",
  configSchema: mongodbConfigSchema,
  unit: () => 'record',
  locate: (config, record) => mongodbLocation(config, record),
  createClient: (config) => createMongoClient(config),
  createDestination: (config, client, context) => createMongodbDestination(config, client, context),
  contract: {
    exampleConfig: () =>
      mongodbConfigSchema.parse({
        url: 'mongodb://contract-user:contract-url-password@127.0.0.1:27017/?authSource=admin',
        database: 'terra_contract',
        auth: { username: 'contract-user', password: 'contract-auth-password' },
      }),
    memoryPort: (config) => createMemoryMongoPort(config),
  },
};
