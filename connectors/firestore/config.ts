import { z } from 'zod';
import { strictObject } from '../../src/config/strict-object.js';
import { secretString } from '../../src/config/secret-schema.js';
import { TERRA_KEY_VERSION, compileKeyTemplate, keyTemplateFields } from '../shared/object-key.js';

/** Firestore's limit on writes in one commit or transaction. */
export const FIRESTORE_MAX_BATCH_WRITES = 500;

/**
 * Problems with a collection or document id Firestore would refuse: empty, `/`, `.` or `..`,
 * `__name__`-style reserved ids, longer than 1500 bytes.
 */
export function firestoreIdProblems(id: string): string[] {
  const problems: string[] = [];
  if (id === '') problems.push('must not be empty.');
  if (id.includes('/')) problems.push('must not contain "/" (it is one path segment).');
  if (id === '.' || id === '..') problems.push('must not be "." or "..".');
  if (/^__.*__$/.test(id)) problems.push('must not start and end with "__" (reserved by Firestore).');
  if (Buffer.byteLength(id) > 1500) problems.push('must be at most 1500 bytes.');
  return problems;
}

function firestoreIdSchema(what: string) {
  return z.string().superRefine((id, ctx) => {
    for (const problem of firestoreIdProblems(id)) ctx.addIssue({ code: 'custom', message: `${what} ${problem}` });
  });
}

/** Problems with a document id template: the shared key-template rules, as one path segment. */
export function documentIdTemplateProblems(template: string): string[] {
  const problems: string[] = [];
  if (template.includes('/')) problems.push('documentIdTemplate is one path segment and cannot contain "/".');
  if (/^__.*__$/.test(template)) problems.push('documentIdTemplate must not start and end with "__" (reserved by Firestore).');
  const compiled = compileKeyTemplate(template);
  if (!compiled.ok) problems.push(...compiled.problems.map((problem) => problem.replace(/^keyTemplate/, 'documentIdTemplate')));
  return problems;
}

/** Whether `text` is a Google service-account key (JSON with client_email and private_key). */
export function isServiceAccountJson(text: string): boolean {
  try {
    const parsed: unknown = JSON.parse(text);
    return (
      typeof parsed === 'object' &&
      parsed !== null &&
      'client_email' in parsed &&
      typeof parsed.client_email === 'string' &&
      'private_key' in parsed &&
      typeof parsed.private_key === 'string'
    );
  } catch {
    return false;
  }
}

/** The `config:` block of a `type: firestore` destination. */
export const firestoreConfigSchema = strictObject({
    projectId: z
      .string()
      .regex(/^[a-z0-9][a-z0-9.:-]*$/, 'A Google Cloud project id: lower-case letters, digits and dashes (domain-scoped ids may contain "." and ":").')
      .meta({ description: 'Google Cloud project that holds the Firestore database.', examples: ['my-health-app', '${GCP_PROJECT}'] }),
    databaseId: z
      .string()
      .regex(/^(\(default\)|[a-z][a-z0-9-]{0,61}[a-z0-9])$/, 'Use (default) or a database id: lower-case letters, digits and dashes.')
      .default('(default)')
      .meta({ description: 'Firestore database in the project (Firestore in Native mode).', examples: ['(default)', 'terra'] }),
    serviceAccountFile: z
      .string()
      .min(1)
      .optional()
      .meta({
        description:
          'Path to a service-account key file (JSON). Leave out, together with serviceAccountJson, to use application default credentials (GOOGLE_APPLICATION_CREDENTIALS, workload identity, the metadata server).',
        examples: ['/var/run/secrets/firestore/key.json', '${FIRESTORE_KEY_FILE}'],
      }),
    serviceAccountJson: secretString('The service-account key itself (its JSON text), for example from an environment variable.', '${FIRESTORE_SERVICE_ACCOUNT_JSON}')
      .refine((secret) => isServiceAccountJson(secret.reveal()), {
        message: 'serviceAccountJson must be a service-account key in JSON, with client_email and private_key.',
      })
      .optional(),
    emulatorHost: z
      .string()
      .regex(/^[A-Za-z0-9.-]+:\d{1,5}$/, 'Use host:port, e.g. 127.0.0.1:8085.')
      .optional()
      .meta({
        description:
          "Firestore emulator address (host:port). When set, the destination talks plain gRPC to the emulator with the emulator's owner token and no credentials. Development and tests only.",
        examples: ['127.0.0.1:8085'],
      }),
    rootCollection: firestoreIdSchema('rootCollection')
      .default('terra')
      .meta({ description: 'Top-level collection of every document (Terra: terra).', examples: ['terra', 'health'] }),
    versionDocument: firestoreIdSchema('versionDocument')
      .default(TERRA_KEY_VERSION)
      .meta({
        description: `Document under rootCollection that holds one sub-collection per data type (Terra: ${TERRA_KEY_VERSION}, the API version).`,
        examples: [TERRA_KEY_VERSION, 'production'],
      }),
    documentIdTemplate: z
      .string()
      .superRefine((template, ctx) => {
        for (const message of documentIdTemplateProblems(template)) ctx.addIssue({ code: 'custom', message });
      })
      .optional()
      .meta({
        description:
          "Document id with fields, instead of Terra's {user_id}-{start_time}.json. Fields: " +
          Object.keys(keyTemplateFields)
            .map((field) => `{${field}}`)
            .join(' ') +
          '. Values are sanitized (no "/", "\\", ".." or control characters). Use {summary_id} or {identity} to keep two activities that start in the same second apart.',
        examples: ['{user_id}-{summary_id}.json', '{identity}'],
      }),
    newestWins: z
      .boolean()
      .default(true)
      .meta({
        description:
          "true: every write runs in a transaction that reads the stored document's _terra.ordering_timestamp_ms and skips the write when the stored copy is newer, so an old resend never overwrites newer data. false: plain batched writes, the last write wins (Terra's own behaviour), one read fewer per record.",
        examples: [true, false],
      }),
    maxBatchWrites: z
      .number()
      .int()
      .min(1)
      .max(FIRESTORE_MAX_BATCH_WRITES)
      .default(FIRESTORE_MAX_BATCH_WRITES)
      .meta({ description: 'Most documents in one commit or transaction. Firestore allows 500; larger sends are split.', examples: [500, 100] }),
    concurrency: z
      .number()
      .int()
      .min(1)
      .max(64)
      .default(4)
      .meta({ description: 'Commits or transactions in flight at once. Records for the same document are always written one after another, in order.', examples: [4] }),
    timeoutMs: z
      .number()
      .int()
      .min(1000)
      .max(600_000)
      .default(30_000)
      .meta({
        description:
          'Longest wait for one commit or transaction, including the retries the Firestore client makes on contention and UNAVAILABLE. Past it the records fail as destination_timeout and the lane retries them.',
        examples: [30_000],
      }),
  })
  .superRefine((config, ctx) => {
    if (config.serviceAccountFile !== undefined && config.serviceAccountJson !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['serviceAccountJson'], message: 'Set serviceAccountFile or serviceAccountJson, not both.' });
    }
    if (config.emulatorHost !== undefined && (config.serviceAccountFile !== undefined || config.serviceAccountJson !== undefined)) {
      ctx.addIssue({ code: 'custom', path: ['emulatorHost'], message: 'The emulator takes no credentials: leave out serviceAccountFile and serviceAccountJson with emulatorHost.' });
    }
  })
  .meta({ description: 'Settings of a Firestore destination: project, database, credentials and where documents go. See connectors/firestore/README.md.' });

export type FirestoreConfig = z.infer<typeof firestoreConfigSchema>;
