import type { Secret } from '../../src/config/secret.js';
import { terraSignatureHeaders } from './encode.js';

/** One POST, as the destination built it (without signature and configured extra headers). */
export interface WebhookRequest {
  url: string;
  headers: Readonly<Record<string, string>>;
  body: Buffer;
  /** Aborts the request (timeout or shutdown). */
  signal: AbortSignal;
}

/** What the destination needs from an answer. The response body is never read into memory. */
export interface WebhookAnswer {
  status: number;
  retryAfter: string | null;
}

/** The one call the webhook destination makes. */
export interface WebhookPort {
  /**
   * Signs the body now (when a secret is configured), adds the configured extra headers and POSTs.
   * Resolves with the status for every HTTP answer, redirects included (they are not followed).
   * Rejects only when no answer arrived: network failure, timeout or abort.
   */
  post(request: WebhookRequest): Promise<WebhookAnswer>;
  /** Releases connections. Safe to call more than once. */
  close(): Promise<void>;
}

export interface WebhookClientOptions {
  secret?: Secret | undefined;
  headers?: Readonly<Record<string, Secret>> | undefined;
  /** Clock for signatures, unix milliseconds; defaults to Date.now. */
  now?: () => number;
}

/** How much of an answer's body is read (so the connection can be reused) before it is dropped. */
const MAX_DRAINED_BYTES = 64 * 1024;

/** The real port over Node's fetch. The only place the secret and header values are revealed. */
export function createWebhookClient(options: WebhookClientOptions): WebhookPort {
  const now = options.now ?? Date.now;
  const extraHeaders = Object.entries(options.headers ?? {});
  return {
    async post(request) {
      const headers: Record<string, string> = { ...request.headers };
      for (const [name, value] of extraHeaders) headers[name] = value.reveal();
      if (options.secret !== undefined) Object.assign(headers, terraSignatureHeaders(request.body, options.secret.reveal(), now() / 1000));
      const response = await fetch(request.url, { method: 'POST', headers, body: request.body, redirect: 'manual', signal: request.signal });
      await drain(response);
      return { status: response.status, retryAfter: response.headers.get('retry-after') };
    },
    async close() {
      // fetch pools connections globally; nothing is held per destination.
    },
  };
}

async function drain(response: Response): Promise<void> {
  if (response.body === null) return;
  const reader = response.body.getReader();
  try {
    let read = 0;
    while (read < MAX_DRAINED_BYTES) {
      const chunk = await reader.read();
      if (chunk.done) return;
      read += chunk.value.byteLength;
    }
    await reader.cancel();
  } catch {
    // The status is the answer; a body cut short does not change it.
  }
}
