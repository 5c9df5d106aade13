import { z } from 'zod';
import { strictObject } from '../../src/config/strict-object.js';
import { httpUrlWithoutCredentials } from '../shared/http-url.js';
import { secretString } from '../../src/config/secret-schema.js';
import { retryStatusesSchema } from '../shared/http-errors.js';

/** Headers terra-fanout sets itself on every request; `headers` may not replace them. */
export const RESERVED_HEADERS: ReadonlySet<string> = new Set([
  'content-type',
  'content-length',
  'host',
  'user-agent',
  'terra-signature',
  'x-terra-signature',
  'terra-reference',
  'x-terra-trace-id',
  'x-terra-ordering-timestamp',
  'idempotency-key',
]);

const headerNameSchema = z
  .string()
  .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'Header names are letters, digits and !#$%&\'*+.^_`|~-.')
  .refine((name) => !RESERVED_HEADERS.has(name.toLowerCase()), { message: 'terra-fanout sets this header itself; it cannot be overridden.' });

const headerValueSchema = secretString('A header value.').refine((value) => !/[\r\n\0]/.test(value.reveal()), {
  message: 'Header values must not contain line breaks or NUL.',
});

/** The `config:` block of a `type: webhook` destination. */
export const webhookConfigSchema = strictObject({
  url: httpUrlWithoutCredentials('Put credentials in headers (for example Authorization), not in the URL.')
    .meta({ description: 'Where every event is POSTed (http or https).', examples: ['https://example.com/terra/webhook'] }),
  secret: secretString('Signing secret: requests carry terra-signature and X-Terra-Signature (t=..,v1=HMAC-SHA256), as Terra signs. Leave out to send no signature.', '${APP_WEBHOOK_SECRET}').optional(),
  unit: z
    .enum(['event', 'record'])
    .default('event')
    .meta({
      description: 'event: the event exactly as received, one request per event (Terra webhook granularity). record: one request per data item.',
      examples: ['event', 'record'],
    }),
  timeoutMs: z
    .number()
    .int()
    .min(100)
    .max(300_000)
    .default(10_000)
    .meta({ description: 'How long to wait for an answer before the attempt counts as a timeout (retried).', examples: [10_000] }),
  concurrency: z
    .number()
    .int()
    .min(1)
    .max(256)
    .default(8)
    .meta({ description: 'Requests in flight at once. Records of the same user are always sent one after another, in order.', examples: [8] }),
  retryStatuses: retryStatusesSchema.optional(),
  headers: z
    .record(headerNameSchema, headerValueSchema)
    .optional()
    .meta({
      description: 'Extra static headers sent on every request. Values are treated as secrets (never logged); use ${ENV_VAR}.',
      examples: [{ Authorization: 'Bearer ${WEBHOOK_TOKEN}' }],
    }),
}).meta({ description: 'Settings of a webhook destination: where events are POSTed, how they are signed and retried. See connectors/webhook/README.md.' });

export type WebhookConfig = z.infer<typeof webhookConfigSchema>;
