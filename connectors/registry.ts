import type { AnyConnectorDefinition } from '../src/connector/contract.js';
import { fileConnector } from './file/index.js';
import { s3Connector } from './s3/index.js';
import { sqsConnector } from './sqs/index.js';
import { webhookConnector } from './webhook/index.js';

/**
 * Every destination type terra-fanout knows, listed explicitly (no import side effects).
 * The tenant config schema, `validate`, `check-event` and the contract suite all read this list.
 */
export const connectorRegistry: readonly AnyConnectorDefinition[] = [fileConnector, webhookConnector, s3Connector, sqsConnector];

export function findConnector(type: string): AnyConnectorDefinition | undefined {
  return connectorRegistry.find((connector) => connector.type === type);
}
