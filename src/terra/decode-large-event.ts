import type { z } from 'zod';
import { eachElement, eachMember, keyText, skipValue } from '../json/array-spans.js';
import { isPlainObject } from '../json/json-value.js';
import { findJsonLimitViolation } from './json-limits.js';
import { dataItemSchemas } from './schemas/data-events.js';
import { objectArrayBlock, objectBlock } from './schemas/fields.js';

/**
 * Large data events decoded without ever being parsed whole.
 *
 * A 30 MB Terra event is mostly one sample array (`heart_rate_data.detailed.hr_samples`) inside a
 * block the schema checks only for being an object. Parsed whole it holds the 30 MB string
 * `JSON.parse` reads plus about twice its size in sample objects, all at once. Here the bytes are
 * split instead: every array of at least `minArrayBytes` that the schema does not read (anything
 * inside an object block, an object-array block such as `drink_samples`, whose elements it checks
 * only for being objects, or anything under a key the item schema does not name) is replaced by `[]`
 * in a small skeleton, which is parsed and checked against the type's schema as usual; each
 * replaced array is parsed in chunks of about `chunkBytes`, each chunk checked for JSON validity,
 * depth, forbidden keys and (for an object-array block) objects, then dropped.
 *
 * The outcome is the full decode's outcome: the skeleton is valid and conforms, and every replaced
 * array passes its chunk checks, exactly when the whole is valid and conforms (what the schema reads
 * of a replaced array, the chunks check). Anything else, including every refusal, returns undefined and the caller
 * decodes the message the ordinary way, so refusals keep their exact codes and messages.
 *
 * Only data event types whose records are keyed by metadata (not by the whole item) take this
 * path: the records' facts come from the skeleton, and their `item`/`event` are parsed again from
 * the record's own bytes when a destination asks for them (explode-event.ts).
 */

/** Messages from this size on are decoded in parts where possible (lanes and the ingest gateway). */
export const SPLIT_FROM_BYTES = 1024 * 1024;

export interface LargeDecodeOptions {
  maxDepth: number;
  /** Arrays at least this long in bytes are split out (default: see decodeLargeEvent). */
  minArrayBytes?: number;
  /** Bytes of elements parsed at once. */
  chunkBytes?: number;
}

export interface LargeDecode {
  /** The skeleton: the event with every split-out array empty. Never handed to a destination. */
  skeleton: Record<string, unknown>;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const EMPTY_ARRAY = Buffer.from('[]');
const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;

/** Where a candidate array sits: the item key it is under and how far below that key. */
interface Candidate {
  open: number;
  close: number;
  /** Depth of the array itself (the top-level object is depth 1). */
  depth: number;
  itemKey: string;
  /** 0: the array is the item key's value; 1: inside that value; and so on. */
  below: number;
}

/**
 * The skeleton of `raw` with its large opaque arrays validated chunk by chunk, or undefined when
 * the message must be decoded whole (not a data event of a supported type, nothing to split, or
 * anything at all wrong with it).
 */
export function decodeLargeEvent(raw: Buffer, options: LargeDecodeOptions): LargeDecode | undefined {
  // A four-thousandth of the message, 4 to 64 KiB: a 30 MB event of a thousand items splits out
  // their 8 KB sample arrays too, while a 1 MiB one leaves arrays of a few hundred bytes in place.
  const minArrayBytes = options.minArrayBytes ?? Math.max(4 * 1024, Math.min(64 * 1024, Math.floor(raw.length / 4096)));
  const chunkBytes = options.chunkBytes ?? 1024 * 1024;
  try {
    let start = 0;
    while (raw[start] === 0x20 || raw[start] === 0x0a || raw[start] === 0x0d || raw[start] === 0x09) start += 1;
    if (raw[start] !== OPEN_BRACE) return undefined;
    const candidates: Candidate[] = [];
    const collect = (at: number, itemKey: string, below: number, depth: number): number => {
      const first = raw[at];
      if (first === OPEN_BRACE) return eachMember(raw, at, (_keyStart, _keyEnd, value) => collect(value, itemKey, below + 1, depth + 1));
      const end = skipValue(raw, at);
      if (first === OPEN_BRACKET && end - at >= minArrayBytes) candidates.push({ open: at, close: end - 1, depth, itemKey, below });
      return end;
    };
    // One walk over the bytes: the envelope's `data` items, and every value inside them.
    eachMember(raw, start, (keyStart, keyEnd, value) => {
      if (raw[value] !== OPEN_BRACKET || keyText(raw, keyStart, keyEnd) !== 'data') return skipValue(raw, value);
      return eachElement(raw, value, (item) => {
        // Many small items (a batch of dailies) hold nothing to split: skip them in one fast pass.
        const itemEnd = skipValue(raw, item);
        if (raw[item] !== OPEN_BRACE || itemEnd - item < minArrayBytes) return itemEnd;
        return eachMember(raw, item, (fieldStart, fieldEnd, field) => collect(field, keyText(raw, fieldStart, fieldEnd), 0, 4));
      });
    });
    if (candidates.length === 0) return undefined;
    return splitDecode(raw, candidates, options.maxDepth, chunkBytes);
  } catch {
    return undefined;
  }
}

function splitDecode(raw: Buffer, found: readonly Candidate[], maxDepth: number, chunkBytes: number): LargeDecode | undefined {
  // Parse a skeleton with every candidate emptied to learn the type, then keep the candidates the
  // type's item schema lets go unread. The walk never enters an array, so candidates are disjoint
  // and in byte order.
  // The skeleton's limits, envelope and schema are the caller's to check (decodeEvent does).
  const first = parseSkeleton(raw, found);
  if (!isPlainObject(first) || typeof first['type'] !== 'string') return undefined;
  const type = first['type'];
  const itemSchema = dataItemSchemas[type as keyof typeof dataItemSchemas] as z.ZodObject | undefined;
  if (itemSchema === undefined) return undefined;
  const shape = itemSchema.shape as Record<string, unknown>;
  const kept = found.filter((candidate) => splittable(shape, candidate) !== 'no');
  if (kept.length === 0) return undefined;

  // Usually every candidate is kept, and the skeleton already parsed is the one.
  const skeleton = kept.length === found.length ? first : parseSkeleton(raw, kept);
  if (!isPlainObject(skeleton) || skeleton['type'] !== type) return undefined;
  for (const candidate of kept) checkArray(raw, candidate, maxDepth, chunkBytes, splittable(shape, candidate) === 'objects');
  return { skeleton };
}

/**
 * Whether the schema lets the array go unread: anything under a block it checks only for being an
 * object, or under a key it does not name (`opaque`); an object-array block itself, whose elements
 * it checks only for being objects, which the chunks then check (`objects`); else `no`.
 */
function splittable(shape: Record<string, unknown>, candidate: Candidate): 'opaque' | 'objects' | 'no' {
  if (!Object.hasOwn(shape, candidate.itemKey)) return 'opaque';
  const schema = shape[candidate.itemKey];
  if (schema === objectBlock) return candidate.below >= 1 ? 'opaque' : 'no';
  if (schema === objectArrayBlock) return candidate.below === 0 ? 'objects' : 'opaque';
  return 'no';
}

function parseSkeleton(raw: Buffer, candidates: readonly Candidate[]): unknown {
  const parts: Buffer[] = [];
  let at = 0;
  for (const candidate of candidates) {
    parts.push(raw.subarray(at, candidate.open), EMPTY_ARRAY);
    at = candidate.close + 1;
  }
  parts.push(raw.subarray(at));
  return JSON.parse(utf8.decode(Buffer.concat(parts))) as unknown;
}

/**
 * The array's elements parsed a chunk at a time: valid JSON, within the depth left at its place,
 * no forbidden key, and objects where the schema wants objects. Throws on the first chunk that is
 * not (the caller then decodes whole).
 */
function checkArray(raw: Buffer, candidate: Candidate, maxDepth: number, chunkBytes: number, objectsOnly: boolean): void {
  if (candidate.depth > maxDepth) throw new RangeError('too deep');
  // Depth allowed inside a chunk, whose own array stands for the candidate (depth 1 in the chunk).
  const depthLeft = maxDepth - candidate.depth + 1;
  let chunkStart = 0;
  let chunkEnd = 0;
  let count = 0;
  const flush = (): void => {
    if (count === 0) return;
    const chunk: unknown = JSON.parse(`[${utf8.decode(raw.subarray(chunkStart, chunkEnd))}]`);
    if (!Array.isArray(chunk) || chunk.length !== count || findJsonLimitViolation(chunk, depthLeft) !== undefined) throw new SyntaxError('chunk refused');
    if (objectsOnly && !chunk.every(isPlainObject)) throw new TypeError('an element is not an object');
    count = 0;
  };
  const end = eachElement(raw, candidate.open, (start) => {
    const elementEnd = skipValue(raw, start);
    if (count === 0) chunkStart = start;
    chunkEnd = elementEnd;
    count += 1;
    if (elementEnd - chunkStart >= chunkBytes) flush();
    return elementEnd;
  });
  flush();
  if (end !== candidate.close + 1) throw new SyntaxError('the array ends elsewhere');
}
