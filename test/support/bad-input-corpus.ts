import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ErrorCode } from '../../src/errors/catalogue.js';
import { isPlainObject } from '../../src/json/json-value.js';
import { eventTypes } from '../../src/terra/event-types.js';

/**
 * Bad Terra input that needs no network and no signature: bytes a decoder must refuse, each with
 * the code it must be refused with. The decoder's unit test (test/terra/bad-input.test.ts) and the
 * worker's integration test (test/integration/bad-input.test.ts) both run every kind.
 */

export interface BadInput {
  /** Unique, used as the Kafka key. */
  kind: string;
  /** null is a Kafka tombstone. */
  value: Buffer | null;
  code: ErrorCode;
}

const validDir = fileURLToPath(new URL('../../../test/fixtures/terra/valid/', import.meta.url));

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function fixture(type: string): { [key: string]: Json } {
  const parsed: unknown = JSON.parse(readFileSync(`${validDir}${type}.json`, 'utf8'));
  if (!isJsonObject(parsed)) throw new Error(`fixture ${type} is not an object`);
  return parsed;
}

function isJsonObject(value: unknown): value is { [key: string]: Json } {
  return isPlainObject(value);
}

type Step = string | number;

/** The container holding the last step of `path` (created objects are never needed: fixtures have them). */
function parentOf(root: Json, path: readonly Step[]): Json {
  let current: Json = root;
  for (const step of path.slice(0, -1)) {
    if (typeof step === 'number' && Array.isArray(current)) current = current[step] ?? null;
    else if (typeof step === 'string' && isJsonObject(current)) current = current[step] ?? null;
    else throw new Error(`no ${String(step)} in the fixture`);
  }
  return current;
}

function setAt(root: Json, path: readonly Step[], value: Json): void {
  const parent = parentOf(root, path);
  const last = path[path.length - 1];
  if (typeof last === 'number' && Array.isArray(parent)) parent[last] = value;
  else if (typeof last === 'string' && isJsonObject(parent)) parent[last] = value;
  else throw new Error(`cannot set ${path.join('.')}`);
}

function deleteAt(root: Json, path: readonly Step[]): void {
  const parent = parentOf(root, path);
  const last = path[path.length - 1];
  if (typeof last === 'string' && isJsonObject(parent)) delete parent[last];
  else throw new Error(`cannot delete ${path.join('.')}`);
}

/** A fixture with one field set (or deleted, for `undefined`), as bytes. */
export function mutated(type: string, path: readonly Step[], value: Json | undefined): Buffer {
  const event = fixture(type);
  if (value === undefined) deleteAt(event, path);
  else setAt(event, path, value);
  return Buffer.from(JSON.stringify(event));
}

function text(value: string): Buffer {
  return Buffer.from(value, 'utf8');
}

/** One schema violation per Terra event type: a required field missing or of the wrong kind. */
export const schemaViolationByType: Readonly<Record<string, { path: Step[]; value: Json | undefined }>> = {
  activity: { path: ['data', 0, 'metadata', 'summary_id'], value: 42 },
  athlete: { path: ['athlete'], value: [] },
  body: { path: ['data', 0, 'metadata', 'start_time'], value: undefined },
  daily: { path: ['data', 0, 'metadata', 'upload_type'], value: 'x' },
  health_observation: { path: ['data', 0, 'observation_data'], value: undefined },
  hormone: { path: ['data', 0, 'timestamp'], value: undefined },
  menstruation: { path: ['data'], value: {} },
  nutrition: { path: ['data', 0, 'meals'], value: {} },
  planned_workout: { path: ['data', 0, 'details'], value: 5 },
  sleep: { path: ['data', 0, 'metadata', 'end_time'], value: null },
  access_revoked: { path: ['message'], value: undefined },
  auth: { path: ['user'], value: undefined },
  auth_cancelled: { path: ['status'], value: 1 },
  connection_error: { path: ['user', 'user_id'], value: undefined },
  deauth: { path: ['user'], value: 'u' },
  google_no_datasource: { path: ['user'], value: undefined },
  healthcheck: { path: ['trend_percentage'], value: 'x' },
  large_request_processing: { path: ['reference'], value: undefined },
  large_request_sending: { path: ['expected_payloads'], value: 1.5 },
  permission_change: { path: ['scopes_added'], value: null },
  rate_limit_hit: { path: ['user'], value: undefined },
  user_reauth: { path: ['new_user'], value: undefined },
  'lab_report.completed': { path: ['data', 'results'], value: undefined },
  'lab_report.failed': { path: ['data', 'error', 'retriable'], value: 'no' },
  'activity.retrieved': { path: ['data', 0, 'activity_id'], value: undefined },
  'athlete.deleted': { path: ['data', 0, 'athlete_id'], value: '' },
  'athlete.registered': { path: ['data'], value: {} },
  'coach.registered': { path: ['data', 'coach_id'], value: undefined },
  'test.retrieved': { path: ['data', 0, 'test_id'], value: null },
  s3_payload: { path: ['url'], value: undefined },
};

/** Ids that reach keys, each with one refused character. */
const badIdentifiers: ReadonlyArray<[string, string, Step[], string]> = [
  ['user-id-nul', 'activity', ['user', 'user_id'], 'user\u0000id'],
  ['user-id-bom', 'activity', ['user', 'user_id'], '\ufeff40f7b0e1'],
  ['user-id-lone-surrogate', 'activity', ['user', 'user_id'], 'user\ud800'],
  ['user-id-bell', 'activity', ['user', 'user_id'], 'user\u0007'],
  ['user-id-c1-control', 'activity', ['user', 'user_id'], 'user\u0085'],
  ['user-id-newline', 'daily', ['user', 'user_id'], 'user\nid'],
  ['user-id-del', 'sleep', ['user', 'user_id'], 'user\u007fid'],
  ['user-id-bidi-override', 'activity', ['user', 'user_id'], 'user\u202egnp.exe'],
  ['user-id-bidi-isolate', 'body', ['user', 'user_id'], 'user\u2066id\u2069'],
  ['user-id-rlm', 'nutrition', ['user', 'user_id'], 'user\u200fid'],
  ['user-id-line-separator', 'hormone', ['user', 'user_id'], 'user\u2028id'],
  ['user-id-zero-width', 'menstruation', ['user', 'user_id'], 'user\u200bid'],
  ['provider-bidi', 'activity', ['user', 'provider'], 'GAR\u202eMIN'],
  ['reference-id-nul', 'activity', ['user', 'reference_id'], 'ref\u0000'],
  ['summary-id-lone-surrogate', 'activity', ['data', 0, 'metadata', 'summary_id'], '\udc00123'],
  ['sleep-summary-id-bom', 'sleep', ['data', 0, 'metadata', 'summary_id'], '\ufeffsleep-1'],
  ['health-observation-summary-id-control', 'health_observation', ['data', 0, 'metadata', 'summary_id'], 'obs\u001b[31m'],
  ['planned-workout-id-nul', 'planned_workout', ['data', 0, 'planned_workout_id'], 'pw\u0000'],
  ['version-bidi', 'activity', ['version'], '2022-03-16\u202e'],
  ['new-user-id-nul', 'user_reauth', ['new_user', 'user_id'], 'new\u0000user'],
  ['old-user-id-bidi', 'user_reauth', ['old_user', 'user_id'], 'old\u202euser'],
  ['auth-reference-id-bidi', 'auth_cancelled', ['reference_id'], 'patient\u2067-51'],
  ['coach-id-control', 'coach.registered', ['data', 'coach_id'], 'coach\u0001'],
  ['coach-provider-bom', 'test.retrieved', ['coach', 'provider'], '\ufeffVALD'],
  ['athlete-id-bidi', 'athlete.registered', ['data', 0, 'athlete_id'], 'athlete\u202d1'],
  ['test-id-nul', 'test.retrieved', ['data', 0, 'test_id'], 'test\u0000'],
  ['activity-id-bom', 'activity.retrieved', ['data', 0, 'activity_id'], 'act\ufeff'],
  ['lab-event-id-bidi', 'lab_report.completed', ['event_id'], 'evt_\u202e1'],
  ['lab-session-id-nul', 'lab_report.failed', ['data', 'session_id'], '2974\u0000'],
  ['lab-reference-id-lone-surrogate', 'lab_report.completed', ['data', 'reference_id'], 'ref\ud83d'],
];

/** Timestamps that are not real, in fields that reach keys. */
const badTimestamps: ReadonlyArray<[string, string, Step[], Json]> = [
  ['date-february-30', 'activity', ['data', 0, 'metadata', 'start_time'], '2022-02-30T10:00:00.000000+01:00'],
  ['date-month-13', 'daily', ['data', 0, 'metadata', 'start_time'], '2022-13-01T00:00:00.000000+01:00'],
  ['date-year-0000', 'body', ['data', 0, 'metadata', 'start_time'], '0000-01-01T00:00:00.000000+00:00'],
  ['date-year-0099', 'sleep', ['data', 0, 'metadata', 'start_time'], '0099-03-01T00:00:00.000000+00:00'],
  ['date-not-leap', 'nutrition', ['data', 0, 'metadata', 'start_time'], '2023-02-29T00:00:00+00:00'],
  ['date-april-31', 'menstruation', ['data', 0, 'metadata', 'start_time'], '2022-04-31T00:00:00+00:00'],
  ['time-hour-24', 'activity', ['data', 0, 'metadata', 'end_time'], '2022-10-28T24:00:00+00:00'],
  ['time-minute-60', 'activity', ['data', 0, 'metadata', 'start_time'], '2022-10-28T10:60:00+00:00'],
  ['time-second-60', 'hormone', ['data', 0, 'timestamp'], '2022-10-28T10:00:60+00:00'],
  ['time-offset-25h', 'activity', ['data', 0, 'metadata', 'start_time'], '2022-10-28T10:00:00+25:00'],
  ['time-trailing-garbage', 'activity', ['data', 0, 'metadata', 'start_time'], '2022-10-28garbage'],
  ['time-utc-beyond-9999', 'activity', ['data', 0, 'metadata', 'start_time'], '9999-12-31T23:00:00-05:00'],
  ['health-observation-end-month-13', 'health_observation', ['data', 0, 'metadata', 'end_time'], '2022-13-01T00:00:00Z'],
  ['planned-date-february-30', 'planned_workout', ['data', 0, 'planned_date'], '2024-02-30'],
  ['teams-timestamp-out-of-range', 'test.retrieved', ['data', 0, 'timestamp_us'], 1e20],
  ['teams-timestamp-fraction', 'activity.retrieved', ['data', 0, 'start_timestamp_us'], 1782810000000000.5],
  ['lab-occurred-at-february-30', 'lab_report.completed', ['occurred_at'], '2026-02-30T09:12:33Z'],
  ['lab-occurred-at-local-time', 'lab_report.failed', ['occurred_at'], '2026-07-01T09:12:33'],
];

function nestedArrays(depth: number): string {
  return `{"type":"activity","user":{"user_id":"u","provider":"GARMIN"},"data":[${'['.repeat(depth)}${']'.repeat(depth)}],"version":"2022-03-16"}`;
}

/**
 * Every kind, with the code it must get. `good` is a valid event as compact JSON (JSON.stringify
 * output; truncated, re-encoded and duplicate-key kinds are built from its text).
 */
export function decodeCorpus(good: Buffer): BadInput[] {
  const goodText = good.toString('utf8');
  const kinds: BadInput[] = [
    // Bytes that are not JSON.
    { kind: 'json-trailing-comma', value: text('{"type":"activity",}'), code: 'malformed_json' },
    { kind: 'json-single-quotes', value: text("{'type':'activity'}"), code: 'malformed_json' },
    { kind: 'json-unquoted-key', value: text('{"type": "activity", user: {}}'), code: 'malformed_json' },
    { kind: 'json-nan', value: text('{"type":"healthcheck","trend_percentage":NaN}'), code: 'malformed_json' },
    { kind: 'json-trailing-garbage', value: text(`${goodText}xyz`), code: 'malformed_json' },
    { kind: 'json-two-documents', value: text(`${goodText}\n${goodText}`), code: 'malformed_json' },
    { kind: 'json-truncated', value: good.subarray(0, Math.floor(good.length / 2)), code: 'malformed_json' },
    { kind: 'json-whitespace-only', value: text(' \n\t '), code: 'malformed_json' },
    { kind: 'json-comment', value: text('{"type":"healthcheck"} // hi'), code: 'malformed_json' },
    { kind: 'utf8-invalid-byte', value: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), code: 'malformed_json' },
    { kind: 'utf8-overlong', value: Buffer.concat([text('{"type":"'), Buffer.from([0xc0, 0xaf]), text('"}')]), code: 'malformed_json' },
    { kind: 'utf8-encoded-surrogate', value: Buffer.concat([text('{"type":"'), Buffer.from([0xed, 0xa0, 0x80]), text('"}')]), code: 'malformed_json' },
    { kind: 'utf16le', value: Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(goodText, 'utf16le')]), code: 'malformed_json' },
    { kind: 'utf8-bom', value: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), good]), code: 'malformed_json' },
    { kind: 'empty-bytes', value: Buffer.alloc(0), code: 'empty_message' },
    { kind: 'tombstone', value: null, code: 'empty_message' },
    // JSON that is not an event object.
    { kind: 'top-level-array', value: text(`[${goodText}]`), code: 'schema_violation' },
    { kind: 'top-level-string', value: text('"activity"'), code: 'schema_violation' },
    { kind: 'top-level-number', value: text('42'), code: 'schema_violation' },
    { kind: 'top-level-null', value: text('null'), code: 'schema_violation' },
    { kind: 'top-level-true', value: text('true'), code: 'schema_violation' },
    // The type field.
    { kind: 'type-missing', value: mutated('activity', ['type'], undefined), code: 'schema_violation' },
    { kind: 'type-number', value: mutated('activity', ['type'], 7), code: 'schema_violation' },
    { kind: 'type-null', value: mutated('activity', ['type'], null), code: 'schema_violation' },
    { kind: 'type-object', value: mutated('activity', ['type'], { name: 'activity' }), code: 'schema_violation' },
    { kind: 'type-unknown', value: mutated('activity', ['type'], 'telepathy'), code: 'unknown_event_type' },
    { kind: 'type-wrong-case', value: mutated('activity', ['type'], 'Activity'), code: 'unknown_event_type' },
    { kind: 'type-padded', value: mutated('activity', ['type'], ' activity'), code: 'unknown_event_type' },
    { kind: 'type-processing', value: text('{"type":"processing","status":"success","message":"Processing","retry_after_seconds":30}'), code: 'unknown_event_type' },
    { kind: 'type-s3-upload', value: mutated('s3_payload', ['type'], 's3_upload'), code: 'unknown_event_type' },
    { kind: 'type-lab-report-group', value: mutated('lab_report.completed', ['type'], 'lab_report'), code: 'unknown_event_type' },
    { kind: 'type-lab-report-unknown', value: mutated('lab_report.completed', ['type'], 'lab_report.pending'), code: 'unknown_event_type' },
    { kind: 'type-proto-string', value: mutated('activity', ['type'], '__proto__'), code: 'unknown_event_type' },
    // Duplicate keys: JSON.parse keeps the last one, and so does every check.
    { kind: 'duplicate-type-last-unknown', value: text(`${goodText.slice(0, -1)},"type":"telepathy"}`), code: 'unknown_event_type' },
    { kind: 'duplicate-user-id-last-bad', value: text(goodText.replace(/"user_id":"[^"]*"/, (m) => `${m},"user_id":"bad\\u0000"`)), code: 'invalid_identifier' },
    // Nesting and keys that reach prototypes.
    { kind: 'deep-arrays', value: text(nestedArrays(5000)), code: 'json_too_deep' },
    { kind: 'deep-objects', value: text(`{"type":"healthcheck","x":${'{"a":'.repeat(100)}1${'}'.repeat(100)}}`), code: 'json_too_deep' },
    { kind: 'proto-key-top', value: text('{"__proto__":{"admin":true},"type":"healthcheck"}'), code: 'forbidden_key' },
    { kind: 'proto-key-user', value: text(goodText.replace('"user":{', '"user":{"__proto__":{"polluted":1},')), code: 'forbidden_key' },
    { kind: 'constructor-key-item', value: mutated('activity', ['data', 0, 'metadata', 'constructor'], { prototype: { polluted: 1 } }), code: 'forbidden_key' },
    { kind: 'prototype-key-deep', value: mutated('activity', ['data', 0, 'heart_rate_data'], { summary: { detail: { prototype: 1 } } }), code: 'forbidden_key' },
  ];
  for (const type of eventTypes) {
    const violation = schemaViolationByType[type];
    if (violation === undefined) throw new Error(`no schema violation for ${type}: add one to schemaViolationByType`);
    kinds.push({ kind: `schema-${type}`, value: mutated(type, violation.path, violation.value), code: 'schema_violation' });
  }
  for (const [kind, type, path, value] of badTimestamps) kinds.push({ kind, value: mutated(type, path, value), code: 'invalid_timestamp' });
  for (const [kind, type, path, value] of badIdentifiers) kinds.push({ kind, value: mutated(type, path, value), code: 'invalid_identifier' });
  return kinds;
}
