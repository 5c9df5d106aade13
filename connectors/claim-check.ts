import { z } from 'zod';
import { strictObject } from '../src/config/strict-object.js';
import type { ConnectorContext } from '../src/connector/contract.js';
import { azureBlobConnector } from './azure_blob/index.js';
import { azureBlobConfigSchema } from './azure_blob/config.js';
import { gcsConnector } from './gcs/index.js';
import { s3ConfigSchema } from './s3/config.js';
import { s3Connector } from './s3/index.js';
import { gcsConfigSchema } from './gcs/config.js';
import type { ClaimCheck } from './shared/claim-check.js';
import { createObjectStoreClaimCheck } from './shared/object-store/claim-check-store.js';
import type { ObjectStorePort } from './shared/object-store/port.js';

/**
 * The `claimCheck:` block of the queue destinations (sqs, kafka): the bucket a record body is
 * stored in when the message carries Terra's s3_payload pointer instead of the record. Any
 * object-store connector can hold it; its `config` is exactly that connector's config (bucket,
 * credentials, `prefix` for the folder), so what works as a destination works here.
 */
const expiresInSeconds = z
  .int()
  .min(1)
  .max(7 * 24 * 3600)
  .default(600)
  .meta({ description: "Lifetime of the pointer's signed URL (`expires_in`), in seconds. Terra uses 600. S3 presigned URLs allow at most 7 days.", examples: [600] });

function storeType<Type extends string>(type: Type) {
  return z.literal(type).meta({ description: `The object store: ${type}; config is a ${type} destination's config.`, examples: [type] });
}

export const claimCheckConfigSchema = z
  .discriminatedUnion('type', [
    strictObject({ type: storeType('s3'), config: s3ConfigSchema, expiresInSeconds }),
    strictObject({ type: storeType('gcs'), config: gcsConfigSchema, expiresInSeconds }),
    strictObject({ type: storeType('azure_blob'), config: azureBlobConfigSchema, expiresInSeconds }),
  ])
  .meta({
    description:
      'Where large record bodies are stored for pointer messages: an object store (type) and its connector config (bucket, credentials, prefix). Objects are {prefix}/{type}/{identity}.json; the message carries a signed URL valid for expiresInSeconds.',
    examples: [{ type: 's3', config: { bucket: 'terra-claims', region: 'eu-west-1', prefix: 'claims' }, expiresInSeconds: 600 }],
  });

export type ClaimCheckConfig = z.infer<typeof claimCheckConfigSchema>;

function portFor(config: ClaimCheckConfig, context: ConnectorContext): { port: ObjectStorePort; prefix: string | undefined; timeoutMs: number } {
  switch (config.type) {
    case 's3':
      return { port: s3Connector.createClient(config.config, context), prefix: config.config.prefix, timeoutMs: config.config.timeoutMs };
    case 'gcs':
      return { port: gcsConnector.createClient(config.config, context), prefix: config.config.prefix, timeoutMs: config.config.timeoutMs };
    case 'azure_blob':
      return { port: azureBlobConnector.createClient(config.config, context), prefix: config.config.prefix, timeoutMs: config.config.timeoutMs };
  }
}

/** Builds the claim check a queue destination hands its pointer bodies to. No I/O until used. */
export function createClaimCheck(config: ClaimCheckConfig, context: ConnectorContext): ClaimCheck {
  const { port, prefix, timeoutMs } = portFor(config, context);
  return createObjectStoreClaimCheck(port, { prefix, expiresInSeconds: config.expiresInSeconds, timeoutMs });
}
