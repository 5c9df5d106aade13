import type { IncomingMessage, ServerResponse } from 'node:http';
import type { z } from 'zod';

/**
 * The admin API's error answers: JSON `{"error":{"code","message"}}` with a status. Codes are the
 * API's own (not delivery error codes) and stable: scripts match on them.
 */
export type AdminErrorCode =
  | 'not_found'
  | 'unauthorized'
  | 'method_not_allowed'
  | 'invalid_request'
  | 'request_too_large'
  | 'lane_not_found'
  | 'lane_busy'
  | 'tenant_not_found'
  | 'job_not_found'
  | 'redrive_running'
  | 'config_invalid'
  | 'tap_full'
  | 'processes_unanswered'
  | 'not_available'
  | 'kafka_error'
  | 'internal_error';

export class AdminHttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: AdminErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'AdminHttpError';
  }
}

export function sendJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text), ...headers }).end(text);
}

export function sendError(response: ServerResponse, error: AdminHttpError): void {
  sendJson(response, error.status, { error: { code: error.code, message: error.message } }, error.headers);
}

const MAX_BODY_BYTES = 64 * 1024;
const BODY_TIMEOUT_MS = 10_000;

/** Reads a small JSON body (at most 64 KiB, within 10 s); an empty body reads as `{}`. */
export async function readJsonBody(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new AdminHttpError(408, 'invalid_request', `The request body did not arrive within ${BODY_TIMEOUT_MS} ms.`));
      request.destroy();
    }, BODY_TIMEOUT_MS);
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        clearTimeout(timer);
        // The answer closes the connection, so the rest of the body is never read.
        reject(new AdminHttpError(413, 'request_too_large', `The request body is larger than ${MAX_BODY_BYTES} bytes.`, { connection: 'close' }));
        request.pause();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => {
      clearTimeout(timer);
      resolve();
    });
    request.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new AdminHttpError(400, 'invalid_request', 'The request body is not valid JSON.');
  }
}

/** Parses input with a zod schema; problems become a 400 naming each field. */
export function parseInput<Schema extends z.ZodType>(schema: Schema, input: unknown): z.output<Schema> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `${issue.path.length === 0 ? '(body)' : issue.path.join('.')}: ${issue.message}`);
  throw new AdminHttpError(400, 'invalid_request', problems.join('; '));
}

/** Query parameters as an object; a repeated parameter becomes an array. */
export function queryObject(search: URLSearchParams): Record<string, string | string[]> {
  const result: Record<string, string | string[]> = {};
  for (const key of new Set(search.keys())) {
    const values = search.getAll(key);
    result[key] = values.length === 1 ? (values[0] ?? '') : values;
  }
  return result;
}

/**
 * What /admin answers before the admin API is ready (the worker is starting): 503 not_available,
 * or 404 while the admin API is off. Returns false for any other path.
 */
export function answerStarting(request: IncomingMessage, response: ServerResponse, enabled: boolean): boolean {
  const path = new URL(request.url ?? '/', 'http://admin.invalid').pathname;
  if (path !== '/admin' && !path.startsWith('/admin/')) return false;
  sendError(response, enabled ? new AdminHttpError(503, 'not_available', 'The worker is starting.') : new AdminHttpError(404, 'not_found', 'Not found.'));
  return true;
}
