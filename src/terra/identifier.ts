/**
 * The rule for ids that reach a key, a file or object name, an SQL key or a document id (user_id,
 * provider, reference_id, summary_id, event_id, coach/athlete/test/activity ids, version): no
 * character that is invisible, reorders text or that a store treats differently from the next
 * store. One rule for every destination, applied when the event is decoded, so a lane never
 * delivers what another parks.
 *
 * Refused: control characters (C0 including NUL, DEL, C1), format characters (the byte order mark
 * U+FEFF, bidirectional marks, embeddings, overrides and isolates U+200E-U+200F, U+202A-U+202E,
 * U+2066-U+2069, U+061C, zero-width characters, soft hyphen), the line and paragraph separators
 * U+2028-U+2029, and lone surrogates (`\ud800` in JSON, which is not a character and has no UTF-8
 * form).
 */

/** The refused characters as a regex character-class body (for the `u` flag). */
export const unsafeCharacterClass = '\\p{Cc}\\p{Cf}\\p{Zl}\\p{Zp}\\p{Cs}';

const unsafe = new RegExp(`[${unsafeCharacterClass}]`, 'u');

function describe(codePoint: number): string {
  const hex = `U+${codePoint.toString(16).toUpperCase().padStart(4, '0')}`;
  if (codePoint === 0) return `${hex} (NUL)`;
  if (codePoint === 0xfeff) return `${hex} (a byte order mark)`;
  if (codePoint >= 0xd800 && codePoint <= 0xdfff) return `${hex} (a lone surrogate)`;
  if (codePoint < 0x20 || (codePoint >= 0x7f && codePoint <= 0x9f)) return `${hex} (a control character)`;
  if (codePoint === 0x061c || codePoint === 0x200e || codePoint === 0x200f || (codePoint >= 0x202a && codePoint <= 0x202e) || (codePoint >= 0x2066 && codePoint <= 0x2069)) {
    return `${hex} (a bidirectional control character)`;
  }
  if (codePoint === 0x2028 || codePoint === 0x2029) return `${hex} (a line or paragraph separator)`;
  return `${hex} (an invisible format character)`;
}

/** Why `value` cannot be an id, naming the first refused character and its position; undefined when it can. */
export function identifierProblem(value: string): string | undefined {
  const match = unsafe.exec(value);
  if (match === null) return undefined;
  const codePoint = match[0].codePointAt(0) ?? 0;
  return `contains ${describe(codePoint)} at character ${match.index}`;
}
