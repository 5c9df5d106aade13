import type { z } from 'zod';
import { FanoutError, type ErrorCode } from '../errors/catalogue.js';
import { eventTypeKinds, isKnownEventType, unknownTypeReason } from './event-types.js';
import { decodeLargeEvent } from './decode-large-event.js';
import { findJsonLimitViolation } from './json-limits.js';
import { eventSchemaFor, pointerSchema, type S3PayloadPointer, type TerraEvent } from './schemas/event-schema.js';
import { isPlainObject } from '../json/json-value.js';
import { matches } from './schemas/conforms.js';
import { schemaViolation } from './schemas/violation.js';
import { verifyTerraSignature } from './signature.js';

export interface DecodeOptions {
  /** Larger messages are `payload_too_large`, checked before anything is parsed. */
  maxMessageBytes: number;
  /** Deepest nesting allowed (the top-level object is depth 1). Default 64. */
  maxDepth?: number;
  /** Kafka headers with lower-cased names. */
  headers: Readonly<Record<string, string>>;
  /** When set, the `terra-signature` / `x-terra-signature` header is verified against the raw bytes. */
  signature?: { secret: string; required: boolean; toleranceSeconds: number };
  /** The time a signature's `t` must be within toleranceSeconds of (lanes pass the message's Kafka timestamp). */
  nowMs: number;
  /** Default true. False rejects an `s3_payload` as `s3_payload_nested` (used for fetched bodies). */
  allowPointer?: boolean;
  /**
   * From `fromBytes` on, a data event is decoded without being parsed whole where that is possible
   * (decode-large-event.ts): the event returned is then `partial`. Unset: always parsed whole.
   */
  split?: { fromBytes: number; minArrayBytes?: number; chunkBytes?: number };
}

export type DecodedEventKind = 'data' | 'user' | 'teams';

/**
 * `type` on a failure is the envelope's `type` when the bytes parsed into an object with a string
 * `type` (so a destination that does not want that type can skip the message instead of parking
 * it); null when the failure came earlier (size, signature, JSON) or there is no string type.
 */
export type DecodeResult =
  | {
      ok: true;
      kind: DecodedEventKind;
      /**
       * With `partial`, the event's large sample arrays are empty here (they were validated from
       * the bytes): its envelope and item metadata are exact, but it must never reach a
       * destination; records parse their own bytes again when one needs the values.
       */
      event: TerraEvent;
      body: Buffer;
      partial?: true;
    }
  | { ok: true; kind: 'pointer'; pointer: S3PayloadPointer; body: Buffer }
  | { ok: false; error: FanoutError; type: string | null };

export const defaultMaxDepth = 64;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Turns one Kafka message value into a validated Terra event. Synchronous and pure (no I/O).
 *
 * Checks, in order: empty (`empty_message`); size (`payload_too_large`); signature when configured
 * (`signature_missing`, `signature_invalid`; verified over the raw bytes before they are parsed);
 * UTF-8 and JSON (`malformed_json`); nesting and prototype keys (`json_too_deep`, `forbidden_key`);
 * an object with a string `type` (`schema_violation`); a type Terra sends (`unknown_event_type`);
 * the type's schema (`schema_violation`, naming the first failing path, never a value), with ids
 * that reach keys held to identifier.ts (`invalid_identifier`) and timestamps to terra-time.ts
 * (`invalid_timestamp`). A leading byte order mark is `malformed_json`.
 *
 * The event returned is the `JSON.parse` output itself: key order, unknown fields and key spelling
 * are exactly as received. Zod only validates.
 */
export function decodeEvent(raw: Buffer | null, options: DecodeOptions): DecodeResult {
  if (raw === null || raw.length === 0) {
    return reject('empty_message', 'The message has no value (a tombstone or empty bytes).');
  }
  if (raw.length > options.maxMessageBytes) {
    return reject('payload_too_large', `The message is ${raw.length} bytes, more than maxMessageBytes (${options.maxMessageBytes}).`, {
      bytes: raw.length,
      maxMessageBytes: options.maxMessageBytes,
    });
  }
  if (options.signature !== undefined) {
    const failure = checkSignature(raw, options.headers, options.signature, options.nowMs);
    if (failure !== undefined) return { ok: false, error: failure, type: null };
  }

  if (startsWithByteOrderMark(raw)) {
    // TextDecoder would drop it silently and every stored body would start with it.
    return reject('malformed_json', 'The message starts with a byte order mark (U+FEFF); JSON sent over a network must not (RFC 8259).');
  }
  if (options.split !== undefined && raw.length >= options.split.fromBytes) {
    const large = decodeLargeEvent(raw, { ...options.split, maxDepth: options.maxDepth ?? defaultMaxDepth });
    if (large !== undefined) {
      const checked = checkParsed(large.skeleton, raw, options);
      // Any refusal is decoded again whole, so it carries exactly the code and message it always had.
      if (checked.ok && checked.kind !== 'pointer') return { ...checked, partial: true };
    }
  }
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(raw));
  } catch (error) {
    if (error instanceof RangeError) {
      // V8 throws RangeError for a stack overflow (extreme nesting) and for a string too long to build.
      if (/string length/i.test(error.message)) return reject('payload_too_large', 'The message is too large to decode as one string.');
      return reject('json_too_deep', 'The JSON nests too deeply to parse.');
    }
    if (error instanceof SyntaxError) {
      const position = /position (\d+)/.exec(error.message)?.[1];
      return reject('malformed_json', `The message is not valid JSON${position === undefined ? '' : ` (at byte ${position})`}.`);
    }
    return reject('malformed_json', 'The message is not valid UTF-8.');
  }
  return checkParsed(value, raw, options);
}

/** Everything decodeEvent checks once the bytes parsed: limits, envelope, type and the type's schema. */
function checkParsed(value: unknown, raw: Buffer, options: DecodeOptions): DecodeResult {
  const envelopeType = isPlainObject(value) && typeof value['type'] === 'string' ? value['type'] : null;
  const violation = findJsonLimitViolation(value, options.maxDepth ?? defaultMaxDepth);
  if (violation?.code === 'json_too_deep') {
    return reject('json_too_deep', `The JSON nests deeper than ${options.maxDepth ?? defaultMaxDepth} levels.`, undefined, envelopeType);
  }
  if (violation?.code === 'forbidden_key') {
    return reject('forbidden_key', `The JSON has a forbidden key "${violation.key}" at depth ${violation.depth}.`, undefined, envelopeType);
  }

  if (!isPlainObject(value)) {
    return reject('schema_violation', `A Terra event must be a JSON object, not ${describeJsonType(value)}.`);
  }
  const type = envelopeType;
  if (type === null) {
    return reject('schema_violation', 'The event has no string "type" field.');
  }
  if (!isKnownEventType(type)) {
    const reason = unknownTypeReason(type);
    return reject('unknown_event_type', `The event type "${printableType(type)}" is not one Terra sends${reason === undefined ? '' : ` (${reason})`}.`, { type: printableType(type) }, type);
  }

  const issues: z.core.$ZodIssue[] = [];
  if (type === 's3_payload') {
    if (options.allowPointer === false) {
      return reject('s3_payload_nested', 'The s3_payload body is itself an s3_payload pointer.', undefined, type);
    }
    if (!conforms(pointerSchema, value, issues)) return { ok: false, error: schemaViolation(type, issues), type };
    return { ok: true, kind: 'pointer', pointer: value, body: raw };
  }
  if (!conforms(eventSchemaFor(type, value), value, issues)) return { ok: false, error: schemaViolation(type, issues), type };
  return { ok: true, kind: eventTypeKinds[type], event: value, body: raw };
}

/**
 * Validates against the zod schema and narrows the original value. A value that matches is checked
 * without zod's copy (schemas/conforms.ts); one that does not goes through zod's safeParse, whose
 * issues name the refusal.
 */
function conforms<T>(schema: z.ZodType<T>, value: unknown, issues: z.core.$ZodIssue[]): value is T {
  if (matches(schema, value)) return true;
  const result = schema.safeParse(value);
  if (result.success) return true;
  issues.push(...result.error.issues);
  return false;
}

/**
 * The signature check of decodeEvent on its own: `x-terra-signature` (or `terra-signature`) in
 * `headers` (lower-case names) verified over the raw bytes. undefined when it passes (or is absent
 * and not required); otherwise `signature_missing` or `signature_invalid`. The ingest gateway
 * calls it so a webhook is refused by exactly the rule a lane would park it by.
 */
export function checkSignature(
  raw: Buffer,
  headers: Readonly<Record<string, string>>,
  signature: NonNullable<DecodeOptions['signature']>,
  nowMs: number,
): FanoutError | undefined {
  const header = headers['x-terra-signature'] ?? headers['terra-signature'];
  if (header === undefined || header.trim() === '') {
    if (!signature.required) return undefined;
    return new FanoutError('signature_missing', 'The message has no terra-signature or x-terra-signature header and the tenant requires one.');
  }
  const check = verifyTerraSignature(raw, header, signature.secret, nowMs / 1000, signature.toleranceSeconds);
  if (check.ok) return undefined;
  return new FanoutError('signature_invalid', `The Terra signature is invalid: ${check.reason}.`);
}

function startsWithByteOrderMark(raw: Buffer): boolean {
  return raw.length >= 3 && raw[0] === 0xef && raw[1] === 0xbb && raw[2] === 0xbf;
}

function reject(code: ErrorCode, message: string, detail?: Record<string, string | number | boolean>, type: string | null = null): DecodeResult {
  return { ok: false, error: new FanoutError(code, message, detail === undefined ? {} : { detail }), type };
}

function describeJsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

/** Event types go into messages and metric-free details; keep them short and printable. */
function printableType(type: string): string {
  const clean = type.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > 64 ? `${clean.slice(0, 64)}...` : clean;
}
