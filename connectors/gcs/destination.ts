import type { ConnectorContext, Destination } from '../../src/connector/contract.js';
import { FanoutError, type ErrorCode } from '../../src/errors/catalogue.js';
import { isPlainObject } from '../../src/json/json-value.js';
import { classifyNetworkError, httpStatusCode } from '../shared/http-errors.js';
import { createObjectStoreDestination } from '../shared/object-store/destination.js';
import type { ObjectStorePort } from '../shared/object-store/port.js';
import type { GcsConfig } from './config.js';

/** A GCS destination: the shared object-store destination over the GCS port (./client.ts). */
export function createGcsDestination(config: GcsConfig, port: ObjectStorePort, context: ConnectorContext): Destination {
  return createObjectStoreDestination(config, port, context);
}

/** What the client was doing when the SDK failed; it decides which permission a 403 is about. */
export type GcsOperation = 'write' | 'overwrite' | 'delete' | 'sign';

export interface GcsErrorContext {
  /** `gs://bucket` (with prefix), for messages. */
  label: string;
  bucket: string;
  operation: GcsOperation;
  /** The upload's own timeout fired. */
  timedOut?: boolean;
  /** The shutdown signal aborted the upload. */
  shutdown?: boolean;
  /** apiEndpoint is set and useAuthWithCustomEndpoint is false: no token was sent. */
  tokenless?: boolean;
  /** A resumable upload session had been created when the upload failed. */
  sessionStarted?: boolean;
}

const ROLE_ADVICE =
  'Grant the service account roles/storage.objectUser on the bucket (or a custom role with storage.objects.create and storage.objects.delete): ' +
  'GCS needs storage.objects.delete to overwrite an object, and terra-fanout overwrites on every replay, so roles/storage.objectCreator alone is not enough.';

const OAUTH_REFUSALS = new Set(['invalid_grant', 'invalid_client', 'unauthorized_client', 'invalid_scope']);

function field(value: unknown, name: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[name] : undefined;
}

function stringField(value: unknown, name: string): string | undefined {
  const found = field(value, name);
  return typeof found === 'string' ? found : undefined;
}

/** The parts of a GCS failure the classification needs, from whichever shape the SDK used. */
interface GcsFailure {
  status?: number;
  /** GCS's `errors[0].reason`, e.g. notFound, forbidden, rateLimitExceeded. */
  reason?: string;
  /** GCS's own message, read for a permission name only (never copied whole). */
  gcsMessage: string;
  /** An OAuth error code from Google's token endpoint, e.g. invalid_grant. */
  oauthError?: string;
}

/**
 * The SDK fails in several shapes: ApiError (JSON API calls: code, errors[]), GaxiosError
 * (resumable uploads and token requests: response.status, response.data), a plain GCS error
 * object thrown from a response body ({code, message, errors}), and `Retry limit exceeded -
 * status: 503 ...` Errors from the resumable upload when SDK retries are off.
 */
function readFailure(error: unknown): GcsFailure {
  const message = stringField(error, 'message') ?? '';
  const response = field(error, 'response');
  const data = field(response, 'data');
  const dataError = field(data, 'error');
  const failure: GcsFailure = { gcsMessage: message };

  const code = field(error, 'code');
  const responseStatus = field(response, 'status');
  const status = field(error, 'status');
  if (typeof code === 'number') failure.status = code;
  else if (typeof responseStatus === 'number') failure.status = responseStatus;
  else if (typeof status === 'number') failure.status = status;
  else {
    const retried = /^Retry (?:total time )?limit exceeded - status: (\d{3})\b/.exec(message);
    if (retried?.[1] !== undefined) failure.status = Number(retried[1]);
  }

  const errors = field(error, 'errors') ?? field(dataError, 'errors');
  const reason = Array.isArray(errors) ? stringField(errors[0], 'reason') : undefined;
  if (reason !== undefined) failure.reason = reason;
  if (isPlainObject(dataError)) failure.gcsMessage = stringField(dataError, 'message') ?? message;

  const oauth = typeof dataError === 'string' ? dataError : /^(invalid_grant|invalid_client|unauthorized_client|invalid_scope)\b/.exec(message)?.[1];
  if (oauth !== undefined && OAUTH_REFUSALS.has(oauth)) failure.oauthError = oauth;
  return failure;
}

/** The IAM permission GCS names in a 403 message, e.g. storage.objects.delete. */
function deniedPermission(gcsMessage: string): string | undefined {
  const named = /Permission '([A-Za-z]+\.[A-Za-z]+\.[A-Za-z]+)'/.exec(gcsMessage) ?? /does not have ([A-Za-z]+\.[A-Za-z]+\.[A-Za-z]+) access/.exec(gcsMessage);
  return named?.[1] ?? /\b(storage\.(?:objects|buckets|multipartUploads|managedFolders)\.[A-Za-z]+|iam\.serviceAccounts\.[A-Za-z]+)\b/.exec(gcsMessage)?.[1];
}

function permissionFor(operation: GcsOperation): string {
  if (operation === 'sign') return 'iam.serviceAccounts.signBlob';
  if (operation === 'write') return 'storage.objects.create';
  return 'storage.objects.delete';
}

function classifyStatus(status: number, failure: GcsFailure, context: GcsErrorContext, cause: unknown): FanoutError {
  const { label, bucket } = context;
  const reason = failure.reason === undefined ? '' : ` ${failure.reason}`;
  const detail: Record<string, string | number> = { status, ...(failure.reason === undefined ? {} : { reason: failure.reason }) };
  const make = (code: ErrorCode, message: string) => new FanoutError(code, message, { detail, cause });

  if (failure.reason === 'userProjectMissing' || /requester pays/i.test(failure.gcsMessage)) {
    return make('destination_misconfigured', `${label}: the bucket is Requester Pays (${status}${reason}); terra-fanout does not send a billing project. Turn Requester Pays off for this bucket.`);
  }
  if (status === 401) {
    const hint = context.tokenless
      ? ' apiEndpoint is set and useAuthWithCustomEndpoint is false, so no token was sent; set useAuthWithCustomEndpoint: true if that endpoint needs one.'
      : ' Check keyFile/credentials (a deleted or disabled key, or a service account that no longer exists).';
    return make('destination_auth_failed', `${label}: GCS did not accept the credentials (401${reason}).${hint}`);
  }
  if (status === 403) {
    if (failure.reason === 'retentionPolicyNotMet' || /\bhold\b|retention polic/i.test(failure.gcsMessage)) {
      return make('destination_rejected', `${label}: the object is under a retention policy or an object hold and cannot be overwritten (403${reason}). Replays overwrite objects; remove the hold or write under another prefix.`);
    }
    const permission = deniedPermission(failure.gcsMessage) ?? permissionFor(context.operation);
    if (context.operation === 'sign') {
      return make('destination_auth_failed', `${label}: signing a URL was refused (403): the service account lacks ${permission}. Use a key with a private key (keyFile/credentials), or grant roles/iam.serviceAccountTokenCreator on the service account to itself.`);
    }
    return make('destination_auth_failed', `${label}: permission denied (403${reason}): the service account lacks ${permission}. ${ROLE_ADVICE}`);
  }
  if ((status === 404 || status === 410) && context.sessionStarted === true) {
    // The bucket was there a moment ago (it gave us the session): GCS forgets expired sessions.
    return make('destination_unavailable', `${label}: GCS no longer knows the resumable upload session (${status}); the object is uploaded again in a new session.`);
  }
  if (status === 404 || status === 410) {
    return make('destination_not_found', `${label}: bucket "${bucket}" does not exist or the service account cannot see it (${status}). Create the bucket or fix the bucket name; terra-fanout never creates buckets.`);
  }
  if (status === 429) {
    return make('destination_throttled', `${label}: GCS asked to slow down (429${reason}). GCS allows about one write per second to the same object name, and limits request rates per bucket.`);
  }
  const code = httpStatusCode(status);
  if (code === 'destination_record_too_large') return make(code, `${label}: the object is larger than GCS accepts (413).`);
  if (code === 'destination_unavailable' || code === 'destination_timeout') return make(code, `${label}: GCS answered ${status}${reason}.`);
  if (status === 412) return make('destination_rejected', `${label}: GCS answered 412 Precondition Failed; terra-fanout sets no preconditions, so a bucket policy or a proxy added one.`);
  return make('destination_rejected', `${label}: GCS refused the request (${status}${reason}).`);
}

/** True for errors whose message may quote credential text (a key file that failed to parse). */
function mayQuoteKeyMaterial(error: unknown): boolean {
  if (error instanceof SyntaxError) return true;
  const message = stringField(error, 'message') ?? '';
  return /PRIVATE KEY|"private_key"|is not valid JSON|Unexpected token|Unexpected end of JSON/.test(message);
}

const KEY_FILE_ERRORS = new Set(['ENOENT', 'EACCES', 'EISDIR', 'EPERM', 'ENOTDIR']);

/**
 * Turns anything the GCS SDK throws into a catalogued FanoutError with a message that says what
 * to fix. Messages are built from our own text, the HTTP status, GCS's reason code and the IAM
 * permission GCS names; never from key material. Errors that can carry key text (a key file
 * that is not JSON) are not kept as `cause`.
 */
export function classifyGcsError(error: unknown, context: GcsErrorContext): FanoutError {
  if (error instanceof FanoutError) return error;
  const { label } = context;
  if (mayQuoteKeyMaterial(error)) {
    // JSON.parse and the signer quote the text they failed on, which can be a key file's
    // content: such an error is answered without its message and is not kept as cause.
    return new FanoutError('destination_misconfigured', `${label}: the credentials could not be read as a Google key (keyFile or credentials is not the JSON key file Google gave you).`);
  }
  if (context.timedOut === true || context.shutdown === true) {
    return classifyNetworkError(error, { target: label, timedOut: context.timedOut === true, shutdown: context.shutdown === true });
  }
  const failure = readFailure(error);
  const name = stringField(error, 'name') ?? '';
  const message = failure.gcsMessage;

  if (failure.oauthError !== undefined) {
    return new FanoutError(
      'destination_auth_failed',
      `${label}: Google's token endpoint refused the credentials (${failure.oauthError}): the key was deleted or disabled, the service account no longer exists, or the machine's clock is off. Create a new key and update keyFile/credentials.`,
      { detail: { oauthError: failure.oauthError }, cause: error },
    );
  }
  if (failure.status !== undefined && failure.status >= 300) return classifyStatus(failure.status, failure, context, error);

  if (name === 'SigningError' || context.operation === 'sign') {
    if (/client_email|private_key|default credentials|Cannot sign/i.test(message)) {
      return new FanoutError(
        'destination_misconfigured',
        `${label}: signed URLs need a service-account identity: give keyFile/credentials with a private key, or run as a service account that may call IAM signBlob (roles/iam.serviceAccountTokenCreator on itself).`,
        { cause: error },
      );
    }
    if (/seven days/.test(message)) return new FanoutError('destination_misconfigured', `${label}: a V4 signed URL can live at most 7 days (604800 s).`, { cause: error });
    if (/denied|PERMISSION_DENIED|\b403\b/.test(message)) {
      return classifyStatus(403, failure, { ...context, operation: 'sign' }, error);
    }
  }
  if (/Could not load the default credentials|Unable to find credentials|Unable to read the credential file|private_key and client_email are required|Unable to detect a Project Id/.test(message)) {
    return new FanoutError(
      'destination_misconfigured',
      `${label}: no usable Google credentials were found. Set keyFile or credentials, or run with application default credentials (GOOGLE_APPLICATION_CREDENTIALS naming a key file, the GKE/Cloud Run/GCE service account, or gcloud auth application-default login).`,
      { cause: error },
    );
  }
  const systemCode = stringField(error, 'code');
  if (systemCode !== undefined && KEY_FILE_ERRORS.has(systemCode) && stringField(error, 'syscall') === 'open') {
    return new FanoutError('destination_misconfigured', `${label}: a credentials file cannot be read (${systemCode}); check keyFile or GOOGLE_APPLICATION_CREDENTIALS.`, { detail: { errorCode: systemCode }, cause: error });
  }
  if (/The incoming JSON object does not contain a (client_email|private_key)/.test(message)) {
    return new FanoutError('destination_misconfigured', `${label}: the credentials are not a service-account key (no client_email or private_key).`);
  }
  const fileCode = stringField(error, 'code');
  if (fileCode === 'FILE_NO_UPLOAD' || fileCode === 'FILE_NO_UPLOAD_DELETE' || name === 'FileValidationError') {
    return new FanoutError('destination_unavailable', `${label}: the uploaded object failed its checksum (corrupted in transit); it will be written again.`, { detail: { errorCode: fileCode ?? name }, cause: error });
  }
  if (stringField(error, 'type') === 'request-timeout' || /network timeout at/i.test(message)) {
    return new FanoutError('destination_timeout', `${label}: GCS did not answer in time.`, { cause: error });
  }
  return classifyNetworkError(error, { target: label });
}
