import type { LaneListing, LaneStatus } from '../worker/worker-control.js';
import { adminRequest, type AdminClientOptions } from './admin-client.js';

/**
 * `terra-fanout status`: the lanes of a running worker as a table for a terminal, once or
 * refreshed (`--watch`), like `vector top`.
 */

/** `42s`, `5m`, `3h12m`, `2d4h`. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60 === 0 ? '' : `${s % 60}s`}`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86_400)}d${Math.floor((s % 86_400) / 3600)}h`;
}

/** What the STATE column says: the state, and why when the lane is held up or paused. */
export function laneStateText(lane: LaneStatus): string {
  // An operator pause shows whatever else the lane is doing (a paused lane restarted by a reload checks its destination first).
  if (lane.pausedByOperator !== null) return `paused by ${lane.pausedByOperator.by}${lane.state === 'paused' ? '' : ` (${lane.state})`}`;
  if (lane.state === 'paused') return 'paused';
  if (lane.stalled !== null) {
    const word = lane.state === 'running' ? 'stalled' : lane.state;
    return `${word} (${lane.stalled.reason})`;
  }
  return lane.state;
}

function ago(iso: string | null, nowMs: number): string {
  if (iso === null) return '-';
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? '-' : `${formatDuration((nowMs - ms) / 1000)} ago`;
}

const COLUMNS = ['TENANT', 'DESTINATION', 'CONNECTOR', 'STATE', 'LAG MSGS', 'LAG', 'LAST DELIVERY', 'LAST ERROR', 'DELIVERED', 'PARKED'] as const;
/** Right-aligned columns (numbers). */
const NUMERIC = new Set<string>(['LAG MSGS', 'LAG', 'DELIVERED', 'PARKED']);

/** The lanes as an aligned text table, sorted by tenant and destination. */
export function formatLanesTable(lanes: readonly LaneStatus[], nowMs: number): string {
  const rows = [...lanes]
    .sort((a, b) => a.tenant.localeCompare(b.tenant) || a.destination.localeCompare(b.destination))
    .map((lane) => [
      lane.tenant,
      lane.destination,
      lane.connector,
      laneStateText(lane),
      String(lane.lag.messages),
      lane.lag.messages === 0 ? '-' : formatDuration(lane.lag.seconds),
      ago(lane.lastDeliveryAt, nowMs),
      lane.lastErrorCode ?? '-',
      String(lane.delivered),
      String(lane.parked),
    ]);
  const widths = COLUMNS.map((column, index) => Math.max(column.length, ...rows.map((row) => row[index]?.length ?? 0)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, index) => {
        const width = widths[index] ?? cell.length;
        return NUMERIC.has(COLUMNS[index] ?? '') ? cell.padStart(width) : cell.padEnd(width);
      })
      .join('  ')
      .trimEnd();
  const lines = [line(COLUMNS), ...rows.map(line)];
  if (rows.length === 0) lines.push('(no lanes)');
  return `${lines.join('\n')}\n`;
}

export async function fetchLanes(client: AdminClientOptions): Promise<LaneListing> {
  const body = (await adminRequest(client, 'GET', '/admin/lanes')) as Partial<LaneListing>;
  return { lanes: body.lanes ?? [], ...(body.missingProcesses === undefined ? {} : { missingProcesses: body.missingProcesses }) };
}

/** A line under the table when worker processes (`run --processes N`) did not answer; empty otherwise. */
export function missingProcessesNote(missing: readonly number[] | undefined): string {
  if (missing === undefined || missing.length === 0) return '';
  return `(worker process${missing.length === 1 ? '' : 'es'} ${missing.join(', ')} did not answer: ${missing.length === 1 ? 'its' : 'their'} partitions and counts are not shown)\n`;
}

export interface StatusOptions {
  client: AdminClientOptions;
  watch: boolean;
  intervalMs: number;
  json: boolean;
  out: NodeJS.WritableStream & { isTTY?: boolean };
  err: NodeJS.WritableStream;
  signal: AbortSignal;
}

/** Prints the table once, or every interval until `signal` aborts. Returns the exit code. */
export async function runStatus(options: StatusOptions): Promise<number> {
  const { out, err } = options;
  const render = async (): Promise<boolean> => {
    try {
      const { lanes, missingProcesses } = await fetchLanes(options.client);
      if (options.json) {
        out.write(`${JSON.stringify({ at: new Date().toISOString(), lanes, ...(missingProcesses === undefined ? {} : { missingProcesses }) })}\n`);
        return true;
      }
      const table = formatLanesTable(lanes, Date.now()) + missingProcessesNote(missingProcesses);
      if (options.watch && out.isTTY === true) out.write(`\x1b[H\x1b[2J${options.client.url}  ${new Date().toISOString()}\n\n${table}`);
      else out.write(options.watch ? `${new Date().toISOString()}\n${table}\n` : table);
      return true;
    } catch (error) {
      err.write(`status: ${error instanceof Error ? error.message : String(error)}\n`);
      return false;
    }
  };
  if (!options.watch) return (await render()) ? 0 : 1;
  while (!options.signal.aborted) {
    await render();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, options.intervalMs);
      function done(): void {
        clearTimeout(timer);
        options.signal.removeEventListener('abort', done);
        resolve();
      }
      options.signal.addEventListener('abort', done, { once: true });
    });
  }
  return 0;
}
