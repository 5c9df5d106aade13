import { z } from 'zod';
import { strictObject } from '../../src/config/strict-object.js';
import { byteSizeSchema } from '../../src/config/byte-size.js';
import { secretString } from '../../src/config/secret-schema.js';
import type { Secret } from '../../src/config/secret.js';
import { checkObjectLayout, objectLayoutFields } from '../shared/object-store/config.js';

/** Azure's limits for one block and for one Put Blob request as the SDK sends it (256 MiB). */
const MIB = 1024 * 1024;
export const MAX_BLOCK_BYTES = 4000 * MIB;
export const MIN_BLOCK_BYTES = 64 * 1024;
export const MAX_SINGLE_UPLOAD_BYTES = 256 * MIB;

/**
 * Container names: 3-63 characters, lowercase letters, digits and single hyphens, starting and
 * ending with a letter or digit (or the special `$root` / `$web`).
 */
const CONTAINER_NAME = /^(?:[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}|\$root|\$web)$/;
/** Storage account names: 3-24 lowercase letters and digits. */
const ACCOUNT_NAME = /^[a-z0-9]{3,24}$/;

/** How the connector authenticates, derived from which credential fields are set. */
export type AzureCredentialForm = 'connection-string' | 'shared-key' | 'sas-url' | 'default-credential';

const CREDENTIAL_HELP =
  'Give exactly one credential: connectionString; accountName + accountKey; sasUrl; or accountUrl alone (DefaultAzureCredential: managed identity, workload identity, az login).';

/** The `config:` block of a `type: azure_blob` destination. */
export const azureBlobConfigSchema = strictObject({
    container: z
      .string()
      .regex(CONTAINER_NAME, 'Container names are 3-63 characters: lowercase letters, digits and single hyphens, starting and ending with a letter or digit.')
      .meta({ description: 'The blob container every object is written to. It must exist: terra-fanout does not create containers.', examples: ['terra-events'] }),
    connectionString: secretString(
      'A storage account connection string (DefaultEndpointsProtocol=https;AccountName=...;AccountKey=...;EndpointSuffix=core.windows.net), from the portal under Access keys. A connection string with SharedAccessSignature and BlobEndpoint also works.',
      '${AZURE_STORAGE_CONNECTION_STRING}',
    ).optional(),
    accountName: z
      .string()
      .regex(ACCOUNT_NAME, 'Storage account names are 3-24 lowercase letters and digits.')
      .optional()
      .meta({ description: 'The storage account name, used with accountKey.', examples: ['mystorageaccount'] }),
    accountKey: secretString('The storage account access key (base64), used with accountName.', '${AZURE_STORAGE_KEY}').optional(),
    sasUrl: secretString(
      "A SAS URL, as Terra's own Azure destination takes it: a container SAS (https://<account>.blob.core.windows.net/<container>?sv=...&sr=c&sp=rcw&sig=...) or an account SAS for the blob service. Needs write (w) and create (c); read (r) as well if claim-check URLs are made from it. The query string is the secret.",
      '${AZURE_SAS_URL}',
    ).optional(),
    accountUrl: z
      .url({ protocol: /^https?$/ })
      .refine((url) => !URL.canParse(url) || new URL(url).search === '', 'accountUrl must not carry a query string; put a SAS URL in sasUrl (it is kept secret there).')
      .optional()
      .meta({
        description:
          'The blob service endpoint. Alone, it authenticates with DefaultAzureCredential (managed identity, workload identity, environment variables, az login) and must be https. With accountName + accountKey it replaces the default https://<accountName>.blob.core.windows.net (sovereign clouds, Azurite).',
        examples: ['https://mystorageaccount.blob.core.windows.net', 'http://127.0.0.1:10000/devstoreaccount1'],
      }),
    ...objectLayoutFields,
    blockSize: byteSizeSchema('Size of each staged block when an object is uploaded in blocks.', '4MiB', '4MiB').prefault('4MiB'),
    maxSingleUploadSize: byteSizeSchema(
      'Objects up to this size are written with one Put Blob request; larger ones as blocks of blockSize (Put Block, then Put Block List), so a large body never travels in one request. At most 256MiB.',
      '8MiB',
      '8MiB',
    ).prefault('8MiB'),
    blockConcurrency: z
      .int()
      .min(1)
      .max(16)
      .default(4)
      .meta({ description: 'How many blocks of one object are uploaded at the same time.', examples: [4] }),
    timeoutMs: z
      .int()
      .min(1_000)
      .max(3_600_000)
      .default(120_000)
      .meta({ description: "How long one object's upload (all its blocks) may take before it counts as a timeout (retried).", examples: [120_000] }),
  })
  .superRefine((config, ctx) => {
    checkObjectLayout(config, ctx);
    for (const problem of credentialProblems(config)) ctx.addIssue({ code: 'custom', path: problem.path, message: problem.message });
    if (config.blockSize < MIN_BLOCK_BYTES || config.blockSize > MAX_BLOCK_BYTES) {
      ctx.addIssue({ code: 'custom', path: ['blockSize'], message: 'blockSize must be between 64KiB and 4000MiB (Azure block limits).' });
    }
    if (config.maxSingleUploadSize > MAX_SINGLE_UPLOAD_BYTES) {
      ctx.addIssue({ code: 'custom', path: ['maxSingleUploadSize'], message: 'maxSingleUploadSize must be at most 256MiB.' });
    }
  })
  .meta({ description: 'Settings of an Azure Blob Storage destination: the container, one credential, and the object layout. See connectors/azure_blob/README.md.' });

export type AzureBlobConfig = z.infer<typeof azureBlobConfigSchema>;

interface CredentialFields {
  container: string;
  connectionString?: Secret | undefined;
  accountName?: string | undefined;
  accountKey?: Secret | undefined;
  sasUrl?: Secret | undefined;
  accountUrl?: string | undefined;
}

interface Problem {
  path: string[];
  message: string;
}

/** Which credential form a config uses; call only on a config the schema accepted. */
export function credentialForm(config: CredentialFields): AzureCredentialForm {
  if (config.connectionString !== undefined) return 'connection-string';
  if (config.sasUrl !== undefined) return 'sas-url';
  if (config.accountKey !== undefined) return 'shared-key';
  return 'default-credential';
}

/** Every problem with the credential fields: exactly one form, each form complete and well-formed. */
export function credentialProblems(config: CredentialFields): Problem[] {
  const forms = [
    config.connectionString !== undefined ? 'connectionString' : null,
    config.sasUrl !== undefined ? 'sasUrl' : null,
    config.accountKey !== undefined ? 'accountName + accountKey' : null,
  ].filter((form): form is string => form !== null);
  if (forms.length > 1) return [{ path: [], message: `Found ${forms.join(' and ')}. ${CREDENTIAL_HELP}` }];
  const problems: Problem[] = [];
  if (forms.length === 0) {
    if (config.accountUrl === undefined) return [{ path: [], message: `No credential given. ${CREDENTIAL_HELP}` }];
    if (config.accountName !== undefined) problems.push({ path: ['accountName'], message: `accountName needs accountKey; for DefaultAzureCredential give accountUrl alone. ${CREDENTIAL_HELP}` });
    if (URL.canParse(config.accountUrl) && new URL(config.accountUrl).protocol !== 'https:') {
      problems.push({ path: ['accountUrl'], message: 'DefaultAzureCredential (accountUrl alone) needs an https accountUrl: Azure sends bearer tokens over TLS only.' });
    }
    return problems;
  }
  if (config.connectionString !== undefined) {
    for (const field of ['accountName', 'accountUrl'] as const) {
      if (config[field] !== undefined) problems.push({ path: [field], message: `${field} cannot be combined with connectionString, which already names the account and endpoint.` });
    }
    const message = connectionStringProblem(config.connectionString.reveal());
    if (message !== null) problems.push({ path: ['connectionString'], message });
  }
  if (config.sasUrl !== undefined) {
    for (const field of ['accountName', 'accountUrl'] as const) {
      if (config[field] !== undefined) problems.push({ path: [field], message: `${field} cannot be combined with sasUrl, which already names the account and endpoint.` });
    }
    problems.push(...sasUrlProblems(config.sasUrl.reveal(), config.container).map((message) => ({ path: ['sasUrl'], message })));
  }
  if (config.accountKey !== undefined && config.accountName === undefined) {
    problems.push({ path: ['accountName'], message: 'accountKey needs accountName (the storage account it belongs to).' });
  }
  return problems;
}

/** Parses `Key=Value;Key=Value` (values may contain `=`); keys compared case-insensitively. */
export function parseConnectionString(text: string): Map<string, string> {
  const parts = new Map<string, string>();
  for (const pair of text.split(';')) {
    const equals = pair.indexOf('=');
    if (equals <= 0) continue;
    parts.set(pair.slice(0, equals).trim().toLowerCase(), pair.slice(equals + 1).trim());
  }
  return parts;
}

/** Why a connection string cannot work, without quoting it; null when it looks usable. */
function connectionStringProblem(text: string): string | null {
  const parts = parseConnectionString(text);
  if (parts.get('usedevelopmentstorage') === 'true') return null;
  if (parts.has('accountkey')) {
    return parts.has('accountname') ? null : 'connectionString has AccountKey but no AccountName.';
  }
  if (parts.has('sharedaccesssignature')) {
    return parts.has('blobendpoint') ? null : 'connectionString with SharedAccessSignature needs BlobEndpoint.';
  }
  return 'connectionString needs AccountName and AccountKey (portal: Access keys), or SharedAccessSignature and BlobEndpoint.';
}

/** The container a SAS URL's path names, if it has one (the last path segment), else null. */
export function sasUrlPathContainer(url: URL): string | null {
  const segments = url.pathname.split('/').filter((segment) => segment !== '');
  return segments.at(-1) ?? null;
}

/**
 * Problems with a SAS URL, named without quoting the signature: not a SAS, a blob SAS, a
 * container SAS for another container, missing write permission.
 */
export function sasUrlProblems(text: string, container: string): string[] {
  if (!URL.canParse(text)) return ['sasUrl is not a URL.'];
  const url = new URL(text);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return ['sasUrl must be an https URL.'];
  const query = url.searchParams;
  if (!query.has('sig')) return ['sasUrl has no sig= parameter: it is not a SAS URL (generate one under Shared access tokens / Shared access signature).'];
  const problems: string[] = [];
  const resource = query.get('sr');
  if (resource === 'b' || resource === 'bs' || resource === 'bv') {
    problems.push('sasUrl is a blob SAS (sr=b), which can only write that one blob; give a container SAS (sr=c) or an account SAS.');
  }
  if (resource === 'c' && sasUrlPathContainer(url) !== container) {
    problems.push(`sasUrl is a container SAS for "${sasUrlPathContainer(url) ?? ''}" but container is "${container}".`);
  }
  const services = query.get('ss');
  if (resource === null && services !== null && !services.includes('b')) problems.push('sasUrl is an account SAS without the blob service (ss must include b).');
  const types = query.get('srt');
  if (resource === null && types !== null && !types.includes('o')) problems.push('sasUrl is an account SAS without object access (srt must include o).');
  const permissions = query.get('sp');
  if (permissions !== null && !permissions.includes('w')) {
    problems.push(`sasUrl grants sp=${permissions} without write (w): terra-fanout overwrites objects on replay, which needs w (with c).`);
  }
  return problems;
}
