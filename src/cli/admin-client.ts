/**
 * The command line's client of a worker's admin API (`status`, `tap`): bearer token, operator
 * header, a deadline on every request, and server-sent events for the tap.
 */
export interface AdminClientOptions {
  /** The worker's HTTP address, e.g. http://127.0.0.1:9464 (a trailing /admin is accepted). */
  url: string;
  token: string | undefined;
  /** Sent as X-Operator, so the worker's log says who asked. */
  operator: string | undefined;
  timeoutMs: number;
}

export class AdminClientError extends Error {
  constructor(
    message: string,
    readonly status: number | null,
    readonly code: string | null,
  ) {
    super(message);
    this.name = 'AdminClientError';
  }
}

function endpoint(options: AdminClientOptions, path: string): string {
  const base = options.url.replace(/\/+$/, '').replace(/\/admin$/, '');
  return `${base}${path}`;
}

function headers(options: AdminClientOptions, extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }),
    ...(options.operator === undefined ? {} : { 'x-operator': options.operator }),
    ...extra,
  };
}

async function failure(response: Response): Promise<AdminClientError> {
  let code: string | null = null;
  let message = `${response.status} ${response.statusText}`;
  try {
    const body = (await response.json()) as { error?: { code?: unknown; message?: unknown } };
    if (typeof body.error?.code === 'string') code = body.error.code;
    if (typeof body.error?.message === 'string') message = `${message}: ${body.error.message}`;
  } catch {
    // Not the admin API's JSON; the status says enough.
  }
  if (response.status === 404 && code === 'not_found') message += ' (is admin.enabled true on that worker?)';
  return new AdminClientError(message, response.status, code);
}

function networkError(error: unknown, url: string, timeoutMs: number): AdminClientError {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) return new AdminClientError(`${url} did not answer within ${timeoutMs} ms.`, null, null);
  const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return new AdminClientError(`Cannot reach ${url}${cause}.`, null, null);
}

/** Sends one request and returns its JSON body; a non-2xx answer throws AdminClientError with the API's code. */
export async function adminRequest(options: AdminClientOptions, method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
  const url = endpoint(options, path);
  let response: Response;
  try {
    response = await fetch(url, {
      method,
      headers: headers(options, body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(options.timeoutMs),
    });
    if (!response.ok) throw await failure(response);
    return (await response.json()) as unknown;
  } catch (error) {
    if (error instanceof AdminClientError) throw error;
    throw networkError(error, url, options.timeoutMs);
  }
}

export interface ServerSentEvent {
  event: string;
  data: string;
}

/**
 * Opens an event stream and yields its events until the server ends it or `signal` aborts. The
 * connection must answer within timeoutMs, and then say something (an event or a ping) at least
 * every `idleTimeoutMs`, or the stream fails.
 */
export async function* adminEvents(options: AdminClientOptions, path: string, signal: AbortSignal, idleTimeoutMs = 45_000): AsyncGenerator<ServerSentEvent> {
  const url = endpoint(options, path);
  const abort = new AbortController();
  const onAbort = (): void => abort.abort();
  signal.addEventListener('abort', onAbort, { once: true });
  let timedOut = false;
  let timer = setTimeout(() => {
    timedOut = true;
    abort.abort();
  }, options.timeoutMs);
  const rearm = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      timedOut = true;
      abort.abort();
    }, idleTimeoutMs);
  };
  try {
    let response: Response;
    try {
      response = await fetch(url, { headers: headers(options, { accept: 'text/event-stream' }), signal: abort.signal });
    } catch (error) {
      if (signal.aborted) return;
      throw networkError(error, url, options.timeoutMs);
    }
    if (!response.ok) throw await failure(response);
    if (response.body === null) return;
    rearm();
    const decoder = new TextDecoder();
    let buffered = '';
    try {
      for await (const chunk of response.body) {
        rearm();
        buffered += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffered.indexOf('\n\n')) >= 0) {
          const block = buffered.slice(0, end);
          buffered = buffered.slice(end + 2);
          let event = 'message';
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) continue;
            const colon = line.indexOf(':');
            const field = colon < 0 ? line : line.slice(0, colon);
            const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
            if (field === 'event') event = value;
            else if (field === 'data') data.push(value);
          }
          if (data.length > 0) yield { event, data: data.join('\n') };
        }
      }
    } catch (error) {
      if (signal.aborted) return;
      if (timedOut) throw new AdminClientError(`${url} sent nothing for ${idleTimeoutMs} ms; the stream is considered lost.`, null, null);
      throw networkError(error, url, options.timeoutMs);
    }
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', onAbort);
    abort.abort();
  }
}
