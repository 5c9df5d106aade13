/** The narrow port over @supabase/supabase-js (PostgREST). The only file that imports the SDK. */
import { createClient, type WebSocketLikeConstructor } from '@supabase/supabase-js';
import WebSocket from 'ws';
import type { ConnectorContext } from '../../src/connector/contract.js';
import { s3Connector } from '../s3/index.js';
import type { ObjectStorePort } from '../shared/object-store/port.js';
import { supabaseStorageS3Config, type SupabaseConfig } from './config.js';

/** A row as PostgREST takes and gives it: JSON values by column name. */
export type JsonRow = Record<string, unknown>;

export interface RowFilter {
  column: string;
  op: 'eq' | 'lte';
  value: string | number;
}

/**
 * What an API call came back with. `status` 0 means no answer arrived (network failure, timeout):
 * then `cause` names what happened (`ECONNREFUSED`, `AbortError`, ...).
 */
export type SupabaseAnswer<Rows = undefined> =
  | { ok: true; rows: Rows }
  | { ok: false; status: number; code: string; message: string; cause: string | null; retryAfter: string | null };

/** The calls the Supabase destination makes. None of them throws for an API or network failure. */
export interface SupabasePort {
  /** `POST /rest/v1/<table>?on_conflict=<key>` with `Prefer: resolution=merge-duplicates`. */
  upsert(table: string, rows: readonly JsonRow[], onConflict: string, signal: AbortSignal): Promise<SupabaseAnswer>;
  /** `GET /rest/v1/<table>?select=<columns>&<filters>&limit=<limit>`. */
  select(table: string, columns: readonly string[], filters: readonly RowFilter[], limit: number, signal: AbortSignal): Promise<SupabaseAnswer<JsonRow[]>>;
  /** `DELETE /rest/v1/<table>?<filters>`. */
  delete(table: string, filters: readonly RowFilter[], signal: AbortSignal): Promise<SupabaseAnswer>;
  close(): Promise<void>;
}

/** What a Supabase destination is built on: the API, and Storage (the S3 port) when `storage` is set. */
export interface SupabaseClients {
  api: SupabasePort;
  storage: ObjectStorePort | undefined;
}

interface PostgrestLike {
  error: { code?: string; message?: string; details?: string } | null;
  status: number;
  data: unknown;
}

/** Turns a postgrest-js answer into ours; a network failure (status 0) keeps its cause code only. */
function answerOf<Rows>(result: PostgrestLike, rows: (data: unknown) => Rows): SupabaseAnswer<Rows> {
  if (result.error === null) return { ok: true, rows: rows(result.data) };
  const details = result.error.details ?? '';
  const cause = result.status === 0 ? (/\(([A-Z_]+)\)/.exec(details)?.[1] ?? (/AbortError|aborted/i.test(result.error.message ?? '') ? 'AbortError' : 'FetchError')) : null;
  return { ok: false, status: result.status, code: result.error.code ?? '', message: result.error.message ?? '', cause, retryAfter: null };
}

/** ws with the one constructor signature supabase-js's transport option describes. */
class NodeWebSocket extends WebSocket {
  constructor(address: string | URL, protocols?: string | string[]) {
    super(address, protocols);
  }
}

/**
 * The real port. supabase-js needs a WebSocket transport on Node 20 (its realtime client throws in
 * createClient otherwise), even though this destination never opens a realtime channel.
 */
export function createSupabaseClient(config: SupabaseConfig): SupabasePort {
  const supabase = createClient(config.url, config.serviceRoleKey.reveal(), {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    // ws is the transport supabase-js documents for Node 20; its typings declare event handlers
    // with ws's own Event type, which TypeScript cannot match to the DOM-style WebSocketLike.
    realtime: { transport: NodeWebSocket as WebSocketLikeConstructor },
    db: { schema: config.namespace },
    global: { headers: { 'x-client-info': 'terra-fanout' } },
  });
  const withTimeout = (signal: AbortSignal): AbortSignal => AbortSignal.any([signal, AbortSignal.timeout(config.timeoutMs)]);
  return {
    async upsert(table, rows, onConflict, signal) {
      const result = await supabase.from(table).upsert([...rows], { onConflict, ignoreDuplicates: false }).abortSignal(withTimeout(signal));
      return answerOf(result, () => undefined);
    },
    async select(table, columns, filters, limit, signal) {
      let query = supabase.from(table).select(columns.join(','));
      for (const filter of filters) query = filter.op === 'eq' ? query.eq(filter.column, filter.value) : query.lte(filter.column, filter.value);
      const result = await query.limit(limit).retry(false).abortSignal(withTimeout(signal));
      return answerOf(result, (data) => (Array.isArray(data) ? data.filter((row): row is JsonRow => typeof row === 'object' && row !== null) : []));
    },
    async delete(table, filters, signal) {
      let query = supabase.from(table).delete();
      for (const filter of filters) query = filter.op === 'eq' ? query.eq(filter.column, filter.value) : query.lte(filter.column, filter.value);
      const result = await query.abortSignal(withTimeout(signal));
      return answerOf(result, () => undefined);
    },
    async close() {
      // Requests use fetch's shared pool and no realtime channel is ever opened: nothing to release.
      // (removeAllChannels() would start a 10 s realtime timer that keeps the process alive.)
    },
  };
}

/** The API port, and the S3 connector's port on Storage's S3 endpoint when `storage` is set. No I/O. */
export function createSupabaseClients(config: SupabaseConfig, context: ConnectorContext): SupabaseClients {
  const storage = supabaseStorageS3Config(config);
  return { api: createSupabaseClient(config), storage: storage === undefined ? undefined : s3Connector.createClient(storage, context) };
}
