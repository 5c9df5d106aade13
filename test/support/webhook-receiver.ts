import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyTerraSignature } from '../../src/terra/signature.js';

/** One request as the receiver saw it. */
export interface ReceivedRequest {
  /** 0 for the first request the receiver got, then 1, 2, ... */
  index: number;
  method: string;
  /** Path and query string, as sent. */
  path: string;
  /** Header names in lower case; the first value when a header repeats. */
  headers: Readonly<Record<string, string>>;
  body: Buffer;
  /** Every Terra signature header present (terra-signature, x-terra-signature) verifies against the body. */
  verified: boolean;
  /** Why verification failed, or null when it passed. */
  verifyReason: string | null;
  /** The status the receiver answered (or will answer, when a delay is pending). */
  status: number;
  receivedAtMs: number;
  /** When the answer was sent; null while pending or when the client went away first. */
  answeredAtMs: number | null;
}

/** How to answer one request. */
export interface ReceiverAnswer {
  status: number;
  headers?: Record<string, string>;
  /** Waits this long before answering (to provoke client timeouts or observe concurrency). */
  delayMs?: number;
}

export interface WebhookReceiverOptions {
  /** The signing secret to verify with; without it every request has verified=false. */
  secret?: string;
  /** Decides each answer; the default answers 200. */
  respond?: (request: ReceivedRequest) => ReceiverAnswer;
}

export interface WebhookReceiver {
  /** `http://127.0.0.1:<port>`, no trailing slash; any path is accepted. */
  url: string;
  /** Every request received, in arrival order. */
  readonly requests: readonly ReceivedRequest[];
  /** The most requests that were being answered at the same time. */
  readonly maxInFlight: number;
  close(): Promise<void>;
}

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

function lowerCaseHeaders(request: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    const first = Array.isArray(value) ? value[0] : value;
    if (first !== undefined) headers[name.toLowerCase()] = first;
  }
  return headers;
}

function verify(body: Buffer, headers: Record<string, string>, secret: string | undefined): { verified: boolean; reason: string | null } {
  if (secret === undefined) return { verified: false, reason: 'the receiver has no secret' };
  const signatures = ['terra-signature', 'x-terra-signature'].flatMap((name) => {
    const value = headers[name];
    return value === undefined ? [] : [value];
  });
  if (signatures.length === 0) return { verified: false, reason: 'no signature header' };
  for (const signature of signatures) {
    const check = verifyTerraSignature(body, signature, secret, Date.now() / 1000);
    if (!check.ok) return { verified: false, reason: check.reason };
  }
  return { verified: true, reason: null };
}

/** A local Terra webhook receiver on 127.0.0.1 and a random port, for tests. */
export async function startWebhookReceiver(options: WebhookReceiverOptions = {}): Promise<WebhookReceiver> {
  const requests: ReceivedRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let inFlight = 0;
  let maxInFlight = 0;

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      inFlight -= 1;
    };
    response.on('close', finish);
    const body = await readBody(request);
    const headers = lowerCaseHeaders(request);
    const { verified, reason } = verify(body, headers, options.secret);
    const received: ReceivedRequest = {
      index: requests.length,
      method: request.method ?? '',
      path: request.url ?? '',
      headers,
      body,
      verified,
      verifyReason: reason,
      status: 200,
      receivedAtMs: Date.now(),
      answeredAtMs: null,
    };
    requests.push(received);
    const answer = options.respond?.(received) ?? { status: 200 };
    received.status = answer.status;
    const reply = (): void => {
      if (response.destroyed) return;
      received.answeredAtMs = Date.now();
      response.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
      response.end(JSON.stringify({ received: true }));
    };
    if (answer.delayMs === undefined || answer.delayMs <= 0) {
      reply();
      return;
    }
    const timer = setTimeout(() => {
      timers.delete(timer);
      reply();
    }, answer.delayMs);
    timers.add(timer);
  };

  const server = createServer((request, response) => {
    handle(request, response).catch(() => {
      if (!response.headersSent) response.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    get maxInFlight() {
      return maxInFlight;
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
