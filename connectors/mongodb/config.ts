import { z } from 'zod';
import { timeoutMsField } from '../shared/timeout-field.js';
import { secretString } from '../../src/config/secret-schema.js';
import { strictObject } from '../../src/config/strict-object.js';

/**
 * The collections a MongoDB destination writes, by their Terra-parity name (spec section 4.7):
 * a collection per data type, `user_events` for every non-data event, `athlete` for profiles,
 * and one per Teams event type.
 */
export const defaultCollections = {
  user_events: 'Non-data events: auth, deauth, user_reauth, access_revoked, connection_error, permission_change and the other connection and delivery notices.',
  athlete: 'Athlete profiles, one document per user.',
  activity: 'Activity items.',
  body: 'Body items.',
  daily: 'Daily items.',
  sleep: 'Sleep items.',
  nutrition: 'Nutrition items.',
  menstruation: 'Menstruation items.',
  hormone: 'Hormone samples (not in Terra\'s documented layout; named like its type).',
  health_observation: 'Health observations (not in Terra\'s documented layout; named like its type).',
  planned_workout: 'Planned workouts (not in Terra\'s documented layout; named like its type).',
  coach_registered: 'Teams API coach.registered events.',
  athlete_registered: 'Teams API athlete.registered items.',
  athlete_deleted: 'Teams API athlete.deleted items.',
  test_retrieved: 'Teams API test.retrieved items.',
  activity_retrieved: 'Teams API activity.retrieved items.',
} as const;

export type DefaultCollection = keyof typeof defaultCollections;

/** Where check() writes its probe document (after collectionPrefix). */
export const CHECK_COLLECTION = 'terra_fanout_check';

/** MongoDB's rules for a collection name, minus the ones that cannot come up here. */
export function collectionNameProblems(name: string): string[] {
  const problems: string[] = [];
  if (name.length === 0) problems.push('must not be empty');
  if (name.includes('$')) problems.push('must not contain "$"');
  if (name.includes('\u0000')) problems.push('must not contain a NUL character');
  if (name.startsWith('system.')) problems.push('must not start with "system."');
  if (name.startsWith('.') || name.endsWith('.')) problems.push('must not start or end with "."');
  if (Buffer.byteLength(name, 'utf8') > 200) problems.push('must be at most 200 bytes');
  return problems;
}

function collectionNameSchema(description: string, example: string) {
  return z
    .string()
    .superRefine((name, ctx) => {
      for (const problem of collectionNameProblems(name)) ctx.addIssue({ code: 'custom', message: `A collection name ${problem}.` });
    })
    .meta({ description, examples: [example] });
}

const collectionsSchema = strictObject(
  Object.fromEntries(
    Object.entries(defaultCollections).map(([name, contents]) => [
      name,
      collectionNameSchema(`${contents} Collection name instead of \`${name}\` (collectionPrefix still applies).`, `terra_${name}`).optional(),
    ]),
  ) as Record<DefaultCollection, z.ZodOptional<ReturnType<typeof collectionNameSchema>>>,
).meta({
  description: 'Collection names that differ from Terra\'s, keyed by Terra\'s name. Names left out keep Terra\'s name.',
  examples: [{ user_events: 'connections', activity: 'workouts' }],
});

const DATABASE_FORBIDDEN = /[/\\. "$*<>:|?\u0000]/;

const databaseSchema = z
  .string()
  .min(1)
  .refine((name) => !DATABASE_FORBIDDEN.test(name), 'A database name cannot contain / \\ . " $ * < > : | ? spaces or NUL.')
  .refine((name) => Buffer.byteLength(name, 'utf8') < 64, 'A database name must be shorter than 64 bytes.')
  .meta({ description: 'Database the collections live in. Created by MongoDB on the first write.', examples: ['terra'] });

const urlSchema = secretString(
  'MongoDB connection string, `mongodb://` or `mongodb+srv://`, with any driver option in its query string (for example `?replicaSet=rs0&tls=true&authSource=admin`). It may carry credentials, so it is treated as a secret.',
  '${MONGODB_URL}',
).refine((url) => /^mongodb(\+srv)?:\/\/[^\s/?#]+/.test(url.reveal()), {
  message: 'Expected a MongoDB connection string: mongodb://host[:port][,host...][/][?options] or mongodb+srv://host[/][?options].',
});

const authSchema = strictObject({
  username: z.string().min(1).meta({ description: 'User to authenticate as. Leave `auth` out when the connection string carries the credentials or none are needed.', examples: ['terra_fanout'] }),
  password: secretString('Password of `username` (not needed for MONGODB-X509 or MONGODB-AWS).', '${MONGODB_PASSWORD}').optional(),
  source: z.string().min(1).optional().meta({ description: 'Database the user is defined in (authSource). Default: the driver\'s default, `admin` for SCRAM.', examples: ['admin'] }),
  mechanism: z
    .enum(['DEFAULT', 'SCRAM-SHA-1', 'SCRAM-SHA-256', 'MONGODB-X509', 'MONGODB-AWS', 'PLAIN'])
    .default('DEFAULT')
    .meta({ description: 'Authentication mechanism. DEFAULT negotiates SCRAM-SHA-256 or SCRAM-SHA-1 with the server.', examples: ['DEFAULT', 'MONGODB-X509'] }),
}).meta({ description: 'Credentials kept out of the connection string. They override credentials in `url`.' });

const tlsSchema = strictObject({
  enabled: z.boolean().default(true).meta({ description: 'Connect with TLS. `mongodb+srv://` URLs turn TLS on by themselves.', examples: [true] }),
  caFile: z.string().min(1).optional().meta({ description: 'PEM file with the certificate authorities to trust instead of the system ones.', examples: ['/etc/ssl/mongodb-ca.pem'] }),
  certificateKeyFile: z
    .string()
    .min(1)
    .optional()
    .meta({ description: 'PEM file with the client certificate and its private key (for MONGODB-X509 or servers that require client certificates).', examples: ['/etc/ssl/terra-fanout.pem'] }),
  certificateKeyFilePassword: secretString('Password of the private key in certificateKeyFile.').optional(),
  allowInvalidCertificates: z
    .boolean()
    .default(false)
    .meta({ description: 'Accept any server certificate. Only for testing: it removes the protection TLS gives.', examples: [false] }),
}).meta({ description: 'TLS settings. Options in the connection string (`tls=true`, `tlsCAFile=...`) work too.' });

const poolSchema = strictObject({
  maxSize: z.number().int().min(1).max(1000).default(10).meta({ description: 'Most connections open to each server.', examples: [10] }),
  minSize: z.number().int().min(0).max(1000).default(0).meta({ description: 'Connections kept open even when idle.', examples: [0] }),
  maxIdleTimeMs: z.number().int().min(0).default(0).meta({ description: 'Close a connection idle this long. Milliseconds; 0 keeps it.', examples: [300_000] }),
  waitQueueTimeoutMs: z
    .number()
    .int()
    .min(0)
    .default(0)
    .meta({ description: 'How long a write waits for a free connection before failing (retried). Milliseconds; 0 waits as long as the server selection allows.', examples: [0] }),
})
  .refine((pool) => pool.minSize <= pool.maxSize, { message: 'pool.minSize cannot exceed pool.maxSize.' })
  .meta({ description: 'Connection pool limits.' });

const timeoutsSchema = strictObject({
  connectMs: z.number().int().min(100).max(300_000).default(10_000).meta({ description: 'Time allowed to open a connection, TLS and authentication included. Milliseconds.', examples: [10_000] }),
  serverSelectionMs: z
    .number()
    .int()
    .min(100)
    .max(300_000)
    .default(10_000)
    .meta({ description: 'Time allowed to find a writable server (a primary) before a write fails as unavailable (retried). Milliseconds.', examples: [10_000] }),
  socketMs: z
    .number()
    .int()
    .min(0)
    .max(3_600_000)
    .default(60_000)
    .meta({ description: 'Time allowed for an answer on an open connection before the write fails as a timeout (retried). Milliseconds; 0: only timeoutMs bounds it.', examples: [60_000] }),
}).meta({ description: 'Connection and answer timeouts of the driver, each capped by timeoutMs.' });

const writeConcernSchema = strictObject({
  w: z
    .union([z.literal('majority'), z.number().int().min(1).max(50)])
    .default('majority')
    .meta({ description: 'Acknowledgement required for a write to count as delivered: `majority` of the replica set, or a number of members (at least 1; unacknowledged writes are not allowed).', examples: ['majority', 1] }),
  journal: z.boolean().optional().meta({ description: 'Also wait for the on-disk journal (j). Default: the server\'s default.', examples: [true] }),
  timeoutMs: z
    .number()
    .int()
    .min(1)
    .optional()
    .meta({ description: 'Give up waiting for the acknowledgement after this long (wtimeout); the write is then retried, and the retry is a no-op if it had landed. Milliseconds.', examples: [10_000] }),
}).meta({ description: 'Write concern of every write.' });

/** The `config:` block of a `type: mongodb` destination. */
export const mongodbConfigSchema = strictObject({
  url: urlSchema,
  database: databaseSchema,
  auth: authSchema.optional(),
  tls: tlsSchema.optional(),
  pool: poolSchema.default({ maxSize: 10, minSize: 0, maxIdleTimeMs: 0, waitQueueTimeoutMs: 0 }),
  timeouts: timeoutsSchema.default({ connectMs: 10_000, serverSelectionMs: 10_000, socketMs: 60_000 }),
  writeConcern: writeConcernSchema.default({ w: 'majority' }),
  timeoutMs: timeoutMsField(
    'Longest time one call may take: a bulk write of up to 500 documents, a read of stored versions, creating the indexes at start, with server selection, waiting for a connection and the answer included. A server that stops answering fails the writes as destination_timeout (retried) within this time; the driver closes the connection it was waiting on.', 30_000,
  ),
  idScheme: z
    .enum(['terra', 'summary_id'])
    .default('terra')
    .meta({
      description:
        'terra: Terra\'s `_id` ({user_id, start_time} for data, {user_id, event_time} for user events, the user id for athlete). summary_id: {user_id, summary_id} for records that have a summary_id (activity, most sleep, health_observation), so two activities that start in the same second stay apart; other records keep Terra\'s `_id`.',
      examples: ['terra', 'summary_id'],
    }),
  rawBody: z
    .boolean()
    .default(false)
    .meta({
      description:
        "Also keep each record exactly as Terra sent it, as the string `_terra.raw` (the document then holds the record twice). The parsed fields are BSON doubles and strings: integers beyond 2^53 lose digits, 1000.0 reads as 1000, -0.0 as -0, escapes are decoded, key order is Terra's but duplicate keys collapse. Parse `_terra.raw` when those matter.",
      examples: [false, true],
    }),
  collectionPrefix: z
    .string()
    .max(64)
    .refine((prefix) => collectionNameProblems(`${prefix}x`).length === 0, 'A collection prefix cannot contain "$" or NUL, or start with "." or "system.".')
    .default('')
    .meta({ description: 'Put before every collection name, e.g. `terra_` gives `terra_activity`.', examples: ['', 'terra_'] }),
  collections: collectionsSchema.optional(),
  createIndexes: z
    .boolean()
    .default(true)
    .meta({
      description:
        'Create Terra\'s indexes once at start (metadata.start_time and metadata.end_time on data collections, user.user_id and user.reference_id on user_events and athlete). false: leave indexes to your DBA; then the user needs no createIndex privilege.',
      examples: [true],
    }),
  concurrency: z
    .number()
    .int()
    .min(1)
    .max(64)
    .default(4)
    .meta({ description: 'bulkWrite calls in flight at once for one batch (each at most 500 writes, one collection).', examples: [4] }),
}).meta({ description: 'Settings of a MongoDB destination: where documents go, how they are keyed and acknowledged. See connectors/mongodb/README.md.' });

export type MongodbConfig = z.infer<typeof mongodbConfigSchema>;
