import { z } from 'zod';
import { strictObject } from '../../src/config/strict-object.js';
import { httpUrlWithoutCredentials } from '../shared/http-url.js';
import { secretString } from '../../src/config/secret-schema.js';
import { s3BucketSchema, type S3Config } from '../s3/config.js';
import { awsConnectionFields } from '../shared/aws-connection.js';
import { keyPrefixSchema } from '../shared/object-key.js';
import { identifierSchema, layoutSchema, tableNamesSchema, tableNames } from '../shared/sql-rows/config.js';
import { tableLayout, type TableLayout } from '../shared/sql-rows/tables.js';

/**
 * The `storage:` block: a narrow S3 config for Supabase Storage's S3-compatible endpoint. It maps
 * onto the S3 connector's config (supabaseStorageS3Config) so the S3 client writes the objects.
 */
export const supabaseStorageSchema = strictObject({
    bucket: s3BucketSchema.default('terra-payloads').meta({
      description: "The Storage bucket the payloads go to. Terra's own Supabase destination uses terra-payloads. It must exist; terra-fanout never creates buckets.",
      examples: ['terra-payloads'],
    }),
    endpoint: awsConnectionFields.endpoint.meta({
      description: "Storage's S3 endpoint (Project Settings > Storage > S3 Connection). Leave out for <url>/storage/v1/s3, e.g. https://abcd1234.supabase.co/storage/v1/s3.",
      examples: ['https://abcd1234.supabase.co/storage/v1/s3'],
    }),
    region: z
      .string()
      .regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, 'expected a region such as eu-central-1')
      .meta({ description: "The project's region, as Project Settings > Storage > S3 Connection shows it. Requests are signed for it.", examples: ['eu-central-1'] }),
    credentials: awsConnectionFields.credentials.unwrap().meta({
      description: 'An S3 access key pair of the project (Project Settings > Storage > S3 Access Keys). It has full access to every bucket; keep it server-side.',
    }),
    forcePathStyle: z
      .boolean()
      .default(true)
      .meta({ description: 'Address the bucket as endpoint/bucket/key, which Supabase Storage needs. Leave at true.', examples: [true] }),
    prefix: keyPrefixSchema.optional(),
    concurrency: z.int().min(1).max(64).default(8).meta({ description: 'How many payloads are uploaded at the same time.', examples: [8] }),
    maxAttempts: awsConnectionFields.maxAttempts,
    requestTimeoutMs: awsConnectionFields.requestTimeoutMs,
    timeoutMs: awsConnectionFields.timeoutMs,
    requestChecksums: z
      .enum(['when_supported', 'when_required'])
      .default('when_required')
      .meta({
        description:
          "when_required: the AWS SDK adds its flexible checksums only where the S3 API demands one; Storage's S3 protocol listed those checksum headers as unsupported when it shipped. when_supported: a CRC32 on every upload.",
        examples: ['when_required'],
      }),
  })
  .meta({
    description:
      "Also store each record's payload (a Terra event with the one item) in a Supabase Storage bucket, at Terra's object layout, through Storage's S3-compatible endpoint. A record is written to the tables only once its upload succeeded. Leave out to keep the payload in the rows only.",
  });

export type SupabaseStorageConfig = z.infer<typeof supabaseStorageSchema>;

/** The `config:` block of a `type: supabase` destination. */
export const supabaseConfigSchema = strictObject({
    url: httpUrlWithoutCredentials('Put the key in serviceRoleKey, not in the URL.')
      .meta({ description: 'The project URL (Project Settings > API), e.g. https://abcd1234.supabase.co.', examples: ['https://abcd1234.supabase.co'] }),
    serviceRoleKey: secretString('The project\'s service-role key (Project Settings > API). It bypasses row level security; keep it server-side.', '${SUPABASE_SERVICE_ROLE_KEY}'),
    schema: layoutSchema,
    namespace: identifierSchema('The database schema the tables are in. It must be exposed to the API (Project Settings > API > Exposed schemas).', 'public').default('public'),
    tables: tableNamesSchema,
    timeoutMs: z.number().int().min(100).max(300_000).default(30_000).meta({ description: 'How long one API request may take before it counts as a timeout (retried). Milliseconds.', examples: [30_000] }),
    maxRowsPerRequest: z.number().int().min(1).max(5000).default(500).meta({ description: 'Most rows in one upsert request; a batch is split into requests of this size.', examples: [500] }),
    storage: supabaseStorageSchema.optional(),
  })
  .meta({ description: 'Settings of a Supabase destination: project URL and service-role key, table layout. See connectors/supabase/README.md.' });

export type SupabaseConfig = z.infer<typeof supabaseConfigSchema>;

/** The tables this destination writes. */
export function supabaseLayout(config: SupabaseConfig): TableLayout {
  return tableLayout({ layout: config.schema, namespace: config.namespace, tables: tableNames(config.tables) });
}

/**
 * The S3 connector config that writes the `storage:` block's objects: one JSON object per record
 * at Terra's key layout, the endpoint defaulting to the project's `/storage/v1/s3`.
 */
export function supabaseStorageS3Config(config: SupabaseConfig): S3Config | undefined {
  const storage = config.storage;
  if (storage === undefined) return undefined;
  return {
    bucket: storage.bucket,
    endpoint: storage.endpoint ?? new URL('/storage/v1/s3', config.url).href,
    region: storage.region,
    credentials: storage.credentials,
    forcePathStyle: storage.forcePathStyle,
    maxAttempts: storage.maxAttempts,
    requestTimeoutMs: storage.requestTimeoutMs,
    timeoutMs: storage.timeoutMs,
    prefix: storage.prefix,
    keyTemplate: undefined,
    format: 'json',
    gzip: false,
    unit: 'record',
    concurrency: storage.concurrency,
    partSizeMiB: 8,
    requestChecksums: storage.requestChecksums,
  };
}
