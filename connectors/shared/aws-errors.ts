import { FanoutError, type ErrorCode } from '../../src/errors/catalogue.js';
import { classifyNetworkError } from './http-errors.js';

/**
 * Reading AWS SDK v3 errors and translating them into the catalogue, for every AWS connector
 * (S3, SQS, the S3 claim check). Works on the error's own fields (no SDK import), so it is pure
 * and tested with hand-made errors shaped like the SDK's. Messages are terra-fanout's own words
 * plus the AWS error code: the vendor's message is never copied (it can echo request content).
 */

/** What an AWS service answered, read from an SDK error. */
export interface AwsErrorFacts {
  /** The AWS error code (`NoSuchBucket`, `AccessDenied`, ...); undefined when the answer had none (HEAD 404) or could not be parsed. */
  code: string | undefined;
  status: number;
  requestId: string | undefined;
  /** A response header, case-insensitive. */
  header(name: string): string | undefined;
  /** A string field of the error document, e.g. `Region` of S3's AuthorizationHeaderMalformed. */
  field(name: string): string | undefined;
}

function stringField(source: object, name: string): string | undefined {
  const value: unknown = Reflect.get(source, name);
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * The service's answer inside an SDK error, or undefined when no answer arrived (network
 * failure, timeout, abort, missing credentials or region).
 */
export function readAwsError(error: unknown): AwsErrorFacts | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const metadata: unknown = Reflect.get(error, '$metadata');
  const status: unknown = typeof metadata === 'object' && metadata !== null ? Reflect.get(metadata, 'httpStatusCode') : undefined;
  if (typeof status !== 'number') return undefined;
  // A ServiceException carries $fault and is named after the AWS code; anything else with an
  // HTTP status (a response the SDK could not parse) only has the status to go on.
  const isServiceException = Reflect.get(error, '$fault') !== undefined;
  const requestId: unknown = typeof metadata === 'object' && metadata !== null ? Reflect.get(metadata, 'requestId') : undefined;
  const response: unknown = Reflect.get(error, '$response');
  const headers: unknown = typeof response === 'object' && response !== null ? Reflect.get(response, 'headers') : undefined;
  const name = stringField(error, 'name');
  return {
    code: isServiceException && name !== 'Unknown' && name !== 'NotFound' && name !== 'Error' ? name : stringField(error, 'Code'),
    status,
    requestId: typeof requestId === 'string' ? requestId : undefined,
    header(header) {
      if (typeof headers !== 'object' || headers === null) return undefined;
      const wanted = header.toLowerCase();
      for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === wanted && typeof value === 'string') return value;
      return undefined;
    },
    field: (field) => stringField(error, field),
  };
}

const AUTH_EXPLANATIONS: Readonly<Record<string, string>> = {
  AccessDenied: 'the credentials were accepted but lack the permission for this call; grant it (see the connector README)',
  AccessDeniedException: 'the credentials were accepted but lack the permission for this call; grant it (see the connector README)',
  InvalidAccessKeyId: 'the access key id is not known (deleted, mistyped or from another account or partition); fix credentials.accessKeyId',
  InvalidClientTokenId: 'the access key id is not known (deleted, mistyped or from another account or partition); fix credentials.accessKeyId',
  UnrecognizedClientException: 'the access key id or session token is not known; fix the credentials',
  SignatureDoesNotMatch: 'the secret access key does not belong to the access key id; fix credentials.secretAccessKey',
  IncompleteSignature: 'the request signature is incomplete; check the credentials',
  ExpiredToken: 'the session token has expired; refresh the temporary credentials',
  ExpiredTokenException: 'the session token has expired; refresh the temporary credentials',
  TokenRefreshRequired: 'the session token has expired; refresh the temporary credentials',
  InvalidToken: 'the session token is malformed or does not belong to the access key; fix credentials.sessionToken',
  MissingAuthenticationToken: 'the request carried no credentials',
  InvalidSecurity: 'the request was not signed as the service requires',
  RequestTimeTooSkewed: "this machine's clock is too far from AWS time; fix the clock (NTP)",
  RequestExpired: "this machine's clock is too far from AWS time; fix the clock (NTP)",
};

const THROTTLE_CODES: ReadonlySet<string> = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'BandwidthLimitExceeded',
  'ProvisionedThroughputExceededException',
  'KMS.ThrottlingException',
  'KmsThrottled',
]);

export interface AwsClassifyOptions {
  /** Who answered, for the message, e.g. `S3 bucket "terra-raw" (region eu-west-1)`. No secrets. */
  target: string;
  /** Service-specific translation, tried first; undefined falls through to the generic rules. */
  specific?: ((facts: AwsErrorFacts) => FanoutError | undefined) | undefined;
  /** The shutdown signal aborted the call. */
  shutdown?: boolean | undefined;
}

/** A FanoutError about an AWS answer, with the AWS code, status and request id as detail. */
export function awsFanoutError(code: ErrorCode, message: string, facts: AwsErrorFacts, cause: unknown): FanoutError {
  const detail: Record<string, string | number> = { status: facts.status };
  if (facts.code !== undefined) detail['awsCode'] = facts.code;
  if (facts.requestId !== undefined) detail['requestId'] = facts.requestId;
  return new FanoutError(code, message, { detail, cause });
}

function answered(facts: AwsErrorFacts): string {
  return facts.code === undefined ? `answered ${facts.status}` : `answered ${facts.code} (${facts.status})`;
}

/**
 * Translates anything an AWS SDK v3 call threw. Without an answer: missing credentials
 * destination_auth_failed, missing region destination_misconfigured, network failures and
 * timeouts as classifyNetworkError says. With an answer: `specific` first, then auth codes
 * destination_auth_failed, throttling codes and 429 destination_throttled, 408/504 and
 * RequestTimeout destination_timeout, other 5xx destination_unavailable, 401/403
 * destination_auth_failed, 404 destination_not_found, 413 destination_record_too_large, and
 * any other 4xx destination_rejected.
 */
export function classifyAwsError(error: unknown, options: AwsClassifyOptions): FanoutError {
  if (error instanceof FanoutError) return error;
  const { target } = options;
  const facts = readAwsError(error);
  if (facts === undefined) {
    const name = error instanceof Error ? error.name : undefined;
    const message = error instanceof Error ? error.message : '';
    if (name === 'CredentialsProviderError') {
      return new FanoutError(
        'destination_auth_failed',
        `${target}: no AWS credentials were found. Set credentials in the config, or provide them to the default provider chain (environment, profile, web identity, ECS or EC2 role).`,
        { detail: { errorName: name }, cause: error },
      );
    }
    if (/region is missing/i.test(message)) {
      return new FanoutError('destination_misconfigured', `${target}: no AWS region is set. Set region in the config or AWS_REGION in the environment.`, { cause: error });
    }
    return classifyNetworkError(error, { target, shutdown: options.shutdown === true });
  }
  const specific = options.specific?.(facts);
  if (specific !== undefined) return specific;
  const { code, status } = facts;
  const explanation = code === undefined ? undefined : AUTH_EXPLANATIONS[code];
  if (explanation !== undefined) return awsFanoutError('destination_auth_failed', `${target} ${answered(facts)}: ${explanation}.`, facts, error);
  if ((code !== undefined && THROTTLE_CODES.has(code)) || status === 429) {
    return awsFanoutError('destination_throttled', `${target} ${answered(facts)}: slow down; the lane retries with backoff.`, facts, error);
  }
  if (status === 408 || status === 504 || code === 'RequestTimeout') return awsFanoutError('destination_timeout', `${target} ${answered(facts)}: the request timed out.`, facts, error);
  if (status >= 500) return awsFanoutError('destination_unavailable', `${target} ${answered(facts)}: a server-side failure; the lane retries.`, facts, error);
  if (status === 401 || status === 403) return awsFanoutError('destination_auth_failed', `${target} ${answered(facts)}: the credentials were refused or lack permission.`, facts, error);
  if (status === 404) return awsFanoutError('destination_not_found', `${target} ${answered(facts)}: not found.`, facts, error);
  if (status === 413) return awsFanoutError('destination_record_too_large', `${target} ${answered(facts)}: the request is too large.`, facts, error);
  return awsFanoutError('destination_rejected', `${target} ${answered(facts)}: the request was refused and retrying will not help.`, facts, error);
}
