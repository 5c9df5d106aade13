/**
 * Translates Supabase API answers (PostgREST behind the Supabase gateway) into the error catalogue.
 * Pure. Messages carry the HTTP status, the PostgREST/PostgreSQL code and the API's message with
 * quoted values removed; PostgREST's `details` (which can quote row values) is never used.
 */
import { FanoutError, type ErrorCode } from '../../src/errors/catalogue.js';
import { sanitizeDriverMessage } from '../shared/sql-rows/driver-message.js';
import type { SupabaseAnswer } from './client.js';

type Failure = Extract<SupabaseAnswer, { ok: false }>;

const RUN_DDL = 'run connectors/supabase/ddl/*.sql in the project\'s SQL editor, and expose the schema to the API (Project Settings > API)';

interface Meaning {
  code: ErrorCode;
  what: string;
  fix?: string;
}

function meaningOf(failure: Failure): Meaning {
  const { status, code } = failure;
  if (status === 0) {
    return /Abort|Timeout/i.test(failure.cause ?? '') ? { code: 'destination_timeout', what: 'no answer within timeoutMs' } : { code: 'destination_unavailable', what: 'the API could not be reached' };
  }
  if (status === 401) return { code: 'destination_auth_failed', what: 'the API refused the key', fix: 'set serviceRoleKey to the project\'s service-role key' };
  if (status === 403 || code === '42501') return { code: 'destination_auth_failed', what: 'the key may not write the tables', fix: 'use the service-role key (not the anon key), or grant the role INSERT, UPDATE, DELETE, SELECT' };
  if (status === 404 || code === 'PGRST205' || code === '42P01') return { code: 'destination_not_found', what: 'a table does not exist', fix: RUN_DDL };
  if (code === 'PGRST106') return { code: 'destination_misconfigured', what: 'the schema is not exposed to the API', fix: 'add it under Project Settings > API > Exposed schemas' };
  if (code === 'PGRST204' || code === '42703') return { code: 'destination_misconfigured', what: 'a column does not exist', fix: RUN_DDL };
  if (status === 413 || code.startsWith('54')) return { code: 'destination_record_too_large', what: 'the record is larger than the API accepts' };
  if (status === 429) return { code: 'destination_throttled', what: 'the API asked to slow down' };
  if (code === '57014') return { code: 'destination_timeout', what: 'a statement ran longer than the database allows' };
  if (status === 504) return { code: 'destination_timeout', what: 'the API gateway timed out' };
  if (status >= 500) return { code: 'destination_unavailable', what: 'the API or its database is unavailable' };
  if (code === 'PGRST102' || code.startsWith('22') || code.startsWith('23') || status === 400 || status === 409 || status === 422) {
    return { code: 'destination_rejected', what: 'the database refused a value of the record' };
  }
  return { code: 'destination_rejected', what: `the API refused the request with ${status}` };
}

/** A FanoutError for a failed answer from `target` (`Supabase abcd1234.supabase.co`). */
export function classifySupabaseAnswer(failure: Failure, target: string): FanoutError {
  const meaning = meaningOf(failure);
  const reason = failure.status === 0 ? (failure.cause ?? 'no answer') : `HTTP ${failure.status}${failure.code === '' ? '' : ` ${failure.code}`}`;
  const message = failure.status === 0 ? '' : `: ${sanitizeDriverMessage(failure.message)}`;
  const fix = meaning.fix === undefined ? '' : ` To fix: ${meaning.fix}.`;
  const retryAfterMs = failure.retryAfter !== null && /^\d+$/.test(failure.retryAfter) ? Number(failure.retryAfter) * 1000 : undefined;
  const detail = { status: failure.status, ...(failure.code === '' ? {} : { apiCode: failure.code }) };
  return new FanoutError(meaning.code, `${target}: ${meaning.what} (${reason}${message}).${fix}`, retryAfterMs === undefined ? { detail } : { detail, retryAfterMs });
}

/** `Supabase <host>` for messages. */
export function supabaseTarget(url: string): string {
  return URL.canParse(url) ? `Supabase ${new URL(url).host}` : 'Supabase';
}
