import type { TappedEvent } from '../tap/tap-hub.js';
import { adminEvents, type AdminClientOptions } from './admin-client.js';

/**
 * `terra-fanout tap`: records as a worker's lanes deliver, park or filter them, one line each,
 * from `GET /admin/tap`. Lines for people by default; `--json` for one JSON event per line.
 */
export interface TapOptions {
  client: AdminClientOptions;
  filter: { tenant?: string | undefined; destination?: string | undefined; type?: string | undefined; userId?: string | undefined; outcome?: string | undefined };
  bodies: boolean;
  json: boolean;
  /** Exit after this many events; null to run until interrupted. */
  limit: number | null;
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
  signal: AbortSignal;
}

/** `08:00:01.123  delivered  acme/lake  activity  user=u-1  id=e825b4c43ea3  -> 2022-03-16/...  (terra.events/2@1234)` */
export function formatTapLine(event: TappedEvent): string {
  const time = event.at.length >= 23 ? event.at.slice(11, 23) : event.at;
  const outcome = event.outcome === 'parked' && event.code !== undefined ? `parked(${event.code})` : event.outcome;
  const parts = [time, outcome, `${event.tenant}/${event.destination}`, event.type ?? '-', `user=${event.userId ?? '-'}`, `id=${event.identity === null ? '-' : event.identity.slice(0, 12)}`];
  if (event.location !== undefined) parts.push(`-> ${event.location}`);
  parts.push(`(${event.source.topic}/${event.source.partition}@${event.source.offset})`);
  return parts.join('  ');
}

export function tapPath(options: Pick<TapOptions, 'filter' | 'bodies'>): string {
  const query = new URLSearchParams();
  const { tenant, destination, type, userId, outcome } = options.filter;
  if (tenant !== undefined) query.set('tenant', tenant);
  if (destination !== undefined) query.set('destination', destination);
  if (type !== undefined) query.set('type', type);
  if (userId !== undefined) query.set('user_id', userId);
  if (outcome !== undefined) query.set('outcome', outcome);
  if (options.bodies) query.set('bodies', '1');
  const text = query.toString();
  return text === '' ? '/admin/tap' : `/admin/tap?${text}`;
}

/** Streams until interrupted, the limit, or the worker ends the stream. Returns the exit code. */
export async function runTap(options: TapOptions): Promise<number> {
  const { out, err } = options;
  let seen = 0;
  const stop = new AbortController();
  const onAbort = (): void => stop.abort();
  options.signal.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const message of adminEvents(options.client, tapPath(options), stop.signal)) {
      if (message.event === 'lost') {
        const { dropped } = JSON.parse(message.data) as { dropped: number };
        err.write(`tap: ${dropped} event(s) lost: this reader was too slow (the lanes did not wait)\n`);
        continue;
      }
      if (message.event !== 'tap') continue;
      if (options.json) out.write(`${message.data}\n`);
      else {
        const event = JSON.parse(message.data) as TappedEvent;
        out.write(`${formatTapLine(event)}\n`);
        if (event.body !== undefined) out.write(`  ${event.body}${event.bodyTruncated === true ? ' …(cut)' : ''}\n`);
      }
      seen += 1;
      if (options.limit !== null && seen >= options.limit) {
        stop.abort();
        break;
      }
    }
    return 0;
  } catch (error) {
    err.write(`tap: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  } finally {
    options.signal.removeEventListener('abort', onAbort);
  }
}
