import { closest, distance } from 'fastest-levenshtein';
import { z } from 'zod';

/**
 * A config object that rejects unknown keys, so a typo is a problem rather than a silently
 * ignored setting. The problem lists the keys that are allowed at that place, and names the
 * closest one when the unknown key looks like a typo of it.
 */
export function strictObject<Shape extends z.ZodRawShape>(shape: Shape) {
  const allowed = Object.keys(shape);
  return z.strictObject(shape, {
    error: (issue) => {
      if (issue.code === 'unrecognized_keys') {
        // Read alone (a schema parsed outside load-config) the message names the keys; load-config
        // reads the allowed keys back (allowedKeysOf) and words one problem per key.
        const [only, ...others] = issue.keys;
        const suggestion = only !== undefined && others.length === 0 ? suggestKey(only, allowed) : null;
        const keys = issue.keys.map((key) => `"${key}"`).join(', ');
        return `unknown key ${keys}${suggestion === null ? '' : ` (did you mean "${suggestion}"?)`}${ALLOWED}${allowed.join(', ')}`;
      }
      return undefined;
    },
  });
}

/** In strictObject's unknown-key message, what comes before the allowed keys (comma-separated, to the end). */
const ALLOWED = '; expected one of: ';

/** The keys allowed where an unknown-key issue was raised, read back from strictObject's message; null for other messages. */
export function allowedKeysOf(message: string): string[] | null {
  const at = message.indexOf(ALLOWED);
  return message.startsWith('unknown key') && at >= 0 ? message.slice(at + ALLOWED.length).split(', ') : null;
}

/**
 * The allowed key `key` was probably meant to be: same letters in another case, or at most one
 * edit away for keys of up to three letters, two for longer ones. null when none is that close.
 */
export function suggestKey(key: string, allowed: readonly string[]): string | null {
  if (allowed.length === 0) return null;
  const lower = key.toLowerCase();
  const byLower = new Map(allowed.map((candidate) => [candidate.toLowerCase(), candidate]));
  const best = byLower.get(closest(lower, [...byLower.keys()]));
  if (best === undefined) return null;
  const limit = key.length <= 3 ? 1 : 2;
  return distance(lower, best.toLowerCase()) <= limit ? best : null;
}

/** The message for one unknown key: `unknown key; did you mean "brokers"? expected one of: ...`. */
export function unknownKeyMessage(key: string, allowed: readonly string[]): string {
  const suggestion = suggestKey(key, allowed);
  return suggestion === null ? `unknown key${ALLOWED}${allowed.join(', ')}` : `unknown key; did you mean "${suggestion}"? expected one of: ${allowed.join(', ')}`;
}
