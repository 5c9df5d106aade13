import { z } from 'zod';
import { FanoutError } from '../../src/errors/catalogue.js';
import type { TerraRecord } from '../../src/records/record.js';
import { unsafeCharacterClass } from '../../src/terra/identifier.js';
import { formatKeyTime } from '../../src/terra/key-time.js';

/**
 * Object keys (and file paths) for record-per-object destinations: file, S3, GCS, Azure Blob.
 * Pure. A key is a `/`-separated relative path; no substituted value can add a segment or
 * climb out of the prefix, so a key is always safe to join under a directory or bucket prefix.
 */

/** Terra's API version folder, used when an event carries no `version`. */
export const TERRA_KEY_VERSION = '2022-03-16';

/** What a template needs besides the record. */
export interface KeyContext {
  /** The tenant name for `{tenant}`. When absent, `{tenant}` renders as the literal `{tenant}`. */
  tenant?: string;
}

export type RenderKey = (record: TerraRecord, context?: KeyContext) => string;

export type CompiledKeyTemplate = { ok: true; render: RenderKey } | { ok: false; problems: string[] };

/** The fields a key template may use, with what each stands for (used in docs and error messages). */
export const keyTemplateFields = {
  version: `The event's API version, or ${TERRA_KEY_VERSION} when it has none.`,
  type: 'The Terra event type, e.g. activity, sleep, auth.',
  user_id: 'The Terra user id (coach or athlete id for Teams events).',
  reference_id: "The user's reference_id.",
  provider: 'The provider, e.g. GARMIN.',
  summary_id: "The item's metadata.summary_id.",
  identity: "The record's deterministic identity (32 hex characters); unique per record.",
  natural_key: "Terra's natural key in words, e.g. summary_id=abc.",
  start_time: "The item's start time (UTC when it has an offset, no fraction); the event time when it has none.",
  event_time: 'When the event happened, UTC, no fraction.',
  yyyy: 'Year of {start_time}.',
  mm: 'Month of {start_time}, two digits.',
  dd: 'Day of {start_time}, two digits.',
  tenant: 'The tenant name from the tenant file.',
} as const;

export type KeyTemplateField = keyof typeof keyTemplateFields;

/** A value substituted for a field the record does not have. */
const MISSING = 'none';

/** `/`, `\` and every character src/terra/identifier.ts refuses in ids (controls, BOM, bidi, lone surrogates). */
const UNSAFE_IN_VALUE = new RegExp(`[/\\\\${unsafeCharacterClass}]`, 'gu');

/**
 * Makes a value safe as (part of) one path segment: `/`, `\`, control and format characters
 * (bidirectional overrides and isolates, BOM, zero-width), line separators, lone surrogates and
 * `..` become `_`; an empty value becomes `none` and a lone `.` becomes `_`. The decoder already
 * refuses such characters in the ids it checks; this keeps every other value (a trace id header,
 * a natural key) from putting them in a file or object name.
 */
export function sanitizeKeyValue(value: string): string {
  if (isPlainKeyValue(value)) return value;
  const cleaned = value.replace(UNSAFE_IN_VALUE, '_').replace(/\.\./g, '_');
  if (cleaned === '') return MISSING;
  if (cleaned === '.') return '_';
  return cleaned;
}

/**
 * True for a value sanitizeKeyValue leaves as it is, found without a pattern (ids, types and times
 * almost always are): printable ASCII (which holds none of the refused character classes) without
 * `/` or `\\`, no `..`, neither empty nor a lone `.`.
 */
function isPlainKeyValue(value: string): boolean {
  if (value === '' || value === '.') return false;
  for (let index = 0; index < value.length; index += 1) {
    const code = value.charCodeAt(index);
    if (code < 0x20 || code > 0x7e || code === 0x2f || code === 0x5c) return false;
    if (code === 0x2e && value.charCodeAt(index + 1) === 0x2e) return false;
  }
  return true;
}

/**
 * Terra's own bucket layout (reference/terra-delivery-spec.md section 4.4), keyed by record kind:
 * - data item: `{version}/{type}/{user_id}-{start_time}.json`
 * - athlete: `{version}/athlete/{user_id}.json`
 * - user event (auth, deauth, ...): `2022-03-16/{type}/{user_id}-{event_time}.json`
 * - Teams event: `teams/{type}/{identity}.json`
 * - whole data event (unit `event`): `{version}/{type}/{user_id}-{identity}.json`
 * A record without a user id (auth_cancelled, healthcheck) uses its identity in place of the user id.
 */
export function defaultObjectKey(record: TerraRecord): string {
  const version = sanitizeKeyValue(record.version ?? TERRA_KEY_VERSION);
  const type = sanitizeKeyValue(record.type);
  const user = sanitizeKeyValue(record.userId ?? record.identity);
  const identity = sanitizeKeyValue(record.identity);
  if (record.kind === 'teams') return `teams/${type}/${identity}.json`;
  if (record.kind === 'user') return `${TERRA_KEY_VERSION}/${type}/${user}-${sanitizeKeyValue(formatKeyTime(record.eventTime))}.json`;
  if (record.unit === 'event') return `${version}/${type}/${user}-${identity}.json`;
  if (record.type === 'athlete') return `${version}/athlete/${user}.json`;
  const time = sanitizeKeyValue(formatKeyTime(record.startTime ?? record.eventTime));
  return `${version}/${type}/${user}-${time}.json`;
}

type Part = { literal: string } | { field: KeyTemplateField };

function isField(name: string): name is KeyTemplateField {
  return Object.hasOwn(keyTemplateFields, name);
}

const UNSAFE_LITERAL = new RegExp(`[\\\\${unsafeCharacterClass}]`, 'u');

/** Problems with the literal shape of a path: leading `/`, empty, `.` or `..` segments, backslashes. */
function pathShapeProblems(what: string, path: string): string[] {
  const problems: string[] = [];
  if (path.startsWith('/')) problems.push(`${what} must not start with "/".`);
  const segments = path.split('/');
  const inner = path.startsWith('/') ? segments.slice(1) : segments;
  if (inner.some((segment) => segment === '')) problems.push(`${what} must not contain an empty segment ("//" or a trailing "/").`);
  if (inner.some((segment) => segment === '..' || segment === '.')) problems.push(`${what} must not contain a "." or ".." segment.`);
  if (UNSAFE_LITERAL.test(path)) problems.push(`${what} must not contain a backslash, control characters or invisible format characters (bidirectional marks, BOM).`);
  return problems;
}

function parseTemplate(template: string): { parts: Part[]; problems: string[] } {
  const parts: Part[] = [];
  const problems: string[] = [];
  let rest = template;
  while (rest.length > 0) {
    const open = rest.indexOf('{');
    const close = rest.indexOf('}');
    if (close >= 0 && (open < 0 || close < open)) {
      problems.push('keyTemplate has a "}" without a matching "{".');
      break;
    }
    if (open < 0) {
      parts.push({ literal: rest });
      break;
    }
    if (open > 0) parts.push({ literal: rest.slice(0, open) });
    if (close < 0) {
      problems.push('keyTemplate has a "{" without a matching "}".');
      break;
    }
    const name = rest.slice(open + 1, close);
    if (isField(name)) parts.push({ field: name });
    else problems.push(`keyTemplate uses an unknown field {${name}}; known fields: ${Object.keys(keyTemplateFields).map((field) => `{${field}}`).join(' ')}.`);
    rest = rest.slice(close + 1);
  }
  return { parts, problems };
}

function dateParts(record: TerraRecord): { yyyy: string; mm: string; dd: string } {
  const date = /^(\d{4})-(\d{2})-(\d{2})/;
  const match = date.exec(formatKeyTime(record.startTime ?? record.eventTime)) ?? date.exec(record.eventTime);
  return { yyyy: match?.[1] ?? MISSING, mm: match?.[2] ?? MISSING, dd: match?.[3] ?? MISSING };
}

function fieldValue(field: KeyTemplateField, record: TerraRecord, context: KeyContext): string {
  switch (field) {
    case 'version':
      return record.version ?? TERRA_KEY_VERSION;
    case 'type':
      return record.type;
    case 'user_id':
      return record.userId ?? MISSING;
    case 'reference_id':
      return record.referenceId ?? MISSING;
    case 'provider':
      return record.provider ?? MISSING;
    case 'summary_id':
      return record.summaryId ?? MISSING;
    case 'identity':
      return record.identity;
    case 'natural_key':
      return record.naturalKey;
    case 'start_time':
      return formatKeyTime(record.startTime ?? record.eventTime);
    case 'event_time':
      return formatKeyTime(record.eventTime);
    case 'yyyy':
    case 'mm':
    case 'dd':
      return dateParts(record)[field];
    case 'tenant':
      return context.tenant ?? '{tenant}';
  }
}

/** Last guard: a rendered segment can never be `.` or `..`, whatever the template and values. */
function guardSegments(key: string): string {
  return key
    .split('/')
    .map((segment) => (segment === '.' || segment === '..' ? '_' : segment))
    .join('/');
}

/**
 * Compiles a key template such as `{version}/{type}/{user_id}/{summary_id}.json`.
 * Returns every problem at once (unknown fields, unbalanced braces, unsafe path shapes).
 * Substituted values are sanitized with sanitizeKeyValue, so they never add or climb segments.
 */
export function compileKeyTemplate(template: string): CompiledKeyTemplate {
  if (template.length === 0) return { ok: false, problems: ['keyTemplate must not be empty.'] };
  const { parts, problems } = parseTemplate(template);
  problems.push(...pathShapeProblems('keyTemplate', template));
  if (problems.length > 0) return { ok: false, problems };
  const render: RenderKey = (record, context = {}) =>
    guardSegments(parts.map((part) => ('literal' in part ? part.literal : sanitizeKeyValue(fieldValue(part.field, record, context)))).join(''));
  return { ok: true, render };
}

/** Problems with an object-key prefix: a literal path (no fields), a trailing `/` allowed. */
export function keyPrefixProblems(prefix: string): string[] {
  if (prefix.length === 0) return ['prefix must not be empty; leave it out instead.'];
  const problems = pathShapeProblems('prefix', prefix.endsWith('/') ? prefix.slice(0, -1) : prefix);
  if (/[{}]/.test(prefix)) problems.push('prefix is literal text and cannot use {fields}; put fields in keyTemplate.');
  return problems;
}

/** Joins a validated prefix and a key with exactly one `/`. */
export function joinKeyPrefix(prefix: string | undefined, key: string): string {
  if (prefix === undefined) return key;
  return `${prefix.endsWith('/') ? prefix.slice(0, -1) : prefix}/${key}`;
}

export interface ObjectKeyOptions {
  prefix?: string | undefined;
  keyTemplate?: string | undefined;
}

const compiledTemplates = new Map<string, RenderKey>();

function renderFor(template: string): RenderKey {
  const cached = compiledTemplates.get(template);
  if (cached !== undefined) return cached;
  const compiled = compileKeyTemplate(template);
  if (!compiled.ok) {
    throw new FanoutError('destination_misconfigured', `Invalid keyTemplate: ${compiled.problems.join(' ')}`);
  }
  compiledTemplates.set(template, compiled.render);
  return compiled.render;
}

/**
 * The key a record gets under a destination's `prefix` and `keyTemplate` (Terra parity when no
 * template is set). Throws destination_misconfigured for a template or prefix the schemas would
 * have rejected; configs parsed with keyTemplateSchema and keyPrefixSchema never do.
 */
export function objectKeyFor(record: TerraRecord, options: ObjectKeyOptions, context: KeyContext = {}): string {
  if (options.prefix !== undefined) {
    const problems = keyPrefixProblems(options.prefix);
    if (problems.length > 0) throw new FanoutError('destination_misconfigured', `Invalid prefix: ${problems.join(' ')}`);
  }
  const key = options.keyTemplate === undefined ? defaultObjectKey(record) : renderFor(options.keyTemplate)(record, context);
  return joinKeyPrefix(options.prefix, key);
}

/** Config field for a key template, validated when the config is parsed. */
export const keyTemplateSchema = z
  .string()
  .superRefine((template, ctx) => {
    const compiled = compileKeyTemplate(template);
    if (!compiled.ok) for (const message of compiled.problems) ctx.addIssue({ code: 'custom', message });
  })
  .meta({
    description:
      'Object key layout, relative to the prefix. Fields: ' +
      Object.keys(keyTemplateFields)
        .map((field) => `{${field}}`)
        .join(' ') +
      '. Values are sanitized (no "/", "\\", ".." or control characters). Leave out for Terra\'s own layout ' +
      `(${TERRA_KEY_VERSION}/{type}/{user_id}-{start_time}.json). Include {identity} or {summary_id} to keep records that start in the same second apart.`,
    examples: ['{version}/{type}/{user_id}/{summary_id}.json', '{tenant}/{type}/{yyyy}/{mm}/{dd}/{identity}.json'],
  });

/** Config field for a literal key prefix, validated when the config is parsed. */
export const keyPrefixSchema = z
  .string()
  .superRefine((prefix, ctx) => {
    for (const message of keyPrefixProblems(prefix)) ctx.addIssue({ code: 'custom', message });
  })
  .meta({
    description: 'Literal path put before every key, e.g. a folder per environment. No fields, no leading "/", no ".." segment.',
    examples: ['terra/', 'raw/production'],
  });
