import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface HealthSource {
  /** Lanes not yet ready, by `tenant/destination`; empty when every lane is ready. */
  notReady(): string[];
  /** Lanes that cannot make progress now, and why (they may still be ready). */
  stalled?(): Array<{ lane: string; reason: string; since: string }>;
  /** Lanes an operator paused: deliberate, not a fault, never counted as unready. */
  paused?(): string[];
}

/** Routes served beside the built-in ones (the admin API). */
export interface ExtraRoutes {
  /** Takes the request and answers it (returns true), or leaves it to the built-in routes (false). */
  handle(request: IncomingMessage, response: ServerResponse): boolean;
  /** Ends long-lived responses (event streams) before the server closes. */
  close?(): void;
}

export interface HttpServer {
  url: string;
  close(): Promise<void>;
}

/**
 * `/metrics` (Prometheus text), `/healthz` (the process answers) and `/readyz`: 200 when every lane
 * joined its group and its destination check passed (an operator-paused lane counts as ready), 503
 * with the lanes still waiting otherwise. The body always lists the lanes that are stalled (and
 * why) and the paused ones, so a stuck lane shows there even while the process is ready.
 */
export async function startHttpServer(options: { host: string; port: number; registry: Registry; health: HealthSource; extraRoutes?: ExtraRoutes | undefined }): Promise<HttpServer> {
  const server: Server = createServer((request, response) => {
    if (options.extraRoutes?.handle(request, response) === true) return;
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/healthz') {
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    } else if (path === '/readyz') {
      const waiting = options.health.notReady();
      const stalled = options.health.stalled?.() ?? [];
      const paused = options.health.paused?.() ?? [];
      const ready = waiting.length === 0;
      const status = !ready ? 'waiting' : stalled.length > 0 ? 'degraded' : 'ready';
      response.writeHead(ready ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ status, waiting, stalled, paused }));
    } else if (path === '/metrics') {
      options.registry.metrics().then(
        (text) => response.writeHead(200, { 'content-type': options.registry.contentType }).end(text),
        () => response.writeHead(500).end(),
      );
    } else {
      response.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${address.port}`,
    // Event streams end first; keep-alive connections (a Prometheus scraper) would hold close() open: end them too.
    close: () =>
      new Promise<void>((resolve) => {
        options.extraRoutes?.close?.();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
