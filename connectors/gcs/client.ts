import { readFile } from 'node:fs/promises';
import { Storage, type File, type StorageOptions } from '@google-cloud/storage';
import { FanoutError } from '../../src/errors/catalogue.js';
import type { ObjectPut, ObjectStorePort } from '../shared/object-store/port.js';
import { credentialsJsonProblems, type GcsConfig } from './config.js';
import { classifyGcsError, type GcsOperation } from './destination.js';

/**
 * The GCS port: the only file that touches @google-cloud/storage. Every SDK error leaves it as
 * a FanoutError (classifyGcsError). The SDK's own retries are off: the engine retries a failed
 * object as a whole, with its backoff, and counts the attempts.
 */

/** `gs://bucket/prefix`, for messages and logs. */
export function gcsLabel(config: Pick<GcsConfig, 'bucket' | 'prefix'>): string {
  const prefix = config.prefix?.replace(/\/+$/, '');
  return prefix === undefined || prefix === '' ? `gs://${config.bucket}` : `gs://${config.bucket}/${prefix}`;
}

/** Parsed credentials JSON, as the SDK takes it. */
export type GcsCredentials = NonNullable<StorageOptions['credentials']>;

/**
 * Pure: the Storage client options for a config. `credentials` is the parsed key (from
 * `credentials` or the content of `keyFile`); without it the SDK uses application default
 * credentials. With apiEndpoint the SDK sends no token unless useAuthWithCustomEndpoint is set
 * (what an emulator wants).
 */
export function gcsStorageOptions(config: GcsConfig, credentials?: GcsCredentials): StorageOptions {
  const options: StorageOptions = {
    retryOptions: { autoRetry: false },
    timeout: config.timeoutMs,
  };
  if (config.projectId !== undefined) options.projectId = config.projectId;
  if (credentials !== undefined) options.credentials = credentials;
  if (config.apiEndpoint !== undefined) {
    options.apiEndpoint = config.apiEndpoint;
    options.useAuthWithCustomEndpoint = config.useAuthWithCustomEndpoint;
  }
  return options;
}

/**
 * The credentials a config names: the inline JSON, the keyFile's content (read now), or none
 * for application default credentials. Throws destination_misconfigured for a key file that
 * cannot be read or is not a key; the message never quotes the file.
 */
export async function loadGcsCredentials(config: GcsConfig, label: string): Promise<GcsCredentials | undefined> {
  if (config.credentials !== undefined) return JSON.parse(config.credentials.reveal()) as GcsCredentials;
  if (config.keyFile === undefined) return undefined;
  let text: string;
  try {
    text = await readFile(config.keyFile, 'utf8');
  } catch (error) {
    const code = typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' ? error.code : 'unreadable';
    throw new FanoutError('destination_misconfigured', `${label}: keyFile ${config.keyFile} cannot be read (${code}).`, { detail: { errorCode: code } });
  }
  const problems = credentialsJsonProblems(text, `keyFile ${config.keyFile}`);
  if (problems.length > 0) throw new FanoutError('destination_misconfigured', `${label}: ${problems.join(' ')}`);
  return JSON.parse(text) as GcsCredentials;
}

/** The body the probe writes: small, recognisable, no record content. */
function probeBody(): Buffer {
  return Buffer.from(`${JSON.stringify({ probe: 'terra-fanout', at: new Date().toISOString() })}\n`);
}

class GcsClient implements ObjectStorePort {
  readonly label: string;
  readonly #config: GcsConfig;
  readonly #tokenless: boolean;
  /** Built at the first call (a keyFile is read then); forgotten after a failure so it is tried again. */
  #storage: Promise<Storage> | undefined;

  constructor(config: GcsConfig) {
    this.#config = config;
    this.label = gcsLabel(config);
    this.#tokenless = config.apiEndpoint !== undefined && !config.useAuthWithCustomEndpoint;
  }

  async put(object: ObjectPut, signal: AbortSignal): Promise<void> {
    await this.#upload(object, 'write', signal);
  }

  /**
   * Writes the probe object twice and deletes it: the second write is an overwrite, which GCS
   * allows only with storage.objects.delete, the permission every replay needs.
   */
  async probe(key: string, signal: AbortSignal): Promise<void> {
    const object: ObjectPut = { key, body: probeBody(), contentType: 'application/json', metadata: { purpose: 'terra-fanout-check' } };
    await this.#upload(object, 'write', signal);
    await this.#upload({ ...object, body: probeBody() }, 'overwrite', signal);
    const file = await this.#file(key);
    try {
      await file.delete({ ignoreNotFound: true });
    } catch (error) {
      throw this.#classify(error, 'delete');
    }
  }

  async signedReadUrl(key: string, expiresInSeconds: number): Promise<string> {
    const file = await this.#file(key);
    try {
      const [url] = await file.getSignedUrl({ version: 'v4', action: 'read', expires: Date.now() + expiresInSeconds * 1000 });
      return url;
    } catch (error) {
      throw this.#classify(error, 'sign');
    }
  }

  async close(): Promise<void> {
    // The SDK holds no connections of its own (requests use Node's global agent).
  }

  async #file(key: string): Promise<File> {
    this.#storage ??= loadGcsCredentials(this.#config, this.label).then((credentials) => new Storage(gcsStorageOptions(this.#config, credentials)));
    try {
      const storage = await this.#storage;
      return storage.bucket(this.#config.bucket).file(key);
    } catch (error) {
      this.#storage = undefined;
      throw error;
    }
  }

  #classify(error: unknown, operation: GcsOperation, flags: { timedOut?: boolean; shutdown?: boolean; sessionStarted?: boolean } = {}): FanoutError {
    return classifyGcsError(error, { label: this.label, bucket: this.#config.bucket, operation, tokenless: this.#tokenless, ...flags });
  }

  /**
   * One object through the SDK's write stream: multipart up to resumableThreshold, resumable
   * above it. The stream (not file.save) so that shutdown and the timeout can abort the upload.
   * Resolves once GCS confirmed the object and its CRC32C matched.
   */
  async #upload(object: ObjectPut, operation: GcsOperation, shutdown: AbortSignal): Promise<void> {
    const file = await this.#file(object.key);
    const timeout = AbortSignal.timeout(this.#config.timeoutMs);
    const abort = AbortSignal.any([shutdown, timeout]);
    let sessionStarted = false;
    try {
      await new Promise<void>((resolve, reject) => {
        if (abort.aborted) {
          reject(abort.reason);
          return;
        }
        const stream = file.createWriteStream({
          resumable: object.body.length > this.#config.resumableThreshold,
          contentType: object.contentType,
          metadata: {
            contentType: object.contentType,
            ...(object.contentEncoding === undefined ? {} : { contentEncoding: object.contentEncoding }),
            metadata: { ...object.metadata },
          },
          validation: 'crc32c',
        });
        const onAbort = (): void => {
          stream.destroy(abort.reason instanceof Error ? abort.reason : new Error('aborted'));
        };
        abort.addEventListener('abort', onAbort, { once: true });
        const settle = (error?: unknown): void => {
          abort.removeEventListener('abort', onAbort);
          if (error === undefined) resolve();
          else reject(error);
        };
        stream.once('uri', () => {
          sessionStarted = true;
        });
        stream.once('error', settle);
        stream.once('finish', () => settle());
        stream.end(object.body);
      });
    } catch (error) {
      const shuttingDown = shutdown.aborted;
      throw this.#classify(error, operation, { shutdown: shuttingDown, timedOut: timeout.aborted && !shuttingDown, sessionStarted });
    }
  }
}

/** The real GCS port. Performs no I/O until called; the SDK client is built at the first call. */
export function createGcsClient(config: GcsConfig): ObjectStorePort {
  return new GcsClient(config);
}
