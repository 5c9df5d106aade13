import type { AnyConnectorDefinition } from '../src/connector/contract.js';
import { azureBlobConnector } from './azure_blob/index.js';
import { fhirConnector } from './fhir/index.js';
import { fileConnector } from './file/index.js';
import { firestoreConnector } from './firestore/index.js';
import { gcsConnector } from './gcs/index.js';
import { kafkaConnector } from './kafka/index.js';
import { mongodbConnector } from './mongodb/index.js';
import { s3Connector } from './s3/index.js';
import { sqlConnector } from './sql/index.js';
import { sqsConnector } from './sqs/index.js';
import { supabaseConnector } from './supabase/index.js';
import { webhookConnector } from './webhook/index.js';

/**
 * Every destination type terra-fanout knows, listed explicitly (no import side effects).
 * The tenant config schema, `validate`, `check-event` and the contract suite all read this list.
 */
export const connectorRegistry: readonly AnyConnectorDefinition[] = [fileConnector, webhookConnector, s3Connector, gcsConnector, azureBlobConnector, sqsConnector, kafkaConnector, sqlConnector, supabaseConnector, mongodbConnector, firestoreConnector, fhirConnector];

export function findConnector(type: string): AnyConnectorDefinition | undefined {
  return connectorRegistry.find((connector) => connector.type === type);
}
