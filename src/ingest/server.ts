import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { FanoutError, toFanoutError, type ErrorCode } from '../errors/catalogue.js';
import type { IngestMetrics } from '../observability/metrics.js';
import type { GatewaySettings, IngestTenant } from './config.js';
import { decideIngest } from './handle-request.js';
import type { EventProducer } from './produce.js';

/**
 * The gateway's HTTP side: `POST /terra/<tenant>`, `GET /healthz`, `GET /readyz`, on node:http
 * with explicit limits: headers within headersTimeoutMs, the body within readTimeoutMs and
 * bodyLimit (counted while it streams in), all bodies held within maxInFlightBytes.
 */
export interface IngestServer {
  url: string;
  /** Requests being handled (reading, deciding or waiting for Kafka). */
  readonly inFlight: number;
  /**
   * Stops accepting connections, answers requests arriving on open keep-alive connections 503,
   * lets the requests in flight finish until `deadline` (epoch ms), then closes every connection.
   */
  drain(deadline: number): Promise<void>;
}

export interface IngestServerOptions {
  settings: GatewaySettings;
  producer: EventProducer;
  metrics: IngestMetrics;
  logger: Logger;
}

/** The metric label of a path that names no configured tenant (tenant names cannot start with `_`). */
const UNKNOWN_TENANT = '_unknown';
const ROUTE = /^\/terra\/([^/]+)\/?$/;

/** What a failure is answered with. Terra retries every non-2xx; 503 and 408 say "try again later". */
const statusOf: Partial<Record<ErrorCode, number>> = {
  kafka_unavailable: 503,
  ingest_overloaded: 503,
  kafka_message_too_large: 413,
  payload_too_large: 413,
  ingest_read_timeout: 408,
  ingest_unknown_tenant: 404,
  kafka_refused: 500,
  internal_error: 500,
};

function headerMap(request: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (typeof value === 'string') headers[name] = value;
    else if (Array.isArray(value) && value[0] !== undefined) headers[name] = value[0];
  }
  return headers;
}

export async function startIngestServer(options: IngestServerOptions): Promise<IngestServer> {
  const { settings, producer, metrics, logger } = options;
  let draining = false;
  let inFlight = 0;
  let heldBytes = 0;
  let idle: (() => void) | undefined;

  const hold = (bytes: number): boolean => {
    // One body larger than the whole budget still passes alone, so the budget can never refuse everything.
    if (heldBytes + bytes > settings.maxInFlightBytes && heldBytes > 0) return false;
    heldBytes += bytes;
    metrics.inFlightBytes.set(heldBytes);
    return true;
  };
  const release = (bytes: number): void => {
    heldBytes -= bytes;
    metrics.inFlightBytes.set(heldBytes);
  };

  /** One webhook from its headers to its answer. */
  const handleWebhook = (request: IncomingMessage, response: ServerResponse, tenantName: string): void => {
    const tenant: IngestTenant | undefined = settings.tenants.get(tenantName);
    const label = tenant?.name ?? UNKNOWN_TENANT;
    const headers = headerMap(request);
    const context = { tenant: label, traceId: headers['x-terra-trace-id'], reference: headers['terra-reference'] };
    let answered = false;
    let held = 0;
    let timer: NodeJS.Timeout | undefined;

    const answer = (status: number, body: Record<string, unknown>, close = false, extra: Record<string, string> = {}): void => {
      if (answered) return;
      answered = true;
      metrics.requests.inc({ tenant: label, status: String(status) });
      if (response.destroyed) return;
      const text = JSON.stringify(body);
      response.writeHead(status, {
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(text)),
        ...(close || draining ? { connection: 'close' } : {}),
        ...extra,
      });
      response.end(text);
    };
    const refuse = (error: FanoutError, close = false, status = statusOf[error.code] ?? 500): void => {
      const level = status >= 500 && status !== 503 ? 'error' : status === 503 ? 'debug' : 'warn';
      logger[level]({ ...context, status, code: error.code, err: error }, 'Webhook refused.');
      answer(status, { error: { code: error.code, message: error.message } }, close, status === 503 ? { 'retry-after': String(settings.retryAfterSeconds) } : {});
    };

    const respond = async (route: IngestTenant, body: Buffer): Promise<void> => {
      const decision = decideIngest({ tenant: route, body, headers, nowMs: Date.now() }, { healthcheck: settings.healthcheck, bodyLimit: settings.bodyLimit });
      if (decision.action === 'refuse') {
        if (decision.status === 401) metrics.signatureFailures.inc({ tenant: route.name, code: decision.error.code });
        refuse(decision.error, false, decision.status);
        return;
      }
      if (decision.action === 'healthcheck') {
        metrics.healthchecks.inc({ tenant: route.name });
        answer(200, { status: 'healthcheck' });
        return;
      }
      const started = performance.now();
      try {
        await producer.produce(decision.topic, decision.message);
        metrics.produceDuration.observe({ tenant: route.name, outcome: 'ok' }, (performance.now() - started) / 1000);
        metrics.producedBytes.inc({ tenant: route.name }, body.length);
        logger.debug({ ...context, type: decision.facts.type, bytes: body.length }, 'Webhook stored.');
        answer(200, { status: 'stored' });
      } catch (error) {
        const failure = toFanoutError(error);
        metrics.produceDuration.observe({ tenant: route.name, outcome: failure.code }, (performance.now() - started) / 1000);
        refuse(failure);
      }
    };

    inFlight += 1;
    response.once('close', () => {
      clearTimeout(timer);
      if (!answered) {
        answered = true;
        metrics.requests.inc({ tenant: label, status: 'aborted' });
        logger.debug(context, 'Webhook client went away before the answer.');
      }
      release(held);
      held = 0;
      inFlight -= 1;
      if (inFlight === 0) idle?.();
    });

    // Requests we will not read are answered with Connection: close, so their unread bodies end with the connection.
    if (draining) return refuse(new FanoutError('ingest_overloaded', 'The gateway is shutting down.'), true);
    if (tenant === undefined) return refuse(new FanoutError('ingest_unknown_tenant', 'No tenant with ingest enabled has this name.'), true);
    const declared = Number(headers['content-length'] ?? 0);
    if (declared > settings.bodyLimit) {
      return refuse(new FanoutError('payload_too_large', `The body is ${declared} bytes, more than ingest.bodyLimit (${settings.bodyLimit}).`, { detail: { bytes: declared, bodyLimit: settings.bodyLimit } }), true);
    }

    const chunks: Buffer[] = [];
    let received = 0;
    const stopReading = (error: FanoutError): void => {
      clearTimeout(timer);
      request.removeListener('data', onData);
      request.removeListener('end', onEnd);
      chunks.length = 0;
      refuse(error, true);
      // Whatever is still coming is discarded until the connection closes after the answer.
      request.resume();
    };
    timer = setTimeout(() => stopReading(new FanoutError('ingest_read_timeout', `The body did not arrive within ${settings.readTimeoutMs} ms.`, { detail: { readTimeoutMs: settings.readTimeoutMs } })), settings.readTimeoutMs);
    const onData = (chunk: Buffer): void => {
      received += chunk.length;
      if (received > settings.bodyLimit) {
        stopReading(new FanoutError('payload_too_large', `The body is more than ingest.bodyLimit (${settings.bodyLimit} bytes).`, { detail: { bodyLimit: settings.bodyLimit } }));
        return;
      }
      if (!hold(chunk.length)) {
        stopReading(new FanoutError('ingest_overloaded', `The gateway holds ingest.maxInFlightBytes (${settings.maxInFlightBytes}) of bodies already.`));
        return;
      }
      held += chunk.length;
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      clearTimeout(timer);
      const body = chunks.length === 1 && chunks[0] !== undefined ? chunks[0] : Buffer.concat(chunks, received);
      metrics.receivedBytes.inc({ tenant: tenant.name }, received);
      respond(tenant, body).catch((error: unknown) => refuse(toFanoutError(error)));
    };
    request.on('data', onData);
    request.once('end', onEnd);
  };

  const server: Server = createServer(
    {
      headersTimeout: settings.headersTimeoutMs,
      // A backstop only: the handler answers 408 itself at readTimeoutMs after the headers.
      requestTimeout: settings.headersTimeoutMs + settings.readTimeoutMs + 1000,
      keepAliveTimeout: settings.keepAliveTimeoutMs,
      // Node checks headersTimeout and requestTimeout on this interval (default 30 s).
      connectionsCheckingInterval: Math.min(1000, settings.headersTimeoutMs),
    },
    (request, response) => {
      const path = (request.url ?? '/').split('?')[0] ?? '/';
      const route = ROUTE.exec(path);
      if (route?.[1] !== undefined) {
        if (request.method !== 'POST') {
          response.writeHead(405, { allow: 'POST', connection: 'close' }).end();
          return;
        }
        handleWebhook(request, response, route[1]);
        return;
      }
      if ((path === '/healthz' || path === '/readyz') && (request.method === 'GET' || request.method === 'HEAD')) {
        const ready = path === '/healthz' || (producer.ready && !draining);
        const waiting = ready ? [] : [draining ? 'shutting down' : 'kafka producer'];
        response.writeHead(ready ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(path === '/healthz' ? { status: 'ok' } : { status: ready ? 'ready' : 'waiting', waiting }));
        return;
      }
      response.writeHead(404, { 'content-type': 'application/json', connection: 'close' }).end('{"error":"not found"}');
    },
  );
  server.on('checkContinue', (request, response) => {
    // Expect: 100-continue: refuse an oversized body before the client sends it.
    if (Number(request.headers['content-length'] ?? 0) <= settings.bodyLimit) response.writeContinue();
    server.emit('request', request, response);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(settings.port, settings.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  return {
    url: `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${address.port}`,
    get inFlight() {
      return inFlight;
    },
    async drain(deadline) {
      draining = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      if (inFlight > 0) {
        let timer: NodeJS.Timeout | undefined;
        await new Promise<void>((resolve) => {
          idle = resolve;
          timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
        });
        clearTimeout(timer);
        if (inFlight > 0) logger.warn({ inFlight }, 'Shutdown deadline reached with webhooks in flight; closing their connections (Terra retries them).');
      }
      server.closeAllConnections();
      await closed;
    },
  };
}
