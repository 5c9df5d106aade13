import type { OperationOutcome } from '@medplum/fhirtypes';
import { FanoutError } from '../../src/errors/catalogue.js';
import { classifyHttpStatus } from '../shared/http-errors.js';

/**
 * Translating FHIR server answers into the catalogue, for the client (token endpoint) and the
 * destination (transactions). Statuses keep the meanings every HTTP connector gives them
 * (connectors/shared/http-errors.ts: 429 and 5xx retryable, 401/403 auth, other 4xx permanent);
 * a permanent answer carries the server's OperationOutcome: issue codes, where (expression) and
 * what (details or diagnostics), with quoted text removed so no payload value reaches a log.
 */

const MAX_ISSUES = 3;
const MAX_TEXT = 200;

function isOutcome(body: unknown): body is OperationOutcome {
  return typeof body === 'object' && body !== null && 'resourceType' in body && body.resourceType === 'OperationOutcome';
}

/** Text from a server, with anything in quotes (a value it echoes back) replaced by an ellipsis. */
function redact(text: string): string {
  const cleaned = text.replace(/"[^"]*"|'[^']*'|`[^`]*`/g, '"…"').replace(/\s+/g, ' ').trim();
  return cleaned.length > MAX_TEXT ? `${cleaned.slice(0, MAX_TEXT)}…` : cleaned;
}

/** The diagnostics of an OperationOutcome in one line, e.g. `required at Observation.status: Missing required property`. */
export function outcomeSummary(body: unknown): string | null {
  if (!isOutcome(body)) return null;
  const issues = (body.issue ?? []).filter((issue) => issue.severity === 'error' || issue.severity === 'fatal');
  const parts = issues.slice(0, MAX_ISSUES).map((issue) => {
    const where = [...(issue.expression ?? []), ...(issue.location ?? [])].slice(0, 2).join(', ');
    const what = issue.details?.text ?? issue.diagnostics;
    return `${issue.code}${where === '' ? '' : ` at ${redact(where)}`}${what === undefined ? '' : `: ${redact(what)}`}`;
  });
  if (issues.length > MAX_ISSUES) parts.push(`and ${issues.length - MAX_ISSUES} more`);
  return parts.length === 0 ? null : parts.join('; ');
}

/** A non-2xx answer as a FanoutError, with the OperationOutcome's diagnostics when there is one. */
export function classifyFhirAnswer(status: number, retryAfter: string | null, body: unknown, target: string): FanoutError {
  const base = classifyHttpStatus(status, retryAfter, { target });
  const summary = outcomeSummary(body);
  if (summary === null) return base;
  return new FanoutError(base.code, `${base.message} OperationOutcome: ${summary}`, {
    detail: { ...base.detail, operationOutcome: summary },
    ...(base.retryAfterMs === undefined ? {} : { retryAfterMs: base.retryAfterMs }),
  });
}

/** A bundle-entry response (`"201 Created"`, `"400"`) as an HTTP status, or null when unreadable. */
export function entryStatus(status: string | undefined): number | null {
  const match = /^(\d{3})/.exec(status ?? '');
  return match?.[1] === undefined ? null : Number(match[1]);
}

/** The token endpoint refused or failed (OAuth error codes are safe to show; descriptions are redacted). */
export function classifyTokenAnswer(status: number, retryAfter: string | null, body: unknown, target: string): FanoutError {
  const base = classifyHttpStatus(status, retryAfter, { target });
  const oauth = typeof body === 'object' && body !== null && 'error' in body && typeof body.error === 'string' ? body.error : null;
  // 400/401 from a token endpoint (invalid_client, invalid_grant...) means the credentials are wrong.
  const code = status === 400 || status === 401 || status === 403 ? 'destination_auth_failed' : base.code;
  return new FanoutError(code, `${base.message}${oauth === null ? '' : ` OAuth error: ${redact(oauth)}.`} Check auth.clientId, auth.privateKey and the key registered with the server.`, {
    detail: { ...base.detail, ...(oauth === null ? {} : { oauthError: redact(oauth) }) },
    ...(base.retryAfterMs === undefined ? {} : { retryAfterMs: base.retryAfterMs }),
  });
}
