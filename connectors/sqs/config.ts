import { z } from 'zod';
import { strictObject } from '../../src/config/strict-object.js';
import { claimCheckConfigSchema } from '../claim-check.js';
import { awsConnectionFields } from '../shared/aws-connection.js';
import { payloadModeSchema } from '../shared/payload-mode.js';

/** SQS's own limits: 10 entries per SendMessageBatch, 1 MiB per message and per batch (attributes included). */
export const SQS_MAX_BATCH_ENTRIES = 10;
export const SQS_MAX_MESSAGE_BYTES = 1_048_576;
export const SQS_MAX_BATCH_BYTES = 1_048_576;

/** 1 to 80 letters, digits, `-` or `_`; FIFO queues end in `.fifo` (within the 80). */
const QUEUE_NAME = /^(?=.{1,80}$)[A-Za-z0-9_-]+(\.fifo)?$/;

/** The `config:` block of a `type: sqs` destination. */
export const sqsConfigSchema = strictObject({
    queueUrl: z
      .url({ protocol: /^https?$/ })
      .optional()
      .meta({
        description: 'Queue URL as SQS shows it. Give queueUrl or queueName, not both. A name ending in .fifo is a FIFO queue.',
        examples: ['https://sqs.eu-west-1.amazonaws.com/123456789012/terra-events.fifo'],
      }),
    queueName: z
      .string()
      .regex(QUEUE_NAME, 'expected a queue name: 1 to 80 letters, digits, - or _, ending in .fifo for a FIFO queue')
      .optional()
      .meta({ description: 'Queue name, resolved to its URL with GetQueueUrl in region. Give queueUrl or queueName, not both.', examples: ['terra-events', 'terra-events.fifo'] }),
    ...awsConnectionFields,
    unit: z
      .enum(['record', 'event'])
      .default('record')
      .meta({ description: 'record: one message per data item (a Terra event with that one item). event: one message per event, exactly as received.', examples: ['record', 'event'] }),
    payload: payloadModeSchema,
    claimCheck: claimCheckConfigSchema.optional(),
    messageGroupBy: z
      .enum(['user_id', 'tenant'])
      .default('user_id')
      .meta({
        description:
          'FIFO queues only: the MessageGroupId. user_id keeps each user\'s records in order and lets users go in parallel; tenant puts the whole tenant in one ordered group (slower).',
        examples: ['user_id', 'tenant'],
      }),
    maxMessageBytes: z
      .int()
      .min(1024)
      .max(SQS_MAX_MESSAGE_BYTES)
      .default(SQS_MAX_MESSAGE_BYTES)
      .meta({
        description: "The largest message the queue accepts, message attributes included (the queue's MaximumMessageSize; SQS allows up to 1 MiB). Larger records go as pointers (payload: auto) or are dead-lettered.",
        examples: [1_048_576, 262_144],
      }),
    concurrency: z
      .int()
      .min(1)
      .max(32)
      .default(4)
      .meta({ description: 'SendMessageBatch calls in flight at once. On FIFO queues a batch waits for earlier batches of the same message groups.', examples: [4] }),
    healthcheck: z
      .boolean()
      .default(true)
      .meta({
        description:
          'true: check() sends a Terra healthcheck message ({"type":"healthcheck",...}), as Terra does to its SQS destinations, which proves sqs:SendMessage. false: check() only calls GetQueueAttributes (needs sqs:GetQueueAttributes) and puts nothing on the queue.',
        examples: [true, false],
      }),
  })
  .superRefine((config, ctx) => {
    if ((config.queueUrl === undefined) === (config.queueName === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['queueUrl'], message: 'Give exactly one of queueUrl and queueName.' });
    }
    if (config.queueUrl !== undefined && URL.canParse(config.queueUrl) && new URL(config.queueUrl).pathname.split('/').filter((part) => part !== '').length !== 2) {
      ctx.addIssue({ code: 'custom', path: ['queueUrl'], message: 'expected a queue URL of the form https://sqs.<region>.amazonaws.com/<account id>/<queue name>' });
    }
    if (config.payload === 'pointer' && config.claimCheck === undefined) {
      ctx.addIssue({ code: 'custom', path: ['claimCheck'], message: 'payload: pointer stores every record through the claim check; configure claimCheck (an S3 bucket).' });
    }
  })
  .meta({ description: 'Settings of an SQS destination: the queue, credentials, payload form (inline or Terra s3_payload pointer) and FIFO grouping. See connectors/sqs/README.md.' });

export type SqsConfig = z.infer<typeof sqsConfigSchema>;
