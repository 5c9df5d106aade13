/**
 * Byte positions inside a JSON document, so a record body can be cut from the message's own bytes
 * instead of being re-serialized (Terra's digits, escapes and spacing kept exactly).
 *
 * The scanner trusts the grammar and does not validate it: explode-event.ts calls it on bytes
 * JSON.parse already accepted. eachElement and eachMember are strict about what separates values,
 * so decode-large-event.ts can also walk bytes not yet parsed; it parses every piece it cuts.
 */

/** Where the array value of a top-level key sits, and each element's own source text. */
export interface ArraySpans {
  /** Index of the `[` byte. */
  open: number;
  /** Index of the `]` byte. */
  close: number;
  /** `[start, end)` of each element, without surrounding whitespace. */
  items: Array<readonly [number, number]>;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;

function isWhitespace(byte: number | undefined): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

/** A UTF-8 byte order mark, which the decoder's TextDecoder drops before JSON.parse sees the text. */
function hasByteOrderMark(bytes: Uint8Array): boolean {
  return bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
}

function skipWhitespace(bytes: Uint8Array, at: number): number {
  let position = at;
  while (isWhitespace(bytes[position])) position += 1;
  return position;
}

/** `at` is an opening quote; returns the index just past the closing quote. */
function skipString(bytes: Buffer, at: number): number {
  let position = at + 1;
  for (;;) {
    const quote = bytes.indexOf(QUOTE, position);
    if (quote < 0) throw new SyntaxError('unterminated string');
    let backslashes = 0;
    while (bytes[quote - 1 - backslashes] === BACKSLASH) backslashes += 1;
    if (backslashes % 2 === 0) return quote + 1;
    position = quote + 1;
  }
}

/** `at` is the first byte of a value; returns the index just past it (the value is not validated). */
export function skipValue(bytes: Buffer, at: number): number {
  const first = bytes[at];
  if (first === QUOTE) return skipString(bytes, at);
  if (first === OPEN_BRACE || first === OPEN_BRACKET) {
    let depth = 0;
    let position = at;
    for (;;) {
      const byte = bytes[position];
      if (byte === undefined) throw new SyntaxError('unterminated container');
      if (byte === QUOTE) {
        position = skipString(bytes, position);
        continue;
      }
      if (byte === OPEN_BRACE || byte === OPEN_BRACKET) depth += 1;
      else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
        depth -= 1;
        if (depth === 0) return position + 1;
      }
      position += 1;
    }
  }
  // A number, true, false or null: up to the next delimiter.
  let position = at;
  for (;;) {
    const byte = bytes[position];
    if (byte === undefined || byte === COMMA || byte === CLOSE_BRACE || byte === CLOSE_BRACKET || isWhitespace(byte)) return position;
    position += 1;
  }
}

function keyEquals(bytes: Buffer, start: number, end: number, key: string): boolean {
  const raw = bytes.subarray(start + 1, end - 1);
  // Keys almost never hold escapes: compare the raw bytes, and decode only when they do.
  if (raw.indexOf(BACKSLASH) < 0) return raw.length === Buffer.byteLength(key) && raw.toString('utf8') === key;
  return JSON.parse(bytes.toString('utf8', start, end)) === key;
}

/**
 * The array under `key` at the top level of the JSON object in `bytes`, with the span of each
 * element. When the key appears more than once the last one counts, as in JSON.parse. Returns null
 * when the document is not an object, has no such key, or its value is not an array.
 */
export function topLevelArraySpans(bytes: Buffer, key: string): ArraySpans | null {
  let position = skipWhitespace(bytes, hasByteOrderMark(bytes) ? 3 : 0);
  if (bytes[position] !== OPEN_BRACE) return null;
  position = skipWhitespace(bytes, position + 1);
  let found: ArraySpans | null = null;
  let foundKey = false;
  while (bytes[position] === QUOTE) {
    const keyEnd = skipString(bytes, position);
    const matches = keyEquals(bytes, position, keyEnd, key);
    position = skipWhitespace(bytes, keyEnd);
    if (bytes[position] !== COLON) throw new SyntaxError('expected a colon');
    position = skipWhitespace(bytes, position + 1);
    if (matches) {
      foundKey = true;
      found = bytes[position] === OPEN_BRACKET ? elementSpans(bytes, position) : null;
      position = found === null ? skipValue(bytes, position) : found.close + 1;
    } else {
      position = skipValue(bytes, position);
    }
    position = skipWhitespace(bytes, position);
    if (bytes[position] === COMMA) position = skipWhitespace(bytes, position + 1);
  }
  return foundKey ? found : null;
}

/**
 * Visits each element of the array whose `[` is at `open`: `visit` gets the element's first byte
 * and returns the index just past it. Returns the index just past the `]`. Strict about what lies
 * between elements (one comma, whitespace, no empty or trailing element), so it can also walk
 * bytes not yet parsed (decode-large-event.ts); the elements are the visitor's to check.
 */
export function eachElement(bytes: Buffer, open: number, visit: (start: number) => number): number {
  let position = skipWhitespace(bytes, open + 1);
  if (bytes[position] === CLOSE_BRACKET) return position + 1;
  for (;;) {
    const end = visit(position);
    if (end <= position) throw new SyntaxError('expected a value');
    position = skipWhitespace(bytes, end);
    if (bytes[position] === CLOSE_BRACKET) return position + 1;
    if (bytes[position] !== COMMA) throw new SyntaxError('expected a comma or the end of the array');
    position = skipWhitespace(bytes, position + 1);
  }
}

/**
 * Visits each member of the object whose `{` is at `open`: `visit` gets the key's span (with its
 * quotes) and the value's first byte, and returns the index just past the value. Returns the index
 * just past the `}`. Strict like eachElement.
 */
export function eachMember(bytes: Buffer, open: number, visit: (keyStart: number, keyEnd: number, valueStart: number) => number): number {
  let position = skipWhitespace(bytes, open + 1);
  if (bytes[position] === CLOSE_BRACE) return position + 1;
  for (;;) {
    if (bytes[position] !== QUOTE) throw new SyntaxError('expected a key');
    const keyEnd = skipString(bytes, position);
    const colon = skipWhitespace(bytes, keyEnd);
    if (bytes[colon] !== COLON) throw new SyntaxError('expected a colon');
    const valueStart = skipWhitespace(bytes, colon + 1);
    const valueEnd = visit(position, keyEnd, valueStart);
    if (valueEnd <= valueStart) throw new SyntaxError('expected a value');
    position = skipWhitespace(bytes, valueEnd);
    if (bytes[position] === CLOSE_BRACE) return position + 1;
    if (bytes[position] !== COMMA) throw new SyntaxError('expected a comma or the end of the object');
    position = skipWhitespace(bytes, position + 1);
  }
}

function elementSpans(bytes: Buffer, open: number): ArraySpans {
  const items: Array<readonly [number, number]> = [];
  const close =
    eachElement(bytes, open, (start) => {
      const end = skipValue(bytes, start);
      items.push([start, end]);
      return end;
    }) - 1;
  return { open, close, items };
}

/** The key at `[start, end)` (with its quotes) as JSON.parse reads it. */
export function keyText(bytes: Buffer, start: number, end: number): string {
  const raw = bytes.subarray(start + 1, end - 1);
  return raw.indexOf(BACKSLASH) < 0 ? raw.toString('utf8') : (JSON.parse(bytes.toString('utf8', start, end)) as string);
}

/**
 * The document with the array narrowed to one element: every byte before `[` and after `]` kept
 * exactly, and the element's own bytes between them.
 */
export function withOneElement(bytes: Buffer, spans: ArraySpans, index: number): Buffer {
  const item = spans.items[index];
  if (item === undefined) throw new RangeError(`no element ${index}`);
  const [start, end] = item;
  return Buffer.concat([bytes.subarray(0, spans.open + 1), bytes.subarray(start, end), bytes.subarray(spans.close)]);
}
