/** Database messages made safe for logs. */

/**
 * The driver's message without values: quoted text is kept only when it is a short name (letters,
 * digits, `_` and `.`: a table, column or user), anything else becomes `…`. At most 300 characters.
 */
export function sanitizeDriverMessage(message: string): string {
  const cleaned = message
    .replace(/(["'`])((?:(?!\1).){0,400}?)\1/g, (_whole, quote: string, inner: string) => (/^[A-Za-z0-9_.]{1,64}$/.test(inner) ? `${quote}${inner}${quote}` : `${quote}…${quote}`))
    .replace(/\s+/g, ' ')
    .trim();
  return cleaned.length > 300 ? `${cleaned.slice(0, 299)}…` : cleaned;
}
