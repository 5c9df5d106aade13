import { FanoutError, type ErrorCode } from '../errors/catalogue.js';
import { isUrlAllowed } from './allowed-hosts.js';
import type { S3PayloadPointer } from './schemas/s3-payload.js';

export interface S3PayloadOptions {
  /** Entries as allowed-hosts.ts reads them: `host[:port]`, `*.suffix[:port]`, `[ipv6]:port`, each with an optional `/path-prefix`. */
  allowedHosts: readonly string[];
  /** Allow `http:` URLs (local stores only); `https:` is always allowed. */
  allowHttp: boolean;
  /** Larger bodies are `s3_payload_too_large`; checked on content-length and while streaming. */
  maxBytes: number;
  /** For the whole fetch, body included. */
  timeoutMs: number;
  /** The most `expires_in` seconds believed: a pointer claiming longer expires after this many seconds. */
  maxExpiresInSeconds: number;
  fetch?: typeof fetch;
  nowMs: number;
  /** When Terra sent the pointer (the Kafka timestamp): `expires_in` counts from here. */
  sentAtMs: number;
}

/** Bytes of an error body read to recognise an expiry message. */
const errorBodyLimit = 16 * 1024;

/**
 * Fetches the event an `s3_payload` pointer refers to and returns its raw bytes.
 *
 * Refuses without a request: a host not in `allowedHosts`, a scheme other than https (http only with
 * `allowHttp`), credentials in the URL (`s3_payload_host_not_allowed`); a pointer whose
 * `sentAtMs + min(expires_in, maxExpiresInSeconds)` has passed (`s3_payload_expired`): the
 * message's own `expires_in` is never trusted beyond the configured cap. Redirects are never followed (they could
 * leave the allowlist): a 3xx is `s3_payload_refused`. A 400/403 whose body says the URL expired
 * (S3 `Request has expired`, GCS `ExpiredToken`, Azure `AuthenticationFailed` ... expired) is
 * `s3_payload_expired`; 408 and 429 are `s3_payload_unavailable`; other 4xx `s3_payload_refused`;
 * 5xx, network errors and timeouts `s3_payload_unavailable` (retryable).
 *
 * Throws only FanoutError. Messages name the host and path, never the query string (it carries the
 * presigned signature).
 */
export async function resolveS3Payload(pointer: S3PayloadPointer, options: S3PayloadOptions): Promise<Buffer> {
  const url = parseUrl(pointer.url);
  const where = `${url.host}${url.pathname}`;
  checkAllowed(url, options);
  const lifetimeSeconds = Math.min(pointer.expires_in, options.maxExpiresInSeconds);
  if (options.sentAtMs + lifetimeSeconds * 1000 < options.nowMs) {
    const capped = lifetimeSeconds < pointer.expires_in ? `, capped at s3Payload.maxExpiresInSeconds ${options.maxExpiresInSeconds} s` : '';
    throw fail('s3_payload_expired', `The s3_payload URL for ${url.host} expired before it was fetched (expires_in ${pointer.expires_in} s${capped}).`, url);
  }

  const doFetch = options.fetch ?? fetch;
  const signal = AbortSignal.timeout(options.timeoutMs);
  let response: Response;
  try {
    response = await doFetch(url, { method: 'GET', redirect: 'manual', signal });
  } catch (error) {
    throw networkFailure(error, url, options.timeoutMs);
  }

  if (response.status >= 300 && response.status < 400) {
    await discard(response);
    throw fail('s3_payload_refused', `The store answered ${response.status} (a redirect, not followed) for ${where}.`, url, response.status);
  }
  if (response.status >= 400) {
    const text = response.status === 400 || response.status === 403 ? await readErrorPrefix(response) : '';
    await discard(response);
    throw statusFailure(response.status, text, url, where);
  }
  if (response.status < 200 || response.status >= 300) {
    await discard(response);
    throw fail('s3_payload_unavailable', `The store answered ${response.status} for ${where}.`, url, response.status);
  }

  const declared = Number(response.headers.get('content-length'));
  if (response.headers.has('content-length') && Number.isFinite(declared) && declared > options.maxBytes) {
    await discard(response);
    throw tooLarge(url, where, options.maxBytes);
  }
  try {
    return await readBounded(response, options.maxBytes, () => tooLarge(url, where, options.maxBytes));
  } catch (error) {
    if (error instanceof FanoutError) throw error;
    throw networkFailure(error, url, options.timeoutMs);
  }
}

function parseUrl(raw: string): URL {
  try {
    return new URL(raw);
  } catch {
    throw new FanoutError('s3_payload_host_not_allowed', 'The s3_payload url is not a valid URL.');
  }
}

function checkAllowed(url: URL, options: S3PayloadOptions): void {
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && options.allowHttp)) {
    throw fail('s3_payload_host_not_allowed', `The s3_payload URL scheme ${url.protocol} is not allowed${url.protocol === 'http:' ? ' (s3Payload.allowHttp is false)' : ''}.`, url);
  }
  if (url.username !== '' || url.password !== '') {
    throw fail('s3_payload_host_not_allowed', `The s3_payload URL for ${url.host} carries credentials.`, url);
  }
  if (!isUrlAllowed(url, options.allowedHosts)) {
    throw fail('s3_payload_host_not_allowed', `The s3_payload URL ${url.host}${url.pathname} matches no entry of s3Payload.allowedHosts (add the host, or host/bucket for a path-style URL, if it is a bucket Terra writes to).`, url);
  }
}

const expiredPatterns: readonly RegExp[] = [
  /Request has expired/i, // S3 (SigV2 and SigV4 presigned URLs)
  /ExpiredToken/i, // GCS, and S3 with an expired session token
  /AuthenticationFailed[\s\S]*(expir|not valid in the specified time frame)/i, // Azure SAS
];

function statusFailure(status: number, body: string, url: URL, where: string): FanoutError {
  if ((status === 400 || status === 403) && expiredPatterns.some((pattern) => pattern.test(body))) {
    return fail('s3_payload_expired', `The store refused the s3_payload URL for ${where} as expired (${status}).`, url, status);
  }
  if (status === 408 || status === 429 || status >= 500) {
    return fail('s3_payload_unavailable', `The store answered ${status} for ${where}.`, url, status);
  }
  return fail('s3_payload_refused', `The store refused the s3_payload URL for ${where} (${status}).`, url, status);
}

function networkFailure(error: unknown, url: URL, timeoutMs: number): FanoutError {
  const name = error instanceof Error ? error.name : 'Error';
  if (name === 'TimeoutError' || name === 'AbortError') {
    return fail('s3_payload_unavailable', `Fetching the s3_payload from ${url.host} timed out after ${timeoutMs} ms.`, url);
  }
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : undefined;
  const code = cause !== undefined && 'code' in cause && typeof cause.code === 'string' ? cause.code : name;
  return fail('s3_payload_unavailable', `Fetching the s3_payload from ${url.host} failed (${code}).`, url, undefined, code);
}

function tooLarge(url: URL, where: string, maxBytes: number): FanoutError {
  return fail('s3_payload_too_large', `The s3_payload body at ${where} is larger than s3Payload.maxBytes (${maxBytes}).`, url);
}

function fail(code: ErrorCode, message: string, url: URL, status?: number, networkCode?: string): FanoutError {
  const detail: Record<string, string | number> = { host: url.host };
  if (status !== undefined) detail['status'] = status;
  if (networkCode !== undefined) detail['network'] = networkCode;
  return new FanoutError(code, message, { detail });
}

async function readBounded(response: Response, maxBytes: number, onTooLarge: () => FanoutError): Promise<Buffer> {
  if (response.body === null) return Buffer.alloc(0);
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw onTooLarge();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, total);
}

/** The start of an error body (enough for an S3, GCS or Azure error document); never throws. */
async function readErrorPrefix(response: Response): Promise<string> {
  if (response.body === null) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    while (total < errorBodyLimit) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      total += value.byteLength;
    }
  } catch {
    // A broken error body still gets its status classified.
  }
  await reader.cancel().catch(() => undefined);
  return Buffer.concat(chunks, total).toString('utf8', 0, Math.min(total, errorBodyLimit));
}

async function discard(response: Response): Promise<void> {
  if (response.body === null || response.bodyUsed) return;
  await response.body.cancel().catch(() => undefined);
}
