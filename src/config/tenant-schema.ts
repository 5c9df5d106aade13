import { z } from 'zod';
import { connectorRegistry } from '../../connectors/registry.js';
import type { AnyConnectorDefinition } from '../connector/contract.js';
import { isPlainObject } from '../json/json-value.js';
import { destinationFormatProblems, fhirOptionsSchema, formatFieldSchema } from '../formats/destination-format.js';
import { eventFilterNames, eventFilterProblem, expandEventFilter } from '../terra/event-types.js';
import { batchSchema, resolveDestinationSettings, retrySchema } from './delivery-settings.js';
import { secretString } from './secret-schema.js';
import { strictObject } from './strict-object.js';

export { resolveDestinationSettings } from './delivery-settings.js';
export type { BatchSettings, DestinationSettings, RetrySettings } from './delivery-settings.js';

/**
 * A tenant file: the topics one tenant's events arrive on and the destinations they go to.
 * Destination schemas are composed from the connector registry, so a new connector needs no
 * change here.
 */

const SLUG = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const SLUG_RULE = 'expected 1 to 63 lower-case letters, digits, _ or -, starting with a letter or digit';
const TOPIC = /^[A-Za-z0-9._-]{1,249}$/;
const TOPIC_RULE = 'expected a Kafka topic name: 1 to 249 letters, digits, dot, underscore or dash';

function slugSchema(description: string, example: string) {
  return z.string().regex(SLUG, SLUG_RULE).meta({ description, examples: [example] });
}

function topicSchema(description: string, example: string) {
  return z.string().regex(TOPIC, TOPIC_RULE).meta({ description, examples: [example] });
}

const eventTypeSchema = z
  .enum(eventFilterNames, { error: (issue) => eventFilterProblem(String(issue.input)) })
  .meta({ description: 'A Terra event type (the envelope `type`), or `lab_report` for every lab_report.* type.', examples: ['activity', 'lab_report'] });

const providerSchema = z
  .string()
  .regex(/^[A-Z0-9][A-Z0-9_]*$/, 'expected an upper-case provider name such as GARMIN or FITBIT')
  .meta({ description: 'A Terra provider name, upper case as Terra sends it in `user.provider`.', examples: ['GARMIN'] });

const signatureSchema = strictObject({
  secret: secretString('The Terra signing secret the terra-signature header was made with.', '${TERRA_SIGNING_SECRET}'),
  required: z
    .boolean()
    .default(false)
    .meta({ description: 'true: a message without a terra-signature header is dead-lettered too. false: only a message whose header is present and does not verify is.', examples: [false] }),
  toleranceSeconds: z
    .number()
    .int()
    .positive()
    .default(300)
    .meta({ description: 'How far the signature timestamp may be, either way, from the time of the check: now at the ingest gateway, the message\'s Kafka timestamp (when it was stored) in a lane. Seconds.', examples: [300] }),
});

const sourceSchema = strictObject({
  signature: signatureSchema.optional().meta({ description: 'Verify the terra-signature header of incoming messages (when the producer kept Terra\'s webhook headers).' }),
});

const ingestSchema = strictObject({
  enabled: z
    .boolean()
    .default(true)
    .meta({ description: 'Serve `POST /terra/<tenant>` on the ingest gateway. Each request is verified with source.signature.secret, which is then required.', examples: [true] }),
  rejectInvalid: z
    .boolean()
    .default(false)
    .meta({
      description:
        'true: a body that is not a valid Terra event (malformed JSON, unknown type, schema violation) is answered 400 with the decoder\'s code and not produced. false: it is produced like any other, and the lanes park it with its reason.',
      examples: [false],
    }),
  topic: topicSchema('Topic the gateway produces this tenant\'s events to. Default: the first of `topics`.', 'terra.events').optional(),
});

const defaultsSchema = strictObject({
  batch: batchSchema.optional().meta({ description: 'Batching for every destination of this tenant that does not set its own.' }),
  retry: retrySchema.optional().meta({ description: 'Retries for every destination of this tenant that does not set its own.' }),
});

function destinationSchema(connector: AnyConnectorDefinition) {
  return strictObject({
    name: slugSchema('Name of the destination, unique within the tenant. Part of the lane\'s consumer group id, metrics and logs.', 'warehouse'),
    type: z.literal(connector.type).meta({ description: `Destination type: ${connector.description}`, examples: [connector.type] }),
    events: z
      .array(eventTypeSchema)
      .min(1)
      .transform(expandEventFilter)
      .optional()
      .meta({
        description:
          'Only these Terra event types go to this destination. Default: every type. `lab_report` (Terra\'s opt-in name) means lab_report.completed and lab_report.failed; the exact types work too.',
        examples: [['activity', 'sleep'], ['lab_report']],
      }),
    providers: z
      .array(providerSchema)
      .min(1)
      .optional()
      .meta({ description: 'Only events from these providers go to this destination. Default: every provider.', examples: [['GARMIN', 'OURA']] }),
    format: formatFieldSchema(connector).optional(),
    fhir: fhirOptionsSchema.optional(),
    batch: batchSchema.optional().meta({ description: 'Batching of sends. Fields left out come from the tenant `defaults`, then the built-in defaults.' }),
    retry: retrySchema.optional().meta({ description: 'Retries of retryable failures. Fields left out come from the tenant `defaults`, then the built-in defaults.' }),
    config: connector.configSchema,
  }).meta({ title: connector.type, description: connector.description });
}


/** Builds the tenant schema over the given connectors (the real registry, or test connectors). */
export function createTenantSchema(registry: readonly AnyConnectorDefinition[]) {
  const [first, ...rest] = registry.map(destinationSchema);
  if (first === undefined) throw new Error('createTenantSchema needs at least one connector');
  const types = registry.map((connector) => connector.type).join(', ');

  const destinationsSchema = z
    .array(z.discriminatedUnion('type', [first, ...rest], {
        error: (issue) => (isPlainObject(issue.input) && issue.input['type'] !== undefined ? `unknown destination type; expected one of: ${types}` : `expected one of: ${types}`),
      }))
    .min(1, 'expected at least one destination')
    .superRefine(
      (destinations: unknown, context) => {
        if (!Array.isArray(destinations)) return;
        const seen = new Set<string>();
        destinations.forEach((destination: unknown, index) => {
          const name = isPlainObject(destination) ? destination['name'] : undefined;
          if (typeof name !== 'string') return;
          if (seen.has(name)) context.addIssue({ code: 'custom', path: [index, 'name'], message: 'duplicate destination name; each destination of a tenant needs its own name' });
          seen.add(name);
        });
      },
      { when: (payload) => Array.isArray(payload.value) },
    )
    .meta({ description: 'Where this tenant\'s events go. Each destination is a lane: its own consumer group, offsets, retries and metrics.' });

  return strictObject({
    tenant: slugSchema('Tenant name. Part of every lane\'s consumer group id, metric labels and logs.', 'acme'),
    topics: z.array(topicSchema('A Kafka topic with this tenant\'s Terra events.', 'terra.events')).min(1).meta({ description: 'Kafka topics this tenant\'s Terra events arrive on.', examples: [['terra.events']] }),
    deadLetterTopic: topicSchema('Kafka topic for records that cannot be delivered (poison input, permanent failures), with the reason in headers.', 'terra.events.dlq.acme'),
    source: sourceSchema.optional().meta({ description: 'How incoming messages are checked before delivery.' }),
    ingest: ingestSchema.optional().meta({ description: 'This tenant\'s route on the ingest gateway (`terra-fanout ingest`): Terra POSTs its webhooks there and the gateway produces them to Kafka.' }),
    defaults: defaultsSchema.optional().meta({ description: 'Tenant-wide batching and retry settings; a destination\'s own settings override them.' }),
    destinations: destinationsSchema,
  })
    .superRefine(
      (tenant: unknown, context) => {
        if (!isPlainObject(tenant)) return;
        const topics = tenant['topics'];
        if (Array.isArray(topics) && topics.includes(tenant['deadLetterTopic'])) {
          context.addIssue({ code: 'custom', path: ['deadLetterTopic'], message: 'the dead-letter topic is also in topics; expected a topic this tenant does not consume' });
        }
      },
      { when: (payload) => isPlainObject(payload.value) },
    )
    .superRefine((tenant, context) => {
      if (tenant.ingest?.enabled !== true) return;
      if (tenant.source?.signature === undefined) {
        context.addIssue({ code: 'custom', path: ['ingest'], message: 'the ingest gateway verifies every request with source.signature.secret; expected a source.signature block' });
      }
      if (tenant.ingest.topic !== undefined && tenant.ingest.topic === tenant.deadLetterTopic) {
        context.addIssue({ code: 'custom', path: ['ingest', 'topic'], message: 'ingest.topic is the dead-letter topic; expected a topic of Terra events' });
      }
    })
    .superRefine((tenant, context) => {
      tenant.destinations.forEach((destination, index) => {
        const { retry } = resolveDestinationSettings(tenant, destination);
        if (retry.maxDelayMs < retry.initialDelayMs) {
          context.addIssue({ code: 'custom', path: ['destinations', index, 'retry'], message: 'retry.maxDelayMs (with tenant defaults) is below retry.initialDelayMs; expected maxDelayMs >= initialDelayMs' });
        }
        const connector = registry.find((candidate) => candidate.type === destination.type);
        if (connector === undefined) return;
        for (const problem of destinationFormatProblems(destination, connector)) {
          context.addIssue({ code: 'custom', path: ['destinations', index, ...problem.path], message: problem.message });
        }
      });
    })
    .meta({ title: 'terra-fanout tenant', description: 'A tenant file: the Kafka topics one tenant\'s Terra events arrive on and the destinations they are delivered to.' });
}

export const tenantConfigSchema = createTenantSchema(connectorRegistry);

export type TenantConfig = z.output<typeof tenantConfigSchema>;
export type TenantConfigInput = z.input<typeof tenantConfigSchema>;
export type DestinationConfig = TenantConfig['destinations'][number];
