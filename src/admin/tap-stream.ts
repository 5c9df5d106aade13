import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TapFilter, TapHub } from '../tap/tap-hub.js';
import { AdminHttpError } from './admin-http.js';

/**
 * `GET /admin/tap` as server-sent events:
 * - `event: hello` once, with the filter in force;
 * - `event: tap` per record, its data a TapEvent as JSON;
 * - `event: lost` when events were dropped because this reader was slow, `{"dropped": n}`;
 * - a `: ping` comment every 15 s, so proxies keep the stream open.
 * Writes wait for the socket to drain; meanwhile the hub keeps queueing (and dropping) on its own,
 * so a slow reader never slows a lane.
 */
const PING_MS = 15_000;

export function serveTapStream(request: IncomingMessage, response: ServerResponse, hub: TapHub, filter: TapFilter, onClose: (delivered: number, dropped: number) => void): void {
  let writing = false;
  let delivered = 0;
  let droppedTotal = 0;
  let finished = false;
  let ping: NodeJS.Timeout | undefined;

  const subscription = hub.subscribe(filter, () => void flush());
  if (subscription === null) throw new AdminHttpError(503, 'tap_full', 'Too many tap streams are open; close one or raise admin.tap.maxSubscribers.');

  const finish = (): void => {
    if (finished) return;
    finished = true;
    clearInterval(ping);
    subscription.close();
    if (!response.writableEnded) response.end();
    onClose(delivered, droppedTotal);
  };

  /** Writes what is queued; when the socket is full, waits for it to drain and goes on. */
  async function flush(): Promise<void> {
    if (writing || finished || subscription === null) return;
    writing = true;
    try {
      for (;;) {
        if (subscription.closed) {
          finish();
          return;
        }
        const { events, dropped } = subscription.take();
        if (events.length === 0 && dropped === 0) return;
        let chunk = '';
        if (dropped > 0) {
          droppedTotal += dropped;
          chunk += `event: lost\ndata: ${JSON.stringify({ dropped, totalDropped: droppedTotal })}\n\n`;
        }
        for (const event of events) chunk += `event: tap\ndata: ${JSON.stringify(event)}\n\n`;
        delivered += events.length;
        if (!response.write(chunk)) {
          await new Promise<void>((resolve) => {
            const done = (): void => {
              response.off('drain', done);
              response.off('close', done);
              resolve();
            };
            response.on('drain', done);
            response.on('close', done);
          });
          if (finished || response.destroyed) return;
        }
      }
    } finally {
      writing = false;
    }
  }

  response.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  response.write(`event: hello\ndata: ${JSON.stringify({ filter })}\n\n`);
  ping = setInterval(() => {
    if (!writing) response.write(': ping\n\n');
  }, PING_MS);
  request.on('close', finish);
  response.on('close', finish);
}
