import { DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import {
  AnonymousCredential,
  BlobSASPermissions,
  BlobServiceClient,
  ContainerClient,
  SASProtocol,
  StorageSharedKeyCredential,
  type BlobGenerateSasUrlOptions,
  type StoragePipelineOptions,
  type UserDelegationKey,
} from '@azure/storage-blob';
import type { ConnectorContext } from '../../src/connector/contract.js';
import { FanoutError } from '../../src/errors/catalogue.js';
import { safeUrlLabel } from '../shared/http-errors.js';
import type { ObjectPut, ObjectStorePort } from '../shared/object-store/port.js';
import { fanoutUserAgent } from '../shared/user-agent.js';
import { credentialForm, sasUrlPathContainer, type AzureBlobConfig, type AzureCredentialForm } from './config.js';
import { classifyAzureBlobError } from './destination.js';
import { azureMetadata } from './encode.js';

/** What tests and embedders may replace; production uses the defaults. */
export interface AzureBlobClientOptions {
  /** Used instead of DefaultAzureCredential when the config gives accountUrl alone. */
  tokenCredential?: TokenCredential;
  /** Clock for SAS expiry, unix milliseconds; defaults to Date.now. */
  now?: () => number;
}

/** How claim-check URLs are signed: by the account key, by a user-delegation key, or by the configured SAS. */
type Signing = 'shared-key' | 'user-delegation' | 'configured-sas';

/** A user-delegation key is asked for this long and replaced when less than the URL's lifetime plus this margin is left. */
const DELEGATION_KEY_LIFETIME_MS = 24 * 60 * 60 * 1000;
const DELEGATION_KEY_MARGIN_MS = 5 * 60 * 1000;
/** Azure's clocks may run behind ours; a delegation key starts a little in the past. */
const CLOCK_SKEW_MS = 5 * 60 * 1000;

interface Built {
  container: ContainerClient;
  service: BlobServiceClient | null;
  signing: Signing;
}

function pipelineOptions(): StoragePipelineOptions {
  return {
    // The engine retries with backoff and records every attempt; the SDK must not retry underneath it.
    retryOptions: { maxTries: 1 },
    userAgentOptions: { userAgentPrefix: fanoutUserAgent() },
  };
}

function build(config: AzureBlobConfig, form: AzureCredentialForm, options: AzureBlobClientOptions): Built {
  const pipeline = pipelineOptions();
  switch (form) {
    case 'connection-string': {
      const service = BlobServiceClient.fromConnectionString(config.connectionString?.reveal() ?? '', pipeline);
      const signing: Signing = service.credential instanceof StorageSharedKeyCredential ? 'shared-key' : 'configured-sas';
      return { container: service.getContainerClient(config.container), service, signing };
    }
    case 'shared-key': {
      const accountName = config.accountName ?? '';
      const url = config.accountUrl ?? `https://${accountName}.blob.core.windows.net`;
      const service = new BlobServiceClient(url, new StorageSharedKeyCredential(accountName, config.accountKey?.reveal() ?? ''), pipeline);
      return { container: service.getContainerClient(config.container), service, signing: 'shared-key' };
    }
    case 'sas-url': {
      const sasUrl = config.sasUrl?.reveal() ?? '';
      // A container SAS URL names the container; an account SAS URL is the service endpoint.
      if (sasUrlPathContainer(new URL(sasUrl)) === config.container) {
        return { container: new ContainerClient(sasUrl, new AnonymousCredential(), pipeline), service: null, signing: 'configured-sas' };
      }
      const service = new BlobServiceClient(sasUrl, new AnonymousCredential(), pipeline);
      return { container: service.getContainerClient(config.container), service, signing: 'configured-sas' };
    }
    case 'default-credential': {
      const credential = options.tokenCredential ?? new DefaultAzureCredential();
      const service = new BlobServiceClient(config.accountUrl ?? '', credential, pipeline);
      return { container: service.getContainerClient(config.container), service, signing: 'user-delegation' };
    }
  }
}

/** The SAS permissions (sp=) of a URL, or null when it carries none. */
function sasPermissions(url: string): string | null {
  return URL.canParse(url) ? new URL(url).searchParams.get('sp') : null;
}

class AzureBlobPort implements ObjectStorePort {
  readonly label: string;
  private readonly form: AzureCredentialForm;
  private readonly container: ContainerClient;
  private readonly service: BlobServiceClient | null;
  private readonly signing: Signing;
  private readonly now: () => number;
  private delegationKey: UserDelegationKey | undefined;

  constructor(
    private readonly config: AzureBlobConfig,
    private readonly context: ConnectorContext,
    options: AzureBlobClientOptions,
  ) {
    this.form = credentialForm(config);
    let built: Built;
    try {
      built = build(config, this.form, options);
    } catch (error) {
      throw new FanoutError('destination_misconfigured', `Azure Blob client for container "${config.container}" could not be built from the ${this.form} credential; check its format.`, { cause: error });
    }
    this.container = built.container;
    this.service = built.service;
    this.signing = built.signing;
    this.label = safeUrlLabel(built.container.url);
    this.now = options.now ?? Date.now;
  }

  async put(object: ObjectPut, signal: AbortSignal): Promise<void> {
    const { metadata, invalid } = azureMetadata(object.metadata);
    if (invalid.length > 0) throw new FanoutError('internal_error', `Metadata names ${invalid.join(', ')} are not valid Azure metadata names (C# identifiers).`);
    const timeout = AbortSignal.timeout(this.config.timeoutMs);
    try {
      await this.container.getBlockBlobClient(object.key).uploadData(object.body, {
        blockSize: this.config.blockSize,
        maxSingleShotSize: this.config.maxSingleUploadSize,
        concurrency: this.config.blockConcurrency,
        blobHTTPHeaders: { blobContentType: object.contentType, ...(object.contentEncoding === undefined ? {} : { blobContentEncoding: object.contentEncoding }) },
        metadata,
        abortSignal: AbortSignal.any([signal, timeout]),
      });
    } catch (error) {
      throw this.classify(error, { timedOut: timeout.aborted && !signal.aborted, shutdown: signal.aborted });
    }
  }

  /**
   * Writes the probe twice (the second write overwrites, as a replay does: a SAS with create but
   * not write fails here, not at the first replay), then deletes it. A failed delete does not fail
   * the check: send() never deletes, so a SAS without d is enough.
   */
  async probe(key: string, signal: AbortSignal): Promise<void> {
    const body = Buffer.from(JSON.stringify({ probe: 'terra-fanout', tenant: this.context.tenant, destination: this.context.destination, at: new Date(this.now()).toISOString() }));
    const object: ObjectPut = { key, body, contentType: 'application/json', metadata: { tenant: this.context.tenant, probe: 'true' } };
    await this.put(object, signal);
    await this.put(object, signal);
    try {
      await this.container.getBlockBlobClient(key).deleteIfExists({ abortSignal: signal });
    } catch (error) {
      const failure = this.classify(error, {});
      this.context.logger.info({ code: failure.code, key }, 'The check probe blob was written but not deleted (the credential may lack delete permission); it stays.');
    }
  }

  async signedReadUrl(key: string, expiresInSeconds: number): Promise<string> {
    const blob = this.container.getBlobClient(key);
    const expiresOn = new Date(this.now() + expiresInSeconds * 1000);
    const sasOptions: BlobGenerateSasUrlOptions = {
      permissions: BlobSASPermissions.parse('r'),
      expiresOn,
      protocol: new URL(blob.url).protocol === 'https:' ? SASProtocol.Https : SASProtocol.HttpsAndHttp,
    };
    try {
      switch (this.signing) {
        case 'shared-key':
          return await blob.generateSasUrl(sasOptions);
        case 'user-delegation':
          return await blob.generateUserDelegationSasUrl(sasOptions, await this.userDelegationKey(expiresOn));
        case 'configured-sas':
          return this.configuredSasUrl(blob.url);
      }
    } catch (error) {
      throw this.classify(error, {});
    }
  }

  async close(): Promise<void> {
    // The SDK pools connections in its shared HTTP client; nothing is held per destination.
  }

  /** The configured SAS reused for reading: its own expiry applies, and it must grant read (r). */
  private configuredSasUrl(url: string): string {
    const permissions = sasPermissions(url);
    if (permissions !== null && !permissions.includes('r')) {
      throw new FanoutError(
        'destination_misconfigured',
        `The SAS configured for ${this.label} has no read (r) permission (sp=${permissions}), so claim-check URLs made from it cannot be read; add r, or use accountName + accountKey or DefaultAzureCredential.`,
      );
    }
    return url;
  }

  /** A user-delegation key (needs Storage Blob Data Contributor or Delegator) valid past `until`; cached. */
  private async userDelegationKey(until: Date): Promise<UserDelegationKey> {
    const cached = this.delegationKey;
    if (cached !== undefined && cached.signedExpiresOn.getTime() > until.getTime() + DELEGATION_KEY_MARGIN_MS) return cached;
    if (this.service === null) throw new FanoutError('internal_error', 'User-delegation signing needs the blob service client.');
    const now = this.now();
    const expires = Math.max(now + DELEGATION_KEY_LIFETIME_MS, until.getTime() + DELEGATION_KEY_MARGIN_MS);
    const response = await this.service.getUserDelegationKey(new Date(now - CLOCK_SKEW_MS), new Date(expires));
    this.delegationKey = response;
    return response;
  }

  private classify(error: unknown, flags: { timedOut?: boolean; shutdown?: boolean }): FanoutError {
    return classifyAzureBlobError(error, { target: `Azure Blob ${this.label}`, container: this.config.container, credential: this.form, ...flags });
  }
}

/**
 * The real port over @azure/storage-blob, the only file that imports the SDK. Builds the SDK
 * client once, from exactly one credential form (the schema guarantees one): a connection string,
 * account name + key, a SAS URL, or DefaultAzureCredential for accountUrl alone. Performs no I/O
 * until called. Every error leaving it is a catalogued FanoutError.
 */
export function createAzureBlobClient(config: AzureBlobConfig, context: ConnectorContext, options: AzureBlobClientOptions = {}): ObjectStorePort {
  return new AzureBlobPort(config, context, options);
}
