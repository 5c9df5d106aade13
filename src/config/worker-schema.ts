import { z } from 'zod';
import { allowedHostProblem, defaultAllowedHosts } from '../terra/allowed-hosts.js';
import { byteSizeSchema } from './byte-size.js';
import { secretString } from './secret-schema.js';
import { strictObject } from './strict-object.js';

/**
 * The worker file: how this process reaches Kafka, serves HTTP, bounds memory and finds its
 * tenants. One per deployment. Everything has a default except `kafka.brokers`.
 */

const HOST_PORT = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?):(\d{1,5})$/;

function isHostPort(text: string): boolean {
  const match = HOST_PORT.exec(text);
  const port = Number(match?.[1]);
  return match !== null && port >= 1 && port <= 65535;
}

/**
 * One list entry may hold several comma-separated brokers, so `${KAFKA_BROKERS}` can carry a whole list.
 * Exported with sslSchema and saslSchema so the Kafka destination configures its own cluster the same way.
 */
export const brokerEntrySchema = z
  .string()
  .meta({ description: 'A broker as host:port. One entry may list several, separated by commas.', examples: ['kafka-1:9092', '${KAFKA_BROKERS}'] })
  .transform((entry, context) => {
    const brokers = entry
      .split(',')
      .map((broker) => broker.trim())
      .filter((broker) => broker !== '');
    if (brokers.length === 0 || !brokers.every(isHostPort)) {
      context.addIssue({ code: 'custom', message: 'expected host:port (several may be separated by commas), e.g. kafka-1:9092' });
      return z.NEVER;
    }
    return brokers;
  });

export const sslSchema = strictObject({
  ca: z
    .string()
    .min(1)
    .optional()
    .meta({ description: 'CA certificate(s) that sign the brokers\' certificates: PEM text, or a path to a PEM file. Default: the system trust store.', examples: ['/etc/kafka/ca.pem'] }),
  cert: z
    .string()
    .min(1)
    .optional()
    .meta({ description: 'Client certificate for mutual TLS: PEM text, or a path to a PEM file.', examples: ['/etc/kafka/client.pem'] }),
  key: secretString('Private key of the client certificate: PEM text, or a path to a PEM file.').optional(),
  rejectUnauthorized: z
    .boolean()
    .default(true)
    .meta({ description: 'Refuse brokers whose certificate does not verify. Turn off only against a development broker.', examples: [true] }),
});

export const saslSchema = strictObject({
  mechanism: z
    .enum(['plain', 'scram-sha-256', 'scram-sha-512'])
    .meta({ description: 'SASL mechanism the brokers expect.', examples: ['scram-sha-512'] }),
  username: z.string().min(1).meta({ description: 'SASL user name.', examples: ['terra-fanout'] }),
  password: secretString('SASL password.', '${KAFKA_SASL_PASSWORD}'),
});

function milliseconds(description: string, fallback: number) {
  return z.number().int().positive().default(fallback).meta({ description: `${description} Milliseconds.`, examples: [fallback] });
}

const kafkaSchema = strictObject({
  brokers: z
    .array(brokerEntrySchema)
    .min(1)
    .meta({ description: 'Bootstrap brokers, host:port.', examples: [['kafka-1:9092', 'kafka-2:9092'], ['${KAFKA_BROKERS:-127.0.0.1:9092}']] })
    .transform((entries) => entries.flat()),
  clientId: z.string().min(1).default('terra-fanout').meta({ description: 'Kafka client id, shown in broker logs and quotas.', examples: ['terra-fanout'] }),
  groupPrefix: z
    .string()
    .regex(/^[A-Za-z0-9._-]+$/, 'expected letters, digits, dot, underscore or dash')
    .default('terra-fanout')
    .meta({ description: 'Start of every consumer group id. A lane (tenant x destination) consumes as `<groupPrefix>.<tenant>.<destination>`.', examples: ['terra-fanout'] }),
  ssl: z
    .union([z.boolean(), sslSchema], { error: () => 'expected true, false, or a mapping of ca, cert, key, rejectUnauthorized' })
    .default(false)
    .meta({ description: 'TLS to the brokers: true for TLS with the system trust store, or a mapping for a private CA or mutual TLS.', examples: [true, { ca: '/etc/kafka/ca.pem' }] }),
  sasl: saslSchema.optional().meta({ description: 'SASL authentication. Leave out when the brokers do not authenticate clients.', examples: [{ mechanism: 'scram-sha-512', username: 'terra-fanout', password: '${KAFKA_PASSWORD}' }] }),
  connectionTimeoutMs: milliseconds('How long to wait for a broker connection.', 3000),
  requestTimeoutMs: milliseconds('How long to wait for a broker to answer a request.', 30000),
  sessionTimeoutMs: milliseconds('A lane consumer that sends no heartbeat for this long leaves its group and its partitions move.', 30000),
  heartbeatIntervalMs: milliseconds('How often a lane consumer heartbeats to its group coordinator. Keep well under sessionTimeoutMs.', 3000),
  maxWaitTimeMs: milliseconds(
    'Longest a fetch waits on the broker when there are no new messages (a broker answers at once when there are). Lower means faster delivery after an idle spell and more idle requests: each lane makes about 1000/maxWaitTimeMs fetches per second while idle.',
    100,
  ),
  fromBeginning: z
    .boolean()
    .default(true)
    .meta({ description: 'Where a lane with no committed offset starts: true for the earliest retained offset (a new destination receives the backlog), false for new messages only.', examples: [true] }),
  librdkafkaMockCompat: z
    .boolean()
    .default(false)
    .meta({ description: 'Work around the limits of librdkafka\'s mock cluster, used in development and tests. Never in production.', examples: [false] }),
});

const httpSchema = strictObject({
  host: z.string().min(1).default('0.0.0.0').meta({ description: 'Address the metrics and health server listens on.', examples: ['0.0.0.0', '127.0.0.1'] }),
  port: z.number().int().min(0).max(65535).default(9464).meta({ description: 'Port for /metrics, /healthz and /readyz (0 picks a free port).', examples: [9464] }),
});

const budgetsSchema = strictObject({
  processInFlightBytes: byteSizeSchema('Most bytes of messages in flight across all lanes; lanes pause fetching above it.', '256MiB').prefault('256MiB'),
  laneInFlightBytes: byteSizeSchema('Most bytes of messages in flight in one lane; the lane pauses its partitions above it.', '64MiB').prefault('64MiB'),
  maxMessageBytes: byteSizeSchema('Largest Kafka message accepted; a bigger one is dead-lettered as too large.', '32MiB').prefault('32MiB'),
  decodeCacheBytes: z
    .union([
      z.literal(0).meta({ description: '0 turns the decode cache off: every lane decodes on its own.' }),
      byteSizeSchema('Decoded messages kept per tenant so its other destinations need not decode them again (decode once per tenant). Default: an eighth of processInFlightBytes, at most 32MiB.', '32MiB'),
    ])
    .optional()
    .meta({ description: 'Decoded messages kept per tenant so its other destinations need not decode them again (decode once per tenant). Default: an eighth of processInFlightBytes, at most 32MiB; 0 turns the cache off.' }),
});

const tenantsSchema = strictObject({
  dir: z
    .string()
    .min(1)
    .default('tenants')
    .meta({ description: 'Folder of tenant files (*.yaml, *.yml), relative to this worker file. Loaded as an absolute path.', examples: ['tenants', '/etc/terra-fanout/tenants'] }),
  watch: z
    .boolean()
    .default(true)
    .meta({ description: 'Reload the tenant files when the folder changes: only lanes whose settings changed restart; an invalid file keeps the last good config. SIGHUP and POST /admin/reload reload too.', examples: [true] }),
  debounceMs: z
    .number()
    .int()
    .min(0)
    .max(60_000)
    .default(1000)
    .meta({ description: 'After a change in the tenants folder, wait this long for it to settle before reloading. Milliseconds.', examples: [1000] }),
  rescanIntervalMs: z
    .number()
    .int()
    .min(1000)
    .default(30_000)
    .meta({
      description: 'Also compare the folder\'s contents at this interval, for volumes where file-system events do not arrive (Kubernetes ConfigMap symlink swaps, network file systems). Milliseconds.',
      examples: [30_000],
    }),
});

const allowedHostSchema = z
  .string()
  .superRefine((entry, ctx) => {
    const problem = allowedHostProblem(entry);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  })
  .meta({
    description:
      'One place an s3_payload URL may point at: `host` (its scheme\'s default port only), `host:port`, `*.suffix` (any name below suffix), `*.suffix:port` or `[ipv6]:port`, each optionally followed by a `/path-prefix` the URL path must start with (for path-style bucket URLs).',
    examples: ['storage.googleapis.com/terra-services-p-bkt-payloads', 'my-bucket.s3.eu-west-1.amazonaws.com', '*.blob.core.windows.net', 'minio.internal:9000'],
  });

const s3PayloadSchema = strictObject({
  allowedHosts: z
    .array(allowedHostSchema)
    .default([...defaultAllowedHosts])
    .meta({
      description:
        "Where an s3_payload `url` may point; the payload is fetched only from a URL matching an entry. The default is Terra's own payload bucket on Google Cloud Storage (path-style and virtual-hosted). Setting the list replaces the default: keep its entries and add e.g. your own bucket when Terra uploads payloads to it (`my-bucket.s3.eu-west-1.amazonaws.com` or `s3.eu-west-1.amazonaws.com/my-bucket`).",
      examples: [[...defaultAllowedHosts, 'my-bucket.s3.eu-west-1.amazonaws.com']],
    }),
  allowHttp: z.boolean().default(false).meta({ description: 'Allow plain http:// payload URLs. Only for local test servers.', examples: [false] }),
  maxBytes: byteSizeSchema('Largest payload fetched for an s3_payload pointer; a bigger one is dead-lettered.', '64MiB').prefault('64MiB'),
  timeoutMs: milliseconds('How long one payload fetch may take.', 30000),
  maxRetryMs: milliseconds(
    'How long a payload fetch that fails retryably (5xx, 408, 429, a network error or a timeout) is retried (only that message\'s partition waits) before the message is dead-lettered as s3_payload_unavailable.',
    300000,
  ),
  maxExpiresInSeconds: z
    .number()
    .int()
    .positive()
    .default(3600)
    .meta({
      description:
        "The most seconds of a pointer's `expires_in` believed (counted from the Kafka timestamp). Terra documents 300-600 s; a pointer claiming longer is treated as expired after this many seconds, so a replayed or forged pointer cannot keep a URL alive for days.",
      examples: [3600],
    }),
});

const lanesSchema = strictObject({
  lagIntervalMs: milliseconds('How often every lane\'s lag (messages and seconds) is refreshed from the brokers\' high watermarks and the group\'s committed offsets.', 5000),
  stallWarningMs: milliseconds('A lane with work that has committed nothing for this long logs one warning with the reason it is stuck.', 60000),
  progressIntervalMs: z
    .number()
    .int()
    .min(0)
    .default(60000)
    .meta({ description: 'How often a lane with work logs a progress line (records delivered and parked, lag). Milliseconds; 0 turns it off.', examples: [60000] }),
});

const shutdownSchema = strictObject({
  drainTimeoutMs: milliseconds('On SIGTERM or SIGINT, how long in-flight sends may finish before they are abandoned (their offsets stay uncommitted and are read again).', 15000),
});

/** The ingest gateway (`terra-fanout ingest`, or `run` with `ingest.enabled`): Terra webhooks in, Kafka out. */
const ingestSchema = strictObject({
  enabled: z
    .boolean()
    .default(false)
    .meta({ description: 'true: `run` also serves the ingest gateway beside the lanes, so one process does both. `terra-fanout ingest` serves it whatever this says.', examples: [true] }),
  host: z.string().min(1).default('0.0.0.0').meta({ description: 'Address the ingest gateway listens on.', examples: ['0.0.0.0', '127.0.0.1'] }),
  port: z.number().int().min(0).max(65535).default(8080).meta({ description: 'Port of the ingest gateway: `POST /terra/<tenant>`, `/healthz`, `/readyz` (0 picks a free port).', examples: [8080] }),
  bodyLimit: byteSizeSchema(
    'Largest request body accepted; a bigger one is answered 413 as soon as its Content-Length or its bytes so far exceed it. Keep it at or below budgets.maxMessageBytes and the topic\'s max.message.bytes.',
    '32MiB',
  ).prefault('32MiB'),
  maxInFlightBytes: byteSizeSchema('Most bytes of request bodies held at once (being read or waiting for Kafka); a request that would go above it is answered 503 with Retry-After.', '256MiB').prefault('256MiB'),
  headersTimeoutMs: milliseconds('How long a client may take to send the request line and headers.', 10000),
  readTimeoutMs: milliseconds('How long a client may take to send the request body, counted from the end of its headers; a slower one is answered 408.', 30000),
  keepAliveTimeoutMs: milliseconds('How long an idle keep-alive connection is kept open.', 5000),
  produceTimeoutMs: milliseconds(
    'How long a request waits for Kafka to acknowledge its event (acks=all) before it is answered 503. Keep it below Terra\'s webhook timeout (about 8 s) so Terra sees the 503, not its own timeout.',
    5000,
  ),
  retryAfterSeconds: z.number().int().positive().default(30).meta({ description: 'Retry-After sent with a 503 (Kafka unavailable, gateway busy or stopping). Seconds.', examples: [30] }),
  healthcheck: z
    .enum(['answer', 'produce'])
    .default('answer')
    .meta({ description: 'Terra `healthcheck` events: `answer` replies 200 (after the signature check) without producing them; `produce` stores them like any other event.', examples: ['answer'] }),
});

const logSchema = strictObject({
  level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info').meta({ description: 'Lowest log level written.', examples: ['info', 'debug'] }),
});

const tapSchema = strictObject({
  maxSubscribers: z.number().int().min(1).max(100).default(8).meta({ description: 'Most /admin/tap streams open at once.', examples: [8] }),
  queueEvents: z
    .number()
    .int()
    .min(10)
    .max(100_000)
    .default(1000)
    .meta({ description: 'Events held per tap stream while the reader is slow; beyond it, events for that reader are dropped (and counted in its stream), never delaying a lane.', examples: [1000] }),
  maxBodyBytes: byteSizeSchema('Longest record body a tap stream shows when bodies are asked for; longer ones are cut.', '64KiB').prefault('64KiB'),
});

const adminSchema = strictObject({
  enabled: z
    .boolean()
    .default(false)
    .meta({ description: 'Serve the admin API (/admin/...) on the HTTP port: lane status, pause and resume, offsets, reload, tap and dead letters. Off by default; when off, /admin answers 404.', examples: [false, true] }),
  token: secretString('Bearer token the admin API requires (Authorization: Bearer <token>); at least 16 characters. Required when enabled.', '${TERRA_FANOUT_ADMIN_TOKEN}')
    .refine((token) => token.reveal().length >= 16, 'expected a token of at least 16 characters')
    .optional(),
  tap: tapSchema.prefault({}).meta({ description: 'Bounds of /admin/tap streams.' }),
}).superRefine((admin, context) => {
  if (admin.enabled && admin.token === undefined) context.addIssue({ code: 'custom', path: ['token'], message: 'needed while the admin API is enabled; expected token: ${SOME_ENV_VAR} with at least 16 characters' });
});

export const workerConfigSchema = strictObject({
  kafka: kafkaSchema.meta({ description: 'The Kafka cluster the events are read from and dead letters written to.' }),
  http: httpSchema.prefault({}).meta({ description: 'The HTTP server for Prometheus metrics and health checks.' }),
  budgets: budgetsSchema.prefault({}).meta({ description: 'Memory bounds: bytes of messages held while being delivered.' }),
  tenants: tenantsSchema.prefault({}).meta({ description: 'Where the tenant files are.' }),
  s3Payload: s3PayloadSchema.prefault({}).meta({ description: 'Fetching the real event behind an s3_payload pointer (Terra ping mode, or large events).' }),
  lanes: lanesSchema.prefault({}).meta({ description: 'How lanes report on themselves: lag refresh, stall warnings, progress lines.' }),
  shutdown: shutdownSchema.prefault({}).meta({ description: 'Graceful shutdown.' }),
  ingest: ingestSchema.prefault({}).meta({ description: 'The ingest gateway: receives Terra\'s webhook POSTs, checks their signature and produces them to the tenant\'s topic, answering 2xx only once Kafka acknowledged.' }),
  log: logSchema.prefault({}).meta({ description: 'Logging (pino JSON on stdout).' }),
  admin: adminSchema.prefault({}).meta({ description: 'The admin API on the HTTP port (off by default).' }),
}).meta({ title: 'terra-fanout worker', description: 'The worker file: Kafka connection, HTTP server, memory budgets and where the tenant files are.' });

export type WorkerConfig = z.output<typeof workerConfigSchema>;
export type WorkerConfigInput = z.input<typeof workerConfigSchema>;
