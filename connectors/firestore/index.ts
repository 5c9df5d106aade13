import type { ConnectorDefinition } from '../../src/connector/contract.js';
import { createFirestoreClient, type FirestorePort } from './client.js';
import { firestoreConfigSchema, type FirestoreConfig } from './config.js';
import { createFirestoreDestination } from './destination.js';
import { documentPath } from './encode.js';
import { createMemoryFirestorePort } from './memory-client.js';

/** `type: firestore`: one document per record in Terra's Firestore layout, newest wins. */
export const firestoreConnector: ConnectorDefinition<FirestoreConfig, FirestorePort> = {
  type: 'firestore',
  description:
    "Writes each record as a Firestore document where Terra's own Firestore destination puts it (terra/2022-03-16/{type}/{user_id}-{start_time}.json), in batched commits, newest wins.",
  configSchema: firestoreConfigSchema,
  unit: () => 'record',
  locate: (config, record, tenant) => documentPath(config, record, tenant),
  createClient: (config) => createFirestoreClient(config),
  createDestination: (config, client, context) => createFirestoreDestination(config, client, context),
  contract: {
    exampleConfig: () =>
      firestoreConfigSchema.parse({
        projectId: 'contract-project',
        serviceAccountJson: JSON.stringify({ client_email: 'fanout@contract-project.iam.gserviceaccount.com', private_key: 'contract-private-key-secret' }),
      }),
    memoryPort: () => createMemoryFirestorePort(),
  },
};
