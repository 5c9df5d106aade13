import { Pool, type Dispatcher } from 'undici';
import type { Secret } from '../../src/config/secret.js';
import { closeWithin, DeadlineExceeded, sharedCallSignal, ShutdownAbort } from '../shared/call-deadline.js';
import { terraSignatureHeaders } from './encode.js';

/** One POST, as the destination built it (without signature and configured extra headers). */
export interface WebhookRequest {
  url: string;
  headers: Readonly<Record<string, string>>;
  body: Buffer;
}

/** What the destination needs from an answer. The response body is never kept. */
export interface WebhookAnswer {
  status: number;
  retryAfter: string | null;
}

/** The one call the webhook destination makes. */
export interface WebhookPort {
  /**
   * Signs the body now (when a secret is configured), adds the configured extra headers and POSTs.
   * Resolves with the status for every HTTP answer, redirects included (they are not followed).
   * Rejects only when no answer arrived: a network failure, DeadlineExceeded when the answer took
   * longer than the client's timeoutMs, ShutdownAbort when `signal` aborted first. A request that
   * was cut short has its connection closed, never reused.
   */
  post(request: WebhookRequest, signal: AbortSignal): Promise<WebhookAnswer>;
  /** Closes the connections: politely for up to CLOSE_GRACE_MS, then destroyed. Safe to call more than once. */
  close(): Promise<void>;
}

export interface WebhookClientOptions {
  secret?: Secret | undefined;
  headers?: Readonly<Record<string, Secret>> | undefined;
  /** Longest time from sending a request to its whole answer (connecting included). */
  timeoutMs: number;
  /** Connections kept per origin (the destination never has more requests in flight). */
  connections: number;
  /** Clock for signatures, unix milliseconds; defaults to Date.now. */
  now?: () => number;
}

/** How much of an answer's body is read (so the connection can be reused) before the connection is dropped instead. */
const MAX_DRAINED_BYTES = 64 * 1024;

/** How long an idle keep-alive connection is kept (the server's own Keep-Alive hint wins when shorter). */
const KEEP_ALIVE_MS = 30_000;

const RETRY_AFTER = 'retry-after';

/**
 * One request's answer, read with undici's dispatch handler interface: status and Retry-After from
 * the headers, the body counted and dropped. Past MAX_DRAINED_BYTES, or at the timeout or at
 * shutdown, the request is aborted, which destroys its connection.
 */
class AnswerReader implements Dispatcher.DispatchHandlers {
  private abortRequest: ((reason: Error) => void) | undefined;
  private answer: WebhookAnswer | undefined;
  private drained = 0;
  private settled = false;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly resolve: (answer: WebhookAnswer) => void,
    private readonly reject: (error: unknown) => void,
    timeoutMs: number,
    private readonly shutdown: AbortSignal,
  ) {
    this.timer = setTimeout(() => this.abort(new DeadlineExceeded('answer', timeoutMs)), timeoutMs);
    if (shutdown.aborted) this.onShutdown();
    else shutdown.addEventListener('abort', this.onShutdown);
  }

  private readonly onShutdown = (): void => this.abort(new ShutdownAbort('answer'));

  /** Ends the wait with `reason` and closes the connection. */
  private abort(reason: Error): void {
    if (this.settled) return;
    this.finish();
    this.reject(reason);
    this.abortRequest?.(reason);
  }

  private finish(): void {
    this.settled = true;
    clearTimeout(this.timer);
    this.shutdown.removeEventListener('abort', this.onShutdown);
  }

  onConnect(abort: (reason?: Error) => void): void {
    this.abortRequest = abort;
    if (this.settled) abort(new ShutdownAbort('answer'));
  }

  onHeaders(statusCode: number, headers: Buffer[] | string[] | null): boolean {
    let retryAfter: string | null = null;
    if (headers !== null) {
      for (let index = 0; index + 1 < headers.length; index += 2) {
        const name = headers[index];
        if (name !== undefined && name.length === RETRY_AFTER.length && name.toString().toLowerCase() === RETRY_AFTER) retryAfter = String(headers[index + 1]);
      }
    }
    this.answer = { status: statusCode, retryAfter };
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.drained += chunk.length;
    if (this.drained > MAX_DRAINED_BYTES && this.answer !== undefined) {
      // The status is the answer; a long body is not worth reading, nor the connection worth keeping.
      const answer = this.answer;
      this.finish();
      this.resolve(answer);
      this.abortRequest?.(new Error('answer body too long; connection dropped'));
    }
    return true;
  }

  onComplete(): void {
    if (this.settled) return;
    this.finish();
    if (this.answer === undefined) this.reject(new Error('the server closed the request without an answer'));
    else this.resolve(this.answer);
  }

  onError(error: Error): void {
    if (this.settled) return;
    this.finish();
    this.reject(error);
  }
}

/**
 * The real port over undici's connection pool (keep-alive, one pool per origin, no redirects
 * followed). The only place the secret and header values are revealed.
 */
export function createWebhookClient(options: WebhookClientOptions): WebhookPort {
  const now = options.now ?? Date.now;
  const extraHeaders = Object.entries(options.headers ?? {});
  const pools = new Map<string, Pool>();
  /** The destination posts to one URL: its parsed form is kept. */
  let target: { url: string; origin: string; path: string } | undefined;
  let closing: Promise<void> | undefined;

  const poolFor = (origin: string): Pool => {
    let pool = pools.get(origin);
    if (pool === undefined) {
      pool = new Pool(origin, {
        connections: options.connections,
        pipelining: 1,
        keepAliveTimeout: KEEP_ALIVE_MS,
        keepAliveMaxTimeout: KEEP_ALIVE_MS,
        connectTimeout: options.timeoutMs,
        headersTimeout: options.timeoutMs,
        bodyTimeout: options.timeoutMs,
      });
      pools.set(origin, pool);
    }
    return pool;
  };

  return {
    post(request, signal) {
      if (closing !== undefined) return Promise.reject(new ShutdownAbort('answer'));
      if (target?.url !== request.url) {
        const url = new URL(request.url);
        target = { url: request.url, origin: url.origin, path: `${url.pathname}${url.search}` };
      }
      const { origin, path } = target;
      const headers: string[] = [];
      for (const name in request.headers) headers.push(name, request.headers[name] ?? '');
      for (const [name, value] of extraHeaders) headers.push(name, value.reveal());
      if (options.secret !== undefined) {
        const signature = terraSignatureHeaders(request.body, options.secret.reveal(), now() / 1000);
        for (const name in signature) headers.push(name, signature[name] ?? '');
      }
      return new Promise<WebhookAnswer>((resolve, reject) => {
        const reader = new AnswerReader(resolve, reject, options.timeoutMs, sharedCallSignal(signal));
        try {
          poolFor(origin).dispatch({ method: 'POST', path, headers, body: request.body }, reader);
        } catch (error) {
          reader.onError(error instanceof Error ? error : new Error(String(error)));
        }
      });
    },

    close() {
      closing ??= Promise.all(
        [...pools.values()].map((pool) =>
          closeWithin(
            () => pool.close(),
            () => void pool.destroy().catch(() => undefined),
          ),
        ),
      ).then(() => undefined);
      return closing;
    },
  };
}
