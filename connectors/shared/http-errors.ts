import { STATUS_CODES } from 'node:http';
import { z } from 'zod';
import { FanoutError, isRetryable, type ErrorCode } from '../../src/errors/catalogue.js';

/**
 * Classification of HTTP answers and network failures into the error catalogue, for every
 * connector that speaks HTTP. Messages name the target with safeUrlLabel (no credentials, no
 * query string) and never carry a response body.
 */

/** Decides whether a non-2xx status is retried; overrides the catalogue's own meaning. */
export type RetryStatusPolicy = (status: number) => boolean;

export interface HttpClassifyOptions {
  /** Who answered, for the message, e.g. `Webhook https://host/path`. Build it with safeUrlLabel. */
  target: string;
  /** When set, statuses it accepts are retryable and all others permanent. */
  retryStatus?: RetryStatusPolicy | undefined;
  /** Clock for HTTP-date Retry-After values; defaults to Date.now(). */
  nowMs?: number;
}

/** The catalogue code a status means on its own (no retry override). */
export function httpStatusCode(status: number): ErrorCode {
  if (status === 408 || status === 504) return 'destination_timeout';
  if (status === 429) return 'destination_throttled';
  if (status === 401 || status === 403) return 'destination_auth_failed';
  if (status === 404 || status === 410) return 'destination_not_found';
  if (status === 413) return 'destination_record_too_large';
  if (status >= 500) return 'destination_unavailable';
  return 'destination_rejected';
}

/**
 * Retry-After as milliseconds: delta-seconds (`120`) or an HTTP-date (`Wed, 21 Oct 2015 07:28:00 GMT`,
 * clamped at 0 when already past). Undefined when absent or unreadable.
 */
export function parseRetryAfterMs(value: string | null | undefined, nowMs: number = Date.now()): number | undefined {
  if (value === null || value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  if (!/[a-z]/i.test(trimmed)) return undefined;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

/**
 * Turns a non-2xx answer into a FanoutError. Without a retry policy: 408/504 destination_timeout,
 * other 5xx destination_unavailable, 429 destination_throttled, 401/403 destination_auth_failed,
 * 404/410 destination_not_found, 413 destination_record_too_large, other 3xx/4xx destination_rejected.
 * With a policy: a retried status that would be permanent becomes destination_refused, and a
 * status not retried that would be retryable becomes destination_rejected; `detail.meaning` keeps
 * the code the status has on its own. Retry-After is attached to every retryable result.
 */
export function classifyHttpStatus(status: number, retryAfter: string | null | undefined, options: HttpClassifyOptions): FanoutError {
  const meaning = httpStatusCode(status);
  let code: ErrorCode = meaning;
  if (options.retryStatus !== undefined) {
    const retried = options.retryStatus(status);
    if (retried && !isRetryable(meaning)) code = 'destination_refused';
    if (!retried && isRetryable(meaning)) code = 'destination_rejected';
  }
  const reason = STATUS_CODES[status];
  const message = `${options.target} answered ${status}${reason === undefined ? '' : ` ${reason}`}.`;
  const detail: Record<string, string | number> = { status };
  if (code !== meaning) detail['meaning'] = meaning;
  const retryAfterMs = isRetryable(code) ? parseRetryAfterMs(retryAfter, options.nowMs) : undefined;
  return new FanoutError(code, message, retryAfterMs === undefined ? { detail } : { detail, retryAfterMs });
}

const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'ESOCKETTIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'EPIPE',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_DESTROYED',
]);

const TLS_CODE = /^(CERT_|ERR_TLS_|ERR_SSL_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|HOSTNAME_MISMATCH)/;

/** The `name` and `code` of an error and of every error in its `cause` chain. */
function errorChain(error: unknown): { names: string[]; codes: string[] } {
  const names: string[] = [];
  const codes: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 8 && typeof current === 'object' && current !== null; depth += 1) {
    if ('name' in current && typeof current.name === 'string') names.push(current.name);
    if ('code' in current && typeof current.code === 'string') codes.push(current.code);
    current = 'cause' in current ? current.cause : undefined;
  }
  return { names, codes };
}

export interface NetworkClassifyOptions {
  /** As in HttpClassifyOptions. */
  target: string;
  /** The request's own timeout fired (the caller knows which signal aborted). */
  timedOut?: boolean;
  /** The shutdown signal aborted the request. */
  shutdown?: boolean;
}

/**
 * Turns a failed request (no HTTP answer) into a FanoutError: timeouts destination_timeout;
 * refused, reset, DNS, TLS, shutdown aborts and other network failures destination_unavailable
 * (all retryable). An error that is not a network failure (a programming error) is internal_error.
 * The original error is kept as `cause`, never copied into the message.
 */
export function classifyNetworkError(error: unknown, options: NetworkClassifyOptions): FanoutError {
  if (error instanceof FanoutError) return error;
  const { names, codes } = errorChain(error);
  const code = codes[0];
  const detail: Record<string, string> = code === undefined ? {} : { errorCode: code };
  const { target } = options;
  if (options.timedOut === true || names.includes('TimeoutError') || codes.some((c) => TIMEOUT_CODES.has(c))) {
    return new FanoutError('destination_timeout', `${target} did not answer in time.`, { detail, cause: error });
  }
  if (options.shutdown === true || names.includes('AbortError')) {
    return new FanoutError('destination_unavailable', `${target} request was aborted at shutdown.`, { detail, cause: error });
  }
  const networkCode = codes.find((c) => NETWORK_CODES.has(c));
  if (networkCode !== undefined) {
    return new FanoutError('destination_unavailable', `${target} could not be reached (${networkCode}).`, { detail: { errorCode: networkCode }, cause: error });
  }
  const tlsCode = codes.find((c) => TLS_CODE.test(c));
  if (tlsCode !== undefined) {
    return new FanoutError('destination_unavailable', `${target} failed the TLS handshake (${tlsCode}).`, { detail: { errorCode: tlsCode }, cause: error });
  }
  if (error instanceof TypeError && error.message === 'fetch failed') {
    return new FanoutError('destination_unavailable', `${target} could not be reached${code === undefined ? '' : ` (${code})`}.`, { detail, cause: error });
  }
  const name = names[0] ?? typeof error;
  return new FanoutError('internal_error', `${target} request failed with an unexpected ${name}.`, { detail, cause: error });
}

/** A URL for messages and locations: scheme, host and path only (no credentials, query or fragment). */
export function safeUrlLabel(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return '[invalid URL]';
  }
}

const STATUS_PATTERN = /^[345](xx|\d\d)$/;

/** Builds a retry policy from patterns like `5xx`, `429`, `408` (validated by retryStatusesSchema). */
export function compileRetryStatuses(patterns: readonly string[]): RetryStatusPolicy {
  const classes = new Set<number>();
  const exact = new Set<number>();
  for (const pattern of patterns) {
    if (pattern.endsWith('xx')) classes.add(Number(pattern.slice(0, 1)));
    else exact.add(Number(pattern));
  }
  return (status) => exact.has(status) || classes.has(Math.floor(status / 100));
}

/** Config field: which non-2xx statuses are retried; leave out to retry every non-2xx. */
export const retryStatusesSchema = z
  .array(z.string().regex(STATUS_PATTERN, 'Use a status such as "503" or a class such as "5xx" (3xx, 4xx or 5xx).'))
  .min(1)
  .meta({
    description:
      'HTTP statuses that are retried; every other non-2xx status is permanent and parks the record in the dead-letter topic. ' +
      'Classes ("5xx") or exact statuses ("429"). Leave out to retry every non-2xx status, as Terra does.',
    examples: [['5xx', '429', '408']],
  });
