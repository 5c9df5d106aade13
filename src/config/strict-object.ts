import { z } from 'zod';

/**
 * A config object that rejects unknown keys, so a typo is a problem rather than a silently
 * ignored setting. The problem lists the keys that are allowed at that place.
 */
export function strictObject<Shape extends z.ZodRawShape>(shape: Shape) {
  const allowed = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (issue) => {
      if (issue.code === 'unrecognized_keys') return `unknown key; expected one of: ${allowed}`;
      return undefined;
    },
  });
}
