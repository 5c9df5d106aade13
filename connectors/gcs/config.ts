import { z } from 'zod';
import { strictObject } from '../../src/config/strict-object.js';
import { byteSizeSchema } from '../../src/config/byte-size.js';
import { secretString } from '../../src/config/secret-schema.js';
import { isPlainObject } from '../../src/json/json-value.js';
import { checkObjectLayout, objectLayoutFields } from '../shared/object-store/config.js';

/**
 * Problems with a bucket name, by Google's naming rules: 3-63 characters (up to 222 with dots,
 * each dot-separated part at most 63), lowercase letters, digits, `-`, `_` and `.`, starting and
 * ending with a letter or digit, not starting with `goog` or containing `google`, not an IP address.
 */
export function bucketNameProblems(name: string): string[] {
  if (name.startsWith('gs://')) return ['bucket is the name only, without gs:// (put folders in prefix).'];
  if (name.includes('/')) return ['bucket is the name only, without "/" (put folders in prefix).'];
  const problems: string[] = [];
  if (!/^[a-z0-9][a-z0-9._-]*[a-z0-9]$/.test(name)) {
    problems.push('bucket names use lowercase letters, digits, "-", "_" and ".", and start and end with a letter or digit.');
  }
  const limit = name.includes('.') ? 222 : 63;
  if (name.length < 3 || name.length > limit) problems.push(`bucket names are 3 to ${limit} characters long.`);
  if (name.split('.').some((part) => part.length > 63)) problems.push('each dot-separated part of a bucket name is at most 63 characters.');
  if (name.startsWith('goog')) problems.push('bucket names cannot start with "goog".');
  if (name.includes('google')) problems.push('bucket names cannot contain "google".');
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(name)) problems.push('bucket names cannot be IP addresses.');
  return problems;
}

/**
 * Problems with credentials JSON (`credentials`, or the content of `keyFile`), each starting
 * with `what`. Never quotes the value: it holds a private key. A service-account key needs
 * client_email and private_key; other credential types (external_account, authorized_user)
 * are passed to Google's auth library as they are.
 */
export function credentialsJsonProblems(json: string, what = 'credentials'): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return [`${what} is not valid JSON; use the whole JSON key file Google gave you.`];
  }
  if (!isPlainObject(parsed)) return [`${what} must be a JSON object (the key file Google gave you).`];
  const type = parsed['type'];
  if (type !== undefined && typeof type !== 'string') return [`${what} has a "type" that is not a string.`];
  if (type === undefined || type === 'service_account') {
    const missing = ['client_email', 'private_key'].filter((field) => typeof parsed[field] !== 'string' || parsed[field] === '');
    if (missing.length > 0) return [`${what} is not a service-account key: it has no ${missing.join(' and no ')}.`];
  }
  return [];
}

/** The `config:` block of a `type: gcs` destination. */
export const gcsConfigSchema = strictObject({
    bucket: z
      .string()
      .superRefine((name, ctx) => {
        for (const message of bucketNameProblems(name)) ctx.addIssue({ code: 'custom', message });
      })
      .meta({ description: 'Name of the Google Cloud Storage bucket (just the name, no gs://). It must exist; terra-fanout never creates buckets.', examples: ['acme-terra-data'] }),
    ...objectLayoutFields,
    projectId: z
      .string()
      .min(1)
      .optional()
      .meta({
        description: 'Google Cloud project the client works for (quota attribution). Leave out to take it from the key or the environment; writing objects does not need it.',
        examples: ['acme-health-prod'],
      }),
    keyFile: z
      .string()
      .min(1)
      .optional()
      .meta({
        description:
          'Path to a credentials JSON file: a service-account key, or a workload identity federation (external_account) file. Read at the first request (and again after a failure, so a secret mounted late is picked up). Leave out keyFile and credentials to use application default credentials (GOOGLE_APPLICATION_CREDENTIALS, the GKE/Cloud Run/GCE service account, or gcloud auth application-default login).',
        examples: ['/var/run/secrets/gcs/key.json'],
      }),
    credentials: secretString('The service-account key JSON itself (the whole file), e.g. from an environment variable, instead of keyFile.', '${GCS_SERVICE_ACCOUNT_JSON}')
      .superRefine((value, ctx) => {
        for (const message of credentialsJsonProblems(value.reveal())) ctx.addIssue({ code: 'custom', message });
      })
      .optional(),
    apiEndpoint: z
      .url({ protocol: /^https?$/ })
      .refine((url) => {
        if (!URL.canParse(url)) return true; // reported by the url check itself
        const parsed = new URL(url);
        return parsed.username === '' && parsed.password === '' && parsed.search === '';
      }, 'apiEndpoint is scheme, host and port only: no credentials or query string.')
      .optional()
      .meta({
        description:
          'Another endpoint for the GCS JSON API: a Private Service Connect endpoint, a proxy, or a local emulator (http://127.0.0.1:9199). The client sends no OAuth token to it unless useAuthWithCustomEndpoint is true. Leave out for https://storage.googleapis.com.',
        examples: ['http://127.0.0.1:9199', 'https://storage-acme.p.googleapis.com'],
      }),
    useAuthWithCustomEndpoint: z
      .boolean()
      .default(false)
      .meta({
        description: 'Send OAuth tokens to apiEndpoint too. true for a Private Service Connect endpoint or an authenticating proxy; false (the default) for an emulator, which takes no token.',
        examples: [false, true],
      }),
    resumableThreshold: byteSizeSchema('Objects larger than this are written with a resumable upload (two requests, safe for tens of MB); smaller ones in one multipart request.', '8MiB', '8MiB').prefault('8MiB'),
    timeoutMs: z
      .int()
      .min(1_000)
      .max(3_600_000)
      .default(120_000)
      .meta({ description: 'How long one object upload may take before the attempt counts as a timeout (retried). Allow for your largest objects.', examples: [120_000] }),
  })
  .superRefine((config, ctx) => {
    checkObjectLayout(config, ctx);
    if (config.keyFile !== undefined && config.credentials !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['credentials'], message: 'Give keyFile or credentials, not both.' });
    }
    if (config.useAuthWithCustomEndpoint && config.apiEndpoint === undefined) {
      ctx.addIssue({ code: 'custom', path: ['useAuthWithCustomEndpoint'], message: 'useAuthWithCustomEndpoint applies only with apiEndpoint; leave it out for storage.googleapis.com, which always gets a token.' });
    }
  })
  .meta({ description: 'Settings of a Google Cloud Storage destination: bucket, layout, credentials. See connectors/gcs/README.md.' });

export type GcsConfig = z.infer<typeof gcsConfigSchema>;
