import type { ConnectorContext, Destination } from '../../src/connector/contract.js';
import { FanoutError } from '../../src/errors/catalogue.js';
import { classifyHttpStatus, classifyNetworkError, parseRetryAfterMs } from '../shared/http-errors.js';
import { createObjectStoreDestination } from '../shared/object-store/destination.js';
import type { ObjectStorePort } from '../shared/object-store/port.js';
import type { AzureBlobConfig, AzureCredentialForm } from './config.js';

/**
 * An Azure Blob destination: the shared object-store destination (planning, gzip, ordered
 * parallel uploads, per-record outcomes) over the Azure port of ./client.ts. Performs no I/O
 * until check() or send().
 */
export function createAzureBlobDestination(config: AzureBlobConfig, port: ObjectStorePort, context: ConnectorContext): Destination {
  return createObjectStoreDestination(config, port, context);
}

export interface AzureClassifyOptions {
  /** The container URL without query string, e.g. `https://acct.blob.core.windows.net/terra`. */
  target: string;
  container: string;
  credential: AzureCredentialForm;
  /** The upload's own timeout fired. */
  timedOut?: boolean;
  /** The shutdown signal aborted the upload. */
  shutdown?: boolean;
}

/** Storage error codes (x-ms-error-code) that mean the credential or its rights were refused. */
const AUTH_CODES = new Set([
  'AuthenticationFailed',
  'AuthorizationFailure',
  'AuthorizationPermissionMismatch',
  'AuthorizationResourceTypeMismatch',
  'AuthorizationServiceMismatch',
  'AuthorizationProtocolMismatch',
  'AuthorizationSourceIPMismatch',
  'InsufficientAccountPermissions',
  'InvalidAuthenticationInfo',
  'NoAuthenticationInformation',
  'AccountIsDisabled',
]);

/** Names of the @azure/identity errors DefaultAzureCredential throws when it gets no token. */
const IDENTITY_ERRORS = new Set(['CredentialUnavailableError', 'AuthenticationError', 'AggregateAuthenticationError', 'AuthenticationRequiredError']);

/** What to fix when the credential was refused, by how the connector authenticates. */
function credentialHint(form: AzureCredentialForm): string {
  switch (form) {
    case 'shared-key':
      return 'Check accountName and accountKey (portal: Storage account > Access keys); a rotated key must be updated here.';
    case 'connection-string':
      return "Check the connection string's AccountName and AccountKey (portal: Access keys; a rotated key must be updated here), or, for a SAS connection string, its expiry (se=) and permissions (sp= needs c and w).";
    case 'sas-url':
      return 'Check the SAS URL: not expired (se=), signed for this account and container, with create (c) and write (w) permissions (sp=), and allowed from this network.';
    case 'default-credential':
      return 'Assign the identity DefaultAzureCredential uses (managed identity, workload identity, service principal or az login user) the Storage Blob Data Contributor role on the container or the storage account; Owner or Contributor alone grant no data access, and new assignments take a few minutes.';
  }
}

function permissionHint(form: AzureCredentialForm): string {
  if (form === 'default-credential') return 'Assign the identity the Storage Blob Data Contributor role on the container or the storage account.';
  return 'The SAS needs create (c) and write (w) permissions (sp=); create alone cannot overwrite, and a replay overwrites.';
}

/** Hides what could be a credential in an SDK message: URL query strings (SAS), keys, authorization values. */
function redact(text: string): string {
  return text
    .replace(/\?[^\s'"<>]*/g, '?[redacted]')
    .replace(/(AccountKey|SharedAccessSignature)=[^;\s'"]+/gi, '$1=[redacted]')
    .replace(/(SharedKey(?:Lite)?|Bearer)\s+\S+/g, '$1 [redacted]');
}

/**
 * A copy of an SDK error fit to be a FanoutError's `cause`, which pino prints with the error
 * (message and stack): same name, code and status, with query strings and keys redacted.
 */
export function redactedCause(error: unknown, depth = 0): unknown {
  if (!(error instanceof Error) || depth > 4) return error;
  const copy = new Error(redact(error.message), error.cause === undefined ? undefined : { cause: redactedCause(error.cause, depth + 1) });
  copy.name = error.name;
  if (error.stack !== undefined) copy.stack = redact(error.stack);
  if ('code' in error && typeof error.code === 'string') Object.assign(copy, { code: error.code });
  if ('statusCode' in error && typeof error.statusCode === 'number') Object.assign(copy, { statusCode: error.statusCode });
  return copy;
}

interface RestErrorShape {
  name: string;
  statusCode: number | undefined;
  code: string | undefined;
  retryAfter: string | null;
}

/** Reads what classification needs from an SDK RestError (or anything shaped like it). */
function restErrorShape(error: unknown): RestErrorShape | null {
  if (typeof error !== 'object' || error === null) return null;
  const name = 'name' in error && typeof error.name === 'string' ? error.name : '';
  const statusCode = 'statusCode' in error && typeof error.statusCode === 'number' ? error.statusCode : undefined;
  const code = 'code' in error && typeof error.code === 'string' ? error.code : undefined;
  let retryAfter: string | null = null;
  if ('response' in error && typeof error.response === 'object' && error.response !== null && 'headers' in error.response) {
    const headers: unknown = error.response.headers;
    if (typeof headers === 'object' && headers !== null && 'get' in headers && typeof headers.get === 'function') {
      const value: unknown = headers.get('retry-after');
      if (typeof value === 'string') retryAfter = value;
    }
  }
  return { name, statusCode, code, retryAfter };
}

function httpFailure(shape: RestErrorShape & { statusCode: number }, options: AzureClassifyOptions, cause: unknown): FanoutError {
  const { statusCode: status, code } = shape;
  const detail: Record<string, string | number> = code === undefined ? { status } : { status, azureCode: code };
  const said = `${options.target} answered ${status}${code === undefined ? '' : ` ${code}`}.`;
  if (code === 'ContainerNotFound' || code === 'ContainerBeingDeleted') {
    return new FanoutError(
      'destination_not_found',
      `Azure container "${options.container}" does not exist (${options.target} answered ${code}). terra-fanout does not create containers: create it (az storage container create --name ${options.container}) or correct container.`,
      { detail, cause },
    );
  }
  if (code === 'AuthorizationPermissionMismatch' || code === 'InsufficientAccountPermissions') {
    return new FanoutError('destination_auth_failed', `${said} The credential is valid but may not write blobs in "${options.container}". ${permissionHint(options.credential)}`, { detail, cause });
  }
  if (code === 'AuthorizationSourceIPMismatch') {
    return new FanoutError('destination_auth_failed', `${said} The storage account's firewall does not allow this worker's address; add it under Networking, or use a private endpoint.`, { detail, cause });
  }
  if (code === 'AuthorizationFailure') {
    return new FanoutError('destination_auth_failed', `${said} Azure refused the request: the credential is not valid for it, or the storage account's firewall blocks this worker. ${credentialHint(options.credential)}`, { detail, cause });
  }
  if ((code !== undefined && AUTH_CODES.has(code)) || status === 401 || status === 403) {
    return new FanoutError('destination_auth_failed', `${said} Azure refused the credentials. ${credentialHint(options.credential)}`, { detail, cause });
  }
  if (code === 'RequestBodyTooLarge' || status === 413) {
    return new FanoutError('destination_record_too_large', `${said} The object is larger than Azure accepts in one request; lower maxSingleUploadSize or blockSize.`, { detail, cause });
  }
  const retryAfterMs = parseRetryAfterMs(shape.retryAfter);
  const retry = retryAfterMs === undefined ? {} : { retryAfterMs };
  if (code === 'ServerBusy' || status === 429) {
    return new FanoutError('destination_throttled', `${said} The storage account is throttling requests (its scalability targets were exceeded).`, { detail, cause, ...retry });
  }
  if (code === 'OperationTimedOut') {
    return new FanoutError('destination_timeout', `${said} Azure did not finish the operation in time.`, { detail, cause, ...retry });
  }
  const classified = classifyHttpStatus(status, shape.retryAfter, { target: options.target });
  return new FanoutError(classified.code, `${said}${classified.retryable ? '' : ' Azure refused the request; see azureCode in the detail.'}`, {
    detail,
    cause,
    ...(classified.retryAfterMs === undefined ? {} : { retryAfterMs: classified.retryAfterMs }),
  });
}

/**
 * Turns anything the Azure SDK (or DefaultAzureCredential) throws into a catalogued FanoutError.
 * Messages name the container URL (never the SAS query) and what to fix; the SDK's error is kept
 * as `cause` with query strings and keys redacted (pino prints a cause's message and stack).
 * - ContainerNotFound (404): destination_not_found;
 * - AuthenticationFailed, AuthorizationFailure, AuthorizationPermissionMismatch, other 401/403,
 *   and DefaultAzureCredential finding no token: destination_auth_failed;
 * - RequestBodyTooLarge (413): destination_record_too_large;
 * - ServerBusy, 429: destination_throttled; OperationTimedOut, 408, 504: destination_timeout;
 *   other 5xx: destination_unavailable; other 4xx: destination_rejected;
 * - no answer (REQUEST_SEND_ERROR, ECONNREFUSED, DNS, TLS, aborts): destination_unavailable or
 *   destination_timeout.
 */
export function classifyAzureBlobError(thrown: unknown, options: AzureClassifyOptions): FanoutError {
  if (thrown instanceof FanoutError) return thrown;
  const shape = restErrorShape(thrown);
  const error = redactedCause(thrown);
  if (shape !== null && IDENTITY_ERRORS.has(shape.name)) {
    if (shape.statusCode !== undefined && shape.statusCode >= 500) {
      return new FanoutError('destination_unavailable', `${options.target}: the Microsoft Entra token service answered ${shape.statusCode}.`, { detail: { status: shape.statusCode }, cause: error });
    }
    return new FanoutError(
      'destination_auth_failed',
      `${options.target}: DefaultAzureCredential got no token (${shape.name}). Set up a managed identity, workload identity, AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET or az login for this worker, or give connectionString, accountName + accountKey or sasUrl instead.`,
      { detail: { errorName: shape.name }, cause: error },
    );
  }
  if (shape !== null && shape.statusCode !== undefined && !options.timedOut && !options.shutdown) {
    return httpFailure({ ...shape, statusCode: shape.statusCode }, options, error);
  }
  const network = classifyNetworkError(error, { target: options.target, timedOut: options.timedOut === true, shutdown: options.shutdown === true });
  if (network.code !== 'internal_error' || shape?.name !== 'RestError') return network;
  // A RestError without a status: the request never got an answer (REQUEST_SEND_ERROR) or the
  // answer could not be read (PARSE_ERROR, a cut-off body). Both are worth another attempt.
  const code = shape.code ?? 'REQUEST_SEND_ERROR';
  return new FanoutError('destination_unavailable', `${options.target} could not be reached (${code}).`, { detail: { errorCode: code }, cause: error });
}
